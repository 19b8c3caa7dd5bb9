"""The package's import graph stays a house by stage (issue 13): no import cycle between any two
modules, no import from a lower stage up to a higher one, no private name taken across modules.

The graph is read from the source with ``ast`` (no import runs); imports inside functions and
under ``TYPE_CHECKING`` count like any other. The KNOWN_* exception lists are empty and stay
so: the test fails on any cycle, climb or private name, and on a listed one that is gone."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = "pytest_ureason"
ROOT = Path(__file__).resolve().parents[1] / PKG

# Stages, bottom (0) first: a module may import its own stage or lower ones. The longest
# matching dotted prefix decides; the package's __init__ (the public face) is on top.
STAGES: dict[str, int] = {
    **dict.fromkeys(
        [
            "pytest_ureason.record",
            "pytest_ureason.conditions",
            "pytest_ureason.scene.vocabulary",
            "pytest_ureason.scene.grammar",
            "pytest_ureason.scene.render",
            "pytest_ureason.models",
            "pytest_ureason.models.batching",
            "pytest_ureason.models.memory",
            "pytest_ureason.models.fingerprint",
            "pytest_ureason.files",
        ],
        0,
    ),
    **dict.fromkeys(
        [
            "pytest_ureason.judge.expect",
            "pytest_ureason.judge.derive",
            "pytest_ureason.judge.assertions",
            "pytest_ureason.judge.model_assertions",
            "pytest_ureason.judge.observation",
            "pytest_ureason.judge.judges",
            "pytest_ureason.judge.detect",
            "pytest_ureason.judge.yesno",
            "pytest_ureason.judge.answers",
            "pytest_ureason.judge.paper_parse",
            "pytest_ureason.judge.paper_protocols",
        ],
        1,
    ),
    **dict.fromkeys(
        [
            "pytest_ureason.reference.model",
            "pytest_ureason.reference.judge",
            "pytest_ureason.reference.solvers",
            "pytest_ureason.reference.safe_python",
            "pytest_ureason.settings",
        ],
        2,
    ),
    **dict.fromkeys(
        [
            "pytest_ureason.collect.schema",
            "pytest_ureason.collect.loader",
            "pytest_ureason.collect.formats",
            "pytest_ureason.collect.generators",
            "pytest_ureason.collect.items",
        ],
        3,
    ),
    **dict.fromkeys(
        [
            "pytest_ureason.run.store",
            "pytest_ureason.run.harness",
            "pytest_ureason.run.interleaved",
            "pytest_ureason.run.understand",
            "pytest_ureason.run.runner",
            "pytest_ureason.run.score",
            "pytest_ureason.run.paper",
            "pytest_ureason.run.prefetch",
            "pytest_ureason.run.xdist",
            "pytest_ureason.run.gpus",
            "pytest_ureason.run.launcher",
        ],
        4,
    ),
    **dict.fromkeys(
        [
            "pytest_ureason.results.collector",
            "pytest_ureason.results.junit",
            "pytest_ureason.results.summary",
            "pytest_ureason.results.html",
            "pytest_ureason.results.gate",
            "pytest_ureason.results.gate_plugin",
            "pytest_ureason.results.gapscore",
            "pytest_ureason.results.irt",
            "pytest_ureason.results.seedstats",
            "pytest_ureason.results.calibration",
        ],
        5,
    ),
    **dict.fromkeys(
        [
            "pytest_ureason.plugin",
            "pytest_ureason.options",
            "pytest_ureason.cli.main",
            "pytest_ureason.cli.report",
            "pytest_ureason.cli.gate",
            "pytest_ureason.cli.export",
        ],
        6,
    ),
}
TOP = 7

# Exceptions: none are left (issue 13); nothing may be added.
KNOWN_CYCLES: set[frozenset[str]] = set()
KNOWN_UPWARD: set[tuple[str, str]] = set()
KNOWN_PRIVATE: set[str] = set()


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(mods: dict[str, Path]) -> list[tuple[str, str, str | None]]:
    """(importer, imported module, imported name or None) for the package's own imports,
    at any depth (deferred imports count: they are arrows all the same)."""
    found = []
    for mod, path in mods.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[tuple[str, str | None]] = []
            if isinstance(node, ast.Import):
                targets = [(a.name, None) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    here = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    here = here[: len(here) - node.level + 1]
                    base = ".".join(here + ([base] if base else []))
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append((sub, None) if sub in mods else (base, alias.name))
            for target, name in targets:
                while target and target not in mods:
                    target = target.rpartition(".")[0]
                if target.split(".")[0] == PKG and target != mod:
                    found.append((mod, target, name))
    return found


def _stage(mod: str) -> int:
    best = max((p for p in STAGES if mod == p or mod.startswith(p + ".")), key=len, default="")
    return STAGES[best] if best else TOP


def _cycles(edges: dict[str, set[str]]) -> set[frozenset[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on: set[str] = set()
    stack: list[str] = []
    out: set[frozenset[str]] = set()
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                group = set()
                while True:
                    w = stack.pop()
                    on.discard(w)
                    group.add(w)
                    if w == v:
                        break
                if len(group) > 1:
                    out.add(frozenset(group))
    return out


@pytest.fixture(scope="module")
def graph() -> tuple[dict[str, Path], list[tuple[str, str, str | None]]]:
    mods = _modules()
    return mods, _imports(mods)


def test_the_graph_is_read(graph: tuple[dict[str, Path], list[tuple[str, str, str | None]]]):
    mods, imports = graph
    assert "pytest_ureason.plugin" in mods and len(imports) > 100
    assert ("pytest_ureason.plugin", "pytest_ureason.settings", None) in imports


def test_no_new_import_cycle(graph: tuple[dict[str, Path], list[tuple[str, str, str | None]]]):
    mods, imports = graph
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for importer, target, _ in imports:
        edges[importer].add(target)
    cycles = _cycles(edges)
    assert not cycles - KNOWN_CYCLES, "new import cycle(s)"
    assert not KNOWN_CYCLES - cycles, "a known cycle is gone: drop it from KNOWN_CYCLES"


def test_no_new_upward_import(graph: tuple[dict[str, Path], list[tuple[str, str, str | None]]]):
    _, imports = graph
    upward = {(m, t) for m, t, _ in imports if _stage(t) > _stage(m)}
    assert not upward - KNOWN_UPWARD, "import(s) from a lower stage up to a higher one"
    assert not KNOWN_UPWARD - upward, "a known upward import is gone: drop it"


def test_no_new_private_name_across_modules(
    graph: tuple[dict[str, Path], list[tuple[str, str, str | None]]],
):
    _, imports = graph
    private = set()
    for importer, target, name in imports:
        if name and name.startswith("_") and not name.startswith("__"):
            a, b = importer.split("."), target.split(".")
            if not (len(a) > 2 and len(b) > 2 and a[:2] == b[:2]):  # not inside one subpackage
                private.add(f"{importer} <- {target}.{name}")
    assert not private - KNOWN_PRIVATE, "private name(s) imported across modules"
    assert not KNOWN_PRIVATE - private, "a known private import is gone: drop it"


def test_the_cycle_finder_finds_a_cycle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(edges) == {frozenset({"a", "b", "c"})}
