#!/usr/bin/env python3
"""Issue 13, step 5: move pytest_ureason's modules into one package per stage of the run.

Run at the root of a pytest-ureason tree (a git work tree):

    python3 tools/relayout.py            # move and rewrite
    python3 tools/relayout.py --dry-run  # print the plan only

What it does, by module-name mapping (MOVES below), so it works on a tree with other edits:
1. ``git mv`` every module or package still at its old place to its new one, creating the new
   packages' ``__init__.py`` (a docstring; ``cli/__init__`` re-exports ``main`` for the
   console script, which keeps its name ``pytest_ureason.cli.main:main``).
2. Rewrites every import (``import a.b``, ``from a.b import c``, ``from pytest_ureason import
   mod``: split per new package) and every dotted module name held in strings, comments and
   docs (``"pytest_ureason.judge.detect"`` in source fingerprints, monkeypatch targets, mypy
   overrides, entry points, ``:mod:`` references) and ``pytest_ureason/x.py`` paths, across
   pytest_ureason/, tests/, benchmarks/, conftest.py, pyproject.toml, README.md, .ci/run.
3. Fixes ``Path(__file__)...parent.parent`` repo-root lookups in moved modules.
4. Sorts the touched import blocks with ``ruff check --fix --select I`` (if ruff is found).

Idempotent: a module already at its new place is not moved again, and a name already in the
new layout is left alone (the three old modules whose names become packages, ``scene``,
``results`` and ``cli``, are rewritten only in the run that moves them).
After it: re-run ``pip install -e .`` (the ``reference`` model entry point moves to
``pytest_ureason.reference.model``), then ruff, mypy and the tests.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

PKG = "pytest_ureason"

# old dotted name (relative to the package) -> new one. A package moves with all below it.
MOVES: dict[str, str] = {
    # scene/: the scene grammar every stage speaks
    "vocabulary": "scene.vocabulary",
    "scene": "scene.grammar",
    "render": "scene.render",
    # models/: calling and identifying models
    "batching": "models.batching",
    "memory": "models.memory",
    "fingerprint": "models.fingerprint",
    # judge/: observing an image and deciding an assertion
    "detect.scene": "judge.detect.classical",
    "detect": "judge.detect",
    "assertions": "judge.assertions",
    "judged": "judge.model_assertions",
    "yesno": "judge.yesno",
    "judges": "judge.judges",
    "observation": "judge.observation",
    "answers": "judge.answers",
    "derive": "judge.derive",
    "expect": "judge.expect",
    # reference/: the embedded model and what it reasons with
    "models.reference": "reference.model",
    "models.reference_judge": "reference.judge",
    "solvers": "reference.solvers",
    "safe_python": "reference.safe_python",
    # collect/: suites into pytest items
    "suite": "collect.schema",
    "formats": "collect.formats",
    "generators": "collect.generators",
    "items": "collect.items",
    # run/: generating and scoring a group of items
    "store": "run.store",
    "harness": "run.harness",
    "interleaved": "run.interleaved",
    "understand": "run.understand",
    "runner": "run.runner",
    "judging": "run.score",
    "xdist_support": "run.xdist",
    "gpus": "run.gpus",
    "launcher": "run.launcher",
    # results/: what a run produced, read back
    "results": "results.collector",
    "junit_read": "results.junit",
    "report": "results.summary",
    "report_html": "results.html",
    "gate": "results.gate",
    "gate_plugin": "results.gate_plugin",
    "gapscore": "results.gapscore",
    "irt": "results.irt",
    "seedstats": "results.seedstats",
    "calibration": "results.calibration",
    # cli/: one module per command
    "cli": "cli.main",
    "report_cmd": "cli.report",
    "gate_cmd": "cli.gate",
    "export": "cli.export",
}
# Old module names that become package names: rewritten only in the run that moves them.
AMBIGUOUS = {old for old in MOVES if any(new.startswith(old + ".") for new in MOVES.values())}
# Strings that keep their spelling although they contain a moved name.
KEEP = ('"pytest_ureason.cli:main"',)

PACKAGE_DOCS = {
    "scene": "The scene grammar: vocabulary, scene descriptions and their renderer.",
    "judge": "Observing an image and deciding assertions: detectors, judges, assertions.",
    "reference": "The embedded reference model, its judge and the solvers it reasons with.",
    "collect": "From suite files to pytest items: schema, loaders, formats, generators.",
    "run": "Generating, storing and scoring a group of items; scheduling across workers.",
    "results": "What a run produced, read back: summaries, reports, the gate, studies.",
    "cli": "The ``ureason`` command: one module per subcommand.",
}
TEXT_SUFFIXES = {".py", ".toml", ".md", ".cfg", ".ini", ".txt", ".yaml", ".yml", ""}


def old_path(root: Path, dotted: str) -> Path | None:
    """The current file or package directory of an old module, None when it has moved.

    A module inside a package that moved already (``detect.scene``) is looked for at the
    package's new place."""
    places = [dotted]
    parent, _, leaf = dotted.rpartition(".")
    if parent in MOVES:
        places.append(f"{MOVES[parent]}.{leaf}")
    for place in places:
        base = root / PKG / Path(*place.split("."))
        if base.with_suffix(".py").is_file():
            return base.with_suffix(".py")
        if (base / "__init__.py").is_file() and dotted not in AMBIGUOUS:
            return base
    return None


def new_path(root: Path, dotted: str, is_pkg: bool) -> Path:
    base = root / PKG / Path(*dotted.split("."))
    return base if is_pkg else base.with_suffix(".py")


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True)


def move(root: Path, dry: bool) -> set[str]:
    """git mv every module still at its old place; return the old names moved now."""
    pending: set[str] = set()
    # Packages first, then modules inside them (detect, then detect/scene.py from its new place).
    for old in sorted(MOVES, key=lambda m: m.count(".")):
        src = old_path(root, old)
        if src is None:
            continue
        pending.add(old)
        new = MOVES[old]
        dst = new_path(root, new, src.is_dir())
        print(f"move {src.relative_to(root)} -> {dst.relative_to(root)}")
        if dry:
            continue
        for parent in reversed(dst.relative_to(root / PKG).parents[:-1]):
            pkg_dir = root / PKG / parent
            init = pkg_dir / "__init__.py"
            if not init.exists():
                pkg_dir.mkdir(parents=True, exist_ok=True)
                doc = PACKAGE_DOCS.get(parent.as_posix(), f"The {parent.name} package.")
                init.write_text(f'"""{doc}"""\n', encoding="utf-8")
                git(root, "add", str(init.relative_to(root)))
        if dst.exists():
            sys.exit(f"relayout: {dst} exists already; move {src} by hand")
        git(root, "mv", str(src.relative_to(root)), str(dst.relative_to(root)))
    cli_init = root / PKG / "cli" / "__init__.py"
    if not dry and cli_init.exists() and "import main" not in cli_init.read_text("utf-8"):
        cli_init.write_text(
            f'"""{PACKAGE_DOCS["cli"]}"""\n\n'
            "from pytest_ureason.cli.main import main\n\n"
            '__all__ = ["main"]\n',
            encoding="utf-8",
        )
    return pending


NEW_NAMES = {f"{PKG}.{n}" for n in MOVES.values()}
NEW_NAMES |= {f"{PKG}.{n.rpartition('.')[0]}" for n in MOVES.values() if "." in n}


def map_name(dotted: str, pending: set[str]) -> str:
    """The new spelling of a dotted name (``pytest_ureason.x.y...``); itself when unmoved."""
    parts = dotted.split(".")
    if parts[0] != PKG:
        return dotted
    rel = parts[1:]
    old_len = next((n for n in range(len(rel), 0, -1) if ".".join(rel[:n]) in MOVES), 0)
    new_len = next(
        (n for n in range(len(rel), 0, -1) if f"{PKG}." + ".".join(rel[:n]) in NEW_NAMES), 0
    )
    if old_len == 0 or new_len > old_len:
        return dotted  # unmoved, or already a name of the new layout
    key = ".".join(rel[:old_len])
    if new_len == old_len and key not in pending:
        return dotted  # an old module name that is now a package name, moved in an earlier run
    return ".".join([PKG, MOVES[key], *rel[old_len:]])


MARK = "\x01"  # before an import's base already rewritten: the dotted-name pass skips it
DOTTED = re.compile(r"(?<![\w.\x01])pytest_ureason(?:\.[A-Za-z_]\w*)+")
PATHS = re.compile(r"(?<![\w/])pytest_ureason((?:/\w+)+)\.py\b")
FROM_IMPORT = re.compile(
    r"^(?P<indent>[ \t]*)from[ \t]+(?P<base>pytest_ureason(?:\.\w+)*)[ \t]+import[ \t]+"
    r"(?P<names>\([^)]*\)|[^\n]*?(?:\\\n[^\n]*?)*)(?P<tail>[ \t]*(?:#[^\n]*)?)$",
    re.MULTILINE,
)


def module_exists_old(dotted_rel: str) -> bool:
    return dotted_rel in MOVES


BOUND_IN_INIT: set[str] = set()  # names the package's __init__ binds (they shadow modules)


def read_init_bindings(root: Path) -> None:
    import ast

    tree = ast.parse((root / PKG / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            BOUND_IN_INIT.update(a.asname or a.name for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            BOUND_IN_INIT.add(node.name)
        elif isinstance(node, ast.Assign):
            BOUND_IN_INIT.update(t.id for t in node.targets if isinstance(t, ast.Name))


def rewrite_from(match: re.Match[str], pending: set[str]) -> str:
    """``from BASE import a, b as c``: split when names are modules going to new homes."""
    indent, base, raw = match["indent"], match["base"], match["names"]
    text = raw.strip()
    if text.startswith("("):
        text = text[1:-1]
    text = text.replace("\\\n", " ")
    comments = re.findall(r"#[^\n]*", text)
    text = re.sub(r"#[^\n]*", "", text)
    names = [n.strip() for n in text.replace("\n", " ").split(",") if n.strip()]
    protected = match.group(0).replace(f"from {base}", f"from {MARK}{base}", 1)
    if not names or names == ["*"]:
        return protected
    new_base = map_name(base, pending)
    groups: dict[str, list[str]] = {}
    for entry in names:
        name = entry.split(" as ")[0].strip()
        rel_base = base[len(PKG) + 1 :] if base != PKG else ""
        sub = f"{rel_base}.{name}" if rel_base else name
        full = f"{PKG}.{sub}"
        shadowed = base == PKG and name in BOUND_IN_INIT  # `from pytest_ureason import expect`
        target = map_name(full, pending) if sub in MOVES and not shadowed else full
        if target != full:
            tbase, _, tname = target.rpartition(".")
            alias = entry.split(" as ")[1].strip() if " as " in entry else None
            if alias is None and tname != name:
                alias = name
            groups.setdefault(tbase, []).append(f"{tname} as {alias}" if alias else tname)
        else:
            groups.setdefault(new_base, []).append(entry)
    if list(groups) == [base] and new_base == base:
        return protected
    lines = []
    for b, items in groups.items():
        one = f"{indent}from {b} import {', '.join(items)}"
        if len(one) > 99:
            inner = "".join(f"{indent}    {i},\n" for i in items)
            one = f"{indent}from {b} import (\n{inner}{indent})"
        one = one.replace(f"from {b}", f"from {MARK}{b}", 1)
        lines.append(one)
    tail = match["tail"] or ""
    if comments and not tail.strip():
        tail = "  " + " ".join(comments)
    lines[-1] += tail
    return "\n".join(lines)


def rewrite_text(text: str, pending: set[str], is_py: bool) -> str:
    kept = {k: f"\x00KEEP{i}\x00" for i, k in enumerate(KEEP)}
    for k, v in kept.items():
        text = text.replace(k, v)
    if is_py:
        text = FROM_IMPORT.sub(lambda m: rewrite_from(m, pending), text)
    text = DOTTED.sub(lambda m: map_name(m.group(0), pending), text)

    def path_sub(m: re.Match[str]) -> str:
        dotted = PKG + m.group(1).replace("/", ".")
        new = map_name(dotted, pending)
        if new == dotted:
            return m.group(0)
        return new.replace(".", "/") + ".py"

    text = PATHS.sub(path_sub, text)
    text = text.replace(MARK, "")
    for k, v in kept.items():
        text = text.replace(v, k)
    return text


ROOT_LOOKUP = re.compile(r"Path\(__file__\)\.resolve\(\)((?:\.parent)+|\.parents\[\d+\])")


def fix_root_lookups(root: Path, path: Path) -> str | None:
    """``Path(__file__).resolve().parent.parent`` (the repo root) in a moved module."""
    text = path.read_text(encoding="utf-8")
    depth = len(path.relative_to(root).parts) - 1  # folders between the repo root and file

    def sub(m: re.Match[str]) -> str:
        ups = m.group(1)
        n = ups.count(".parent") if "[" not in ups else int(ups.split("[")[1][:-1]) + 1
        if n < 2:
            return m.group(0)  # the file's own folder: not a repo-root lookup
        return f"Path(__file__).resolve().parents[{depth}]"

    new = ROOT_LOOKUP.sub(sub, text)
    return new if new != text else None


def wrap_long_lines(root: Path, paths: list[str], ruff: list[str]) -> list[str]:
    """Re-wrap prose lines (comments, docstrings) that a longer module name pushed past the
    line limit; return the files with too-long code lines left (for ``ruff format``)."""
    import io
    import json
    import tokenize

    out = subprocess.run(
        [*ruff, "check", "--select", "E501", "--output-format", "json", "-q", *paths],
        cwd=root,
        capture_output=True,
        text=True,
    ).stdout
    by_file: dict[str, set[int]] = {}
    for err in json.loads(out or "[]"):
        by_file.setdefault(err["filename"], set()).add(err["location"]["row"])
    code_left: list[str] = []
    for name, rows in by_file.items():
        path = Path(name)
        text = path.read_text(encoding="utf-8")
        kinds: dict[int, str] = {}
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                kinds.setdefault(tok.start[0], "comment")
            elif tok.type == tokenize.STRING and tok.string.endswith(('"""', "'''")):
                for row in range(tok.start[0], tok.end[0] + 1):
                    kinds.setdefault(row, "doc")
            elif tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
                kinds[tok.start[0]] = kinds.get(tok.start[0], "code")
        lines = text.split("\n")
        for row in sorted(rows, reverse=True):
            line = lines[row - 1]
            kind = kinds.get(row, "code")
            cut = line.rfind(" ", 0, 100)
            indent = line[: len(line) - len(line.lstrip())]
            if kind == "code" or cut <= len(indent) + 4:
                code_left.append(name)
                continue
            head, rest = line[:cut], line[cut + 1 :]
            if kind == "comment":
                lead = line[: line.index("#")]
                lines[row - 1 : row] = [head, f"{lead}# {rest}"]
            else:
                lines[row - 1 : row] = [head, f"{indent}{rest}"]
        path.write_text("\n".join(lines), encoding="utf-8")
    return sorted(set(code_left))


def prune_known_private(root: Path) -> None:
    """tests/test_import_graph.py lists private names still taken across modules; those whose
    two modules now share one subpackage are allowed, so drop them from KNOWN_PRIVATE."""
    test = root / "tests" / "test_import_graph.py"
    if not test.is_file():
        return
    entry = re.compile(
        r'^\s*"(pytest_ureason\.[\w.]+) <- (pytest_ureason\.[\w.]+)\.\w+",\n', re.MULTILINE
    )

    def drop(m: re.Match[str]) -> str:
        a, b = m.group(1).split("."), m.group(2).split(".")
        return "" if len(a) > 2 and len(b) > 2 and a[:2] == b[:2] else m.group(0)

    text = test.read_text(encoding="utf-8")
    new = entry.sub(drop, text)
    new = re.sub(r"(KNOWN_\w+: set\[[^\]=]*\] = )\{\s*\}", r"\1set()", new)
    if new != text:
        test.write_text(new, encoding="utf-8")


def files(root: Path) -> list[Path]:
    """Every tracked text file of the tree (package, tests, benchmarks, goldens scripts,
    suites, pyproject.toml, README.md, .ci/run, ...)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    out: list[Path] = []
    for rel in sorted(set(listed)):
        f = root / rel
        if rel and f.is_file() and f.suffix in TEXT_SUFFIXES and f.stat().st_size < 2_000_000:
            out.append(f)
    return out


def main() -> None:
    root = Path.cwd()
    dry = "--dry-run" in sys.argv
    if not (root / PKG / "__init__.py").is_file():
        sys.exit("relayout: run it at the root of a pytest-ureason tree")
    read_init_bindings(root)
    pending = move(root, dry)
    if dry:
        return
    changed: list[Path] = []
    for f in files(root):
        try:
            text = f.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        new = rewrite_text(text, pending, f.suffix == ".py")
        if new != text:
            f.write_text(new, encoding="utf-8")
            changed.append(f)
    for f in (root / PKG).rglob("*.py"):
        if len(f.relative_to(root / PKG).parts) > 1:
            fixed = fix_root_lookups(root, f)
            if fixed is not None:
                f.write_text(fixed, encoding="utf-8")
                changed.append(f)
    prune_known_private(root)
    print(f"relayout: moved {len(pending)} modules, rewrote {len(set(changed))} files")
    py = [str(f.relative_to(root)) for f in set(changed) if f.suffix == ".py"]
    ruff = shutil.which("ruff")
    cmd = [ruff] if ruff else [sys.executable, "-m", "ruff"]
    if py:
        subprocess.run([*cmd, "check", "--fix", "--select", "I", "-q", *py], cwd=root)
        left = wrap_long_lines(root, py, cmd)
        if left:
            subprocess.run([*cmd, "format", "-q", *left], cwd=root)
            print("relayout: ruff format ran on", ", ".join(left))
    print("relayout: now run `pip install -e .` (entry points moved), ruff, mypy and pytest")


if __name__ == "__main__":
    main()
