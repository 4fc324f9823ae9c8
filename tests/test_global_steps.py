"""Each global step's map side and reduce phases run alone, without the engine's runner: shards are
written by hand, the step's phases are run task by task, and their scratch files and decisions checked."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from thresher import ConfigError, DocumentStep, GlobalStep, load_config, registry
from thresher.documents import doc_key
from thresher.engine.context import StepContext, read_decisions
from thresher.engine.layout import write_arrow
from thresher.engine.plan import Plan
from thresher.engine.shard import ShardState
from thresher.engine.view import ShardView
from thresher.io.parse import FIELD_PREFIX, string_array
from thresher.io.storage import location


def _shard(s: int, docs: list[tuple[str, str]], url: str | None = None) -> pa.Table:
    cols = {"_key": pa.array(doc_key(s, np.arange(len(docs)))), "id": pa.array([d[0] for d in docs]),
            "text": string_array([d[1] for d in docs]), "_len": pa.array([len(d[1]) for d in docs], pa.int64()),
            "source": pa.array([f"in{s}.jsonl"] * len(docs))}
    if url:
        cols[FIELD_PREFIX + "url"] = pa.array([url] * len(docs))
    return pa.table(cols)


class Run:
    """One global step over hand-made shards: map, then every phase's tasks in order."""

    def __init__(self, tmp_path, name: str, shards: list[list[tuple[str, str]]], url: str | None = None,
                 **options):
        cfg = load_config(steps=[name], **({name: options} if options else {}))
        self.plan = Plan(out=location(tmp_path / "out"), config=cfg, steps=(name,), partitions=4)
        self.name = name
        self.step = self.plan.global_part(name)
        lay = self.plan.layout
        self.map_results = []
        for s, docs in enumerate(shards):
            table = _shard(s, docs, url)
            st = ShardState(s, table)
            write_arrow(lay.shard(s), table)
            write_arrow(lay.state(0, s), st.removals())
            self.map_results.append(self.step.map(ShardView(st), StepContext(self.plan, name)))
        self.ctx = StepContext(self.plan, name, shards=len(shards))
        self.phases = self.step.phases(self.ctx, self.map_results)
        self.results: dict[str, list[dict]] = {}
        for phase in self.phases:
            self.results[phase.name] = [t.fn(self.ctx, t.arg) for t in phase.tasks]
        self.decisions = [read_decisions(self.plan, name, s).to_pylist() for s in range(len(shards))]


def test_exact_map_and_reduce(tmp_path):
    r = Run(tmp_path, "exact", [[("a", "same text"), ("b", "other")], [("c", "same  text"), ("d", "new")]])
    assert r.map_results == [{"records": 2}, {"records": 2}]
    assert [p.name for p in r.phases] == ["reduce"] and len(r.phases[0].tasks) == 4
    assert sum(x["records"] for x in r.results["reduce"]) == 4
    assert r.decisions[0] == []
    (d,) = r.decisions[1]
    assert (d["_key"], d["start"], d["end"], d["dup_of_id"], d["dup_of_end"], d["dup_of_key"]) == \
        (doc_key(1, 0), 0, 10, "a", None, doc_key(0, 0))     # a whole document is the twin


WORDS = ("bees cool their hive by fanning their wings at the entrance while others carry water in "
         "their crops and spread it over the comb so that it evaporates").split()


def test_near_dup_phases_alone(tmp_path):
    base = " ".join(WORDS * 3)
    near = base.replace("entrance", "door", 1)
    other = " ".join(reversed(WORDS * 3))
    r = Run(tmp_path, "near_dup", [[("a", base), ("x", other)], [("b", near)]])
    assert [p.name for p in r.phases] == ["buckets", "candidates", "verify", "reduce"]
    assert [t.name for t in r.phases[2].tasks] == ["part-000000", "part-000001"]
    assert sum(x["steps"]["near_dup"]["candidates"] for x in r.results["candidates"]) >= 1
    verified = sum(x["steps"]["near_dup"]["verified"] for x in r.results["verify"])
    assert verified == 1
    (d,) = r.decisions[1]
    assert d["dup_of_id"] == "a" and d["reason"] in ("jaccard", "containment") and d["similarity"] >= 0.8
    assert r.decisions[0] == []
    clusters = pa.parquet.read_table(tmp_path / "out" / "clusters" / "part-000000.parquet").to_pylist()
    assert sorted((c["doc_id"], c["kept"]) for c in clusters) == [("a", True), ("b", False)]


def test_substrings_phases_alone(tmp_path):
    passage = " ".join(WORDS * 2)               # 54 words, over the 50-token window
    first = "Intro line here. " + passage + " The end."
    second = "Another start. " + passage
    r = Run(tmp_path, "substrings", [[("a", first)], [("b", second)]])
    assert [p.name for p in r.phases] == ["windows", "runs", "settle"]
    assert r.decisions[0] == []
    (d,) = r.decisions[1]
    start = second.index(passage)
    assert (d["start"], d["end"]) == (start, start + len(passage))
    assert d["dup_of_id"] == "a" and first[d["dup_of_start"]:d["dup_of_end"]] == passage


def test_learned_lines_count_documents_per_source(tmp_path):
    line = "Share this article with your friends and family today!"
    docs = [(f"d{i}", f"Body text number {i} is unique to this page.\n{line}\n") for i in range(10)]
    r = Run(tmp_path, "boilerplate", [docs[:5], docs[5:]], url="https://www.example.org/page",
            repeated_min_docs=10)
    assert r.step.name == "boilerplate" and r.step.reason == "repeated_line"
    rows = [d for part in r.decisions for d in part]
    assert len(rows) == 10 and {d["value"] for d in rows} == {10.0}
    text = docs[0][1]
    assert text[rows[0]["start"]:rows[0]["end"]].strip() == line      # the line with one newline
    assert len(text) - (rows[0]["end"] - rows[0]["start"]) == len(text) - len(line) - 1
    top = r.step.summarize({"top_lines": {k: v for x in r.results["reduce"]
                                          for k, v in x["steps"]["boilerplate"]["top_lines"].items()}})
    assert top["top_lines"] == [{"source": "host:example.org", "line": line, "docs": 10}]


# -- the contract is checked when a step is registered or chosen --------------------------------------

class NoMap(GlobalStep):
    name = "no_map"
    stage = "dedup_documents"
    reason = "x"

    def phases(self, ctx, map_results):
        return []


class NoProcess(DocumentStep):
    name = "no_process"
    stage = "filter"


class NoStage(DocumentStep):
    name = "no_stage"

    def process(self, doc):
        return None


class Short(DocumentStep):
    name = "short"
    stage = "filter"

    def process(self, doc):
        return None


@pytest.mark.parametrize("cls, message", [
    (NoMap, "step 'no_map' is a GlobalStep but does not implement map()"),
    (NoProcess, "step 'no_process' is a DocumentStep but does not implement process()"),
    (NoStage, "step 'no_stage' needs a stage, one of clean, collapse, filter"),
    (int, "is not a thresher step"),
])
def test_a_step_that_cannot_run_is_refused_before_work(monkeypatch, cls, message):
    with pytest.raises(ConfigError, match=message):
        registry.check_step(cls)
    if isinstance(getattr(cls, "name", None), str):
        monkeypatch.setitem(registry.STEPS, cls.name, cls)
        with pytest.raises(ConfigError, match=message):
            load_config(steps=[cls.name, "exact"])


def test_a_step_registered_by_hand_is_resolved_in_pipeline_order(monkeypatch):
    monkeypatch.setitem(registry.STEPS, "short", Short)
    assert registry.resolve_steps(["pii", "exact", "short"]) == ["short", "exact", "pii"]
