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

Modules: :mod:`.values` (the error, callables, control-flow signals, type groups, operator
tables), :mod:`.limits` (size and step budgets), :mod:`.checks` (parsing and the static
whitelist pre-check), :mod:`.builtins` (whitelisted builtins and methods), :mod:`.expressions`
and :mod:`.interpreter` (the evaluator and :func:`run_program`), :mod:`.arith`
(:func:`evaluate`).
"""

from __future__ import annotations

from pytest_ureason.reference.safe_python.arith import evaluate
from pytest_ureason.reference.safe_python.interpreter import run_program
from pytest_ureason.reference.safe_python.values import ProgramError

# Defined in a submodule; shown (tracebacks, pickling) under the public name, as before.
ProgramError.__module__ = __name__

__all__ = ["ProgramError", "evaluate", "run_program"]
