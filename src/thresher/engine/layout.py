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
run never leaves a partial file under a final name.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Callable

import orjson
import pyarrow as pa
import pyarrow.parquet as pq


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)``, then rename the temporary file to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(str(tmp))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json(path: Path, obj: Any) -> None:
    data = orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(data + b"\n"))


def read_json(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


def write_parquet(path: Path, table: pa.Table, *, compression: str = "zstd",
                  row_group_size: int | None = None) -> None:
    atomic_write(path, lambda tmp: pq.write_table(
        table, tmp, compression=compression, row_group_size=row_group_size,
        write_statistics=True))


def write_arrow(path: Path, table: pa.Table, *, compression: str | None = "lz4") -> None:
    options = pa.ipc.IpcWriteOptions(compression=None if compression == "none" else compression)

    def write(tmp: str) -> None:
        with pa.OSFile(tmp, "wb") as sink, pa.ipc.new_file(sink, table.schema, options=options) as w:
            w.write_table(table)
    atomic_write(path, write)


def read_arrow(path: Path) -> pa.Table:
    with pa.memory_map(str(path), "r") as source:
        return pa.ipc.open_file(source).read_all()


class Layout:
    """Paths of one run's output folder."""

    def __init__(self, out: str | os.PathLike[str]):
        self.out = Path(out)
        self.work = self.out / "_work"

    @staticmethod
    def part(n: int) -> str:
        return f"part-{n:06d}"

    # final outputs
    def documents(self, n: int, fmt: str) -> Path:
        return self.out / "documents" / f"{self.part(n)}.{fmt}"

    def removals(self, n: int) -> Path:
        return self.out / "removals" / f"{self.part(n)}.parquet"

    def quarantine(self, n: int) -> Path:
        return self.out / "quarantine" / f"{self.part(n)}.parquet"

    @property
    def stats(self) -> Path:
        return self.out / "stats.json"

    @property
    def run_manifest(self) -> Path:
        return self.out / "manifest.json"

    def phase_manifest(self, phase: str) -> Path:
        return self.out / "manifests" / f"{phase}.json"

    # intermediate data
    def shard(self, n: int) -> Path:
        return self.work / "shards" / f"{self.part(n)}.arrow"

    def state(self, k: int, n: int) -> Path:
        return self.work / f"pass{k}" / f"{self.part(n)}.removals.arrow"

    def decisions_folder(self, step: str) -> Path:
        return self.work / f"{step}.reduce"

    def decisions(self, step: str, part: str) -> Path:
        return self.decisions_folder(step) / f"{part}.parquet"

    def marker(self, phase: str, task: str) -> Path:
        return self.work / "done" / phase / f"{task}.json"

    def clean_temporaries(self) -> None:
        """Remove temporary files a killed run left behind."""
        if self.out.exists():
            for tmp in self.out.rglob(".*.tmp"):
                tmp.unlink(missing_ok=True)

    def remove_work(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)
