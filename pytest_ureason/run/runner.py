"""The per-worker runner behind every suite item: model loading, group preparation, judging.

One :class:`Runner` exists per worker process (the ``ureason_runner`` session fixture). The
model is loaded on first use, once; if loading fails, every item fails with that one message
instead of a traceback per item. Judging reads the stored image and evaluates the instance's
assertions; the verdicts go into the item's junit properties.

Look-ahead (``--lookahead on``, the default in one process): once a group is prepared, the next
group of the run's order is generated on a background thread while this group's items are
judged, so the model and the judges work at the same time. One group at most is ahead; the
model is used by one thread at a time (the harness' model lock, also held by the model under
test when it judges as its own stand-in). A model error in the background is recorded on its
items as in the foreground; anything that escapes preparation there (a bug, an interrupt)
leaves the group unprepared, and it is prepared again in the foreground when its first item
runs.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ureason import record as prop
from pytest_ureason.collect.items import CASE_KEY, VerdictFailure, not_judged
from pytest_ureason.collect.schema import Case
from pytest_ureason.judge.assertions import (
    OBJECT_ASSERTIONS,
    AssertionSpec,
    Observation,
    Verdict,
    evaluate,
    object_labels,
)
from pytest_ureason.judge.detect import DetectorUnavailable
from pytest_ureason.judge.judges import Judges, shared
from pytest_ureason.judge.yesno import YesNoJudge
from pytest_ureason.models.base import ModelLoadError, load_model
from pytest_ureason.run import score as judging
from pytest_ureason.run.harness import Harness, Outcome
from pytest_ureason.run.interleaved import refine, rounds_made
from pytest_ureason.run.prefetch import prefetch
from pytest_ureason.run.store import Store, StoredEvidence
from pytest_ureason.run.understand import answer_cases, score_answer

if TYPE_CHECKING:
    from PIL import Image

    from pytest_ureason.settings import Settings

GROUP_KEY = pytest.StashKey[str]()


class Runner:
    """Loads the model once and runs suite items in prepared groups."""

    def __init__(
        self,
        settings: Settings,
        groups: dict[str, list[Case]],
        show: Callable[[str], None] | None = None,
        lookahead: bool = False,
    ):
        self.settings = settings
        self.groups = groups
        #: Generate the next group while the current one is judged (one process only: an
        #: xdist worker does not know which group it gets next).
        self.lookahead = lookahead
        self._order = {key: i for i, key in enumerate(groups)}
        self._keys = list(groups)
        self._ahead: ThreadPoolExecutor | None = None
        self._pending: dict[str, Future[None]] = {}
        self._started: set[str] = set()  # groups generated or being generated
        self._judged: set[str] = set()  # groups whose judge calls were prefetched
        self._harness: Harness | None = None
        self._load_error: str | None = None
        # Progress of long generation, written past output capture (none on xdist workers).
        self.show = show
        self._total = sum(len(cases) for cases in groups.values())
        self._made = 0
        self._seconds = 0.0
        self._shown_at = 0.0

    #: Seconds between two progress lines (the last batch always shows).
    PROGRESS_EVERY = 5.0

    def _progress(self, images: int, seconds: float) -> None:
        """A terminal line after a generated batch (at most one per ``PROGRESS_EVERY`` seconds,
        and after the last): images ready and made so far, and the rate."""
        self._made += images
        harness = self._harness
        spent = (harness.throughput.generate_seconds if harness else 0.0) + seconds
        ready = self._made + (harness.throughput.reused if harness else 0)
        now = time.monotonic()
        if now - self._shown_at < self.PROGRESS_EVERY and ready < self._total:
            return
        self._shown_at = now
        if self.show is not None:
            self.show(
                f"ureason: {ready}/{self._total} images ready, {self._made} generated "
                f"({self._made / max(spent, 1e-9):.2f} images/s)"
            )

    @property
    def harness(self) -> Harness:
        """The harness around the loaded model.

        Raises:
            pytest.fail.Exception: the model could not be loaded (same message every time).
        """
        if self._harness is None and self._load_error is None:
            assert self.settings.model is not None
            try:
                model = load_model(
                    self.settings.model, self.settings.model_path, self.settings.model_args
                )
            except ModelLoadError as exc:
                self._load_error = str(exc)
            else:
                try:
                    self._harness = Harness(
                        model,
                        Store(self.settings.store),
                        self.settings.batch_size,
                        model_path=self.settings.model_path,
                        model_args=self.settings.model_args,
                        rounds=self.settings.rounds,
                        extraction=self.settings.refined_extraction,
                    )
                except Exception as exc:  # e.g. settings that cannot be hashed into a key
                    self._load_error = f"{type(exc).__name__}: {exc}"
                else:
                    self._harness.on_progress = self._progress
        if self._harness is None:
            pytest.fail(f"model not loaded: {self._load_error}", pytrace=False)
        return self._harness

    def throughput_counters(self) -> dict[str, float] | None:
        """Generation counters of this process, None when no model was loaded."""
        if self._harness is None:
            return None
        t = self._harness.throughput
        return {
            "images": t.images,
            "reused": t.reused,
            "reasonings": t.reasonings,
            "generate_seconds": t.generate_seconds,
            "reason_seconds": t.reason_seconds,
            "judge_calls": t.judge_calls,
            "judged": t.judged,
            "vqa_calls": t.vqa_calls,
            "vqa_judged": t.vqa_judged,
            "repaired_images": len(self._harness.store.failed["images"]),
            "repaired_evidence": len(self._harness.store.failed["evidence"]),
            "workers": 1,
        }

    def generate_one(self, prompt: str, seed: int = 0, context: str | None = None) -> Image.Image:
        """An image of ``prompt`` from the model under test (the ``generate`` fixture)."""
        harness = self.harness
        with harness.model_lock:  # not while a group is generated ahead
            return harness.generate_one(prompt, seed, context)

    def outcome(self, item: pytest.Item) -> Outcome:
        """The outcome of an item's case, preparing its whole group first."""
        case = item.stash[CASE_KEY]
        key = item.stash.get(GROUP_KEY, "")
        harness = self.harness
        ahead = self._pending.pop(key, None)
        if ahead is not None:
            try:
                ahead.result()
            except Exception:  # prepared again below, where the failure is recorded
                pass
        if case not in harness.outcomes or key not in self._judged:
            group = self.groups.get(key, [case])
            group = group if case in group else [case, *group]
            if any(c not in harness.outcomes for c in group):
                with harness.model_lock:
                    prepare_group(harness, group)
            self._started.add(key)
            self._judged.add(key)
            self._look_ahead(key)
            # the group's judge calls, batched and cached
            prefetch(harness, shared(self.settings.judges), self.settings, group)
        return harness.outcomes[case]

    def _look_ahead(self, key: str) -> None:
        """Start generating the group after ``key`` in the background (at most one ahead)."""
        if not self.lookahead or self._pending or key not in self._order:
            return
        nxt = next((k for k in self._keys[self._order[key] + 1 :] if k not in self._started), None)
        if nxt is None:
            return
        if self._ahead is None:
            self._ahead = ThreadPoolExecutor(1, thread_name_prefix="ureason-lookahead")
        harness = self.harness
        group = self.groups[nxt]
        self._started.add(nxt)

        def prepare() -> None:
            with harness.model_lock:
                prepare_group(harness, group)

        self._pending[nxt] = self._ahead.submit(prepare)

    def close(self) -> None:
        """Wait for a group being generated ahead (it is stored, so nothing is lost)."""
        if self._ahead is not None:
            self._ahead.shutdown(wait=True, cancel_futures=True)
            self._ahead = None
        self._pending.clear()

    def yesno_judge(self) -> YesNoJudge:
        """The yes/no judge of ``judge`` assertions: ``--judge``, else the model under test
        as stand-in.

        Raises:
            DetectorUnavailable: ``--judge`` could not be loaded.
        """
        return judging.yesno_judge(self.harness, shared(self.settings.judges), self.settings)

    def judges_for(self, required: str | None) -> Judges:
        """The run's judges, or those of the detector an instance requires.

        Raises:
            pytest.skip.Exception: the run names another detector than the one required.
        """
        config = self.settings.judges
        if required is None or required == config.detector:
            return shared(config)
        if config.detector != "auto":
            pytest.skip(
                f"the suite requires detector {required!r}; this run uses --detector "
                f"{config.detector}"
            )
        return shared(replace(config, detector=required))

    def run_item(self, item: pytest.Item) -> None:
        """Generate (if needed) and judge one item; raise on failure.

        An exception that is neither a verdict nor a pytest outcome (a bug, a broken judge) is
        recorded as an ``error`` with its reason, never counted as the model failing the item.
        """
        try:
            self._run_item(item)
        except (VerdictFailure, pytest.skip.Exception, pytest.fail.Exception):
            raise
        except Exception as exc:
            props = item.user_properties
            if not any(name == prop.OUTCOME for name, _ in props):
                props.append((prop.OUTCOME, "error"))
                props.append((prop.REASON, f"internal error: {type(exc).__name__}: {exc}"))
            raise

    def _run_item(self, item: pytest.Item) -> None:
        case = item.stash[CASE_KEY]
        props = item.user_properties
        try:
            outcome = self.outcome(item)
        except pytest.fail.Exception:  # the model could not be loaded: an error, not a verdict
            props.append((prop.OUTCOME, "error"))
            raise
        drawn = case.instance.prompt
        if case.condition == "direct" and case.instance.direct_prompt is not None:
            drawn = case.instance.direct_prompt
        props.append((prop.PROMPT, drawn[:4000]))
        props.append((prop.FINGERPRINT, self.harness.fingerprint))
        if outcome.reasoning is not None:
            props.append((prop.REASONING, outcome.reasoning[:4000]))
        if outcome.drawn_prompt is not None:
            props.append((prop.DRAWN_PROMPT, outcome.drawn_prompt[:4000]))
        if outcome.refined_method is not None:
            props.append((prop.REFINED_METHOD, outcome.refined_method))
        if outcome.rounds is not None:
            props.append((prop.ROUNDS, rounds_made(outcome.rounds)))
            props.append((prop.INTERLEAVED, _rounds_json(outcome.rounds)))
        if outcome.unsupported is not None:
            pytest.skip(outcome.unsupported)
        if case.condition == "understand" and outcome.error is None:
            self._score_answer(case, outcome, props)
            return
        if outcome.error is not None or outcome.image_path is None:
            props.append((prop.OUTCOME, "error"))
            props.append((prop.REASON, outcome.error or "no image"))
            raise VerdictFailure(f"{case.name}: {outcome.error or 'no image was produced'}")
        props.append((prop.IMAGE, str(outcome.image_path)))
        notes = _model_notes(outcome.image_path)
        if notes:
            props.append((prop.MODEL_NOTES, notes))
        verdicts = self._judge(case, outcome.image_path, props)
        failed = [v for v in judging.deciding(case, verdicts, self.settings) if not v.passed]
        props.append((prop.DETECTORS, ",".join(sorted({v.detector for v in verdicts}))))
        flags = judging.advisory(case, self.settings)
        pairs = zip(verdicts, case.instance.expect, flags, strict=True)
        props.append((prop.VERDICTS, json.dumps([_verdict_json(*t) for t in pairs])))
        # judge vs derived; reasoning verdict
        judges = shared(self.settings.judges)
        judging.record(self.harness, judges, self.settings, case, outcome, verdicts, props)
        undecided = [v for v in verdicts if not v.decided]
        if undecided:  # a judge answer without a verdict: an error, never a pass or a fail
            props.append((prop.REASON, "; ".join(v.reason for v in undecided)))
            props.append((prop.OUTCOME, "error"))
            raise VerdictFailure("undecided judge: " + "; ".join(v.reason for v in undecided))
        props.append((prop.REASON, judging.reason_line(case, verdicts, self.settings)))
        if outcome.draft_path is not None:
            same = outcome.draft_path == outcome.image_path
            draft_ok = not failed if same else self._draft_passed(case, outcome.draft_path, props)
            props.append((prop.DRAFT_IMAGE, str(outcome.draft_path)))
            props.append((prop.DRAFT_OUTCOME, "passed" if draft_ok else "failed"))
        props.append((prop.OUTCOME, "failed" if failed else "passed"))
        if failed:
            lines = [v.reason for v in failed] + judging.notes(case, verdicts, self.settings)
            lines.append(f"prompt drawn: {outcome.drawn_prompt!r}")
            if outcome.reasoning is not None:
                flat = " ".join(outcome.reasoning.split())
                shown = flat if len(flat) <= 300 else flat[:297] + "..."
                how = {"reasoning": "in context", "interleaved": "the plan"}.get(
                    case.condition, "refined prompt taken"
                )
                lines.append(f"reasoning ({how}): {shown!r}")
            for record in outcome.rounds or []:
                lines.append(_describe_round(record))
            if notes:
                lines.append(f"model note: {notes}")
            lines.append(f"image: {outcome.image_path}")
            raise VerdictFailure("\n".join(lines))

    def _judge(self, case: Case, path: Path, props: list[tuple[str, object]]) -> list[Verdict]:
        """Evaluate the instance's assertions on a stored image."""
        from PIL import Image

        data = path.read_bytes()
        with Image.open(io.BytesIO(data)) as img:
            image = img.convert("RGB")
        # Evidence is keyed by the image's bytes: a regenerated image is judged afresh.
        evidence = StoredEvidence(self.harness.store, hashlib.sha256(data).hexdigest())
        judges = self.judges_for(case.instance.detector)
        obs = Observation(image, cache=evidence, judges=judges)
        verdicts: list[Verdict] = []
        try:
            if any(spec.name == "judge" for spec in case.instance.expect):
                obs.yesno_judge = self.yesno_judge()
            obs.prefetch(object_labels(case.instance.expect))
            flags = judging.advisory(case, self.settings)
            for spec, advisory in zip(case.instance.expect, flags, strict=True):
                try:
                    verdicts.append(evaluate(spec.name, spec.params, obs))
                except DetectorUnavailable as exc:
                    if not advisory:
                        raise
                    # an advisory derived check whose judge is not installed (OCR for a
                    # derived `text`): recorded as not run; the yes/no judge still decides
                    verdicts.append(judging.not_run(spec.describe(), str(exc)))
                except Exception as exc:
                    props.append((prop.OUTCOME, "error"))
                    props.append((prop.REASON, f"{spec.describe()} raised {exc!r}"))
                    raise
        except DetectorUnavailable as exc:  # a judge not installed or without weights
            not_judged(props, str(exc))
        return verdicts

    def _draft_passed(self, case: Case, path: Path, props: list[tuple[str, object]]) -> bool:
        """Whether the interleaved condition's first draft passes the assertions."""
        verdicts = self._judge(case, path, props)
        return all(v.passed for v in judging.deciding(case, verdicts, self.settings))

    def _score_answer(self, case: Case, outcome: Outcome, props: list[tuple[str, object]]) -> None:
        """Score an ``understand`` item's text answer; raise on a wrong answer."""
        instance = case.instance
        reply = outcome.answer or ""
        verdict = score_answer(reply, instance.answer or "", instance.accept)
        props.append((prop.QUESTION, (instance.question or "")[:4000]))
        props.append((prop.EXPECTED, instance.answer or ""))
        props.append((prop.ANSWER, reply[:4000]))
        props.append((prop.REASON, verdict.reason))
        props.append((prop.OUTCOME, "passed" if verdict.passed else "failed"))
        if not verdict.passed:
            raise VerdictFailure(verdict.reason)


def prepare_group(harness: Harness, cases: list[Case]) -> None:
    """Take the cases of a group not prepared yet through the condition steps, in order: the
    ``understand`` answers (:func:`~pytest_ureason.run.understand.answer_cases`), the images of
    the image conditions (:meth:`Harness.prepare`, reasoning first), then the ``interleaved``
    refinements (:func:`~pytest_ureason.run.interleaved.refine`, ``harness.rounds`` rounds).

    If something escapes (an interrupt, a bug), the unfinished outcomes are dropped so that
    nothing half-made is ever read; what reached the store is kept.
    """
    todo = [c for c in cases if c not in harness.outcomes]
    if not todo:
        return
    try:
        understand = [c for c in todo if c.condition == "understand"]
        if understand:
            answer_cases(harness, understand)
        drawn = [c for c in todo if c.condition != "understand"]
        harness.prepare(drawn)
        interleaved = [c for c in drawn if c.condition == "interleaved"]
        if interleaved:
            refine(harness, interleaved, harness.rounds)
    except BaseException:
        harness.drop_unfinished(todo)
        raise


def _rounds_json(rounds: list[dict[str, Any]], limit: int = 16000) -> str:
    """The interleaved rounds as JSON, reflections shortened until it fits ``limit``."""
    text = json.dumps(rounds)
    for keep in (1000, 200, 0):
        if len(text) <= limit:
            break
        text = json.dumps(
            [{**r, "reflection": str(r.get("reflection", ""))[:keep]} for r in rounds]
        )
    return text


def _describe_round(record: dict[str, Any]) -> str:
    kind = "draft (prompt + plan)" if record.get("round") == 0 else "refinement"
    line = f"round {record.get('round')} {kind}: drew {str(record.get('prompt'))[:200]!r}"
    if record.get("readable") is False:
        line += "; reflection did not follow the format (no verdict, violations or prompt)"
    elif "violations" in record:
        found = record["violations"]
        line += "; reflection: " + (", ".join(found)[:300] if found else "no violation")
    return line


def needs_run_detector(case: Case) -> bool:
    """Whether a case's image is judged by the run's object detector: a condition that makes
    an image, an object assertion (derived ones too: their verdicts are recorded and tabled),
    and no detector required by the suite itself."""
    return (
        case.condition != "understand"
        and case.instance.detector is None
        and any(spec.name in OBJECT_ASSERTIONS for spec in case.instance.expect)
    )


def _verdict_json(
    v: Verdict, spec: AssertionSpec | None = None, advisory: bool = False
) -> dict[str, Any]:
    out = {
        "assertion": v.assertion,
        "passed": v.passed,
        "reason": v.reason,
        "detector": v.detector,
        "evidence": v.evidence,
    }
    if spec is not None and spec.derived:
        out["derived"] = True
    if advisory:  # recorded, but the item's outcome does not depend on it
        out["advisory"] = True
    if not v.decided:
        out["decided"] = False
    return out


def _model_notes(image_path: Any) -> str | None:
    """The adapter's note stored beside an image (e.g. truncated reasoning), if any."""
    try:
        meta = json.loads(image_path.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    notes = meta.get("model_notes") if isinstance(meta, dict) else None
    return str(notes) if notes else None
