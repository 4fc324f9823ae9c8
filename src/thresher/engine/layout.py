"""Where every file of a run lives, and atomic writes.

::

    OUT/documents/part-NNNNNN.parquet|jsonl   kept documents, one file per shard
    OUT/removals/part-NNNNNN.parquet          one row per removal
    OUT/quarantine/part-NNNNNN.parquet        records that could not be read (only shards that had some)
    OUT/stats.json                            per step and total
    OUT/manifest.json                         the run: config, config hash, inputs, steps, status
    OUT/manifests/<phase>.json                one per phase, checked by the next phase and by a rerun
    OUT/_work/                                intermediate data, removed after success (keep_work keeps it)

Every file is written under a temporary name in the same folder and renamed when complete, so a killed
run never leaves a partial file under a final name. OUT is a local folder or an object-store URL
(:mod:`thresher.io.storage`); every read and write below goes through a :class:`Location`.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

from ..io.storage import Location, location


_recording = threading.local()


@contextmanager
def recording_writes() -> Iterator[list[list[Any]]]:
    """Within the block, every file this thread writes is listed as ``[path under its root, size,
    XXH3-64 hex]``: a task's completion marker records them, and a rerun checks them."""
    files: list[list[Any]] = []
    _recording.files = files
    try:
        yield files
    finally:
        _recording.files = None


def file_digest(path: Location) -> tuple[int, str]:
    """(size, XXH3-64 hex) of a file, read in 1 MB blocks."""
    h, n = xxhash.xxh3_64(), 0
    with path.open_stream() as f:
        while block := f.read(1 << 20):
            h.update(block)
            n += len(block)
    return n, h.hexdigest()


def atomic_write(path: Location, write: Callable[[Any], None]) -> None:
    """Call ``write(sink)`` on a pyarrow output stream of a temporary file beside ``path``, then rename
    it to ``path``: readers see the whole file or none (on a local disk and on an object store)."""
    if path.is_local:
        path.parent.mkdir()
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with tmp.open_output() as sink:
            write(sink)
        tmp.move_to(path)
        files = getattr(_recording, "files", None)
        if files is not None:     # read back from the page cache: 15 ms for a 40 MB file here
            files.append([path.rel, *file_digest(path)])
    except BaseException as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        if isinstance(exc, OSError) and path.path not in str(exc):    # name the file (pyarrow does not)
            code = exc.errno if exc.errno is not None else _errno_in(str(exc))
            raise OSError(code, f"cannot write {path}: {exc}") from exc
        raise


def _errno_in(message: str) -> int | None:
    """The errno in a pyarrow IO error's message (``... [errno 28] No space left on device``)."""
    m = re.search(r"\[errno (\d+)\]", message, re.I)
    return int(m.group(1)) if m else None


def write_bytes(path: Location, data: bytes) -> None:
    atomic_write(path, lambda sink: sink.write(data))


def write_json(path: Location, obj: Any) -> None:
    write_bytes(path, orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")


def read_json(path: Location) -> Any:
    return orjson.loads(path.read_bytes())


def write_parquet(path: Location, table: pa.Table, *, compression: str = "zstd",
                  row_group_size: int | None = None) -> None:
    atomic_write(path, lambda sink: pq.write_table(
        table, sink, compression=compression, row_group_size=row_group_size,
        write_statistics=True))


def read_parquet(path: Location, **kw: Any) -> pa.Table:
    """``pq.read_table`` of one file (``columns``, ``filters``, ``schema`` as there)."""
    return pq.read_table(path.path, filesystem=path.fs, **kw)


def write_arrow(path: Location, table: pa.Table, *, compression: str | None = "lz4") -> None:
    options = pa.ipc.IpcWriteOptions(compression=None if compression == "none" else compression)

    def write(sink: Any) -> None:
        with pa.ipc.new_file(sink, table.schema, options=options) as w:
            w.write_table(table)
    atomic_write(path, write)


def write_arrow_batches(path: Location, schema: pa.Schema, tables: list[pa.Table], *,
                        compression: str | None = "lz4") -> None:
    """An Arrow IPC file whose record batch ``i`` holds ``tables[i]`` (empty ones included), so that
    :func:`read_arrow_batch` reads one of them alone."""
    options = pa.ipc.IpcWriteOptions(compression=None if compression == "none" else compression)

    def write(sink: Any) -> None:
        with pa.ipc.new_file(sink, schema, options=options) as w:
            for t in tables:
                batches = t.combine_chunks().to_batches()
                w.write_batch(batches[0] if batches else pa.RecordBatch.from_pylist([], schema=schema))
    atomic_write(path, write)


def read_arrow_batch(path: Location, i: int) -> pa.Table | None:
    """Record batch ``i`` of an Arrow IPC file, as a table (None: the file has fewer batches)."""
    with path.open_input() as source:
        reader = pa.ipc.open_file(source)
        return pa.Table.from_batches([reader.get_batch(i)]) if i < reader.num_record_batches else None


def read_arrow_batch_schema(path: Location) -> pa.Schema:
    with path.open_input() as source:
        return pa.ipc.open_file(source).schema


def read_arrow(path: Location) -> pa.Table:
    with path.open_input() as source:
        return pa.ipc.open_file(source).read_all()


class Layout:
    """Paths of one run's output folder."""

    def __init__(self, out: str | os.PathLike[str] | Location):
        self.out = location(out)
        self.work = self.out / "_work"

    @staticmethod
    def part(n: int) -> str:
        return f"part-{n:06d}"

    # final outputs
    def documents(self, n: int, fmt: str) -> Location:
        return self.out / "documents" / f"{self.part(n)}.{fmt}"

    def removals(self, n: int) -> Location:
        return self.out / "removals" / f"{self.part(n)}.parquet"

    def quarantine(self, n: int) -> Location:
        return self.out / "quarantine" / f"{self.part(n)}.parquet"

    @property
    def stats(self) -> Location:
        return self.out / "stats.json"

    @property
    def run_manifest(self) -> Location:
        return self.out / "manifest.json"

    def phase_manifest(self, phase: str) -> Location:
        return self.out / "manifests" / f"{phase}.json"

    # intermediate data
    def shard(self, n: int) -> Location:
        return self.work / "shards" / f"{self.part(n)}.arrow"

    def state(self, k: int, n: int) -> Location:
        return self.work / f"pass{k}" / f"{self.part(n)}.removals.arrow"

    def labels(self, k: int, n: int) -> Location:
        """The output columns steps set so far (carried from pass to pass)."""
        return self.work / f"pass{k}" / f"{self.part(n)}.labels.arrow"

    def decisions_folder(self, step: str) -> Location:
        return self.work / f"{step}.reduce"

    def decisions(self, step: str, part: str) -> Location:
        return self.decisions_folder(step) / f"{part}.parquet"

    def lengths(self, n: int) -> Location:
        """Each document's length before and after the run (the report's histogram)."""
        return self.work / "lengths" / f"{self.part(n)}.arrow"

    def marker(self, phase: str, task: str) -> Location:
        return self.work / "done" / phase / f"{task}.json"

    def clean_temporaries(self) -> None:
        """Remove temporary files a killed run left behind."""
        for tmp in self.out.rglob(".*.tmp"):
            tmp.unlink(missing_ok=True)

    def remove_work(self) -> None:
        self.work.rmtree()
