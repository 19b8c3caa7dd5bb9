"""Generator of the attribute family: an attribute inferred from a description.

Templates:

* ``mix``: an object painted in the color that mixing two or three paints gives
  (blue + yellow = green, ...); the color words in the prompt are the ingredients only.
* ``like``: an object in the color of a well-known thing (fresh grass, coal, a flamingo, ...).
* ``size``: the largest or smallest of a few candidates with clearly different sizes.
* ``kind``: the one candidate that belongs to a category (a fruit, a vehicle, ...).
* ``combo``: a chosen candidate drawn in an inferred color.

Leak-proofing: the inferred color never appears as a word in the prompt and differs from the
object's default color (so drawing the object plainly fails ``color``), and candidate choices
list every candidate (so drawing them all fails ``absent``).
"""

from __future__ import annotations

import random
import re
from functools import partial
from typing import Any

from pytest_ureason.collect.generators import draw_fresh, generator
from pytest_ureason.scene import vocabulary
from pytest_ureason.scene.grammar import Group, Scene, describe

MIXES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("blue", "yellow"), "green"),
    (("red", "yellow"), "orange"),
    (("red", "blue"), "purple"),
    (("red", "white"), "pink"),
    (("black", "white"), "gray"),
    (("red", "green"), "brown"),
    (("red", "yellow", "blue"), "brown"),
)
THINGS: tuple[tuple[str, str], ...] = (
    ("a clear sky", "blue"),
    ("the ocean", "blue"),
    ("a blueberry", "blue"),
    ("fresh grass", "green"),
    ("a lime", "green"),
    ("an emerald", "green"),
    ("fresh snow", "white"),
    ("milk", "white"),
    ("a polar bear", "white"),
    ("coal", "black"),
    ("a crow", "black"),
    ("soot", "black"),
    ("a ripe lemon", "yellow"),
    ("a sunflower", "yellow"),
    ("a canary", "yellow"),
    ("chocolate", "brown"),
    ("coffee beans", "brown"),
    ("cinnamon", "brown"),
    ("a flamingo", "pink"),
    ("bubblegum", "pink"),
    ("a pumpkin", "orange"),
    ("a tangerine", "orange"),
    ("a carrot", "orange"),
    ("an eggplant", "purple"),
    ("lavender", "purple"),
    ("a plum", "purple"),
    ("a storm cloud", "gray"),
    ("an elephant", "gray"),
    ("ash", "gray"),
    ("a ripe tomato", "red"),
    ("a ruby", "red"),
    ("a ripe strawberry", "red"),
)
TARGETS = (
    "car",
    "balloon",
    "cup",
    "umbrella",
    "hat",
    "vase",
    "chair",
    "bicycle",
    "kite",
    "bus",
    "star",
    "heart",
    "book",
    "clock",
    "lamp",
    "bird",
    "cat",
    "box",
    "shoe",
    "bottle",
    "teddy bear",
    "mug",
    "backpack",
    "candle",
    "flower",
    "fish",
    "key",
    "bell",
    "boat",
    "house",
)
ANIMALS = (
    "bird",
    "cat",
    "dog",
    "horse",
    "sheep",
    "elephant",
    "bear",
    "rabbit",
    "frog",
    "pig",
    "duck",
    "giraffe",
    "cow",
)
THINGS_BY_SIZE = (
    "key",
    "spoon",
    "coin",
    "cup",
    "apple",
    "book",
    "hat",
    "umbrella",
    "chair",
    "bicycle",
    "car",
    "bed",
    "bus",
    "truck",
    "house",
    "tree",
    "airplane",
    "train",
)
CATEGORIES: dict[str, tuple[str, ...]] = {
    "a fruit": ("apple", "banana", "lemon", "strawberry", "cherry", "grape"),
    "a vegetable": ("broccoli", "carrot"),
    "an animal": (
        "cat",
        "dog",
        "horse",
        "cow",
        "elephant",
        "bear",
        "zebra",
        "rabbit",
        "duck",
        "frog",
        "pig",
        "lion",
        "sheep",
        "bird",
        "fish",
    ),
    "a vehicle": ("car", "bus", "bicycle", "motorcycle", "truck", "train", "airplane", "boat"),
    "a piece of furniture": ("chair", "couch", "bed"),
    "a kitchen utensil": ("fork", "knife", "spoon"),
    "an electronic device": ("laptop", "tv", "cell phone", "keyboard"),
    "a piece of clothing": ("hat", "shoe", "sock", "glove"),
}
NEUTRAL = (
    "book",
    "clock",
    "vase",
    "lamp",
    "candle",
    "key",
    "bell",
    "kite",
    "balloon",
    "star",
    "heart",
    "pencil",
    "coin",
)


def _a(name: str, count: int = 1) -> str:
    if count != 1:
        return f"{count} {vocabulary.plural(name, count)}"
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _listing(names: list[str], last: str = "and") -> str:
    parts = [_a(n) for n in names]
    return ", ".join(parts[:-1]) + f" {last} " + parts[-1]


def _default(name: str) -> str:
    obj = vocabulary.lookup_object(name)
    assert obj is not None, name
    return obj.default_color


def _colour(rng: random.Random, avoid: str, plain: bool = False) -> tuple[str, str, str]:
    """(kind, phrase, color): a color inference whose result differs from ``avoid``.

    ``plain`` leaves out well-known things that are themselves drawable objects.
    """
    if rng.random() < 0.5:
        parts, color = rng.choice([m for m in MIXES if m[1] != avoid])
        parts = tuple(rng.sample(parts, len(parts)))
        paints = (
            " and ".join(parts) if len(parts) == 2 else f"{parts[0]}, {parts[1]} and {parts[2]}"
        )
        return (
            "mix",
            rng.choice(
                [
                    f"in the color you get by mixing {paints} paint",
                    f"in the color that {paints} paint make when mixed",
                    f"painted with a blend of {paints} paint",
                ]
            ),
            color,
        )
    things = [t for t in THINGS if t[1] != avoid]
    if plain:
        things = [t for t in things if not vocabulary.object_pattern().search(t[0])]
    thing, color = rng.choice(things)
    return (
        "like",
        rng.choice(
            [
                f"in the color of {thing}",
                f"in the same color as {thing}",
                f"colored like {thing}",
            ]
        ),
        color,
    )


def _choice(rng: random.Random) -> tuple[str, str, str, list[str]]:
    """(noun phrase, which-question, answer, candidates) for a size or category choice."""
    if rng.random() < 0.5:
        largest = rng.random() < 0.5
        animals = rng.random() < 0.5
        pool, gap = (ANIMALS, 2) if animals else (THINGS_BY_SIZE, 3)
        while True:
            names = rng.sample(pool, rng.randint(3, 4))
            size = {n: _size(n) for n in names}
            best = (max if largest else min)(names, key=lambda n: size[n])
            rivals = [size[n] for n in names if n != best]
            if all(abs(size[best] - s) >= gap for s in rivals):
                break
        word = rng.choice(["largest", "biggest"] if largest else ["smallest", "tiniest"])
        noun = "animal" if animals else "one"
        return f"the {word} {noun}", f"Which is the {word}", best, names
    category = rng.choice(sorted(CATEGORIES))
    members = CATEGORIES[category]
    best = rng.choice(members)
    others = [n for c, ms in CATEGORIES.items() if c != category for n in ms]
    others = sorted(set(others + list(NEUTRAL)) - set(members))
    names = [best, *rng.sample(others, rng.randint(2, 3))]
    rng.shuffle(names)
    return f"the one that is {category}", f"Which one is {category}", best, names


def _size(name: str) -> int:
    obj = vocabulary.lookup_object(name)
    assert obj is not None, name
    return obj.size


def _instance(rng: random.Random) -> tuple[str, str, Group, list[str]]:
    """(kind, prompt, group to draw, rejected candidates)."""
    kind = rng.choice(["mix", "like", "choice", "choice", "combo"])
    if kind in ("mix", "like"):
        name = rng.choice(TARGETS)
        count = rng.choice([1, 1, 1, 2, 3, 4])
        how, phrase, color = _colour(rng, _default(name))
        prompt = rng.choice(
            [f"Draw {_a(name, count)} {phrase}.", f"Show {_a(name, count)} {phrase}."]
        )
        return how, prompt, Group(name, count, color), []
    question, which, best, names = _choice(rng)
    rejected = [n for n in names if n != best]
    if kind == "choice":
        prompt = rng.choice(
            [
                f"Among {_listing(names)}, draw only {question}.",
                f"Draw only {question} among {_listing(names)}.",
                f"Here are {_listing(names)}. Draw just {question}, and leave the others out.",
                f"{which}: {_listing(names, 'or')}? Draw only that one.",
            ]
        )
        return "choice", prompt, Group(best, 1, None), rejected
    _, phrase, color = _colour(rng, _default(best), plain=True)
    prompt = rng.choice(
        [
            f"Among {_listing(names)}, draw only {question}, {phrase}.",
            f"Pick {question} from {_listing(names)} and draw only it, {phrase}.",
        ]
    )
    return "combo", prompt, Group(best, 1, color), rejected


def expectations(group: Group, rejected: list[str]) -> list[dict[str, Any]]:
    """Assertions for the object to draw and the candidates to leave out."""
    expect: list[dict[str, Any]] = []
    if rejected:
        expect.append({"present": {"object": group.name}})
    else:
        expect.append({"count": {"object": group.name, "op": "==", "value": group.count}})
    if group.color is not None:
        expect.append({"color": {"object": group.name, "color": group.color}})
    expect += [{"absent": {"object": n}} for n in rejected]
    return expect


def leaks(prompt: str, group: Group) -> bool:
    """Whether the inferred color can be copied from the prompt."""
    if group.color is None:
        return False
    words = set(re.findall(r"[a-z]+", prompt.lower()))
    aliases = {"gray": {"gray", "grey"}, "purple": {"purple", "violet"}}
    return bool(words & aliases.get(group.color, {group.color})) or (
        _default(group.name) == group.color
    )


@generator("attribute")
def generate(count: int, seed: int) -> list[dict[str, Any]]:
    """Generate ``count`` attribute instances deterministically from ``seed``."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    while len(out) < count:
        kind, prompt, group, rejected = draw_fresh(
            partial(_instance, rng),
            lambda c: c[1] not in seen and not leaks(c[1], c[2]),
            tries=10_000,
            what="attribute generator",
        )
        seen.add(prompt)
        out.append(
            {
                "id": f"attr-g{seed}-{len(out):04d}",
                "task": "attribute",
                "prompt": prompt,
                "refined": describe(Scene(groups=[group])),
                "expect": expectations(group, rejected),
                "tags": ["generated", kind],
            }
        )
    return out
