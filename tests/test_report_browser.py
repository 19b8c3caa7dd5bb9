"""The HTML report in a real browser (Debian's headless Chromium, driven by playwright).

Chromium must be present where CI runs (``.ci/run`` installs it): with ``CI`` or
``UREASON_REQUIRE_BROWSER`` set (``.ci/run`` sets the latter), a missing browser fails this test
instead of skipping it. Set ``UREASON_SCREENSHOT`` to a file path to
keep the screenshot the test takes.
"""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_ureason.cli.main import main
from pytest_ureason.results.junit import load_results

HOSTILE = '<img src=x onerror="window.pwned=1">'
SCRIPT = "</script><script>window.pwned=2</script><!--"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _required() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("UREASON_REQUIRE_BROWSER"))


def _chromium() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if _required():
            pytest.fail(f"{message}: CI must run the browser test", pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture
def browser() -> Iterator[Any]:
    executable = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if _required():
            pytest.fail("python playwright is missing: it is in the dev extra", pytrace=False)
        pytest.skip("python playwright is not installed")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, args=ARGS)
        yield chromium
        chromium.close()


def _hostile_results(folder: Path, image: Path) -> Path:
    """A junit file whose strings try to break out of the page."""
    root = ET.Element("testsuites")
    suite = ET.SubElement(root, "testsuite")
    for cond, passed in (("reasoning", False), ("decontext", True)):
        case = ET.SubElement(suite, "testcase", name=f"evil[{cond}]")
        props = ET.SubElement(case, "properties")
        values = {
            "ureason_model": HOSTILE,
            "ureason_condition": cond,
            "ureason_task": SCRIPT,
            "ureason_instance": "x&amp;<b>bold</b>",
            "ureason_seed": "0",
            "ureason_prompt": SCRIPT + " draw it",
            "ureason_reasoning": HOSTILE + SCRIPT,
            "ureason_image": str(image),
            "ureason_reason": HOSTILE,
            "ureason_verdicts": (
                '[{"assertion": "' + "<i>count</i>" + '", "passed": false, "reason": "r",'
                ' "detector": "d", "evidence": {"boxes": [[10, 10, 60, 60]]}}]'
            ),
        }
        for name, value in values.items():
            ET.SubElement(props, "property", name=name, value=value)
        if not passed:
            ET.SubElement(case, "failure", message="no")
    path = folder / "hostile.xml"
    ET.ElementTree(root).write(path, encoding="utf-8")
    return path


def test_report_renders_filters_and_escapes_in_chromium(
    pytester: pytest.Pytester, suite_dir: Path, browser: Any
) -> None:
    pytester.runpytest("--model", "reference", "--junitxml=run.xml")
    real = pytester.path / "run.xml"
    image = load_results([real]).items[0].image_path()
    assert image is not None
    hostile = _hostile_results(pytester.path, image)
    page_path = pytester.path / "out" / "report.html"
    assert main(["report", str(real), str(hostile), "--html", str(page_path)]) == 0
    results = load_results([real, hostile])

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(page_path.as_uri())
    page.wait_for_selector(".row")
    # Tables and charts: one pass-rate table per model, every chart decoded.
    assert page.locator("table.rates").count() == 2
    assert page.locator("table.rates").first.locator("tr").count() == 3  # head, arithmetic, all
    assert page.evaluate(
        "[...document.images].filter(i => i.className == 'chart')"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    # Rows: one per (model, instance, seed); each with its conditions' images side by side.
    assert page.get_attribute("#pager", "data-rows") == "4"
    first = page.locator(".row").first
    first.scroll_into_view_if_needed()
    assert first.locator(".cell").count() == 3
    page.wait_for_function(
        "[...document.querySelector('.row').querySelectorAll('.frame img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    assert page.locator(".box").count() > 0 and page.locator(".box.bad").count() > 0
    # Filtering: outcome, condition, task.
    page.select_option("#filter-outcome", "passed")
    rows_with_pass = {
        (i.record.model, i.record.task, i.record.instance)
        for i in results.items
        if i.record.outcome == "passed"
    }
    assert page.get_attribute("#pager", "data-rows") == str(len(rows_with_pass))
    page.select_option("#filter-outcome", "")
    page.select_option("#filter-condition", "decontext")
    counts = page.eval_on_selector_all(".cells", "els => els.map(e => e.children.length)")
    assert counts and set(counts) == {1}
    page.select_option("#filter-condition", "")
    page.select_option("#filter-task", "arithmetic")
    tasks = page.eval_on_selector_all(".row", "els => els.map(e => e.dataset.task)")
    assert tasks == ["arithmetic"] * 3
    page.select_option("#filter-task", "")
    page.select_option("#filter-outcome", "disagree")
    assert int(page.get_attribute("#pager", "data-rows") or 0) >= 2
    # Hostile strings are shown as text, never run or parsed.
    page.select_option("#filter-outcome", "")
    page.fill("#filter-search", "bold")
    page.wait_for_function("document.getElementById('pager').dataset.rows === '1'")
    text = page.inner_text("body")
    assert HOSTILE in text and "x&amp;<b>bold</b>" in text and SCRIPT.strip("<!-") in text
    assert page.evaluate("window.pwned === undefined")
    assert page.locator("img[src=x]").count() == 0 and page.locator("#rows b").count() == 0
    assert errors == []
    shot = Path(os.environ.get("UREASON_SCREENSHOT", pytester.path / "report.png"))
    page.fill("#filter-search", "")
    page.locator("#items").scroll_into_view_if_needed()
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
