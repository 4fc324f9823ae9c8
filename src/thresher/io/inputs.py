"""Resolve the INPUT arguments (files, folders, globs) into an ordered list of input files.

The order is the corpus order that "first occurrence" means everywhere in thresher: arguments in the
order given, files inside a folder or glob sorted by path. A path that matches nothing is an error.
"""

from __future__ import annotations

import fnmatch
import glob
import os
from pathlib import Path
from typing import Iterable
from urllib.parse import urlsplit, urlunsplit

import pyarrow.fs as pafs

from ..errors import InputError
from .base import InputFile
from .readers import format_of, supported_suffixes
from .storage import Location, is_url


def _stat(path: str) -> InputFile:
    fmt = format_of(path)
    assert fmt is not None
    st = os.stat(path)
    return InputFile(os.path.normpath(path), fmt[0], fmt[1], st.st_size, st.st_mtime_ns)


def _expand_url(arg: str, supported: str, unread: list[str] | None = None) -> list[InputFile]:
    """A store URL: a file, a folder (every supported file under it) or a glob (``fnmatch`` on the path
    under the last folder without wildcards, ``*`` within one folder unless the pattern has ``**``),
    listed once, with no request per file."""
    p = urlsplit(arg)
    try:
        if glob.has_magic(p.path):
            parts = p.path.split("/")
            k = next(i for i, part in enumerate(parts) if glob.has_magic(part))
            base = Location(urlunsplit((p.scheme, p.netloc, "/".join(parts[:k]), p.query, "")))
            pattern = "/".join(parts[k:])
            depth = None if "**" in pattern else pattern.count("/")    # as glob: * stays in one folder

            def match(rel: str) -> bool:
                return (depth is None or rel.count("/") == depth) and fnmatch.fnmatchcase(rel, pattern)
            found = [(loc, i) for loc, i in base.walk()
                     if match(loc.relative_to(base)) and format_of(loc.name)]
            if not found:
                raise InputError(f"input pattern {arg} matches no {supported} files")
        else:
            loc = Location(arg)
            info = loc.info()
            if info.type == pafs.FileType.File:
                if format_of(loc.name) is None:
                    raise InputError(f"input {arg}: unsupported file type; thresher reads {supported}")
                found = [(loc, info)]
            elif info.type == pafs.FileType.Directory:
                found = []
                for f, i in loc.walk():
                    if format_of(f.name):
                        found.append((f, i))
                    elif unread is not None:
                        unread.append(f.url)
                if not found:
                    raise InputError(f"input folder {arg} holds no {supported} files")
            else:
                raise InputError(f"input {arg} does not exist")
    except OSError as exc:
        raise InputError(f"input {arg}: cannot read it: {exc}") from exc
    out = []
    for loc, info in found:
        kind, compression = format_of(loc.name)
        out.append(InputFile(loc.url, kind, compression, info.size, info.mtime_ns or 0))
    return out


def expand_inputs(args: Iterable[str | os.PathLike[str]], *, unread: list[str] | None = None) -> list[InputFile]:
    """Files, folders (searched recursively for supported files) and globs, in corpus order; local
    paths or store URLs (``s3://bucket/corpus/``, see :mod:`thresher.io.storage`). The files a folder
    holds that no reader reads are appended to ``unread``."""
    out: list[InputFile] = []
    seen: set[str] = set()
    supported = ", ".join(supported_suffixes())
    for arg in map(str, args):
        if is_url(arg):
            for f in _expand_url(arg, supported, unread):
                if f.path not in seen:
                    seen.add(f.path)
                    out.append(f)
            continue
        if os.path.isfile(arg):
            if format_of(arg) is None:
                raise InputError(f"input {arg}: unsupported file type; thresher reads {supported}")
            found = [arg]
        elif os.path.isdir(arg):
            found = []
            for p in sorted(str(p) for p in Path(arg).rglob("*") if p.is_file()):
                if format_of(p):
                    found.append(p)
                elif unread is not None:
                    unread.append(p)
            if not found:
                raise InputError(f"input folder {arg} holds no {supported} files")
        elif glob.has_magic(arg):
            found = sorted(p for p in glob.glob(arg, recursive=True) if os.path.isfile(p) and format_of(p))
            if not found:
                raise InputError(f"input pattern {arg} matches no {supported} files")
        else:
            raise InputError(f"input {arg} does not exist")
        for path in found:
            norm = os.path.normpath(path)
            if norm not in seen:
                seen.add(norm)
                out.append(_stat(path))
    if not out:
        raise InputError("no input given")
    return out
