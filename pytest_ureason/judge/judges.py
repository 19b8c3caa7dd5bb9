"""The judges of one worker: object detector, OCR, CLIP and the VQA judge model.

A :class:`Judges` is built from a :class:`JudgeConfig` (the run's options) and loads each judge
on first use, once per process (:func:`shared` keeps one per configuration; a judge model is
kept once per name, weights and options, so configurations that differ only in their detector
share it), on the worker's device. A judge that cannot be loaded raises
:class:`~pytest_ureason.judge.detect.DetectorUnavailable` every time it is asked for, with the same
message; the runner skips the items that need it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from pytest_ureason.judge.detect import (
    DetectorUnavailable,
    ObjectDetectorBackend,
    load_detector,
    resolve_detector,
    thresholds,
)
from pytest_ureason.judge.yesno import YesNoJudge
from pytest_ureason.models.base import ModelLoadError, UnifiedModel, load_model

if TYPE_CHECKING:
    from pytest_ureason.judge.detect.clip import ClipScorer


@dataclass(frozen=True)
class JudgeConfig:
    """Which judges a run uses (hashable: one :class:`Judges` per distinct configuration)."""

    detector: str = "classical"
    detector_path: str | None = None
    device: str | None = None
    threshold_overrides: tuple[tuple[str, float], ...] = ()
    ocr: str = "rapidocr"
    clip_model: str = "ViT-B-16"
    clip_weights: str | None = None
    judge: str | None = None
    judge_path: str | None = None
    judge_args: tuple[tuple[str, str], ...] = ()
    text_judge: str | None = None
    text_judge_path: str | None = None
    text_judge_args: tuple[tuple[str, str], ...] = ()
    #: The papers' protocols (``NAME=PATH``, PATH absolute) judging images and reasoning
    #: beside ours (:mod:`pytest_ureason.judge.paper_protocols`).
    judge_protocols: tuple[str, ...] = ()
    text_judge_protocols: tuple[str, ...] = ()


@dataclass
class _Slot:
    value: Any = None
    error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, load: Any) -> Any:
        """The loaded value, loading it on first use; a load that raised
        :class:`DetectorUnavailable` raises it again, with the same message, every time."""
        with self.lock:
            if self.value is None and self.error is None:
                try:
                    self.value = load()
                except DetectorUnavailable as exc:
                    self.error = str(exc)
            if self.error is not None:
                raise DetectorUnavailable(self.error)
            return self.value


class Judges:
    """Lazily loaded judges of one configuration."""

    def __init__(self, config: JudgeConfig):
        self.config = config
        self.detector_name, self.detector_reason = resolve_detector(
            config.detector, config.detector_path
        )
        self._thresholds = thresholds(self.detector_name, dict(config.threshold_overrides))
        self._slots: dict[str, _Slot] = {
            "detector": _Slot(),
            "clip": _Slot(),
        }

    def _get(self, key: str, load: Any) -> Any:
        return self._slots[key].get(load)

    def threshold(self, purpose: str) -> float:
        """The minimum detection score for an assertion type (``present``, ``count``...)."""
        return self._thresholds.get(purpose, self._thresholds["present"])

    def detector(self) -> ObjectDetectorBackend:
        """The object detector (loaded on first use).

        Raises:
            DetectorUnavailable: its package or weights are missing.
        """
        cfg = self.config

        def load() -> ObjectDetectorBackend:
            if self.detector_name == "classical":
                return load_detector("classical")
            from pytest_ureason.judge.detect.openvocab import OpenVocabularyDetector

            floor = min(self._thresholds.values())
            return OpenVocabularyDetector(
                self.detector_name, cfg.detector_path, cfg.device, floor=floor
            )

        backend: ObjectDetectorBackend = self._get("detector", load)
        return backend

    def clip(self) -> ClipScorer:
        """The CLIP scorer (loaded on first use).

        Raises:
            DetectorUnavailable: open_clip missing, or no ``--clip-weights``.
        """
        from pytest_ureason.judge.detect.clip import ClipScorer

        cfg = self.config
        scorer: ClipScorer = self._get(
            "clip", lambda: ClipScorer(cfg.clip_model, cfg.clip_weights, cfg.device)
        )
        return scorer

    def vqa(self) -> UnifiedModel:
        """The VQA judge model (``--judge``), loaded on first use through the adapter registry.

        Raises:
            DetectorUnavailable: no ``--judge`` given, or the adapter failed to load.
        """
        cfg = self.config
        if cfg.judge is None:
            raise DetectorUnavailable(
                "vqa assertions need a judge model: pass --judge NAME (e.g. --judge reference)"
            )
        return _judge_model("--judge", cfg.judge, cfg.judge_path, cfg.judge_args)

    def yesno(self) -> YesNoJudge:
        """``--judge`` as a yes/no judge (see :mod:`pytest_ureason.judge.yesno`).

        Raises:
            DetectorUnavailable: no ``--judge`` given, or the adapter failed to load.
        """
        cfg = self.config
        return YesNoJudge.of(self.vqa(), cfg.judge_path, dict(cfg.judge_args))

    def text_judge(self) -> YesNoJudge | None:
        """``--text-judge`` as a yes/no judge of reasoning text, None when not given.

        Raises:
            DetectorUnavailable: the adapter failed to load.
        """
        cfg = self.config
        if cfg.text_judge is None:
            return None

        args = cfg.text_judge_args
        model = _judge_model("--text-judge", cfg.text_judge, cfg.text_judge_path, args)
        return YesNoJudge.of(model, cfg.text_judge_path, dict(args))

    def model(
        self, flag: str, name: str, path: str | None, args: tuple[tuple[str, str], ...]
    ) -> UnifiedModel:
        """A judge model of these options (loaded once per process; a paper protocol's
        stage asks for its judge with the stage's token limit and temperature set).

        Raises:
            DetectorUnavailable: the adapter failed to load.
        """
        return _judge_model(flag, name, path, args)


@cache
def _model_slot(name: str, path: str | None, args: tuple[tuple[str, str], ...]) -> _Slot:
    """One slot per judge model (name, weights, options) in this process, whatever else the
    judge configurations differ in (a suite's own detector): a judge is loaded once."""
    return _Slot()


def _judge_model(
    flag: str, name: str, path: str | None, args: tuple[tuple[str, str], ...]
) -> UnifiedModel:
    """The judge model ``name`` (loaded on first use, shared by every configuration naming
    it with the same weights and options).

    Raises:
        DetectorUnavailable: the adapter failed to load (every time, with the same message).
    """

    def load() -> UnifiedModel:
        try:
            return load_model(name, path, dict(args))
        except ModelLoadError as exc:
            raise DetectorUnavailable(str(exc)) from None

    try:
        model: UnifiedModel = _model_slot(name, path, args).get(load)
    except DetectorUnavailable as exc:
        raise DetectorUnavailable(f"{flag} {name}: {exc}") from None
    return model


@cache
def shared(config: JudgeConfig) -> Judges:
    """The one :class:`Judges` of ``config`` in this process."""
    return Judges(config)
