"""The on-disk store of generations: images, reasoning and their metadata.

Every record lives under a content key: the SHA-256 of the fields that determine it (adapter
name, model revision, adapter settings, what was asked, seed). Writes are atomic (a temporary
file in the same folder, then ``os.replace``), so a crash never leaves half a record, and a rerun
reuses every record that exists::

    <root>/images/ab/ab12...ef.png      the image
    <root>/images/ab/ab12...ef.json     its metadata (prompt, context, model, seed, ...)
    <root>/texts/cd/cd34...01.json      reasoning records (text + metadata)
    <root>/evidence/9f/9f31...c2.classical-<src>.json   detector outputs, by image bytes

Detector outputs are cached per image and detector version, so re-judging stored images (a
rerun, a changed assertion) does not run OCR again.

Nothing read back is trusted: a stored image must decode completely and have the size recorded
beside it (and the size the model was asked for, when it was asked for one), and a cached
detector or judge output must have the shape its reader expects. A record that fails is a cache
miss (made again, once) and is counted in :attr:`Store.failed` for the terminal summary.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ureason.files import atomic_write

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger("pytest_ureason")


def read_rgb(path: Path) -> Image.Image:
    """A stored image as RGB, read whole into memory (the file is closed at once)."""
    from PIL import Image

    with Image.open(io.BytesIO(path.read_bytes())) as img:
        return img.convert("RGB")


def image_digest(path: Path) -> str:
    """SHA-256 (hex) of a stored image's bytes, the key of its evidence and judge replies.

    Remembered in this process per (path, size, modification time), so the judging steps of
    one run (prefetch, paper protocols, interleaved reflection) read an image's bytes once;
    a rewritten file is hashed afresh."""
    stat = path.stat()
    return _file_sha256(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=1 << 16)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def content_key(**fields: Any) -> str:
    """SHA-256 hex digest of the fields (JSON with sorted keys)."""
    blob = json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class Store:
    """A content-addressed store of images and texts under ``root``."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        #: Records that failed verification when read back in this process, by kind
        #: (``images``, ``evidence``): their paths (each counted once).
        self.failed: dict[str, set[Path]] = {"images": set(), "evidence": set()}

    def note_failed(self, kind: str, path: Path, problem: str) -> None:
        """Count a record that failed verification (it is made again) and log why."""
        if path not in self.failed[kind]:
            self.failed[kind].add(path)
            log.warning("ureason: %s failed verification (%s); making it again", path, problem)

    def image_path(self, key: str) -> Path:
        """Where the image of ``key`` lives (whether or not it exists)."""
        return self.root / "images" / key[:2] / f"{key}.png"

    def has_image(self, key: str) -> bool:
        """Whether a complete image record exists."""
        path = self.image_path(key)
        return path.exists() and path.with_suffix(".json").exists()

    def put_image(self, key: str, image: Image.Image, meta: dict[str, Any]) -> Path:
        """Write an image and its metadata atomically (metadata first, image last)."""
        path = self.image_path(key)
        meta = {**meta, "image_size": list(image.size)}  # checked when read back
        atomic_write(path.with_suffix(".json"), json.dumps(meta, indent=1, default=str).encode())
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        atomic_write(path, buf.getvalue())
        return path

    def check_image(self, key: str, size: tuple[int, int] | None = None) -> str | None:
        """Why the stored image of ``key`` cannot be used, or None when it can: its metadata
        must be a JSON object, the image must decode completely (a truncated file is bad, never
        padded) and have the size its metadata records and, when given, ``size`` (width,
        height: what the model was asked for)."""
        from PIL import Image

        path = self.image_path(key)
        try:
            meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return f"unreadable metadata {path.with_suffix('.json')}: {exc}"
        if not isinstance(meta, dict):
            return f"metadata {path.with_suffix('.json')} is not a JSON object"
        try:
            with Image.open(path) as img:
                img.load()
                actual = img.size
        except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError, EOFError, ...
            return f"does not decode: {type(exc).__name__}: {exc}"
        recorded = meta.get("image_size")
        if recorded is not None and recorded != list(actual):
            return f"is {actual[0]}x{actual[1]}, its metadata records {recorded}"
        if size is not None and actual != size:
            return f"is {actual[0]}x{actual[1]}, the model was asked for {size[0]}x{size[1]}"
        return None

    def image_meta(self, key: str) -> dict[str, Any]:
        """Metadata of a stored image."""
        data: dict[str, Any] = json.loads(self.image_path(key).with_suffix(".json").read_text())
        return data

    def _text_path(self, key: str) -> Path:
        return self.root / "texts" / key[:2] / f"{key}.json"

    def get_text(self, key: str) -> str | None:
        """The stored text of ``key``, or None."""
        path = self._text_path(key)
        if not path.exists():
            return None
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # unreadable: regenerate rather than fail
        text = record.get("text")
        return text if isinstance(text, str) else None

    def put_text(self, key: str, text: str, meta: dict[str, Any]) -> None:
        """Write a text record atomically."""
        record = {**meta, "text": text}
        payload = json.dumps(record, indent=1, ensure_ascii=False, default=str).encode("utf-8")
        atomic_write(self._text_path(key), payload)


class StoredEvidence:
    """Detector outputs of one image (keyed by the SHA-256 of its bytes), by detector version.

    Implements :class:`pytest_ureason.judge.observation.EvidenceCache`.
    """

    def __init__(self, store: Store, image_key: str):
        self.store = store
        self.image_key = image_key

    def _path(self, version: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in version)
        key = self.image_key
        return self.store.root / "evidence" / key[:2] / f"{key}.{safe}.json"

    def load(self, version: str, valid: Callable[[Any], bool] | None = None) -> Any:
        """The cached output of ``version``, or None: also when the record is unreadable or
        ``valid`` (the reader's schema check) rejects it; such a record counts as failed in
        :attr:`Store.failed` and is rewritten by the next :meth:`save`."""
        path = self._path(version)
        if not path.exists():
            return None
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            self.store.note_failed("evidence", path, f"unreadable: {exc}")
            return None
        if value is not None and valid is not None and not valid(value):
            self.store.note_failed("evidence", path, "not the shape its reader expects")
            return None
        return value

    def save(self, version: str, data: Any) -> None:
        """Cache an output atomically; a failure to cache is not an error."""
        try:
            payload = json.dumps(data, ensure_ascii=False).encode("utf-8")
            atomic_write(self._path(version), payload)
        except OSError:
            pass


def check_store(store: Path) -> None:
    """Fail early, once, when the generation store cannot be written.

    Raises:
        pytest.UsageError: naming the folder and the reason.
    """

    try:
        store.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=store, prefix=".probe-"):
            pass
    except OSError as exc:
        import pytest

        raise pytest.UsageError(f"--store {store} is not writable: {exc}") from None
