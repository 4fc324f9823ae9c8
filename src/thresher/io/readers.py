"""The input formats thresher reads, and the chunks the driver cuts the input into.

Built-in readers: ``jsonl`` (:mod:`.jsonl`), ``txt`` (:mod:`.txt`), ``parquet`` (:mod:`.parquet`),
``arrow`` (:mod:`.arrow`), ``csv`` (:mod:`.delimited`), ``html`` (:mod:`.htmlfile`) and ``warc`` (:mod:`.warc`).
Other packages add readers through the entry-point group ``thresher.readers`` (name = the reader's
``name``, value = its :class:`~thresher.io.base.Reader` class); a plug-in's suffixes may not take a
built-in's.
"""

from __future__ import annotations

import queue
import re
import threading
from typing import Any, Iterable, Iterator, TypeVar

from ..errors import ConfigError, InputError
from ..plugins import load_group
from .arrow import ArrowReader
from .base import Chunk, InputFile, Reader
from .delimited import DelimitedReader
from .htmlfile import HtmlReader
from .jsonl import JsonlReader
from .parquet import ParquetReader
from .txt import TextReader
from .unreadable import UnreadableReader
from .warc import WarcReader

ENTRY_POINT_GROUP = "thresher.readers"
_NAME = re.compile(r"[a-z][a-z0-9_]*")


def check_reader(cls: object, *, origin: str = "") -> type[Reader]:
    """``cls`` if it is a reader thresher can use; else a ConfigError saying what to fix."""
    where = f" ({origin})" if origin else ""
    if not (isinstance(cls, type) and issubclass(cls, Reader)):
        raise ConfigError(f"{cls!r}{where} is not a thresher reader: subclass thresher.io.base.Reader")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(f"reader class {cls.__qualname__}{where} needs a name of lower-case letters, "
                          f"digits and '_' (got {name!r})")
    suffixes = getattr(cls, "suffixes", None)
    if not (isinstance(suffixes, dict) and suffixes
            and all(isinstance(k, str) and k.startswith(".") and k == k.lower() for k in suffixes)):
        raise ConfigError(f"reader '{name}'{where}: suffixes must map lower-case file suffixes such as "
                          f"'.jsonl' to their compression")
    for method in ("chunks", "parse"):
        if getattr(cls, method) is getattr(Reader, method):
            raise ConfigError(f"reader '{name}'{where} does not implement {method}()")
    return cls


#: Every reader by name: the built-ins, then the plug-ins installed.
READERS: dict[str, Reader] = {cls.name: cls() for cls in (TextReader, JsonlReader, ParquetReader,
                                                          ArrowReader, DelimitedReader, HtmlReader, WarcReader,
                                                          UnreadableReader)}
#: Plug-in readers that are installed but could not be loaded: name -> why.
BROKEN: dict[str, str] = {}


_loaded = False


def load_plugins() -> None:
    """Register the readers of the installed packages' ``thresher.readers`` entry points (once; on
    first use, since a plug-in imports thresher itself)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    taken = {s: r.name for r in READERS.values() for s in r.suffixes}
    for name, cls in load_group(ENTRY_POINT_GROUP, check_reader, BROKEN):
        clash = sorted(s for s in cls.suffixes if s in taken)
        if name in READERS or clash:
            BROKEN[name] = f"plug-in reader '{name}' ({cls!r}): its name or suffixes {clash} are taken"
        else:
            READERS[name] = cls()
            taken.update(dict.fromkeys(cls.suffixes, name))


def reader_of(kind: str) -> Reader:
    load_plugins()
    try:
        return READERS[kind]
    except KeyError:
        raise InputError(f"no reader for input kind '{kind}'"
                         + (f": {BROKEN[kind]}" if kind in BROKEN else "")) from None


def format_of(path: str) -> tuple[str, str | None] | None:
    """``(reader name, compression)`` of a file by its name (the longest matching suffix), or None."""
    load_plugins()
    name = path.lower()
    best: tuple[int, str, str | None] | None = None
    for reader in READERS.values():
        for suffix, compression in reader.suffixes.items():
            if name.endswith(suffix) and (best is None or len(suffix) > best[0]):
                best = (len(suffix), reader.name, compression)
    return None if best is None else best[1:]


def supported_suffixes() -> list[str]:
    load_plugins()
    return [s for r in READERS.values() for s in r.suffixes]


def iter_chunks(files: list[InputFile], *, shard_bytes: int, cfg: Any) -> Iterator[Chunk]:
    """All chunks of all inputs, numbered 0, 1, 2... in corpus order: each run of consecutive files of
    one format is cut by its reader; ``cfg`` is ``[input]``."""
    index, i = 0, 0
    while i < len(files):
        j = i
        while j < len(files) and files[j].kind == files[i].kind:
            j += 1
        for chunk in reader_of(files[i].kind).chunks(files[i:j], shard_bytes=shard_bytes, start=index, cfg=cfg):
            yield chunk
            index = chunk.index + 1
        i = j


def check_inputs(files: Iterable[InputFile], cfg: Any) -> None:
    """Each reader's check of its files, before any work."""
    for f in files:
        reader_of(f.kind).check(f, cfg)


T = TypeVar("T")


def read_ahead(items: Iterable[T], *, depth: int = 1) -> Iterator[T]:
    """``items`` in order, produced by a background thread up to ``depth`` ahead of the consumer.

    The chunker decompresses and cuts the input (0.6 s of a core for webdocs' 45 MB ``.zst``); with it
    in a thread, that overlaps the work on the previous chunk (zstandard, and the kernels that work on a
    chunk, release the GIL). An exception in the thread is raised here, at the item where it happened;
    a consumer that stops early stops the thread at its next item."""
    q: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()
    done = object()

    def put(entry: tuple[Any, Any]) -> bool:
        while not stop.is_set():
            try:
                q.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        it = iter(items)
        try:
            for item in it:
                if not put((item, None)):
                    return
            put((done, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            put((done, exc))
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="thresher-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item, exc = q.get()
            if item is done:
                if exc is not None:
                    raise exc
                return
            yield item
    finally:
        stop.set()
        thread.join()
