"""One item's verdict beyond its assertions: the reasoning verdict, and which verdicts decide.


The **reasoning verdict** of a ``reasoning`` / ``decontext`` item with an expectation sentence
says whether the reasoning reached it: by ``--text-judge MODEL`` with the same yes/no protocol
(``data/judge_reasoning.txt``; calls batched and stored like reasoning), else by the item's
derived assertions checked against the refined prompt extracted from the reasoning, read
with the same partial reading as the expectation (:func:`pytest_ureason.judge.derive.judge_text`):
one contradicted assertion makes it ``wrong``, all confirmed ``right`` (the reason names what
the expectation leaves unchecked), anything the text does not state leaves it ``undecided``,
never a guess. Without a text judge or derived assertions it is ``undecided`` too.

The functions take ``(harness, judges, settings)`` (the run's :class:`~pytest_ureason.judge.
judges.Judges`), never the runner; a group's batched judge calls are :mod:`.prefetch`'s.

**Outcome**: for items of the seed formats the yes/no judge alone decides pass or fail (the
papers' number, also the 2x2's image right/wrong); derived assertions still run, are
recorded in the verdicts as ``derived`` and ``advisory``, feed the judge-versus-detector
table, and a failing one is named in the item's reason and ``ureason_advisory`` property.
``--derived-assertions require`` (ini ``ureason_derived_assertions``) makes them decide too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_ureason.collect.items import VerdictFailure, not_judged
from pytest_ureason.conditions import NEEDS_REASONING, extract_refined
from pytest_ureason.judge.assertions import Verdict
from pytest_ureason.judge.derive import derive, judge_text
from pytest_ureason.judge.detect import DetectorUnavailable
from pytest_ureason.judge.judges import Judges
from pytest_ureason.judge.yesno import (
    JudgeFailed,
    YesNoJudge,
    parse_decision,
    render,
)
from pytest_ureason.run import paper
from pytest_ureason.run.harness import Harness, Outcome
from pytest_ureason.run.paper import expectation

if TYPE_CHECKING:
    from pytest_ureason.collect.schema import Case
    from pytest_ureason.settings import Settings


def yesno_judge(harness: Harness, judges: Judges, settings: Settings) -> YesNoJudge:
    """The yes/no judge of ``judge`` assertions: ``--judge``, else the model under test as
    stand-in.

    Raises:
        DetectorUnavailable: ``--judge`` could not be loaded.
    """
    if judges.config.judge is not None:
        return judges.yesno()
    return paper.stand_in_judge(harness, settings)


def reasoning_prompt(case: Case, outcome: Outcome | None) -> str | None:
    """The text judge's prompt about a case's reasoning, None when it has no reasoning verdict
    (no reasoning condition, no expectation sentence, or no reasoning made)."""
    target = expectation(case)
    if case.condition not in NEEDS_REASONING or target is None or outcome is None:
        return None
    if outcome.reasoning is None:
        return None
    return render("reasoning", target, outcome.reasoning)


def reasoning_verdict(
    harness: Harness, judges: Judges, case: Case, outcome: Outcome
) -> dict[str, Any] | None:
    """Whether the reasoning reached the expectation: ``{"verdict": "right" | "wrong" |
    "undecided", "by": ..., "reason": ...}``; None for items that have no reasoning verdict."""
    prompt = reasoning_prompt(case, outcome)
    if prompt is None or outcome.reasoning is None:
        return None
    judge = judges.text_judge()
    if judge is not None:
        key = judge.key("reasoning", prompt)
        answer = harness.store.get_text(key)
        if answer is None:
            answer = judge.ask([None], [prompt])[0]  # JudgeFailed names the judge
            harness.store.put_text(key, answer, {"prompt": prompt, **judge.describe("reasoning")})
        decision = parse_decision(answer)
        word = {True: "right", False: "wrong", None: "undecided"}[decision.yes]
        return {
            "verdict": word,
            "by": f"text-judge:{judge.label}",
            "template": judge.describe("reasoning")["template"],
            "reason": answer[-500:],
        }
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
    harness: Harness,
    judges: Judges,
    settings: Settings,
    case: Case,
    outcome: Outcome,
    verdicts: list[Verdict],
    props: list[Any],
) -> None:
    """Judge-versus-derived and reasoning verdicts of an item, as its properties."""
    annotate(case, verdicts, props)
    if judges.config.judge_protocols or judges.config.text_judge_protocols:
        paper.record(harness, settings, case, props)  # the papers' protocols, beside ours
    if any(spec.derived for spec in case.instance.expect):
        props.append(("ureason_derived_role", settings.derived_assertions))
        notes = advised(case, verdicts, settings)
        if notes:
            props.append(("ureason_advisory", "; ".join(v.reason for v in notes)[:2000]))
    try:
        found = reasoning_verdict(harness, judges, case, outcome)
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
