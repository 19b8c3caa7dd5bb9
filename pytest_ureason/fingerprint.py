"""Fingerprints that enter store keys, so nothing stale is ever reused.

* :func:`path_fingerprint`: model weights on disk (names, sizes and modification times of the
  files; cheap even for many gigabytes).
* :func:`source_fingerprint`: the source code of modules whose behaviour decides an output
  (the reference model's renderer and solvers, a detector), so editing them invalidates what
  they produced without anyone bumping a version by hand.
"""

from __future__ import annotations

import hashlib
import importlib.util
from functools import cache
from pathlib import Path

MAX_FILES = 100_000


def path_fingerprint(path: str | Path) -> str:
    """SHA-256 (hex, 16 characters) of the file tree at ``path``.

    Returns:
        The fingerprint, or ``"missing"`` when the path does not exist.
    """
    root = Path(path).expanduser()
    if not root.exists():
        return "missing"
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for file in files[:MAX_FILES]:
        stat = file.stat()
        rel = file.name if file == root else file.relative_to(root).as_posix()
        digest.update(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


@cache
def source_fingerprint(*modules: str) -> str:
    """SHA-256 (hex, 12 characters) of the source files of modules or packages.

    Args:
        modules: dotted module names; a package counts with every ``.py`` file below it.
    """
    digest = hashlib.sha256()
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ModuleNotFoundError(name)
        origin = Path(spec.origin)
        files = sorted(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]
        for file in files:
            digest.update(file.read_bytes())
    return digest.hexdigest()[:12]
