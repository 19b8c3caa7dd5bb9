"""OCR backends for ``text`` assertions, loaded lazily and once per process.

* ``rapidocr`` (default): rapidocr 3.x on onnxruntime with the PP-OCR det/rec models that ship
  inside its wheel, so it runs offline. Settings measured best here: no angle classifier,
  detection limited to a 960 px longest side.
* ``tesseract``: Debian's ``tesseract`` binary (package ``tesseract-ocr``) through a subprocess;
  a second opinion, weaker on rendered signs.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from PIL import Image

from pytest_ureason.judge.detect.base import DetectorUnavailable


class OcrUnavailable(DetectorUnavailable):
    """The requested OCR backend is not installed: like any judge that is missing, its items
    are skipped as not judged (never failed), with the one line saying what to install."""


@dataclass(frozen=True)
class OcrLine:
    """One line of recognised text, its box (x0, y0, x1, y1) and confidence."""

    text: str
    box: tuple[int, int, int, int]
    score: float


@dataclass(frozen=True)
class OcrResult:
    """Everything an OCR backend read in one image, in reading order."""

    backend: str
    lines: tuple[OcrLine, ...] = field(default_factory=tuple)

    @property
    def text(self) -> str:
        """All lines joined by single spaces."""
        return " ".join(line.text for line in self.lines)


class OcrBackend(Protocol):
    """Reads text from an image."""

    name: str
    version: str

    def read(self, image: Image.Image) -> OcrResult:
        """Read every text line of ``image``."""
        ...


#: rapidocr settings measured best on rendered signs (see ../shared/ENVIRONMENT.md).
SETTINGS: dict[str, Any] = {
    "Global.use_cls": False,
    "Global.log_level": "error",
    "Det.limit_type": "max",
    "Det.limit_side_len": 960,
}


def _thread_settings() -> dict[str, Any]:
    """Share the CPU cores between xdist workers instead of giving each all of them."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    cores = os.cpu_count() or 1
    if workers <= 1:
        return {}
    return {"EngineConfig.onnxruntime.intra_op_num_threads": max(1, cores // workers)}


class RapidOcrBackend:
    """rapidocr 3.x with its bundled ONNX models."""

    name = "rapidocr"

    def __init__(self) -> None:
        previous = logging.root.manager.disable
        logging.disable(logging.WARNING)  # rapidocr logs every model file it opens
        try:
            from importlib.metadata import version

            from rapidocr import RapidOCR

            self._engine: Any = RapidOCR(params={**SETTINGS, **_thread_settings()})
            self.version = f"rapidocr-{version('rapidocr')}-det960-nocls"
        except ImportError as exc:
            missing = exc.name or "rapidocr"
            raise OcrUnavailable(
                f"OCR backend 'rapidocr' is not installed (no module {missing!r}): "
                "pip install 'pytest-ureason[ocr]'"
            ) from None
        finally:
            logging.disable(previous)
        # "The text detection result is empty" is a warning per image without text: not news.
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        self._lock = threading.Lock()

    def read(self, image: Image.Image) -> OcrResult:
        """Read every text line of ``image``."""
        import numpy as np

        with self._lock:
            out = self._engine(np.asarray(image.convert("RGB")))
        if out.txts is None:
            return OcrResult(self.name)
        lines = []
        for text, box, score in zip(out.txts, out.boxes, out.scores, strict=True):
            if not any(ch.isalnum() for ch in str(text)):
                continue  # icon badges sometimes read as a lone symbol
            xs, ys = [int(p[0]) for p in box], [int(p[1]) for p in box]
            lines.append(OcrLine(str(text), (min(xs), min(ys), max(xs), max(ys)), float(score)))
        lines.sort(key=lambda ln: (ln.box[1] // 16, ln.box[0]))
        return OcrResult(self.name, tuple(lines))


class TesseractBackend:
    """Debian's tesseract command-line program."""

    name = "tesseract"

    def __init__(self) -> None:
        exe = shutil.which("tesseract")
        if exe is None:
            raise OcrUnavailable(
                "OCR backend 'tesseract' needs the tesseract binary: apt-get install tesseract-ocr"
            )
        self._exe = exe
        probe = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
        first = (probe.stdout or probe.stderr).strip().splitlines()
        self.version = (first[0] if first else "tesseract").replace(" ", "-") + "-psm3"

    def read(self, image: Image.Image) -> OcrResult:
        """Read every text line of ``image`` (tesseract's TSV output, grouped by line)."""
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "in.png"
            image.convert("RGB").save(path)
            proc = subprocess.run(
                [self._exe, str(path), "stdout", "--psm", "3", "tsv"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        if proc.returncode != 0:
            raise RuntimeError(f"tesseract failed: {proc.stderr.strip()[:200]}")
        words: dict[tuple[str, str, str], list[tuple[str, tuple[int, int, int, int], float]]] = {}
        for row in proc.stdout.splitlines()[1:]:
            cols = row.split("\t")
            if len(cols) != 12 or not cols[11].strip() or float(cols[10]) < 0:
                continue
            x, y, w, h = (int(c) for c in cols[6:10])
            key = (cols[2], cols[3], cols[4])
            words.setdefault(key, []).append(
                (cols[11].strip(), (x, y, x + w, y + h), float(cols[10]) / 100)
            )
        lines = []
        for group in words.values():
            boxes = [b for _, b, _ in group]
            box = (
                min(b[0] for b in boxes),
                min(b[1] for b in boxes),
                max(b[2] for b in boxes),
                max(b[3] for b in boxes),
            )
            score = sum(s for _, _, s in group) / len(group)
            lines.append(OcrLine(" ".join(t for t, _, _ in group), box, score))
        lines.sort(key=lambda ln: (ln.box[1] // 16, ln.box[0]))
        return OcrResult(self.name, tuple(lines))


_BACKENDS: dict[str, Callable[[], OcrBackend]] = {
    "rapidocr": RapidOcrBackend,
    "tesseract": TesseractBackend,
}
_LOCK = threading.Lock()


@cache
def _load(name: str) -> OcrBackend:
    return _BACKENDS[name]()


def get_ocr(name: str = "rapidocr") -> OcrBackend:
    """The OCR backend ``name``, loaded on first use and kept for the process.

    Raises:
        OcrUnavailable: unknown backend, or its package/binary is missing.
    """
    if name not in _BACKENDS:
        raise OcrUnavailable(f"unknown OCR backend {name!r} (known: {', '.join(_BACKENDS)})")
    with _LOCK:
        return _load(name)
