"""Drive a model over groups of cases: reasoning once per instance, batched generation, store.

The harness lives once per worker process. When the first item of a group runs, the runner
(:func:`pytest_ureason.run.runner.prepare_group`) takes the group through the condition steps;
the harness's step is the images: the reasoning each instance needs (one ``reason`` call per
batch, shared by ``reasoning`` and ``decontext``), then every missing image (one ``generate``
call per batch), each written to the store as soon as its batch returns. The other steps
(:mod:`.understand`'s answers, :mod:`.interleaved`'s refinements) build on its public parts:
:attr:`Harness.identity`, :meth:`Harness.image_key`, :meth:`Harness.generate_batch`,
:func:`check_outputs` and :func:`record_failure`; the harness never calls them. Items then
only read their outcome. A model error or an out-of-memory in one batch halves the batch, so
only the inputs that fail alone fail (see :func:`pytest_ureason.models.batching.run_batched`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

from pytest_ureason.collect.schema import Case, Instance
from pytest_ureason.conditions import (
    SHARES_REASONING,
    GenerationRequest,
    generation_request,
    refined_by,
)
from pytest_ureason.models.base import MODEL_NOTES, Unsupported
from pytest_ureason.models.batching import BatchStats, Failed, run_batched
from pytest_ureason.models.fingerprint import content_fingerprint
from pytest_ureason.run.store import Store, content_key, read_rgb

if TYPE_CHECKING:
    from PIL import Image

    from pytest_ureason.models.base import UnifiedModel

log = logging.getLogger("pytest_ureason")


@dataclass
class Outcome:
    """What the model produced for a case (or why it could not)."""

    image_path: Path | None = None
    reasoning: str | None = None
    drawn_prompt: str | None = None
    refined_method: str | None = None
    error: str | None = None
    unsupported: str | None = None
    answer: str | None = None  # understand: the model's text answer
    draft_path: Path | None = None  # interleaved: the first draft (judged for fix/break)
    rounds: list[dict[str, Any]] | None = None  # interleaved: one record per image drawn


@dataclass
class Throughput:
    """Counters for the terminal summary."""

    images: int = 0
    reused: int = 0
    reasonings: int = 0
    generate_seconds: float = 0.0
    reason_seconds: float = 0.0
    judge_calls: int = 0  # yes/no judge ``answer`` calls made in batches (judging.prefetch)
    judged: int = 0  # judge prompts answered by those calls
    vqa_calls: int = 0  # ``--judge`` answer calls for ``vqa`` assertions, batched
    vqa_judged: int = 0  # vqa questions answered by those calls
    stats: BatchStats = field(default_factory=BatchStats)


#: What a model call may raise for one batch without ending the run: ordinary exceptions and
#: pytest's own outcome exceptions (a model calling ``pytest.skip`` or ``pytest.fail``).
MODEL_ERRORS: tuple[type[BaseException], ...] = (
    Exception,
    pytest.skip.Exception,
    pytest.fail.Exception,
    pytest.xfail.Exception,
)


def check_outputs(method: str, outputs: object, expected: int, kind: type) -> None:
    """Raise TypeError unless ``outputs`` is a list of ``expected`` items of ``kind``."""
    if not isinstance(outputs, list) or len(outputs) != expected:
        got = len(outputs) if isinstance(outputs, list) else type(outputs).__name__
        raise TypeError(f"{method}() returned {got} outputs for {expected} inputs")
    for value in outputs:
        if not isinstance(value, kind):
            raise TypeError(
                f"{method}() returned a {type(value).__name__}, "
                f"expected {kind.__module__}.{kind.__name__}"
            )


def requested_size(settings: object) -> tuple[int, int] | None:
    """The (width, height) an adapter's settings ask images to have: an integer ``size``
    (square, the reference model) or integer ``width`` and ``height`` (the composite model);
    None when they name none (e.g. an HTTP server's ``size`` text, which it may not honour)."""
    if not isinstance(settings, dict):
        return None

    def side(value: object) -> int | None:
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    square = side(settings.get("size"))
    if square is not None:
        return (square, square)
    width, height = side(settings.get("width")), side(settings.get("height"))
    return (width, height) if width is not None and height is not None else None


def _describe_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def record_failure(outcome: Outcome, method: str, exc: BaseException) -> None:
    """An adapter's ``Unsupported`` (or ``pytest.skip``) skips the item; anything else is an
    error of the item."""
    if isinstance(exc, Unsupported | pytest.skip.Exception):
        outcome.unsupported = f"model cannot {method}: {exc}"
    else:
        outcome.error = f"{method}() failed: {_describe_error(exc)}"


class SerializedModel:
    """A model whose ``answer`` holds a lock; every other attribute is the model's own."""

    def __init__(self, model: Any, lock: threading.Lock) -> None:
        self._model = model
        self._lock = lock

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def answer(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return self._model.answer(*args, **kwargs)


class Harness:
    """Runs one model over cases, batched, through the store."""

    def __init__(
        self,
        model: UnifiedModel,
        store: Store,
        batch_size: int = 16,
        *,
        model_path: str | None = None,
        model_args: dict[str, str] | None = None,
        rounds: int = 2,
        extraction: str = "ours",
    ):
        self.model = model
        #: Held by whoever calls the model: generation (foreground or look-ahead) and the
        #: model under test judging as its own stand-in (:attr:`judge_model`).
        self.model_lock = threading.Lock()
        self.rounds = rounds
        #: How ``decontext`` reads the refined prompt (``conditions.EXTRACTIONS``).
        self.extraction = extraction
        self.store = store
        self.batch_size = batch_size
        self.outcomes: dict[Case, Outcome] = {}
        self.throughput = Throughput()
        #: Called after each generated batch with (images in it, seconds since the call began).
        self.on_progress: Callable[[int, float], None] | None = None
        # Everything that can change an output enters the store key: the adapter's own
        # revision and settings, the run's weights (by content: the same weights copied
        # elsewhere reuse the store, weights replaced in place do not) and options.
        #: What identifies the model's outputs: every store key of its outputs includes it.
        self.identity: dict[str, Any] = {
            "model": model.name,
            "revision": getattr(model, "revision", "unknown"),
            "settings": getattr(model, "settings", {}),
            "model_args": dict(sorted((model_args or {}).items())),
            "weights": content_fingerprint(model_path) if model_path else None,
        }
        #: Short hash of everything above: which model, weights and settings made an output.
        self.fingerprint = content_key(**self.identity)[:16]
        #: (width, height) the model is asked for, when its settings name one.
        self.requested_size = requested_size(self.identity["settings"])
        #: Keys of stored images that failed verification and are being made again.
        self._repairing: set[str] = set()

    def stored(self, key: str) -> bool:
        """Whether a usable image of ``key`` is in the store. One that fails verification
        (:meth:`Store.check_image`) is counted, logged and made again, once: if the new one
        fails too, the item errors naming the file."""
        if not self.store.has_image(key):
            return False
        problem = self.store.check_image(key, self.requested_size)
        if problem is None:
            return True
        if key in self._repairing:
            return True  # made again already; :meth:`generate_batch` reported it
        self.store.note_failed("images", self.store.image_path(key), problem)
        self._repairing.add(key)
        return False

    def _recheck(self, key: str) -> str | None:
        """Why a freshly written image is not usable (a repair must decode and have the asked
        size; a new one must have the asked size), or None."""
        if key in self._repairing:
            problem = self.store.check_image(key, self.requested_size)
        else:
            size = self.store.image_meta(key).get("image_size") or []
            want = self.requested_size
            got = "x".join(str(v) for v in size)
            problem = (
                f"is {got}, the model was asked for {want[0]}x{want[1]}"
                if want is not None and size != list(want)
                else None
            )
        if problem is None:
            return None
        return f"stored image {self.store.image_path(key)} failed verification: {problem}"

    def _reason_key(self, instance: Instance, seed: int) -> str:
        return content_key(kind="reason", prompt=instance.prompt, seed=seed, **self.identity)

    def image_key(self, case: Case, request: GenerationRequest) -> str:
        """The store key of the image ``request`` draws for ``case``."""
        return content_key(
            kind="image",
            condition=case.condition,
            prompt=request.prompt,
            context=request.context,
            seed=case.seed,
            **self.identity,
        )

    def _reasonings(self, cases: list[Case]) -> dict[tuple[str, str, int], str | BaseException]:
        """Reasoning per (task, id, seed), from the store or made in batches."""
        wanted: dict[tuple[str, str, int], tuple[Instance, int]] = {}
        for case in cases:
            if case.condition in SHARES_REASONING:
                wanted[(case.instance.task, case.instance.id, case.seed)] = (
                    case.instance,
                    case.seed,
                )
        found: dict[tuple[str, str, int], str | BaseException] = {}
        missing = []
        for key, (instance, seed) in wanted.items():
            text = self.store.get_text(self._reason_key(instance, seed))
            if text is None:
                missing.append(key)
            else:
                found[key] = text
        if missing:
            start = time.perf_counter()

            def call(keys: list[tuple[str, str, int]]) -> list[str]:
                texts = self.model.reason(
                    [wanted[k][0].prompt for k in keys], [wanted[k][1] for k in keys]
                )
                check_outputs("reason", texts, len(keys), str)
                return texts

            results = run_batched(
                call, missing, self.batch_size, stats=self.throughput.stats, catch=MODEL_ERRORS
            )
            self.throughput.reason_seconds += time.perf_counter() - start
            for key, result in zip(missing, results, strict=True):
                if isinstance(result, Failed):
                    found[key] = result.error
                    continue
                instance, seed = wanted[key]
                self.store.put_text(
                    self._reason_key(instance, seed),
                    result,
                    {"prompt": instance.prompt, "seed": seed, **self.identity},
                )
                found[key] = result
                self.throughput.reasonings += 1
        return found

    @property
    def judge_model(self) -> UnifiedModel:
        """The model under test for judging itself (a stand-in judge): its ``answer`` waits
        for :attr:`model_lock`, so it never runs while a group is generated ahead."""
        return cast("UnifiedModel", SerializedModel(self.model, self.model_lock))

    def prepare(self, cases: list[Case]) -> None:
        """Produce the image outcome of every case not prepared yet (the image conditions;
        for ``interleaved`` the first draft). An ``understand`` case draws no image: its outcome
        says so (the runner answers those with :func:`pytest_ureason.run.understand.
        answer_cases`).

        If something escapes (an interrupt, a bug), the unfinished outcomes are dropped so
        that nothing half-made is ever read; what reached the store is kept.
        """
        todo = [c for c in cases if c not in self.outcomes]
        if not todo:
            return
        try:
            self._prepare(todo)
        except BaseException:
            self.drop_unfinished(todo)
            raise

    def drop_unfinished(self, cases: list[Case]) -> None:
        """Forget the outcomes of ``cases`` that hold neither an image nor a reason why not
        (after something escaped mid-preparation), so they are made again."""
        for case in cases:
            outcome = self.outcomes.get(case)
            if (
                outcome is not None
                and outcome.image_path is None
                and not (outcome.error or outcome.unsupported)
            ):
                del self.outcomes[case]

    def _prepare(self, todo: list[Case]) -> None:
        reasonings = self._reasonings(todo)
        pending: list[tuple[Case, GenerationRequest, str]] = []
        for case in todo:
            outcome = Outcome()
            self.outcomes[case] = outcome
            reasoning: str | None = None
            if case.condition in SHARES_REASONING:
                made = reasonings[(case.instance.task, case.instance.id, case.seed)]
                if isinstance(made, BaseException):
                    record_failure(outcome, "reason", made)
                    continue
                reasoning = outcome.reasoning = made
                if case.condition == "decontext":
                    outcome.refined_method = refined_by(self.extraction, reasoning).method
            try:
                prompt = case.instance.prompt
                if case.condition == "direct" and case.instance.direct_prompt is not None:
                    prompt = case.instance.direct_prompt  # UReason's direct_<task> prompt
                request = generation_request(case.condition, prompt, reasoning, self.extraction)
            except ValueError as exc:
                outcome.error = str(exc)
                continue
            outcome.drawn_prompt = request.prompt
            key = self.image_key(case, request)
            if self.stored(key):
                outcome.image_path = self.store.image_path(key)
                self.throughput.reused += 1
            else:
                pending.append((case, request, key))
        if pending:
            self.generate_batch(pending)

    def generate_one(self, prompt: str, seed: int = 0, context: str | None = None) -> Image.Image:
        """One image for a plain test, through the store."""
        from PIL import Image

        key = content_key(
            kind="image",
            condition="fixture",
            prompt=prompt,
            context=context,
            seed=seed,
            **self.identity,
        )
        if not self.stored(key):
            try:
                images = self.model.generate([prompt], [seed], [context])
            except Unsupported as exc:
                pytest.skip(f"model cannot generate: {exc}")
            check_outputs("generate", images, 1, Image.Image)
            image = images[0]
            self.store.put_image(
                key, image, {"prompt": prompt, "context": context, "seed": seed, **self.identity}
            )
            self.throughput.images += 1
            problem = self._recheck(key)
            if problem is not None:
                pytest.fail(problem, pytrace=False)
        return read_rgb(self.store.image_path(key))

    def generate_batch(self, pending: list[tuple[Case, GenerationRequest, str]]) -> None:
        """Draw every (case, request, store key) of ``pending`` in batches into the store and
        set each case's outcome (``image_path``, or why there is none); the case's outcome
        must exist."""
        from concurrent.futures import ThreadPoolExecutor

        from PIL import Image

        done = 0
        start = time.perf_counter()
        # PNG encoding releases the GIL: a batch's images are written in parallel.
        writers = ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1))

        def progress(n: int) -> None:
            nonlocal done
            done += n
            rate = done / max(time.perf_counter() - start, 1e-9)
            log.info("ureason: generated %d/%d images (%.1f images/s)", done, len(pending), rate)
            if self.on_progress is not None:
                self.on_progress(n, time.perf_counter() - start)

        def call(batch: list[tuple[Case, GenerationRequest, str]]) -> list[Path]:
            images = self.model.generate(
                [r.prompt for _, r, _ in batch],
                [c.seed for c, _, _ in batch],
                [r.context for _, r, _ in batch],
            )
            check_outputs("generate", images, len(batch), Image.Image)

            def write(job: tuple[tuple[Case, GenerationRequest, str], Image.Image]) -> Path:
                (case, request, key), image = job
                meta = {
                    "condition": case.condition,
                    "prompt": request.prompt,
                    "context": request.context,
                    "seed": case.seed,
                    "instance": case.instance.id,
                    "task": case.instance.task,
                    **self.identity,
                }
                notes = image.info.get(MODEL_NOTES)  # e.g. "reasoning truncated to 77 tokens"
                if notes:
                    meta["model_notes"] = str(notes)
                return self.store.put_image(key, image, meta)

            return list(writers.map(write, zip(batch, images, strict=True)))

        try:
            results = run_batched(
                call,
                pending,
                self.batch_size,
                on_batch=progress,
                stats=self.throughput.stats,
                catch=MODEL_ERRORS,
            )
        finally:
            writers.shutdown()
        self.throughput.generate_seconds += time.perf_counter() - start
        for (case, _, key), result in zip(pending, results, strict=True):
            outcome = self.outcomes[case]
            if isinstance(result, Failed):
                record_failure(outcome, "generate", result.error)
                continue
            self.throughput.images += 1
            problem = self._recheck(key)
            if problem is not None:
                outcome.error = problem
            else:
                outcome.image_path = result
