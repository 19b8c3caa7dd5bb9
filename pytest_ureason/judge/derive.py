"""Derived declarative assertions: a small grammar, and a partial reading, of expectation
sentences.

The released benchmarks state what an image must show as one English sentence (UReason's
``expect_en``, UniSandbox's ``Answer``). Where that sentence has a shape we can check, it
becomes ``count`` / ``color`` / ``present`` / ``absent`` (and, read partially, ``relation`` /
``text``) assertions marked *derived*; they run beside the yes/no judge and advise, unless
``--derived-assertions require`` makes them decide. The grammar (case-insensitive, a final period
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

A sentence the whole grammar covers gives exactly those assertions. Any other sentence is
read **partially** (:func:`derive_partial`): its checkable facts become assertions and the rest
is named in :attr:`Derivation.unchecked`, instead of refusing the whole sentence. The
partial reading goes segment by segment (split at punctuation) and derives only what a
faithful image must show:

* an object of the vocabulary named as the head of its phrase (``bottle`` in "a water
  bottle", not ``apple`` in "apple pie") gives ``present``; a kind of one (``rose``,
  ``hiker``) gives ``present`` of its class only;
* with an explicit number, ``count`` (groups of one object named in several places add up:
  "2 bananas on the board, and 1 banana on the counter" is 3; "more than 3" / "at least 3"
  compare), and a color right before that number's object (only plain adjectives between)
  gives ``color``; a color without a number is left open, as above;
* "no X", "0 X", "without X" (X bare) give ``absent``; a segment that negates anything else
  ("not wearing gloves", "no cowboy hat") is left unchecked;
* a quoted string the sentence says is written ("the word 'SALE'", "letter 'A'") gives
  ``text(contains=...)``, unless its segment negates it ("'FIREWALL' does not appear");
* relations between objects each named once: stated ("a dog to the left of a cat") or
  given by a layout ("Top-left is ..., Bottom-right is ...", "Left to right: A, B, C",
  "Bottom is ..., Top is ...", "1 apple on the left, and 2 carrots on the right").

Left unchecked, always: alternatives (``or``, ``/``), depictions ("a lion photo",
"stickers", a phone "displays a clock"), a toy or model of an object ("toy car"), words
too ambiguous to check (``glass``, ``plant``, ``phone``, ``mouse``, ``remote``, ``tie``),
materials and other adjectives, unknown objects, an object both named and negated, and the
counts of a sentence where something changes state ("the center one is a raisin").

The reasoning verdict reads the *refined prompt* with the same partial reading
(:func:`judge_text`): each derived assertion is confirmed, contradicted or left undecided by
what the text states; one contradiction makes the verdict ``wrong``, all confirmed make it
``right``, anything else leaves it ``undecided``, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cache
from itertools import pairwise

from pytest_ureason.judge.assertions import (
    COMPARE,
    AssertionSpec,
    ColorParams,
    CountParams,
    ObjectParams,
    RelationParams,
    TextParams,
)
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
#: The partial reading reads at most this many characters of a text (a refined prompt may be
#: a whole reasoning); what follows is named unchecked.
MAX_CHARS = 4000


@dataclass(frozen=True)
class Derivation:
    """What a sentence yields: the derived assertions, or why none were derived."""

    specs: tuple[AssertionSpec, ...] = ()
    refused: str | None = None
    #: What the sentence states that no derived assertion checks (partial derivation).
    unchecked: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Group:
    name: str
    count: int | None  # None: present (an article or a bare noun)
    exact: bool
    color: str | None
    article: bool = False  # "a cup"


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
    def __init__(self, tokens: list[str]):
        self.tokens, self.i = tokens, 0

    def peek(self, k: int = 0) -> str | None:
        j = self.i + k
        return self.tokens[j] if j < len(self.tokens) else None

    def lead(self) -> None:
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
        if count is None and color is not None:
            # "a red apple" / "red apples": other apples may have other colors, while the
            # color assertion wants every apple of that color
            raise _Refuse(f"'{color} {name}' without a number leaves other {name} colors open")
        return _Group(name, count, exact, color, article)

    def object(self, start: int) -> str | None:
        """The object named at ``start`` (consumed), or None (nothing consumed)."""
        first = self.tokens[start] if start < len(self.tokens) else ""
        for words in _object_words_from().get(first, ()):
            if " ".join(words) in _AMBIGUOUS:
                continue
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
        return Derivation(_specs(_parse(tokens)))
    except _Refuse as exc:
        strict = str(exc)
    partial = derive_partial(text)
    if partial.specs:
        return partial
    return Derivation(refused=f"{strict}; no checkable fact", unchecked=partial.unchecked)


def _parse(tokens: list[str]) -> list[_Group]:
    """The strict grammar's groups of a sentence's tokens (:func:`derive` has refused an
    empty or overlong one)."""
    parser = _Parser(tokens)
    parser.lead()
    groups = [parser.group()]
    while parser.separator():
        groups.append(parser.group())
    return groups


# ---------------------------------------------------------------------------------------------
# Partial derivation: the checkable facts of a sentence the strict grammar refuses
# ---------------------------------------------------------------------------------------------

#: Object words read differently here than in the scene vocabulary: a word naming a kind of a
#: vocabulary object (``rose`` is a flower) gives ``present`` only, never a count or color (a
#: count of flowers also counts flowers the sentence did not name as roses).
_KINDS = {
    **dict.fromkeys(
        (
            "rose",
            "roses",
            "tulip",
            "tulips",
            "lily",
            "lilies",
            "daisy",
            "daisies",
            "sunflower",
            "sunflowers",
            "orchid",
            "orchids",
            "carnation",
            "carnations",
            "daffodil",
            "daffodils",
        ),
        "flower",
    ),
    **dict.fromkeys(
        (
            "kid",
            "kids",
            "child",
            "children",
            "boy",
            "boys",
            "girl",
            "girls",
            "baby",
            "babies",
            "hiker",
            "actor",
            "soldier",
            "guitarist",
            "driver",
            "worker",
            "baker",
            "athlete",
            "skier",
            "chef",
            "lady",
            "gentleman",
        ),
        "person",
    ),
    **dict.fromkeys(("sedan", "sedans", "taxi", "taxis"), "car"),
}
#: Plurals and plain synonyms the vocabulary lacks (the same class, so counts and colors hold).
_SYNONYMS = {
    "kittens": "cat",
    "puppies": "dog",
    "smartphone": "cell phone",
    "smartphones": "cell phone",
    "televisions": "tv",
    "lamb": "sheep",
    "lambs": "sheep",
    "armchair": "chair",
    "armchairs": "chair",
    "football": "sports ball",
    "footballs": "sports ball",
    "basketball": "sports ball",
    "basketballs": "sports ball",
    "balls": "sports ball",
    "tables": "dining table",
    "sofas": "couch",
    "doughnuts": "donut",
    "men": "person",
    "women": "person",
    "bunny": "rabbit",
    "bunnies": "rabbit",
    "sneaker": "shoe",
    "sneakers": "shoe",
    "teacup": "cup",
    "teacups": "cup",
    "fridges": "refrigerator",
    "planes": "airplane",
    "motorbikes": "motorcycle",
}
#: Vocabulary words too ambiguous to check in free text: ``glass`` (a wine glass? a glass of
#: milk? eyeglasses?), ``plant`` (potted?), ``phone`` (a cell phone or a desk telephone),
#: ``mouse`` (the animal or the computer's), ``remote`` and ``tie`` (also an adjective, a verb).
_AMBIGUOUS = frozenset(
    ("glass glasses plant plants phone phones mouse mice remote remotes tie ties").split()
)
#: Words before an object that make it something else: a toy car is not a car to check.
_NOT_ITSELF = frozenset(
    (
        "toy toys rubber plush stuffed cartoon origami paper chocolate candy gummy juice fake "
        "inflatable robot robotic sea wax model miniature ice cookie sugar-free play cake "
        "clay stone marble paper-mache lego statue decorative guinea passenger cable sticky "
        "magnetic"
    ).split()
)
#: A segment with one of these depicts or transforms things: its objects are left unchecked.
_DEPICTS = frozenset(
    (
        "photo photos photograph painting paintings picture pictures drawing drawings sketch "
        "poster posters sticker stickers print pattern logo icon icons statue figurine "
        "costume shaped shape reflection shadow silhouette tattoo emoji imitation replica "
        "drawn painted printed carved like resembling looks made fake displays display "
        "displaying screen screens monitor showing shows reflected"
    ).split()
)
#: In a sentence with one of these, something changes state (a grape becomes a raisin): counts
#: are not derived, since the changed thing may no longer look like what it was.
_CHANGES = frozenset(
    (
        "raisin shriveled burnt burned melted broken shattered shards snapped withered dead "
        "deflated eaten crushed rotten charred scorched stub half halves crumbs peeled sliced "
        "chopped cut"
    ).split()
)
_NEGATIONS = frozenset(
    (
        "no not without none never nothing nor neither missing absent lacking lacks instead "
        "rather except nobody removed gone isn't aren't doesn't don't won't cannot can't"
    ).split()
)
_BOUNDARY = frozenset(
    (
        "and or but while whereas nor on in at of with without to from under above below "
        "beside besides near next behind between inside outside for by into onto over atop "
        "across along around against among within through beneath underneath is are was were "
        "be been has have had sits sit stands stand lies lie appears appear hangs hang rests "
        "rest remain remains wears holds carries contains features shows displays lies looks "
        "sits stands leans floats flies grows hold wear the a an that which who each all both "
        "visible only here there together too side as per than left right"
    ).split()
)
_VAGUE = frozenset(("few couple dozen lot lots bunch handful number").split())
_DEFINITE = frozenset(("the this that these those its their his her").split())
_POSITIONS = frozenset(
    (
        "left right center centre middle top bottom front back upper lower other first second "
        "third last far"
    ).split()
)
#: Adjectives that may stand between a color and its object ("3 red wooden chairs").
_PLAIN = frozenset(
    (
        "small big large tall short little tiny huge round square wooden plastic metal ripe "
        "fresh shiny new old empty whole full clean identical distinct separate single real "
        "young adult cute fluffy glossy matte smooth bright sleeping juicy"
    ).split()
)
#: Words before a color that make it a shade or a mixture the palette does not name.
_SHADES = frozenset(
    (
        "light dark pale deep navy neon pastel hot baby sky royal dull dusty off metallic "
        "rusty muted faded"
    ).split()
)
#: Colors the vocabulary accepts by alias but free text uses otherwise (a golden retriever).
_NOT_COLORS = frozenset({"gold", "golden"})
_TEXT_WORDS = frozenset(
    (
        "letter letters word words number numbers character characters symbol symbols text "
        "digit digits reads reading read says saying label labeled labelled written writing "
        "spelling spells sign title caption inscription name phrase message code"
    ).split()
)
_COMPARE = {
    ("more", "than"): ">",
    ("over",): ">",
    ("at", "least"): ">=",
    ("fewer", "than"): "<",
    ("less", "than"): "<",
    ("at", "most"): "<=",
}
_QUOTES = {"'": "'", '"': '"', "\u2018": "\u2019", "\u201c": "\u201d"}
_QUOTE_RE = re.compile(
    "|".join(
        f"(?<![A-Za-z0-9]){re.escape(o)}([^{re.escape(c)}\\n]{{1,40}}){re.escape(c)}(?![A-Za-z0-9])"
        for o, c in _QUOTES.items()
    )
)
_WORD_RE = re.compile(r"qtext\d+|[a-z0-9]+(?:[-'\u2019][a-z0-9]+)*|[^\sa-z0-9]")
_SEGMENT_ENDS = frozenset((". ; : ( ) , ! ? [ ]").split())
_SUBJECT_VERBS = frozenset(("is are has have shows contains features").split())
_LEAD_TEXT = ("draw", "generate", "create", "render", "paint", "show", "depict", "produce")


@dataclass(frozen=True)
class Mention:
    """One naming of a vocabulary object in a sentence, with what the words around it state."""

    name: str
    count: int | None = None  # an explicit number (0 for "no"/"0"/"zero"), None otherwise
    op: str = "=="
    article: bool = False  # "a cup"
    color: str | None = None
    definite: bool = False  # "the cup": names a thing already introduced
    kind: bool = False  # "a rose": a kind of the object (present only)
    negated: bool = False  # in a segment that negates ("no bananas")
    modified: bool = False  # other words between the number or article and the object
    place: tuple[int | None, int | None] = (None, None)  # (column, row) the sentence gives it


@dataclass(frozen=True)
class Facts:
    """What a sentence states about vocabulary objects and written text."""

    mentions: tuple[Mention, ...] = ()
    texts: tuple[str, ...] = ()  # quoted strings the sentence says are written
    unchecked: tuple[str, ...] = ()
    changes: bool = False  # something changes state: counts are not derived
    quoted: tuple[str, ...] = ()  # every quoted string, written or not
    relations: tuple[tuple[str, str, str], ...] = ()  # (subject, relation, object)


def _quote_out(text: str) -> tuple[str, list[str]]:
    """The text with each quoted string replaced by ``qtext<n>``, and those strings."""
    found: list[str] = []

    def keep(match: re.Match[str]) -> str:
        inner = next(g for g in match.groups() if g is not None)
        found.append(inner)
        return f" qtext{len(found) - 1} "

    return _QUOTE_RE.sub(keep, text), found


def _segments(tokens: list[str]) -> list[tuple[list[str], str]]:
    """The segments between punctuation, each with the mark that ends it ("" at the end)."""
    out: list[tuple[list[str], str]] = []
    cur: list[str] = []
    for tok in tokens:
        if tok in _SEGMENT_ENDS:
            if cur:
                out.append((cur, tok))
            elif out and tok == ".":
                out[-1] = (out[-1][0], ".")
            cur = []
        else:
            cur.append(tok)
    if cur:
        out.append((cur, ""))
    return out


@cache
def _object_words_from() -> dict[str, tuple[tuple[str, ...], ...]]:
    """The object words by their first word, longest first."""
    out: dict[str, list[tuple[str, ...]]] = {}
    for words in _object_words():
        out.setdefault(words[0], []).append(words)
    return {k: tuple(v) for k, v in out.items()}


def _object_at(tokens: list[str], i: int) -> tuple[str, bool, int] | None:
    """(object name, a kind of it, tokens used) of the object word starting at ``i``."""
    if i >= len(tokens):
        return None
    for words in _object_words_from().get(tokens[i], ()):
        if tuple(tokens[i : i + len(words)]) == words:
            joined = " ".join(words)
            if joined in _AMBIGUOUS or (
                joined in ("table", "tables") and i > 0 and tokens[i - 1] == "periodic"
            ):
                return None
            found = vocabulary.lookup_object(joined)
            if found is not None:
                return found.name, False, len(words)
    word = tokens[i] if i < len(tokens) else ""
    if word in _SYNONYMS:
        return _SYNONYMS[word], False, 1
    if word in _KINDS:
        return _KINDS[word], True, 1
    return None


def _is_head(tokens: list[str], j: int) -> bool:
    """Whether the object word ending before ``j`` is the head of its phrase (not "apple"
    in "apple pie")."""
    if j >= len(tokens):
        return True
    nxt = tokens[j]
    if nxt in _BOUNDARY or nxt.isdigit() or nxt.startswith("qtext"):
        return True
    if nxt in ("'s", "\u2019s"):
        return False
    return len(nxt) > 4 and (nxt.endswith("ing") or nxt.endswith("ed"))


def _number(word: str) -> int | None:
    if word.isascii() and word.isdigit() and len(word) <= 3:
        return int(word)
    if word in NUMBER_WORDS and word not in _ARTICLES:
        return NUMBER_WORDS[word]
    return None


def _mention(
    tokens: list[str], i: int, n: int, name: str, kind: bool, negated: bool
) -> Mention | None:
    """The mention of the object word at ``tokens[i:i+n]``, read from the words before it, or
    None when those words make it something else."""
    k = i - 1
    colors: list[int] = []
    while k >= 0:
        w = tokens[k]
        if w in _NOT_ITSELF:
            return None
        if w in _DEFINITE or w in _ARTICLES or _number(w) is not None or w in _EXACT:
            break
        if w in _POSITIONS:
            k -= 1
            continue
        if w in ("and", ",") and k > 0 and tokens[k - 1] in _POSITIONS:
            k -= 1  # "the left and right lamps"
            continue
        if w in _BOUNDARY or w.startswith("qtext") or w in _NEGATIONS:
            break
        if w not in _NOT_COLORS and vocabulary.canonical_color(w) is not None:
            colors.append(k)
        k -= 1
    start = k  # the determiner, number or boundary before the phrase (-1: none)
    det = tokens[start] if start >= 0 else None
    if name == "orange" and tokens[i] == "orange" and tokens[start + 1 : i]:
        return None  # "glowing orange", "rusty orange": a color, not the fruit
    if (
        name == "orange"
        and tokens[i] == "orange"
        and det is not None
        and det not in (*_ARTICLES, *_DEFINITE, *_EXACT)
        and _number(det) is None
        and det not in ("and", "or", "is", "are", "has", "have", "of", "with", "no")
    ):
        return None
    count: int | None = None
    op = "=="
    article = False
    definite = det in _DEFINITE
    if det is not None and start >= 0:
        num = _number(det)
        if det in _ARTICLES:
            article = tokens[start + 1] not in _VAGUE  # "a few apples" is not one apple
        elif num is not None:
            # "one of", "2 of": no count; "more than 3", "at least 2": a comparison
            count = num
            for words_cmp, cmp in _COMPARE.items():
                m = len(words_cmp)
                if tuple(tokens[start - m : start]) == words_cmp:
                    op = cmp
                    break
            if start > 0 and tokens[start - 1] == "than" and op == "==":
                return None  # "rather than two apples"
    color: str | None = None
    if len(colors) == 1:
        c = colors[0]
        between = tokens[c + 1 : i]
        before = tokens[c - 1] if c > 0 else None
        mixed = (
            before in ("and", "or", ",", "/")
            and c > 1
            and (vocabulary.canonical_color(tokens[c - 2]) is not None)
        )
        if (
            before not in _SHADES
            and not mixed
            and all(w in _PLAIN or (len(w) > 4 and w.endswith("ed")) for w in between)
        ):
            color = vocabulary.canonical_color(tokens[c])
    modified = any(w not in _POSITIONS and w not in ("and", ",") for w in tokens[start + 1 : i])
    return Mention(name, count, op, article, color, definite, kind, negated, modified)


#: Containers whose contents may not show ("a carton of eggs", "a bag of apples").
_CLOSED = frozenset(
    (
        "carton cartons bag bags box boxes jar jars can cans pack packs packet package case "
        "crate sack tin tube pouch envelope bucket basket container drawer cabinet fridge "
        "refrigerator oven"
    ).split()
)
_FILLER = frozenset(("a an the and exactly only of is are has have").split())
#: Words of a phrase that its facts state (the rest of the phrase is left unchecked).
_READ = (
    _DEFINITE
    | _POSITIONS
    | _PLAIN
    | frozenset(("a an and exactly only more than at least most fewer less").split())
)


def _alternative(seg: list[str], i: int, n: int) -> bool:
    """Whether the object at ``seg[i:i+n]`` is one of alternatives ("apples or oranges",
    "apples/oranges"): none of them is then required."""
    if "or" in seg or "either" in seg:
        return True
    return (i > 0 and seg[i - 1] == "/") or (i + n < len(seg) and seg[i + n] == "/")


def _segment_mentions(
    seg: list[str], negated: bool
) -> tuple[list[tuple[Mention, int, int]], set[int]]:
    """Mentions in one segment (each with the span of its phrase), and the indices of the
    words they used."""
    out: list[tuple[Mention, int, int]] = []
    used: set[int] = set()
    i = 0
    while i < len(seg):
        found = _object_at(seg, i)
        if found is None:
            i += 1
            continue
        name, kind, n = found
        # "hot dog" matched at "hot"; "dog" alone would match one later: longest first wins
        if not _is_head(seg, i + n):
            i += n
            continue
        if negated:
            # only "no X" / "0 X" / "without X", the object right after the negation
            prev = seg[i - 1] if i > 0 else None
            if prev in ("no", "0", "zero", "without"):
                out.append((Mention(name, 0, "==", False, None, False, kind, True), i - 1, i + n))
                used.update(range(i - 1, i + n))
            i += n
            continue
        if _alternative(seg, i, n) or (i > 1 and seg[i - 1] == "of" and seg[i - 2] in _CLOSED):
            i += n  # "apples or pears"; "a carton of eggs": the eggs may not show
            continue
        m = _mention(seg, i, n, name, kind, negated)
        if m is not None:
            used.update(range(i, i + n))
            k, start = i - 1, 0
            while k >= 0:
                w = seg[k]
                if w in _DEFINITE or w in _ARTICLES or _number(w) is not None:
                    start = k
                    used.add(k)
                    if k > 0 and seg[k - 1] in _READ:
                        used.add(k - 1)  # "exactly 2", "more than 2"
                        if k > 1 and seg[k - 2] in _READ:
                            used.add(k - 2)
                    break
                if w in ("and", ",") and k > 0 and seg[k - 1] in _POSITIONS:
                    used.add(k)
                elif (w in _BOUNDARY and w not in _POSITIONS) or w in _NEGATIONS:
                    start = k + 1
                    break
                elif w in _READ or (
                    vocabulary.canonical_color(w) is not None
                    and m.color is not None
                    and m.count is not None
                ):
                    used.add(k)  # a color is read where a count makes it a check
                k -= 1
            out.append((m, start, i + n))
        i += n
    return out, used


def _leftover(seg: list[str], used: set[int], shown: list[str]) -> list[str]:
    """The runs of a segment's words that no fact used (fillers alone dropped)."""
    runs: list[list[int]] = [[]]
    for j in range(len(seg)):
        if j in used:
            runs.append([])
        else:
            runs[-1].append(j)
    out = []
    for run in runs:
        words = [shown[j] for j in run]
        if any(seg[j] not in _FILLER for j in run):
            out.append(" ".join(words))
    return out


_CORNERS = {
    "top-left": (0, 0),
    "top-right": (2, 0),
    "bottom-left": (0, 2),
    "bottom-right": (2, 2),
    "upper-left": (0, 0),
    "upper-right": (2, 0),
    "lower-left": (0, 2),
    "lower-right": (2, 2),
}
_SPOT_NOUNS = frozenset(
    (
        "shelf side floor level corner compartment spot slot section half part area position "
        "one tier rack nightstand table row"
    ).split()
)
_RELATION_WORDS: dict[tuple[str, ...], str] = {
    ("to", "the", "left", "of"): "left of",
    ("left", "of"): "left of",
    ("to", "the", "right", "of"): "right of",
    ("right", "of"): "right of",
    ("above",): "above",
    ("below",): "below",
    ("under",): "below",
    ("beneath",): "below",
    ("underneath",): "below",
    ("on", "top", "of"): "above",
}
_INVERSE = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}
_PLACE_VERBS = frozenset(("is are has have with contains holds shows").split())


def _spot(words: list[str], middle: str | None) -> tuple[int | None, int | None] | None:
    """(column, row) a position phrase names ("top-left", "left", "top shelf"), or None."""
    if not words:
        return None
    if words[0] in _CORNERS:
        return _CORNERS[words[0]] if all(w in _SPOT_NOUNS for w in words[1:]) else None
    if (
        len(words) >= 2
        and f"{words[0]}-{words[1]}" in _CORNERS
        and all(w in _SPOT_NOUNS for w in words[2:])
    ):
        return _CORNERS[f"{words[0]}-{words[1]}"]
    if not all(w in _SPOT_NOUNS for w in words[1:]):
        return None
    w = words[0]
    if w == "left":
        return (0, None)
    if w == "right":
        return (2, None)
    if w in ("top", "upper"):
        return (None, 0)
    if w in ("bottom", "lower"):
        return (None, 2)
    if w in ("middle", "center", "centre") and middle == "column":
        return (1, None)
    if w in ("middle", "center", "centre") and middle == "row":
        return (None, 1)
    return None


def _head_spot(
    seg: list[str], middle: str | None
) -> tuple[tuple[int | None, int | None], int] | None:
    """A segment that opens with a position and a verb ("top-left is", "left side has"): the
    position and where its objects start."""
    words = seg[1:] if seg and seg[0] == "and" else seg
    skip = len(seg) - len(words)
    for j, w in enumerate(words[:4]):
        if w in _PLACE_VERBS:
            spot = _spot(words[:j], middle)
            return (spot, skip + j + 1) if spot is not None else None
    return None


def _tail_spot(
    seg: list[str], end: int, middle: str | None
) -> tuple[int | None, int | None] | None:
    """A position right after an object ("in the center", "on the top shelf")."""
    rest = seg[end:]
    if len(rest) >= 3 and rest[0] in ("in", "on", "at") and rest[1] == "the":
        tail = rest[2:]
        for n in range(min(len(tail), 3), 0, -1):
            spot = _spot(tail[:n], middle)
            if spot is not None and (n == len(tail) or tail[n] in _BOUNDARY):
                return spot
    return None


def _explicit(seg: list[str], spans: list[tuple[Mention, int, int]]) -> list[tuple[str, str, str]]:
    """Relations a segment states between two objects ("a dog to the left of a cat")."""
    out = []
    for (m1, _, e1), (m2, s2, _) in pairwise(spans):
        between = seg[e1:s2]
        if between and between[0] in ("is", "are", "sits", "sit", "stands", "placed", "located"):
            between = between[1:]
        rel = _RELATION_WORDS.get(tuple(between))
        if rel is not None and not m1.negated and not m2.negated:
            out.append((m1.name, rel, m2.name))
    return out


def _relations(
    mentions: list[Mention], explicit: list[tuple[str, str, str]]
) -> tuple[tuple[str, str, str], ...]:
    """Relations between objects each named once (not as a kind): the explicit ones, and those
    their positions in a layout give."""
    names = [m.name for m in mentions if not m.definite]
    once = {
        m.name
        for m in mentions
        if names.count(m.name) == 1
        and not m.kind
        and not m.negated
        and not m.definite
        and m.count != 0
    }
    if any(m.definite for m in mentions if m.name in once and m.place != (None, None)):
        return ()
    out: list[tuple[str, str, str]] = [r for r in explicit if r[0] in once and r[2] in once]
    placed = [m for m in mentions if m.name in once and m.place != (None, None)]
    for i, a in enumerate(placed):
        for b in placed[i + 1 :]:
            (ac, ar), (bc, br) = a.place, b.place
            if ac is not None and bc is not None and ac != bc:
                out.append((a.name, "left of" if ac < bc else "right of", b.name))
            if ar is not None and br is not None and ar != br:
                out.append((a.name, "above" if ar < br else "below", b.name))
    return tuple(dict.fromkeys(out))


#: Headers that open an ordered list ("left to right: ..."), and the axis they order along.
_ORDER_HEADERS = (
    (("left", "to", "right"), "h+"),
    (("right", "to", "left"), "h-"),
    (("top", "to", "bottom"), "v+"),
    (("bottom", "to", "top"), "v-"),
)
#: Segments that only name a grid row ("Top row:"), and the row's index.
_ROW_HEADERS: dict[tuple[str, ...], int] = {
    ("top", "row"): 0,
    ("middle", "row"): 1,
    ("bottom", "row"): 2,
}


def read_facts(text: str, as_text: bool = False) -> Facts:
    """The facts a sentence states (see :func:`derive`); ``as_text``: a scene prompt, which
    may start with "Draw" and whose colors without a number are statements."""
    raw = " ".join(str(text)[:MAX_CHARS].split())
    quoted_out, quoted = _quote_out(raw)
    lowered = quoted_out.lower()
    tokens = _WORD_RE.findall(lowered)
    # a leading "a picture of" / "draw": not a depiction of a depiction
    for verb in _LEAD_TEXT if as_text else ():
        if tokens[:1] == [verb]:
            tokens = tokens[1:]
    for lead in (*_LEADS, ("an", "image", "showing")):
        if tuple(tokens[: len(lead)]) == lead:
            tokens = tokens[len(lead) :]
            break
    changes = any(t in _CHANGES for t in tokens)
    middle = (
        "column"
        if any(t in ("left", "right") or t in _CORNERS for t in tokens)
        else "row"
        if any(t in ("top", "bottom", "upper", "lower") for t in tokens)
        else None
    )
    mentions: list[Mention] = []
    explicit: list[tuple[str, str, str]] = []
    texts: list[str] = []
    unchecked: list[str] = []
    row: int | None = None  # the row a "Top row:" header opened
    listed: tuple[str, int] | None = None  # an ordered list a "left to right:" header opened
    for seg, ender in _segments(tokens):
        pairs = set(pairwise(seg))
        triples = set(zip(seg, seg[1:], seg[2:], strict=False))
        negated = any(t in _NEGATIONS or t.endswith("n't") for t in seg) or bool(
            pairs & {("free", "of"), ("clear", "of"), ("instead", "of")}
        )
        used: set[int] = set()
        for j, tok in enumerate(seg):
            if tok.startswith("qtext") and tok[5:].isdigit() and int(tok[5:]) < len(quoted):
                before = seg[max(0, j - 3) : j]
                if any(w in _TEXT_WORDS for w in before) and not negated:
                    texts.append(quoted[int(tok[5:])])
                    used.update(range(max(0, j - 3), j + 1))
        header = None
        for words, axis in _ORDER_HEADERS:
            if words in triples or "-".join(words) in seg:
                header = axis
        bare = tuple(w for w in seg if w != "and")
        if bare in _ROW_HEADERS:
            row = _ROW_HEADERS[bare]
            used.update(range(len(seg)))
        spans: list[tuple[Mention, int, int]] = []
        if not any(t in _DEPICTS for t in seg):
            spans, took = _segment_mentions(seg, negated)
            used |= took
        head = _head_spot(seg, middle)
        for k, (m, start, end) in enumerate(spans):
            place: tuple[int | None, int | None] | None = None
            if head is not None and start >= head[1]:
                place = head[0]
            elif (tail := _tail_spot(seg, end, middle)) is not None:
                place = tail
            elif listed is not None and len(spans) == 1 and header is None:
                axis, index = listed
                step = index if axis.endswith("+") else -index
                place = (step, None) if axis.startswith("h") else (None, step)
            if place is not None:
                col, prow = place
                if prow is None and row is not None:
                    prow = row
                spans[k] = (replace(m, place=(col, prow)), start, end)
        if listed is not None and header is None:
            listed = (listed[0], listed[1] + 1)
        if header is not None:
            listed = (header, 0)
        explicit.extend(_explicit(seg, spans))
        mentions.extend(m for m, _, _ in spans)
        shown = [
            quoted[int(t[5:])]
            if t.startswith("qtext") and t[5:].isdigit() and int(t[5:]) < len(quoted)
            else t
            for t in seg
        ]
        if not used:
            unchecked.append(" ".join(shown))
        else:
            unchecked.extend(_leftover(seg, used, shown))
        if ender == ".":
            row, listed = None, None
    relations = _relations(mentions, explicit)
    if len(str(text)) > MAX_CHARS:
        unchecked.append(f"the text beyond {MAX_CHARS} characters")
    return Facts(tuple(mentions), tuple(texts), tuple(unchecked), changes, tuple(quoted), relations)


def _groups(mentions: tuple[Mention, ...]) -> dict[str, list[Mention]]:
    out: dict[str, list[Mention]] = {}
    for m in mentions:
        out.setdefault(m.name, []).append(m)
    return out


def _object_specs(
    name: str, ms: list[Mention], changes: bool
) -> tuple[list[AssertionSpec], str | None]:
    """The assertions one object's mentions give, or a note of why it is left unchecked."""
    pos = [m for m in ms if not m.negated]
    neg = [m for m in ms if m.negated]
    obj = ObjectParams(object=name)
    if neg and pos:
        return [], f"{name}: both named and negated"
    if neg:
        if any(m.kind for m in neg):
            return [], f"{name}: a kind of it is negated (others may be there)"
        return [AssertionSpec("absent", obj, derived=True)], None
    use = [m for m in pos if not m.definite] or pos
    present = [AssertionSpec("present", obj, derived=True)]
    numbered = all(m.count is not None for m in use) and not use[0].definite
    if any(m.kind for m in use) or not numbered:
        return present, None
    if changes:
        return present, f"{name}: its number (something in the sentence changes state)"
    if len(use) == 1:
        op, value = use[0].op, int(use[0].count or 0)
    elif all(m.op == "==" for m in use):
        op, value = "==", sum(int(m.count or 0) for m in use)
    else:
        return present, f"{name}: comparisons over several groups"
    colors = {m.color for m in use}
    if op == "==" and value == 0:
        if colors != {None} or any(m.modified for m in use):
            return [], f"{name}: a zero with other words before it leaves others of its kind open"
        return [AssertionSpec("absent", obj, derived=True)], None
    if value > 1000:
        return present, f"{name}: a count beyond what a detector counts"
    count = CountParams.model_validate({"object": name, "op": op, "value": value})
    specs = [AssertionSpec("count", count, derived=True)]
    if op == "==" and len(colors) == 1 and None not in colors:
        color = ColorParams(object=name, color=str(next(iter(colors))))
        specs.append(AssertionSpec("color", color, derived=True))
    return specs, None


def derive_partial(text: str) -> Derivation:
    """The checkable facts of a sentence outside the strict grammar, and what is left.

    Read segment by segment (split at punctuation): an object of the vocabulary named as the
    head of its phrase gives ``present``; with an explicit number, ``count`` (numbers of one
    object named in several places add up, "2 bananas on the board, and 1 banana on the
    counter" is 3), and with that number a color right before it (only plain adjectives
    between) gives ``color``; "no X" / "0 X" / "without X" gives ``absent``; a quoted string the
    sentence says is written ("the word 'SALE'") gives ``text``. Left unchecked, and named in
    :attr:`Derivation.unchecked`: segments that negate anything else, segments about a
    depiction ("a lion photo", "stickers"), relations, materials, states, unknown objects,
    an object both named and negated, and the counts of a sentence where something changes
    state ("the center one is a raisin")."""
    facts = read_facts(text)
    specs: list[AssertionSpec] = []
    unchecked = list(facts.unchecked)
    for name, ms in _groups(facts.mentions).items():
        found, note = _object_specs(name, ms, facts.changes)
        specs.extend(found)
        if note is not None:
            unchecked.append(note)
    for subject, rel, obj in facts.relations:
        params = RelationParams(subject=subject, relation=rel, object=obj)  # type: ignore[arg-type]
        specs.append(AssertionSpec("relation", params, derived=True))
    for s in dict.fromkeys(facts.texts):
        specs.append(AssertionSpec("text", TextParams(contains=s), derived=True))
    if not specs:
        return Derivation(refused="no checkable fact", unchecked=tuple(unchecked))
    return Derivation(tuple(specs), None, tuple(unchecked))


@dataclass(frozen=True)
class _Stated:
    """What a scene text states about one object."""

    named: bool  # named other than with zero
    number: int | None  # the number it states (0 for "no X"), None when it states none
    colors: frozenset[str | None]


def _stated_objects(facts: Facts) -> dict[str, _Stated]:
    out: dict[str, _Stated] = {}
    for name, ms in _groups(facts.mentions).items():
        pos = [m for m in ms if not m.negated and not (m.count == 0 and m.op == "==")]
        if not pos:
            out[name] = _Stated(False, 0, frozenset())
            continue
        use = [m for m in pos if not m.definite] or pos
        number: int | None = None
        if all(m.count is not None and m.op == "==" for m in use) and not use[0].definite:
            number = sum(int(m.count or 0) for m in use)
        elif len(use) == 1 and use[0].article:
            number = 1
        if any(m.kind for m in use):
            number = None
        out[name] = _Stated(True, number, frozenset(m.color for m in use))
    return out


def _check_text(spec: AssertionSpec, states: dict[str, _Stated], facts: Facts) -> tuple[str, str]:
    """(right | wrong | undecided, why) for one derived assertion against a scene text."""
    p = spec.params
    if spec.name == "text":
        want = str(getattr(p, "contains", None) or getattr(p, "equals", "")).casefold()
        if any(want in q.casefold() for q in facts.quoted):
            return "right", ""
        if facts.texts:
            return "wrong", f"text: the text writes {list(facts.texts)}, expected {want!r}"
        return "undecided", f"text: the text quotes nothing written, expected {want!r}"
    if spec.name == "relation":
        sub, rel, obj = (
            str(getattr(p, "subject", "")),
            str(getattr(p, "relation", "")),
            str(getattr(p, "object", "")),
        )
        said = set(facts.relations)
        if (sub, rel, obj) in said or (obj, _INVERSE[rel], sub) in said:
            return "right", ""
        if (sub, _INVERSE[rel], obj) in said or (obj, rel, sub) in said:
            return "wrong", f"relation: the text places {sub} not {rel} {obj}"
        return "undecided", f"relation: the text does not place {sub} and {obj}"
    name = str(getattr(p, "object", ""))
    st = states.get(name)
    if spec.name == "absent":
        if st is not None and st.named and st.number != 0:
            shown = st.number if st.number is not None else "some"
            return "wrong", f"{name}: the text says {shown}, expected none"
        return "right", ""
    if st is None:
        return "undecided", f"{name}: the text does not name it"
    if spec.name == "present":
        if not st.named:
            return "wrong", f"{name}: the text says none, expected at least one"
        return "right", ""
    if spec.name == "count":
        value, op = int(getattr(p, "value", 0)), str(getattr(p, "op", "=="))
        if st.number is None:
            return "undecided", f"{name}: the text states no number, expected {op} {value}"
        if COMPARE[op](st.number, value):
            return "right", ""
        return "wrong", f"{name}: the text says {st.number}, expected {op.strip('=') or ''}{value}"
    if spec.name == "color":
        want = str(getattr(p, "color", ""))
        colors = {c for c in st.colors if c is not None}
        if colors == {want} and None not in st.colors:
            return "right", ""
        if colors and want not in colors:
            return "wrong", f"{name}: the text says {'/'.join(sorted(colors))}, expected {want}"
        return "undecided", f"{name}: the text states no single color, expected {want}"
    return "undecided", f"{spec.name}: not read from a text"


_TASK_LABEL_RE = re.compile(
    r"(?:^|\s)(?:task|scenario|instructions?|code|generate|rules?|question)\s*:", re.IGNORECASE
)


def restates_task(text: str) -> bool:
    """Whether a "refined prompt" is the task statement itself (two or more of the labels a
    task statement carries: ``Task:``, ``Scenario:``, ``Instructions:``, ``Code:`` ...), as a
    model that did not work the task out echoes it: its narrative names discarded objects
    too, so it is no scene description to read."""
    return len(_TASK_LABEL_RE.findall(str(text)[:20_000])) >= 2


def judge_text(specs: tuple[AssertionSpec, ...], text: str) -> tuple[str, list[str]]:
    """Whether a scene description (a refined prompt) reaches an expectation's derived
    assertions, read with the same partial reading as the expectation (:func:`read_facts`).

    Each assertion is ``right``, ``wrong`` or ``undecided`` against what the text states:
    ``present`` wants the object named (not with zero), ``absent`` wants it unnamed or zero,
    ``count`` the number stated (all groups numbered and added up, or one ``a``/``an``),
    ``color`` that single color, ``text`` a quoted string containing the expected one,
    ``relation`` the same relation read from the text's layout or words. An object the text
    does not name, a number or color it does not state, leave that assertion undecided: the
    text may say it in words we do not read, so nothing is guessed. One exception: a text that
    names objects of its own and not one of the objects (or the writing) asked for describes
    another scene, which is ``wrong``. A text that restates the task (:func:`restates_task`) is
    undecided as a whole.

    Returns:
        ``wrong`` (one line per contradiction) when any assertion is contradicted, else
        ``right`` when every one is confirmed, else ``undecided`` (one line per open one).
    """
    if restates_task(text):
        return "undecided", ["the refined prompt restates the task (no scene of its own to read)"]
    facts = read_facts(text, as_text=True)
    states = _stated_objects(facts)
    wrong: list[str] = []
    open_: list[str] = []
    for spec in specs:
        verdict, line = _check_text(spec, states, facts)
        if verdict == "wrong":
            wrong.append(line)
        elif verdict == "undecided":
            open_.append(line)
    if wrong:
        return "wrong", wrong
    other = _another_scene(specs, states, facts, text)
    if other:
        return "wrong", [other]
    if open_ or not specs:
        return "undecided", open_ or ["no derived assertion to check"]
    return "right", []


#: Objects that set a scene rather than make it (a text about "the fruit on the table" has
#: not named another subject), by their vocabulary names ("table" reads as "dining table"),
#: and words that may stand for any expected object.
_SETTINGS = frozenset({"dining table", "bench", "chair", "couch", "bed"})
_GENERIC = re.compile(
    r"\b(?:fruits?|vegetables?|foods?|animals?|objects?|items?|things?|toys?|snacks?|drinks?|"
    r"plants?|produce|stuff|something|shapes?)\b",
    re.IGNORECASE,
)


def _another_scene(
    specs: tuple[AssertionSpec, ...], states: dict[str, _Stated], facts: Facts, text: str
) -> str:
    """Why a text describes another scene, or "": it names objects of its own, and not one of
    the objects (or the writing) the expectation asks for. Not a guess from a partial reading:
    the text says what is drawn, and nothing it says is what was asked."""
    drawn = sorted(name for name, st in states.items() if st.named and name not in _SETTINGS)
    asked = [s for s in specs if s.name in ("present", "count", "color", "text")]
    if not drawn or not asked or _GENERIC.search(text):
        return ""
    wanted: list[str] = []
    for spec in asked:
        if spec.name == "text":
            if facts.texts:
                return ""
            wanted.append("written " + repr(str(getattr(spec.params, "contains", None) or "")))
            continue
        name = str(getattr(spec.params, "object", ""))
        st = states.get(name)
        if st is not None and st.named:
            return ""
        wanted.append(name)
    return (
        f"the text draws {', '.join(drawn)} and names none of what is expected "
        f"({', '.join(dict.fromkeys(wanted))})"
    )
