"""Generator of the *text* family: a sign whose words or number must be derived first.

Every instance asks for a sign, poster, banner or label showing something the prompt does not
spell out: a word backwards, a word with its letters shifted, the next letters of the alphabet,
a weekday, month or year reached by an offset, a letter count, a Roman numeral converted either
way, a number in words converted to digits, the initials of a phrase or the opposite of a word.
Answers are capitals or digits. Leak-proof: the answer is never within the ``text``
assertion's tolerance of any substring of the prompt, so drawing the prompt's quoted words (what
the literal reference renderer does) cannot pass.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import partial
from typing import Any

from pytest_ureason.collect.generators import draw_fresh, generator
from pytest_ureason.judge.assertions import substring_distance
from pytest_ureason.reference.solvers.text import (
    MONTHS,
    OPPOSITES,
    WEEKDAYS,
    int_to_words,
    to_roman,
)
from pytest_ureason.scene.grammar import Group, Scene, describe

REVERSIBLE = (
    "stressed drawer live star stop parts diaper lager loop wolf keep time ward reed gulp trap "
    "smart devil denim faced spoons stink sleep snap tops lever doom spit nuts straw planet "
    "garden window rocket castle pencil robot dragon silver button market"
).split()
SHIFTABLE = "cat dog sun hat map fish bird lamp moon king code game jump word frog milk".split()
LONG_WORDS = (
    "elephant giraffe umbrella butterfly chocolate mountain keyboard pineapple sandwich "
    "adventure dinosaur telephone library calendar rainbow kitchen volcano penguin"
).split()
PHRASES = (
    "Very Important Person",
    "Unidentified Flying Object",
    "Frequently Asked Questions",
    "Do It Yourself",
    "As Soon As Possible",
    "Best Friends Forever",
    "Central Processing Unit",
    "Random Access Memory",
    "Graphics Processing Unit",
    "Point Of View",
    "Hypertext Markup Language",
)
_ADJ = "Green Happy Silver Quiet Golden Brave Little Northern Wild Bright Royal Sunny".split()
_NOUN = "Apple River Tiger Garden Music Ocean Castle Forest Lantern Mountain Harbor Falcon".split()
_CLUB = "Club Society Team Band Company Festival Market Academy".split()
SURFACES = (
    "Draw a sign that shows {clause}.",
    "A shop sign displays {clause}. Draw the sign.",
    "Make a poster whose only text is {clause}.",
    "Draw a banner with {clause} written on it.",
    "Design a label that reads {clause}.",
    "Paint a wooden sign showing {clause}.",
)
SURFACES_WITH_OBJECT = (
    "Draw {obj} next to a sign that shows {clause}.",
    "Draw {obj} and, under it, a sign showing {clause}.",
    "Picture {obj} beside a small poster that displays {clause}.",
)
COMPANIONS = (
    "cup",
    "clock",
    "lamp",
    "tree",
    "house",
    "car",
    "dog",
    "cat",
    "bench",
    "potted plant",
    "bicycle",
    "umbrella",
    "vase",
    "chair",
    "flower",
    "bus",
)

_Task = tuple[str, str]  # (clause, answer)
_Maker = Callable[[random.Random], _Task]


def _num(rng: random.Random, n: int) -> str:
    return int_to_words(n) if n < 20 and rng.random() < 0.7 else str(n)


def _reverse(rng: random.Random) -> _Task:
    w = rng.choice(REVERSIBLE)
    clause = rng.choice(
        (
            'the word "{w}" spelled backwards',
            '"{w}" written in reverse',
            'the reverse of the word "{w}"',
            '"{w}" with its letters in reverse order',
        )
    ).format(w=w)
    return clause, w[::-1].upper()


def _shift(rng: random.Random) -> _Task:
    w = rng.choice(SHIFTABLE)
    k = rng.choice((1, 1, -1, 2, 3))
    if k == 1:
        clause = f'the word "{w}" with each letter replaced by the next letter of the alphabet'
    elif k == -1:
        clause = f'the word "{w}" with every letter replaced by the previous letter of the alphabet'
    else:
        clause = f'"{w}" with every letter shifted {_num(rng, k)} places forward in the alphabet'
    answer = "".join(chr((ord(ch) - 97 + k) % 26 + 65) for ch in w)
    return clause, answer


def _letters(rng: random.Random) -> _Task:
    n = rng.randint(2, 4)
    forward = rng.random() < 0.6
    base = rng.randint(0, 25 - n) if forward else rng.randint(n, 25)
    letter = chr(65 + base)
    idx = range(base + 1, base + 1 + n) if forward else range(base - n, base)
    answer = "".join(chr(65 + i) for i in idx)
    words = int_to_words(n)
    if forward:
        clause = rng.choice(
            (
                f'the {words} letters that come right after "{letter}" in the alphabet',
                f"the next {words} letters of the alphabet after {letter}",
            )
        )
    else:
        clause = f'the {words} letters just before "{letter}" in the alphabet, in order'
    return clause, answer


def _cyclic(rng: random.Random, names: tuple[str, ...], unit: str) -> _Task:
    start = rng.randrange(len(names))
    name = names[start].capitalize()
    k = rng.choice([k for k in range(-len(names) + 1, len(names)) if k != 0])
    if abs(k) == 1 and rng.random() < 0.6:
        side = "right after" if k > 0 else "just before"
        clause = f"the {unit} that comes {side} {name}"
    elif unit == "day" and k in (1, 2, -1) and rng.random() < 0.5:
        clause = {
            1: "the day it will be tomorrow, if today is {d}",
            2: "the day after tomorrow, if today is {d}",
            -1: "the day it was yesterday, if today is {d}",
        }[k].format(d=name)
    else:
        n = _num(rng, abs(k))
        what = "day of the week" if unit == "day" else unit
        clause = f"the {what} {n} {unit}s {'after' if k > 0 else 'before'} {name}"
    return clause, names[(start + k) % len(names)].upper()


def _weekday(rng: random.Random) -> _Task:
    return _cyclic(rng, WEEKDAYS, "day")


def _month(rng: random.Random) -> _Task:
    return _cyclic(rng, MONTHS, "month")


def _year(rng: random.Random) -> _Task:
    year = rng.randint(1900, 2030)
    if rng.random() < 0.35:
        return f"the year that comes right after {year}", str(year + 1)
    k = rng.randint(2, 30)
    after = rng.random() < 0.6
    clause = f"the year {_num(rng, k)} years {'after' if after else 'before'} {year}"
    return clause, str(year + k if after else year - k)


def _count(rng: random.Random) -> _Task:
    w = rng.choice(LONG_WORDS)
    clause = rng.choice(
        (
            'the number of letters in the word "{w}"',
            'how many letters the word "{w}" has',
            'the number of letters in "{w}", as digits',
        )
    ).format(w=w)
    return clause, str(len(w))


def _roman(rng: random.Random) -> _Task:
    n = rng.choice((rng.randint(11, 49), rng.randint(11, 49), rng.randint(1900, 2030)))
    r = to_roman(n)
    if rng.random() < 0.5:
        clause = rng.choice(
            (
                f'the Roman numeral "{r}" written as an ordinary number',
                f"the value of the Roman numeral {r}, in digits",
            )
        )
        return clause, str(n)
    clause = rng.choice((f"the number {n} in Roman numerals", f"{n} written as a Roman numeral"))
    return clause, r


def _digits(rng: random.Random) -> _Task:
    n = rng.choice([k for k in range(21, 100) if k % 10])
    clause = rng.choice(('the number "{w}" written in digits', '"{w}" written with numerals'))
    return clause.format(w=int_to_words(n)), str(n)


def _acronym(rng: random.Random) -> _Task:
    if rng.random() < 0.4:
        phrase = rng.choice(PHRASES)
    else:
        phrase = f"{rng.choice(_ADJ)} {rng.choice(_NOUN)} {rng.choice(_CLUB)}"
    clause = rng.choice(
        (
            'the initials of "{p}"',
            'the acronym of "{p}"',
            'the first letter of each word in "{p}"',
        )
    ).format(p=phrase)
    return clause, "".join(w[0] for w in phrase.split()).upper()


def _opposite(rng: random.Random) -> _Task:
    a, b = rng.choice(sorted(OPPOSITES.items()))
    w, answer = (a, b) if rng.random() < 0.5 else (b, a)
    clause = rng.choice(('the opposite of the word "{w}"', 'the antonym of "{w}"')).format(w=w)
    return clause, answer.upper()


KINDS: dict[str, _Maker] = {
    "reverse": _reverse,
    "shift": _shift,
    "alphabet": _letters,
    "weekday": _weekday,
    "month": _month,
    "year": _year,
    "letter-count": _count,
    "roman": _roman,
    "digits": _digits,
    "acronym": _acronym,
    "opposite": _opposite,
}


def tolerance(answer: str) -> int:
    """OCR tolerance of an answer: one edit for words of seven letters or more, else none."""
    return 1 if answer.isalpha() and len(answer) >= 7 else 0


def leaks(prompt: str, answer: str) -> bool:
    """Whether copying text from the prompt could pass the ``text`` assertion for ``answer``."""
    return substring_distance(answer.lower(), prompt.lower()) <= tolerance(answer)


def _instance(rng: random.Random, kind: str, ident: str) -> dict[str, Any]:
    clause, answer = KINDS[kind](rng)
    groups: list[Group] = []
    if rng.random() < 0.3:
        name = rng.choice(COMPANIONS)
        article = "an" if name[0] in "aeiou" else "a"
        prompt = rng.choice(SURFACES_WITH_OBJECT).format(obj=f"{article} {name}", clause=clause)
        groups.append(Group(name, 1))
    else:
        prompt = rng.choice(SURFACES).format(clause=clause)
    text: dict[str, Any] = {"contains": answer}
    if tolerance(answer):
        text["tolerance"] = tolerance(answer)
    expect: list[dict[str, Any]] = [{"text": text}]
    expect += [{"present": {"object": g.name}} for g in groups]
    return {
        "id": ident,
        "task": "text",
        "prompt": prompt,
        "refined": describe(Scene(groups=groups, texts=[answer])),
        "expect": expect,
        "tags": ["generated", kind],
    }


def _fresh(seen: set[str], item: dict[str, Any]) -> bool:
    """A new prompt whose answer OCR reads reliably and cannot be copied from the prompt."""
    answer = item["expect"][0]["text"]["contains"]
    if item["prompt"] in seen or answer in ("0", "1"):
        return False
    return not leaks(item["prompt"], answer)


@generator("text")
def generate(count: int, seed: int) -> list[dict[str, Any]]:
    """Generate ``count`` text-family instances, deterministically from ``seed``.

    Kinds are dealt round-robin from a seed-dependent start, so every kind appears once
    ``count`` reaches the number of kinds.

    Args:
        count: number of instances.
        seed: seed of the expansion.

    Returns:
        Instance dicts (``id``, ``task``, ``prompt``, ``refined``, ``expect``, ``tags``).
    """
    rng = random.Random(seed)
    names = list(KINDS)
    offset = rng.randrange(len(names))
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i in range(count):
        kind = names[(offset + i) % len(names)]
        item = draw_fresh(
            partial(_instance, rng, kind, f"text-g{seed}-{i:04d}"),
            partial(_fresh, seen),
            tries=200,
            what=f"text generator ({kind})",
        )
        seen.add(item["prompt"])
        out.append(item)
    return out
