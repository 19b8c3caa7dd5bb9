"""Writing files: atomically (a temporary file in the same folder, then ``os.replace``) and
with the mode the umask gives a new file. A leaf module (stdlib only): the store, the gate's
baselines, exports and digest caches all write through it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _read_umask() -> int:
    """The process umask, without changing it where Linux reports it; elsewhere it is set and
    restored once, here at import (before the plugin starts any thread)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def new_file_mode() -> int:
    """The mode a plain ``open()`` would give a new file (0644 under umask 022): temporary
    files from :func:`tempfile.mkstemp` are 0600 and get this before they are renamed."""
    return 0o666 & ~_UMASK


def honour_umask(fd: int) -> None:
    """Give an open temporary file the mode of a normally created one."""
    if hasattr(os, "fchmod"):
        os.fchmod(fd, new_file_mode())


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, creating its folder, with the umask's mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        honour_umask(fd)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
