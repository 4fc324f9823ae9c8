"""Loading plug-ins: the classes other packages name in an entry-point group."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Callable, Iterator

from .errors import ConfigError


def load_group(group: str, check: Callable[..., type], broken: dict[str, str]) -> Iterator[tuple[str, type]]:
    """``(entry-point name, class)`` of each entry point of ``group`` that loads and passes
    ``check(cls, origin=...)``, by name; each one that does not is put in ``broken`` (name -> why), to
    be reported when it is asked for, so one broken package never stops the others."""
    for ep in sorted(entry_points(group=group), key=lambda e: e.name):
        origin = f"entry point '{ep.name} = {ep.value}'"
        try:
            cls = check(ep.load(), origin=origin)
        except ConfigError as exc:
            broken[ep.name] = str(exc)
            continue
        except Exception as exc:  # noqa: BLE001 - a plug-in's import error is reported when it is used
            broken[ep.name] = f"{origin} cannot be loaded: {type(exc).__name__}: {exc}"
            continue
        if cls.name != ep.name:
            broken[ep.name] = f"{origin} names a class called '{cls.name}'; the two must be equal"
            continue
        yield ep.name, cls
