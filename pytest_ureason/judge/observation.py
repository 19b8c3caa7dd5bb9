"""An image under judgement, with the detector outputs its assertions share.

Detector outputs are computed on first use, once per image, and kept in an optional
:class:`EvidenceCache` (the store provides one) keyed by detector version (for the VQA judge:
its name and revision; for open-vocabulary detectors: the label asked for), so re-judging a
stored image does not run the detectors again. Every cached output is checked against the
shape its reader expects (:func:`valid_rows`, :func:`valid_ocr`, ...) before use; one that does
not match is a cache miss, computed again and rewritten.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from pytest_ureason.judge.judges import JudgeConfig, Judges, shared
from pytest_ureason.judge.yesno import YesNoJudge, model_identity, render
from pytest_ureason.scene import vocabulary

if TYPE_CHECKING:
    from PIL import Image

    from pytest_ureason.judge.detect.classical import Detection
    from pytest_ureason.judge.detect.ocr import OcrResult


class EvidenceCache(Protocol):
    """Where an observation keeps detector outputs between runs (the store provides one)."""

    def load(self, version: str, valid: Callable[[Any], bool] | None = None) -> Any:
        """A cached output or None (also when ``valid`` rejects what is cached)."""
        ...

    def save(self, version: str, data: Any) -> None:
        """Cache an output."""
        ...


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:20]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _box(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 4 and all(_number(v) for v in value)


def valid_rows(value: Any) -> bool:
    """A cached detector output: ``[[label, [x0, y0, x1, y1], score, color, delta_e], ...]``."""
    return isinstance(value, list) and all(
        isinstance(r, list)
        and len(r) == 5
        and isinstance(r[0], str)
        and _box(r[1])
        and _number(r[2])
        and isinstance(r[3], str)
        and _number(r[4])
        for r in value
    )


def valid_ocr(value: Any) -> bool:
    """A cached OCR output: ``[[text, [x0, y0, x1, y1], score], ...]``."""
    return isinstance(value, list) and all(
        isinstance(r, list)
        and len(r) == 3
        and isinstance(r[0], str)
        and _box(r[1])
        and _number(r[2])
        for r in value
    )


def valid_text(value: Any) -> bool:
    """A cached ``vqa`` judge answer: a string."""
    return isinstance(value, str)


def valid_answer(value: Any) -> bool:
    """A cached yes/no judge answer: ``{"text": answer}``."""
    return isinstance(value, dict) and isinstance(value.get("text"), str)


def _encode(dets: list[Detection]) -> list[list[Any]]:
    return [[d.label, list(d.box), d.score, d.color, d.color_delta_e] for d in dets]


def _decode(rows: list[Any]) -> list[Detection]:
    from pytest_ureason.judge.detect.classical import Detection

    return [Detection(r[0], tuple(r[1]), *r[2:]) for r in rows]


class Observation:
    """An image under judgement; detector outputs are computed once, on first use, and kept in
    ``cache`` (keyed by detector version) when one is given.

    Args:
        image: the image.
        detector: object detector name (ignored when ``judges`` is given).
        ocr: OCR backend name (ignored when ``judges`` is given).
        cache: where detector outputs persist between runs.
        judges: the run's judges (detector, OCR, CLIP, VQA judge); by default the shared
            judges of ``detector`` and ``ocr``.
    """

    def __init__(
        self,
        image: Image.Image,
        *,
        detector: str = "classical",
        ocr: str = "rapidocr",
        cache: EvidenceCache | None = None,
        judges: Judges | None = None,
    ):
        self.image = image
        self.judges = judges if judges is not None else shared(JudgeConfig(detector, ocr=ocr))
        self.detector_name = self.judges.detector_name
        self.ocr_name = self.judges.config.ocr
        self.cache = cache
        self._detections: list[Detection] | None = None
        self._by_label: dict[str, list[Detection]] = {}
        self._ocr: OcrResult | None = None
        self._memo: dict[str, Any] = {}
        #: The yes/no judge of ``judge`` assertions (see :meth:`yesno`).
        self.yesno_judge: YesNoJudge | None = None

    def _cached(self, key: str, compute: Any, valid: Callable[[Any], bool]) -> Any:
        """``compute()`` once per image and key, through the evidence cache (a cached value
        that ``valid`` rejects is computed again and rewritten)."""
        if key in self._memo:
            return self._memo[key]
        value = self.cache.load(key, valid) if self.cache is not None else None
        if value is None:
            value = compute()
            if self.cache is not None:
                self.cache.save(key, value)
        self._memo[key] = value
        return value

    @property
    def detections(self) -> list[Detection]:
        """Every object the detector found (an open-vocabulary detector is asked for every
        object of the vocabulary)."""
        if self._detections is None:
            backend = self.judges.detector()
            if backend.open_vocabulary:
                names = [o.name for o in vocabulary.objects()]
                self.prefetch(names)
                self._detections = sorted(
                    (d for n in names for d in self._by_label[n]),
                    key=lambda d: (d.box[1], d.box[0]),
                )
            else:
                rows = self._cached(
                    backend.version,
                    lambda: _encode(backend.detect([self.image], [])[0]),
                    valid_rows,
                )
                self._detections = _decode(rows)
        return self._detections

    def prefetch(self, labels: list[str]) -> None:
        """Run an open-vocabulary detector once for every label not yet looked for."""
        backend = self.judges.detector()
        if not backend.open_vocabulary:
            return
        todo = []
        for label in dict.fromkeys(labels):
            if label in self._by_label:
                continue
            key = f"{backend.version}.{label}"
            cached = self.cache.load(key, valid_rows) if self.cache else None
            if cached is not None:
                self._by_label[label] = _decode(cached)
            else:
                todo.append(label)
        if not todo:
            return
        found = backend.detect([self.image], todo)[0]
        for label in todo:
            dets = [d for d in found if d.label == label]
            self._by_label[label] = dets
            if self.cache is not None:
                self.cache.save(f"{backend.version}.{label}", _encode(dets))

    def objects(self, name: str, purpose: str = "present") -> list[Detection]:
        """Detections of one object class scoring at least the threshold of ``purpose``
        (the assertion type: ``present``, ``count``, ``color``, ``relation``)."""
        backend = self.judges.detector()
        if backend.open_vocabulary:
            self.prefetch([name])
            found = self._by_label[name]
        else:
            found = [d for d in self.detections if d.label == name]
        floor = self.judges.threshold(purpose)
        return [d for d in found if d.score >= floor]

    @property
    def ocr(self) -> OcrResult:
        """Every text line the OCR backend read."""
        if self._ocr is None:
            from pytest_ureason.judge.detect.ocr import OcrLine, OcrResult, get_ocr

            backend = get_ocr(self.ocr_name)
            rows = self._cached(
                backend.version,
                lambda: [
                    [ln.text, list(ln.box), ln.score] for ln in backend.read(self.image).lines
                ],
                valid_ocr,
            )
            lines = tuple(OcrLine(t, tuple(b), s) for t, b, s in rows)
            self._ocr = OcrResult(backend.name, lines)
        return self._ocr

    def clip_scores(self, texts: list[str]) -> dict[str, float]:
        """CLIP cosine similarity of the image with each text."""
        scorer = self.judges.clip()
        keys = {t: f"{scorer.version}.t{_digest(t)}" for t in texts}
        todo = [t for t in texts if keys[t] not in self._memo and self._score(keys[t]) is None]
        if todo:
            sims = scorer.score([self.image], todo)[0]
            for t, s in zip(todo, sims, strict=True):
                self._memo[keys[t]] = float(s)
                if self.cache is not None:
                    self.cache.save(keys[t], float(s))
        return {t: float(self._memo[keys[t]]) for t in texts}

    def _score(self, key: str) -> Any:
        value = self.cache.load(key, _number) if self.cache is not None else None
        if value is not None:
            self._memo[key] = value
        return value

    def vqa(self, question: str) -> tuple[str, str]:
        """(the judge's full answer to ``question`` about the image, the judge's identity
        ``name@revision``). The cache key (:func:`vqa_key`) holds the judge's name, revision,
        settings, weights path and options; a batched prefetch may have filled it already."""
        model = self.judges.vqa()
        identity = f"{model.name}@{getattr(model, 'revision', '?')}"
        key = vqa_key(model, self.judges.config, question)

        def ask() -> str:
            answers = model.answer([self.image], [question], [0])
            if not isinstance(answers, list) or len(answers) != 1:
                raise TypeError(f"judge {model.name!r}: answer() must return a list of 1 str")
            return str(answers[0])

        return str(self._cached(key, ask, valid_text)), identity

    def yesno(self, target: str) -> tuple[str, YesNoJudge]:
        """(the yes/no judge's full answer on whether the image shows ``target``, the judge).

        The judge is ``yesno_judge`` (the runner sets it: ``--judge``, else the model under
        test as stand-in), else ``--judge``. Answers are cached by judge identity, template
        hash and prompt (a batched prefetch may have filled the cache already).

        Raises:
            DetectorUnavailable: no judge at all.
            JudgeFailed: the judge's ``answer`` raised; the message names the judge.
        """
        judge = self.yesno_judge or self.judges.yesno()
        prompt = render("image", target)

        def ask() -> dict[str, str]:
            return {"text": judge.ask([self.image], [prompt])[0]}

        record = self._cached(judge.key("image", prompt), ask, valid_answer)
        return str(record["text"]), judge


def vqa_key(model: Any, config: JudgeConfig, question: str) -> str:
    """The evidence-cache key of a ``vqa`` judge's answer to ``question``: the judge's name,
    revision, settings, weights path and options, and the question."""
    import json

    full = json.dumps(
        model_identity(model, config.judge_path, dict(config.judge_args)),
        sort_keys=True,
        default=str,
    )
    return f"vqa-{model.name}-{_digest(full, question)}"
