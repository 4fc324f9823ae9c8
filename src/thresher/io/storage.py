"""Where a run's files live: a local folder or an object store, behind one small path type.

``location("OUT")`` is a local folder; ``location("s3://bucket/out")`` (also ``gs://``, ``hdfs://``,
``abfs://``: every URI :func:`pyarrow.fs.FileSystem.from_uri` knows) is a folder on that store,
reached with pyarrow's own filesystem; any other scheme goes through fsspec when it is installed
(``memory://``, or ``s3://`` via s3fs...). A :class:`Location` offers the few pathlib operations the
engine uses (join, list, exists, read, delete), so the engine has one code path for every store.

Written by hand because neither library offers it: pyarrow's filesystems take a bare path string and a
filesystem object apart, fsspec's ``UPath`` is a third-party package that pyarrow's readers do not
accept. Connection options travel in the URL (``s3://b/out?endpoint_override=http://host:9000&scheme=http``
for a MinIO or other S3-compatible server), so every worker process rebuilds the same filesystem from
the URL alone; credentials come from the usual environment (``AWS_ACCESS_KEY_ID``, instance roles...).
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
from functools import lru_cache
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit

import pyarrow.fs as pafs

from ..errors import ConfigError


def is_url(spec: str | os.PathLike[str]) -> bool:
    s = os.fspath(spec)
    return "://" in s and not s.startswith("file://")


@lru_cache(maxsize=64)
def _resolve(url: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem and root path of a URL (cached: each worker builds a store's client once)."""
    try:
        return pafs.FileSystem.from_uri(url)
    except (ValueError, NotImplementedError, OSError) as exc:    # ArrowInvalid is a ValueError
        arrow_error = exc
    try:
        import fsspec
    except ImportError:
        raise ConfigError(f"{url}: pyarrow cannot open this URL ({arrow_error}); for other stores "
                          f"install fsspec and its backend (pip install fsspec s3fs / gcsfs ...)") from None
    try:
        fs, path = fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise ConfigError(f"{url}: neither pyarrow nor fsspec can open this URL ({exc}); check the "
                          f"scheme, or install the store's fsspec backend (s3fs, gcsfs, adlfs ...)") from None
    return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), path.rstrip("/")


class Location:
    """A path on a filesystem: a local folder or a store URL, plus a relative part joined with ``/``."""

    __slots__ = ("root", "rel", "fs", "path")

    def __init__(self, root: str | os.PathLike[str], rel: str = ""):
        root = os.fspath(root)
        if root.startswith("file://"):
            root = root[len("file://"):]
        if is_url(root):
            fs, base = _resolve(root)
        else:
            root = os.path.abspath(root)
            fs, base = _local(), root
        self.root = root
        self.rel = rel.strip("/")
        self.fs = fs
        self.path = posixpath.join(base, self.rel) if self.rel else base

    def __reduce__(self):
        return (Location, (self.root, self.rel))

    # -- path algebra ---------------------------------------------------------------------------------
    def __truediv__(self, name: str) -> "Location":
        return Location(self.root, posixpath.join(self.rel, name) if self.rel else name)

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)

    @property
    def suffix(self) -> str:
        return posixpath.splitext(self.name)[1]

    @property
    def parent(self) -> "Location":
        if not self.rel:
            raise ValueError(f"{self} is the root of its location")
        return Location(self.root, posixpath.dirname(self.rel))

    def with_name(self, name: str) -> "Location":
        return self.parent / name

    def relative_to(self, other: "str | os.PathLike[str] | Location") -> str:
        other = location(other)
        if self.root != other.root or not (self.rel + "/").startswith(other.rel + "/" if other.rel else ""):
            raise ValueError(f"{self} is not inside {other}")
        return self.rel[len(other.rel):].lstrip("/")

    @property
    def is_local(self) -> bool:
        return isinstance(self.fs, pafs.LocalFileSystem)

    @property
    def url(self) -> str:
        """What reopens this location in another process: the local path, or the URL with its options."""
        if self.is_local:
            return self.path
        p = urlsplit(self.root)
        return urlunsplit((p.scheme, p.netloc, posixpath.join(p.path, self.rel) if self.rel else p.path,
                           p.query, ""))

    def __str__(self) -> str:
        return display_path(self.url)

    def __repr__(self) -> str:
        return f"Location({str(self)!r})"

    def __fspath__(self) -> str:
        if not self.is_local:
            raise TypeError(f"{self} is not a local path")
        return self.path

    def _key(self) -> tuple[str, str]:
        return (self.root, self.rel)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Location) and self._key() == other._key()

    def __lt__(self, other: "Location") -> bool:
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    # -- queries --------------------------------------------------------------------------------------
    def _type(self) -> pafs.FileType:
        return self.info().type

    def exists(self) -> bool:
        return self._type() != pafs.FileType.NotFound

    def is_dir(self) -> bool:
        return self._type() == pafs.FileType.Directory

    def is_file(self) -> bool:
        return self._type() == pafs.FileType.File

    def _children(self, recursive: bool) -> list[pafs.FileInfo]:
        try:
            return self.fs.get_file_info(pafs.FileSelector(self.path, allow_not_found=True,
                                                           recursive=recursive))
        except (NotADirectoryError, FileNotFoundError):
            return []

    def _at(self, info: pafs.FileInfo) -> "Location":
        base = self.path.rstrip("/")
        return self / info.path[len(base):].lstrip("/")

    def iterdir(self) -> Iterator["Location"]:
        """Direct children, sorted by name."""
        return iter(sorted(self._at(i) for i in self._children(False)))

    def glob(self, pattern: str) -> list["Location"]:
        """Direct children whose name matches ``pattern`` (``fnmatch``), sorted."""
        return sorted(self._at(i) for i in self._children(False) if fnmatch.fnmatchcase(i.base_name, pattern))

    def rglob(self, pattern: str) -> list["Location"]:
        """Files at any depth whose name matches ``pattern``, sorted."""
        return [loc for loc, _ in self.walk() if fnmatch.fnmatchcase(loc.name, pattern)]

    def walk(self) -> list[tuple["Location", pafs.FileInfo]]:
        """Every file at any depth with its size and mtime (one listing, no request per file), sorted."""
        return sorted(((self._at(i), i) for i in self._children(True) if i.type == pafs.FileType.File),
                      key=lambda pair: pair[0])

    def info(self) -> pafs.FileInfo:
        return self.fs.get_file_info(self.path)

    # -- reading and writing ------------------------------------------------------------------------
    def read_bytes(self) -> bytes:
        with self.open_stream() as f:
            return f.read()

    def open_stream(self):
        """A sequential pyarrow reader (the bytes as stored: no decompression by file name)."""
        return self.fs.open_input_stream(self.path, compression=None)

    def open_input(self):
        """A random-access pyarrow file (memory-mapped on a local disk)."""
        if self.is_local:
            import pyarrow as pa
            return pa.memory_map(self.path, "r")
        return self.fs.open_input_file(self.path)

    def open_output(self, *, buffer_size: int = 1 << 20):
        """A pyarrow output stream; the file is complete only once closed (see ``layout.atomic_write``)."""
        return self.fs.open_output_stream(self.path, compression=None, buffer_size=buffer_size)

    def mkdir(self) -> None:
        """Create the folder and its parents (on an object store only where the store needs it)."""
        self.fs.create_dir(self.path, recursive=True)

    def move_to(self, target: "Location") -> None:
        """Rename this file to ``target``, replacing it (atomic on a local disk; copy and delete on an
        object store, where ``target`` appears whole or not at all)."""
        self.fs.move(self.path, target.path)

    def unlink(self, *, missing_ok: bool = False) -> None:
        try:
            self.fs.delete_file(self.path)
        except FileNotFoundError:
            if not missing_ok:
                raise

    def clear(self) -> None:
        """Delete everything in the folder, keeping the folder."""
        self.fs.delete_dir_contents(self.path, missing_dir_ok=True)

    def rmtree(self) -> None:
        """Delete the folder and everything in it (nothing if it does not exist)."""
        if self.exists():
            self.fs.delete_dir(self.path)


@lru_cache(maxsize=1)
def _local() -> pafs.LocalFileSystem:
    return pafs.LocalFileSystem()


def location(spec: "str | os.PathLike[str] | Location") -> Location:
    """A :class:`Location` from a local path, a ``file://`` path or a store URL."""
    return spec if isinstance(spec, Location) else Location(spec)


def display_path(spec: str) -> str:
    """An input path as OUT shows it (``source`` column, quarantine rows): a URL loses its options
    (``?endpoint_override=...``), which stay in the manifest so that ``verify`` can reopen the file."""
    return spec.split("?", 1)[0] if is_url(spec) else spec


def open_stream(spec: str):
    """A sequential binary reader of a local path or a store URL (an input file)."""
    return open(spec, "rb") if not is_url(spec) else Location(spec).open_stream()


def open_random(spec: str):
    """A random-access binary reader (Parquet footers) of a local path or a store URL."""
    if not is_url(spec):
        return spec
    return Location(spec).open_input()
