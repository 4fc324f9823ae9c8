"""Resolve the INPUT arguments (files, folders, globs) into an ordered list of input files.

The order is the corpus order that "first occurrence" means everywhere in thresher: arguments in the
order given, files inside a folder or glob sorted by path. A path that matches nothing is an error.
"""

from __future__ import annotations

import errno
import fnmatch
import glob
import os
from typing import Iterable, Iterator
from urllib.parse import urlsplit, urlunsplit

import pyarrow.fs as pafs

from ..errors import InputError
from .base import InputFile
from .readers import format_of, supported_suffixes
from .storage import Location, is_url


def _stat(path: str) -> InputFile:
    """A local input file, or an ``unreadable`` one that becomes a quarantine row naming why."""
    norm = os.path.normpath(path)
    problem = _problem(path)
    if problem is not None:
        return InputFile(norm, "unreadable", None, 0, 0, problem)
    fmt = format_of(path)
    assert fmt is not None
    st = os.stat(path)
    return InputFile(norm, fmt[0], fmt[1], st.st_size, st.st_mtime_ns)


def _problem(path: str) -> str | None:
    """Why the file at ``path`` cannot be read, or None. Opening it is the only check that holds for
    every cause (permissions, ACLs, a dangling or looping link, a file removed since listing)."""
    try:
        with open(path, "rb"):
            return None
    except OSError as exc:
        if os.path.islink(path) and not os.path.exists(path):
            target = os.readlink(path)
            return (f"symbolic link loop ({target})" if exc.errno == errno.ELOOP
                    else f"dangling symbolic link to {target}")
        return f"cannot read it: {exc.strerror or exc}"


def _walk(folder: str, skip: set[tuple[int, int]]) -> Iterator[tuple[str, str | None]]:
    """``(path, problem)`` of every entry under ``folder`` that is not a folder, following symbolic
    links to folders; each real folder is walked once (so a link loop ends) and the folders in
    ``skip`` (OUT) not at all. A folder that cannot be listed is yielded with its problem."""
    seen = set(skip)
    stack = [folder]
    while stack:
        d = stack.pop()
        try:
            st = os.stat(d)
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            with os.scandir(d) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield d, f"cannot list the folder: {exc.strerror or exc}"
            continue
        subdirs = []
        for e in entries:
            try:
                is_dir = e.is_dir()           # follows a link
            except OSError:
                is_dir = False
            if is_dir:
                subdirs.append(e.path)
            else:
                yield e.path, None
        stack.extend(reversed(subdirs))      # depth first, in name order


def _folder_keys(paths: Iterable[str]) -> set[tuple[int, int]]:
    keys = set()
    for p in paths:
        try:
            st = os.stat(p)
            keys.add((st.st_dev, st.st_ino))
        except OSError:
            pass
    return keys


def _inside(path: str, folders: list[str]) -> bool:
    real = os.path.realpath(path)
    return any(real == f or real.startswith(f + os.sep) for f in folders)


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


def expand_inputs(args: Iterable[str | os.PathLike[str]], *, unread: list[str] | None = None,
                  exclude: Iterable[str | os.PathLike[str]] = ()) -> list[InputFile]:
    """Files, folders (searched recursively for supported files, through symbolic links) and globs,
    in corpus order; local paths or store URLs (``s3://bucket/corpus/``, see
    :mod:`thresher.io.storage`). The files a folder holds that no reader reads are appended to
    ``unread``. Nothing under the local folders ``exclude`` (OUT) is read from a folder or glob; an
    input named inside one is an error. A file that cannot be opened (or a folder that cannot be
    listed) is kept as kind ``unreadable``: a quarantine row, not a silent skip."""
    excluded = [os.path.realpath(e) for e in map(os.fspath, exclude) if not is_url(e)]
    skip = _folder_keys(excluded)
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
        listed: list[InputFile] = []
        if os.path.isdir(arg):
            if _inside(arg, excluded):
                raise InputError(f"input folder {arg} is inside the output folder; give the input "
                                 f"folder, or write OUT elsewhere")
            for p, problem in sorted(_walk(arg, skip)):
                if problem is not None:
                    listed.append(InputFile(os.path.normpath(p), "unreadable", None, 0, 0, problem))
                elif format_of(p):
                    listed.append(_stat(p))
                elif unread is not None:
                    unread.append(p)
            if not listed:
                raise InputError(f"input folder {arg} holds no {supported} files")
        elif os.path.lexists(arg) and not glob.has_magic(arg):
            if format_of(arg) is None:
                raise InputError(f"input {arg}: unsupported file type; thresher reads {supported}")
            if _inside(arg, excluded):
                raise InputError(f"input {arg} is inside the output folder; move it or write OUT elsewhere")
            listed = [_stat(arg)]
        elif glob.has_magic(arg):
            listed = [_stat(p) for p in sorted(glob.glob(arg, recursive=True))
                      if not os.path.isdir(p) and format_of(p) and not _inside(p, excluded)]
            if not listed:
                raise InputError(f"input pattern {arg} matches no {supported} files")
        else:
            raise InputError(f"input {arg} does not exist")
        for f in listed:
            if f.path not in seen:
                seen.add(f.path)
                out.append(f)
    if not out:
        raise InputError("no input given")
    return out
