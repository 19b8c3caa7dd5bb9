"""Run-time values of the safe interpreter: its error, callables, control-flow signals, type groups.

Everything here is shared by the static check, the budget bookkeeping, the builtins and the
tree-walking evaluator: the one error every failure ends in (:class:`ProgramError`), the two
kinds of callable a program can hold (a user ``def`` and a whitelisted builtin), the exceptions
that carry ``break``/``continue``/``return`` up the Python stack, the groups of Python types the
interpreter treats alike, and the tables mapping AST operator nodes to the functions that apply
them.

The callable and signal classes keep their leading underscore: their class names can show up in
CPython's own error messages (``'<' not supported between instances of '_Function' and ...``),
which the interpreter passes on to the program's author.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any


class ProgramError(ValueError):
    """The program is invalid, unsupported, failed at run time or ran out of budget."""


@dataclass(eq=False)
class _Function:
    """A top-level ``def`` of the program: its name, positional parameters and body."""

    name: str
    params: tuple[str, ...]
    body: list[ast.stmt]

    def __repr__(self) -> str:
        return f"<function {self.name}>"


@dataclass(eq=False)
class _Builtin:
    """A whitelisted builtin as a program sees it: a name bound to the interpreter's method."""

    name: str
    fn: Callable[..., Any]

    def __repr__(self) -> str:
        return f"<built-in function {self.name}>"


class _Break(Exception):
    """Raised by ``break``; caught by the innermost loop."""


class _Continue(Exception):
    """Raised by ``continue``; caught by the innermost loop."""


class _Return(Exception):
    """Raised by ``return``; carries the returned value up to the function call."""

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


def _tname(value: Any) -> str:
    """Type name of ``value`` as error messages show it (``function`` for any callable)."""
    return "function" if isinstance(value, (_Function, _Builtin)) else type(value).__name__


def _is_num(value: Any) -> bool:
    """Whether ``value`` is an int or a float (bools included, as in Python)."""
    return isinstance(value, (int, float))


# Dict views, containers whose elements a deep scan visits, and values ``len`` accepts.
_VIEWS: tuple[type[Collection[Any]], ...] = (type({}.keys()), type({}.values()), type({}.items()))
_CONTAINERS: tuple[type[Collection[Any]], ...] = (list, tuple, dict, *_VIEWS)
_SIZED: tuple[type[Collection[Any]], ...] = (str, list, tuple, dict, range, *_VIEWS)

_ARITH: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
