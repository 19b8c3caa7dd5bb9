"""Whether a free-text reply gives an expected answer: the normaliser and the matching rules.

One rule set, shared by the ``understand`` condition (:func:`pytest_ureason.run.understand.
score_answer`) and the ``vqa`` assertion in every mode but ``exact``
(:func:`pytest_ureason.judge.model_assertions.answer_matches`). It decides verdicts, so it is
spelled out here.

**Normaliser** (applied to the reply and to the expected answer):

1. lower case; typographic quotes and dashes made plain; ``n't`` becomes `` not``
   (``"isn't"`` -> ``is not``);
2. every run of characters other than letters, digits and spaces becomes one space
   (punctuation, commas, full stops: ``"Mushroom, duck."`` -> ``mushroom duck``);
3. number words from zero to ninety-nine become digits (``"twenty-one"`` -> ``21``,
   ``"a dozen"`` -> ``12``);
4. the articles ``a``, ``an``, ``the`` are dropped;
5. synonyms are mapped to one word (:data:`SYNONYMS`: ``grey`` -> ``gray``, ``violet`` ->
   ``purple``, ``tv`` / ``television``, ``yeah`` -> ``yes``, ...), and plural object names to
   their singular (``apples`` -> ``apple``), so ``"5 apples"`` and ``"five apple"`` read the same.

**Matching.** A reply gives the expected answer when the two normal forms are equal. Otherwise
it gives it by containment only if it does not hedge, that is, all of:

1. the expected normal form occurs in the reply as a whole run of words (for a *list* answer,
   one with parts separated by commas or ``and``, the words ``and`` and ``then`` are ignored on
   both sides: ``"bell, key and then cup"`` contains ``bell, key, cup``);
2. *no competing answer of the same kind*: for each kind of word the expected answer holds
   -- colors (the palette of :mod:`pytest_ureason.scene.vocabulary` and :data:`OTHER_COLORS`),
   ``yes``/``no``, objects of :mod:`pytest_ureason.scene.vocabulary` -- the reply names no other
   word of that kind (``"red, blue or green"``, ``"yes and no"``, ``"an apple or a lemon"``
   all fail), and it names no number the expected answer does not, whatever the answer
   (``"6 or 7"`` fails for ``6``, ``"2 red apples"`` for ``red``). A word that is both a color
   and an object (``orange``) counts as a color;
3. for a list answer, the reply's words of those kinds, in order, are exactly the list's
   (``"bell, key, cup, apple"`` and ``"cup, key, bell"`` do not give ``"bell, key, cup"``);
4. the expected answer is not negated: the word right before it is none of :data:`NEGATORS`
   (``"not red"``, ``"no red"``, ``"isn't red"``). Not checked for ``yes``/``no`` answers.

So ``"The chair is green."`` gives ``green``, ``"There are six apples."`` gives ``6`` and
``"Yes, it is."`` gives ``yes``; ``"It is not red; it is blue."`` does not give ``red``. Words
of no known kind cannot compete: ``"NORTH or SOUTH"`` still gives ``NORTH``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pytest_ureason.scene import vocabulary

SYNONYMS: dict[str, str] = {
    "grey": "gray",
    "violet": "purple",
    "golden": "yellow",
    "gold": "yellow",
    "television": "tv",
    "sofa": "couch",
    "mobile": "phone",
    "cellphone": "phone",
    "aeroplane": "airplane",
    "plane": "airplane",
    "doughnut": "donut",
    "yes": "yes",
    "yeah": "yes",
    "yep": "yes",
    "true": "yes",
    "false": "no",
    "nope": "no",
}
#: Words that negate the answer right after them (``n't`` is normalised to ``not``).
NEGATORS = frozenset({"not", "no", "never", "without", "nor", "neither", "none", "cannot"})
#: Color words beyond the palette that still compete with a palette color.
OTHER_COLORS = frozenset(
    {"silver", "beige", "cyan", "magenta", "turquoise", "teal", "navy", "maroon", "indigo"}
)
_YES_NO = frozenset({"yes", "no"})
_LIST_FILLERS = frozenset({"and", "then"})
_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_ARTICLES = frozenset({"a", "an", "the"})
_PLAIN = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-", "−": "-"})
_LIST_SPLIT = re.compile(r",|;|\band\b", re.IGNORECASE)


def _numbers_to_digits(words: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if w in ("a", "half") and nxt == "dozen":
            out.append("12" if w == "a" else "6")
            i += 2
            continue
        if w == "dozen":
            out.append("12")
        elif w in _TENS:
            value = 20 + 10 * _TENS.index(w)
            if nxt in _UNITS[1:10]:
                value += _UNITS.index(nxt)
                i += 1
            out.append(str(value))
        elif w in _UNITS:
            out.append(str(_UNITS.index(w)))
        else:
            out.append(w)
        i += 1
    return out


def _singular(word: str) -> str:
    if word.isdigit():
        return word
    found = vocabulary.lookup_object(word)
    return found.name if found is not None and " " not in found.name else word


def normalise(text: str) -> str:
    """The normal form of an answer (see the module docstring for the rules)."""
    text = str(text).translate(_PLAIN).lower().replace("n't", " not").replace("-", " ")
    text = re.sub(r"[^a-z0-9 ]+", " ", text)
    words = _numbers_to_digits(text.split())
    words = [SYNONYMS.get(w, w) for w in words if w not in _ARTICLES]
    return " ".join(_singular(w) for w in words)


def kinds(normal: str) -> dict[str, list[str]]:
    """The words of each kind in a normal form, in order: ``number``, ``color``,
    ``yes/no word``, ``object`` (a multi-word object name such as ``teddy bear`` counts once)."""
    words = normal.split()
    colors = frozenset(vocabulary.COLOR_NAMES) | OTHER_COLORS
    found: dict[str, list[str]] = {
        "number": [w for w in words if w.isdigit()],
        "color": [w for w in words if w in colors],
        "yes/no word": [w for w in words if w in _YES_NO],
        "object": [],
    }
    for hit in vocabulary.object_pattern().finditer(normal):
        obj = vocabulary.lookup_object(hit.group(0))
        if obj is not None and hit.group(0) not in colors:
            found["object"].append(obj.name)
    return found


def is_list(answer: str) -> bool:
    """Whether an expected answer is a list (two or more parts split by commas or ``and``)."""
    return len([p for p in _LIST_SPLIT.split(answer) if p.strip()]) >= 2


@dataclass(frozen=True)
class Match:
    """Whether a reply gives an expected answer, and why (one short clause)."""

    passed: bool
    why: str


def match_answer(reply: str, expected: str) -> Match:
    """Whether ``reply`` gives ``expected`` under the rules of the module docstring."""
    got, want = normalise(reply), normalise(expected)
    if not want:
        return Match(False, "the expected answer is empty after normalising")
    if got == want:
        return Match(True, f"equal after normalising ({want!r})")
    listed = is_list(expected)
    got_words, want_words = got.split(), want.split()
    if listed:
        got_words = [w for w in got_words if w not in _LIST_FILLERS]
        want_words = [w for w in want_words if w not in _LIST_FILLERS]
    starts = _occurrences(got_words, want_words)
    shown = " ".join(want_words)
    if not starts:
        return Match(False, f"normalised {got!r} does not contain {shown!r}")
    mine, theirs = kinds(" ".join(got_words)), kinds(shown)
    for kind, wanted in theirs.items():
        if listed and wanted and mine[kind] != wanted:
            return Match(False, f"the list's {kind} words are {mine[kind]}, not {wanted}")
        checked = wanted or kind == "number"  # a number is never a neutral word
        others = sorted(set(mine[kind]) - set(wanted)) if checked else []
        if others:
            return Match(False, f"{got!r} also names the {kind} {others[0]!r}")
    if want not in _YES_NO:
        for i in starts:
            if i > 0 and got_words[i - 1] in NEGATORS:
                return Match(False, f"{got!r} negates {shown!r} ({got_words[i - 1]!r} before it)")
    return Match(True, f"the answer contains {shown!r}")


def _occurrences(words: list[str], run: list[str]) -> list[int]:
    """Where ``run`` occurs in ``words`` as consecutive words (start indices)."""
    n = len(run)
    return [i for i in range(len(words) - n + 1) if words[i : i + n] == run]
