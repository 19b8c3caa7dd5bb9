"""Our own judges on the seed benchmarks' released files (issue 14, section 3).

    python benchmarks/seed_real.py ../shared/seed-data

Reads the released UReason, UniSandbox and GenEval files from the folder given (they stay
there; nothing is copied) and prints:

1. records loaded per file, and the load errors (through the plugin's own loader);
2. derived-check coverage per task (records with at least one derived check) and precision
   on the hand-labelled records (``tests/data/derive_labels.json``, the sample the rules were
   fixed on, and ``tests/data/derive_labels_heldout.json``, labelled before looking at
   derive's output), with any derived check the labels do not list;
3. reasoning-verdict coverage without a text judge: (a) the expectation sentences taken as
   the refined prompts a reasoning states, (b) the refined prompts the reference model's
   reasoning yields on the real UReason prompts (``extract_refined`` of ``reason``, as the
   runner does);
4. the UReason pairing: items ``pytest --collect-only`` makes per task and condition (a
   ``direct_<task>.jsonl`` record is the ``direct`` item of its ``<task>.jsonl`` instance);
5. the paper protocols' check, from ``benchmarks/seed_protocols.py`` when it is there.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_ureason.collect.loader import load_suite  # noqa: E402
from pytest_ureason.conditions import extract_refined  # noqa: E402
from pytest_ureason.judge.derive import derive, restates_task  # noqa: E402
from pytest_ureason.results import seedreal  # noqa: E402

LABELS = (
    ("fixed-on", ROOT / "tests" / "data" / "derive_labels.json"),
    ("held-out", ROOT / "tests" / "data" / "derive_labels_heldout.json"),
)
_NODE_RE = re.compile(r"::(?P<task>[^/\s]+)/(?P<id>[^\[\s]+)\[(?P<cond>[a-z]+)-s\d+\]")


def loaded(seed_dir: Path) -> list[str]:
    """Lines: records per released file and the load errors."""
    files = sorted(seed_dir.glob("ureason/*.jsonl"))
    files += sorted(seed_dir.glob("unisandbox/*/*.jsonl"))
    files += sorted(seed_dir.glob("geneval/*.jsonl"))
    lines = [
        "== records loaded per file (the plugin's loader)",
        f"  {'file':52} {'records':>7} {'errors':>6}",
    ]
    total = errors = 0
    for path in files:
        suite = load_suite(path)
        total += len(suite.instances)
        errors += len(suite.errors)
        lines.append(
            f"  {path.relative_to(seed_dir)!s:52} {len(suite.instances):>7} {len(suite.errors):>6}"
        )
        lines.extend(f"    error: {e}" for e in suite.errors[:3])
    lines.append(f"  {'all (' + str(len(files)) + ' files)':52} {total:>7} {errors:>6}")
    return lines


def derived(seed_dir: Path) -> list[str]:
    """Lines: coverage per task and benchmark, precision per labelled sample."""
    items = seedreal.sentences(seed_dir)
    cov = seedreal.coverage(items)
    lines = ["== derived checks: coverage (records with a derived check) and precision (labels)"]
    labels = {name: seedreal.load_labels(path) for name, path in LABELS if path.exists()}
    found = {name: seedreal.precision(items, lab) for name, lab in labels.items()}
    head = f"  {'group':36} {'covered/records':>16} {'share':>7}"
    for name in found:
        head += f" {name + ' correct/derived':>26}"
    lines.append(head)
    order = [*sorted(k for k in cov if k.count("/") >= 1), "ureason", "unisandbox", "all"]
    for key in order:
        c = cov[key]
        row = f"  {key:36} {c['covered']:>7}/{c['records']:<8} {100 * c['coverage']:6.1f}%"
        for per in found.values():
            p = per.get(key)
            cell = f"{p.correct}/{p.derived} ({100 * p.rate:.1f}%)" if p and p.derived else "-"
            row += f" {cell:>26}"
        lines.append(row)
    for name, per in found.items():
        total = per["all"]
        lines.append(
            f"  {name}: {total.records} labelled records, {total.derived} derived checks, "
            f"{total.correct} correct ({100 * total.rate:.1f}%); not in the labels: "
            + (", ".join(total.wrong) or "none")
        )
    kinds = Counter(s.name for item in items for s in derive(item.text).specs)
    lines.append(
        "  derived checks by kind (all records): "
        + ", ".join(f"{k} {n}" for k, n in kinds.most_common())
    )
    return lines


def reasoning(seed_dir: Path) -> list[str]:
    """Lines: how often the reasoning verdict is decided without a text judge."""
    from pytest_ureason.reference.model import ReferenceModel

    items = seedreal.sentences(seed_dir)
    lines = [
        "== reasoning verdict without a text judge (decided = right or wrong, of the refined "
        "prompts that state something checkable)",
        f"  {'source':52} {'items':>6} {'stated':>6} {'decided':>8} {'share':>7} {'right':>6} "
        f"{'wrong':>6}",
    ]

    def row(label: str, found: seedreal.ReasoningCoverage) -> str:
        return (
            f"  {label:52} {found.items:>6} {found.stated:>6} {found.decided:>8} "
            f"{100 * found.rate:6.1f}% {found.right:>6} {found.wrong:>6}"
        )

    for bench in ("ureason", "unisandbox"):
        pairs = [(s.text, s.text) for s in items if s.id.startswith(bench + "/")]
        lines.append(
            row(f"(a) {bench} expectations as stated prompts", seedreal.reasoning_coverage(pairs))
        )
    model = ReferenceModel()
    by_id = {s.id: s.text for s in items}
    pairs, restated = [], 0
    for task in seedreal.UREASON_TASKS:
        rows = [r for _, r in seedreal._rows(seed_dir / "ureason" / f"{task}.jsonl")]
        for r, text in zip(
            rows, model.reason([str(r["prompt"]) for r in rows], [0] * len(rows)), strict=True
        ):
            refined = extract_refined(text).prompt
            restated += restates_task(refined)
            pairs.append((by_id[f"ureason/{task}/{r['id']}"], refined))
    lines.append(
        row(
            "(b) ureason, the reference model's refined prompts", seedreal.reasoning_coverage(pairs)
        )
    )
    lines.append(
        f"  (b): {restated} of {len(pairs)} refined prompts restate the task (the reference "
        "model works few UReason prompts out) and stay undecided"
    )
    return lines


def pairing(seed_dir: Path) -> list[str]:
    """Lines: the items pytest collects per UReason task and condition."""
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(seed_dir / "ureason"),
        "--collect-only",
        "-q",
        "--model",
        "reference",
        "-p",
        "no:cacheprovider",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    counts: Counter[tuple[str, str]] = Counter()
    instances: dict[str, set[str]] = {}
    for m in _NODE_RE.finditer(out.stdout):
        counts[(m["task"], m["cond"])] += 1
        instances.setdefault(m["task"], set()).add(m["id"])
    conditions = sorted({c for _, c in counts})
    lines = [
        "== UReason pairing: items collected (instances x conditions)",
        f"  {'task':22} {'instances':>9} " + " ".join(f"{c:>9}" for c in conditions),
    ]
    for task in sorted(instances):
        lines.append(
            f"  {task:22} {len(instances[task]):>9} "
            + " ".join(f"{counts[(task, c)]:>9}" for c in conditions)
        )
    paired = sum(
        1
        for task in seedreal.UREASON_TASKS
        for i in load_suite(seed_dir / "ureason" / f"{task}.jsonl").instances
        if i.direct_prompt
    )
    lines.append(
        f"  {sum(counts.values())} items from {sum(map(len, instances.values()))} "
        f"instances; {paired} direct items draw their direct_<task>.jsonl prompt "
        f"(pytest exit {out.returncode})"
    )
    return lines


def protocols(seed_dir: Path) -> list[str]:
    """Lines of ``benchmarks/seed_protocols.py``'s ``protocol_check``, when it is there."""
    path = ROOT / "benchmarks" / "seed_protocols.py"
    head = "== paper protocols (benchmarks/seed_protocols.py)"
    if not path.exists():
        return [head, "  not available: benchmarks/seed_protocols.py is not in this checkout"]
    spec = importlib.util.spec_from_file_location("seed_protocols", path)
    if spec is None or spec.loader is None:
        return [head, f"  not available: {path} cannot be imported"]
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    check = getattr(module, "protocol_check", None)
    if check is None:
        return [
            head,
            "  not available: seed_protocols.py has no protocol_check(seed_dir, scripts_dir)",
        ]
    return [head, *(f"  {line}" for line in check(seed_dir, None))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("seed_dir", type=Path, help="the seed-data folder (../shared/seed-data)")
    args = parser.parse_args(argv)
    seed_dir = args.seed_dir.resolve()
    if not (seed_dir / "ureason").is_dir() or not (seed_dir / "unisandbox").is_dir():
        parser.error(f"{seed_dir} has no ureason/ and unisandbox/ folders")
    for part in (loaded, derived, reasoning, pairing, protocols):
        start = time.perf_counter()
        for line in part(seed_dir):
            print(line)
        print(f"  ({time.perf_counter() - start:.1f} s)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
