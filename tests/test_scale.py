"""What keeps memory per task bounded whatever the corpus size: no shard outlives its task, hash
partitions follow the text ingested, a shuffle leaves one file per writer."""

import gc
import weakref

import numpy as np
import pyarrow as pa

from thresher import load_config
from thresher.io.storage import location
from thresher.engine.runner import CHARS_PER_PARTITION, MIN_PARTITIONS, step_partitions
from thresher.engine.shard import ShardState


def test_a_shard_with_edited_documents_is_freed_without_a_garbage_collection():
    texts = ["first document text", "second one"]
    table = pa.table({"id": ["a", "b"], "text": pa.array(texts, pa.large_string()),
                      "_len": pa.array([len(t) for t in texts], pa.int64())})
    st = ShardState(0, table)
    e = st.edited_text(0)                 # kept in st.edited
    assert e.original == texts[0]
    gone = weakref.ref(st)
    gc.disable()
    try:
        del st, e
        assert gone() is None             # freed by reference counting: no cycle through the shard
    finally:
        gc.enable()


def test_partitions_follow_the_characters_ingested_unless_set():
    cfg = load_config()
    assert step_partitions(cfg, 0) == MIN_PARTITIONS
    assert step_partitions(cfg, 8 * CHARS_PER_PARTITION) == 8
    assert step_partitions(cfg, 8 * CHARS_PER_PARTITION + 1) == 9
    assert step_partitions(load_config(engine={"partitions": 3}), 10**12) == 3


def test_a_shuffle_writes_one_file_per_writer_and_reads_each_partition_alone(tmp_path):
    from thresher.engine.context import StepContext
    from thresher.engine.plan import Plan
    plan = Plan(out=location(tmp_path), config=load_config(steps=["exact"]), steps=("exact",), partitions=5)
    ctx = StepContext(plan, "x")
    for owner, parts in (("w0", [3, 0, 3, 1]), ("w1", [1, 1]), ("w2", [4])):
        ctx.write_partitioned("m", np.array(parts), pa.table({"v": [f"{owner}:{i}" for i in range(len(parts))]}),
                              owner)
    files = sorted(p.name for p in (tmp_path / "_work" / "x.m").iterdir())
    assert files == ["w0.arrow", "w1.arrow", "w2.arrow"]
    got = {p: (t.column("v").to_pylist() if (t := ctx.read_partition("m", p)) is not None else None)
           for p in range(5)}
    assert got == {0: ["w0:1"], 1: ["w0:3", "w1:0", "w1:1"], 2: None, 3: ["w0:0", "w0:2"], 4: ["w2:0"]}
