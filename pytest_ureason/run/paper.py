"""The papers' protocols in a run: their verdicts on a group's items, beside ours.

For each ``--judge-protocol`` (:mod:`pytest_ureason.judge.paper_protocols`) the items of its
records (UReason's by the ``ureason`` tag; UniSandbox's math, mapping and knowledge records)
with an image and an expectation are judged again, as the paper's script judges them:

* UReason: the image and ``EVALUATION_TEMPLATE`` filled with ``expect_en`` (nothing else
  changed: no whitespace folded, no cut), one call, the reply read by the paper's parse;
* UniSandbox: stage 1 sends the image with the caption (or identification) prompt as it is;
  a refusal (``Error`` / ``Reject``) or an empty reply is a NO without stage 2; stage 2 sends,
  text only, the comparison template filled with the caption and ``Answer``, read by
  ``Score: YES|NO``.

``--text-judge-protocol ureason=...`` judges the reasoning of ``reasoning`` / ``decontext``
items of UReason records: the template filled with the record's prompt, the model's
reasoning and ``expect_en``, text only, by ``--text-judge`` (a paper protocol of reasoning
needs one). Each call goes with the script's token limit and temperature (the judge
adapter's options for them, :func:`~pytest_ureason.judge.paper_protocols.judge_args`).

Calls are batched per stage (``--batch-size``) when a group's images are ready and stored by
judge identity, stage template, image bytes and prompt, so a rerun asks nothing. Our own
protocol still decides the item; the paper's verdict is recorded in the item's properties
(``ureason_paper_verdict``, its protocol ``NAME#sha`` and evidence: every prompt's template,
each reply, the parse, and our parse of the same reply), and a judge that fails gives the
verdict ``error`` with the reason, never a pass.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ureason import record as prop
from pytest_ureason.conditions import NEEDS_REASONING
from pytest_ureason.judge.paper_parse import (
    PaperDecision,
    unisandbox_caption,
    unisandbox_score,
    ureason_decision,
)
from pytest_ureason.judge.paper_protocols import PaperProtocol, Stage, family_of, judge_args, load
from pytest_ureason.judge.yesno import YesNoJudge, bounded, model_identity, parse_decision
from pytest_ureason.models.batching import Failed, run_batched
from pytest_ureason.run.store import content_key, image_digest, read_rgb

if TYPE_CHECKING:
    from pytest_ureason.collect.schema import Case
    from pytest_ureason.models.base import UnifiedModel
    from pytest_ureason.run.harness import Harness, Outcome
    from pytest_ureason.settings import Settings


def expectation(case: Case) -> str | None:
    """The expectation of a case's ``judge`` assertion (the record's ``expect_en`` or
    ``Answer``), exactly as the record has it."""
    for spec in case.instance.expect:
        if spec.name == "judge":
            return str(getattr(spec.params, "expect", "")) or None
    return None


@dataclass
class _Judge:
    model: UnifiedModel
    label: str
    identity: dict[str, Any]
    applied: str


@dataclass
class _Verdict:
    """One item's verdict under a paper protocol, as it is being made."""

    protocol: PaperProtocol
    family: str
    stages: list[dict[str, Any]] = field(default_factory=list)
    decision: PaperDecision | None = None
    error: str | None = None
    ours: str | None = None  # our parse of the (first) reply

    def to_json(self, words: tuple[str, str]) -> dict[str, Any]:
        return {
            "protocol": self.protocol.label,
            "source": self.protocol.source,
            "family": self.family,
            "verdict": self.word(words),
            "parsed_by": self.decision.method if self.decision else None,
            "our_parse_of_the_reply": self.ours,
            "error": self.error,
            "stages": self.stages,
        }

    def word(self, words: tuple[str, str]) -> str:
        if self.error is not None or self.decision is None:
            return "error"
        return words[0] if self.decision.yes else words[1]


def stand_in_judge(harness: Harness, settings: Settings) -> YesNoJudge:
    """The model under test as its own yes/no judge (no ``--judge``): it answers through the
    harness' serialized handle; its identity names its weights path and options."""
    identity = model_identity(harness.model, settings.model_path, settings.model_args)
    return YesNoJudge(harness.judge_model, identity, stand_in=True)


def _judge(harness: Harness, settings: Settings, stage: Stage, kind: str) -> _Judge | None:
    """The judge model of a stage, with the script's token limit and temperature set; None
    when a reasoning protocol has no ``--text-judge``.

    Raises:
        DetectorUnavailable: the judge adapter failed to load.
    """
    from pytest_ureason.judge.judges import shared

    cfg = settings.judges
    if kind == "image" and cfg.judge is None:
        stand_in = stand_in_judge(harness, settings)
        note = "not applied: the model under test judges as stand-in (pass --judge)"
        return _Judge(stand_in.model, stand_in.label, stand_in.identity, note)
    if kind == "image":
        flag, name, path, args = "--judge", cfg.judge, cfg.judge_path, cfg.judge_args
    else:
        if cfg.text_judge is None:
            return None
        flag, name, path = "--text-judge", cfg.text_judge, cfg.text_judge_path
        args = cfg.text_judge_args
    assert name is not None
    full, applied = judge_args(name, args, stage.limits)
    model = shared(cfg).model(flag, name, path, full)
    label = f"{model.name}@{getattr(model, 'revision', '?')}"
    return _Judge(model, label, model_identity(model, path, dict(full)), applied)


def _ask(
    harness: Harness,
    settings: Settings,
    judge: _Judge,
    stage: Stage,
    jobs: list[tuple[Path | None, str]],
) -> list[str | BaseException]:
    """The judge's replies to ``(image or None, prompt)`` jobs: stored ones read back, the
    others asked in batches and stored."""
    from pytest_ureason.run.harness import MODEL_ERRORS

    store = harness.store
    keys = [
        content_key(
            kind="paper-judge",
            judge=judge.identity,
            stage=stage.describe(),
            limits=judge.applied,
            image=None if path is None else image_digest(path),
            prompt=prompt,
        )
        for path, prompt in jobs
    ]
    out: list[str | BaseException | None] = [store.get_text(k) for k in keys]
    first: dict[str, int] = {}
    for i, key in enumerate(keys):
        if out[i] is None:
            first.setdefault(key, i)
    todo = list(first.values())

    def ask(batch: list[int]) -> list[str]:
        images = [None if (path := jobs[i][0]) is None else read_rgb(path) for i in batch]
        answers = judge.model.answer(images, [jobs[i][1] for i in batch], [0] * len(batch))
        if not isinstance(answers, list) or len(answers) != len(batch):
            raise TypeError(f"judge {judge.label}: answer() must return {len(batch)} answers")
        return [str(a) for a in answers]

    results = run_batched(ask, todo, settings.batch_size, catch=MODEL_ERRORS)
    for i, result in zip(todo, results, strict=True):
        if isinstance(result, Failed):
            out[i] = result.error
        else:
            out[i] = result
            meta = {"prompt": jobs[i][1], "stage": stage.describe(), "judge": judge.label}
            store.put_text(keys[i], result, meta)
    for i, key in enumerate(keys):
        if out[i] is None:
            out[i] = out[first[key]]
    return [o if o is not None else RuntimeError("no reply") for o in out]


def _stage_record(stage: Stage, judge: _Judge, prompt: str, reply: str | None) -> dict[str, Any]:
    return {
        "template": stage.describe(),
        "limits": judge.applied,
        "judge": judge.label,
        "image": stage.image,
        "prompt_sha": hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:12],
        "reply": bounded(reply) if reply is not None else None,
    }


#: Our own yes/no parse of a judge's reply, as recorded beside the paper's decision.
_OURS = {True: "yes", False: "no", None: "undecided"}


def _text(verdict: _Verdict, reply: str | BaseException) -> str | None:
    """The reply's text; None, with the verdict's error set, when the judge failed."""
    if isinstance(reply, BaseException):
        verdict.error = f"judge failed: {type(reply).__name__}: {reply}"[:2000]
        return None
    return reply


def judge_images(
    harness: Harness, settings: Settings, protocol: PaperProtocol, cases: list[Case]
) -> dict[Case, _Verdict]:
    """The verdicts of ``protocol`` on the images of ``cases`` it judges (see the module
    docstring)."""
    from pytest_ureason.judge.detect import DetectorUnavailable

    todo: list[tuple[Case, str, Path, str]] = []
    for case in cases:
        family = family_of(case.instance.tags, protocol.name)
        outcome = harness.outcomes.get(case)
        target = expectation(case)
        if family is None or target is None or outcome is None or outcome.image_path is None:
            continue
        todo.append((case, family, outcome.image_path, target))
    verdicts = {case: _Verdict(protocol, family) for case, family, _, _ in todo}
    for family in sorted({f for _, f, _, _ in todo}):
        mine = [t for t in todo if t[1] == family]
        stages = protocol.stages(family)
        try:
            judges = [_judge(harness, settings, s, "image") for s in stages]
        except DetectorUnavailable as exc:
            for case, *_ in mine:
                verdicts[case].error = str(exc)
            continue
        first, j1 = stages[0], judges[0]
        assert j1 is not None
        prompts = [first.template.fill(description=t) for *_, t in mine]
        replies = _ask(
            harness,
            settings,
            j1,
            first,
            [(path, p) for (_, _, path, _), p in zip(mine, prompts, strict=True)],
        )
        second: list[tuple[Case, str, str]] = []  # (case, stage-2 prompt, stage-1 reply)
        for (case, _, _, target), prompt, reply in zip(mine, prompts, replies, strict=True):
            v = verdicts[case]
            text = _text(v, reply)
            v.stages.append(_stage_record(first, j1, prompt, text))
            if text is None:
                continue
            v.ours = _OURS[parse_decision(text).yes]
            if len(stages) == 1:
                v.decision = ureason_decision(text)
                continue
            caption = unisandbox_caption(family, text)
            if caption is None:
                v.decision = PaperDecision(False, "stage 1 refused (Error/Reject or empty)")
                continue
            slot, answer_slot = stages[1].template.fields
            second.append(
                (case, stages[1].template.fill(**{slot: caption, answer_slot: target}), text)
            )
        if not second:
            continue
        j2 = judges[1]
        assert j2 is not None
        replies2 = _ask(harness, settings, j2, stages[1], [(None, p) for _, p, _ in second])
        for (case, prompt, _), reply in zip(second, replies2, strict=True):
            v = verdicts[case]
            text = _text(v, reply)
            v.stages.append(_stage_record(stages[1], j2, prompt, text))
            if text is not None:
                v.decision = unisandbox_score(text)
                v.ours = None  # our parse reads yes/no tags, not the score line
    return verdicts


def judge_reasoning(
    harness: Harness, settings: Settings, protocol: PaperProtocol, cases: list[Case]
) -> dict[Case, _Verdict]:
    """The verdicts of a reasoning protocol on the reasoning of ``cases`` (items of its
    records under a condition with reasoning)."""
    from pytest_ureason.judge.detect import DetectorUnavailable

    todo: list[tuple[Case, str, str]] = []
    for case in cases:
        family = family_of(case.instance.tags, protocol.name)
        outcome: Outcome | None = harness.outcomes.get(case)
        target = expectation(case)
        if (
            family is None
            or target is None
            or case.condition not in NEEDS_REASONING
            or outcome is None
            or outcome.reasoning is None
        ):
            continue
        stage = protocol.stages(family)[0]
        values = {"user_prompt": case.instance.prompt, "model_thought": outcome.reasoning}
        todo.append((case, family, stage.template.fill(**values, criteria=target)))
    verdicts = {case: _Verdict(protocol, family) for case, family, _ in todo}
    if not todo:
        return verdicts
    stage = protocol.stages(todo[0][1])[0]
    try:
        judge = _judge(harness, settings, stage, "reasoning")
    except DetectorUnavailable as exc:
        for v in verdicts.values():
            v.error = str(exc)
        return verdicts
    if judge is None:
        for v in verdicts.values():
            v.error = "a reasoning protocol needs --text-judge MODEL"
        return verdicts
    replies = _ask(harness, settings, judge, stage, [(None, p) for _, _, p in todo])
    for (case, _, prompt), reply in zip(todo, replies, strict=True):
        v = verdicts[case]
        text = _text(v, reply)
        v.stages.append(_stage_record(stage, judge, prompt, text))
        if text is not None:
            v.decision = ureason_decision(text)
            v.ours = _OURS[parse_decision(text).yes]
    return verdicts


def _protocols(settings: Settings) -> tuple[list[PaperProtocol], list[PaperProtocol]]:
    cfg = settings.judges
    images = [load(spec, "image") for spec in cfg.judge_protocols]
    texts = [load(spec, "reasoning") for spec in cfg.text_judge_protocols]
    return images, texts


def prefetch(harness: Harness, settings: Settings, cases: list[Case]) -> None:
    """Ask every paper protocol's judge about a prepared group, batched (the replies are
    stored; the items read them)."""
    images, texts = _protocols(settings)
    for protocol in images:
        judge_images(harness, settings, protocol, cases)
    for protocol in texts:
        judge_reasoning(harness, settings, protocol, cases)


def record(harness: Harness, settings: Settings, case: Case, props: list[Any]) -> None:
    """The item's verdicts under the paper protocols, as its properties."""
    images, texts = _protocols(settings)
    for protocol in images:
        found = judge_images(harness, settings, protocol, [case]).get(case)
        if found is not None:
            props.append((prop.PAPER_VERDICT, found.word(("yes", "no"))))
            props.append((prop.PAPER_PROTOCOL, protocol.label))
            props.append((prop.PAPER_EVIDENCE, _json(found.to_json(("yes", "no")))))
    for protocol in texts:
        found = judge_reasoning(harness, settings, protocol, [case]).get(case)
        if found is not None:
            props.append((prop.PAPER_REASONING_VERDICT, found.word(("right", "wrong"))))
            props.append((prop.PAPER_REASONING_PROTOCOL, protocol.label))
            props.append((prop.PAPER_REASONING_EVIDENCE, _json(found.to_json(("right", "wrong")))))


def _json(data: dict[str, Any], limit: int = 16000) -> str:
    text = json.dumps(data, ensure_ascii=False)
    if len(text) <= limit:
        return text
    for stage in data.get("stages", []):
        if isinstance(stage.get("reply"), str):
            stage["reply"] = bounded(stage["reply"], 2000)
    return json.dumps(data, ensure_ascii=False)[: limit * 2]
