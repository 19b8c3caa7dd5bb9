"""Safe evaluation of a single arithmetic expression: :func:`evaluate`.

Used by the arithmetic solver to check expressions read from a prompt. The expression is parsed
with :func:`ast.parse` (``eval`` mode) and folded by a recursive walk that accepts only int and
float literals, the binary operators ``+ - * / // % **``, unary ``-``/``+`` and parentheses;
booleans, names, calls and everything else are rejected. Results keep the interpreter's caps:
``**`` exponents at most :data:`MAX_EXPONENT` in magnitude, integers at most
:data:`MAX_INT_BITS` bits, no complex or non-finite results.

Unlike Python, a true division of two integers that divides exactly stays an ``int``
(``6 / 3`` gives ``2``), and a float result is returned as an ``int`` when it is integral and
no true division along the way produced a non-integer.
"""

from __future__ import annotations

import ast
import math

from pytest_ureason.reference.safe_python.checks import _parse
from pytest_ureason.reference.safe_python.limits import MAX_EXPONENT, MAX_INT_BITS
from pytest_ureason.reference.safe_python.values import _ARITH, ProgramError


def _arith(node: ast.expr, inexact: list[bool]) -> int | float:
    """Fold one arithmetic expression node.

    Args:
        node: the expression tree.
        inexact: one-element flag, set to True when a true division gives a non-integer.

    Returns:
        The value of ``node``.

    Raises:
        ProgramError: unsupported node, exponent or integer too large, complex result.
        ArithmeticError: e.g. division by zero, left for :func:`evaluate` to report.
    """
    value: int | float
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        if isinstance(node.value, bool):
            raise ProgramError("booleans are not numbers here")
        value = node.value
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _arith(node.operand, inexact)
        value = -operand if isinstance(node.op, ast.USub) else operand
    elif isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
        left, right = _arith(node.left, inexact), _arith(node.right, inexact)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise ProgramError(f"exponent larger than {MAX_EXPONENT}")
        if isinstance(node.op, ast.Div) and isinstance(left, int) and isinstance(right, int):
            value = left // right if right and left % right == 0 else left / right
        else:
            value = _ARITH[type(node.op)](left, right)
        if isinstance(node.op, ast.Div) and isinstance(value, float) and not value.is_integer():
            inexact[0] = True
    else:
        raise ProgramError(f"unsupported in arithmetic: {type(node).__name__}")
    if isinstance(value, complex):
        raise ProgramError("result is a complex number")
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise ProgramError(f"integer larger than 2**{MAX_INT_BITS}")
    return value


def evaluate(expression: str) -> int | float:
    """Evaluate one arithmetic expression safely.

    Supports int and float literals, ``+ - * / // % **``, unary minus/plus and parentheses.

    Args:
        expression: the expression text, e.g. ``"(3 + 5) * 2 - 6 / 3"``.

    Returns:
        An ``int`` when the result is integral and no true division produced a non-integer
        (so ``6/3`` gives ``2``), else a ``float``.

    Raises:
        ProgramError: invalid or unsupported expression, division by zero, too-large result.

    Examples:
        >>> evaluate("6 / 3"), evaluate("7 / 2"), evaluate("0.5 * 4")
        (2, 3.5, 2)
        >>> evaluate("1 / 3 * 3")  # a non-integer division on the way keeps it a float
        1.0
    """
    tree = _parse(expression.strip(), "eval")
    assert isinstance(tree, ast.Expression)
    inexact = [False]
    try:
        value = _arith(tree.body, inexact)
    except ProgramError:
        raise
    except (ArithmeticError, ValueError, RecursionError) as exc:
        raise ProgramError(f"{type(exc).__name__}: {exc}"[:200]) from None
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ProgramError("result is not finite")
        if value.is_integer() and not inexact[0]:
            return int(value)
    return value
