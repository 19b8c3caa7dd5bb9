"""A small, safe interpreter for a subset of Python, used by the ``code`` task family.

Programs are parsed with :func:`ast.parse` and walked node by node: nothing reaches ``eval`` or
``exec``. Every evaluated node costs one step; work done in bulk (copying, printing, comparing or
sorting containers) costs extra steps in proportion to its size; strings, lists, dicts, integers
and output are capped. Hostile input therefore ends in :class:`ProgramError`, never in a hang,
a memory blow-up or access to anything outside the whitelisted builtins and methods.

Supported: int/float/str/bool/None literals, lists, tuples, dicts; assignment (also augmented,
tuple unpacking, ``x[i] = v``); arithmetic, comparison, boolean, ``in``/``is`` and conditional
expressions; indexing and slicing; ``if``/``while``/``for`` (with ``else``), ``break``,
``continue``, ``pass``; f-strings with simple format specs; list comprehensions and generator
expressions (built eagerly); top-level ``def`` with positional parameters and ``return``;
builtins print len range sum min max abs sorted reversed str int float list enumerate zip round;
methods str.upper lower title strip split join replace count startswith endswith,
list.append pop index count insert reverse sort, dict.get keys values items. Everything else
(imports, classes, lambdas, other attributes, dunder names, ``%`` on strings...) is rejected
before the program runs.

Known differences from CPython: a name read inside a function falls back to the global of the
same name even if the function assigns it later (no ``UnboundLocalError``); printing a
self-containing list exhausts the step budget instead of printing ``[...]``.
"""

from __future__ import annotations

import ast
import math
import operator
import re
import warnings
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

__all__ = ["ProgramError", "evaluate", "run_program"]

MAX_LEN = 100_000  # longest string, list or dict a program may build
MAX_INT_BITS = 1024  # largest integer magnitude (about 1e308)
MAX_EXPONENT = 64  # largest |exponent| of ``**``
MAX_DEPTH = 30  # deepest chain of user-function calls
MAX_OUTPUT = 1_000_000  # most characters a program may print
MAX_SOURCE = 100_000  # longest accepted source text
_COPY_UNIT = 1000  # elements copied per extra step
_SCAN_UNIT = 100  # container elements visited per extra step

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
_VIEWS: tuple[type[Collection[Any]], ...] = (type({}.keys()), type({}.values()), type({}.items()))
_CONTAINERS: tuple[type[Collection[Any]], ...] = (list, tuple, dict, *_VIEWS)
_SIZED: tuple[type[Collection[Any]], ...] = (str, list, tuple, dict, range, *_VIEWS)
_SYNTAX = frozenset(
    "Module Expr Assign AugAssign If For While Break Continue Pass FunctionDef Return arguments "
    "arg Name Load Store Constant List Tuple Dict BinOp UnaryOp BoolOp Compare IfExp Subscript "
    "Slice Call keyword Attribute JoinedStr FormattedValue ListComp GeneratorExp comprehension "
    "Add Sub Mult Div FloorDiv Mod Pow USub UAdd Not And Or Eq NotEq Lt LtE Gt GtE Is IsNot In "
    "NotIn".split()
)
_SPEC = re.compile(r"(?:.?[<>=^])?[-+ ]?z?#?0?(\d*)[,_]?(?:\.(\d+))?[bcdeEfFgGnosxX%]?", re.S)


class ProgramError(ValueError):
    """The program is invalid, unsupported, failed at run time or ran out of budget."""


@dataclass(eq=False)
class _Function:
    name: str
    params: tuple[str, ...]
    body: list[ast.stmt]

    def __repr__(self) -> str:
        return f"<function {self.name}>"


@dataclass(eq=False)
class _Builtin:
    name: str
    fn: Callable[..., Any]

    def __repr__(self) -> str:
        return f"<built-in function {self.name}>"


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


def _tname(value: Any) -> str:
    return "function" if isinstance(value, (_Function, _Builtin)) else type(value).__name__


def _is_num(value: Any) -> bool:
    return isinstance(value, (int, float))


def _parse(source: str, mode: str) -> ast.AST:
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
    """Reject, before running anything, every construct outside the supported subset."""
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


class _Interpreter:
    """Tree-walking evaluator; one instance runs one program."""

    def __init__(self, max_steps: int) -> None:
        self.max_steps = max_steps
        self.steps = 0
        self.depth = 0
        self.line = 0
        self.out: list[str] = []
        self.out_len = 0
        self.scopes: list[dict[str, Any]] = [{}]
        self.builtins = {name: _Builtin(name, getattr(self, f"_b_{name}")) for name in _ARITY}

    # -- bookkeeping -------------------------------------------------------------------------
    def fail(self, message: str) -> NoReturn:
        raise ProgramError(f"line {self.line}: {message}" if self.line else message)

    def tick(self, steps: int = 1) -> None:
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
        if size > MAX_LEN:
            self.fail(f"value too large ({size} > {MAX_LEN} elements)")

    def check_num(self, value: Any) -> Any:
        if isinstance(value, complex):
            self.fail("complex numbers are not supported")
        if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
            self.fail(f"integer larger than 2**{MAX_INT_BITS}")
        return value

    def sized_result(self, value: Any) -> Any:
        if isinstance(value, _SIZED):
            self.check_len(len(value))
            self.tick(len(value) // _COPY_UNIT)
        return value

    def iterate(self, value: Any) -> Iterator[Any]:
        if isinstance(value, (int, float, _Function, _Builtin)) or value is None:
            self.fail(f"'{_tname(value)}' object is not iterable")
        return iter(value)

    def materialize(self, value: Any) -> list[Any]:
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
        self.scan(value)
        result = convert(value)
        if len(result) > MAX_OUTPUT:
            self.fail("value too large to convert to text")
        return result

    def check_name(self, name: str) -> str:
        if name.startswith("__"):
            self.fail(f"name {name!r} is not allowed")
        return name

    # -- statements --------------------------------------------------------------------------
    def run(self, tree: ast.Module) -> None:
        try:
            self.exec_block(tree.body)
        except (_Break, _Continue):
            self.fail("'break' or 'continue' outside a loop")

    def exec_block(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            self.exec_stmt(stmt)

    def exec_stmt(self, node: ast.stmt) -> None:
        self.line = node.lineno
        self.tick()
        handler = getattr(self, f"_s_{type(node).__name__}", None)
        if handler is None:
            self.fail(f"unsupported statement: {type(node).__name__}")
        try:
            handler(node)
        except (ProgramError, RecursionError, _Break, _Continue, _Return):
            raise
        except (ArithmeticError, LookupError, TypeError, ValueError, RuntimeError) as exc:
            self.line = node.lineno
            detail = str(exc) if not isinstance(exc, KeyError) else f"key {exc}"
            self.fail(f"{type(exc).__name__}: {detail}"[:200])

    def _s_Expr(self, node: ast.Expr) -> None:
        self.eval_node(node.value)

    def _s_Pass(self, node: ast.Pass) -> None:
        pass

    def _s_Break(self, node: ast.Break) -> None:
        raise _Break

    def _s_Continue(self, node: ast.Continue) -> None:
        raise _Continue

    def _s_Return(self, node: ast.Return) -> None:
        if self.depth == 0:
            self.fail("'return' outside a function")
        raise _Return(None if node.value is None else self.eval_node(node.value))

    def _s_Assign(self, node: ast.Assign) -> None:
        value = self.eval_node(node.value)
        for target in node.targets:
            self.assign(target, value)

    def _s_AugAssign(self, node: ast.AugAssign) -> None:
        target = node.target
        if isinstance(target, ast.Name):
            current = self.lookup(target.id)
        elif isinstance(target, ast.Subscript):
            container, key = self.eval_node(target.value), self.index(target.slice)
            current = self.getitem(container, key)
        else:
            self.fail("unsupported augmented assignment target")
        value = self.eval_node(node.value)
        if isinstance(current, list) and isinstance(node.op, ast.Add):
            items = self.materialize(value)  # in place, like CPython, so aliases see it
            self.check_len(len(current) + len(items))
            current.extend(items)
            new = self.sized_result(current)
        elif isinstance(current, list) and isinstance(node.op, ast.Mult) and type(value) is int:
            self.check_len(len(current) * max(value, 0))
            current *= value
            new = self.sized_result(current)
        else:
            new = self.binop(node.op, current, value)
        if isinstance(target, ast.Name):
            self.assign(target, new)
        else:
            self.setitem(container, key, new)

    def _s_If(self, node: ast.If) -> None:
        self.exec_block(node.body if self.eval_node(node.test) else node.orelse)

    def _s_While(self, node: ast.While) -> None:
        while self.eval_node(node.test):
            if self.loop_body(node.body):
                return
        self.exec_block(node.orelse)

    def _s_For(self, node: ast.For) -> None:
        for item in self.iterate(self.eval_node(node.iter)):
            self.assign(node.target, item)
            if self.loop_body(node.body):
                return
        self.exec_block(node.orelse)

    def loop_body(self, body: list[ast.stmt]) -> bool:
        """Run one iteration; True when the loop was left through ``break``."""
        try:
            self.exec_block(body)
        except _Break:
            return True
        except _Continue:
            pass
        return False

    def _s_FunctionDef(self, node: ast.FunctionDef) -> None:
        args = node.args
        if self.depth or node.decorator_list or args.vararg or args.kwarg or args.defaults:
            self.fail("only plain top-level functions with positional parameters are supported")
        if args.posonlyargs or args.kwonlyargs:
            self.fail("only plain positional parameters are supported")
        params = tuple(self.check_name(arg.arg) for arg in args.args)
        self.scopes[-1][self.check_name(node.name)] = _Function(node.name, params, node.body)

    def assign(self, target: ast.expr, value: Any) -> None:
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
        if isinstance(key, slice) or not isinstance(container, (list, dict)):
            self.fail("only list[index] and dict[key] can be assigned to")
        if isinstance(container, dict) and key not in self.hashed(key, container):
            self.check_len(len(container) + 1)
        container[key] = value

    def hashed(self, key: Any, container: Any) -> Any:
        if isinstance(key, tuple):
            self.scan(key)
        return container

    # -- expressions -------------------------------------------------------------------------
    def eval_node(self, node: ast.expr) -> Any:
        self.line = getattr(node, "lineno", self.line)
        self.tick()
        handler = getattr(self, f"_e_{type(node).__name__}", None)
        if handler is None:
            self.fail(f"unsupported expression: {type(node).__name__}")
        return handler(node)

    def lookup(self, name: str) -> Any:
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
        if isinstance(node, ast.Slice):
            parts = (node.lower, node.upper, node.step)
            return slice(*(None if part is None else self.eval_node(part) for part in parts))
        return self.eval_node(node)

    def getitem(self, container: Any, key: Any) -> Any:
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

    # -- calls -------------------------------------------------------------------------------
    def _e_Call(self, node: ast.Call) -> Any:
        func_node = node.func
        target = self.eval_node(func_node.value) if isinstance(func_node, ast.Attribute) else None
        func = None if isinstance(func_node, ast.Attribute) else self.eval_node(func_node)
        args = [self.eval_node(arg) for arg in node.args]
        kwargs: dict[str, Any] = {}
        for keyword in node.keywords:
            if keyword.arg is None:
                self.fail("'**' arguments are not supported")
            kwargs[keyword.arg] = self.eval_node(keyword.value)
        if isinstance(func_node, ast.Attribute):
            return self.call_method(target, func_node.attr, args, kwargs)
        if isinstance(func, _Function):
            if kwargs:
                self.fail("keyword arguments are not supported for user functions")
            return self.call_function(func, args)
        if not isinstance(func, _Builtin):
            self.fail(f"'{_tname(func)}' object is not callable")
        self.check_call(func.name, kwargs)
        low, high = _ARITY[func.name]
        if not low <= len(args) <= high:
            self.fail(f"{func.name}() got {len(args)} arguments")
        return func.fn(*args, **kwargs)

    def check_call(self, name: str, kwargs: dict[str, Any]) -> None:
        unknown = set(kwargs) - _KEYWORDS.get(name, set())
        if unknown:
            self.fail(f"{name}() got unsupported keyword argument {sorted(unknown)[0]!r}")

    def call_function(self, func: _Function, args: list[Any]) -> Any:
        if len(args) != len(func.params):
            self.fail(f"{func.name}() takes {len(func.params)} arguments, got {len(args)}")
        if self.depth >= MAX_DEPTH:
            self.fail(f"recursion deeper than {MAX_DEPTH} calls")
        saved, self.scopes = (
            self.scopes,
            [self.scopes[0], dict(zip(func.params, args, strict=True))],
        )
        self.depth += 1
        try:
            self.exec_block(func.body)
        except _Return as ret:
            return ret.value
        except (_Break, _Continue):
            self.fail("'break' or 'continue' outside a loop")
        finally:
            self.depth -= 1
            self.scopes = saved
        return None

    def call_method(self, obj: Any, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
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

    # -- builtins ----------------------------------------------------------------------------
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


def run_program(source: str, *, max_steps: int = 20000) -> str:
    """Run a program written in the supported Python subset and return what it printed.

    Args:
        source: program text.
        max_steps: budget of evaluated nodes (bulk work costs extra steps).

    Returns:
        Everything the program printed, exactly as ``print`` would have written it.

    Raises:
        ProgramError: syntax error, unsupported construct, run-time error, or budget exceeded.
    """
    tree = _parse(source, "exec")
    assert isinstance(tree, ast.Module)
    _check_syntax(tree)
    interpreter = _Interpreter(max_steps)
    try:
        interpreter.run(tree)
    except RecursionError:
        raise ProgramError("program is nested too deeply") from None
    except MemoryError:
        raise ProgramError("program ran out of memory") from None
    return "".join(interpreter.out)


def _arith(node: ast.expr, inexact: list[bool]) -> int | float:
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
