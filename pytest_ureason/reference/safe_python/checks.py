"""Parsing and the static whitelist pre-check, run before a program executes a single step.

:func:`_parse` turns source text into an AST (``ast.parse`` only: nothing reaches ``eval`` or
``exec``) and turns every parser failure into :class:`ProgramError`. :func:`_check_syntax` then
walks the whole tree once and rejects, up front, every node type outside :data:`_SYNTAX`, every
attribute that is not a whitelisted method, every literal of an unsupported type, and ``break``,
``continue`` or ``return`` outside a loop or function. Imports, classes, lambdas, other
attributes and the like therefore never reach the interpreter.
"""

from __future__ import annotations

import ast
import warnings

from pytest_ureason.reference.safe_python.builtins import _METHODS
from pytest_ureason.reference.safe_python.limits import MAX_SOURCE
from pytest_ureason.reference.safe_python.values import ProgramError

_SYNTAX = frozenset(
    "Module Expr Assign AugAssign If For While Break Continue Pass FunctionDef Return arguments "
    "arg Name Load Store Constant List Tuple Dict BinOp UnaryOp BoolOp Compare IfExp Subscript "
    "Slice Call keyword Attribute JoinedStr FormattedValue ListComp GeneratorExp comprehension "
    "Add Sub Mult Div FloorDiv Mod Pow USub UAdd Not And Or Eq NotEq Lt LtE Gt GtE Is IsNot In "
    "NotIn".split()
)


def _parse(source: str, mode: str) -> ast.AST:
    """Parse ``source`` without running it.

    Args:
        source: program or expression text, at most :data:`MAX_SOURCE` characters.
        mode: ``"exec"`` for a program, ``"eval"`` for a single expression.

    Returns:
        The parsed tree (an :class:`ast.Module` or :class:`ast.Expression`).

    Raises:
        ProgramError: source too long, syntax error, or a tree too deep to parse.
    """
    if len(source) > MAX_SOURCE:
        raise ProgramError(f"source is longer than {MAX_SOURCE} characters")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(source, mode=mode)
    except SyntaxError as exc:
        where = f"line {exc.lineno}: " if exc.lineno else ""
        raise ProgramError(f"{where}syntax error: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ProgramError(f"cannot parse: {str(exc) or type(exc).__name__}"[:200]) from None


def _check_syntax(tree: ast.Module) -> None:
    """Reject, before running anything, every construct outside the supported subset.

    Args:
        tree: the parsed program.

    Raises:
        ProgramError: naming the first unsupported node, attribute, literal or misplaced jump.
    """
    methods = frozenset().union(*_METHODS.values())
    for node in ast.walk(tree):
        name = type(node).__name__
        where = f"line {node.lineno}: " if isinstance(node, (ast.stmt, ast.expr)) else ""
        if name not in _SYNTAX:
            kinds = (ast.operator, ast.unaryop, ast.cmpop, ast.boolop)
            what = "operator" if isinstance(node, kinds) else "syntax"
            raise ProgramError(f"{where}unsupported {what}: {name}")
        if isinstance(node, ast.Attribute) and node.attr not in methods:
            raise ProgramError(f"{where}attribute .{node.attr} is not supported")
        if isinstance(node, ast.Constant) and node.value is not None:
            if type(node.value) not in (bool, int, float, str):
                raise ProgramError(f"{where}unsupported literal: {type(node.value).__name__}")
    _check_jumps(tree.body, in_loop=False, in_function=False)


def _check_jumps(body: list[ast.stmt], *, in_loop: bool, in_function: bool) -> None:
    """Reject ``break``/``continue`` outside a loop and ``return`` outside a function.

    Args:
        body: statements to check, recursively.
        in_loop: whether ``body`` lies inside a loop of the current function (or module).
        in_function: whether ``body`` lies inside a ``def``.

    Raises:
        ProgramError: naming the line of the first misplaced jump.
    """
    for stmt in body:
        if isinstance(stmt, (ast.Break, ast.Continue)) and not in_loop:
            word = "break" if isinstance(stmt, ast.Break) else "continue"
            raise ProgramError(f"line {stmt.lineno}: '{word}' outside a loop")
        if isinstance(stmt, ast.Return) and not in_function:
            raise ProgramError(f"line {stmt.lineno}: 'return' outside a function")
        if isinstance(stmt, (ast.For, ast.While)):
            _check_jumps(stmt.body, in_loop=True, in_function=in_function)
            _check_jumps(stmt.orelse, in_loop=in_loop, in_function=in_function)
        elif isinstance(stmt, ast.If):
            _check_jumps(stmt.body, in_loop=in_loop, in_function=in_function)
            _check_jumps(stmt.orelse, in_loop=in_loop, in_function=in_function)
        elif isinstance(stmt, ast.FunctionDef):
            _check_jumps(stmt.body, in_loop=False, in_function=True)
