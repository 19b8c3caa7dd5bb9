"""``code`` generator: short Python programs whose printed line says what to draw.

Every program prints exactly one line ``<count> <color> <object>`` (e.g. ``4 green cup``). The
three parts are computed by the program (arithmetic, loops, string methods, dict lookups,
functions, comprehensions), every program is run through :func:`run_program` to confirm its
output, and it is leak-proof: the count never appears as a literal, and whenever the answer's
color (or object) word appears in the source, other color (object) words appear beside it.

The program templates (vocabulary, building blocks and :func:`make_program`) live in
:mod:`pytest_ureason.collect.generators.code_templates`; this module draws, runs and filters
programs
and turns them into instances.
"""

from __future__ import annotations

import ast
import random
import re
from functools import partial
from typing import Any

from pytest_ureason.collect.generators import draw_fresh, generator
from pytest_ureason.collect.generators.code_templates import COLORS, OBJECTS, make_program
from pytest_ureason.reference.safe_python import ProgramError, run_program

__all__ = [
    "COLORS",
    "NUMBER_WORDS",
    "OBJECTS",
    "PROMPT",
    "code",
    "leak_reason",
    "make_program",
    "plural",
    "refined_caption",
]

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
PROMPT = (
    "The Python program below prints a count, a color and an object. Draw exactly what it "
    "prints: that many objects of that kind, all in that color.\n```python\n{program}```"
)
_PLURALS = {"bus": "buses"}


def plural(obj: str) -> str:
    """English plural of one of :data:`OBJECTS` (``bus`` -> ``buses``, ``cup`` -> ``cups``).

    Args:
        obj: singular object name.

    Returns:
        The plural form.
    """
    return _PLURALS.get(obj, obj + "s")


def refined_caption(count: int, color: str, obj: str) -> str:
    """The caption a correct reading of the program leads to.

    Args:
        count: number of objects (1..9).
        color: their color.
        obj: singular object name.

    Returns:
        ``A picture of 4 green cups.``, or ``A picture of a green cup.`` when ``count`` is 1.
    """
    if count == 1:
        article = "an" if color[0] in "aeiou" else "a"
        return f"A picture of {article} {color} {obj}."
    return f"A picture of {count} {color} {plural(obj)}."


def _words_in(source: str, vocabulary: tuple[str, ...]) -> set[str]:
    low = source.lower()
    return {word for word in vocabulary if re.search(rf"\b{re.escape(word)}\b", low)}


def leak_reason(program: str, count: int, color: str, obj: str) -> str | None:
    """Explain why ``program`` gives its answer away.

    The count must not appear as a literal (number or string) nor as a number word, and when
    the answer's color (object) word appears in the source, another color (object) word must
    appear beside it.

    Args:
        program: program source.
        count: the printed count.
        color: the printed color.
        obj: the printed object.

    Returns:
        A short reason, or None when the program is leak-proof.
    """
    for node in ast.walk(ast.parse(program)):
        if isinstance(node, ast.Constant) and not isinstance(node.value, bool):
            if isinstance(node.value, (int, float)) and node.value == count:
                return f"count {count} appears as a literal"
            if isinstance(node.value, str) and node.value.strip() == str(count):
                return f"count {count} appears as a string literal"
    if NUMBER_WORDS[count] in _words_in(program, NUMBER_WORDS):
        return f"count word {NUMBER_WORDS[count]!r} appears"
    for answer, vocabulary in ((color, COLORS), (obj, OBJECTS)):
        found = _words_in(program, vocabulary)
        if answer in found and len(found) < 2:
            return f"{answer!r} is the only word of its kind in the source"
    return None


def _acceptable(program: str, count: int, color: str, obj: str) -> bool:
    if not 4 <= len([line for line in program.splitlines() if line.strip()]) <= 12:
        return False
    try:
        output = run_program(program)
    except ProgramError:
        return False
    return output == f"{count} {color} {obj}\n" and leak_reason(program, count, color, obj) is None


@generator("code")
def code(count: int, seed: int) -> list[dict[str, Any]]:
    """Generate ``count`` "draw what this program prints" instances.

    Args:
        count: number of instances.
        seed: seed of a private :class:`random.Random`; same seed, same instances.

    Returns:
        Raw instance dicts (``id``, ``task``, ``prompt``, ``refined``, ``expect``, ``tags``).
    """
    rng = random.Random(seed)
    instances: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i in range(count):
        n, color, obj = rng.randint(1, 9), rng.choice(COLORS), rng.choice(OBJECTS)
        program = draw_fresh(
            partial(make_program, rng, n, color, obj),
            lambda p: p not in seen and _acceptable(p, n, color, obj),  # noqa: B023
            tries=500,
            what=f"code generator ({n} {color} {obj})",
        )
        seen.add(program)
        instances.append(
            {
                "id": f"code-g{seed}-{i:04d}",
                "task": "code",
                "prompt": PROMPT.format(program=program),
                "refined": refined_caption(n, color, obj),
                "expect": [
                    {"count": {"object": obj, "op": "==", "value": n}},
                    {"color": {"object": obj, "color": color}},
                ],
                "tags": ["generated", "code"],
            }
        )
    return instances
