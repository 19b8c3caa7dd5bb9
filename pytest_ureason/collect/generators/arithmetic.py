"""Generator of the *arithmetic* family: compute a number, then draw that many objects.

Two kinds of instance:

* ``expression`` -- an arithmetic expression with two or three operations, written with
  ASCII operators, with ``× ÷ −`` or in words (``seven plus five``), under a handful of
  phrasings, sometimes with a second object and a second expression;
* ``story`` -- a short word problem: a person starts with some objects and two or three events
  from a fixed verb lexicon change the number (give away, buy, double, split into equal piles,
  share with friends, give away half ...).

Results are 1..12. Leak-proof: no count to draw appears as a number (digits or words) anywhere
in the prompt, and the literal keyword reading of the prompt (``parse_scene``) never gets a
count right, so copying the prompt cannot pass the ``count`` assertions.
"""

from __future__ import annotations

import random
from fractions import Fraction
from functools import partial
from typing import Any

from pytest_ureason.collect.generators import draw_fresh, generator
from pytest_ureason.reference.solvers.arithmetic import numbers_in
from pytest_ureason.reference.solvers.text import UNITS
from pytest_ureason.scene import vocabulary
from pytest_ureason.scene.grammar import Group, Scene, describe, parse_scene

#: Things that are easy to count and to picture in a grid.
COUNTABLE = (
    "apple",
    "banana",
    "lemon",
    "strawberry",
    "egg",
    "donut",
    "carrot",
    "cherry",
    "pencil",
    "book",
    "balloon",
    "candle",
    "coin",
    "key",
    "flower",
    "star",
    "heart",
    "cup",
    "hat",
    "bell",
    "duck",
    "fish",
    "frog",
    "bird",
    "mushroom",
    "leaf",
    "clock",
    "umbrella",
)
FOOD = {"apple", "banana", "lemon", "strawberry", "egg", "donut", "carrot", "cherry"}
COLORS = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black")
PEOPLE = (
    ("Mia", "she", "her"),
    ("Leo", "he", "his"),
    ("Ava", "she", "her"),
    ("Sam", "he", "his"),
    ("Zoe", "she", "her"),
    ("Omar", "he", "his"),
    ("Lena", "she", "her"),
    ("Ravi", "he", "his"),
    ("Nora", "she", "her"),
    ("Hugo", "he", "his"),
    ("Iris", "she", "her"),
    ("Theo", "he", "his"),
)
EXPRESSION_TEMPLATES = (
    "Draw as many {obj} as the value of {expr}.",
    "Draw exactly {expr} {obj}.",
    "Compute {expr}, then draw that many {obj}.",
    "Let N = {expr}. Draw N {obj}.",
    "Draw a number of {obj} equal to {expr}.",
    "Work out {expr} and show that many {obj} in a picture.",
)
TWO_TEMPLATE = "Draw as many {obj} as {expr} and as many {obj2} as {expr2}."
_STYLES = {
    "ascii": {"+": "+", "-": "-", "*": "*", "/": "/"},
    "unicode": {"+": "+", "-": "−", "*": "×", "/": "÷"},
    "words": {"+": "plus", "-": "minus", "*": "times", "/": "divided by"},
}
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}

_Node = int | tuple[str, "_Node", "_Node"]


def _value(node: _Node) -> Fraction | None:
    """Exact value; None when a division is inexact or a partial result negative."""
    if isinstance(node, int):
        return Fraction(node)
    op, a, b = node
    x, y = _value(a), _value(b)
    if x is None or y is None:
        return None
    if op == "/":
        if y == 0 or (x / y).denominator != 1:
            return None
        out = x / y
    else:
        out = {"+": x + y, "-": x - y, "*": x * y}[op]
    return out if out >= 0 else None


def _render(node: _Node, style: str, parent: int = 0, right: bool = False) -> str:
    if isinstance(node, int):
        return UNITS[node] if style == "words" and node < 20 else str(node)
    op, a, b = node
    prec = _PRECEDENCE[op]
    text = f"{_render(a, style, prec)} {_STYLES[style][op]} {_render(b, style, prec, True)}"
    wrap = prec < parent or (right and prec == parent)
    return f"({text})" if wrap else text


def _tree(rng: random.Random, ops: int) -> _Node:
    node: _Node = rng.randint(2, 12)
    for _ in range(ops):
        op = rng.choice("+-*/")
        leaf = rng.randint(2, 9) if op in "*/" else rng.randint(1, 30)
        node = (op, node, leaf) if rng.random() < 0.7 else (op, leaf, node)
    return node


def _expression(rng: random.Random, style: str) -> tuple[str, int]:
    while True:
        node = _tree(rng, rng.choice((2, 2, 3)))
        value = _value(node)
        if value is not None and 1 <= value <= 12:
            return _render(node, style), int(value)


def _mention(name: str, color: str | None) -> str:
    noun = vocabulary.plural(name, 2)
    return f"{color} {noun}" if color else noun


def _expression_instance(rng: random.Random) -> tuple[str, list[Group]]:
    style = rng.choice(("ascii", "unicode", "unicode", "words"))
    names = rng.sample(COUNTABLE, 2)
    colors = [rng.choice(COLORS) if rng.random() < 0.7 else None for _ in names]
    expr, n = _expression(rng, style)
    if rng.random() < 0.2:
        expr2, n2 = _expression(rng, style)
        prompt = TWO_TEMPLATE.format(
            obj=_mention(names[0], colors[0]),
            expr=expr,
            obj2=_mention(names[1], colors[1]),
            expr2=expr2,
        )
        return prompt, [Group(names[0], n, colors[0]), Group(names[1], n2, colors[1])]
    template = rng.choice(EXPRESSION_TEMPLATES)
    prompt = template.format(obj=_mention(names[0], colors[0]), expr=expr)
    return prompt, [Group(names[0], n, colors[0])]


def _event(rng: random.Random, name: str, count: int, self_: str, poss: str) -> tuple[str, int]:
    """One story event that keeps the count a whole number from 1 to 30."""
    plural = vocabulary.plural(name, 2)
    options: list[tuple[str, int]] = []
    if count > 1:
        n = rng.randint(1, count - 1)
        verbs = ["gives away", "loses", "sells", "drops"] + (["eats"] if name in FOOD else [])
        options.append((f"{rng.choice(verbs)} {n}", count - n))
    n = rng.randint(1, 9)
    if count + n <= 30:
        verb = rng.choice(("buys", "finds", "gets", "receives"))
        options.append((f"{verb} {n} more", count + n))
    if count <= 6:
        options.append((f"doubles {poss} {plural}", count * 2))
    if count <= 4:
        options.append((f"triples {poss} {plural}", count * 3))
    if count % 2 == 0 and count >= 4:
        options.append(("gives away half of them", count // 2))
    for k in (2, 3, 4):
        if count % k == 0 and count // k >= 2:
            options.append((f"splits them into {k} equal piles and keeps one pile", count // k))
            if k > 2:
                options.append(
                    (f"shares them equally between {self_} and {k - 1} friends", count // k)
                )
    text, after = rng.choice(options)
    return text, after


def _story_instance(rng: random.Random) -> tuple[str, list[Group]]:
    who, pron, poss = rng.choice(PEOPLE)
    name = rng.choice(COUNTABLE)
    color = rng.choice(COLORS) if rng.random() < 0.5 else None
    count = rng.randint(4, 20)
    start = f"{who} has {count} {_mention(name, color)}."
    reflexive = "herself" if pron == "she" else "himself"
    events: list[str] = []
    for _ in range(rng.choice((2, 2, 3))):
        text, count = _event(rng, name, count, reflexive, poss)
        events.append(text)
    cap = pron.capitalize()
    if len(events) == 2:
        body = f"{cap} {events[0]}, then {events[1]}."
    else:
        body = f"{cap} {events[0]}. Then {pron} {events[1]} and {events[2]}."
    plural = vocabulary.plural(name, 2)
    closing = rng.choice(
        (
            f"Draw the {plural} {pron} has now.",
            f"Draw all the {plural} {who} has left.",
            f"How many {plural} does {who} have now? Draw them.",
            f"Show {who}'s {plural} at the end by drawing them.",
        )
    )
    return f"{start} {body} {closing}", [Group(name, count, color)]


def leaks(prompt: str, groups: list[Group]) -> bool:
    """Whether a count appears as a number in the prompt or its literal reading gets it right."""
    numbers = set(numbers_in(prompt))
    literal = parse_scene(prompt)
    for g in groups:
        found = literal.group(g.name)
        if g.count in numbers or (found is not None and found.count == g.count):
            return True
    return False


def expect_of(groups: list[Group]) -> list[dict[str, Any]]:
    """The assertions of a scene: a ``count`` per object and a ``color`` where one is given."""
    out: list[dict[str, Any]] = []
    for g in groups:
        out.append({"count": {"object": g.name, "op": "==", "value": g.count}})
        if g.color is not None:
            out.append({"color": {"object": g.name, "color": g.color}})
    return out


@generator("arithmetic")
def generate(count: int, seed: int) -> list[dict[str, Any]]:
    """Generate ``count`` arithmetic-family instances, deterministically from ``seed``.

    Expressions and word problems alternate.

    Args:
        count: number of instances.
        seed: seed of the expansion.

    Returns:
        Instance dicts (``id``, ``task``, ``prompt``, ``refined``, ``expect``, ``tags``).
    """
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i in range(count):
        kind = ("expression", "story")[i % 2]
        make = _expression_instance if kind == "expression" else _story_instance
        prompt, groups = draw_fresh(
            partial(make, rng),
            lambda c: (
                1 <= min(g.count for g in c[1])
                and max(g.count for g in c[1]) <= 12
                and c[0] not in seen
                and not leaks(*c)
            ),
            tries=500,
            what=f"arithmetic generator ({kind})",
        )
        seen.add(prompt)
        out.append(
            {
                "id": f"arith-g{seed}-{i:04d}",
                "task": "arithmetic",
                "prompt": prompt,
                "refined": describe(Scene(groups=groups)),
                "expect": expect_of(groups),
                "tags": ["generated", kind],
            }
        )
    return out
