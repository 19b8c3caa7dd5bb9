"""Generator of the spatial family: a described arrangement after moves and rotations.

Each instance describes 3-5 distinct objects (some colored) standing in a row (left to right)
or a column (top to bottom), then 1-3 operations: swapping two objects (by name or by
position), moving one object to an end or one place along, reversing the order, or rotating
the whole arrangement by 90 or 180 degrees. Rotating a row clockwise turns it into a column
read top to bottom in the same order; rotating a column clockwise turns it into a row whose
left-to-right order is the column's bottom-to-top order.

Every operation changes the arrangement and the final reading order always differs from the
initial one, so drawing the initial arrangement (the literal reading) fails at least one
adjacency relation.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from pytest_ureason.collect.generators import draw_fresh, generator
from pytest_ureason.scene.grammar import Group, Scene, describe

Orientation = Literal["row", "column"]
Item = tuple[str, str | None]

OBJECTS = (
    "apple",
    "cup",
    "book",
    "clock",
    "vase",
    "candle",
    "lamp",
    "balloon",
    "star",
    "heart",
    "key",
    "bell",
    "hat",
    "shoe",
    "box",
    "pencil",
    "umbrella",
    "teddy bear",
    "flower",
    "bottle",
    "banana",
    "kite",
    "duck",
    "fish",
    "rabbit",
    "cat",
    "dog",
    "car",
    "bus",
    "mushroom",
    "egg",
    "leaf",
    "coin",
    "lemon",
    "mug",
    "bowl",
    "backpack",
    "bird",
)
COLORS = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "gray")
ORDINALS = ("first", "second", "third", "fourth", "fifth")


@dataclass(frozen=True)
class Layout:
    """An arrangement: its orientation and its items in reading order (left/top first)."""

    order: Orientation
    items: tuple[Item, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Object names in reading order."""
        return tuple(name for name, _ in self.items)


def mention(item: Item, article: str = "a") -> str:
    """``a red apple`` / ``an egg`` / ``the red apple``."""
    name, color = item
    words = f"{color} {name}" if color else name
    if article == "a" and words[0] in "aeiou":
        article = "an"
    return f"{article} {words}"


def listing(items: tuple[Item, ...] | list[Item], joiner: str = ", ") -> str:
    """Comma list of mentions, the last one joined with ``joiner``."""
    parts = [mention(i) for i in items]
    return ", ".join(parts[:-1]) + joiner + parts[-1]


def rotate(layout: Layout, turn: str) -> Layout:
    """Rotate the whole arrangement by ``cw``, ``ccw`` (90 degrees) or ``half`` (180)."""
    items = layout.items
    if turn == "half":
        return Layout(layout.order, items[::-1])
    # cw: row -> column keeps order; column -> row reverses. ccw: the opposite.
    keep = (layout.order == "row") == (turn == "cw")
    new: Orientation = "column" if layout.order == "row" else "row"
    return Layout(new, items if keep else items[::-1])


def _swap(items: tuple[Item, ...], i: int, j: int) -> tuple[Item, ...]:
    out = list(items)
    out[i], out[j] = out[j], out[i]
    return tuple(out)


def _move(items: tuple[Item, ...], i: int, to: int) -> tuple[Item, ...]:
    out = list(items)
    item = out.pop(i)
    out.insert(to, item)
    return tuple(out)


def _ordinal_pair(rng: random.Random, layout: Layout) -> tuple[str, int, int]:
    n = len(layout.items)
    row = layout.order == "row"
    i, j = sorted(rng.sample(range(n), 2))
    if (i, j) == (0, n - 1) and rng.random() < 0.6:
        text = rng.choice(
            ["the leftmost and the rightmost objects", "the two objects at the ends"]
            if row
            else ["the top and the bottom objects", "the two objects at the ends"]
        )
        return text, i, j
    start, end = ("left", "right") if row else ("top", "bottom")
    if rng.random() < 0.3:  # count from the other end
        a, b = n - 1 - j, n - 1 - i
        return f"the {ORDINALS[a]} and the {ORDINALS[b]} objects, counting from the {end}", i, j
    second = "last" if j == n - 1 else ORDINALS[j]
    return f"the {ORDINALS[i]} and the {second} objects (counting from the {start})", i, j


def _operation(rng: random.Random, layout: Layout) -> tuple[str, str, Layout]:
    """One random operation: (kind, text, resulting layout)."""
    n, row = len(layout.items), layout.order == "row"
    kind = rng.choice(["swap", "swap", "swap-pos", "move", "move", "step", "reverse", "rotate"])
    if kind == "swap":
        i, j = rng.sample(range(n), 2)
        a, b = mention(layout.items[i], "the"), mention(layout.items[j], "the")
        text = rng.choice(
            [
                f"swap {a} and {b}",
                f"{a} and {b} trade places",
                f"exchange {a} with {b}",
                f"switch the positions of {a} and {b}",
            ]
        )
        return kind, text, Layout(layout.order, _swap(layout.items, i, j))
    if kind == "swap-pos":
        text, i, j = _ordinal_pair(rng, layout)
        return kind, f"swap {text}", Layout(layout.order, _swap(layout.items, i, j))
    if kind == "move":
        i, to = rng.randrange(n), rng.choice([0, n - 1])
        end = ("left" if to == 0 else "right") if row else ("top" if to == 0 else "bottom")
        a = mention(layout.items[i], "the")
        noun = "row" if row else "column"
        text = rng.choice(
            [
                f"move {a} to the far {end}",
                f"put {a} at the {end} end of the {noun}",
                f"{a} moves all the way to the {end}",
            ]
            if row
            else [
                f"move {a} to the very {end}",
                f"put {a} at the {end} of the {noun}",
            ]
        )
        return kind, text, Layout(layout.order, _move(layout.items, i, to))
    if kind == "step":
        i = rng.randrange(n - 1)
        forward = rng.random() < 0.5
        src, dst = (i, i + 1) if forward else (i + 1, i)
        way = ("right" if forward else "left") if row else ("down" if forward else "up")
        place = "to the " + way if row else way
        a = mention(layout.items[src], "the")
        text = f"move {a} one {rng.choice(['place', 'position', 'step'])} {place}"
        return kind, text, Layout(layout.order, _swap(layout.items, src, dst))
    if kind == "reverse":
        noun = "row" if row else "column"
        text = rng.choice([f"reverse the order of the {noun}", "reverse the order of the objects"])
        return kind, text, Layout(layout.order, layout.items[::-1])
    turn = rng.choice(["cw", "ccw", "cw", "ccw", "half"])
    if turn == "half":
        text = rng.choice(
            [
                "rotate the whole arrangement by 180 degrees",
                "turn the whole arrangement half a turn",
            ]
        )
    else:
        way = "clockwise" if turn == "cw" else "counterclockwise"
        text = rng.choice(
            [
                f"rotate the whole arrangement 90 degrees {way}",
                f"give the whole arrangement a quarter turn {way}",
            ]
        )
    return kind, text, rotate(layout, turn)


def _intro(rng: random.Random, layout: Layout) -> str:
    items = layout.items
    if layout.order == "row":
        return rng.choice(
            [
                f"A row of objects from left to right: {listing(items)}.",
                f"On a shelf, from left to right, stand {listing(items, ' and ')}.",
                f"{listing(items, ' and ')} are lined up in a row, in this order "
                "from left to right.",
                f"From right to left, a row holds {listing(items[::-1], ' and ')}.",
            ]
        )
    return rng.choice(
        [
            f"A column of objects from top to bottom: {listing(items)}.",
            f"A stack of objects, from bottom to top: {listing(items[::-1])}.",
            "Objects are stacked in a column; from top to bottom they are "
            f"{listing(items, ' and ')}.",
        ]
    )


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:]


def _instance(rng: random.Random) -> tuple[str, Layout, Layout, list[str]]:
    n = rng.randint(3, 5)
    names = rng.sample(OBJECTS, n)
    colored = rng.random() < 0.6
    colors = rng.sample(COLORS, n) if colored else [None] * n
    start = Layout(rng.choice(["row", "row", "column"]), tuple(zip(names, colors, strict=True)))
    while True:
        layout, kinds, texts = start, [], []
        for _ in range(rng.randint(1, 3)):
            kind, text, after = _operation(rng, layout)
            if after == layout:
                continue
            layout = after
            kinds.append(kind)
            texts.append(text)
        if texts and layout.names != start.names:
            break
    if len(texts) == 1:
        ops = _sentence(texts[0]) + "."
    else:
        ops = f"First, {texts[0]}. " + " ".join(
            f"{'Finally' if k == len(texts) - 1 else 'Then'}, {t}."
            for k, t in enumerate(texts)
            if k > 0
        )
    outro = rng.choice(
        [
            "Draw the final arrangement.",
            "Draw the objects where they end up.",
            "Draw what the arrangement looks like at the end.",
        ]
    )
    return f"{_sentence(_intro(rng, start))} {ops} {outro}", start, layout, kinds


def expectations(layout: Layout) -> list[dict[str, Any]]:
    """``present`` for every object, then the relation of each adjacent pair."""
    rel = "left of" if layout.order == "row" else "above"
    expect: list[dict[str, Any]] = [{"present": {"object": n}} for n in layout.names]
    for a, b in zip(layout.names, layout.names[1:], strict=False):
        expect.append({"relation": {"subject": a, "relation": rel, "object": b}})
    return expect


def refined_prompt(layout: Layout) -> str:
    """The canonical scene prompt of a final arrangement."""
    groups = [Group(name, 1, color) for name, color in layout.items]
    return describe(Scene(groups=groups, order=layout.order))


@generator("spatial")
def generate(count: int, seed: int) -> list[dict[str, Any]]:
    """Generate ``count`` spatial instances deterministically from ``seed``."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    while len(out) < count:
        prompt, _, final, kinds = draw_fresh(
            partial(_instance, rng),
            lambda c: c[0] not in seen,
            tries=10_000,
            what="spatial generator",
        )
        seen.add(prompt)
        out.append(
            {
                "id": f"spatial-g{seed}-{len(out):04d}",
                "task": "spatial",
                "prompt": prompt,
                "refined": refined_prompt(final),
                "expect": expectations(final),
                "tags": ["generated", final.order, *sorted(set(kinds))],
            }
        )
    return out
