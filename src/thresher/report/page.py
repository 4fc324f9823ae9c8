"""The report page: static HTML, CSS and one script. Document text never enters the markup: it travels
in a JSON block whose ``<``, ``>`` and ``&`` are escaped, and the script puts it on the page with
``textContent`` only. A Content-Security-Policy allows that one script (by hash) and nothing else, so
even markup that slipped through could not run code or load anything."""

#: Background of a removed span, by the index of its step among the run's steps (``k<i>`` classes).
STEP_COLOURS = ("#ffe08a", "#ffc9d6", "#bfe0ff", "#c8efc1", "#e0d0ff", "#ffd3b0", "#bfeceb", "#e2e2e2",
                "#f3e3b5", "#f6c6f0", "#d7e9a8", "#c9d3f5")

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
header{background:#1d232a;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
main{padding:16px 24px;max-width:1400px}section{background:#fff;border:1px solid #dde1e6;border-radius:6px;
padding:12px 16px;margin:0 0 16px}h2{font-size:16px;margin:4px 0 10px}
table{border-collapse:collapse}td,th{border-bottom:1px solid #e6e9ed;padding:3px 10px;text-align:right}
th{background:#f0f2f5}td:first-child,th:first-child{text-align:left}
.plots{display:flex;flex-wrap:wrap;gap:12px}.plot{border:1px solid #e6e9ed;padding:4px}
.plot svg{width:460px;height:auto}
#controls{display:flex;gap:10px;margin-bottom:8px;flex-wrap:wrap}
#list{max-height:340px;overflow:auto;border:1px solid #e6e9ed}
#list div{padding:3px 8px;cursor:pointer;border-bottom:1px solid #f0f2f5}#list div:hover{background:#eef4ff}
#list div.sel{background:#dbe8ff}.meta{color:#5b6570;font-size:12px}
.pair{display:flex;gap:12px}.pane{flex:1;min-width:0;border:1px solid #e6e9ed;padding:6px 8px}
.text{white-space:pre-wrap;word-break:break-word;font:12px/1.4 ui-monospace,monospace;max-height:520px;
overflow:auto}.del{background:#ffd7d5;text-decoration:line-through}.ins{background:#ccf2d4}
.cut:hover{outline:1px solid #b58900}pre.cfg{font-size:12px;max-height:260px;overflow:auto}
#legend{margin:0 0 8px}#legend span{padding:1px 6px;margin-right:6px;font-size:12px}
""" + "".join(f".k{i}{{background:{c}}}" for i, c in enumerate(STEP_COLOURS))

SCRIPT = r"""
(function(){
'use strict';
var D = JSON.parse(document.getElementById('thresher-data').textContent);
function el(tag, cls, text){var e=document.createElement(tag);if(cls)e.className=cls;
  if(text!==undefined&&text!==null)e.textContent=String(text);return e;}
var list=document.getElementById('list'), detail=document.getElementById('detail');
var fStep=document.getElementById('f-step'), fReason=document.getElementById('f-reason'),
    fId=document.getElementById('f-id');
var steps={}, reasons={};
D.items.forEach(function(it){steps[it.step]=1;reasons[it.reason]=1;});
Object.keys(steps).sort().forEach(function(s){fStep.appendChild(el('option',null,s)).value=s;});
Object.keys(reasons).sort().forEach(function(s){fReason.appendChild(el('option',null,s)).value=s;});
function segments(box, segs){segs.forEach(function(s){
  if(s[0]==='='){box.appendChild(document.createTextNode(s[1]));}
  else{var sp=el('span',s[0]==='-'?'del':(s[0]==='+'?'ins':
    'cut k'+(Math.max(D.steps.indexOf(s[3]),0)%D.colours)),s[1]);
    if(s.length>2){sp.title=s[2];}box.appendChild(sp);} });}
function pane(title, meta, segs){var p=el('div','pane');p.appendChild(el('h3',null,title));
  p.appendChild(el('div','meta',meta));var t=el('div','text');segments(t,segs);p.appendChild(t);return p;}
function show(i){var it=D.items[i];detail.textContent='';
  Array.prototype.forEach.call(list.children,function(c){c.classList.toggle('sel',c.dataset.i==i);});
  detail.appendChild(el('h2',null,it.label));
  if(it.kind==='cluster'){
    var kept=D.docs[it.kept];
    it.members.forEach(function(m){var d=D.docs[m.doc];var row=el('div','pair');
      row.appendChild(pane('kept: '+kept.id,kept.source+' \u00b7 '+kept.length+' chars',m.kept_segments));
      row.appendChild(pane('removed: '+d.id,m.reason+' \u00b7 similarity '+m.similarity+' \u00b7 '+
        d.source,m.segments));detail.appendChild(row);});
  }else{
    var d=D.docs[it.doc];var row=el('div','pair');
    row.appendChild(pane(d.id,d.source+' \u00b7 '+d.length+' chars'+(it.dropped?' \u00b7 dropped':''),it.segments));
    detail.appendChild(row);
    var tw=el('div');it.twins.forEach(function(t){var p=el('p','meta');
      p.appendChild(el('b',null,t.reason+' '+t.start+'..'+t.end+': '));
      p.appendChild(document.createTextNode('kept twin '+t.id+' '+t.dup_start+'..'+t.dup_end+' '));
      var a=el('a',null,'(show twin)');a.href='#';a.addEventListener('click',function(ev){ev.preventDefault();
        var q=el('div','text',t.text);p.appendChild(q);});p.appendChild(a);tw.appendChild(p);});
    detail.appendChild(tw);
  }}
function render(){list.textContent='';var s=fStep.value,r=fReason.value,q=fId.value.trim().toLowerCase();
  var n=0;D.items.forEach(function(it,i){
    if(s&&it.step!==s)return;if(r&&it.reason!==r)return;
    if(q&&it.ids.join(' ').toLowerCase().indexOf(q)<0)return;
    var row=el('div',null,it.label);row.dataset.i=i;row.appendChild(el('span','meta',' '+it.step+' / '+it.reason));
    row.addEventListener('click',function(){show(i);});list.appendChild(row);n++;});
  document.getElementById('count').textContent=n+' of '+D.items.length+' sampled decisions';}
[fStep,fReason].forEach(function(x){x.addEventListener('change',render);});
fId.addEventListener('input',render);render();
Array.prototype.forEach.call(document.querySelectorAll('svg text[data-label]'),function(t){
  t.textContent=D.labels[+t.getAttribute('data-label')];});
document.body.dataset.ready='1';
})();
"""
