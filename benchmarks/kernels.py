#!/usr/bin/env python3
"""The filter kernels' design choices, each timed against the simpler way on the same webdocs documents
(one process, best of ``--repeat``):

- language: the byte n-gram DFA walked over four texts in lockstep (``language._features``) against one
  text at a time (a plain walk, here);
- boilerplate: the keyword regex with its first-character lookahead against the same alternation
  without it, over the lines the trigger automaton passes to it (and the matches compared); and, for
  lines too long for ``ui_phrase``, the regex over those with a marked trigger word (``HAS_MARKED``)
  against all flagged (and the matching lines compared);
- boilerplate's line keys: one fused pass (``segment.keyed_lines``: lines, their canonical bytes, their
  hashes) against segmenting (``paragraphs(mode="lines")``) and then ``span_fingerprints``;
- offsets of edited documents mapped back to the original for the whole batch at once
  (``ShardState.current_to_original``) against one ``EditedText.current_to_original`` per document,
  for the lines left after boilerplate's line rules (the map side of repeated-line counting);
- boilerplate's trigger automaton walked inside the line-feature loop (``line_features_batch(triggers=)``)
  against the features and then ``TriggerAutomaton.flag_lines`` over the lines with words, a pass of
  its own;
- pii's prefilters: the digit-led ones screened by one alternation first (``SCREENED``) against each
  prefilter over all texts;
- quality: ``measure_batch`` (all 29 measures), for the record;
- the language model converted from py3langid's file (``language.Model`` without a cache) against
  memory-mapped from the cache (``thresher.cache``).

Usage: python benchmarks/kernels.py [--docs 12000] [--repeat 3]. Writes benchmarks/results/kernels.json.
"""
from __future__ import annotations

import argparse
import functools
import re
import time
import unicodedata

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from _measure import save_results
from filters import load


@numba.njit(nogil=True)
def _walk_one_at_a_time(data, offsets, nextmove, rowbase, output, feats):
    for d in range(offsets.shape[0] - 1):
        s = 0
        for i in range(offsets[d], offsets[d + 1]):
            s = nextmove[rowbase[s] + data[i]]
            feats[i] = output[s]


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return round(min(times), 4)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=12000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    from thresher.steps import boilerplate as bp, language
    from thresher.steps.quality import measures
    from thresher.text.charclass import TextBatch
    from thresher.steps.boilerplate.lines import HAS_MARKED, HAS_TRIGGER, line_features_batch
    from thresher.steps.pii import PREFILTERS, SCREENED, PiiConfig, PiiFilter

    texts = [d["text"] for d in load(a.docs)]
    report: dict = {"docs": len(texts), "mb": round(sum(len(t.encode()) for t in texts) / 1e6, 1)}

    m = language.model()
    parts = [unicodedata.normalize("NFC", t[:1000]).encode() for t in texts]
    offsets = np.zeros(len(parts) + 1, np.int64)
    np.cumsum([len(p) for p in parts], out=offsets[1:])
    data = np.frombuffer(b"".join(parts), np.uint8)
    lockstep, plain = np.empty(len(data), np.int32), np.empty(len(data), np.int32)
    args = (data, offsets, m.nextmove, m.rowbase, m.output)
    language._features(*args, lockstep)
    _walk_one_at_a_time(*args, plain)
    assert (lockstep == plain).all()
    report["language_walk_s"] = {"lockstep_4": best(lambda: language._features(*args, lockstep), a.repeat),
                                 "one_at_a_time": best(lambda: _walk_one_at_a_time(*args, plain), a.repeat)}

    arr = pa.array(texts, pa.large_string())
    batch = TextBatch(arr)
    doc, start, end, words, _, _ = line_features_batch(batch.cp, batch.offsets)
    live = np.flatnonzero(words > 0)
    base = batch.offsets[doc[live]]
    hit = live[bp._triggers().flag_lines(batch.cp, base + start[live], base + end[live])]
    lines = [(batch[int(doc[i])], int(start[i]), int(end[i])) for i in hit]
    trig = bp._triggers()

    def features_then_flags():
        f = line_features_batch(batch.cp, batch.offsets)
        on = np.flatnonzero(f[3] > 0)
        at = batch.offsets[f[0][on]]
        return f, trig.flag_lines(batch.cp, at + f[1][on], at + f[2][on])

    fused = line_features_batch(batch.cp, batch.offsets, triggers=trig)
    assert np.array_equal((fused[5][live] & HAS_TRIGGER) != 0, features_then_flags()[1])
    report["line_flags_s"] = {
        "fused": best(lambda: line_features_batch(batch.cp, batch.offsets, triggers=trig), a.repeat),
        "features_then_flag_lines": best(features_then_flags, a.repeat)}

    pii = PiiFilter(PiiConfig(cards=True))
    screened = [k for *_, k in pii._kinds if k in SCREENED]
    assert [m.tolist() for m in pii._prefilter_masks(arr)] == [
        pc.match_substring_regex(arr, PREFILTERS[k]).to_numpy(zero_copy_only=False).tolist() for *_, k in pii._kinds]
    report["pii_prefilters_s"] = {
        "kinds": screened,
        "screened": best(lambda: pii._prefilter_masks(arr), a.repeat),
        "each_over_all": best(lambda: [pc.match_substring_regex(arr, PREFILTERS[k]) for *_, k in pii._kinds],
                              a.repeat)}
    no_lookahead = re.compile(bp._KEYWORDS.pattern.split(")(?:", 1)[1][:-1], re.IGNORECASE)

    def scan(rx):
        return [[(m.lastgroup, m.start()) for m in rx.finditer(t, s, e)] for t, s, e in lines]

    assert scan(bp._KEYWORDS) == scan(no_lookahead)
    report["keyword_regex_s"] = {"lines": len(lines), "lookahead": best(lambda: scan(bp._KEYWORDS), a.repeat),
                                 "without": best(lambda: scan(no_lookahead), a.repeat)}

    # lines too long for ui_phrase go through the regex only with a marked (not ui_phrase) trigger word
    ui_max = bp.BoilerplateConfig().ui_max_words
    long_hit = [i for i in hit.tolist() if fused[3][i] > ui_max]
    marked = [i for i in long_hit if fused[5][i] & HAS_MARKED]

    def scan_long(idx):
        return [i for i in idx if bp._KEYWORDS_LONG.search(batch[int(doc[i])], int(start[i]), int(end[i]))]

    assert scan_long(marked) == scan_long(long_hit)
    report["long_line_keywords_s"] = {"flagged": len(long_hit), "marked": len(marked),
                                      "marked_only": best(lambda: scan_long(marked), a.repeat),
                                      "all_flagged": best(lambda: scan_long(long_hit), a.repeat)}
    from thresher.text.normalize import span_fingerprints, utf8_buffer
    from thresher.text.segment import keyed_lines, paragraphs

    arr = pa.array(texts, pa.large_string())
    buf = utf8_buffer(arr)

    def segment_then_fingerprint():
        d, b0, b1, c0, c1, cut0, cut1 = paragraphs(*buf, mode="lines")
        return d, c0, c1, cut0, cut1, span_fingerprints(buf[0], b0, b1 - b0, normalization="NFKC", lowercase=True)

    assert all(np.array_equal(x, y) for x, y in zip(keyed_lines(*buf), segment_then_fingerprint()))
    report["line_keys_s"] = {"fused": best(lambda: keyed_lines(*buf), a.repeat),
                             "segment_then_fingerprint": best(segment_then_fingerprint, a.repeat)}

    from thresher.documents import EditedText
    from thresher.engine.shard import ShardState
    from thresher.engine.stats import StepStats
    state = ShardState(0, pa.table({"id": [str(i) for i in range(len(texts))], "text": arr,
                                    "source": ["webdocs"] * len(texts), "_len": [len(t) for t in texts]}))
    state.apply_local(bp.Boilerplate(bp.BoilerplateConfig(repeated_min_docs=0)), StepStats())
    rows = np.flatnonzero(state.alive)
    sk = bp.Boilerplate().spans(state.current_texts(rows), state.cur_len[rows])
    line_rows, starts = rows[sk.row], sk.start.astype(np.int64)
    bounds = np.flatnonzero(np.diff(line_rows)) + 1

    edits = {int(r): state.edited_text(int(r)).edits for r in np.unique(line_rows)}

    def per_document():       # one EditedText per document (made afresh, as the pass made them)
        out = starts.copy()
        for lo, hi in zip([0, *bounds.tolist()], [*bounds.tolist(), len(starts)]):
            r = int(line_rows[lo])
            e = EditedText(functools.partial(state.original, r), edits[r], length=int(state.orig_len[r]))
            out[lo:hi] = e.current_to_original(starts[lo:hi])
        return out

    assert np.array_equal(state.current_to_original(line_rows, starts), per_document())
    report["offset_map_s"] = {"lines": len(starts), "edited_docs": int(state.edited_mask(rows).sum()),
                              "whole_batch": best(lambda: state.current_to_original(line_rows, starts), a.repeat),
                              "per_document": best(per_document, a.repeat)}

    measures.measure_batch(batch.cp[:100], batch.offsets[:2])
    report["measure_batch_s"] = best(lambda: measures.measure_batch(batch.cp, batch.offsets), a.repeat)

    # the language model converted from py3langid's file against mapped from the cache (thresher.cache)
    import os
    import tempfile
    before = os.environ.get("THRESHER_CACHE_DIR")
    with tempfile.TemporaryDirectory() as cache:
        def model_in(where: str):
            os.environ["THRESHER_CACHE_DIR"] = where
            return language.Model()
        cached = model_in(cache)
        assert cached.classes == model_in("").classes and not cached.ptc.flags.writeable
        report["language_model_s"] = {"converted": best(lambda: model_in(""), a.repeat),
                                      "from_cache": best(lambda: model_in(cache), a.repeat)}
    if before is None:
        os.environ.pop("THRESHER_CACHE_DIR")
    else:
        os.environ["THRESHER_CACHE_DIR"] = before
    save_results("kernels", report)


if __name__ == "__main__":
    main()
