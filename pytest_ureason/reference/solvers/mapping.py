"""Solver of the *mapping* family: symbols defined in the prompt decide what to draw.

A prompt defines symbols (``Let ◆ mean apple.``, ``★ stands for ◆.``; a symbol is one of
:data:`SYMBOLS`), possibly in a chain, then asks to draw some of them
(``Draw three ◆ and no ★.``). The solver resolves every symbol to an object, rewrites the
drawing instruction with object names, and reads it as a scene (through the other solvers
first, so an instruction like ``Draw as many ◆ as 2 + 3.`` is computed). A prompt without
definitions is not of this family; a symbol that resolves to nothing (or to a cycle) gives up.
"""

from __future__ import annotations

import re

from pytest_ureason.reference.solvers import Solution
from pytest_ureason.reference.solvers import solve as solve_any
from pytest_ureason.scene import vocabulary
from pytest_ureason.scene.grammar import NUMBER_WORDS, describe, parse_scene

SYMBOLS = "◆★●▲■♣♥☀☾✿"
_SYM = f"[{SYMBOLS}]"
_DEF_RE = re.compile(
    rf"(?:let\s+)?(?P<sym>{_SYM})\s+(?:mean|means|stand\s+for|stands\s+for|denote|denotes)"
    rf"\s+(?:an?\s+|the\s+)?(?P<target>{_SYM}|[a-z][a-z ]*?)(?=\s*(?:[,.;]|\band\b|$))",
    re.IGNORECASE,
)
_NUMBER_BEFORE = re.compile(r"(\d+|[a-z]+)\s*$", re.IGNORECASE)


def _resolve(symbol: str, table: dict[str, str], depth: int = 0) -> str | None:
    target = table.get(symbol)
    if target is None or depth > len(table):
        return None
    if target in table:
        return _resolve(target, table, depth + 1)
    found = vocabulary.lookup_object(target)
    return found.name if found is not None else None


def solve(prompt: str) -> Solution | None:
    """Solve a mapping prompt, or None when it is not one (or cannot be resolved)."""
    text = prompt[:4000]
    table: dict[str, str] = {}
    for m in _DEF_RE.finditer(text):
        table[m.group("sym")] = m.group("target").strip().lower()
    if not table:
        return None
    steps = [f"{s} is defined as {t}" for s, t in table.items()]
    resolved: dict[str, str] = {}
    for symbol in table:
        name = _resolve(symbol, table)
        if name is None:
            return None
        resolved[symbol] = name
        if table[symbol] != name:
            steps.append(f"following the chain, {symbol} means {name}")
    sentences = re.split(r"(?<=[.!?])\s+", _DEF_RE.sub(" ", text))
    ask = " ".join(s for s in sentences if re.search(_SYM, s)).strip()
    if not ask:
        return None

    def name_of(m: re.Match[str]) -> str:
        before = _NUMBER_BEFORE.search(ask[: m.start()])
        word = before.group(1).lower() if before else ""
        count = int(word) if word.isdigit() else NUMBER_WORDS.get(word, 2)
        return vocabulary.plural(resolved.get(m.group(0), m.group(0)), count)

    rewritten = re.sub(_SYM, name_of, ask)
    steps.append(f"the instruction reads: {rewritten}")
    inner = solve_any(rewritten) if not re.search(_SYM, rewritten) else None
    scene = parse_scene(inner.refined if inner is not None else rewritten)
    if not scene.groups:
        return None
    refined = describe(scene)
    return Solution("mapping", tuple(steps), refined.removeprefix("A picture of "), refined)
