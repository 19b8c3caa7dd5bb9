"""Solver of the *text* family: a sign, label or poster showing a word or number to derive.

The prompt asks for rendered text that is not written in it: a word spelled backwards, a word
with every letter shifted along the alphabet, the next letters of the alphabet, the weekday some
days after another, the month after a month, the year after a year, the number of letters of a
word, a Roman numeral converted either way, a number written in words converted to digits, the
initials of a phrase, or the opposite of a word. Each rule is a small regex recogniser plus a
symbolic computation; answers are rendered in capitals or digits (what OCR reads best).

The solver returns None unless the prompt both speaks of a sign-like surface and matches one
rule, so prompts of other families fall through to their own solvers.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from dataclasses import dataclass

from pytest_ureason.reference.solvers import Solution
from pytest_ureason.scene.grammar import Scene, describe, parse_scene

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = tuple(
    "january february march april may june july august september october november december".split()
)
#: Pairs of opposites; the lookup works both ways.
OPPOSITES = dict(
    pair.split(":")
    for pair in (
        "hot:cold open:closed up:down day:night fast:slow big:small early:late full:empty "
        "win:lose north:south east:west push:pull entrance:exit light:dark wet:dry high:low "
        "happy:sad hard:soft old:new long:short summer:winter black:white true:false buy:sell "
        "arrive:leave"
    ).split()
)
_OPPOSITE = {**OPPOSITES, **{v: k for k, v in OPPOSITES.items()}}
UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
TENS = ("", "", *"twenty thirty forty fifty sixty seventy eighty ninety".split())
_ROMAN = tuple(
    zip(
        (1000, 900, 500, 400, 100, 90, 50, 40, 10, 9, 5, 4, 1),
        "M CM D CD C XC L XL X IX V IV I".split(),
        strict=True,
    )
)
_DAY_WORDS = {"day after tomorrow": 2, "day before yesterday": -2, "tomorrow": 1, "yesterday": -1}
_SURFACE_RE = re.compile(
    r"\b(sign|signs|signboard|signpost|label|banner|poster|placard|billboard|plaque|chalkboard|"
    r"blackboard|whiteboard|board|card|note|text|written|write|lettering|reads|says)\b",
    re.IGNORECASE,
)
_QUOTED_RE = re.compile(r"\"([^\"\n]{1,60})\"|“([^”\n]{1,60})”|(?<![\w'])'([^'\n]{1,60})'(?!\w)")
_NUM = r"(\d{1,2}|" + "|".join([*UNITS[1:], "a", "an"]) + r")"


def words_to_int(text: str) -> int | None:
    """Parse a number written in digits or English words below one hundred ("forty-two")."""
    text = " ".join(text.lower().replace("-", " ").split())
    if text.isdigit():
        return int(text)
    if text in ("a", "an", "one"):
        return 1
    if text in UNITS:
        return UNITS.index(text)
    parts = text.split()
    if parts and parts[0] in TENS[2:]:
        tens = TENS.index(parts[0]) * 10
        if len(parts) == 1:
            return tens
        if len(parts) == 2 and parts[1] in UNITS[1:10]:
            return tens + UNITS.index(parts[1])
    return None


def int_to_words(n: int) -> str:
    """English words for 0..99 ("forty-two")."""
    if n < 20:
        return UNITS[n]
    tens, unit = divmod(n, 10)
    return TENS[tens] + (f"-{UNITS[unit]}" if unit else "")


def to_roman(n: int) -> str:
    """Roman numeral of 1..3999."""
    out = []
    for value, symbol in _ROMAN:
        count, n = divmod(n, value)
        out.append(symbol * count)
    return "".join(out)


def from_roman(numeral: str) -> int | None:
    """Value of a canonical Roman numeral, None when it is not one."""
    numeral = numeral.upper()
    if not numeral or any(ch not in "IVXLCDM" for ch in numeral) or len(numeral) > 15:
        return None
    values = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
    total = 0
    for i, ch in enumerate(numeral):
        v = values[ch]
        nxt = values[numeral[i + 1]] if i + 1 < len(numeral) else 0
        total += -v if v < nxt else v
    return total if 0 < total < 4000 and to_roman(total) == numeral else None


@dataclass(frozen=True)
class _Found:
    answer: str
    steps: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]


_Rule = Callable[[str], "_Found | None"]


def _qtext(m: re.Match[str]) -> str:
    return next(g for g in m.groups() if g is not None).strip()


def _source_word(prompt: str) -> tuple[str, tuple[int, int]] | None:
    """The word a rule transforms: the first quoted string, else the X of ``the word X``."""
    q = _QUOTED_RE.search(prompt)
    if q is not None:
        return _qtext(q), q.span()
    m = re.search(r"\bthe (?:word|name) ([A-Za-z]+)\b", prompt, re.IGNORECASE)
    if m is not None:
        return m.group(1), m.span(1)
    return None


def _acronym(prompt: str) -> _Found | None:
    cue = re.search(
        r"(?i)\b(initials|acronym|abbreviation|first letters? of (?:each|every|all the) words?)\b",
        prompt,
    )
    q = _QUOTED_RE.search(prompt)
    if cue is None or q is None:
        return None
    phrase = _qtext(q)
    words = [w for w in re.split(r"[\s\-]+", phrase) if w]
    if len(words) < 2 or not all(w[0].isalpha() for w in words):
        return None
    answer = "".join(w[0] for w in words).upper()
    return _Found(
        answer,
        (f"The words of {phrase!r} start with {', '.join(answer)}.", f"Together: {answer}."),
        (cue.span(), q.span()),
    )


def _roman(prompt: str) -> _Found | None:
    cue = re.search(r"\broman numerals?\b", prompt, re.IGNORECASE)
    if cue is None:
        return None
    to = re.search(r"\b(\d{1,4})\b(?=[^.]*\broman\b)", prompt, re.IGNORECASE)
    if to is not None and re.search(r"\b(?:in|as|into|using)\s+(?:a\s+)?roman", prompt, re.I):
        n = int(to.group(1))
        if 0 < n < 4000:
            answer = to_roman(n)
            return _Found(answer, (f"{n} in Roman numerals is {answer}.",), (to.span(),))
    for m in re.finditer(r"(?<![A-Za-z])([IVXLCDM]{2,15}|[IVXLCDM])(?![A-Za-z])", prompt):
        value = from_roman(m.group(1))
        before = prompt[m.start() - 1] if m.start() > 0 else ""
        if value is not None and (len(m.group(1)) > 1 or before in ('"', "'", "“")):
            return _Found(
                str(value), (f"The Roman numeral {m.group(1)} means {value}.",), (m.span(),)
            )
    return None


def _letter_count(prompt: str) -> _Found | None:
    cue = re.search(r"(?i)\b(?:number of|how many|count of|count the)\s+(letters|vowels)\b", prompt)
    if cue is None:
        return None
    src = _source_word(prompt)
    if src is None:
        return None
    word, span = src
    letters = [ch for ch in word.lower() if ch.isalpha()]
    if cue.group(1).lower() == "vowels":
        letters = [ch for ch in letters if ch in "aeiou"]
    n = len(letters)
    what = cue.group(1).lower()
    return _Found(str(n), (f"{word!r} has {n} {what}: {' '.join(letters)}.",), (cue.span(), span))


def _shift_letters(word: str, k: int) -> str:
    out = []
    for ch in word.upper():
        if ch in string.ascii_uppercase:
            out.append(chr((ord(ch) - 65 + k) % 26 + 65))
        else:
            out.append(ch)
    return "".join(out)


def _caesar(prompt: str) -> _Found | None:
    if re.search(r"\b(?:each|every|all (?:its|the|of its)) letters?\b", prompt, re.I) is None:
        return None
    k: int | None = None
    m = re.search(r"\b(next|following|previous|preceding) letter\b", prompt, re.IGNORECASE)
    if m is not None:
        k = 1 if m.group(1).lower() in ("next", "following") else -1
    m2 = re.search(
        rf"(?i)\b{_NUM}\s+(?:places?|positions?|steps?|letters?)\s+"
        r"(forward|forwards|ahead|later|on|back|backward|backwards|earlier)\b",
        prompt,
    )
    if m2 is not None:
        n = words_to_int(m2.group(1))
        if n is not None:
            k = n if m2.group(2).lower() in ("forward", "forwards", "ahead", "later", "on") else -n
    if k is None:
        return None
    src = _source_word(prompt)
    if src is None:
        return None
    word, span = src
    answer = _shift_letters(word, k)
    return _Found(answer, (f"Shift each letter of {word!r} by {k}: {answer}.",), (span,))


def _reverse(prompt: str) -> _Found | None:
    cue = re.search(
        r"(?i)\b(backwards?|in reverse|reversed|reverse of|reverse order|right to left)\b",
        prompt,
    )
    if cue is None:
        return None
    src = _source_word(prompt)
    if src is None:
        return None
    word, span = src
    answer = word[::-1].upper()
    return _Found(
        answer,
        (f"{word!r} read from the last letter to the first is {answer}.",),
        (cue.span(), span),
    )


def _next_letters(prompt: str) -> _Found | None:
    if re.search(r"\balphabet\b", prompt, re.IGNORECASE) is None:
        return None
    m = re.search(
        rf"(?i)\b(?:the\s+)?(?:next\s+)?(?:{_NUM}\s+)?(?:next\s+)?letters?\b[^.\"']*?"
        r"\b(after|before|following|preceding)\s+(?:the\s+letter\s+)?[\"'“]?([A-Za-z])\b",
        prompt,
    )
    if m is None:
        return None
    n = words_to_int(m.group(1)) if m.group(1) else 1
    if n is None or not 1 <= n <= 25:
        return None
    base = ord(m.group(3).upper()) - 65
    forward = m.group(2).lower() in ("after", "following")
    idx = range(base + 1, base + 1 + n) if forward else range(base - n, base)
    if min(idx) < 0 or max(idx) > 25:
        return None
    answer = "".join(chr(65 + i) for i in idx)
    side = "after" if forward else "before"
    return _Found(
        answer, (f"The {n} letters {side} {m.group(3).upper()} are {answer}.",), (m.span(),)
    )


def _offset(prompt: str, unit: str) -> tuple[int, tuple[int, int]] | None:
    """A signed offset in ``unit`` (day/month/year): "three days after", "the month before"."""
    m = re.search(
        rf"(?i)\b{_NUM}\s+{unit}s?\s+(after|before|from|later than|earlier than|later|ago)",
        prompt,
    )
    if m is not None:
        n = words_to_int(m.group(1))
        if n is not None:
            sign = -1 if m.group(2).lower() in ("before", "earlier than", "ago") else 1
            return sign * n, m.span()
    if unit == "day":
        for phrase, k in _DAY_WORDS.items():
            m = re.search(rf"\b{phrase}\b", prompt, re.IGNORECASE)
            if m is not None:
                return k, m.span()
    m = re.search(
        rf"(?i)\b{unit}\s+(?:(?:that|which)\s+)?(?:comes?\s+|coming\s+)?"
        r"(?:right\s+|just\s+|directly\s+|immediately\s+)?"
        r"(after|before|following|preceding|follows|precedes)\b",
        prompt,
    )
    if m is not None:
        return (1 if m.group(1).lower() in ("after", "following", "follows") else -1), m.span()
    return None


def _cycle(prompt: str, names: tuple[str, ...], unit: str) -> _Found | None:
    pattern = re.compile(r"\b(" + "|".join(names) + r")\b", re.IGNORECASE)
    # "may" and "march" in lower case are verbs, not months.
    m = next((m for m in pattern.finditer(prompt) if m.group(1) not in ("may", "march")), None)
    if m is None:
        return None
    off = _offset(prompt, unit)
    if off is None or off[0] == 0:
        return None
    k, span = off
    start = names.index(m.group(1).lower())
    answer = names[(start + k) % len(names)].upper()
    step = f"{k:+d} {unit}{'s' if abs(k) != 1 else ''} from {m.group(1).capitalize()} is"
    return _Found(answer, (f"{step} {answer.capitalize()}.",), (m.span(), span))


def _weekday(prompt: str) -> _Found | None:
    return _cycle(prompt, WEEKDAYS, "day")


def _month(prompt: str) -> _Found | None:
    return _cycle(prompt, MONTHS, "month")


def _year(prompt: str) -> _Found | None:
    m = re.search(r"\b(\d{3,4})\b", prompt)
    if m is None or re.search(r"\byears?\b", prompt, re.IGNORECASE) is None:
        return None
    off = _offset(prompt, "year")
    if off is None:
        return None
    k, span = off
    answer = str(int(m.group(1)) + k)
    return _Found(answer, (f"{m.group(1)} {k:+d} years is {answer}.",), (m.span(), span))


def _digits(prompt: str) -> _Found | None:
    cue = re.search(r"(?i)\b(?:in|as|using|with)\s+(?:digits|numerals|figures|numbers)\b", prompt)
    q = _QUOTED_RE.search(prompt)
    if cue is None or q is None or re.search(r"\broman\b", prompt, re.IGNORECASE):
        return None
    value = words_to_int(_qtext(q))
    if value is None:
        return None
    return _Found(str(value), (f"{_qtext(q)!r} is the number {value}.",), (q.span(),))


def _opposite(prompt: str) -> _Found | None:
    cue = re.search(r"\b(?:opposite|antonym)\b", prompt, re.IGNORECASE)
    if cue is None:
        return None
    src = _source_word(prompt)
    if src is None or src[0].lower() not in _OPPOSITE:
        return None
    word, span = src
    answer = _OPPOSITE[word.lower()].upper()
    return _Found(answer, (f"The opposite of {word!r} is {answer}.",), (cue.span(), span))


#: Most specific first: an acronym or Roman numeral prompt may also mention "letters".
RULES: tuple[_Rule, ...] = (_acronym, _roman, _letter_count, _caesar, _reverse, _next_letters)
RULES += (_digits, _opposite, _weekday, _month, _year)


def _objects(prompt: str, spans: tuple[tuple[int, int], ...]) -> Scene:
    """Objects drawn next to the sign: the prompt's object mentions outside the rule's text."""
    chars = list(prompt)
    for a, b in spans:
        chars[a:b] = " " * (b - a)
    scene = parse_scene("".join(chars))
    return Scene(groups=scene.groups)


def solve(prompt: str) -> Solution | None:
    """Solve a text-family prompt.

    Args:
        prompt: the raw task prompt.

    Returns:
        The solution (answer in capitals or digits, refined prompt with a sign that reads it),
        or None when the prompt is not a text-family task this solver understands.
    """
    prompt = prompt[:2000]
    if _SURFACE_RE.search(prompt) is None:
        return None
    for rule in RULES:
        found = rule(prompt)
        if found is None or not found.answer.strip():
            continue
        scene = _objects(prompt, found.spans)
        scene.texts = [found.answer]
        steps = (*found.steps, f"The sign must read {found.answer}.")
        return Solution("text", steps, found.answer, describe(scene))
    return None
