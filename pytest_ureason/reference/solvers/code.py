"""Solver for the code family: run the program in the safe interpreter and draw what it prints.

Recognised by a fenced Python block (```python ... ```) in the prompt. The printed line is read
with the scene grammar (``4 green cup`` -> four green cups), so a program may print any scene
description the grammar covers.
"""

from __future__ import annotations

import re

from pytest_ureason.reference.solvers import Solution
from pytest_ureason.scene.grammar import Scene, describe, parse_scene

_FENCE_RE = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)


def solve(prompt: str) -> Solution | None:
    """Run the prompt's program and turn its output into a refined prompt.

    Returns:
        None when the prompt has no fenced program, or the program fails or prints no scene.
    """
    from pytest_ureason.reference.safe_python import ProgramError, run_program

    match = _FENCE_RE.search(prompt)
    if match is None:
        return None
    source = match.group(1)
    try:
        output = run_program(source, max_steps=50_000)
    except ProgramError as exc:
        return Solution(
            "code", (f"Running the program fails: {exc}.",), "error", "An empty picture."
        )
    printed = output.strip()
    scene: Scene = parse_scene(printed)
    if not scene.groups and not scene.texts:
        return None
    lines = len(source.strip().splitlines())
    steps = (
        f"The program has {lines} lines; I trace it statement by statement.",
        f"It prints: {printed!r}.",
        "So the picture shows " + describe(scene)[0].lower() + describe(scene)[1:],
    )
    return Solution("code", steps, printed, describe(scene))
