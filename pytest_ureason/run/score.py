"""Yes/no judge calls for a group of items, batched and cached; the reasoning verdict.

When a group's images are ready, :func:`prefetch` asks the yes/no judge about every image of
the group that has a ``judge`` assertion, one ``answer`` call per batch (``--batch-size``),
and caches each full answer beside the image's other evidence (keyed by image bytes, judge
identity, template hash and prompt), so items only read it and a rerun asks nothing again.
The judge is ``--judge MODEL``, else the model under test as stand-in. The ``--judge``
model's answers to a group's ``vqa`` questions are prefetched the same way.

The **reasoning verdict** of a ``reasoning`` / ``decontext`` item with an expectation sentence
says whether the reasoning reached it: by ``--text-judge MODEL`` with the same yes/no protocol
(``data/judge_reasoning.txt``; calls batched and stored like reasoning), else by the item's
derived assertions checked against the refined prompt extracted from the reasoning, read
with the same partial reading as the expectation (:func:`pytest_ureason.judge.derive.judge_text`):
one contradicted assertion makes it ``wrong``, all confirmed ``right`` (the reason names what
the expectation leaves unchecked), anything the text does not state leaves it ``undecided``,
never a guess. Without a text judge or derived assertions it is ``undecided`` too.

**Outcome**: for items of the seed formats the yes/no judge alone decides pass or fail (the
papers' number, also the 2x2's image right/wrong); derived assertions still run, are
recorded in the verdicts as ``derived`` and ``advisory``, feed the judge-versus-detector
table, and a failing one is named in the item's reason and ``ureason_advisory`` property.
``--derived-assertions require`` (ini ``ureason_derived_assertions``) makes them decide too.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ureason.collect.items import VerdictFailure, not_judged
from pytest_ureason.conditions import NEEDS_REASONING, extract_refined
from pytest_ureason.judge.observation import valid_answer, valid_text
from pytest_ureason.judge.yesno import YesNoJudge, parse_decision, render
from pytest_ureason.models.batching import Failed, run_batched

if TYPE_CHECKING:
    from PIL import Image

    from pytest_ureason.collect.schema import Case
    from pytest_ureason.judge.assertions import Verdict
    from pytest_ureason.run.harness import Outcome
    from pytest_ureason.run.runner import Runner
    from pytest_ureason.settings import Settings


def expectation(case: Case) -> str | None:
    """The expectation sentence of a case's first ``judge`` assertion, if any."""
    for spec in case.instance.expect:
        if spec.name == "judge":
            return str(getattr(spec.params, "expect", "")) or None
    return None


Job = tuple[Path, Any, str, str]  # (image file, its evidence cache, key, question or prompt)


def _add_jobs(
    jobs: dict[tuple[str, str], Job],
    runner: Runner,
    outcome: Outcome,
    key: str,
    text: str,
    digests: dict[Path, str],
    valid: Callable[[Any], bool],
) -> None:
    """Queue ``text`` about the outcome's image (and interleaved draft) under ``key``, unless
    the evidence cache of that image already holds an answer that ``valid`` accepts;
    ``digests`` memoises file hashes."""
    from pytest_ureason.run.store import StoredEvidence

    for path in {outcome.image_path, outcome.draft_path} - {None}:
        assert path is not None
        if path not in digests:
            digests[path] = hashlib.sha256(path.read_bytes()).hexdigest()
        digest = digests[path]
        evidence = StoredEvidence(runner.harness.store, digest)
        if (digest, key) not in jobs and evidence.load(key, valid) is None:
            jobs[(digest, key)] = (path, evidence, key, text)


def _images(batch: list[Job]) -> list[Image.Image | None]:
    """The images of a batch of jobs, read from their files."""
    from PIL import Image

    images: list[Image.Image | None] = []
    for path, _, _, _ in batch:
        with Image.open(io.BytesIO(path.read_bytes())) as img:
            images.append(img.convert("RGB"))
    return images


def _image_jobs(runner: Runner, judge: YesNoJudge, cases: list[Case]) -> list[Job]:
    jobs: dict[tuple[str, str], Job] = {}
    digests: dict[Path, str] = {}
    for case in cases:
        outcome = runner.harness.outcomes.get(case)
        target = expectation(case)
        if outcome is None or outcome.image_path is None or target is None:
            continue
        prompt = render("image", target)
        key = judge.key("image", prompt)
        _add_jobs(jobs, runner, outcome, key, prompt, digests, valid_answer)
    return list(jobs.values())


def prefetch(runner: Runner, cases: list[Case]) -> None:
    """Ask the judges about a prepared group in batches (see the module docstring).

    A batch that fails is left uncached: its items ask again one by one and report the error.
    """
    from pytest_ureason.judge.detect import DetectorUnavailable
    from pytest_ureason.run.harness import MODEL_ERRORS

    _prefetch_vqa(runner, cases)
    if not any(expectation(c) for c in cases):
        _prefetch_reasoning(runner, cases)
        return
    try:
        judge = runner.yesno_judge()
    except DetectorUnavailable:
        _prefetch_reasoning(runner, cases)
        return  # the items skip with the reason
    jobs = _image_jobs(runner, judge, cases)

    def ask(batch: list[Job]) -> list[str]:
        return judge.ask(_images(batch), [j[3] for j in batch])

    size, counts = runner.settings.batch_size, runner.harness.throughput
    results = run_batched(ask, jobs, size, catch=MODEL_ERRORS, on_batch=_counter(counts))
    for job, answer in zip(jobs, results, strict=True):
        if not isinstance(answer, Failed):
            job[1].save(job[2], {"text": answer})
    _prefetch_reasoning(runner, cases)


def _prefetch_vqa(runner: Runner, cases: list[Case]) -> None:
    """Ask the ``--judge`` model every ``vqa`` question of a group, one ``answer`` call per
    batch, into the evidence cache that :meth:`Observation.vqa` reads (same key)."""
    from pytest_ureason.judge.detect import DetectorUnavailable
    from pytest_ureason.judge.judges import shared
    from pytest_ureason.judge.observation import vqa_key
    from pytest_ureason.run.harness import MODEL_ERRORS

    wanted = [c for c in cases if any(spec.name == "vqa" for spec in c.instance.expect)]
    if not wanted:
        return
    judges = shared(runner.settings.judges)
    try:
        model = judges.vqa()
    except DetectorUnavailable:
        return  # the items skip with the reason
    harness = runner.harness
    jobs: dict[tuple[str, str], Job] = {}
    digests: dict[Path, str] = {}
    for case in wanted:
        outcome = harness.outcomes.get(case)
        if outcome is None or outcome.image_path is None:
            continue
        for spec in case.instance.expect:
            if spec.name == "vqa":
                question = str(getattr(spec.params, "question", ""))
                key = vqa_key(model, judges.config, question)
                _add_jobs(jobs, runner, outcome, key, question, digests, valid_text)
    todo = list(jobs.values())

    def ask(batch: list[Job]) -> list[str]:
        answers = model.answer(_images(batch), [j[3] for j in batch], [0] * len(batch))
        if not isinstance(answers, list) or len(answers) != len(batch):
            raise TypeError(f"judge {model.name!r}: answer() must return {len(batch)} answers")
        return [str(a) for a in answers]

    size, counts = runner.settings.batch_size, harness.throughput
    results = run_batched(ask, todo, size, catch=MODEL_ERRORS, on_batch=_counter(counts, vqa=True))
    for job, answer in zip(todo, results, strict=True):
        if not isinstance(answer, Failed):  # a failed batch: its items ask again, one by one
            job[1].save(job[2], answer)


def _counter(counts: Any, vqa: bool = False) -> Any:
    def count(n: int) -> None:
        if vqa:
            counts.vqa_calls += 1
            counts.vqa_judged += n
        else:
            counts.judge_calls += 1
            counts.judged += n

    return count


def _reasoning_prompt(case: Case, outcome: Outcome | None) -> str | None:
    target = expectation(case)
    if case.condition not in NEEDS_REASONING or target is None or outcome is None:
        return None
    if outcome.reasoning is None:
        return None
    return render("reasoning", target, outcome.reasoning)


def _prefetch_reasoning(runner: Runner, cases: list[Case]) -> None:
    from pytest_ureason.judge.detect import DetectorUnavailable
    from pytest_ureason.run.harness import MODEL_ERRORS

    try:
        judge = runner.text_judge()
    except DetectorUnavailable:
        return
    if judge is None:
        return
    store = runner.harness.store
    prompts: dict[str, str] = {}
    for case in cases:
        prompt = _reasoning_prompt(case, runner.harness.outcomes.get(case))
        if prompt is not None:
            key = judge.key("reasoning", prompt)
            if store.get_text(key) is None:
                prompts[key] = prompt
    keys = list(prompts)

    def ask(batch: list[str]) -> list[str]:
        return judge.ask([None] * len(batch), [prompts[k] for k in batch])

    size, counts = runner.settings.batch_size, runner.harness.throughput
    results = run_batched(ask, keys, size, catch=MODEL_ERRORS, on_batch=_counter(counts))
    for key, answer in zip(keys, results, strict=True):
        if not isinstance(answer, Failed):
            store.put_text(key, answer, {"prompt": prompts[key], **judge.describe("reasoning")})


def reasoning_verdict(runner: Runner, case: Case, outcome: Outcome) -> dict[str, Any] | None:
    """Whether the reasoning reached the expectation: ``{"verdict": "right" | "wrong" |
    "undecided", "by": ..., "reason": ...}``; None for items that have no reasoning verdict."""
    prompt = _reasoning_prompt(case, outcome)
    if prompt is None or outcome.reasoning is None:
        return None
    judge = runner.text_judge()
    if judge is not None:
        key = judge.key("reasoning", prompt)
        answer = runner.harness.store.get_text(key)
        if answer is None:
            answer = judge.ask([None], [prompt])[0]  # JudgeFailed names the judge
            runner.harness.store.put_text(
                key, answer, {"prompt": prompt, **judge.describe("reasoning")}
            )
        decision = parse_decision(answer)
        word = {True: "right", False: "wrong", None: "undecided"}[decision.yes]
        return {
            "verdict": word,
            "by": f"text-judge:{judge.label}",
            "template": judge.describe("reasoning")["template"],
            "reason": answer[-500:],
        }
    from pytest_ureason.judge.derive import derive, judge_text

    derived = tuple(s for s in case.instance.expect if s.derived)
    if not derived:
        reason = "no --text-judge and no derived assertion to check the reasoning with"
        return {"verdict": "undecided", "by": "none", "reason": reason}
    refined = extract_refined(outcome.reasoning).prompt
    verdict, lines = judge_text(derived, refined)
    reason = f"refined prompt {refined[:200]!r}" + (": " + "; ".join(lines) if lines else "")
    left = derive(expectation(case) or "").unchecked  # "right" covers the derived checks only
    if verdict == "right" and left:
        reason += "; not checked: " + "; ".join(left)[:300]
    return {"verdict": verdict, "by": "derived", "reason": reason}


def advisory(case: Case, settings: Settings) -> list[bool]:
    """Per assertion of a case, whether it only advises: a derived assertion under
    ``--derived-assertions advise`` (the default), where the yes/no judge alone decides the
    item, as the papers judged. Advisory verdicts are still evaluated and recorded."""
    advise = settings.derived_assertions == "advise"
    return [advise and spec.derived for spec in case.instance.expect]


def deciding(case: Case, verdicts: list[Verdict], settings: Settings) -> list[Verdict]:
    """The verdicts that decide the item's outcome (all but the advisory ones)."""
    flags = advisory(case, settings)
    return [v for v, flag in zip(verdicts, flags, strict=True) if not flag]


def advised(case: Case, verdicts: list[Verdict], settings: Settings) -> list[Verdict]:
    """The advisory verdicts that failed."""
    flags = advisory(case, settings)
    return [v for v, flag in zip(verdicts, flags, strict=True) if flag and not v.passed]


def notes(case: Case, verdicts: list[Verdict], settings: Settings) -> list[str]:
    """One line per failed advisory verdict, for a failed item's message."""
    return [
        f"advisory (derived, not deciding): {v.reason}" for v in advised(case, verdicts, settings)
    ]


def reason_line(case: Case, verdicts: list[Verdict], settings: Settings) -> str:
    """The item's reason: the failed deciding verdicts (else all deciding ones), then any
    failed advisory verdict, marked so (it does not fail the item)."""
    decide = deciding(case, verdicts, settings)
    line = "; ".join(v.reason for v in ([v for v in decide if not v.passed] or decide))
    notes = advised(case, verdicts, settings)
    if notes:
        line += " | advisory, derived (not deciding): " + "; ".join(v.reason for v in notes)
    return line


def not_run(assertion: str, why: str) -> Verdict:
    """The verdict of an advisory derived assertion whose judge is not installed: it neither
    passes nor fails anything (left out of the derived tables), and says why."""
    from pytest_ureason.judge.assertions import Verdict

    return Verdict(True, f"not run: {why}", assertion, "none", {"not_run": why})


def annotate(case: Case, verdicts: list[Verdict], props: list[tuple[str, object]]) -> None:
    """Record, for the seed-format tables, what the judge and the derived assertions said."""
    judged = [v for v in verdicts if v.assertion.startswith("judge(")]
    derived = [
        v
        for v, s in zip(verdicts, case.instance.expect, strict=False)
        if s.derived and "not_run" not in v.evidence
    ]
    if not judged:
        return
    first = judged[0]
    props.append(
        (
            "ureason_judge_verdict",
            "undecided" if not first.decided else "yes" if first.passed else "no",
        )
    )
    props.append(("ureason_judge", str(first.evidence.get("judge", first.detector))))
    if derived:
        passed = all(v.passed for v in derived)
        props.append(("ureason_derived_verdict", "passed" if passed else "failed"))
    props.append(("ureason_derived_count", len(derived)))


def record(
    runner: Runner, case: Case, outcome: Outcome, verdicts: list[Verdict], props: list[Any]
) -> None:
    """Judge-versus-derived and reasoning verdicts of an item, as its properties."""
    from pytest_ureason.judge.detect import DetectorUnavailable
    from pytest_ureason.judge.yesno import JudgeFailed

    annotate(case, verdicts, props)
    if any(spec.derived for spec in case.instance.expect):
        props.append(("ureason_derived_role", runner.settings.derived_assertions))
        notes = advised(case, verdicts, runner.settings)
        if notes:
            props.append(("ureason_advisory", "; ".join(v.reason for v in notes)[:2000]))
    try:
        found = reasoning_verdict(runner, case, outcome)
    except DetectorUnavailable as exc:  # --text-judge could not load: skip, like --judge
        not_judged(props, str(exc))
    except JudgeFailed as exc:  # the text judge raised: this item is an error, the rest run
        props.append(("ureason_reason", f"reasoning verdict: {exc}"))
        props.append(("ureason_outcome", "error"))
        raise VerdictFailure(f"reasoning verdict: {exc}") from exc
    if found is not None:
        props.append(("ureason_reasoning_verdict", found["verdict"]))
        props.append(("ureason_reasoning_by", found["by"]))
        if "template" in found:
            props.append(("ureason_reasoning_template", found["template"]))
        props.append(("ureason_reasoning_reason", str(found["reason"])[:2000]))
