"""The whitelisted builtins and methods a program may call, and how each call is charged.

Builtins: print len range sum min max abs sorted reversed str int float list enumerate zip round.
Methods: str.upper lower title strip split join replace count startswith endswith, list.append
pop index count insert reverse sort, dict.get keys values items. Each builtin is a ``_b_<name>``
method of :class:`_Builtins`; arguments are type-checked, and results are size-checked and
charged to the step budget like any other bulk work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pytest_ureason.reference.safe_python.limits import MAX_LEN, MAX_OUTPUT, _Budget
from pytest_ureason.reference.safe_python.values import _SIZED, _is_num, _tname

_METHODS: dict[type, frozenset[str]] = {
    str: frozenset("upper lower title strip split join replace count startswith endswith".split()),
    list: frozenset("append pop index count insert reverse sort".split()),
    dict: frozenset("get keys values items".split()),
}
_KEYWORDS = {"print": {"sep", "end"}, "sorted": {"reverse"}, "sort": {"reverse"}}
_ARITY = {
    "print": (0, MAX_LEN), "len": (1, 1), "range": (1, 3), "sum": (1, 2), "min": (1, MAX_LEN),
    "max": (1, MAX_LEN), "abs": (1, 1), "sorted": (1, 1), "reversed": (1, 1), "str": (0, 1),
    "int": (0, 1), "float": (0, 1), "list": (0, 1), "enumerate": (1, 2), "zip": (0, 8),
    "round": (1, 2),
}  # fmt: skip


class _Builtins(_Budget):
    """Builtin functions (``_b_<name>``) and whitelisted method calls, on top of the budget."""

    def check_call(self, name: str, kwargs: dict[str, Any]) -> None:
        """Fail when ``name`` is called with a keyword argument it does not support."""
        unknown = set(kwargs) - _KEYWORDS.get(name, set())
        if unknown:
            self.fail(f"{name}() got unsupported keyword argument {sorted(unknown)[0]!r}")

    def call_method(self, obj: Any, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """Call the whitelisted method ``obj.name(*args, **kwargs)`` after its size checks."""
        if name not in _METHODS.get(type(obj), frozenset()):
            self.fail(f"method '{_tname(obj)}.{name}' is not supported")
        self.check_call(name, kwargs)
        if name == "join" and len(args) == 1:
            args = [self.materialize(args[0])]
            if all(isinstance(part, str) for part in args[0]):
                self.check_len(sum(map(len, args[0])) + len(obj) * len(args[0]))
        elif name == "replace" and len(args) >= 2 and all(isinstance(a, str) for a in args[:2]):
            hits = obj.count(args[0]) if args[0] else len(obj) + 1
            if len(args) > 2 and isinstance(args[2], int) and args[2] >= 0:
                hits = min(hits, args[2])
            self.check_len(len(obj) + hits * (len(args[1]) - len(args[0])))
        elif name in ("append", "insert"):
            self.check_len(len(obj) + 1)
        elif name in ("index", "count", "sort") and isinstance(obj, list):
            self.scan(obj, *args)
        elif name == "get" and args:
            self.hashed(args[0], obj)
        return self.sized_result(getattr(obj, name)(*args, **kwargs))

    def _b_print(self, *args: Any, sep: Any = " ", end: Any = "\n") -> None:
        sep = " " if sep is None else sep
        end = "\n" if end is None else end
        if not isinstance(sep, str) or not isinstance(end, str):
            self.fail("print() sep and end must be strings")
        if len(sep) * len(args) + len(end) > MAX_OUTPUT:
            self.fail(f"more than {MAX_OUTPUT} characters printed")
        text = sep.join(self.text(arg) for arg in args) + end
        self.out_len += len(text)
        if self.out_len > MAX_OUTPUT:
            self.fail(f"more than {MAX_OUTPUT} characters printed")
        self.out.append(text)

    def _b_len(self, value: Any) -> int:
        if not isinstance(value, _SIZED):
            self.fail(f"object of type '{_tname(value)}' has no len()")
        return len(value)

    def _b_range(self, *args: Any) -> range:
        if not all(isinstance(arg, int) for arg in args):
            self.fail("range() arguments must be integers")
        return range(*args)

    def _b_sum(self, items: Any, start: Any = 0) -> Any:
        values = [start, *self.materialize(items)]
        if not all(_is_num(value) for value in values):
            self.fail("sum() only adds numbers")
        return self.check_num(sum(values))

    def _extremum(self, args: tuple[Any, ...], pick: Callable[[list[Any]], Any]) -> Any:
        items = self.materialize(args[0]) if len(args) == 1 else list(args)
        self.scan(items)
        return pick(items)

    def _b_min(self, *args: Any) -> Any:
        return self._extremum(args, min)

    def _b_max(self, *args: Any) -> Any:
        return self._extremum(args, max)

    def _b_abs(self, value: Any) -> Any:
        if not _is_num(value):
            self.fail(f"bad operand type for abs(): '{_tname(value)}'")
        return abs(value)

    def _b_sorted(self, items: Any, reverse: Any = False) -> list[Any]:
        values = self.materialize(items)
        self.scan(values)
        return sorted(values, reverse=bool(reverse))

    def _b_reversed(self, items: Any) -> Iterator[Any]:
        if not isinstance(items, (list, tuple, str, range, dict)):
            self.fail(f"'{_tname(items)}' object is not reversible")
        return reversed(items)

    def _b_str(self, value: Any = "") -> str:
        result = self.text(value)
        self.sized_result(result)
        return result

    def _b_int(self, value: Any = 0) -> int:
        if not isinstance(value, (int, float, str)):
            self.fail(f"int() cannot convert '{_tname(value)}'")
        result = int(value)
        self.check_num(result)
        return result

    def _b_float(self, value: Any = 0.0) -> float:
        if not isinstance(value, (int, float, str)):
            self.fail(f"float() cannot convert '{_tname(value)}'")
        return float(value)

    def _b_list(self, items: Any = ()) -> list[Any]:
        return self.materialize(items)

    def _b_enumerate(self, items: Any, start: Any = 0) -> Iterator[tuple[int, Any]]:
        if not isinstance(start, int):
            self.fail("enumerate() start must be an integer")
        return enumerate(self.iterate(items), start)

    def _b_zip(self, *items: Any) -> Iterator[tuple[Any, ...]]:
        return zip(*(self.iterate(item) for item in items), strict=False)

    def _b_round(self, value: Any, digits: Any = None) -> Any:
        if not _is_num(value) or not (digits is None or isinstance(digits, int)):
            self.fail("round() needs a number and an integer number of digits")
        if digits is not None and abs(digits) > 400:
            self.fail("round() digits out of range")
        return self.check_num(round(value, digits))
