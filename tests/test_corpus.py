"""The corpus as a whole: steps in an order that keeps every named twin, repetition collapsed inside a
document before it is judged, defaults for scraped web text, and verify's twin check."""

from __future__ import annotations

import collections

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from thresher import registry
from thresher.configure import load_config
from thresher.documents import Cut, Document, Drop
from thresher.engine.plan import Plan
from thresher.engine.twins import subtract
from thresher.errors import ConfigError
from thresher.io.storage import location
from thresher.steps import DocumentStep, GlobalStep
from thresher.steps.repeats import Repeats
from thresher.verify import _TwinCheck

import orjson

from conftest import cli_ok, run_ok, shared_path


def write_jsonl(path, docs) -> None:
    path.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in docs))


def _run(tmp_path, docs, steps) -> tuple[list[dict], list[dict]]:
    """Run ``steps`` on ``docs`` (verified); the removal rows and the kept documents."""
    write_jsonl(tmp_path / "in.jsonl", docs)
    out = tmp_path / "out"
    run_ok([tmp_path / "in.jsonl"], out, steps=steps, workers=1)
    return pq.read_table(out / "removals").to_pylist(), pq.read_table(out / "documents").to_pylist()


# -- order ---------------------------------------------------------------------------------------------

class LateFilter(DocumentStep):
    """A filter placed after dedup: it could drop a kept twin."""
    name = "late_filter"
    stage = "dedup_spans"
    position = 99

    def process(self, doc: Document):
        return Drop("late") if "drop" in doc.text else None

    def removal(self) -> str:
        return "documents"


class LateLabel(LateFilter):
    """The same place, but it only labels: harmless."""
    name = "late_label"

    def removal(self) -> str:
        return "none"


class InsideCutter(DocumentStep):
    """Cuts spans after a step whose twins lie inside the document: could cut a twin."""
    name = "inside_cutter"
    stage = "filter"

    def process(self, doc: Document):
        return [Cut(0, 1, "first_char")]


@pytest.fixture
def extra_steps():
    added = [LateFilter, LateLabel, InsideCutter]
    for cls in added:
        registry.STEPS[cls.name] = cls
    yield
    for cls in added:
        registry.STEPS.pop(cls.name, None)


def _plan(steps: list[str]) -> Plan:
    cfg = load_config({"steps": steps})
    return Plan(out=location("/tmp/unused"), config=cfg, steps=tuple(registry.pipeline_order(steps)),
                partitions=4)


def test_the_default_order_judges_documents_before_dedup():
    order = registry.CANONICAL_ORDER
    assert order.index("repeats") < order.index("quality") < order.index("near_dup") < order.index("exact")
    assert order.index("boilerplate") < order.index("exact")
    assert max(order.index(s) for s in ("exact", "near_dup", "paragraphs", "substrings")) < order.index("pii")
    _plan(list(order))          # the defaults pass the plan's check


def test_the_plan_refuses_a_filter_after_a_twin_step(extra_steps):
    with pytest.raises(ConfigError, match="late_filter.*drops documents after step 'exact'"):
        _plan(["exact", "late_filter"])
    _plan(["exact", "late_label"])                 # labels only: allowed
    _plan(["late_filter"])                         # nothing recorded twins before it


def test_drops_may_follow_twins_inside_a_document_but_cuts_may_not(extra_steps):
    _plan(["repeats", "quality"])                  # a drop takes copy and twin together
    with pytest.raises(ConfigError, match="inside_cutter.*cuts text after step 'repeats'"):
        _plan(["repeats", "inside_cutter"])


def test_a_step_that_records_corpus_twins_must_be_global():
    class Bad(DocumentStep):
        name = "bad_twins"
        stage = "filter"
        twins = "corpus"

        def process(self, doc):
            return None

    with pytest.raises(ConfigError, match="only be 'document'"):
        registry.check_step(Bad)


# -- repeats -------------------------------------------------------------------------------------------

POST = "This is a quoted post that somebody wrote on page one of the thread."


def test_repeats_collapses_repeated_lines_inside_a_document_and_names_the_first():
    text = f"Intro line that is long enough to count.\n{POST}\n.\n{POST}\nreply\n{POST}"
    other = f"{POST}\nsomething else entirely that is long enough"
    step = Repeats()
    v = step.process_batch(pa.array([text, other], pa.large_string()))
    assert v.row.tolist() == [0, 0]                # the other text holds the post once: untouched
    first = text.index(POST)
    assert v.twin_start.tolist() == [first, first]
    assert v.twin_end.tolist() == [first + len(POST)] * 2
    kept = "".join(text[a:b] for a, b in zip([0, *v.end.tolist()], [*v.start.tolist(), len(text)]))
    assert kept.count(POST) == 1 and "reply" in kept
    assert step.process(Document("d", text, "s")) == v.verdict(0)


def test_repeats_rows_name_their_own_document_and_survive_verify(tmp_path):
    line = "A line that repeats inside its document and is long enough."
    docs = [{"id": "a", "text": f"{line}\nunique text of a that is long enough to stay\n{line}\n{line}"},
            {"id": "b", "text": f"first words of b that are long enough\n{line}"}]
    rem, _ = _run(tmp_path, docs, ["repeats", "paragraphs"])
    rep = [r for r in rem if r["step"] == "repeats"]
    assert [(r["doc_id"], r["dup_of_id"]) for r in rep] == [("a", "a"), ("a", "a")]
    par = [r for r in rem if r["step"] == "paragraphs"]
    assert [(r["doc_id"], r["dup_of_id"]) for r in par] == [("b", "a")]


def test_a_twin_inside_a_document_that_span_dedup_removes_is_re_pointed(tmp_path):
    """b repeats a line of a, three times: repeats keeps b's first copy, paragraphs removes it as a
    copy of a's; repeats' rows then name a's line, which stays."""
    line = "A quoted post that page one of the thread already held, word for word."
    docs = [{"id": "a", "text": f"page one opens with its own long first line\n{line}"},
            {"id": "b", "text": f"page two opens with a different long line\n{line}\n{line}\n{line}"}]
    rem, docs_out = _run(tmp_path, docs, ["repeats", "paragraphs"])
    b_rows = [r for r in rem if r["doc_id"] == "b"]
    assert {r["dup_of_id"] for r in b_rows} == {"a"}
    assert len(b_rows) == 3
    kept = {r["id"]: r["text"] for r in docs_out}
    assert kept["a"].count(line) == 1 and line not in kept["b"]


# -- protection ------------------------------------------------------------------------------------------

def test_near_dup_keeps_the_twin_an_earlier_step_named(tmp_path, monkeypatch):
    """With exact placed first: x2 is an exact copy of x; w, longer, is a near-duplicate of x.
    near_dup would keep w (longest first) and remove x, whose copy's row names x: it keeps x."""
    monkeypatch.setattr(registry.STEPS["exact"], "position", 5)
    base = " ".join(f"word{i} alpha beta gamma" for i in range(60))
    docs = [{"id": "x", "text": base}, {"id": "x2", "text": base},
            {"id": "w", "text": base + " and a short tail"}]
    rows, docs_out = _run(tmp_path, docs, ["exact", "near_dup"])
    assert [r["id"] for r in docs_out] == ["x"]
    rem = {r["doc_id"]: r for r in rows}
    assert rem["x2"]["dup_of_id"] == "x" and rem["w"]["dup_of_id"] == "x"
    assert rem["x2"]["dup_of_start"] is None       # a whole document is the twin


def test_subtract():
    assert subtract([(0, 10)], np.array([2, 8]), np.array([4, 12])) == [(0, 2), (4, 8)]
    assert subtract([(0, 3), (5, 9)], np.array([]), np.array([])) == [(0, 3), (5, 9)]
    assert subtract([(5, 9)], np.array([0]), np.array([20])) == []


# -- verify's twin check --------------------------------------------------------------------------------

def _row(step, dup_of_id, a=None, b=None, start=0, end=5, replacement=None):
    return {"step": step, "dup_of_id": dup_of_id, "dup_of_start": a, "dup_of_end": b, "start": start,
            "end": end, "replacement": replacement}


def test_twin_check_names_a_missing_twin_and_a_cut_twin_span():
    order = {"repeats": 0, "exact": 1, "paragraphs": 2, "substrings": 3, "pii": 4}
    c = _TwinCheck(order)
    c.add("copy", False, [_row("exact", "gone")])                     # twin not in the output
    c.add("p", True, [_row("paragraphs", "t", 10, 20)])              # span cut by a later step
    c.add("t", True, [_row("substrings", None, start=15, end=18),     # ... here
                      _row("pii", None, start=10, end=12, replacement="<EMAIL>")])
    c.add("q", True, [_row("substrings", "u", 0, 5)])
    c.add("u", True, [_row("repeats", None, start=1, end=3)])         # an earlier step: fine
    c.add("self", False, [_row("repeats", "self", 0, 4, start=10, end=14)])  # dropped with its twin
    errors = list(c.errors(["t", "missing_keeper"]))
    assert len(errors) == 3, errors
    assert "'gone', which is not in documents/" in errors[0]
    assert "span 10..20 of 't'" in errors[1]
    assert "'missing_keeper' is not in documents/" in errors[2]


# -- the seeds, with no config ---------------------------------------------------------------------------

#: The debris of the seeds (README, "Defaults for scraped web text"): lines no output may hold.
SEED_DEBRIS = ("Print Share Comment Cite Upload Translate Updates", "Pakistan Defence Latest Posts",
               "width px height px", "No media source currently available", "Get our free Daily Email",
               "To access this feature you must login or create an account.",
               "The code has been copied to your clipboard.", "The URL has been copied to your clipboard",
               "Leave a Reply", "Share this", "Get one whole story, direct to your inbox every weekday.")


def _is_debris(line: str) -> bool:
    """Debris of the seeds: the listed lines, image file names, citation lines, credit lines."""
    return (line in SEED_DEBRIS or line.endswith((".jpg", ".png")) or "Radio Free |" in line
            or "Radio Free |" in line.replace("\u00bb", "|") or "rights reserved" in line
            or line.startswith(("\u00bb ", "\" \u00bb")))


def test_the_seeds_keep_every_unique_line_once_and_lose_their_debris(tmp_path):
    seeds = shared_path("seeds")
    out = tmp_path / "out"
    cli_ok("run", str(seeds), "-o", str(out), "-w", "1", "-q", out=out)
    kept = {r["id"]: r["text"] for r in pq.read_table(out / "documents").to_pylist()}
    assert kept, "the seeds' output is empty"
    counts = collections.Counter(line.strip() for t in kept.values() for line in t.split("\n"))
    originals = {p.stem: p.read_text(encoding="utf-8") for p in sorted(seeds.glob("*.txt"))}
    missing = [line for t in originals.values() for line in dict.fromkeys(x.strip() for x in t.split("\n"))
               if len(line) >= 30 and not _is_debris(line) and not counts[line]]
    assert missing == []
    assert [line for line, n in counts.items() if len(line) >= 100 and n > 1] == []
    leftovers = [line for line in counts if line in SEED_DEBRIS]
    assert leftovers == []
    a = [t for i, t in kept.items() if i.startswith("000")]
    b = [t for i, t in kept.items() if i.startswith("003")]
    if a and b:
        shared = {x.strip() for x in a[0].split("\n") if len(x.strip()) >= 30} & \
                 {x.strip() for x in b[0].split("\n") if len(x.strip()) >= 30}
        assert shared == set()


def test_defaults_are_for_web_text():
    assert registry.step_class("paragraphs").Config().split == "lines"
    assert registry.step_class("repeats").Config().split == "lines"
    assert registry.step_class("boilerplate").Config().c4_terminal_punct is False


def test_one_cluster_holds_copies_and_near_copies_and_dup_count_counts_them(tmp_path):
    base = " ".join(f"word{i} alpha beta gamma" for i in range(60))
    tiny = "Too short."
    docs = [{"id": "x", "text": base}, {"id": "x2", "text": base},
            {"id": "w", "text": base + " and a short tail"}, {"id": "t", "text": tiny},
            {"id": "t2", "text": tiny}]
    rows, docs_out = _run(tmp_path, docs, ["near_dup", "exact"])
    assert {r["id"]: r["dup_count"] for r in docs_out} == {"w": 2, "t": 1}
    rem = {r["doc_id"]: (r["step"], r["dup_of_id"]) for r in rows}
    assert rem == {"x": ("near_dup", "w"), "x2": ("near_dup", "w"), "t2": ("near_dup", "t")}   # char shingles
