"""Fingerprints that enter store keys, so nothing stale is ever reused.

* :func:`path_fingerprint`: model weights on disk (names, sizes and modification times of the
  files; cheap even for many gigabytes).
* :func:`source_fingerprint`: the source code of modules whose behaviour decides an output
  (the reference model's renderer and solvers, a detector), so editing them invalidates what
  they produced without anyone bumping a version by hand.
* :func:`library_versions`: the versions of the libraries that compute an adapter's outputs
  (``torch``, ``transformers``, ``diffusers``): an upgrade changes sampling, kernels or
  defaults, so it must not reuse what the old version made.
* :func:`text_fingerprint`: a template (a chat template, an instruction) as a short hash.

Adapters put the last two in their ``settings``, which enter the store key.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
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


def library_versions(*names: str) -> dict[str, str]:
    """``{name: version}`` of each library, as the running process loads it.

    The module's ``__version__`` wins (it describes the code actually imported, editable
    installs included); else the installed distribution's metadata; else ``"missing"``.
    """
    versions: dict[str, str] = {}
    for name in names:
        version: object = None
        try:
            version = getattr(importlib.import_module(name), "__version__", None)
        except ImportError:
            pass
        if not version:
            try:
                version = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                version = "missing"
        versions[name] = str(version)
    return versions


def text_fingerprint(text: str | None) -> str:
    """SHA-256 (hex, 16 characters) of a template; ``"none"`` when there is none."""
    if text is None:
        return "none"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
