"""Detectors: what turns pixels into evidence. Each family lives in its own module and is
imported only when first used, so importing the plugin stays cheap.

Object detectors (``--detector``):

* ``classical`` (:mod:`.classical`): the rendered-scene domain (badge-marked icons), numpy only.
* ``owlv2`` and ``grounding-dino`` (:mod:`.openvocab`): open-vocabulary detection of real
  generated images through ``transformers``; weights from ``--detector-path`` or the Hugging
  Face cache (never downloaded by us).
* ``auto`` (the default): ``owlv2`` when its weights are found, else ``grounding-dino`` when
  its weights are found, else ``classical``. The choice is printed in the terminal summary and
  recorded in every verdict.

Score thresholds per assertion type are in :data:`THRESHOLDS` (see its comment for why).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_ureason.judge.detect.base import (
    NMS_IOU,
    OBJECT_DETECTORS,
    OCR_BACKENDS,
    OPEN_VOCABULARY,
    THRESHOLDS,
    DetectorUnavailable,
    ObjectDetector,
    ObjectDetectorBackend,
    detector_version,
    thresholds,
)

if TYPE_CHECKING:
    from PIL import Image

    from pytest_ureason.judge.detect.classical import Detection

__all__ = [
    "NMS_IOU",
    "OBJECT_DETECTORS",
    "OCR_BACKENDS",
    "OPEN_VOCABULARY",
    "THRESHOLDS",
    "ClassicalDetector",
    "DetectorUnavailable",
    "ObjectDetector",
    "ObjectDetectorBackend",
    "detector_version",
    "load_detector",
    "resolve_detector",
    "thresholds",
]


class ClassicalDetector:
    """The classical detector behind the backend protocol (labels are ignored: it finds all)."""

    name = "classical"
    open_vocabulary = False

    def __init__(self) -> None:
        self.version = detector_version("classical")

    def detect(self, images: list[Image.Image], labels: list[str]) -> list[list[Detection]]:
        """Every badge-marked object of each image."""
        from pytest_ureason.judge.detect.classical import detect

        return [detect(image) for image in images]


def resolve_detector(name: str, path: str | None = None) -> tuple[str, str]:
    """The concrete detector that ``name`` means here, and why.

    Returns:
        (detector name, a sentence saying how it was chosen).
    """
    if name != "auto":
        return name, f"--detector {name}"
    from pytest_ureason.judge.detect.openvocab import find_weights

    for candidate in OPEN_VOCABULARY:
        found = find_weights(candidate, path)
        if found is not None:
            return candidate, f"auto: {candidate} weights found at {found}"
    where = f" at {path}" if path else " in the Hugging Face cache"
    return "classical", f"auto: no open-vocabulary detector weights{where}"


def load_detector(
    name: str, path: str | None = None, device: str | None = None
) -> ObjectDetectorBackend:
    """Load the object detector ``name`` (``auto`` resolved first).

    Raises:
        ValueError: unknown detector name.
        DetectorUnavailable: its package or weights are missing (the message says where we
            looked and how to fix it).
    """
    name, _ = resolve_detector(name, path)
    if name == "classical":
        return ClassicalDetector()
    if name in OPEN_VOCABULARY:
        from pytest_ureason.judge.detect.openvocab import OpenVocabularyDetector

        return OpenVocabularyDetector(name, path, device)
    raise ValueError(f"unknown object detector {name!r} (known: {', '.join(OBJECT_DETECTORS)})")
