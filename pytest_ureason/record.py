"""The results record: the contract between a run and everything that reads its results.

Each suite item carries ``ureason_*`` properties (pytest ``user_properties``, written into the
JUnit XML by ``--junitxml``). This module names every property, writes the identity of an
item, holds the one outcome rule, and reads a property set back into a :class:`Record`: the
live collector, the gate plugin, ``ureason report`` / ``ureason gate`` (from JUnit files) and
the seed-format tables all read through it. Stdlib only, at the bottom of the package.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PREFIX = "ureason_"

# The identity of an item: required on every suite item.
MODEL = "ureason_model"
CONDITION = "ureason_condition"
TASK = "ureason_task"
INSTANCE = "ureason_instance"
SEED = "ureason_seed"
REQUIRED = (MODEL, CONDITION, TASK, INSTANCE, SEED)
# Where it came from.
SUITE = "ureason_suite"
SHARD = "ureason_shard"
FINGERPRINT = "ureason_fingerprint"
# What the run made and decided.
OUTCOME = "ureason_outcome"  # passed | failed | error, as the runner decided it
REASON = "ureason_reason"
PROMPT = "ureason_prompt"
REASONING = "ureason_reasoning"
DRAWN_PROMPT = "ureason_drawn_prompt"
IMAGE = "ureason_image"
VERDICTS = "ureason_verdicts"
DETECTORS = "ureason_detectors"
MODEL_NOTES = "ureason_model_notes"
# Interleaved generation.
ROUNDS = "ureason_rounds"
INTERLEAVED = "ureason_interleaved"
REFINED_METHOD = "ureason_refined_method"
DRAFT_IMAGE = "ureason_draft_image"
DRAFT_OUTCOME = "ureason_draft_outcome"
# Understanding items.
QUESTION = "ureason_question"
EXPECTED = "ureason_expected"
ANSWER = "ureason_answer"
# Seed-format judges.
JUDGE_VERDICT = "ureason_judge_verdict"
JUDGE = "ureason_judge"
DERIVED_VERDICT = "ureason_derived_verdict"
DERIVED_COUNT = "ureason_derived_count"
DERIVED_ROLE = "ureason_derived_role"
ADVISORY = "ureason_advisory"
REASONING_VERDICT = "ureason_reasoning_verdict"
REASONING_BY = "ureason_reasoning_by"
REASONING_TEMPLATE = "ureason_reasoning_template"
REASONING_REASON = "ureason_reasoning_reason"
# A paper's protocol (read from its released script) judging the same item beside ours.
PAPER_VERDICT = "ureason_paper_verdict"  # yes | no | error
PAPER_PROTOCOL = "ureason_paper_protocol"  # NAME#sha of its templates and decoding settings
PAPER_EVIDENCE = "ureason_paper_evidence"  # JSON: templates, limits, judge, replies, parse
PAPER_REASONING_VERDICT = "ureason_paper_reasoning_verdict"  # right | wrong | error
PAPER_REASONING_PROTOCOL = "ureason_paper_reasoning_protocol"
PAPER_REASONING_EVIDENCE = "ureason_paper_reasoning_evidence"
NOT_JUDGED = "ureason_not_judged"  # skipped: its judge is not installed (what to install)
UNSCORABLE = "ureason_unscorable"  # skipped: the released record cannot be scored (why)

#: Every outcome an item can have, in display order.
OUTCOMES = ("passed", "failed", "error", "skipped")


class RecordError(ValueError):
    """A property set that is not a readable record, naming where and the property."""


@dataclass(frozen=True)
class Record:
    """The result of one suite item."""

    model: str
    condition: str
    task: str
    instance: str
    seed: int
    outcome: str  # passed | failed | error | skipped
    rounds: int | None = None  # interleaved: refinements made after the draft
    draft: str | None = None  # interleaved: the first draft's verdict (passed | failed)


def identity(
    model: str, condition: str, task: str, instance: str, seed: int, suite: str, shard: str | None
) -> list[tuple[str, object]]:
    """The properties that make a pytest item a suite item (written at collection)."""
    props: list[tuple[str, object]] = [
        (MODEL, model),
        (CONDITION, condition),
        (TASK, task),
        (INSTANCE, instance),
        (SEED, seed),
        (SUITE, suite),
    ]
    if shard is not None:
        props.append((SHARD, shard))
    return props


def shard_of(task: str, instance_id: str, shards: int) -> int:
    """The 1-based shard of an instance (its ``ureason_shard``): a stable hash of ``task/id``
    modulo the shard count. Collection filters by it; the results reader names the shard of a
    missing item with it."""
    digest = hashlib.sha256(f"{task}/{instance_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % shards + 1


def is_suite_item(props: Mapping[str, Any]) -> bool:
    """Whether a property set belongs to a suite item (plain tests carry none)."""
    return TASK in props


def outcome(state: str, props: Mapping[str, Any]) -> str:
    """The one outcome rule: pytest's state of an item (passed | failed | error | skipped)
    into the item's outcome. Only a verdict is a failure; anything else that went wrong
    (a model crash, an undecided judge, a bad image) is an error."""
    if state == "failed":
        return "failed" if props.get(OUTCOME) == "failed" else "error"
    return state


def report_outcome(
    when: str, passed: bool, failed: bool, skipped: bool, props: Mapping[str, Any]
) -> str | None:
    """The outcome of a pytest report phase; None for phases that decide nothing."""
    if when == "setup":
        if skipped:
            return "skipped"
        return "error" if failed else None
    if when == "call":
        if skipped:
            return "skipped"
        return outcome("passed" if passed else "failed", props)
    return None


def read(props: Mapping[str, Any], result: str, where: str) -> Record:
    """The record of a suite item's properties (strings from XML, or live values).

    Raises:
        RecordError: a required property is missing or malformed, naming ``where`` and it.
    """
    for name in REQUIRED:
        if name not in props:
            raise RecordError(f"{where}: property {name} is missing")
    try:
        seed = int(str(props[SEED]))
    except ValueError:
        raise RecordError(
            f"{where}: property {SEED}: not an integer: {str(props[SEED])!r}"
        ) from None
    rounds = props.get(ROUNDS)
    draft = props.get(DRAFT_OUTCOME)
    rounds_made = int(str(rounds)) if rounds is not None and str(rounds).isdigit() else None
    return Record(
        str(props[MODEL]),
        str(props[CONDITION]),
        str(props[TASK]),
        str(props[INSTANCE]),
        seed,
        result,
        rounds_made,
        str(draft) if draft is not None else None,
    )
