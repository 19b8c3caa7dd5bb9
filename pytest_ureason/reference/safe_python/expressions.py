"""Expression evaluation and name binding of the safe interpreter.

:class:`_Expressions` evaluates expression nodes by dispatching on their type to
``_e_<Node>`` methods (``eval_node``), each costing one step, and binds values to assignment
targets (names, tuple/list unpacking, ``x[i]``). It resolves names through the scope chain
(innermost first, then the module scope, then the whitelisted builtins), applies arithmetic and
comparison operators with the size caps of :mod:`~pytest_ureason.reference.safe_python.limits`,
formats
f-strings with simple format specs only, and builds comprehensions and generator expressions
eagerly. Calls and statements are added by :class:`~.interpreter._Interpreter`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import Any

from pytest_ureason.reference.safe_python.builtins import _ARITY, _Builtins
from pytest_ureason.reference.safe_python.limits import MAX_EXPONENT
from pytest_ureason.reference.safe_python.values import (
    _ARITH,
    _COMPARE,
    _CONTAINERS,
    _SIZED,
    _VIEWS,
    _Builtin,
    _is_num,
    _tname,
)

# Format specs an f-string may use: fill/align, sign, ``z#0``, width, grouping, precision, type.
_SPEC = re.compile(r"(?:.?[<>=^])?[-+ ]?z?#?0?(\d*)[,_]?(?:\.(\d+))?[bcdeEfFgGnosxX%]?", re.S)


class _Expressions(_Builtins):
    """Evaluates expressions and assignments against a stack of scopes."""

    def __init__(self, max_steps: int) -> None:
        super().__init__(max_steps)
        self.scopes: list[dict[str, Any]] = [{}]
        self.builtins = {name: _Builtin(name, getattr(self, f"_b_{name}")) for name in _ARITY}

    # -- binding -----------------------------------------------------------------------------
    def assign(self, target: ast.expr, value: Any) -> None:
        """Bind ``value`` to a name, an unpacking target or ``container[key]``."""
        if isinstance(target, ast.Name):
            self.scopes[-1][self.check_name(target.id)] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = self.materialize(value)
            if len(items) != len(target.elts):
                self.fail(f"cannot unpack {len(items)} values into {len(target.elts)} names")
            for sub, item in zip(target.elts, items, strict=True):
                self.assign(sub, item)
        elif isinstance(target, ast.Subscript):
            self.setitem(self.eval_node(target.value), self.index(target.slice), value)
        else:
            self.fail(f"unsupported assignment target: {type(target).__name__}")

    def setitem(self, container: Any, key: Any, value: Any) -> None:
        """``container[key] = value`` for a list index or dict key, size-checked."""
        if isinstance(key, slice) or not isinstance(container, (list, dict)):
            self.fail("only list[index] and dict[key] can be assigned to")
        if isinstance(container, dict) and key not in self.hashed(key, container):
            self.check_len(len(container) + 1)
        container[key] = value

    # -- expressions -------------------------------------------------------------------------
    def eval_node(self, node: ast.expr) -> Any:
        """Evaluate one expression node (one step) through its ``_e_<Node>`` method."""
        self.line = getattr(node, "lineno", self.line)
        self.tick()
        handler = getattr(self, f"_e_{type(node).__name__}", None)
        if handler is None:
            self.fail(f"unsupported expression: {type(node).__name__}")
        return handler(node)

    def lookup(self, name: str) -> Any:
        """The value bound to ``name``: innermost scope first, then the builtins."""
        self.check_name(name)
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        if name in self.builtins:
            return self.builtins[name]
        self.fail(f"name {name!r} is not defined")

    def _e_Name(self, node: ast.Name) -> Any:
        return self.lookup(node.id)

    def _e_Constant(self, node: ast.Constant) -> Any:
        if node.value is not None and type(node.value) not in (bool, int, float, str):
            self.fail(f"unsupported literal: {type(node.value).__name__}")
        return self.sized_result(self.check_num(node.value))

    def _e_List(self, node: ast.List) -> list[Any]:
        return [self.eval_node(elt) for elt in node.elts]

    def _e_Tuple(self, node: ast.Tuple) -> tuple[Any, ...]:
        return tuple(self.eval_node(elt) for elt in node.elts)

    def _e_Dict(self, node: ast.Dict) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key_node, value_node in zip(node.keys, node.values, strict=True):
            if key_node is None:
                self.fail("dict unpacking is not supported")
            key = self.eval_node(key_node)
            self.hashed(key, result)[key] = self.eval_node(value_node)
        return result

    def _e_BinOp(self, node: ast.BinOp) -> Any:
        return self.binop(node.op, self.eval_node(node.left), self.eval_node(node.right))

    def binop(self, op: ast.operator, left: Any, right: Any) -> Any:
        """Apply a binary operator, capping numbers and the size of built sequences."""
        fn = _ARITH.get(type(op))
        if fn is None:
            self.fail(f"unsupported operator: {type(op).__name__}")
        if _is_num(left) and _is_num(right):
            if isinstance(op, ast.Pow) and abs(right) > MAX_EXPONENT:
                self.fail(f"exponent larger than {MAX_EXPONENT}")
            return self.check_num(fn(left, right))
        seqs = (str, list, tuple)
        if isinstance(op, ast.Add) and isinstance(left, seqs) and type(left) is type(right):
            self.check_len(len(left) + len(right))
        elif isinstance(op, ast.Mult) and isinstance(left, seqs) and isinstance(right, int):
            self.check_len(len(left) * max(right, 0))
        elif isinstance(op, ast.Mult) and isinstance(right, seqs) and isinstance(left, int):
            self.check_len(len(right) * max(left, 0))
        else:
            names = f"'{_tname(left)}' and '{_tname(right)}'"
            self.fail(f"unsupported operand types for {type(op).__name__}: {names}")
        return self.sized_result(fn(left, right))

    def _e_UnaryOp(self, node: ast.UnaryOp) -> Any:
        value = self.eval_node(node.operand)
        if isinstance(node.op, ast.Not):
            return not value
        if not _is_num(value) or isinstance(node.op, ast.Invert):
            self.fail(f"unsupported unary operation on '{_tname(value)}'")
        return -value if isinstance(node.op, ast.USub) else +value

    def _e_BoolOp(self, node: ast.BoolOp) -> Any:
        value: Any = None
        for operand in node.values:
            value = self.eval_node(operand)
            if bool(value) == isinstance(node.op, ast.Or):
                return value
        return value

    def _e_Compare(self, node: ast.Compare) -> bool:
        left = self.eval_node(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.eval_node(comparator)
            membership = isinstance(op, (ast.In, ast.NotIn))
            self.scan(*(v for v in (left, right) if isinstance(v, _CONTAINERS)))
            if membership and not isinstance(right, (*_SIZED, *_VIEWS)):
                self.fail(f"'in' needs a container, not '{_tname(right)}'")
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True

    def _e_IfExp(self, node: ast.IfExp) -> Any:
        return self.eval_node(node.body if self.eval_node(node.test) else node.orelse)

    def index(self, node: ast.expr) -> Any:
        """Evaluate a subscript: a :class:`slice` for ``a:b:c``, else the key's value."""
        if isinstance(node, ast.Slice):
            parts = (node.lower, node.upper, node.step)
            return slice(*(None if part is None else self.eval_node(part) for part in parts))
        return self.eval_node(node)

    def getitem(self, container: Any, key: Any) -> Any:
        """``container[key]`` for a list, tuple, str, range or dict, size-checked."""
        if not isinstance(container, (list, tuple, str, range, dict)):
            self.fail(f"'{_tname(container)}' object is not subscriptable")
        return self.sized_result(self.hashed(key, container)[key])

    def _e_Subscript(self, node: ast.Subscript) -> Any:
        return self.getitem(self.eval_node(node.value), self.index(node.slice))

    def _e_Attribute(self, node: ast.Attribute) -> Any:
        self.fail(f"attribute access is not supported: .{node.attr}")

    def _e_JoinedStr(self, node: ast.JoinedStr) -> str:
        parts = [self.eval_node(value) for value in node.values]
        self.check_len(sum(len(part) for part in parts))
        return "".join(parts)

    def _e_FormattedValue(self, node: ast.FormattedValue) -> str:
        value = self.eval_node(node.value)
        spec = "" if node.format_spec is None else self.eval_node(node.format_spec)
        match = _SPEC.fullmatch(spec)
        if match is None or int(match[1] or 0) > 1000 or int(match[2] or 0) > 100:
            self.fail(f"unsupported format spec {spec!r}"[:200])
        if node.conversion != -1:
            value = self.text(value, {114: repr, 97: ascii}.get(node.conversion, str))
        if not spec:
            return self.text(value)
        if value is not None and type(value) not in (bool, int, float, str):
            self.fail(f"cannot apply a format spec to '{_tname(value)}'")
        return format(value, spec)

    def _e_ListComp(self, node: ast.ListComp) -> list[Any]:
        out: list[Any] = []
        self.scopes.append({})
        try:
            self.comprehend(node.generators, node.elt, out)
        finally:
            self.scopes.pop()
        return out

    def _e_GeneratorExp(self, node: ast.GeneratorExp) -> Iterator[Any]:
        return iter(self._e_ListComp(ast.ListComp(elt=node.elt, generators=node.generators)))

    def comprehend(
        self, generators: list[ast.comprehension], elt: ast.expr, out: list[Any]
    ) -> None:
        """Append ``elt`` to ``out`` for every combination the generators yield."""
        if not generators:
            out.append(self.eval_node(elt))
            self.check_len(len(out))
            return
        first, rest = generators[0], generators[1:]
        if first.is_async:
            self.fail("async comprehensions are not supported")
        for item in self.iterate(self.eval_node(first.iter)):
            self.assign(first.target, item)
            if all(self.eval_node(cond) for cond in first.ifs):
                self.comprehend(rest, elt, out)
