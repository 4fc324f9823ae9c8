"""Filters: boilerplate, quality, language, pii. Unit tests against plain-Python references, the seeds'
debris rule by rule, regex safety on adversarial input, and end-to-end runs with verify."""

from __future__ import annotations

import re
import time
from collections import Counter

import orjson
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings, strategies as st

import thresher
from thresher import ConfigError, Document
from thresher.steps.boilerplate import Boilerplate, BoilerplateConfig, ends_terminal
from thresher.steps.language import LanguageConfig, LanguageId
from thresher.steps.quality.measures import measures
from thresher.steps.pii import PiiConfig, PiiFilter, luhn
from thresher.steps.quality import QualityConfig, QualityFilter

from thresher.engine.layout import read_json

from conftest import EXAMPLES, SHARED, output_bytes, run_ok

SEEDS = SHARED / "seeds" if (SHARED / "seeds").exists() else None


# -- measures: the compiled pass equals a plain-Python reference ------------------------------------

PUNCT = lambda ch: __import__("unicodedata").category(ch)[0] in "PS"  # noqa: E731


def reference(text: str) -> dict[str, float]:
    """The measures as datatrove computes them, on whitespace tokens (see steps/quality/measures.py)."""
    n = len(text)
    if n == 0:
        return {}
    toks = text.split()
    words = [t for t in toks if any(not PUNCT(c) for c in t)]
    stripped = [w.strip("".join(c for c in set(w) if PUNCT(c))) for w in words]
    out = {"tokens": len(toks), "words": len(words),
           "mean_word_length": sum(map(len, stripped)) / len(words) if words else 0.0,
           "alpha_words": sum(any(c.isalpha() for c in t) for t in toks) / len(toks) if toks else 0.0,
           "stop_words": len({w.lower() for w in stripped} & {"the", "be", "to", "of", "and", "that", "have",
                                                                 "with"}),
           "title_words": sum(w[:1].isupper() and any(c.islower() for c in w[1:]) for w in stripped)
           / len(words) if words else 0.0}

    def dups(xs):
        seen, d, dc = set(), 0, 0
        for x in xs:
            if x in seen:
                d, dc = d + 1, dc + len(x)
            seen.add(x)
        return d, dc

    paras = re.split(r"\n{2,}", text.strip()) if text.strip() else []
    d, dc = dups(paras)
    out["dup_para_frac"] = d / len(paras) if paras else 0.0
    out["dup_para_char_frac"] = dc / n
    lines = [x for x in text.split("\n") if x]
    d, dc = dups(lines)
    out["dup_line_frac"] = d / len(lines) if lines else 0.0
    out["dup_line_char_frac"] = dc / n
    for g in (2, 3, 4):
        grams = [" ".join(toks[i:i + g]) for i in range(len(toks) - g + 1)]
        if grams:
            c = Counter(grams)
            top = max(c.values())
            best = max(len(k) for k, v in c.items() if v == top)
            out[f"top_{g}gram"] = top * best / n if top > 1 else 0.0
        else:
            out[f"top_{g}gram"] = 0.0
    for g in range(5, 11):
        seen, rep, i = set(), 0, 0
        while i < len(toks) - g + 1:
            gram = "\x00".join(toks[i:i + g])
            if gram in seen:
                rep += sum(map(len, toks[i:i + g]))
                i += g
            else:
                seen.add(gram)
                i += 1
        out[f"dup_{g}gram"] = rep / n
    nonblank = [x for x in text.split("\n") if x.strip()]
    out["short_lines"] = sum(len(x) <= 30 for x in nonblank) / len(nonblank) if nonblank else 0.0
    out["list_ratio"] = text.count("\n") / len(toks) if toks else 0.0
    out["curly_brackets"] = text.count("{")
    return out


def sample_texts():
    texts = ["", "one", "a b c d e f g h i j k l m n o p", "the cat sat. the cat sat. the cat sat.\n\nthe cat sat.",
             "- one\n- two\n- three\n\n\n- one\n• four...", "x\n\ny\n\nx\n\ny\n\nx"]
    if SEEDS:
        texts += [p.read_text() for p in sorted(SEEDS.glob("*.txt"))]
    texts += [p.read_text() for p in sorted((EXAMPLES / "web").glob("*.txt"))]
    return texts


@pytest.mark.parametrize("text", sample_texts())
def test_measures_equal_reference(text):
    got, ref = measures(text), reference(text)
    for k, v in ref.items():
        assert got[k] == pytest.approx(v, abs=1e-9), k


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(list("ab c.\n\n!#-…éA(") + ["the ", "of ", "Ü", "\n\n", "…"]), max_size=150))
def test_measures_equal_reference_on_random_text(pieces):
    text = "".join(pieces)
    got, ref = measures(text), reference(text)
    for k, v in ref.items():
        assert got[k] == pytest.approx(v, abs=1e-9), (k, text)


def test_sentences_and_symbols():
    m = measures('He said "no." Then he left! Did she? Yes… and then\nAnother line without end')
    assert m["sentences"] == 5
    assert m["ellipsis_ratio"] > 0 and m["hash_ratio"] == 0
    assert measures("# a # b ...")["hash_ratio"] == pytest.approx(2 / 5)


# -- quality ----------------------------------------------------------------------------------------

PROSE = ("The committee met on Tuesday to review the budget. Members agreed that the library should "
         "stay open on weekends. They also asked the treasurer to publish the accounts online. A vote "
         "on the new roof was postponed until the spring, when quotes from three builders will be in. "
         "Residents are welcome to attend the next meeting and speak during the open session. The "
         "chair thanked the volunteers who had painted the hall over the summer, and said that the "
         "money saved would pay for new chairs. Two members raised the state of the car park, which "
         "floods after heavy rain; the council has been asked to look at the drains before winter.")


def test_quality_keeps_prose_and_names_the_failed_rule():
    q = QualityFilter()
    assert q.process(Document("a", PROSE, "s")) is None
    d = q.process(Document("b", "Too short to be a proper web page here.", "s"))
    assert d.reason == "gopher_word_count" and d.value == 9
    d = q.process(Document("c", PROSE + "\nlorem ipsum dolor sit amet.", "s"))
    assert d.reason == "c4_lorem_ipsum"
    rep = "\n".join([PROSE] + ["Buy cheap watches now, best prices online."] * 30)
    d = q.process(Document("d", rep, "s"))
    assert d.reason.startswith("gopher_dup") and d.value > 0.3
    skipped = QualityFilter(QualityConfig(skip=("gopher_word_count", "c4_min_sentences", "fineweb_line_punct",
                                                "fineweb_short_lines", "gopher_stop_words")))
    assert skipped.process(Document("b", "Too short to be a proper web page here.", "s")) is None
    short = "Too short to be a proper web page here."
    every = q.failures(q.scores(short))
    assert every[0] == ("gopher_word_count", 9.0) and q.failures(q.scores(short), first=True) == every[:1]
    assert "c4_min_sentences" in {name for name, _ in every}
    assert q.failures(q.scores(PROSE)) == []


def test_title_case_pages_fail_title_words_and_code_is_kept_unless_asked():
    grid = PROSE.title()     # every word capitalised, as a page of headings, names or product tiles
    m = measures(grid)
    assert m["title_words"] > 0.9 and measures(PROSE)["title_words"] < 0.1
    d = QualityFilter().process(Document("g", grid, "s"))
    assert d.reason == "title_words" and d.value == pytest.approx(m["title_words"])
    # leading punctuation is skipped ("(The", '"Blue'); acronyms and "I" are not title case
    assert measures('(The "Blue shirt" is here.)')["title_words"] == pytest.approx(2 / 5)
    assert measures("I read the API NOTE in McDonald's FAQ.")["title_words"] == pytest.approx(1 / 8)
    code = PROSE + "\nIn C, a block is written as if (x) { y(); } and the braces are required."
    assert QualityFilter().process(Document("c", code, "s")) is None
    d = QualityFilter(QualityConfig(c4_curly_bracket=True)).process(Document("c", code, "s"))
    assert d.reason == "c4_curly_bracket" and d.value == 1
    batch = QualityFilter(QualityConfig(c4_curly_bracket=True)).process_batch([PROSE, code, grid])
    assert batch.row.tolist() == [1, 2]
    assert [batch.reasons[k] for k in batch.code.tolist()] == ["c4_curly_bracket", "title_words"]


def test_quality_config_is_validated():
    with pytest.raises(ConfigError, match="did you mean 'gopher_word_count'"):
        QualityFilter(QualityConfig(skip=("gopher_word_cnt",)))
    with pytest.raises(ConfigError, match="min_words"):
        thresher.load_config({"quality": {"min_words": 500, "max_words": 100}})


# -- boilerplate ------------------------------------------------------------------------------------

def _removed(text: str, **cfg) -> dict[str, str]:
    b = Boilerplate(BoilerplateConfig(repeated_min_docs=0, **cfg))
    cuts = b.process(Document("x", text, "s")) or []
    out = {}
    for c in cuts:
        for line in text[c.start:c.end].split("\n"):
            if line.strip():
                out[line.strip()] = c.reason
    return out


@pytest.mark.skipif(SEEDS is None, reason="../shared/seeds not present")
def test_seed_debris_each_removed_by_a_general_rule():
    text = "\n".join(p.read_text() for p in sorted(SEEDS.glob("*.txt")))
    got = _removed(text)
    expected = {
        "What's new": "c4_min_words", "Last edited:": "c4_min_words", "Back": "c4_min_words",
        "Top Bottom": "c4_min_words", "rsz_image025.jpg": "c4_min_words", "Zhanaozen_Court_1.png": "c4_min_words",
        ".": "no_letters", "|": "no_letters", "0:000:01:070:00": "no_letters",
        "Share this": "ui_phrase", "Leave a Reply": "ui_phrase", "SIGN UP NOW": "ui_phrase",
        "To access this feature you must login or create an account.": "ui_phrase",
        "The code has been copied to your clipboard.": "ui_phrase",
        "Print Share Comment Cite Upload Translate Updates": "ui_words",
        "Pakistan Defence Latest Posts": "ui_phrase", "width px height px": "ui_words",
        "No media source currently available": "ui_phrase",
        "Get our free Daily Email": "ui_phrase",
    }
    for line, rule in expected.items():
        assert got.get(line) == rule, (line, got.get(line))
    citations = [ln for ln in text.split("\n") if "They shot to kill" in ln and "Radio Free" in ln]
    assert len(citations) == 7 and all(ln.strip() in got for ln in citations)
    assert {got[ln.strip()] for ln in citations} == {"citation_export"}
    # headings and lines of prose that end without punctuation stay (c4_terminal_punct is off)
    for line in ("Kazakhstan government resigns following fuel price protests",
                 "16 December. What happened on the square"):
        assert line in text and line not in got
    # long content paragraphs that end a sentence survive (C4 drops a paragraph cut off mid-sentence)
    for para in text.split("\n"):
        if len(para) > 300 and ends_terminal(para):
            assert para.strip() not in got


def test_boilerplate_rules_and_switches():
    text = ("Our privacy policy changed.\nThis line is fine and ends well.\nENTER YOUR EMAIL HERE TODAY.\n"
            "12 comments\nEnable JavaScript to view this page.\nA claim[1] with a marker[edit].\n\n"
            "no terminal punctuation here")
    got = _removed(text, c4_terminal_punct=True)
    assert got == {"Our privacy policy changed.": "c4_policy", "ENTER YOUR EMAIL HERE TODAY.": "uppercase",
                   "12 comments": "counter", "Enable JavaScript to view this page.": "c4_javascript",
                   "[1]": "c4_wiki_citation", "[edit]": "c4_wiki_citation",
                   "no terminal punctuation here": "c4_terminal_punct"}
    got = _removed(text, skip=("c4_wiki_citation",))          # c4_terminal_punct is off by default
    assert "no terminal punctuation here" not in got and "[1]" not in got
    assert _removed("Share Print Email\nShare the bread and print the recipe.") == {"Share Print Email": "ui_words"}
    with pytest.raises(ConfigError, match="did you mean 'ui_phrase'"):
        Boilerplate(BoilerplateConfig(skip=("ui_phrases",)))


@pytest.mark.parametrize("shape", ["url", "metadata.url", "page.link"])
def test_repeated_lines_are_learned_per_source(tmp_path, shape):
    """The site is the host of ``url``, of ``metadata.url`` as Dolma's records hold it, or of the field
    ``[input] url_field`` names."""
    recs = []
    body = ("Gardeners in the valley plant beans in May, once the soil has warmed and the frosts have passed. "
            "They water them in the evening and pick them young.")
    for i in range(12):
        recs.append({"id": f"a{i}", "url": f"https://www.site-a.example/p/{i}",
                     "text": f"Post number {i} talks about topic {i * 7} in detail today.\n{body} Item {i}.\n"
                             "Follow the garden club on every weekday afternoon."})
    for i in range(5):
        recs.append({"id": f"b{i}", "url": f"https://site-b.example/{i}",
                     "text": f"Another site writes about subject {i} at length here.\n"
                             "Follow the garden club on every weekday afternoon."})
    if shape == "metadata.url":
        recs = [{**r, "url": None} | {"metadata": {"url": r["url"], "lang": "en"}} for r in recs]
        for r in recs:
            del r["url"]
    config = {"boilerplate": {"skip": ["c4_terminal_punct"]}}
    if shape == "page.link":     # a url field that is not the page's: only url_field says which is
        recs = [{**r, "url": "https://one.example/"} | {"page": {"link": r["url"]}} for r in recs]
        config["input"] = {"url_field": "page.link"}
    p = tmp_path / "in.jsonl"
    p.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in recs))
    out = tmp_path / "out"
    stats = run_ok([p], out, steps=["boilerplate"], config=config)
    rem = pq.read_table(out / "removals").to_pylist()
    rep = [r for r in rem if r["reason"] == "repeated_line"]
    assert {r["doc_id"] for r in rep} == {f"a{i}" for i in range(12)}
    assert all(r["value"] == 12 for r in rep)
    top = stats["steps"]["boilerplate"]["top_lines"]
    assert top[0] == {"source": "host:site-a.example", "line": "Follow the garden club on every weekday afternoon.",
                      "docs": 12}
    docs = {r["id"]: r["text"] for r in pq.read_table(out / "documents").to_pylist()}
    assert "Follow the garden club" not in docs["a3"] and "Follow the garden club" in docs["b3"]
    assert body in docs["a3"]


# -- language ---------------------------------------------------------------------------------------

def test_language_labels_and_keep(tmp_path):
    texts = {"en": PROSE,
             "de": "Der Ausschuss trat am Dienstag zusammen, um den Haushalt zu prüfen. Die Mitglieder waren "
                   "sich einig, dass die Bibliothek auch am Wochenende geöffnet bleiben sollte.",
             "fr": "Le comité s'est réuni mardi pour examiner le budget. Les membres ont convenu que la "
                   "bibliothèque devrait rester ouverte le week-end."}
    lid = LanguageId()
    for lang, t in texts.items():
        assert lid.identify(t)[0] == lang
    p = tmp_path / "in.jsonl"
    p.write_bytes(b"".join(orjson.dumps({"id": k, "text": v}) + b"\n" for k, v in texts.items()))
    out = tmp_path / "out"
    stats = run_ok([p], out, steps=["language"], config={"language": {"keep": ["en", "fr"]}})
    docs = {r["id"]: r for r in pq.read_table(out / "documents").to_pylist()}
    assert set(docs) == {"en", "fr"} and docs["fr"]["language"] == "fr" and docs["en"]["language_score"] > 0.9
    rem = pq.read_table(out / "removals").to_pylist()
    assert [(r["doc_id"], r["reason"]) for r in rem] == [("de", "language")] and rem[0]["value"] > 0.5
    assert stats["steps"]["language"]["labels"]["language"]["de"]["docs"] == 1
    with pytest.raises(ConfigError, match="not known"):
        LanguageId(LanguageConfig(keep=("english",)))


def test_compiled_model_decides_as_py3langid():
    from thresher.steps.language import _identifier, model
    texts = sample_texts()[1:] + [PROSE, "Ceci est une phrase en français, écrite pour le test.",
                                  "Dies ist ein deutscher Satz über das Wetter.", "これは日本語の文です。",
                                  "SHOUTING IN CAPITALS ABOUT THE WEATHER", "12345 !!! ???"]
    py3langid = _identifier()
    for t in texts:
        ours, ref = model().classify(t[:2000]), py3langid.classify(t[:2000])
        assert ours[0] == ref[0] and ours[1] == pytest.approx(ref[1], abs=1e-4), t[:60]
    # features counted more often than the kernel's log1p table reaches (4,096)
    for t in ("a" * 6000, "the " * 2500 + PROSE):
        ours, ref = model().classify(t), py3langid.classify(t)
        assert ours[0] == ref[0] and ours[1] == pytest.approx(ref[1], abs=1e-4), t[:60]


def test_label_column_may_not_shadow_an_input_field(tmp_path):
    p = tmp_path / "in.jsonl"
    p.write_bytes(orjson.dumps({"id": "a", "text": PROSE, "language": "xx"}) + b"\n")
    with pytest.raises(ConfigError, match="'language'"):
        thresher.run([str(p)], str(tmp_path / "out"), steps=["language"])


# -- pii --------------------------------------------------------------------------------------------

def test_pii_finds_and_replaces():
    pii = PiiFilter(PiiConfig(cards=True, spare_special_ips=False))
    text = ("Mail jane.doe+news@mail.example.co.uk or call +44 20 7946 0958 / (555) 123-4567. "
            "Server 192.168.1.20 and 2001:db8:85a3::8a2e:370:7334 are down. Card 4111 1111 1111 1111.")
    found = {text[a:b]: r for a, b, r in pii.find(text)}
    assert found == {"jane.doe+news@mail.example.co.uk": "pii_email", "+44 20 7946 0958": "pii_phone",
                     "(555) 123-4567": "pii_phone", "192.168.1.20": "pii_ip",
                     "2001:db8:85a3::8a2e:370:7334": "pii_ip", "4111 1111 1111 1111": "pii_card"}
    cuts = pii.process(Document("x", text, "s"))
    assert all(c.replacement.startswith("<") for c in cuts)


@pytest.mark.parametrize("text, found", [
    ("listen on 127.0.0.1, 0.0.0.0 or ::1", []),
    ("lan 192.168.1.20, 10.0.0.5, 172.16.4.2, link-local 169.254.10.1 and fe80::1:2:3", []),
    ("docs 192.0.2.1, 198.51.100.7, 203.0.113.9 and 2001:db8:85a3::8a2e:370:7334", []),
    ("resolvers 8.8.8.8, 208.67.222.222 and 149.112.112.112, multicast 224.0.0.251", []),
    ("Firefox version 4.0.4.1 and v1.2.3.4 and build 10.2.33.4", []),
    ("dated +012019-02-25, clause 252.227-7013, on 2019.02.2512", []),
    ("Upgraded to 4.6.85.25; e-mail address Start 1.5.6.5 notes", []),
    ("block the range 1.2.3.0/24, bind to 1.2.3.4:7777, rrdata [5.6.7.8]", ["1.2.3.0", "1.2.3.4", "5.6.7.8"]),
    ("Upgrade to version 4.5.103.30 from 4.4.63.30; Roll V8 back to 3.9.24.31; Node.js v0.11.14 to 3.31.74.1",
     []),
    ("Debian Policy 12.8.5.14; patches/2.6/2.6.8.1/2.6.8.1-mm4", []),
    ('remote_addr="1.2.3.4", vm-ip=5.6.7.8', ["1.2.3.4", "5.6.7.8"]),
    ("user 81.2.69.160 and 2a00:1450:4001:81b::200e logged in", ["81.2.69.160", "2a00:1450:4001:81b::200e"]),
    ("call 555-123-4567 or 555.123.4567 or +1 415 555 2671", ["555-123-4567", "555.123.4567", "+1 415 555 2671"]),
])
def test_pii_spares_what_identifies_no_person(text, found):
    pii = PiiFilter()
    assert [text[a:b] for a, b, _ in pii.find(text)] == found
    listed = ("208.67.222.222", "149.112.112.112")   # spared by the list only
    assert [text[a:b] for a, b, _ in PiiFilter(PiiConfig(spare_ips=())).find(text)
            if text[a:b] in listed] == [x for x in listed if x in text]


def test_pii_leaves_lookalikes_alone():
    pii = PiiFilter(PiiConfig(cards=True))
    text = ("Released 2022-11-27 at 12:30:45, version 3.2.1, ISBN 978-3-16-148410-0, std::vector<int>, "
            "call me @home, a::b, 999.999.999.999 and 1234 5678 9012 3456.")
    assert pii.find(text) == []
    assert luhn("4111111111111111") and not luhn("1234567890123456")


ADVERSARIAL = ["a" * 1_000_000, "@" * 1_000_000, "a@" * 500_000, "1" * 1_000_000, "1." * 500_000,
               "1 " * 500_000, ":" * 1_000_000, "a:" * 500_000, "+1" * 500_000, "." * 1_000_000,
               "-1" * 500_000, "[" * 1_000_000, "a." * 500_000, "(555) " * 160_000, "x" * 999_999 + "@"]


@pytest.mark.parametrize("line", ADVERSARIAL, ids=lambda s: repr(s[:6]))
def test_every_rule_is_linear_on_adversarial_lines(line):
    steps = [PiiFilter(PiiConfig(cards=True)), Boilerplate(BoilerplateConfig(repeated_min_docs=0)),
             QualityFilter()]
    for step in steps:
        t0 = time.perf_counter()
        step.process(Document("x", line, "s"))
        assert time.perf_counter() - t0 < 5.0, step.name


# -- end to end ---------------------------------------------------------------------------------------

@pytest.mark.skipif(SEEDS is None, reason="../shared/seeds not present")
def test_all_steps_end_to_end_deterministic(tmp_path):
    inputs = [EXAMPLES, SEEDS]
    a, b = tmp_path / "a", tmp_path / "b"
    sa = run_ok(inputs, a, workers=1, config={"boilerplate": {"repeated_min_docs": 2}})
    run_ok(inputs, b, workers=2, config={"boilerplate": {"repeated_min_docs": 2}})
    assert output_bytes(a) == output_bytes(b)
    assert sa["steps_run"] == ["boilerplate", "repeats", "quality", "language", "near_dup", "exact",
                               "paragraphs", "substrings", "pii"]
    docs = pq.read_table(a / "documents").to_pylist()
    assert docs and all(d["language"] == "en" for d in docs)
    reasons = {r["reason"] for r in pq.read_table(a / "removals").to_pylist()}
    # near_dup runs before exact and takes the exact copies too (Jaccard 1.0)
    assert {"jaccard", "containment", "repeated_paragraph", "c4_min_words", "gopher_word_count"} <= reasons
    rows = pq.read_table(a / "removals").to_pylist()
    assert any(r["reason"] == "jaccard" and r["similarity"] == 1.0 for r in rows)


def test_quality_dry_run_writes_scores(tmp_path):
    out = tmp_path / "out"
    run_ok([EXAMPLES], out, steps=["quality"], config={"quality": {"dry_run": True}})
    t = pq.read_table(out / "documents")
    assert t.num_rows == read_json(out / "stats.json")["total"]["docs_in"]
    assert "quality_words" in t.column_names and "quality_fail" in t.column_names
    rows = t.to_pylist()
    assert any(r["quality_fail"] == "gopher_word_count" for r in rows)
    assert pq.read_table(out / "removals").num_rows == 0


# -- batched steps: one compiled pass per shard decides as the per-document path -----------------------

def _batch_texts():
    return sample_texts() + [
        "Share this\nLOG IN\n3 likes\n[1] cited [edit] here.\nSee javascript: below\n",
        "\u0130login here\n\u017fubscribe now\n\u212a likes\nJAVA\u017fCRIPT off\n", "lorem ipsum " * 20 + "\n\n" + "x" * 1200,
        "mail a.b@example.org or call +44 20 7946 0958, (555) 123-4567; host 10.0.0.1 and fe80::1:2:3.",
        "١٢٣.٤٥٦.٧٨٩٠ and +١٢٣٤٥٦٧٨٩ and 4111 1111 1111 1111\r\nlast line without newline"]


TEXTS = st.lists(st.sampled_from(list("aAbZ .,!?\n\t-[]:@+()0123456789#{…•\"'") +
                                 ["log in", "Share this", "LOREM", "\u0130", "\u017f", "\u212a", "é", "\u2028", "日本",
                                  "\U0001F600", "accessed 3", "[1]", "5 views", "a.b@ex.org", "10.0.0.1"]),
                 max_size=120).map("".join)


@pytest.mark.parametrize("step", [Boilerplate(BoilerplateConfig(repeated_min_docs=0)), QualityFilter(),
                                  PiiFilter(PiiConfig(cards=True))], ids=lambda s: s.name)
def test_batch_decides_as_each_document(step):
    import pyarrow as pa
    texts = _batch_texts()
    one = [step.process(Document("d", t, "s")) for t in texts]
    for batch in (pa.array(texts, pa.large_string()), texts):
        v = step.process_batch(batch)
        assert [v.verdict(i) for i in range(len(texts))] == one
    assert any(one)


@settings(max_examples=150, deadline=None)
@given(st.lists(TEXTS, max_size=6))
def test_batch_decides_as_each_document_on_random_text(texts):
    import pyarrow as pa
    for step in (Boilerplate(BoilerplateConfig(repeated_min_docs=0)), QualityFilter(), PiiFilter()):
        v = step.process_batch(pa.array(texts, pa.large_string()))
        assert [v.verdict(i) for i in range(len(texts))] == [step.process(Document("d", t, "s")) for t in texts]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["[", "]", "[1]", "1", "\u0663", "\U0001d7ce", "\u00b2", "edit", "EDIT",
                                          "Edit", "citation needed", "CITATION Needed", "[Citation needed]", "[EDIT]", "c", "e", "x", " ",
                                          "\n"]), max_size=30).map("".join), max_size=6))
def test_wiki_citations_are_every_match_of_the_regex(texts):
    # every line rule off, so every marker is removed: the screen before the regex must not miss one
    import pyarrow as pa
    from thresher.steps.boilerplate import _WIKI_CITATION, LINE_RULES
    step = Boilerplate(BoilerplateConfig(repeated_min_docs=0, skip=LINE_RULES))
    v = step.process_batch(pa.array(texts, pa.large_string()))
    for i, t in enumerate(texts):
        assert [(c.start, c.end) for c in v.verdict(i) or []] == [m.span() for m in _WIKI_CITATION.finditer(t)]


@settings(max_examples=150, deadline=None)
@given(st.lists(TEXTS, max_size=5))
def test_text_batch_decodes_arrow_as_python(texts):
    import numpy as np
    import pyarrow as pa
    from thresher.text.charclass import TextBatch, code_points
    b = TextBatch(pa.array(texts, pa.large_string()))
    assert b.offsets.tolist() == [0, *np.cumsum([len(t) for t in texts]).tolist()]
    assert b.cp.tolist() == code_points("".join(texts)).tolist()
    assert [b[i] for i in range(len(texts))] == texts


def _trigger_words():
    from thresher.steps.boilerplate import _TRIGGERS
    return st.sampled_from(_TRIGGERS).flatmap(lambda w: st.sampled_from([w, w.upper(), w.title()]))


#: Lines that hold a trigger word (in any case) between random text.
TRIGGER_LINES = st.tuples(TEXTS, _trigger_words(), TEXTS).map("".join)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(TEXTS, TRIGGER_LINES), min_size=1, max_size=8))
def test_trigger_lines_are_a_superset_of_keyword_matches(lines):
    import numpy as np
    from thresher.steps.boilerplate import _KEYWORDS, _TRIGGERS, _triggers
    from thresher.text.charclass import code_points
    lines = [x.replace("\n", " ") for x in lines]
    text = "\n".join(lines)
    starts = np.cumsum([0] + [len(x) + 1 for x in lines[:-1]])
    flagged = _triggers().flag_lines(code_points(text), starts, starts + [len(x) for x in lines])
    wild = "\u0130\u0131\u017f\u212a"      # the non-ASCII characters re.IGNORECASE folds to ASCII
    for line, f in zip(lines, flagged.tolist()):
        if any(c in line for c in wild):
            assert f
        elif line.isascii():
            assert f == any(t in line.lower() for t in _TRIGGERS)
        if _KEYWORDS.search(line):
            assert f
    # the line kernel's walk of the same automaton flags the same lines
    from thresher.text.charclass import TextBatch
    from thresher.steps.boilerplate.lines import HAS_TRIGGER, line_features_batch
    batch = TextBatch([text])
    doc, start, _, _, _, bits = line_features_batch(batch.cp, batch.offsets, triggers=_triggers())
    # (the kernel has no line after a final newline, nor any in an empty text)
    assert start.tolist() == starts.tolist()[:len(start)] and len(start) >= len(lines) - 1
    assert ((bits & HAS_TRIGGER) != 0).tolist() == flagged.tolist()[:len(start)]
    assert not (line_features_batch(batch.cp, batch.offsets)[5] & HAS_TRIGGER).any()
    # marked: the words of the rules other than ui_phrase, all a line too long for ui_phrase can match
    from thresher.steps.boilerplate import _KEYWORDS_LONG, _UI
    from thresher.steps.boilerplate.lines import HAS_MARKED
    for line, b in zip(lines, bits.tolist()):
        if any(c in line for c in wild):
            assert b & HAS_MARKED
        elif line.isascii():
            assert bool(b & HAS_MARKED) == any(t in line.lower() for t in _TRIGGERS if t not in _UI)
        if _KEYWORDS_LONG.search(line):
            assert b & HAS_MARKED


def test_measure_batch_equals_measure():
    import numpy as np
    from thresher.text.charclass import TextBatch
    from thresher.steps.quality.measures import measure, measure_batch
    texts = _batch_texts()
    b = TextBatch(texts)
    assert np.array_equal(measure_batch(b.cp, b.offsets), np.array([measure(t) for t in texts]),
                          equal_nan=True)


def test_engine_refuses_a_bad_batch_verdict(tmp_path):
    import numpy as np
    from thresher.engine.shard import ShardState
    from thresher.engine.stats import StepStats
    from thresher.steps import DocumentStep, Verdicts
    import pyarrow as pa

    class Bad(DocumentStep):
        name = "bad"
        batched = True

        def process_batch(self, texts):
            return Verdicts(reasons=("x",), row=np.array([0, 0]), start=np.array([0, 2]),
                            end=np.array([3, 4]), code=np.array([0, 0]))

    table = pa.table({"id": ["a"], "text": pa.array(["abcdef"], pa.large_string()), "source": ["s"],
                      "_len": [6]})
    with pytest.raises(ValueError, match="overlaps"):
        ShardState(0, table).apply_local(Bad(), StepStats())


@pytest.mark.parametrize("step", [LanguageId(LanguageConfig(keep=("en",), min_score=0.9)),
                                  QualityFilter(QualityConfig(dry_run=True))], ids=lambda s: s.name)
def test_batch_labels_equal_each_document(step):
    import pyarrow as pa
    texts = _batch_texts()
    docs = [Document("d", t, "s") for t in texts]
    one = [step.process(d) for d in docs]
    v = step.process_batch(pa.array(texts, pa.large_string()))
    assert [v.verdict(i) for i in range(len(texts))] == one
    assert set(v.labels) == set(step.columns())
    for name, values in v.labels.items():
        assert list(values) == [d.labels[name] for d in docs], name
