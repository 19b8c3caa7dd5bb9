"""UniSandbox-style synthetic reasoning-generation tasks, at three difficulty levels each.

* ``unisandbox-math-N`` (task ``math-dN``): a math operation decides how many objects to
  draw. Level 1: one operation; level 2: two, with parentheses; level 3: three, written partly
  in words. Results are 1..12 and never appear in the prompt (digits or words), and the
  literal reading of the prompt (:func:`pytest_ureason.scene.grammar.parse_scene`) never gets the
  count right.
* ``unisandbox-mapping-N`` (task ``mapping-dN``): a mapping defined in the prompt ("let ◆ mean
  apple") decides what to draw. Level 1: one symbol; level 2: two or three symbols, only some
  drawn (the others must be absent); level 3: a chain (``★ stands for ◆``, ``◆ means apple``)
  plus a distractor, with two symbols drawn in given counts. The objects are drawn fresh from
  the vocabulary, so the mapping cannot be memorised; the literal reading of the prompt (every
  object word it names) always fails an ``absent`` or ``count`` assertion.

Every instance is tagged ``difficulty-N``; running the conditions side by side reports
``direct`` (no chain of thought) against ``reasoning`` / ``decontext`` per difficulty, because
each difficulty is its own task.
"""

from __future__ import annotations

import random
from typing import Any

from pytest_ureason.collect.generators import draw_fresh, generator
from pytest_ureason.collect.generators.arithmetic import COUNTABLE
from pytest_ureason.reference.solvers.arithmetic import numbers_in
from pytest_ureason.reference.solvers.mapping import SYMBOLS
from pytest_ureason.scene import vocabulary
from pytest_ureason.scene.grammar import number_word, parse_scene

LEVELS = (1, 2, 3)
_OPS = {"+": lambda x, y: x + y, "−": lambda x, y: x - y, "×": lambda x, y: x * y}
_WORDS = {"+": "plus", "−": "minus", "×": "times"}


def _expression(rng: random.Random, level: int) -> tuple[str, int]:
    ops = [rng.choice("+−×") for _ in range(level)]
    nums = [rng.randint(2, 9) for _ in range(level + 1)]
    value = _OPS[ops[0]](nums[0], nums[1])
    text = f"{nums[0]} {ops[0]} {nums[1]}"
    for op, n in zip(ops[1:], nums[2:], strict=True):
        value = _OPS[op](value, n)
        text = f"({text}) {op} {n}" if level == 2 else f"({text}) {_WORDS[op]} {number_word(n)}"
    return text, value


def _math(level: int, count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(f"unisandbox-math-{level}-{seed}")
    seen: set[str] = set()
    out = []
    for index in range(count):

        def draw() -> tuple[str, str, int]:
            expr, value = _expression(rng, level)
            obj = rng.choice(COUNTABLE)
            phrasing = rng.choice(
                (
                    "Draw as many {p} as the value of {e}.",
                    "Work out {e} and draw that many {p}.",
                    "Compute {e}, then show exactly that many {p} in a picture.",
                )
            )
            return phrasing.format(p=vocabulary.plural(obj, 2), e=expr), obj, value

        def fresh(c: tuple[str, str, int]) -> bool:
            prompt, obj, value = c
            literal = parse_scene(prompt).group(obj)  # the prompt's words, read literally
            return (
                1 <= value <= 12
                and prompt not in seen
                and value not in numbers_in(prompt)
                and (literal is None or literal.count != value)
            )

        prompt, obj, value = draw_fresh(draw, fresh, tries=1000, what=f"unisandbox-math-{level}")
        seen.add(prompt)
        out.append(
            {
                "id": f"math{level}-s{seed}-{index:04d}",
                "task": f"math-d{level}",
                "prompt": prompt,
                "refined": f"A picture of {value} {vocabulary.plural(obj, value)}.",
                "expect": [{"count": {"object": obj, "op": "==", "value": value}}],
                "tags": [f"difficulty-{level}", "unisandbox", "math"],
            }
        )
    return out


def _mapping_prompt(rng: random.Random, level: int) -> tuple[str, dict[str, int], list[str]]:
    """Prompt, objects to draw with counts, distractor objects (defined, not drawn)."""
    symbols = rng.sample(SYMBOLS, 4)
    objects = rng.sample(COUNTABLE, 3)
    if level == 1:
        n = rng.randint(2, 6)
        text = f"Let {symbols[0]} mean {objects[0]}. Draw {number_word(n)} {symbols[0]}."
        return text, {objects[0]: n}, []
    if level == 2:
        n = rng.randint(2, 6)
        defs = f"Let {symbols[0]} mean {objects[0]}, {symbols[1]} mean {objects[1]}"
        defs += f" and {symbols[2]} mean {objects[2]}."
        return (
            f"{defs} Draw {number_word(n)} {symbols[1]}.",
            {objects[1]: n},
            [
                objects[0],
                objects[2],
            ],
        )
    n1, n2 = rng.sample(range(1, 6), 2)
    text = (
        f"Let {symbols[0]} stand for {symbols[1]}. Let {symbols[1]} mean {objects[0]}, "
        f"{symbols[2]} mean {objects[1]} and {symbols[3]} mean {objects[2]}. "
        f"Draw {number_word(n1)} {symbols[0]} and {number_word(n2)} {symbols[3]}."
    )
    return text, {objects[0]: n1, objects[2]: n2}, [objects[1]]


def _mapping(level: int, count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(f"unisandbox-mapping-{level}-{seed}")
    seen: set[str] = set()
    out = []
    for index in range(count):
        prompt, drawn, absent = draw_fresh(
            lambda: _mapping_prompt(rng, level),
            lambda c: c[0] not in seen,
            tries=1000,
            what=f"unisandbox-mapping-{level}",
        )
        seen.add(prompt)
        expect: list[dict[str, Any]] = [
            {"count": {"object": obj, "op": "==", "value": n}} for obj, n in drawn.items()
        ]
        expect += [{"absent": {"object": obj}} for obj in absent]
        parts = [f"{n} {vocabulary.plural(obj, n)}" for obj, n in drawn.items()]
        out.append(
            {
                "id": f"map{level}-s{seed}-{index:04d}",
                "task": f"mapping-d{level}",
                "prompt": prompt,
                "refined": f"A picture of {' and '.join(parts)}.",
                "expect": expect,
                "tags": [f"difficulty-{level}", "unisandbox", "mapping"],
            }
        )
    return out


def _register(level: int) -> None:
    @generator(f"unisandbox-math-{level}")
    def math(count: int, seed: int) -> list[dict[str, Any]]:
        return _math(level, count, seed)

    @generator(f"unisandbox-mapping-{level}")
    def mapping(count: int, seed: int) -> list[dict[str, Any]]:
        return _mapping(level, count, seed)


for _level in LEVELS:
    _register(_level)
