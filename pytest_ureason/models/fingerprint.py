"""Fingerprints that enter store keys, so nothing stale is ever reused.

* :func:`content_fingerprint`: model or detector weights on disk, by *content*: the SHA-256 of
  each weight and config file (:func:`file_digest`) and its path inside the model folder. The
  same weights copied elsewhere keep their fingerprint; weights replaced in place under the
  same name get a new one.
* :func:`file_digest`: the streamed SHA-256 of one file, cached by (resolved path, size,
  modification time in ns) in memory and on disk (:func:`digest_cache_dir`), so hashing a
  multi-gigabyte checkpoint costs once per machine, not once per run or per xdist worker.
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
import os
import re
import tempfile
import threading
from functools import cache
from pathlib import Path

from pytest_ureason.files import honour_umask

MAX_FILES = 100_000
#: Files of a model folder whose content decides what the model does: weights, configs,
#: tokenizers, chat templates and remote code. Others (README, images, logs) are left out.
MODEL_FILE_SUFFIXES = frozenset(
    {
        # weights
        ".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf", ".onnx", ".msgpack", ".h5",
        ".npz", ".npy",
        # configs, tokenizers, templates, code
        ".json", ".model", ".txt", ".bpe", ".tiktoken", ".vocab", ".jinja", ".yaml", ".yml",
        ".py",
    }
)  # fmt: skip
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20
_memo: dict[tuple[str, int, int], str] = {}
_memo_lock = threading.Lock()


def digest_cache_dir() -> Path:
    """Where :func:`file_digest` keeps digests across processes: ``$UREASON_DIGEST_CACHE``,
    else ``$XDG_CACHE_HOME/pytest-ureason/digests`` (``~/.cache`` when unset)."""
    explicit = os.environ.get("UREASON_DIGEST_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pytest-ureason" / "digests"


def _disk_entry(key: tuple[str, int, int]) -> Path:
    name = hashlib.sha256(f"{key[0]}\0{key[1]}\0{key[2]}".encode()).hexdigest()[:40]
    return digest_cache_dir() / name


def _read_disk(key: tuple[str, int, int]) -> str | None:
    try:
        text = _disk_entry(key).read_text(encoding="ascii").strip()
    except (OSError, ValueError):
        return None
    return text if _HEX64.match(text) else None


def _write_disk(key: tuple[str, int, int], digest: str) -> None:
    """Store a digest atomically; a cache that cannot be written is only slower."""
    entry = _disk_entry(key)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-")
        try:
            honour_umask(fd)
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(digest)
            os.replace(tmp, entry)
        except OSError:
            os.unlink(tmp)
            raise
    except OSError:
        pass


def file_digest(path: str | Path) -> str:
    """The SHA-256 (hex, 64 characters) of a file's bytes, read in 1 MiB chunks.

    Cached by (resolved path, size, mtime in ns), in this process and on disk, so a second call
    on an unchanged file reads nothing. Rewriting a file changes its modification time, which
    invalidates the entry; a file rewritten with its old size *and* its old nanosecond mtime
    (deliberately restored) is not noticed.

    Raises:
        OSError: the file cannot be read (missing, a folder, no permission).
    """
    resolved = Path(path).expanduser().resolve()
    stat = resolved.stat()
    key = (str(resolved), stat.st_size, stat.st_mtime_ns)
    with _memo_lock:
        known = _memo.get(key)
    if known is not None:
        return known
    digest = _read_disk(key)
    if digest is None:
        h = hashlib.sha256()
        with resolved.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
        digest = h.hexdigest()
        _write_disk(key, digest)
    with _memo_lock:
        _memo[key] = digest
    return digest


def clear_digest_memo() -> None:
    """Forget the in-process digests (the on-disk cache stays); for tests and benchmarks."""
    with _memo_lock:
        _memo.clear()


def model_files(root: Path) -> list[Path]:
    """The weight and config files of a model folder (:data:`MODEL_FILE_SUFFIXES`), sorted,
    skipping hidden files and folders (``.git``, ``.cache``)."""
    out = []
    for p in root.rglob("*"):
        rel = p.relative_to(root).parts
        if any(part.startswith(".") for part in rel) or p.suffix.lower() not in MODEL_FILE_SUFFIXES:
            continue
        if p.is_file():
            out.append(p)
    return sorted(out, key=lambda p: p.relative_to(root).as_posix())[:MAX_FILES]


def content_fingerprint(path: str | Path) -> str:
    """SHA-256 (hex, 16 characters) of a model's weights by content.

    A folder: every weight and config file (:func:`model_files`) by its path inside the folder
    and its :func:`file_digest`; a single file: its digest. Neither the folder's own name or
    location nor any modification time enters, so a copy of the same weights elsewhere has the
    same fingerprint, and weights replaced in place (same names) get a new one.

    Returns:
        The fingerprint, or ``"missing"`` when the path does not exist.
    """
    root = Path(path).expanduser()
    if not root.exists():
        return "missing"
    if root.is_file():
        return file_digest(root)[:16]
    digest = hashlib.sha256()
    for file in model_files(root):
        rel = file.relative_to(root).as_posix()
        digest.update(f"{rel}\0{file_digest(file)}\n".encode())
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
