"""Scenes: what the reference model draws, parsed from simple English.

The grammar is small and documented here, because refined prompts are written in it:

* object mentions: ``[count] [color] object`` where count is a digit, a number word, ``a``/``an``
  (one) or ``no`` (zero): ``3 red apples``, ``a blue cup``, ``no candles``. A plural without a
  count means three, a singular without one means one. The first mention of an object wins.
* relations between two mentions: ``to the left of``, ``to the right of``, ``above``,
  ``below`` (also ``left of``, ``right of``, ``under``, ``on top of``):
  ``2 red apples to the left of a blue cup``.
* ordered arrangements: ``from left to right: a red apple, a blue cup, a clock``
  (also ``right to left``, ``top to bottom``, ``bottom to top``).
* rendered text: a quoted string in a sentence that speaks of a sign, text, word, label or
  writing: ``a sign that reads "51"``.

Parsing never fails: text the grammar does not cover is ignored, which is exactly the literal
keyword mapping the reference model uses when it draws from a raw prompt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

from pytest_ureason.scene import vocabulary

Relation = Literal["left of", "right of", "above", "below"]
RELATIONS: tuple[Relation, ...] = ("left of", "right of", "above", "below")
MAX_OBJECTS = 36

NUMBER_WORDS = {
    "zero": 0,
    "no": 0,
    "one": 1,
    "a": 1,
    "an": 1,
    "single": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
}
_NUMBER_OUT = {v: k for k, v in NUMBER_WORDS.items() if k not in ("a", "an", "no", "single")}


@dataclass
class Group:
    """``count`` objects of one class; ``color`` None means the object's default color."""

    name: str
    count: int
    color: str | None = None


@dataclass
class Scene:
    """Everything the renderer draws and the detector should find back."""

    groups: list[Group] = field(default_factory=list)
    relation: tuple[int, Relation, int] | None = None
    order: Literal["row", "column"] | None = None
    texts: list[str] = field(default_factory=list)

    def group(self, name: str) -> Group | None:
        """The group of an object class, by canonical name."""
        return next((g for g in self.groups if g.name == name), None)


def number_word(n: int) -> str:
    """English word for small numbers, digits otherwise."""
    return _NUMBER_OUT.get(n, str(n))


def _count_pattern() -> str:
    words = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
    return rf"(?:(?P<count>\d+|{words})\s+)?"


_COLOR_WORDS = "|".join(
    sorted([*vocabulary.COLOR_NAMES, "grey", "violet", "golden", "gold"], key=len, reverse=True)
)
_RELATION_CUES: tuple[tuple[str, Relation], ...] = (
    ("to the left of", "left of"),
    ("on the left of", "left of"),
    ("left of", "left of"),
    ("to the right of", "right of"),
    ("on the right of", "right of"),
    ("right of", "right of"),
    ("on top of", "above"),
    ("above", "above"),
    ("over", "above"),
    ("below", "below"),
    ("under", "below"),
    ("beneath", "below"),
    ("underneath", "below"),
)
_ORDER_RE = re.compile(
    r"from\s+(left to right|right to left|top to bottom|bottom to top)"
    r"\s*[:,]?\s*(?P<items>[^.;\n]*)",
    re.IGNORECASE,
)
_QUOTE_RE = re.compile(
    r"\"([^\"\n]{1,40})\"|“([^”\n]{1,40})”|(?<![A-Za-z])'([^'\n]{1,40})'(?![A-Za-z])"
)
_TEXT_CUE_RE = re.compile(
    r"\b(sign|signs|reads|read|says|saying|text|word|words|label|written|writes|banner|poster)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Mention:
    """One object mention: ``[count] [color] object`` at ``text[start:end]``."""

    name: str
    count: int | None
    color: str | None
    plural: bool
    start: int
    end: int


@cache
def _mention_pattern() -> re.Pattern[str]:
    objects = vocabulary.object_pattern().pattern[2:-2]
    return re.compile(
        rf"\b{_count_pattern()}(?:(?P<color>{_COLOR_WORDS})\s+)?(?P<obj>{objects})\b",
        re.IGNORECASE,
    )


def find_mentions(text: str) -> list[Mention]:
    """Every object mention in ``text``, in order (``orange`` before an object is a color)."""
    found: list[Mention] = []
    for m in _mention_pattern().finditer(text):
        word = m.group("obj")
        obj = vocabulary.lookup_object(word)
        if obj is None:
            continue
        # "orange" directly before another object word is a color, not the fruit.
        if obj.name == "orange" and m.group("color") is None:
            after = text[m.end() :].lstrip()
            nxt = vocabulary.object_pattern().match(after)
            if nxt is not None:
                continue
        raw_count = m.group("count")
        count: int | None = None
        if raw_count is not None:
            count = int(raw_count) if raw_count.isdigit() else NUMBER_WORDS[raw_count.lower()]
        color = vocabulary.canonical_color(m.group("color")) if m.group("color") else None
        is_plural = word.lower() == obj.plural and obj.plural != obj.name
        found.append(Mention(obj.name, count, color, is_plural, m.start(), m.end()))
    return found


def _relation_between(text: str) -> Relation | None:
    gap = " ".join(text.lower().split())
    for cue, relation in _RELATION_CUES:
        if re.search(rf"\b{cue}\b", gap):
            return relation
    return None


def _texts(text: str) -> list[str]:
    texts: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+|\n", text):
        if not _TEXT_CUE_RE.search(sentence):
            continue
        for m in _QUOTE_RE.finditer(sentence):
            value = next(g for g in m.groups() if g is not None).strip()
            if value and value not in texts:
                texts.append(value)
    return texts[:2]


def parse_scene(text: str) -> Scene:
    """Parse a scene description; never raises.

    Args:
        text: English scene description (a refined prompt, or any raw text).

    Returns:
        The scene: object groups (first mention wins), at most one relation, an optional
        ordered arrangement, and up to two rendered texts.
    """
    text = text[:20000]
    scene = Scene(texts=_texts(text))
    text_wo_quotes = _QUOTE_RE.sub(" ", text)
    order = _ORDER_RE.search(text_wo_quotes)
    mentions = find_mentions(text_wo_quotes)
    if order is not None:
        direction = order.group(1).lower()
        items = [m for m in mentions if order.start("items") <= m.start < order.end("items")]
        if direction in ("right to left", "bottom to top"):
            items.reverse()
        scene.order = "row" if "left" in direction else "column"
        seen: set[str] = set()
        for m in items:
            if m.name not in seen:
                seen.add(m.name)
                scene.groups.append(Group(m.name, 1, m.color))
        mentions = [m for m in mentions if m not in items]
    index: dict[str, int] = {g.name: i for i, g in enumerate(scene.groups)}
    previous: Mention | None = None
    for m in mentions:
        if m.name not in index:
            count = m.count if m.count is not None else (3 if m.plural else 1)
            index[m.name] = len(scene.groups)
            scene.groups.append(Group(m.name, max(0, min(count, MAX_OBJECTS)), m.color))
        if previous is not None and scene.relation is None and scene.order is None:
            relation = _relation_between(text_wo_quotes[previous.end : m.start])
            if relation is not None and previous.name != m.name:
                scene.relation = (index[previous.name], relation, index[m.name])
        previous = m
    _cap_total(scene)
    return scene


def _cap_total(scene: Scene) -> None:
    total = 0
    for g in scene.groups:
        g.count = max(0, min(g.count, MAX_OBJECTS - total))
        total += g.count


def describe(scene: Scene) -> str:
    """Canonical English for a scene; ``parse_scene(describe(s))`` gives ``s`` back."""

    def mention(g: Group) -> str:
        color = f"{g.color} " if g.color else ""
        noun = vocabulary.plural(g.name, g.count)
        if g.count == 0:
            return f"no {color}{noun}"
        if g.count == 1:
            article = "an" if (color or noun)[0] in "aeiou" else "a"
            return f"{article} {color}{noun}"
        return f"{g.count} {color}{noun}"

    parts: list[str] = []
    if scene.order is not None:
        direction = "left to right" if scene.order == "row" else "top to bottom"
        kind = "row" if scene.order == "row" else "column"
        items = ", ".join(mention(g) for g in scene.groups)
        parts.append(f"A {kind} of objects from {direction}: {items}.")
    elif scene.groups:
        groups = [mention(g) for g in scene.groups]
        if scene.relation is not None:
            a, rel, b = scene.relation
            rel_text = {"left of": "to the left of", "right of": "to the right of"}.get(rel, rel)
            head = f"{groups[a]} {rel_text} {groups[b]}"
            rest = [x for i, x in enumerate(groups) if i not in (a, b)]
            groups = [head, *rest]
        body = groups[0] if len(groups) == 1 else ", ".join(groups[:-1]) + " and " + groups[-1]
        parts.append(f"A picture of {body}.")
    for value in scene.texts:
        parts.append(f'A sign that reads "{value}".')
    return " ".join(parts) if parts else "An empty picture."
