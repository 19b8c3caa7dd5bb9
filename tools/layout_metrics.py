"""Layout metrics of pytest_ureason (issue 13). Usage: layout_metrics.py REPO_ROOT [--trace].

Prints: modules per package, import cycles (strongly connected groups), imports that climb from
a lower stage to a higher one (by the LAYERS table below, which knows both the old flat names
and the new package names), private names imported across modules (outside one subpackage),
and function-level imports of the package's own modules. With --trace, runs one suite item
under pytest and prints the package modules it passes through, in first-entry order."""

from __future__ import annotations

import ast
import sys
from collections import Counter
from pathlib import Path

# Stage of each module, bottom (0) first; the longest matching dotted prefix wins.
LAYERS: dict[str, int] = {}


def _layer(n: int, *names: str) -> None:
    for name in names:
        LAYERS["pytest_ureason." + name] = n


_layer(
    0,
    "record",
    "conditions",
    "files",
    "vocabulary",
    "scene",
    "render",
    "models",
    "batching",
    "memory",
    "fingerprint",
)
_layer(
    1,
    "judge",
    "expect",
    "derive",
    "assertions",
    "judged",
    "observation",
    "judges",
    "detect",
    "yesno",
    "answers",
)
_layer(
    2,
    "reference",
    "models.reference",
    "models.reference_judge",
    "solvers",
    "safe_python",
    "settings",
)
_layer(3, "collect", "suite", "formats", "generators", "items")
_layer(
    4,
    "run",
    "store",
    "harness",
    "interleaved",
    "understand",
    "runner",
    "judging",
    "xdist_support",
    "gpus",
)
_layer(
    5,
    "results",
    "junit_read",
    "report",
    "report_html",
    "gate",
    "gate_plugin",
    "gapscore",
    "irt",
    "seedstats",
    "calibration",
)
_layer(6, "plugin", "cli", "report_cmd", "gate_cmd", "export", "options")
# models.* adapters sit at the bottom, but the model testing doubles and the composite
# adapter may use the judges (they are adapters built on detectors): keep them at layer 0
# so such imports show as climbing.


def layer_of(mod: str) -> int:
    if mod == "pytest_ureason":
        return 7
    best, n = "", 7
    for prefix, k in LAYERS.items():
        if (mod == prefix or mod.startswith(prefix + ".")) and len(prefix) > len(best):
            best, n = prefix, k
    return n


def modules(root: Path) -> dict[str, Path]:
    out = {}
    for p in sorted(root.rglob("*.py")):
        parts = list(p.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def resolve(cur: str, is_pkg: bool, level: int, name: str | None) -> str:
    if not level:
        return name or ""
    base = cur.split(".") if is_pkg else cur.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def walk(mods: dict[str, Path]):
    """Yield (importer, imported module, imported name or None, at_function_level)."""
    for m, p in mods.items():
        is_pkg = p.name == "__init__.py"
        tree = ast.parse(p.read_text(encoding="utf-8"))
        parents: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                parents[child] = node
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            inner, up = False, parents.get(node)
            while up is not None:
                if isinstance(up, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    inner = True
                up = parents.get(up)
            targets: list[tuple[str, str | None]] = []
            if isinstance(node, ast.Import):
                targets = [(a.name, None) for a in node.names]
            else:
                base = resolve(m, is_pkg, node.level, node.module)
                for a in node.names:
                    sub = f"{base}.{a.name}"
                    targets.append((sub, None) if sub in mods else (base, a.name))
            for t, name in targets:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t.split(".")[0] == "pytest_ureason" and t != m:
                    yield m, t, name, inner


def sccs(edges: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10000)

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            strong(v)
    return out


def package_of(mod: str, mods: dict[str, Path]) -> str:
    return mod if mods[mod].name == "__init__.py" else mod.rpartition(".")[0]


def main(repo: Path) -> None:
    root = repo / "pytest_ureason"
    mods = modules(root)
    edges: dict[str, set[str]] = {m: set() for m in mods}
    private, upward, inner = set(), set(), []
    for m, t, name, is_inner in walk(mods):
        edges[m].add(t)
        if is_inner:
            inner.append(f"{m} -> {t}")
        if layer_of(t) > layer_of(m) and not t == "pytest_ureason":
            upward.add(f"{m} (L{layer_of(m)}) -> {t} (L{layer_of(t)})")
        if name and name.startswith("_") and not name.startswith("__"):
            a, b = m.split("."), t.split(".")
            same_sub = len(a) > 2 and len(b) > 2 and a[:2] == b[:2]
            if not same_sub:
                private.add(f"{m} <- {t}.{name}")
    per_pkg = Counter(package_of(m, mods) for m in mods)
    print("modules per package:")
    for pkg, n in sorted(per_pkg.items()):
        print(f"  {pkg}: {n}")
    cyc = sccs(edges)
    for c in cyc:
        print("cycle:", ", ".join(c))
    for line in sorted(upward):
        print("upward:", line)
    for line in sorted(private):
        print("private:", line)
    inner_by = Counter(inner)
    print(
        "function-level imports of own modules, by importer:",
        dict(sorted(Counter(x.split(" -> ")[0] for x in inner).items())),
    )
    arrows = sum(len(v) for v in edges.values())
    print(
        f"SUMMARY: {len(mods)} modules, {per_pkg['pytest_ureason']} at the package root, "
        f"{len(per_pkg)} packages; {arrows} import arrows; {len(cyc)} import cycles over "
        f"{sum(map(len, cyc))} modules; {len(upward)} upward imports; {len(private)} private "
        f"names across modules; {len(inner)} function-level own imports "
        f"({len(inner_by)} distinct importer->module)"
    )


TRACE_SUITE = (
    '{"tag": "counting", "include": [{"class": "donut", "count": 3}], '
    '"prompt": "a photo of three donuts", "exclude": [{"class": "donut", "count": 4}]}\n'
)


def trace(repo: Path) -> None:
    """Run one suite item with the reference model; print the modules of its call path."""
    import os
    import subprocess
    import tempfile

    tmp = Path(tempfile.mkdtemp())
    (tmp / "evaluation_metadata.jsonl").write_text(TRACE_SUITE)
    plugin = tmp / "tracer_plugin.py"
    plugin.write_text("""
import sys, pytest
ORDER = []
def _prof(frame, event, arg):
    if event == "call":
        name = frame.f_globals.get("__name__", "")
        if name.startswith("pytest_ureason") and name not in ORDER:
            ORDER.append(name)
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    sys.setprofile(_prof)
    yield
    sys.setprofile(None)
def pytest_unconfigure(config):
    print("\\nITEM PATH:", " -> ".join(ORDER))
""")
    env = dict(
        os.environ,
        PYTHONPATH=":".join(
            p for p in (str(repo), str(tmp), os.environ.get("PYTHONPATH", "")) if p
        ),
    )
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(tmp / "evaluation_metadata.jsonl"),
        "--model",
        "reference",
        "--condition",
        "direct",
        "-p",
        "tracer_plugin",
        "-p",
        "no:cacheprovider",
        "-q",
        "-s",
        "--store",
        str(tmp / "store"),
        "--rootdir",
        str(tmp),
    ]
    out = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True)
    lines = [x for x in out.stdout.splitlines() if x.startswith("ITEM PATH")]
    print(lines[0] if lines else out.stdout[-3000:] + out.stderr[-3000:])


if __name__ == "__main__":
    repo = Path(sys.argv[1]).resolve()
    main(repo)
    if "--trace" in sys.argv:
        trace(repo)
