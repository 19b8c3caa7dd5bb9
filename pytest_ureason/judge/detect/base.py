"""What every detector module shares (no third-party import): the detector names, the score
thresholds, :class:`DetectorUnavailable`, the backend protocol and :func:`detector_version`.
The detector modules (``openvocab``, ``ocr``, ``clip``) import it; the package's ``__init__``
re-exports it and loads the detector modules lazily, so none imports the package above it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from pytest_ureason.models.fingerprint import source_fingerprint

if TYPE_CHECKING:
    from PIL import Image

    from pytest_ureason.judge.detect.classical import Detection

ObjectDetector = Callable[["Image.Image"], "list[Detection]"]

#: Names accepted by ``--detector``.
OBJECT_DETECTORS = ("auto", "classical", "owlv2", "grounding-dino")
OPEN_VOCABULARY = ("owlv2", "grounding-dino")
OCR_BACKENDS = ("rapidocr", "tesseract")
#: The modules whose source decides each detector's output.
_DETECTOR_SOURCES = {
    "classical": (
        "pytest_ureason.judge.detect.classical",
        "pytest_ureason.judge.detect.color",
        "pytest_ureason.scene.render",
        "pytest_ureason.scene.vocabulary",
    ),
    "owlv2": ("pytest_ureason.judge.detect.openvocab", "pytest_ureason.judge.detect.color"),
    "grounding-dino": (
        "pytest_ureason.judge.detect.openvocab",
        "pytest_ureason.judge.detect.color",
    ),
}

#: Minimum detection score per assertion type and detector. An assertion only sees detections
#: at or above its threshold. Presence needs recall (a low threshold); counting needs precision,
#: since one spurious duplicate flips ``== n`` (a high threshold). GenEval uses 0.3 (presence)
#: and 0.9 (counting) on Mask2Former's class probabilities; OWLv2's sigmoid scores run lower
#: (its authors and transformers' examples use 0.1-0.2 for true objects), and Grounding DINO's
#: reference box threshold is 0.35. ``absent`` uses the presence threshold, so ``present`` and
#: ``absent`` always disagree. Override with ``--detector-threshold TYPE=VALUE``.
THRESHOLDS: dict[str, dict[str, float]] = {
    "classical": {"present": 0.5, "count": 0.5, "color": 0.5, "relation": 0.5},
    "owlv2": {"present": 0.2, "count": 0.3, "color": 0.2, "relation": 0.2},
    "grounding-dino": {"present": 0.35, "count": 0.45, "color": 0.35, "relation": 0.35},
}
#: Boxes of one label overlapping more than this (IoU) are one object (non-maximum suppression).
NMS_IOU = 0.5


class DetectorUnavailable(RuntimeError):
    """A detector or judge is not installed or has no weights; items needing it are skipped."""


class ObjectDetectorBackend(Protocol):
    """A loaded object detector.

    Attributes:
        name: registry name (``classical``, ``owlv2``, ...).
        version: name plus a fingerprint of code and weights; cached outputs are keyed by it.
        open_vocabulary: whether it must be told which labels to look for.
    """

    name: str
    version: str
    open_vocabulary: bool

    def detect(self, images: list[Image.Image], labels: list[str]) -> list[list[Detection]]:
        """Detections per image; an open-vocabulary detector looks for ``labels`` only."""
        ...


def detector_version(name: str) -> str:
    """Name plus a fingerprint of the detector's source: cached outputs are keyed by it."""
    return f"{name}-{source_fingerprint(*_DETECTOR_SOURCES.get(name, ()))}"


def thresholds(name: str, overrides: dict[str, float] | None = None) -> dict[str, float]:
    """The score thresholds of detector ``name`` with ``overrides`` applied."""
    return {**THRESHOLDS.get(name, THRESHOLDS["classical"]), **(overrides or {})}
