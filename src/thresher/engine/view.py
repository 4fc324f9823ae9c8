"""A read-only view of one shard for a global step's map side: current texts, ids, lengths, offsets.

The view hides how the engine keeps a shard (original texts plus removal rows): a step asks for the
current texts of some rows and, where it records spans, maps current offsets back to the original
ones that removal rows and decisions use.
"""

from __future__ import annotations

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ..documents import doc_key
from ..io.parse import FIELD_PREFIX
from .layout import read_arrow
from .plan import Plan
from .shard import ShardState


class ShardView:
    def __init__(self, state: ShardState, *, url_field: str = "url"):
        self._st = state
        self._url_field = url_field

    @property
    def shard(self) -> int:
        return self._st.shard

    @property
    def n(self) -> int:
        """Documents in the shard, live or removed."""
        return self._st.n

    def live_rows(self) -> np.ndarray:
        """Rows of the documents no step has removed, ascending."""
        return np.flatnonzero(self._st.alive)

    def keys(self, rows: np.ndarray) -> np.ndarray:
        """Corpus-order keys of ``rows`` (the ``_key`` of decisions)."""
        return doc_key(self._st.shard, rows)

    def ids(self, rows: np.ndarray) -> pa.Array:
        return self._st.table.column("id").take(pa.array(rows, pa.int64()))

    def sources(self) -> list[str]:
        """The input file of every row."""
        return self._st.sources

    def field(self, name: str) -> pa.ChunkedArray | None:
        """A carried input field of every row (None: the shard has no such field)."""
        col = FIELD_PREFIX + name
        return self._st.table.column(col) if col in self._st.table.column_names else None

    def urls(self) -> list[str | None]:
        """The page URL of every row, from the field ``url_field`` names (None where a row has none).
        A dotted path is a literal field name first, else a path into nested fields (Arrow structs or
        objects kept as JSON text). The default ``url`` falls back to Dolma's ``metadata.url``."""
        values = self._path_values(self._url_field)
        if values is None and self._url_field == "url":
            values = self._path_values("metadata.url")
        if values is None:
            return [None] * self.n
        return [v if isinstance(v, str) else None for v in values]

    def _path_values(self, path: str) -> list | None:
        """Values at ``path`` for every row, or None when no carried field has that path."""
        if (col := self.field(path)) is not None:
            return col.to_pylist()
        head, *rest = path.split(".")
        if not rest or (col := self.field(head)) is None:
            return None
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):   # an object kept as JSON
            return [_json_path(v, rest) for v in col.to_pylist()]
        for name in rest:
            if not pa.types.is_struct(col.type) or col.type.get_field_index(name) < 0:
                return None
            col = pc.struct_field(col, name)
        return col.to_pylist()

    def holds_twins(self, rows: np.ndarray) -> np.ndarray:
        """Whether each of ``rows`` is, or holds, a kept twin that an earlier step's removal in another
        document names: a step that keeps twins whole keeps these documents."""
        return self._st.twins.protected_rows(np.asarray(rows, np.int64))

    def texts(self, rows: np.ndarray) -> pa.LargeStringArray:
        """Current texts of ``rows``."""
        return self._st.current_texts(rows)

    def original(self, row: int) -> str:
        return self._st.original(row)

    def lengths(self, rows: np.ndarray) -> np.ndarray:
        """Current lengths of ``rows``, in characters."""
        return self._st.cur_len[rows]

    def original_lengths(self, rows: np.ndarray) -> np.ndarray:
        return self._st.orig_len[rows]

    @property
    def has_edits(self) -> bool:
        """Whether any document's current text differs from its original."""
        return self._st.has_edits

    def to_original(self, rows: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """Original offset of current character ``positions[i]`` of ``rows[i]``."""
        return self._st.current_to_original(rows, positions)


def load_view(plan: Plan, k: int, shard: int) -> ShardView:
    """Shard ``shard`` as pass ``k`` left it."""
    lay = plan.layout
    return ShardView(ShardState(shard, read_arrow(lay.shard(shard)), read_arrow(lay.state(k, shard))),
                     url_field=plan.config.input.url_field)


def _json_path(text: str | None, path: list[str]):
    try:
        value = orjson.loads(text) if text else None
    except orjson.JSONDecodeError:
        return None
    for name in path:
        value = value.get(name) if isinstance(value, dict) else None
    return value
