"""Solver of the spatial family: replay moves and rotations on a described arrangement.

The first sentence that lays objects out along a direction (``from left to right``,
``from bottom to top``, ...) or by place (``on the left ... in the middle ... on the right``)
gives the initial arrangement. Every later clause that names an operation is applied in turn:
swaps (by name, by color or by position), moves to an end or one place along, reversals and
rotations by 90 or 180 degrees. A prompt without both an arrangement and an operation is not
of this family, and one with an operation the solver cannot read is given up (None).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Literal

from pytest_ureason.reference.solvers import Solution
from pytest_ureason.scene import vocabulary
from pytest_ureason.scene.grammar import Group, Scene, describe

Orientation = Literal["row", "column"]
MAX_CHARS = 4000

_DIRECTION_RE = re.compile(r"\b(left to right|right to left|top to bottom|bottom to top)\b")
_PLACE_RE = re.compile(
    r"\b(?:on|at|to) the (?:far |very )?(left|right|top|bottom)\b|\bin the (middle|center|centre)\b"
)
_SPLIT_RE = re.compile(
    r"(?<=[.!?])\s+|;|\bthen\b|\bafter that\b|\bafterwards\b|\bfinally\b|\blastly\b|\bnext\b"
    r"|,\s*and\s+"
)
_LEAD_RE = re.compile(r"^[\s,]*(?:(?:first|firstly|second|secondly|now|and|last|at last)\b,?\s*)+")
_ROTATE_RE = re.compile(r"\b(?:rotat\w*|turn\w*|spin\w*|twist\w*)\b")
_SWAP_RE = re.compile(
    r"\b(?:swap\w*|switch\w*|exchang\w*|interchang\w*|trade[sd]?|trading|change places)\b"
)
_MOVE_RE = re.compile(
    r"\b(?:mov\w*|put\w*|plac\w*|slid\w*|shift\w*|bring\w*|brought|tak\w*|goes|go|went"
    r"|jump\w*|hop\w*|step\w*|carr\w*|push\w*|relocat\w*|transfer\w*)\b"
)
_REVERSE_RE = re.compile(r"\b(?:revers\w*|invert\w*|mirror\w*|flip\w*|backwards?)\b")
_END_RE = re.compile(
    r"\b(?:to|at|on|onto|into)\s+the\s+(?:very\s+|far\s+|extreme\s+)?"
    r"(left|right|top|bottom|beginning|start|end)(?:most)?"
    r"(?:\s+(?:end|side|edge|position|place|spot|slot))?"
    r"(?:\s+of\s+the\s+(?:row|column|line|stack|shelf|arrangement|tower))?\b"
    r"|\bto\s+the\s+(leftmost|rightmost|topmost|bottommost|first|last)\s+"
    r"(?:position|place|spot|slot)\b"
)
_STEP_RE = re.compile(
    r"\bone\s+(?:place|position|step|spot|slot|space)\s+(?:to\s+the\s+)?"
    r"(left|right|up|down|higher|lower)\b"
)
_COUNTING_RE = re.compile(
    r",?\s*\(?\s*(?:counting|counted|starting|numbering)?\s*from\s+the\s+"
    r"(left|right|top|bottom)\s*\)?"
)
_ENDS_RE = re.compile(
    r"\b(?:the\s+)?(?:two\s+)?(?:objects?\s+|items?\s+|ones?\s+)?at\s+(?:both|the two|either|the)"
    r"\s+ends\b|\btwo end (?:objects|items)\b"
)
_FIRST_TWO_RE = re.compile(r"\b(first|last) two\b")
_ORDINAL = {"first": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4, "sixth": 5}
_POSITION_RE = re.compile(
    r"\b(second[ -]to[ -]last|next[ -]to[ -]last|penultimate|first|second|third|fourth|fifth"
    r"|sixth|last|leftmost|rightmost|topmost|uppermost|highest|bottommost|lowest|top|bottom"
    r"|middle|center|centre)\b"
)
_COLOR_WORDS = "|".join(sorted([*vocabulary.COLOR_NAMES, "grey", "violet"], key=len, reverse=True))
_COLOR_ONE_RE = re.compile(rf"\bthe ({_COLOR_WORDS}) (?:one|object|item)\b")


class _Unsolvable(Exception):
    """An operation clause the solver cannot read."""


@dataclass(frozen=True)
class _Mention:
    name: str
    color: str | None
    start: int
    end: int


@cache
def _mention_re() -> re.Pattern[str]:
    objects = vocabulary.object_pattern().pattern[2:-2]
    return re.compile(rf"\b(?:(?P<color>{_COLOR_WORDS})\s+)?(?P<obj>{objects})\b", re.IGNORECASE)


def _mentions(text: str) -> list[_Mention]:
    found: list[_Mention] = []
    for m in _mention_re().finditer(text):
        obj = vocabulary.lookup_object(m.group("obj"))
        if obj is not None:
            color = vocabulary.canonical_color(m.group("color")) if m.group("color") else None
            found.append(_Mention(obj.name, color, m.start(), m.end()))
    return found


@dataclass
class _State:
    order: Orientation
    items: list[tuple[str, str | None]]

    def show(self) -> str:
        way = "left to right" if self.order == "row" else "top to bottom"
        return f"{self.order} ({way}): " + ", ".join(n for n, _ in self.items)


def _arrangement(sentences: list[str]) -> tuple[_State, str] | None:
    """The initial arrangement and the text that follows it, or None."""
    for k, sentence in enumerate(sentences):
        direction = _DIRECTION_RE.search(sentence)
        if direction is not None:
            cut = _SPLIT_RE.search(sentence, direction.end())
            head = sentence[: cut.start()] if cut else sentence
            tail = sentence[cut.end() :] if cut else ""
            mentions = _mentions(head)
            items = [(m.name, m.color) for m in mentions]
            if direction.group(1) in ("right to left", "bottom to top"):
                items.reverse()
            order: Orientation = "row" if "left" in direction.group(1) else "column"
        else:
            state = _by_places(sentence)
            if state is None:
                continue
            order, items, tail = state.order, state.items, ""
        names = [n for n, _ in items]
        if len(names) < 2 or len(set(names)) != len(names):
            return None
        return _State(order, items), " ".join([tail, *sentences[k + 1 :]])
    return None


def _by_places(sentence: str) -> _State | None:
    """``a cat on the left, a dog in the middle and a bird on the right``."""
    places = list(_PLACE_RE.finditer(sentence))
    mentions = _mentions(_PLACE_RE.sub(lambda m: " " * len(m.group(0)), sentence))
    if len(places) not in (2, 3) or len(mentions) != len(places):
        return None
    words = [p.group(1) or "middle" for p in places]
    row = {"left", "right"} & set(words)
    column = {"top", "bottom"} & set(words)
    if bool(row) == bool(column):
        return None
    rank = {"left": 0, "top": 0, "middle": 1, "right": 2, "bottom": 2}
    if sorted(rank[w] for w in words) not in ([0, 1, 2], [0, 2]):
        return None
    pairs = sorted(zip((rank[w] for w in words), mentions, strict=True), key=lambda p: p[0])
    return _State("row" if row else "column", [(m.name, m.color) for _, m in pairs])


def _blank(text: str, match: re.Match[str]) -> str:
    return text[: match.start()] + " " * (match.end() - match.start()) + text[match.end() :]


def _position(word: str, state: _State, from_end: bool) -> int:
    n, row = len(state.items), state.order == "row"
    word = word.replace("-", " ")
    absolute = {
        "leftmost": (True, 0),
        "rightmost": (True, n - 1),
        "topmost": (False, 0),
        "uppermost": (False, 0),
        "highest": (False, 0),
        "top": (False, 0),
        "bottommost": (False, n - 1),
        "lowest": (False, n - 1),
        "bottom": (False, n - 1),
    }
    if word in absolute:
        needs_row, index = absolute[word]
        if needs_row != row:
            raise _Unsolvable(f"'{word}' does not fit a {state.order}")
        return index
    if word in ("middle", "center", "centre"):
        if n % 2 == 0:
            raise _Unsolvable("no middle object")
        return n // 2
    if word in ("last",):
        index = n - 1
    elif word in ("second to last", "next to last", "penultimate"):
        index = n - 2
    else:
        index = _ORDINAL[word]
    if index >= n:
        raise _Unsolvable(f"no {word} object")
    return n - 1 - index if from_end else index


def _refs(clause: str, state: _State) -> list[int]:
    """Indices of the objects a clause refers to, in order of mention."""
    found: list[tuple[int, int]] = []
    n = len(state.items)
    from_end = False
    counting = _COUNTING_RE.search(clause)
    if counting is not None:
        side = counting.group(1)
        if (side in ("left", "right")) != (state.order == "row"):
            raise _Unsolvable(f"cannot count from the {side} of a {state.order}")
        from_end = side in ("right", "bottom")
        clause = _blank(clause, counting)
    for m in list(_ENDS_RE.finditer(clause)):
        found += [(m.start(), 0), (m.start() + 1, n - 1)]
        clause = _blank(clause, m)
    for m in list(_FIRST_TWO_RE.finditer(clause)):
        a, b = (0, 1) if m.group(1) == "first" else (n - 2, n - 1)
        if from_end:
            a, b = n - 1 - a, n - 1 - b
        found += [(m.start(), a), (m.start() + 1, b)]
        clause = _blank(clause, m)
    names = [name for name, _ in state.items]
    for m in _COLOR_ONE_RE.finditer(clause):
        color = vocabulary.canonical_color(m.group(1))
        hits = [i for i, (_, c) in enumerate(state.items) if c == color]
        if len(hits) != 1:
            raise _Unsolvable(f"no single {color} object")
        found.append((m.start(), hits[0]))
        clause = _blank(clause, m)
    for mention in _mentions(clause):
        if mention.name not in names:
            raise _Unsolvable(f"no {mention.name} in the arrangement")
        found.append((mention.start, names.index(mention.name)))
        clause = (
            clause[: mention.start] + " " * (mention.end - mention.start) + clause[mention.end :]
        )
    for m in _POSITION_RE.finditer(clause):
        found.append((m.start(), _position(m.group(1), state, from_end)))
    return [index for _, index in sorted(found)]


def _rotation(clause: str) -> str | None:
    """``cw``, ``ccw`` or ``half`` for a rotation clause, else None."""
    if not _ROTATE_RE.search(clause):
        return None
    if re.search(
        r"\b(?:180|one hundred (?:and )?eighty)\b|\bhalf(?:\s+a)?[\s-]+turn\b|upside down", clause
    ):
        return "half"
    quarter = re.search(r"\b(?:90|ninety)\b|\bquarter(?:-| )turn\b|\bquarter of a turn\b", clause)
    three = re.search(r"\b(?:270|two hundred (?:and )?seventy)\b|three quarters", clause)
    if not quarter and not three:
        return None
    ccw = re.search(r"\b(?:counter|anti)[- ]?clockwise\b|\bto the left\b", clause)
    if not ccw and not re.search(r"\bclockwise\b|\bto the right\b", clause):
        raise _Unsolvable("a quarter turn needs a direction")
    return "cw" if bool(ccw) == bool(three) else "ccw"


def _apply(clause: str, state: _State) -> str | None:
    """Apply one clause to the state; a step text, or None when it names no operation."""
    clause = _LEAD_RE.sub("", clause.lower().replace("-", " ")).strip(" ,.")
    items, n = state.items, len(state.items)
    turn = _rotation(clause)
    if turn is not None:
        new: Orientation = "column" if state.order == "row" else "row"
        if turn == "half":
            items.reverse()
            what = "Rotate 180 degrees: the order reverses"
        else:
            if (state.order == "row") != (turn == "cw"):
                items.reverse()
            state.order = new
            way = "clockwise" if turn == "cw" else "counterclockwise"
            what = f"Rotate 90 degrees {way}: the arrangement becomes a {new}"
        return f"{what} -> {state.show()}."
    if _SWAP_RE.search(clause):
        refs = _refs(clause, state)
        if len(refs) != 2 or refs[0] == refs[1]:
            raise _Unsolvable("a swap needs two different objects")
        i, j = refs
        items[i], items[j] = items[j], items[i]
        return f"Swap the {items[j][0]} and the {items[i][0]} -> {state.show()}."
    if _REVERSE_RE.search(clause):
        items.reverse()
        return f"Reverse the order -> {state.show()}."
    step = _STEP_RE.search(clause)
    target = step if step is not None else _END_RE.search(clause)
    if target is None or not _MOVE_RE.search(clause):
        return None
    refs = _refs(_blank(clause, target), state)
    if len(refs) != 1:
        raise _Unsolvable("a move needs exactly one object")
    i = refs[0]
    name = items[i][0]
    word = target.group(1) or target.group(2)
    if word in ("left", "right", "leftmost", "rightmost") and state.order != "row":
        raise _Unsolvable("left and right need a row")
    if word in ("top", "bottom", "up", "down", "topmost", "bottommost") and state.order != "column":
        raise _Unsolvable("up and down need a column")
    if step is not None:
        j = i - 1 if word in ("left", "up", "higher") else i + 1
        if not 0 <= j < n:
            raise _Unsolvable(f"the {name} is already at the end")
        items[i], items[j] = items[j], items[i]
        return f"Move the {name} one place along -> {state.show()}."
    last = word in ("right", "bottom", "end", "rightmost", "bottommost", "last")
    items.insert(n - 1 if last else 0, items.pop(i))
    return f"Move the {name} to the {'end' if last else 'start'} -> {state.show()}."


def solve(prompt: str) -> Solution | None:
    """Solve a spatial prompt.

    Args:
        prompt: the raw task prompt.

    Returns:
        The solution (one step per operation, refined scene prompt of the final
        arrangement), or None when the prompt is not a spatial task or cannot be solved.
    """
    text = " ".join(prompt[:MAX_CHARS].split())
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text.lower()) if s]
    found = _arrangement(sentences)
    if found is None:
        return None
    state, rest = found
    steps = [f"Initial {state.show()}."]
    try:
        for clause in _SPLIT_RE.split(rest):
            step = _apply(clause, state)
            if step is not None:
                steps.append(step)
    except _Unsolvable:
        return None
    if len(steps) == 1:
        return None
    scene = Scene(groups=[Group(name, 1, color) for name, color in state.items], order=state.order)
    return Solution("spatial", tuple(steps), f"Final {state.show()}", describe(scene))
