"""Solver of the *arithmetic* family: a computed number decides how many objects to draw.

Two kinds of prompt are understood:

* **expressions** -- ``Draw as many red apples as the value of (7 + 5) × 3 − 30.``: a run of
  numbers (digits or English words), operators (``+ - * / × ÷ −``, ``plus``, ``minus``,
  ``times``, ``multiplied by``, ``divided by``) and parentheses is normalised to Python syntax
  and evaluated by :func:`pytest_ureason.reference.safe_python.evaluate`; each expression is paired
  with
  the object it counts (``as many X as E``, else in order of mention);
* **word problems** -- ``Mia has 12 pencils. She gives away 5, then buys 3 more. Draw the
  pencils she has now.``: the first counted object is the start, and every event verb after it
  (a fixed lexicon: gives away, loses, eats, sells / buys, finds, gets, receives / doubles,
  triples / splits into N equal piles, shares with N friends, gives away half ...) is one
  reasoning step.

The count must come out a whole number from 0 to 36 (what the renderer draws); anything else,
and prompts of other families, give None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pytest_ureason.reference.safe_python import evaluate
from pytest_ureason.reference.solvers import Solution
from pytest_ureason.reference.solvers.text import TENS, UNITS, words_to_int
from pytest_ureason.scene import vocabulary
from pytest_ureason.scene.grammar import MAX_OBJECTS, Group, Scene, describe

_TENS = TENS[2:]
_UNIT_ALT = "|".join(sorted(UNITS, key=len, reverse=True))
NUM = (
    rf"(?:a\s+dozen|\d+|(?:{'|'.join(_TENS)})(?:[-\s](?:{'|'.join(UNITS[1:10])}))?(?![\w-])"
    rf"|(?:{_UNIT_ALT}))"
)
NUM_RE = re.compile(rf"\b{NUM}\b", re.IGNORECASE)
_COLOR = "|".join(sorted([*vocabulary.COLOR_NAMES, "grey", "violet"], key=len, reverse=True))
_TOKEN_RE = re.compile(
    rf"\b(?P<num>{NUM})\b|(?P<word>multiplied\s+by|divided\s+by|plus|minus|times)\b"
    r"|(?P<sym>[+*/×÷−–·-]|(?<=[\d\s)])x(?=[\s\d(]))|(?P<paren>[()])",
    re.IGNORECASE,
)
_OPS = dict(zip("+ - − – * × · x / ÷".split(), "+ - - - * * * * / /".split(), strict=True))
_OPS.update({"plus": "+", "minus": "-", "times": "*", "multiplied by": "*", "divided by": "/"})
_DRAW_RE = re.compile(r"(?i)\b(draw|drawing|show|paint|sketch|picture|illustrate|depict|render)\b")
_CODE_RE = re.compile(r"[A-Za-z_]\w*\(|\bdef\b|\bprint\b|`|==|[\[\]{}]")


def to_int(text: str) -> int | None:
    """Value of a number written in digits or English words ("forty-two", "a dozen")."""
    if " ".join(text.lower().split()) in ("a dozen", "dozen"):
        return 12
    return words_to_int(text) if text.strip().lower() not in ("a", "an") else None


def numbers_in(text: str) -> list[int]:
    """Every number written in ``text``, in digits or in words."""
    values = (to_int(m.group(0)) for m in NUM_RE.finditer(text))
    return [v for v in values if v is not None]


@dataclass(frozen=True)
class _Mention:
    name: str
    color: str | None
    start: int
    end: int


def _objects(text: str) -> list[_Mention]:
    out: list[_Mention] = []
    for m in vocabulary.object_pattern().finditer(text):
        obj = vocabulary.lookup_object(m.group(1))
        if obj is None:
            continue
        after = text[m.end() :].lstrip()
        if obj.name == "orange" and vocabulary.object_pattern().match(after):
            continue  # "orange" before another object word is its color
        before = re.search(rf"\b({_COLOR})\s+$", text[max(0, m.start() - 12) : m.start()], re.I)
        color = vocabulary.canonical_color(before.group(1)) if before else None
        out.append(_Mention(obj.name, color, m.start(), m.end()))
    return out


@dataclass(frozen=True)
class _Expr:
    python: str
    shown: str
    start: int
    end: int


def _depth(run: list[re.Match[str]]) -> int:
    return sum({"(": 1, ")": -1}.get(t.group(0), 0) for t in run)


def _trim(run: list[re.Match[str]]) -> list[re.Match[str]]:
    """Drop dangling operators and unmatched outer parentheses at both ends of a run."""
    while True:
        before = len(run)
        while run and (run[0].group("word") or run[0].group("sym") or run[0].group(0) == ")"):
            run = run[1:]
        while run and (run[-1].group("word") or run[-1].group("sym") or run[-1].group(0) == "("):
            run = run[:-1]
        if run and run[-1].group(0) == ")" and _depth(run) < 0:
            run = run[:-1]
        if run and run[0].group(0) == "(" and _depth(run) > 0:
            run = run[1:]
        if len(run) == before:
            return run


def _python(token: re.Match[str]) -> str | None:
    if token.group("num"):
        value = to_int(token.group("num"))
        return None if value is None else str(value)
    if token.group("paren"):
        return token.group(0)
    return _OPS.get(" ".join(token.group(0).lower().split()))


def _expressions(text: str) -> list[_Expr]:
    """Maximal runs of number/operator/parenthesis tokens that hold an operation."""
    runs: list[list[re.Match[str]]] = []
    for m in _TOKEN_RE.finditer(text):
        if runs and not text[runs[-1][-1].end() : m.start()].strip():
            runs[-1].append(m)
        else:
            runs.append([m])
    found: list[_Expr] = []
    for raw in runs:
        run = _trim(raw)
        if not any(t.group("word") or t.group("sym") for t in run):
            continue
        parts = [_python(t) for t in run]
        if any(p is None for p in parts):
            continue
        shown = " ".join(text[run[0].start() : run[-1].end()].split())
        found.append(_Expr(" ".join(p for p in parts if p), shown, run[0].start(), run[-1].end()))
    return found


def _count(value: int | float) -> int | None:
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    return value if 0 <= value <= MAX_OBJECTS else None


def _solution(groups: list[Group], steps: list[str]) -> Solution | None:
    if not groups or sum(g.count for g in groups) > MAX_OBJECTS:
        return None
    answer = ", ".join(f"{g.count} {vocabulary.plural(g.name, g.count)}" for g in groups)
    steps.append(f"So draw {answer}.")
    return Solution("arithmetic", tuple(steps), answer, describe(Scene(groups=groups)))


def _solve_expressions(prompt: str, exprs: list[_Expr]) -> Solution | None:
    mentions = _objects(prompt)
    pairs: list[tuple[_Expr, _Mention]] = []
    for m in re.finditer(r"\bas\s+many\s+", prompt, re.IGNORECASE):
        obj = next((o for o in mentions if o.start >= m.end()), None)
        expr = next((e for e in exprs if obj is not None and e.start > obj.end), None)
        if obj is not None and expr is not None and all(p[0] is not expr for p in pairs):
            pairs.append((expr, obj))
    if not pairs:
        distinct: list[_Mention] = []
        for o in mentions:
            if all(d.name != o.name for d in distinct):
                distinct.append(o)
        if len(distinct) != len(exprs):
            return None
        pairs = list(zip(exprs, distinct, strict=True))
    groups: list[Group] = []
    steps: list[str] = []
    for expr, obj in pairs:
        try:
            value = evaluate(expr.python)
        except (ValueError, ArithmeticError, RecursionError):
            return None
        count = _count(value)
        if count is None or any(g.name == obj.name for g in groups):
            return None
        steps.append(
            f"{expr.shown} = {expr.python} = {count}, the number of "
            f"{vocabulary.plural(obj.name, 2)}."
        )
        groups.append(Group(obj.name, count, obj.color))
    return _solution(groups, steps)


_SUB = (
    r"gives?\s+away|gave\s+away|give|gives|gave|loses|lose|lost|eats|eat|ate|sells|sell|sold|"
    r"uses|use|used|spends|spent|drops|dropped|breaks|broke|throws\s+away|threw\s+away|"
    r"donates|donated|returns|returned"
)
_ADD = (
    r"buys|buy|bought|finds|find|found|gets|get|got|receives|receive|received|picks|pick|picked|"
    r"collects|collected|wins|won|adds|added|makes|made|bakes|baked|is\s+given|was\s+given"
)
_INTRANSITIVE_SUB = (
    r"fly\s+away|flew\s+away|flies\s+away|run\s+away|ran\s+away|roll\s+away|rolled\s+away|"
    r"pop|popped|pops|break|melt|melted|leave|left|are\s+eaten|were\s+eaten|are\s+sold|"
    r"were\s+sold|get\s+lost|got\s+lost|go\s+out|went\s+out|burn\s+out|burned\s+out|fall|fell"
)
_INTRANSITIVE_ADD = (
    r"land|landed|arrive|arrived|join|joined|come|came|hatch|hatched|are\s+added|were\s+added|"
    r"grow|grew|appear|appeared"
)
_HOLDER = r"(?:her|him|his|them|themselves|herself|himself|itself)"
_EVENTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "share",
        re.compile(
            rf"\bshares?\b[^.;]*?\b(?:with|between\s+{_HOLDER}\s+and)\s+({NUM})"
            r"\s+(?:friends?|others?|people|children|kids|siblings|cousins)",
            re.I,
        ),
    ),
    (
        "split",
        re.compile(
            rf"\b(?:splits?|divides?|shares?|sorts?|puts?)\b[^.;]*?\b(?:into|among)"
            rf"\s+({NUM})\b",
            re.I,
        ),
    ),
    ("half", re.compile(rf"\b(?:{_SUB})\b\s+(?:away\s+)?half\b", re.I)),
    ("keep-half", re.compile(r"\bkeeps?\s+(?:only\s+)?half\b", re.I)),
    ("times", re.compile(r"\b(doubles?|doubled|triples?|tripled|quadruples?|quadrupled)\b", re.I)),
    ("times", re.compile(rf"\b(twice|({NUM})\s+times)\s+as\s+many\b", re.I)),
    ("sub", re.compile(rf"\b(?:{_SUB})\b\s+(?:away\s+)?(?:another\s+|only\s+)?({NUM})\b", re.I)),
    ("add", re.compile(rf"\b(?:{_ADD})\b\s+(?:another\s+)?({NUM})\b", re.I)),
    (
        "sub",
        re.compile(
            rf"\b({NUM})\s+(?:of\s+(?:them|those|these)\s+|(?:more\s+)?(?:\w+\s+)?)?"
            rf"(?:{_INTRANSITIVE_SUB})\b",
            re.I,
        ),
    ),
    ("add", re.compile(rf"\b({NUM})\s+more\s+(?:\w+\s+)?(?:{_INTRANSITIVE_ADD})\b", re.I)),
)


def _apply(kind: str, m: re.Match[str], current: int) -> tuple[int, str] | None:
    """One event applied to the running count: (new count, reasoning step)."""
    if kind in ("half", "keep-half"):
        return (current // 2, f"Half of {current} is {current // 2}.") if current % 2 == 0 else None
    if kind == "times":
        word = m.group(1).lower()
        factor = {"dou": 2, "twi": 2, "tri": 3, "qua": 4}.get(word[:3])
        if factor is None:
            factor = to_int(m.group(2)) if m.lastindex and m.lastindex >= 2 else None
        if factor is None:
            return None
        return current * factor, f"{current} × {factor} = {current * factor}."
    n = to_int(m.group(1))
    if n is None:
        return None
    if kind == "share":
        n += 1  # the sharer keeps a share too
    if kind in ("share", "split"):
        if n == 0 or current % n:
            return None
        return current // n, f"{current} ÷ {n} = {current // n} (one share is kept)."
    if kind == "sub":
        return (current - n, f"{current} − {n} = {current - n}.") if n <= current else None
    return current + n, f"{current} + {n} = {current + n}."


def _solve_story(prompt: str) -> Solution | None:
    start: tuple[_Mention, int] | None = None
    for obj in _objects(prompt):
        m = re.search(rf"\b({NUM})\s+(?:(?:{_COLOR})\s+)?$", prompt[: obj.start], re.IGNORECASE)
        value = to_int(m.group(1)) if m is not None else None
        if value is not None:
            start = (obj, value)
            break
    if start is None:
        return None
    obj, current = start
    steps = [f"Start: {current} {vocabulary.plural(obj.name, current)}."]
    pos, applied = obj.end, 0
    while applied < 20:
        found = [
            (m.start(), i, kind, m)
            for i, (kind, pattern) in enumerate(_EVENTS)
            if (m := pattern.search(prompt, pos)) is not None
        ]
        if not found:
            break
        _, _, kind, m = min(found, key=lambda f: (f[0], f[1]))
        result = _apply(kind, m, current)
        if result is None or result[0] > 1000:
            return None
        current, step = result
        steps.append(step)
        pos, applied = m.end(), applied + 1
    count = _count(current)
    if applied == 0 or count is None:
        return None
    return _solution([Group(obj.name, count, obj.color)], steps)


def solve(prompt: str) -> Solution | None:
    """Solve an arithmetic-family prompt.

    Args:
        prompt: the raw task prompt.

    Returns:
        The solution (counts of each object, refined prompt drawing them), or None when the
        prompt is not an arithmetic task this solver understands.
    """
    prompt = prompt[:2000]
    if _DRAW_RE.search(prompt) is None or _CODE_RE.search(prompt) is not None:
        return None
    exprs = _expressions(prompt)
    if exprs:
        return _solve_expressions(prompt, exprs)
    return _solve_story(prompt)
