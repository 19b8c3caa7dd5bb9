"""Derived declarative assertions: a small grammar over expectation sentences.

The released benchmarks state what an image must show as one English sentence (UReason's
``expect_en``, UniSandbox's ``Answer``). Where that sentence has a shape we can check, it
becomes ``count`` / ``color`` / ``present`` / ``absent`` assertions marked *derived*; they run
beside the yes/no judge, never instead of it. The grammar (case-insensitive, a final period
allowed)::

    sentence := [lead] group ((',' | 'and' | ', and' | 'with') group)*
    lead     := 'a picture of' | 'an image of' | 'a photo of' | 'an illustration of'
              | 'there is' | 'there are' | 'the image shows'
    group    := ['exactly' | 'only'] [quantity] ['empty'] [color] object

============================  ===========================================
group                         derived assertions
============================  ===========================================
``2 red apples``              ``count(apple == 2)``, ``color(apple, red)``
``exactly one cup``           ``count(cup == 1)``
``a book``, ``chairs``        ``present(book)``, ``present(chair)``
``0 candles``, ``no candles``  ``absent(candle)``
============================  ===========================================

A quantity is a digit string or a number word (``zero`` .. ``twenty``, ``no``, ``a``/``an``,
``single``); ``a``/``an`` and a bare noun mean *present*, an explicit number means exactly
that many (``one`` and ``single`` mean exactly one). ``empty`` (as in "an empty table with 0
candles") adds nothing: the emptiness is what the other groups state. Objects and colors are
the vocabulary's (:mod:`pytest_ureason.scene.vocabulary`, aliases such as ``table`` included).

Never guess: the whole sentence must parse, or nothing is derived and the judge decides alone.
So relations (``on``, ``left of``), other adjectives (``big``, ``wooden``), comparisons
(``more than``), negation outside a quantity (``not``), alternatives (``or``), written text,
unknown objects, a colored zero (``0 red candles``: is a blue candle allowed?), a color
without a number (``a red apple``, ``red apples``: may a green apple be there too? the
``color`` assertion wants every apple red), ``exactly`` / ``only`` without a number (``only
apples``) and an object named twice (``two red apples and one green apple``) are all refused,
with the reason.

The reasoning verdict reads the *refined prompt* with the same grammar (:func:`judge_text`):
"two shiny red apples" or "two apples that are red" do not parse, so the verdict is undecided
rather than a partial reading taken for the whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from pytest_ureason.judge.assertions import AssertionSpec, ColorParams, CountParams, ObjectParams
from pytest_ureason.scene import vocabulary
from pytest_ureason.scene.grammar import NUMBER_WORDS

_LEADS = (
    ("a", "picture", "of"),
    ("an", "image", "of"),
    ("a", "photo", "of"),
    ("an", "illustration", "of"),
    ("there", "is"),
    ("there", "are"),
    ("the", "image", "shows"),
)
_ARTICLES = ("a", "an")
_EXACT = ("exactly", "only")
_TOKEN_RE = re.compile(r"[a-z0-9]+|,|\S")
MAX_WORDS = 60


@dataclass(frozen=True)
class Derivation:
    """What a sentence yields: the derived assertions, or why none were derived."""

    specs: tuple[AssertionSpec, ...] = ()
    refused: str | None = None


@dataclass(frozen=True)
class _Group:
    name: str
    count: int | None  # None: present (an article or a bare noun)
    exact: bool
    color: str | None
    article: bool = False  # "a cup": one cup, in a scene description


@dataclass(frozen=True)
class TextScene:
    """A scene description read with the grammar (objects by name), or why it was refused."""

    groups: dict[str, _Group]
    refused: str | None = None


@cache
def _object_words() -> tuple[tuple[str, ...], ...]:
    """Every object word as a token tuple, longest first (``dining table`` before ``table``)."""
    words = {tuple(w.split()) for o in vocabulary.objects() for w in (o.name, o.plural)}
    words |= {tuple(w.split()) for w in vocabulary._ALIASES}
    return tuple(sorted(words, key=len, reverse=True))


def _tokens(text: str) -> list[str]:
    text = " ".join(text.lower().split()).rstrip(".! ")
    return _TOKEN_RE.findall(text)


class _Refuse(Exception):
    pass


class _Parser:
    def __init__(self, tokens: list[str], text: bool = False):
        # text: reading a scene description, where "a red apple" states a color, not a check
        self.tokens, self.i, self.text = tokens, 0, text

    def peek(self, k: int = 0) -> str | None:
        j = self.i + k
        return self.tokens[j] if j < len(self.tokens) else None

    def lead(self) -> None:
        if self.text and self.peek() == "draw":  # a scene prompt: "Draw 2 red apples."
            self.i += 1
        for lead in _LEADS:
            if tuple(self.tokens[self.i : self.i + len(lead)]) == lead:
                self.i += len(lead)
                return

    def group(self) -> _Group:
        start, exact, article = self.i, False, False
        if self.peek() in _EXACT:
            exact, self.i = True, self.i + 1
        count: int | None = None
        word = self.peek()
        if word is not None and word.isascii() and word.isdigit():
            if len(word) > 3:
                raise _Refuse(f"a count of {word} is beyond what a detector counts")
            count, self.i = int(word), self.i + 1
        elif word is not None and word in NUMBER_WORDS:
            count = None if word in _ARTICLES else NUMBER_WORDS[word]
            article = word in _ARTICLES
            self.i += 1
            if word in _ARTICLES and self.peek() == "single":
                count, self.i = 1, self.i + 1
        if self.peek() == "empty":
            self.i += 1
        word = self.peek()
        color = vocabulary.canonical_color(word) if word is not None else None
        # "an orange cat": a color; "an orange": the object (colors that are objects too)
        name = self.object(self.i + 1) if color is not None else None
        if name is None:
            color, name = None, self.object(self.i)
        if name is None:
            shown = " ".join(self.tokens[self.i : self.i + 3]) or "the end"
            raise _Refuse(f"expected an object name at {shown!r}")
        if exact and count is None:
            if not article:  # "only apples": nothing but apples, not one apple
                raise _Refuse(f"'{self.tokens[start]}' without a number leaves the count open")
            count = 1  # "exactly a cup"
        if count is None and color is not None and not self.text:
            # "a red apple" / "red apples": other apples may have other colors, while the
            # color assertion wants every apple of that color
            raise _Refuse(f"'{color} {name}' without a number leaves other {name} colors open")
        return _Group(name, count, exact, color, article)

    def object(self, start: int) -> str | None:
        """The object named at ``start`` (consumed), or None (nothing consumed)."""
        for words in _object_words():
            if tuple(self.tokens[start : start + len(words)]) == words:
                self.i = start + len(words)
                found = vocabulary.lookup_object(" ".join(words))
                return found.name if found is not None else None
        return None

    def separator(self) -> bool:
        if self.peek() is None:
            return False
        if self.peek() == ",":
            self.i += 1
            if self.peek() == "and":
                self.i += 1
            return True
        if self.peek() in ("and", "with"):
            self.i += 1
            return True
        raise _Refuse(f"the grammar does not cover {' '.join(self.tokens[self.i : self.i + 3])!r}")


def _specs(groups: list[_Group]) -> tuple[AssertionSpec, ...]:
    names = [g.name for g in groups]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise _Refuse(f"{twice[0]} is named twice (assertions cannot tell the groups apart)")
    specs: list[AssertionSpec] = []
    for g in groups:
        if g.count == 0:
            if g.color is not None:
                raise _Refuse(f"'0 {g.color} {g.name}' leaves other colors open")
            specs.append(AssertionSpec("absent", ObjectParams(object=g.name), derived=True))
            continue
        if g.count is None:
            specs.append(AssertionSpec("present", ObjectParams(object=g.name), derived=True))
        else:
            params = CountParams(object=g.name, op="==", value=g.count)
            specs.append(AssertionSpec("count", params, derived=True))
        if g.color is not None:
            specs.append(
                AssertionSpec("color", ColorParams(object=g.name, color=g.color), derived=True)
            )
    return tuple(specs)


def derive(text: str) -> Derivation:
    """The derived assertions of an expectation sentence (see the module docstring).

    Never raises: a sentence outside the grammar gives no assertions and the reason.
    """
    tokens = _tokens(str(text))
    if not tokens:
        return Derivation(refused="empty expectation")
    if len(tokens) > MAX_WORDS:
        return Derivation(refused=f"longer than {MAX_WORDS} words")
    try:
        return Derivation(_specs(_parse(text, as_text=False)))
    except _Refuse as exc:
        return Derivation(refused=str(exc))


def _parse(text: str, as_text: bool) -> list[_Group]:
    tokens = _tokens(str(text))
    if not tokens:
        raise _Refuse("empty text")
    if len(tokens) > MAX_WORDS:
        raise _Refuse(f"longer than {MAX_WORDS} words")
    parser = _Parser(tokens, text=as_text)
    parser.lead()
    groups = [parser.group()]
    while parser.separator():
        groups.append(parser.group())
    return groups


def read_text(text: str) -> TextScene:
    """A scene description (a refined prompt, UReason's ``Final Scene Prompt``) read with the
    same grammar, for the reasoning verdict. Two differences: a leading ``draw`` is allowed
    (``Draw 2 red apples.``), and so is a color without a number (the text states it; no
    image check follows). An object named twice is refused as ever."""
    try:
        groups = _parse(text, as_text=True)
    except _Refuse as exc:
        return TextScene({}, str(exc))
    names = [g.name for g in groups]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        return TextScene({}, f"{twice[0]} is named twice")
    return TextScene({g.name: g for g in groups})


def _stated(group: _Group | None) -> str:
    if group is None:
        return "none"
    number = group.count if group.count is not None else "a" if group.article else "no number"
    return f"{number}{' ' + group.color if group.color else ''}"


def judge_text(specs: tuple[AssertionSpec, ...], text: str) -> tuple[str, list[str]]:
    """Whether a scene description reaches an expectation's derived assertions.

    The text is read with :func:`read_text`; outside the grammar the answer is ``undecided``
    (never a guess from a partial reading). Otherwise each assertion is checked against what
    the text states: ``present`` wants the object named (not with zero), ``absent`` wants it
    unnamed or zero, ``count`` wants the number stated (``a``/``an`` is one; a bare noun
    states no number and is wrong), ``color`` wants that color stated. Objects the
    expectation does not name are ignored, as the image assertions ignore them.

    Returns:
        (``right`` | ``wrong`` | ``undecided``, one line per failure or the refusal).
    """
    scene = read_text(text)
    if scene.refused is not None:
        return "undecided", [f"the text is outside the grammar ({scene.refused})"]
    wrong: list[str] = []
    for spec in specs:
        p = spec.params
        name = str(getattr(p, "object", ""))
        g = scene.groups.get(name)
        number = None if g is None else g.count if g.count is not None else 1 if g.article else None
        said = f"{name}: the text says {_stated(g)}, expected"
        if spec.name == "present" and (g is None or g.count == 0):
            wrong.append(f"{said} at least one")
        elif spec.name == "absent" and g is not None and g.count != 0:
            wrong.append(f"{said} none")
        elif spec.name == "count" and number != getattr(p, "value", None):
            wrong.append(f"{said} {getattr(p, 'value', '?')}")
        elif spec.name == "color" and (g is None or g.color != getattr(p, "color", None)):
            color = "none" if g is None else g.color or "no color"
            wrong.append(f"{name}: the text says {color}, expected {getattr(p, 'color', '?')}")
    return ("wrong" if wrong else "right"), wrong
