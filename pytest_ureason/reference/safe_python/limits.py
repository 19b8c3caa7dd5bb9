"""Size and step budgets of the safe interpreter, and the bookkeeping that enforces them.

Every evaluated node costs one step; work done in bulk (copying, printing, comparing or sorting
containers) costs extra steps in proportion to its size. Strings, lists, dicts, integers, call
depth and printed output are capped by the ``MAX_*`` constants below. :class:`_Budget` is the
base of the interpreter: it counts steps, charges bulk work, checks sizes and reports failures
as :class:`~pytest_ureason.reference.safe_python.values.ProgramError` tagged with the current line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NoReturn

from pytest_ureason.reference.safe_python.values import (
    _CONTAINERS,
    _SIZED,
    ProgramError,
    _Builtin,
    _Function,
    _tname,
)

MAX_LEN = 100_000  # longest string, list or dict a program may build
MAX_INT_BITS = 1024  # largest integer magnitude (about 1e308)
MAX_EXPONENT = 64  # largest |exponent| of ``**``
MAX_DEPTH = 30  # deepest chain of user-function calls
MAX_OUTPUT = 1_000_000  # most characters a program may print
MAX_SOURCE = 100_000  # longest accepted source text
_COPY_UNIT = 1000  # elements copied per extra step
_SCAN_UNIT = 100  # container elements visited per extra step


class _Budget:
    """Step counter, size checks and printed output of one program run."""

    def __init__(self, max_steps: int) -> None:
        self.max_steps = max_steps
        self.steps = 0
        self.line = 0
        self.out: list[str] = []
        self.out_len = 0

    def fail(self, message: str) -> NoReturn:
        """Raise :class:`ProgramError` with ``message``, prefixed by the current line if known."""
        raise ProgramError(f"line {self.line}: {message}" if self.line else message)

    def tick(self, steps: int = 1) -> None:
        """Charge ``steps`` steps; fail once the budget is exceeded."""
        self.steps += steps
        if self.steps > self.max_steps:
            self.fail(f"step budget of {self.max_steps} exceeded")

    def scan(self, *values: Any) -> None:
        """Charge for visiting every element reachable from ``values`` (aliases counted)."""
        budget = (self.max_steps - self.steps + 1) * _SCAN_UNIT
        seen, stack = 0, list(values)
        while stack:
            value = stack.pop()
            if isinstance(value, str):
                seen += len(value) // 10
            elif isinstance(value, _CONTAINERS):
                seen += len(value)
                if seen > budget:
                    break
                stack.extend(value.items() if isinstance(value, dict) else value)
            seen += 1
            if seen > budget:
                break
        self.tick(seen // _SCAN_UNIT)

    def check_len(self, size: int) -> None:
        """Fail when a string, list or dict would grow to ``size`` > :data:`MAX_LEN`."""
        if size > MAX_LEN:
            self.fail(f"value too large ({size} > {MAX_LEN} elements)")

    def check_num(self, value: Any) -> Any:
        """Return ``value`` unchanged unless it is complex or an integer over the size cap."""
        if isinstance(value, complex):
            self.fail("complex numbers are not supported")
        if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
            self.fail(f"integer larger than 2**{MAX_INT_BITS}")
        return value

    def sized_result(self, value: Any) -> Any:
        """Return ``value`` after checking its size and charging for copying it."""
        if isinstance(value, _SIZED):
            self.check_len(len(value))
            self.tick(len(value) // _COPY_UNIT)
        return value

    def iterate(self, value: Any) -> Iterator[Any]:
        """An iterator over ``value``; fail with Python's message when it is not iterable."""
        if isinstance(value, (int, float, _Function, _Builtin)) or value is None:
            self.fail(f"'{_tname(value)}' object is not iterable")
        return iter(value)

    def materialize(self, value: Any) -> list[Any]:
        """The elements of ``value`` as a new list, size-checked and charged for."""
        items: list[Any]
        if isinstance(value, _SIZED):
            self.check_len(len(value))
            items = list(value)
        else:
            items = []
            for item in self.iterate(value):
                items.append(item)
                self.check_len(len(items))
        self.tick(len(items) // _COPY_UNIT)
        return items

    def text(self, value: Any, convert: Callable[[Any], str] = str) -> str:
        """``convert(value)`` (``str`` by default), charged for and capped in length."""
        self.scan(value)
        result = convert(value)
        if len(result) > MAX_OUTPUT:
            self.fail("value too large to convert to text")
        return result

    def check_name(self, name: str) -> str:
        """Return ``name`` unless it is a dunder-like name, which programs may not use."""
        if name.startswith("__"):
            self.fail(f"name {name!r} is not allowed")
        return name

    def hashed(self, key: Any, container: Any) -> Any:
        """Return ``container`` after charging for hashing ``key`` (tuples hash deeply)."""
        if isinstance(key, tuple):
            self.scan(key)
        return container
