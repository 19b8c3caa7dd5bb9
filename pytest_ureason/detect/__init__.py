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
#: Bump a detector's version when its outputs change: cached evidence is keyed by it.
DETECTOR_VERSIONS = {"classical": "classical-1"}


def get_object_detector(name: str = "classical") -> ObjectDetector:
    """The object detector ``name`` (loaded on first use).

    Raises:
        ValueError: unknown detector name.
    """
    if name == "classical":
        from pytest_ureason.detect.scene import detect

        return detect
    raise ValueError(f"unknown object detector {name!r} (known: {', '.join(OBJECT_DETECTORS)})")
