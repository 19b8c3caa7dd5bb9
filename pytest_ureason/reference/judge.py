"""The reference model's answers to the yes/no judge protocol (:mod:`pytest_ureason.judge.yesno`).

With no ``--judge``, the model under test judges its own images as a stand-in; for the
reference model that is this module. It reads the target description with the scene grammar
(:mod:`pytest_ureason.scene.grammar`: ``[count] [color] object``, relations, quoted sign text; a
plural
without a count means three) and compares it with what the classical detector and OCR find:
every count (zero means absent), every stated color, the relation and the text. The reply
thinks step by step and ends in ``<answer>Yes</answer>`` or ``<answer>No</answer>``. A target
in which the grammar finds nothing to check gets no verdict tag (the verdict is undecided).

For reasoning text (no image, the ``judge_reasoning.txt`` prompt) the same comparison runs
against the scene of the refined prompt extracted from the reasoning.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pytest_ureason.conditions import extract_refined
from pytest_ureason.judge.assertions import Observation, RelationParams, evaluate
from pytest_ureason.scene.grammar import Scene, parse_scene

if TYPE_CHECKING:
    from PIL import Image


_TARGET_RE = re.compile(r"^Target description:[ \t]*(?P<target>.*)$", re.MULTILINE)
_REASONING_RE = re.compile(r"^-----\n(?P<body>[\s\S]*?)\n-----$", re.MULTILINE)


def is_judge_prompt(question: str) -> bool:
    """Whether a question is a yes/no judge evaluation prompt."""
    return "<answer>Yes</answer>" in question and _TARGET_RE.search(question) is not None


def _compare_image(target: Scene, image: Image.Image) -> list[str]:
    obs = Observation(image)
    lines: list[str] = []
    for g in target.groups:
        seen = obs.objects(g.name)
        colors = sorted({d.color for d in seen})
        note = f" ({', '.join(colors)})" if colors else ""
        ok = len(seen) == g.count and (g.color is None or all(d.color == g.color for d in seen))
        want = f"{g.count} {g.color + ' ' if g.color else ''}{g.name}"
        lines.append(f"{'ok' if ok else 'MISMATCH'}: asked {want}, I see {len(seen)}{note}")
    if target.relation is not None:
        a, rel, b = target.relation
        subject, other = target.groups[a].name, target.groups[b].name
        params = RelationParams(subject=subject, relation=rel, object=other)
        ok = evaluate("relation", params, obs).passed
        lines.append(f"{'ok' if ok else 'MISMATCH'}: the {subject} {rel} the {other}")
    read = obs.ocr.text.upper() if target.texts else ""
    for text in target.texts:
        ok = text.upper() in read
        lines.append(f'{"ok" if ok else "MISMATCH"}: the words "{text}" (read: {read!r})')
    return lines


def _compare_text(target: Scene, scene: Scene, refined: str) -> list[str]:
    groups = {g.name: g for g in scene.groups}
    lines = [f"The reasoning ends with the scene: {refined!r}."]
    for g in target.groups:
        got = groups.get(g.name)
        have = got.count if got is not None else 0
        ok = have == g.count and (g.color is None or (got is not None and got.color == g.color))
        said = f"{have}" + (f" {got.color}" if got is not None and got.color else "")
        lines.append(
            f"{'ok' if ok else 'MISMATCH'}: asked {g.count} {g.color or ''} {g.name}"
            f", the scene has {said}"
        )
    for text in target.texts:
        ok = text.upper() in (t.upper() for t in scene.texts)
        lines.append(f'{"ok" if ok else "MISMATCH"}: the words "{text}"')
    return lines


def judge_reply(image: Image.Image | None, question: str) -> str:
    """The reference model's reply to a judge evaluation prompt (see the module docstring)."""
    found = _TARGET_RE.search(question)
    target_text = found.group("target").strip() if found else ""
    target = parse_scene(target_text)
    if not target.groups and not target.texts:
        return f"I cannot tell what to look for in {target_text!r}, so I give no verdict."
    if image is not None:
        lines = _compare_image(target, image)
    else:
        body = _REASONING_RE.search(question)
        refined = extract_refined(body.group("body") if body else "").prompt
        lines = _compare_text(target, parse_scene(refined), refined)
    steps = "\n".join(f"Step {i}: {line}" for i, line in enumerate(lines, 1))
    verdict = "No" if any(line.startswith("MISMATCH") for line in lines) else "Yes"
    return f"Let me check the target description step by step.\n{steps}\n<answer>{verdict}</answer>"
