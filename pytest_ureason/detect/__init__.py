"""Detectors: what turns pixels into evidence. Each family lives in its own module and is
imported only when first used, so importing the plugin stays cheap."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

    from pytest_ureason.detect.scene import Detection

ObjectDetector = Callable[["Image.Image"], "list[Detection]"]

OBJECT_DETECTORS = ("classical",)
OCR_BACKENDS = ("rapidocr", "tesseract")
#: The modules whose source decides each detector's output.
_DETECTOR_SOURCES = {
    "classical": (
        "pytest_ureason.detect.scene",
        "pytest_ureason.detect.color",
        "pytest_ureason.render",
        "pytest_ureason.vocabulary",
    ),
}


def detector_version(name: str) -> str:
    """Name plus a fingerprint of the detector's source: cached outputs are keyed by it."""
    from pytest_ureason.fingerprint import source_fingerprint

    return f"{name}-{source_fingerprint(*_DETECTOR_SOURCES.get(name, ()))}"


def get_object_detector(name: str = "classical") -> ObjectDetector:
    """The object detector ``name`` (loaded on first use).

    Raises:
        ValueError: unknown detector name.
    """
    if name == "classical":
        from pytest_ureason.detect.scene import detect

        return detect
    raise ValueError(f"unknown object detector {name!r} (known: {', '.join(OBJECT_DETECTORS)})")
