"""The ``interleaved`` condition: plan, draft, reflect, refine, for up to K rounds.

1. **plan**: the model's reasoning about the prompt (the same stored reasoning that
   ``reasoning`` and ``decontext`` share);
2. **draft**: ``generate(prompt, context=plan)``;
3. **reflection**: ``answer(draft, REFLECT_TEMPLATE)``: does the image satisfy the prompt,
   which elements violate it, and a corrected prompt;
4. **refinement**: ``generate(corrected prompt)``; then reflect on that image, and so on, for
   up to ``--rounds`` refinements. The loop stops early when a reflection finds no violation
   (or gives no corrected prompt, or does not follow the reply format at all: recorded as
   ``readable: false`` and shown as such).

Assertions judge the final image. Every draft, reflection and the round count are kept as
evidence (junit properties ``ureason_rounds``, ``ureason_interleaved``), and the runner also
judges the first draft, so the summary can say how often reflection fixed a failing draft and
how often it broke a passing one.

Each round is batched over the group's cases: one ``answer`` call for the reflections, one
``generate`` call for the refinements, both through the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_ureason.conditions import GenerationRequest
from pytest_ureason.models.batching import Failed, run_batched
from pytest_ureason.run.harness import MODEL_ERRORS, Harness, check_outputs, record_failure
from pytest_ureason.run.store import content_key, image_digest, read_rgb

if TYPE_CHECKING:
    from pytest_ureason.collect.schema import Case

DEFAULT_ROUNDS = 2
MAX_ROUNDS = 10

REFLECT_TEMPLATE = """\
Reflect on the image you drew for the prompt between the two lines of dashes.
-----
{prompt}
-----
Does the image satisfy the prompt? Reply in three parts:
Verdict: yes or no
Violations: one per line, each starting with "- " (write "- none" when there is none)
Corrected prompt: one prompt that would make the image satisfy the prompt"""

_VERDICT_RE = re.compile(r"verdict\s*[:：]\s*(yes|no)\b", re.IGNORECASE)
_VIOLATIONS_RE = re.compile(r"violations?\s*[:：]", re.IGNORECASE)
_CORRECTED_RE = re.compile(r"corrected\s+prompt\s*[:：]", re.IGNORECASE)
_NONE_RE = re.compile(r"^(none|no violations?|nothing|n/a)\.?$", re.IGNORECASE)


def reflection_question(prompt: str) -> str:
    """The reflection request for a prompt."""
    return REFLECT_TEMPLATE.format(prompt=prompt.strip())


@dataclass(frozen=True)
class Reflection:
    """A parsed reflection."""

    verdict: str | None  # "yes", "no", or None when the reply gives none
    violations: tuple[str, ...]
    corrected: str
    readable: bool = True  # False: none of the three parts was found in the reply

    @property
    def satisfied(self) -> bool:
        """No violation listed and no "no" verdict: the loop stops."""
        return not self.violations and self.verdict != "no"


def parse_reflection(text: str) -> Reflection:
    """Read verdict, violations and corrected prompt from a reflection; never raises."""
    text = str(text)[:20_000]
    verdicts = _VERDICT_RE.findall(text)
    verdict = verdicts[-1].lower() if verdicts else None
    corrected_at = [m for m in _CORRECTED_RE.finditer(text)]
    corrected = ""
    end = len(text)
    if corrected_at:
        last = corrected_at[-1]
        end = last.start()
        first = re.split(r"\n\s*\n", text[last.end() :].strip(), maxsplit=1)[0]
        corrected = " ".join(first.split())
        corrected = corrected.strip("`*\"' ")[:2000]
    violations: list[str] = []
    found = list(_VIOLATIONS_RE.finditer(text, 0, end))
    if found:
        block = text[found[-1].end() : end]
        for line in block.splitlines():
            item = line.strip().lstrip("-*•").strip()
            if item and not _NONE_RE.match(item) and not _VERDICT_RE.match(item):
                violations.append(item[:300])
    readable = verdict is not None or bool(found) or bool(corrected_at)
    return Reflection(verdict, tuple(violations[:20]), corrected, readable)


def refine(harness: Harness, cases: list[Case], rounds: int) -> None:
    """Run the reflect-refine loop on cases whose draft is in ``harness.outcomes``.

    Each case's outcome gets ``rounds`` (list of round records) and ``image_path`` (the final
    image); a failing reflection or refinement ends that case's loop with an error.
    """
    from PIL import Image

    active: list[Case] = []
    for case in cases:
        outcome = harness.outcomes[case]
        if outcome.image_path is None:
            continue
        outcome.draft_path = outcome.image_path
        outcome.rounds = [
            {
                "round": 0,
                "prompt": outcome.drawn_prompt,
                "with_plan": True,
                "image": str(outcome.image_path),
            }
        ]
        active.append(case)
    for number in range(1, rounds + 1):
        if not active:
            return
        # Reflection on the latest image of every active case, through the store.
        keys = {}
        reflections: dict[Case, str] = {}
        missing: list[Case] = []
        for case in active:
            path = harness.outcomes[case].image_path
            assert path is not None
            keys[case] = content_key(
                kind="reflect",
                image=image_digest(path),
                prompt=case.instance.prompt,
                seed=case.seed,
                **harness.identity,
            )
            text = harness.store.get_text(keys[case])
            if text is None:
                missing.append(case)
            else:
                reflections[case] = text

        def reflect(batch: list[Case]) -> list[str]:
            images: list[Image.Image | None] = []
            for c in batch:
                path = harness.outcomes[c].image_path
                assert path is not None
                images.append(read_rgb(path))
            replies = harness.model.answer(
                images,
                [reflection_question(c.instance.prompt) for c in batch],
                [c.seed for c in batch],
            )
            check_outputs("answer", replies, len(batch), str)
            return replies

        results = run_batched(
            reflect,
            missing,
            harness.batch_size,
            stats=harness.throughput.stats,
            catch=MODEL_ERRORS,
        )
        for case, result in zip(missing, results, strict=True):
            if isinstance(result, Failed):
                record_failure(harness.outcomes[case], "answer", result.error)
                continue
            harness.store.put_text(keys[case], result, {"kind": "reflection", **harness.identity})
            reflections[case] = result
        refining: list[tuple[Case, GenerationRequest, str]] = []
        for case in active:
            outcome = harness.outcomes[case]
            if case not in reflections:
                continue
            parsed = parse_reflection(reflections[case])
            record = outcome.rounds[-1] if outcome.rounds else {}
            record["reflection"] = reflections[case][:4000]
            record["violations"] = list(parsed.violations)
            record["satisfied"] = parsed.satisfied
            record["readable"] = parsed.readable
            if parsed.satisfied or not parsed.corrected:
                continue
            request = GenerationRequest(parsed.corrected)
            key = harness.image_key(case, request)
            assert outcome.rounds is not None
            outcome.rounds.append({"round": number, "prompt": parsed.corrected, "with_plan": False})
            if harness.stored(key):
                outcome.image_path = harness.store.image_path(key)
                outcome.drawn_prompt = request.prompt
                outcome.rounds[-1]["image"] = str(outcome.image_path)
                harness.throughput.reused += 1
                continue
            refining.append((case, request, key))
        if refining:
            harness.generate_batch(refining)
            for case, request, _ in refining:
                outcome = harness.outcomes[case]
                if outcome.rounds and outcome.error is None and outcome.image_path is not None:
                    outcome.rounds[-1]["image"] = str(outcome.image_path)
                    outcome.drawn_prompt = request.prompt
        active = [
            c
            for c in active
            if harness.outcomes[c].error is None
            and harness.outcomes[c].rounds
            and harness.outcomes[c].rounds[-1]["round"] == number  # type: ignore[index]
        ]


def rounds_made(records: list[dict[str, Any]] | None) -> int:
    """Refinements made (drafts after the first)."""
    return max(0, len(records or []) - 1)


def count_fixes(records: list[Any]) -> dict[str, dict[str, Any]]:
    """Per model (and per task under ``tasks``): interleaved items scored, drafts passed,
    finals passed, fixed, broken, refinements made, items refined.

    ``fixed``: the draft failed its assertions and the final image passes; ``broken``: the draft
    passed and the final image fails. Items whose draft was not judged are left out.
    """
    out: dict[str, dict[str, Any]] = {}
    for r in records:
        if r.condition != "interleaved" or r.draft is None or r.outcome not in ("passed", "failed"):
            continue
        row = out.setdefault(r.model, {**_zero(), "tasks": {}})
        for target in (row, row["tasks"].setdefault(r.task, _zero())):
            draft_ok, final_ok = r.draft == "passed", r.outcome == "passed"
            target["items"] += 1
            target["draft_passed"] += draft_ok
            target["final_passed"] += final_ok
            target["fixed"] += final_ok and not draft_ok
            target["broken"] += draft_ok and not final_ok
            target["rounds"] += r.rounds or 0
            target["refined_items"] += bool(r.rounds)
    return out


def _zero() -> dict[str, Any]:
    keys = ("items", "draft_passed", "final_passed", "fixed", "broken", "rounds", "refined_items")
    return dict.fromkeys(keys, 0)


def format_fixes(fixes: dict[str, dict[str, Any]]) -> list[str]:
    """Terminal lines of :func:`count_fixes`."""
    lines = []
    for model, row in sorted(fixes.items()):
        n = row["items"]
        failing = n - row["draft_passed"]
        lines.append(
            f"interleaved {model}: {n} items; drafts passed {row['draft_passed']}/{n}, final "
            f"{row['final_passed']}/{n}; reflection fixed {row['fixed']}/{failing} failing "
            f"drafts and broke {row['broken']}/{row['draft_passed']} passing ones; "
            f"{row['rounds']} refinements on {row['refined_items']} items "
            f"(mean {row['rounds'] / n if n else 0:.2f} rounds)"
        )
    return lines
