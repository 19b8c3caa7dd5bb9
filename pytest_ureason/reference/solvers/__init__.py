"""The reference model's program-aided reasoning: one symbolic solver per task family.

A solver reads a raw task prompt and, when the prompt belongs to its family and it can solve it,
returns a :class:`Solution`: readable reasoning steps, the final answer, and a *refined prompt*
in the scene grammar of :mod:`pytest_ureason.scene.grammar`. Solvers never ``eval``/``exec`` suite
text:
arithmetic and programs go through :mod:`pytest_ureason.reference.safe_python`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

FAMILIES = ("mapping", "code", "text", "spatial", "attribute", "arithmetic")


@dataclass(frozen=True)
class Solution:
    """A solved task: reasoning steps, final answer, refined scene prompt."""

    family: str
    steps: tuple[str, ...]
    answer: str
    refined: str


SolverFn = Callable[[str], "Solution | None"]


def solver(family: str) -> SolverFn:
    """The solver function of one family (``solve`` in
    ``pytest_ureason.reference.solvers.<family>``)."""
    module = importlib.import_module(f"{__name__}.{family}")
    fn: SolverFn = module.solve
    return fn


def solve(prompt: str) -> Solution | None:
    """Try every family's solver in turn (mapping, code, text, spatial, attribute, arithmetic).

    Returns:
        The first solution found, or None when no solver recognises the prompt.
    """
    for family in FAMILIES:
        try:
            found = solver(family)(prompt)
        except (ValueError, ArithmeticError, RecursionError):
            found = None
        if found is not None:
            return found
    return None
