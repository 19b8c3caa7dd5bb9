"""Build time and size of the HTML report for 10,000 items, and how fast it opens in Chromium.

Makes a junit file of N suite items (default 10,000: 3,334 instances x direct / reasoning /
decontext) through the real writer path: a pytest run whose tests record the same ``ureason_*``
properties as suite items (reasoning, prompts, verdicts with boxes), about half of them
failing, with one distinct image per item rendered by the reference model's renderer into a
real generation store. Then times ``ureason report --html`` (a subprocess, as a user runs it)
with embedded and linked images, and opens the embedded report in headless Chromium: time to
the first rows, and to re-filter by outcome.

    python benchmarks/report_build.py [--items 10000] [--out DIR]

``--out`` keeps the junit file, the reports and a screenshot (default: a temporary folder).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COLORS = ("red", "blue", "green", "yellow", "purple", "orange")
OBJECTS = ("apple", "cup", "book", "dog", "car", "kite", "star", "fish")
CONDITIONS = ("direct", "reasoning", "decontext")

TEST_MODULE = """\
import json
import pytest

SPEC = json.load(open({spec!r}))


@pytest.mark.parametrize("n", range(len(SPEC)), ids=[s["name"] for s in SPEC])
def test_item(n, record_property):
    spec = SPEC[n]
    for key, value in spec["props"].items():
        record_property(key, value)
    assert spec["passed"], spec["props"]["ureason_reason"]
"""


def make_inputs(folder: Path, items: int) -> Path:
    """Render the images into a store, write the spec, run pytest to write the junit file."""
    sys.path.insert(0, str(REPO))
    from pytest_ureason.reference.model import ReferenceModel
    from pytest_ureason.run.store import Store, content_key

    rng = random.Random(0)
    model = ReferenceModel()
    store = Store(folder / "store")
    spec = []
    for n in range(items):
        inst, cond = n // 3, CONDITIONS[n % 3]
        count, color, obj = rng.randint(1, 9), rng.choice(COLORS), rng.choice(OBJECTS)
        prompt = f"A picture of {count} {color} {obj}."
        image = model.generate([prompt], [n])[0]
        key = content_key(kind="bench", n=n)
        path = store.put_image(key, image, {"prompt": prompt})
        passed = rng.random() < 0.5
        boxes = [[rng.randint(0, 300), rng.randint(0, 300)] for _ in range(count)]
        boxes = [[x, y, x + 60, y + 60] for x, y in boxes]
        reason = f"expected {obj} == {count}, found {count if passed else count + 1}"
        verdicts = [
            {
                "assertion": f"count({obj} == {count})",
                "passed": passed,
                "reason": reason,
                "detector": "classical",
                "evidence": {"found": count, "boxes": boxes},
            }
        ]
        props = {
            "ureason_model": "reference",
            "ureason_condition": cond,
            "ureason_task": f"task{inst % 5}",
            "ureason_instance": f"inst-{inst:05d}",
            "ureason_seed": "0",
            "ureason_suite": f"bench/task{inst % 5}@1",
            "ureason_prompt": f"Draw as many {color} {obj}s as the value of {count} x 1. " * 3,
            "ureason_fingerprint": "bench",
            "ureason_image": str(path),
            "ureason_detectors": "classical",
            "ureason_verdicts": json.dumps(verdicts),
            "ureason_reason": reason,
            "ureason_outcome": "passed" if passed else "failed",
        }
        if cond != "direct":
            props["ureason_reasoning"] = (
                f"This is a counting task. Step 1: {count} x 1 = {count}. " * 4
                + f"<refined_prompt>{prompt}</refined_prompt>"
            )
            props["ureason_drawn_prompt"] = (
                prompt if cond == "decontext" else props["ureason_prompt"]
            )
        spec.append(
            {"name": f"task{inst % 5}/inst-{inst:05d}[{cond}-s0]", "props": props, "passed": passed}
        )
    (folder / "spec.json").write_text(json.dumps(spec))
    (folder / "test_bench.py").write_text(TEST_MODULE.format(spec=str(folder / "spec.json")))
    junit = folder / "results.xml"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "test_bench.py",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:ureason",
            "--tb=no",
            "-rN",
            f"--junitxml={junit}",
        ],
        cwd=folder,
        capture_output=True,
        check=False,
    )
    return junit


def build(junit: Path, html: Path, images: str) -> float:
    """Wall seconds of ``ureason report JUNIT --html HTML --images MODE``."""
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest_ureason.cli.main",
            "report",
            str(junit),
            "--html",
            str(html),
            "--images",
            images,
        ],
        cwd=REPO,
        capture_output=True,
        check=True,
    )
    return time.perf_counter() - start


def browse(html: Path, shot: Path) -> tuple[float, float]:
    """Seconds to the first rows in headless Chromium, and to re-filter by outcome."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        start = time.perf_counter()
        page.goto(html.as_uri(), timeout=120_000)
        page.wait_for_selector(".row", timeout=120_000)
        first = time.perf_counter() - start
        before = page.get_attribute("#pager", "data-rows")
        start = time.perf_counter()
        page.select_option("#filter-outcome", "failed")
        page.wait_for_function(f"document.getElementById('pager').dataset.rows !== '{before}'")
        refilter = time.perf_counter() - start
        page.evaluate("window.scrollTo(0, document.getElementById('items').offsetTop)")
        page.wait_for_timeout(1000)  # let the lazy images of the first page decode
        page.screenshot(path=str(shot))
        browser.close()
    return first, refilter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--out", help="keep inputs, reports and the screenshot here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.out or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        junit = make_inputs(folder, args.items)
        print(
            f"inputs: {args.items} items, junit {junit.stat().st_size / 1e6:.1f} MB, "
            f"{time.perf_counter() - start:.0f} s to make",
            flush=True,
        )
        rows = []
        for mode in ("embed", "link"):
            html = folder / f"report-{mode}.html"
            wall = build(junit, html, mode)
            rows.append((mode, wall, html.stat().st_size / 1e6))
        first, refilter = browse(folder / "report-embed.html", folder / "report-10k.png")
        print(f"{'images':<8} {'ureason report --html (s)':>26} {'HTML (MB)':>10}")
        for mode, wall, size in rows:
            print(f"{mode:<8} {wall:>26.1f} {size:>10.1f}")
        print(
            f"chromium, embedded report: first rows after {first:.2f} s, "
            f"re-filter by outcome {refilter:.3f} s; screenshot {folder / 'report-10k.png'}"
        )


if __name__ == "__main__":
    main()
