"""Program templates of the ``code`` generator: the vocabulary and the blocks programs are built of.

A program is assembled by :func:`make_program` from three randomly chosen blocks and a final
``print``: one block computes the count (arithmetic, a filtering loop, a sum, a ``while`` loop,
a digit sum, a function, a comprehension, string methods or a dict lookup), one picks the color
and one the object (list indexing, often through the count, dict lookups, ``split``, a search
loop, ``sorted``, string slicing and replacing). Variable names and literal values are drawn
from the generator's :class:`random.Random`, so the same seed gives the same programs. The
programs are not checked here: :mod:`pytest_ureason.collect.generators.code` runs each one and
rejects
those that print the wrong line or give the answer away.
"""

from __future__ import annotations

import random
from collections.abc import Callable

COLORS = (
    "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "gray",
)  # fmt: skip
OBJECTS = (
    "apple", "banana", "cup", "book", "clock", "chair", "umbrella", "bottle", "car", "bus", "dog",
    "cat", "bird", "horse", "kite", "vase", "bowl", "donut", "pizza", "cake", "laptop", "bicycle",
    "boat", "teddy bear", "traffic light",
)  # fmt: skip
# Dict keys and filler words: none is a color or an object of the vocabulary.
_FILLER = ("road", "hill", "lake", "wind", "sand", "rock", "rain", "salt", "mist", "dust", "wave")


class _Build:
    """Random choices for one program; block builders append to ``lines``."""

    def __init__(self, rng: random.Random, count: int, color: str, obj: str) -> None:
        self.rng, self.count, self.color, self.obj = rng, count, color, obj
        self.n = rng.choice(("n", "count", "total", "qty", "num", "amount"))
        self.col = rng.choice(("color", "shade", "hue", "tone", "paint"))
        self.thing = rng.choice(("thing", "obj", "item", "noun", "what"))
        self.lines: list[str] = []

    def add(self, *lines: str) -> None:
        """Append program lines."""
        self.lines.extend(lines)

    def others(self, pool: tuple[str, ...], answer: str, k: int) -> list[str]:
        """``k`` distinct words of ``pool`` other than ``answer``, in random order."""
        return self.rng.sample([word for word in pool if word != answer], k)

    def placed(self, pool: tuple[str, ...], answer: str, size: int, at: int) -> list[str]:
        """``size`` distinct words of ``pool`` with ``answer`` at index ``at``."""
        words = self.others(pool, answer, size - 1)
        words.insert(at, answer)
        return words

    def index_expr(self, size: int) -> tuple[int, str]:
        """A list position and an index expression that reaches it, often through the count."""
        rng, c = self.rng, self.count
        kind = rng.randrange(4)
        if kind == 0:
            return c % size, f"{self.n} % len({{lst}})"
        if kind == 1:
            mult = rng.randint(2, 5)
            return c * mult % size, f"{self.n} * {mult} % len({{lst}})"
        if kind == 2:
            at = rng.randrange(size)
            off = at - c
            return at, self.n if off == 0 else f"{self.n} {'+-'[off < 0]} {abs(off)}"
        at = rng.randrange(size)
        return at, str(at - size if rng.random() < 0.3 else at)


# -- count blocks ----------------------------------------------------------------------------
def _count_arith(b: _Build) -> None:
    rng, c, n = b.rng, b.count, b.n
    kind = rng.randrange(3)
    if kind == 0:
        x, y = rng.randint(2, 9), rng.randint(2, 9)
        while x * y <= c:
            y += 1
        b.add(f"a = {x}", f"{n} = a * {y} - {x * y - c}")
    elif kind == 1:
        d = rng.randint(2, 5)
        whole = c * d + rng.randrange(d)
        part = rng.randint(1, whole - 1)
        b.add(f"{n} = ({part} + {whole - part}) // {d}")
    else:
        m = rng.randint(c + 1, 12)
        b.add(f"{n} = {m * rng.randint(1, 6) + c} % {m}")


def _count_filter(b: _Build) -> None:
    rng, c = b.rng, b.count
    cut = rng.randint(10, 20)
    hits = [rng.randint(cut + 1, cut + 20) for _ in range(c)]
    misses = [
        rng.choice([v for v in range(1, cut + 1) if v != c]) for _ in range(rng.randint(1, 4))
    ]
    values = hits + misses
    rng.shuffle(values)
    lst = rng.choice(("vals", "nums", "data", "scores"))
    b.add(f"{lst} = {values}", f"{b.n} = 0", f"for v in {lst}:", f"    if v > {cut}:")
    b.add(f"        {b.n} += 1")


def _count_sum(b: _Build) -> None:
    rng, c = b.rng, b.count
    values = [rng.randint(1, 15) for _ in range(rng.randint(2, 5))]
    extra = sum(values) - c
    if extra <= 0:
        values.append(1 - extra + rng.randint(1, 9))
        extra = sum(values) - c
    if rng.random() < 0.5:
        b.add(f"{b.n} = sum({values}) - {extra}")
    else:
        b.add("acc = 0", f"for v in {values}:", "    acc += v", f"{b.n} = acc - {extra}")


def _count_while(b: _Build) -> None:
    rng, c = b.rng, b.count
    if rng.random() < 0.5:
        step, stop = rng.randint(2, 5), rng.randint(0, 9)
        start = stop + step * (c - 1) + rng.randint(1, step)
        b.add(f"x = {start}", f"{b.n} = 0", f"while x > {stop}:", f"    x -= {step}")
    else:
        base = rng.randint(1, 3)
        limit = rng.randint(base * 2 ** (c - 1) + 1, base * 2**c)
        b.add(f"x = {base}", f"{b.n} = 0", f"while x < {limit}:", "    x = x * 2")
    b.add(f"    {b.n} += 1")


def _count_digits(b: _Build) -> None:
    rng, c = b.rng, b.count
    digits = [0] * rng.randint(2, 3)
    for _ in range(c):
        digits[rng.choice([i for i, d in enumerate(digits) if d < 9])] += 1
    if digits[0] == 0:
        first = next(i for i, d in enumerate(digits) if d)
        digits[0], digits[first] = digits[first], 0
    number = int("".join(map(str, digits)))
    if rng.random() < 0.5:
        b.add("def digit_sum(x):", "    if x < 10:", "        return x")
        b.add("    return x % 10 + digit_sum(x // 10)", f"{b.n} = digit_sum({number})")
    else:
        b.add(f"x = {number}", f"{b.n} = 0", "while x > 0:", f"    {b.n} += x % 10", "    x //= 10")


def _count_function(b: _Build) -> None:
    rng, c = b.rng, b.count
    mult, arg = rng.randint(2, 4), rng.randint(2, 9)
    while arg * mult <= c:
        arg += 1
    name = rng.choice(("f", "calc", "compute"))
    b.add(f"def {name}(x):", f"    return x * {mult} - {arg * mult - c}", f"{b.n} = {name}({arg})")


def _count_comprehension(b: _Build) -> None:
    rng, c = b.rng, b.count
    m, first = rng.randint(2, 5), rng.randint(1, 4)
    low = first * m - rng.randrange(m)
    high = (first + c - 1) * m + rng.randint(1, m)
    comp = f"[x for x in range({low}, {high}) if x % {m} == 0]"
    if rng.random() < 0.5:
        b.add(f"{b.n} = len({comp})")
    else:
        b.add(f"picked = {comp}", f"{b.n} = len(picked)")


def _count_text(b: _Build) -> None:
    rng, c = b.rng, b.count
    if rng.random() < 0.5:
        extra = rng.randint(0, 2)
        text = " ".join(rng.sample(_FILLER, c + extra))
        b.add(f'words = "{text}".split()', f"{b.n} = len(words)" + (f" - {extra}" if extra else ""))
    else:
        letter = rng.choice("abcdefgh")
        chars = [letter] * c + rng.choices([ch for ch in "abcdefgh" if ch != letter], k=4)
        rng.shuffle(chars)
        b.add(f'{b.n} = "{"".join(chars)}".count("{letter}")')


def _count_dict(b: _Build) -> None:
    rng, c = b.rng, b.count
    high = rng.randint(c + 1, c + 9)
    first, second = rng.sample(_FILLER, 2)
    b.add(f'stock = {{"{first}": {high}, "{second}": {high - c}}}')
    b.add(f'{b.n} = stock["{first}"] - stock["{second}"]')


# -- color and object blocks -------------------------------------------------------------------
def _pick_list(b: _Build, pool: tuple[str, ...], answer: str, target: str, names: str) -> None:
    rng = b.rng
    size = rng.randint(3, 6)
    at, expr = b.index_expr(size)
    words = b.placed(pool, answer, size, at)
    lst = rng.choice(names.split())
    style = rng.randrange(4)
    if style == 0:
        b.add(f"{lst} = {words}", f"{target} = {lst}[{expr.format(lst=lst)}]")
    elif style == 1:
        b.add(
            f"{lst} = {[w[::-1] for w in words]}", f"{target} = {lst}[{expr.format(lst=lst)}][::-1]"
        )
    elif style == 2:
        b.add(
            f"{lst} = {[w.upper() for w in words]}",
            f"{target} = {lst}[{expr.format(lst=lst)}].lower()",
        )
    else:
        fn = rng.choice(("pick", "choose", "select")) if pool is COLORS else "fetch"
        if f"def {fn}(" not in "\n".join(b.lines):
            b.add(f"def {fn}(options, k):", "    return options[k % len(options)]")
        shift = rng.randint(0, 3)
        at = (b.count + shift) % size
        words = b.placed(pool, answer, size, at)
        arg = b.n if shift == 0 else f"{b.n} + {shift}"
        b.add(f"{lst} = {words}", f"{target} = {fn}({lst}, {arg})")


def _color_list(b: _Build) -> None:
    _pick_list(b, COLORS, b.color, b.col, "palette colors shades tones")


def _table(keys: list[str], values: list[str]) -> str:
    return "{" + ", ".join(f'"{k}": "{v}"' for k, v in zip(keys, values, strict=True)) + "}"


def _color_dict(b: _Build) -> None:
    rng = b.rng
    size = rng.randint(2, 4)
    keys = rng.sample(_FILLER, size + 1)
    if rng.random() < 0.3:  # the key is missing, so the default is the answer
        b.add(f"paints = {_table(keys[:size], b.others(COLORS, b.color, size))}")
        b.add(f'{b.col} = paints.get("{keys[-1]}", "{b.color}")')
    else:
        values = b.placed(COLORS, b.color, size, rng.randrange(size))
        b.add(f"paints = {_table(keys[:size], values)}")
        b.add(f'{b.col} = paints["{keys[values.index(b.color)]}"]')


def _color_split(b: _Build) -> None:
    rng = b.rng
    size = rng.randint(3, 5)
    at, expr = b.index_expr(size)
    words = b.placed(COLORS, b.color, size, at)
    sep = rng.choice(("-", ",", "/", ";"))
    text = sep.join(w.title() if rng.random() < 0.5 else w.upper() for w in words)
    b.add(
        f'parts = "{text}".split("{sep}")', f"{b.col} = parts[{expr.format(lst='parts')}].lower()"
    )


def _color_search(b: _Build) -> None:
    rng = b.rng
    words = b.placed(COLORS, b.color, rng.randint(3, 5), 0)
    rng.shuffle(words)
    if rng.random() < 0.5:
        test = f'c.endswith("{b.color[-2:]}")'
    else:
        words = [w for w in words if w == b.color or len(w) != len(b.color)]
        test = f"len(c) == {len(b.color)}"
    lst = b.rng.choice(("choices", "candidates"))
    b.add(f"{lst} = {words}", f"for c in {lst}:", f"    if {test}:", f"        {b.col} = c")
    b.add("        break")


def _color_sorted(b: _Build) -> None:
    rng = b.rng
    words = b.placed(COLORS, b.color, rng.randint(3, 5), 0)
    rng.shuffle(words)
    reverse = rng.random() < 0.5
    at = sorted(words, reverse=reverse).index(b.color)
    call = f"sorted({words}, reverse=True)" if reverse else f"sorted({words})"
    b.add(f"{b.col} = {call}[{at}]")


def _object_list(b: _Build) -> None:
    _pick_list(b, OBJECTS, b.obj, b.thing, "things options stuff names")


def _object_pieces(b: _Build) -> None:
    rng, obj, target = b.rng, b.obj, b.thing
    style = rng.randrange(4)
    if style == 0 and len(obj) > 2:
        cut = rng.randint(1, len(obj) - 1)
        b.add(f'{target} = "{obj[:cut]}" + "{obj[cut:]}"')
    elif style == 1:
        mark = rng.choice("#*@_")
        pos = rng.randrange(len(obj))
        masked = obj.replace(obj[pos], mark)
        b.add(f'{target} = "{masked}".replace("{mark}", "{obj[pos]}")')
    elif style == 2:
        pad = "".join(rng.choices("qxzjkvw", k=rng.randint(2, 4)))
        text = pad + obj + "".join(rng.choices("qxzjkvw", k=2))
        b.add(f'{target} = "{text}"[{len(pad)}:{len(pad) + len(obj)}]')
    else:
        b.add(f'{target} = "{obj[::-1]}"[::-1]')


def _object_dict(b: _Build) -> None:
    rng = b.rng
    size = rng.randint(2, 4)
    keys = rng.sample(_FILLER, size)
    values = b.placed(OBJECTS, b.obj, size, rng.randrange(size))
    b.add(f"shop = {_table(keys, values)}", f'{b.thing} = shop["{keys[values.index(b.obj)]}"]')


def _object_filter(b: _Build) -> None:
    rng, obj = b.rng, b.obj
    others = [w for w in OBJECTS if w[0] != obj[0]]
    words = [*rng.sample(others, rng.randint(2, 4)), obj]
    rng.shuffle(words)
    b.add(f"names = {words}", f'{b.thing} = [w for w in names if w.startswith("{obj[0]}")][0]')


_COUNTS: tuple[Callable[[_Build], None], ...] = (
    _count_arith, _count_filter, _count_sum, _count_while, _count_digits, _count_function,
    _count_comprehension, _count_text, _count_dict,
)  # fmt: skip
_COLORS: tuple[Callable[[_Build], None], ...] = (
    _color_list, _color_list, _color_dict, _color_split, _color_search, _color_sorted,
)  # fmt: skip
_OBJECTS: tuple[Callable[[_Build], None], ...] = (
    _object_list, _object_list, _object_pieces, _object_pieces, _object_dict, _object_filter,
)  # fmt: skip


def _print_line(b: _Build) -> str:
    n, col, thing = b.n, b.col, b.thing
    return b.rng.choice(
        (
            f"print({n}, {col}, {thing})",
            f'print(f"{{{n}}} {{{col}}} {{{thing}}}")',
            f'print(str({n}) + " " + {col} + " " + {thing})',
            f'print(" ".join([str({n}), {col}, {thing}]))',
            f'print({n}, {col} + " " + {thing})',
            f'print(f"{{{n}}} {{{col}}}", {thing})',
        )
    )


def make_program(rng: random.Random, count: int, color: str, obj: str) -> str:
    """Draw one random program meant to print ``count color obj``.

    Args:
        rng: the generator's random source.
        count: count to print (1..9).
        color: color to print.
        obj: object to print.

    Returns:
        Program text ending with a newline; not yet run nor leak-checked.
    """
    b = _Build(rng, count, color, obj)
    rng.choice(_COUNTS)(b)
    parts = [rng.choice(_COLORS), rng.choice(_OBJECTS)]
    rng.shuffle(parts)
    for part in parts:
        part(b)
    b.add(_print_line(b))
    return "\n".join(b.lines) + "\n"
