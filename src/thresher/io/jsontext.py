"""JSON text of one value, exact for integers of any size (orjson stops at 64 bits)."""

from __future__ import annotations

import json
import math
from typing import Any

import orjson


def json_text(value: Any) -> str:
    """Compact JSON of ``value``, as orjson writes it; a value holding an integer beyond 64 bits, as
    the standard library writes it (digit for digit); a non-finite float as ``Infinity`` or ``NaN``."""
    if isinstance(value, float) and not math.isfinite(value):    # orjson writes these as null
        return json.dumps(value)
    try:
        return orjson.dumps(value).decode()
    except TypeError:     # orjson.JSONEncodeError: an integer beyond 64 bits
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
