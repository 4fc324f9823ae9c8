"""Record fields whose names thresher's own output columns use."""

from __future__ import annotations

from ..errors import InputError

#: A record's own field named like thresher's input-file column (Dolma's ``source``) is carried
#: under this prefix: ``source`` becomes ``record_source``.
OWN_PREFIX = "record_"


def own_source(fields: dict, source_column: str, where: tuple) -> dict:
    """``fields`` with the record's own ``source_column`` field renamed ``record_<name>``."""
    renamed = OWN_PREFIX + source_column
    if renamed in fields:
        raise InputError(
            f"{where[0]}{f' line {where[1]}' if where[1] is not None else ''}: the record has fields '{source_column}' and '{renamed}'; "
            f"thresher names its input-file column '{source_column}' and carries a record's own "
            f"'{source_column}' as '{renamed}': set [output] source_column to another name")
    return {(renamed if k == source_column else k): v for k, v in fields.items()}
