"""Statements and calls of the safe interpreter, and the entry point :func:`run_program`.

:class:`_Interpreter` completes :class:`~.expressions._Expressions` with statement execution
(``_s_<Statement>`` methods, one step each), loops with ``else``, ``break`` and ``continue``,
top-level ``def`` with positional parameters, and calls: to user functions (each in a fresh
local scope whose only outer scope is the module's, at most :data:`MAX_DEPTH` deep), to
whitelisted methods and to builtins. Python exceptions raised by an operation of the program
are turned into :class:`ProgramError` naming the statement's line.
"""

from __future__ import annotations

import ast
from typing import Any

from pytest_ureason.reference.safe_python.builtins import _ARITY
from pytest_ureason.reference.safe_python.checks import _check_syntax, _parse
from pytest_ureason.reference.safe_python.expressions import _Expressions
from pytest_ureason.reference.safe_python.limits import MAX_DEPTH
from pytest_ureason.reference.safe_python.values import (
    ProgramError,
    _Break,
    _Builtin,
    _Continue,
    _Function,
    _Return,
    _tname,
)


class _Interpreter(_Expressions):
    """Tree-walking evaluator; one instance runs one program."""

    def __init__(self, max_steps: int) -> None:
        super().__init__(max_steps)
        self.depth = 0

    # -- statements --------------------------------------------------------------------------
    def run(self, tree: ast.Module) -> None:
        """Run a checked program's module body."""
        try:
            self.exec_block(tree.body)
        except (_Break, _Continue):
            self.fail("'break' or 'continue' outside a loop")

    def exec_block(self, body: list[ast.stmt]) -> None:
        """Run statements in order."""
        for stmt in body:
            self.exec_stmt(stmt)

    def exec_stmt(self, node: ast.stmt) -> None:
        """Run one statement (one step); turn Python errors into :class:`ProgramError`."""
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

    def call_function(self, func: _Function, args: list[Any]) -> Any:
        """Call a user function with positional ``args`` in a fresh local scope."""
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
