"""The seed benchmarks' formats run through the plugin: loading, derived coverage, the 2x2.

    python benchmarks/seed_formats.py                      # the shipped example files
    python benchmarks/seed_formats.py --files 'my/ureason/*.jsonl' --out out/seed

It loads every file (``tests/examples/seed_formats/*/*.jsonl`` by default: small files of our
own in UReason's and UniSandbox's released shapes) and prints the items loaded per format,
then runs ``pytest FILES --model reference`` (a fresh store, the model under test's own
``answer`` as the stand-in yes/no judge, reasoning verdicts by the derived assertions) and
prints, from its ``--ureason-json``: derived-assertion coverage per task (with the reasons the
grammar refused the rest), judge-versus-detector agreement per task, the reasoning x image 2x2
per condition and task, and how many batched ``answer`` calls the judge took; then the items
passed with derived assertions advising (the default: the judge alone decides) and requiring.
"""

from __future__ import annotations

import argparse
import glob
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_ureason.collect.formats import sniff  # noqa: E402
from pytest_ureason.collect.loader import load_suite  # noqa: E402
from pytest_ureason.judge.derive import derive  # noqa: E402
from pytest_ureason.results import seedstats  # noqa: E402

DEFAULT_FILES = "tests/examples/seed_formats/*/*.jsonl"


def file_format(path: Path) -> str:
    """The format the recognition rule gives a file (from its first record)."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            return sniff(json.loads(line))
    return "native"


def loading_table(files: list[Path]) -> list[str]:
    """Items loaded (and errors) per format and file, and the grammar's refusals."""
    lines = [f"{'format':11} {'file':55} {'instances':>9} {'errors':>6}"]
    per_format: Counter[str] = Counter()
    refusals: list[str] = []
    for path in files:
        suite = load_suite(path)
        fmt = file_format(path)
        per_format[fmt] += len(suite.instances)
        lines.append(
            f"{fmt:11} {path.relative_to(ROOT)!s:55} {len(suite.instances):>9} "
            f"{len(suite.errors):>6}"
        )
        for inst in suite.instances:
            judged = [s for s in inst.expect if s.name == "judge"]
            if judged and not any(s.derived for s in inst.expect):
                text = str(getattr(judged[0].params, "expect", ""))
                refusals.append(f"  {inst.task}/{inst.id}: {text!r}: {derive(text).refused}")
    lines.append("total: " + ", ".join(f"{n} {fmt}" for fmt, n in sorted(per_format.items())))
    lines.append("expectations the grammar refused (the judge decides alone):")
    return lines + refusals


def run(files: list[Path], out: Path, *extra: str) -> tuple[dict[str, object], float]:
    """Run the files with the reference model; return the JSON summary and the seconds."""
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        *map(str, files),
        "--model",
        "reference",
        "--store",
        str(out / "store"),
        "--ureason-json",
        str(out / "summary.json"),
        *extra,
    ]
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=False, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    data: dict[str, object] = json.loads((out / "summary.json").read_text())
    return data, seconds


def main() -> None:
    """Print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", default=DEFAULT_FILES, help="glob of suite files")
    parser.add_argument("--out", default=None, help="folder for the store and JSON")
    args = parser.parse_args()
    files = sorted(Path(p).resolve() for p in glob.glob(str(ROOT / args.files)))
    if not files:
        raise SystemExit(f"no files match {args.files}")
    print("== items loaded per format")
    print("\n".join(loading_table(files)))
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="seed-formats-"))
    data, seconds = run(files, out)
    seed = data.get("seed_formats", {})
    assert isinstance(seed, dict)
    items = data.get("items", [])
    assert isinstance(items, list)
    print(f"\n== pytest --model reference: {len(items)} items in {seconds:.1f} s")
    rows = [seedstats.SeedRow(**r) for r in seed.get("rows", [])]
    print("\n".join(seedstats.format_lines(rows)))
    throughput = data.get("throughput", {})
    assert isinstance(throughput, dict)
    print(
        f"yes/no judge: {int(throughput.get('judged', 0))} prompts in "
        f"{int(throughput.get('judge_calls', 0))} batched answer() calls"
    )
    # The same run with derived assertions deciding too (images and answers from the store).
    strict, _ = run(files, out, "--derived-assertions", "require")
    for name, summary in (("advise (default)", data), ("require", strict)):
        found = summary.get("items", [])
        assert isinstance(found, list)
        passed = sum(i["outcome"] == "passed" for i in found)
        print(f"--derived-assertions {name:16}: {passed}/{len(found)} items passed")


if __name__ == "__main__":
    main()
