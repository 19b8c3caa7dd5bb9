"""An image under judgement, with the detector outputs its assertions share.

Detector outputs are computed on first use, once per image, and kept in an optional
:class:`EvidenceCache` (the store provides one) keyed by detector version, so re-judging a
stored image does not run the detectors again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from PIL import Image

    from pytest_ureason.detect.ocr import OcrResult
    from pytest_ureason.detect.scene import Detection


class EvidenceCache(Protocol):
    """Where an observation keeps detector outputs between runs (the store provides one)."""

    def load(self, version: str) -> Any:
        """A cached output or None."""
        ...

    def save(self, version: str, data: Any) -> None:
        """Cache an output."""
        ...


class Observation:
    """An image under judgement; detector outputs are computed once, on first use, and kept in
    ``cache`` (keyed by detector version) when one is given."""

    def __init__(
        self,
        image: Image.Image,
        *,
        detector: str = "classical",
        ocr: str = "rapidocr",
        cache: EvidenceCache | None = None,
    ):
        self.image = image
        self.detector_name = detector
        self.ocr_name = ocr
        self.cache = cache
        self._detections: list[Detection] | None = None
        self._ocr: OcrResult | None = None

    @property
    def detections(self) -> list[Detection]:
        """Every object the detector found."""
        if self._detections is None:
            from pytest_ureason.detect import detector_version, get_object_detector
            from pytest_ureason.detect.scene import Detection

            version = detector_version(self.detector_name)
            cached = self.cache.load(version) if self.cache is not None else None
            if isinstance(cached, list):
                self._detections = [Detection(d[0], tuple(d[1]), *d[2:]) for d in cached]
            else:
                self._detections = get_object_detector(self.detector_name)(self.image)
                if self.cache is not None:
                    self.cache.save(
                        version,
                        [
                            [d.label, list(d.box), d.score, d.color, d.color_delta_e]
                            for d in self._detections
                        ],
                    )
        return self._detections

    @property
    def ocr(self) -> OcrResult:
        """Every text line the OCR backend read."""
        if self._ocr is None:
            from pytest_ureason.detect.ocr import OcrLine, OcrResult, get_ocr

            backend = get_ocr(self.ocr_name)
            cached = self.cache.load(backend.version) if self.cache is not None else None
            if isinstance(cached, list):
                lines = tuple(OcrLine(t, tuple(b), s) for t, b, s in cached)  # type: ignore[arg-type]
                self._ocr = OcrResult(backend.name, lines)
            else:
                self._ocr = backend.read(self.image)
                if self.cache is not None:
                    self.cache.save(
                        backend.version,
                        [[ln.text, list(ln.box), ln.score] for ln in self._ocr.lines],
                    )
        return self._ocr

    def objects(self, name: str) -> list[Detection]:
        """Detections of one object class."""
        return [d for d in self.detections if d.label == name]
