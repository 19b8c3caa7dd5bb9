"""Yes/no judge calls for a group of items, batched and cached; the reasoning verdict.

When a group's images are ready, :func:`prefetch` asks the yes/no judge about every image of
the group that has a ``judge`` assertion, one ``answer`` call per batch (``--batch-size``),
and caches each full answer beside the image's other evidence (keyed by image bytes, judge
identity, template hash and prompt), so items only read it and a rerun asks nothing again.
The judge is ``--judge MODEL``, else the model under test as stand-in. The ``--judge``
model's answers to a group's ``vqa`` questions are prefetched the same way.

The functions take ``(harness, judges, settings)``, never the runner.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ureason.judge.detect import DetectorUnavailable
from pytest_ureason.judge.judges import Judges
from pytest_ureason.judge.observation import valid_answer, valid_text, vqa_key
from pytest_ureason.judge.yesno import YesNoJudge, render
from pytest_ureason.models.batching import Failed, run_batched
from pytest_ureason.run import paper
from pytest_ureason.run.harness import MODEL_ERRORS, Harness, Outcome
from pytest_ureason.run.paper import expectation
from pytest_ureason.run.score import reasoning_prompt, yesno_judge
from pytest_ureason.run.store import StoredEvidence, image_digest, read_rgb

if TYPE_CHECKING:
    from PIL import Image

    from pytest_ureason.collect.schema import Case
    from pytest_ureason.settings import Settings

Job = tuple[Path, Any, str, str]  # (image file, its evidence cache, key, question or prompt)


def _add_jobs(
    jobs: dict[tuple[str, str], Job],
    harness: Harness,
    outcome: Outcome,
    key: str,
    text: str,
    valid: Callable[[Any], bool],
) -> None:
    """Queue ``text`` about the outcome's image (and interleaved draft) under ``key``, unless
    the evidence cache of that image already holds an answer that ``valid`` accepts."""
    for path in {outcome.image_path, outcome.draft_path} - {None}:
        assert path is not None
        digest = image_digest(path)
        evidence = StoredEvidence(harness.store, digest)
        if (digest, key) not in jobs and evidence.load(key, valid) is None:
            jobs[(digest, key)] = (path, evidence, key, text)


def _images(batch: list[Job]) -> list[Image.Image | None]:
    """The images of a batch of jobs, read from their files."""
    return [read_rgb(path) for path, _, _, _ in batch]


def _image_jobs(harness: Harness, judge: YesNoJudge, cases: list[Case]) -> list[Job]:
    jobs: dict[tuple[str, str], Job] = {}
    for case in cases:
        outcome = harness.outcomes.get(case)
        target = expectation(case)
        if outcome is None or outcome.image_path is None or target is None:
            continue
        prompt = render("image", target)
        key = judge.key("image", prompt)
        _add_jobs(jobs, harness, outcome, key, prompt, valid_answer)
    return list(jobs.values())


def prefetch(harness: Harness, judges: Judges, settings: Settings, cases: list[Case]) -> None:
    """Ask the judges about a prepared group in batches (see the module docstring).

    A batch that fails is left uncached: its items ask again one by one and report the error.
    """
    if judges.config.judge_protocols or judges.config.text_judge_protocols:
        paper.prefetch(harness, settings, cases)  # the papers' protocols, beside ours
    _prefetch_vqa(harness, judges, settings, cases)
    if not any(expectation(c) for c in cases):
        _prefetch_reasoning(harness, judges, settings, cases)
        return
    try:
        judge = yesno_judge(harness, judges, settings)
    except DetectorUnavailable:
        _prefetch_reasoning(harness, judges, settings, cases)
        return  # the items skip with the reason
    jobs = _image_jobs(harness, judge, cases)

    def ask(batch: list[Job]) -> list[str]:
        return judge.ask(_images(batch), [j[3] for j in batch])

    size, counts = settings.batch_size, harness.throughput
    results = run_batched(ask, jobs, size, catch=MODEL_ERRORS, on_batch=_counter(counts))
    for job, answer in zip(jobs, results, strict=True):
        if not isinstance(answer, Failed):
            job[1].save(job[2], {"text": answer})
    _prefetch_reasoning(harness, judges, settings, cases)


def _prefetch_vqa(harness: Harness, judges: Judges, settings: Settings, cases: list[Case]) -> None:
    """Ask the ``--judge`` model every ``vqa`` question of a group, one ``answer`` call per
    batch, into the evidence cache that :meth:`Observation.vqa` reads (same key)."""
    wanted = [c for c in cases if any(spec.name == "vqa" for spec in c.instance.expect)]
    if not wanted:
        return
    try:
        model = judges.vqa()
    except DetectorUnavailable:
        return  # the items skip with the reason
    jobs: dict[tuple[str, str], Job] = {}
    for case in wanted:
        outcome = harness.outcomes.get(case)
        if outcome is None or outcome.image_path is None:
            continue
        for spec in case.instance.expect:
            if spec.name == "vqa":
                question = str(getattr(spec.params, "question", ""))
                key = vqa_key(model, judges.config, question)
                _add_jobs(jobs, harness, outcome, key, question, valid_text)
    todo = list(jobs.values())

    def ask(batch: list[Job]) -> list[str]:
        answers = model.answer(_images(batch), [j[3] for j in batch], [0] * len(batch))
        if not isinstance(answers, list) or len(answers) != len(batch):
            raise TypeError(f"judge {model.name!r}: answer() must return {len(batch)} answers")
        return [str(a) for a in answers]

    size, counts = settings.batch_size, harness.throughput
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


def _prefetch_reasoning(
    harness: Harness, judges: Judges, settings: Settings, cases: list[Case]
) -> None:
    """Ask ``--text-judge`` about a group's reasonings, one call per batch, into the store."""
    try:
        judge = judges.text_judge()
    except DetectorUnavailable:
        return
    if judge is None:
        return
    store = harness.store
    prompts: dict[str, str] = {}
    for case in cases:
        prompt = reasoning_prompt(case, harness.outcomes.get(case))
        if prompt is not None:
            key = judge.key("reasoning", prompt)
            if store.get_text(key) is None:
                prompts[key] = prompt
    keys = list(prompts)

    def ask(batch: list[str]) -> list[str]:
        return judge.ask([None] * len(batch), [prompts[k] for k in batch])

    size, counts = settings.batch_size, harness.throughput
    results = run_batched(ask, keys, size, catch=MODEL_ERRORS, on_batch=_counter(counts))
    for key, answer in zip(keys, results, strict=True):
        if not isinstance(answer, Failed):
            store.put_text(key, answer, {"prompt": prompts[key], **judge.describe("reasoning")})
