"""Solver of the attribute family: infer a color or pick an object from a description.

Two kinds of inference, alone or together:

* a color: mixing paints (``mix blue and yellow paint`` gives green) or the color of a
  well-known thing (``in the color of fresh grass``), from small knowledge tables;
* a choice among listed candidates: by size (``the largest``, ``the smallest``, from the
  vocabulary's typical sizes) or by category (``the one that is a fruit``).

A prompt with neither inference is not of this family, and a prompt whose inference does not
resolve (unknown mix, several fruits, a size tie) is given up (None).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from pytest_ureason.reference.solvers import Solution
from pytest_ureason.scene import vocabulary
from pytest_ureason.scene.grammar import NUMBER_WORDS, Group, Scene, describe

MAX_CHARS = 4000

MIXES: dict[frozenset[str], str] = {
    frozenset({"blue", "yellow"}): "green",
    frozenset({"red", "yellow"}): "orange",
    frozenset({"red", "blue"}): "purple",
    frozenset({"red", "white"}): "pink",
    frozenset({"black", "white"}): "gray",
    frozenset({"red", "green"}): "brown",
    frozenset({"red", "yellow", "blue"}): "brown",
    frozenset({"blue", "orange"}): "brown",
    frozenset({"purple", "white"}): "pink",
    frozenset({"yellow", "purple"}): "brown",
}
THING_COLORS: dict[str, str] = {
    "sky": "blue",
    "clear sky": "blue",
    "ocean": "blue",
    "sea": "blue",
    "blueberry": "blue",
    "blueberries": "blue",
    "sapphire": "blue",
    "night sky": "black",
    "grass": "green",
    "lime": "green",
    "emerald": "green",
    "leaf": "green",
    "frog": "green",
    "snow": "white",
    "milk": "white",
    "polar bear": "white",
    "cloud": "white",
    "swan": "white",
    "coal": "black",
    "crow": "black",
    "raven": "black",
    "soot": "black",
    "charcoal": "black",
    "lemon": "yellow",
    "sunflower": "yellow",
    "canary": "yellow",
    "banana": "yellow",
    "butter": "yellow",
    "chocolate": "brown",
    "coffee": "brown",
    "coffee beans": "brown",
    "cinnamon": "brown",
    "mud": "brown",
    "flamingo": "pink",
    "bubblegum": "pink",
    "pumpkin": "orange",
    "tangerine": "orange",
    "carrot": "orange",
    "eggplant": "purple",
    "aubergine": "purple",
    "lavender": "purple",
    "plum": "purple",
    "storm cloud": "gray",
    "rain cloud": "gray",
    "elephant": "gray",
    "ash": "gray",
    "tomato": "red",
    "ruby": "red",
    "strawberry": "red",
    "blood": "red",
    "cherry": "red",
    "fire truck": "red",
}
CATEGORIES: dict[str, frozenset[str]] = {
    "fruit": frozenset({"apple", "banana", "orange", "lemon", "strawberry", "cherry", "grape"}),
    "vegetable": frozenset({"broccoli", "carrot"}),
    "animal": frozenset(o.name for o in vocabulary.objects() if o.category == "animal"),
    "vehicle": frozenset(o.name for o in vocabulary.objects() if o.category == "vehicle"),
    "furniture": frozenset({"chair", "couch", "bed", "dining table", "bench"}),
    "utensil": frozenset({"fork", "knife", "spoon"}),
    "device": frozenset(o.name for o in vocabulary.objects() if o.category == "electronic"),
    "clothing": frozenset({"hat", "shoe", "sock", "glove", "tie"}),
}
_CATEGORY_WORDS = {
    "fruit": "fruit",
    "vegetable": "vegetable",
    "animal": "animal",
    "vehicle": "vehicle",
    "furniture": "furniture",
    "utensil": "utensil",
    "cutlery": "utensil",
    "device": "device",
    "gadget": "device",
    "clothing": "clothing",
    "garment": "clothing",
    "clothes": "clothing",
}
_COLORS = "|".join(sorted([*vocabulary.COLOR_NAMES, "grey", "violet"], key=len, reverse=True))
_COLOR_RE = re.compile(rf"\b({_COLORS})\b")
_MIX_RE = re.compile(r"\b(?:mix\w*|blend\w*|combin\w*|stir\w*|equal parts)\b")
_ADD_RE = re.compile(r"\badd\w*\b.*\bpaint\b|\bpaint\b.*\badd\w*\b")
_LIKE_RE = re.compile(
    r"\b(?:colou?r|shade|hue|tint) (?:of|as)\b|\bcolou?red like\b|\bpainted like\b"
)
_THING_RE = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, THING_COLORS), key=len, reverse=True)) + r")s?\b"
)
_SIZE_RE = re.compile(r"\b(largest|biggest|hugest|smallest|tiniest|littlest)\b")
_CATEGORY_RE = re.compile(r"\b(" + "|".join(_CATEGORY_WORDS) + r")\b")
_SENTENCE_RE = re.compile(r"[^.!?]+[.!?]?")


class _Unsolvable(Exception):
    """An inference that does not resolve."""


@dataclass(frozen=True)
class _Mention:
    name: str
    count: int
    start: int


@cache
def _mention_re() -> re.Pattern[str]:
    objects = vocabulary.object_pattern().pattern[2:-2]
    numbers = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
    return re.compile(
        rf"\b(?:(?P<count>\d+|{numbers})\s+)?(?:(?:{_COLORS})\s+)?(?P<obj>{objects})\b"
    )


def _mentions(text: str) -> list[_Mention]:
    found: list[_Mention] = []
    for m in _mention_re().finditer(text):
        obj = vocabulary.lookup_object(m.group("obj"))
        if obj is None:
            continue
        raw = m.group("count")
        if raw is None:
            plural = m.group("obj") == obj.plural and obj.plural != obj.name
            count = 3 if plural else 1
        else:
            count = int(raw[:4]) if raw.isdigit() else NUMBER_WORDS[raw]
        found.append(_Mention(obj.name, count, m.start()))
    return found


def _mixed(text: str, steps: list[str]) -> str | None:
    """The color a paint mix gives, from the sentence that mixes."""
    for sentence in _SENTENCE_RE.findall(text):
        if not _MIX_RE.search(sentence) and not _ADD_RE.search(sentence):
            continue
        parts = {vocabulary.canonical_color(c) or c for c in _COLOR_RE.findall(sentence)}
        if len(parts) < 2:
            continue
        result = MIXES.get(frozenset(parts))
        if result is None:
            raise _Unsolvable(f"unknown mix of {', '.join(sorted(parts))}")
        steps.append(f"Mixing {' and '.join(sorted(parts))} paint gives {result}.")
        return result
    return None


def _liked(text: str, steps: list[str]) -> tuple[str, tuple[int, int]] | None:
    """The color of a named thing and the span of the phrase that names it."""
    cue = _LIKE_RE.search(text)
    if cue is None:
        return None
    window = re.split(r"[.,;:!?]", text[cue.end() : cue.end() + 60])[0]
    thing = _THING_RE.search(window)
    if thing is None or len(window[: thing.start()].split()) > 3:
        raise _Unsolvable("the color of an unknown thing")
    color = THING_COLORS[thing.group(1)]
    steps.append(f"The color of {thing.group(1)} is {color}.")
    return color, (cue.start(), cue.end() + thing.end())


def _choose(text: str, candidates: list[_Mention], steps: list[str]) -> str | None:
    """The candidate a superlative or a category picks, or None without a choice."""
    names = list(dict.fromkeys(m.name for m in candidates))
    size_word, category_word = _SIZE_RE.search(text), _CATEGORY_RE.search(text)
    if size_word is None and category_word is None:
        return None
    if len(names) < 2:
        return None
    if size_word is not None:
        sizes = {}
        for name in names:
            obj = vocabulary.lookup_object(name)
            assert obj is not None
            sizes[name] = obj.size
        largest = size_word.group(1) in ("largest", "biggest", "hugest")
        best = max(sizes.values()) if largest else min(sizes.values())
        winners = [n for n in names if sizes[n] == best]
        if len(winners) != 1:
            raise _Unsolvable("a size tie")
        listed = ", ".join(f"{n} {sizes[n]}" for n in names)
        steps.append(
            f"Typical sizes (1-9): {listed}; the {size_word.group(1)} is the {winners[0]}."
        )
        return winners[0]
    assert category_word is not None
    category = _CATEGORY_WORDS[category_word.group(1)]
    members = [n for n in names if n in CATEGORIES[category]]
    if len(members) != 1:
        raise _Unsolvable(f"{len(members)} candidates are a {category}")
    others = ", ".join(n for n in names if n != members[0])
    steps.append(f"Of {', '.join(names)}, only the {members[0]} is a {category} (not {others}).")
    return members[0]


def _infer(text: str) -> Solution | None:
    steps: list[str] = []
    mixed = _mixed(text, steps)
    liked = _liked(text, steps)
    if mixed is not None and liked is not None:
        raise _Unsolvable("two color inferences")
    color = mixed if mixed is not None else (liked[0] if liked is not None else None)
    rest = text
    if liked is not None:
        a, b = liked[1]
        rest = text[:a] + " " * (b - a) + text[b:]
    mentions = _mentions(rest)
    chosen = _choose(rest, mentions, steps)
    if chosen is not None:
        group = Group(chosen, 1, color)
        rejected = sorted({m.name for m in mentions} - {chosen})
        steps.append(f"Draw only the {chosen}; leave out the {', the '.join(rejected)}.")
    elif color is not None:
        names = {m.name for m in mentions}
        if len(names) != 1:
            return None
        group = Group(mentions[0].name, min(max(mentions[0].count, 1), 36), color)
    else:
        return None
    refined = describe(Scene(groups=[group]))
    steps.append(f"So: {refined}")
    answer = f"{group.color} {group.name}" if group.color else group.name
    return Solution("attribute", tuple(steps), answer, refined)


def solve(prompt: str) -> Solution | None:
    """Solve an attribute prompt.

    Args:
        prompt: the raw task prompt.

    Returns:
        The solution (the inferences as steps, refined scene prompt of the object to draw),
        or None when the prompt is not an attribute task or cannot be solved.
    """
    text = " ".join(prompt[:MAX_CHARS].lower().split())
    try:
        return _infer(text)
    except _Unsolvable:
        return None
