"""A judge that is not installed never becomes a verdict (issue 18, part D).

The runs are real subprocesses of pytest with ``--model reference``. A package is made absent
the way Python itself sees an absent package: the project's ``conftest.py`` sets
``sys.modules[NAME] = None``, so ``import NAME`` raises ``ModuleNotFoundError`` in that process
(and in its xdist workers, which load the same conftest). The tesseract binary is absent
because ``PATH`` holds only an empty folder. Nothing of the plugin is replaced.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SUITE = """\
suite: demo/mixed
version: 1
task: {task}
instances:
{instances}
"""

COUNT_ITEMS = """\
  - id: add-1
    prompt: Draw as many red apples as the value of 2 + 3.
    refined: A picture of 5 red apples.
    expect:
      - count: {object: apple, op: "==", value: 5}
  - id: lit-1
    prompt: Draw 3 green books.
    refined: A picture of 3 green books.
    expect:
      - count: {object: book, op: "==", value: 3}
"""

TEXT_ITEMS = """\
  - id: text-1
    prompt: Draw a bakery sign that shows the word "stressed" spelled backwards, in capitals.
    refined: A sign that reads "DESSERTS".
    expect:
      - text: {contains: DESSERTS, tolerance: 1}
  - id: text-2
    prompt: Today is Friday. Draw a chalkboard that shows the day three days from now.
    refined: A sign that reads "MONDAY".
    expect:
      - text: {contains: MONDAY}
  - id: text-3
    prompt: Draw a poster that shows the month after November.
    refined: A sign that reads "DECEMBER".
    expect:
      - count: {object: apple, op: ">=", value: 0}
      - text: {contains: DECEMBER, tolerance: 1}
"""

CLIP_ITEMS = """\
  - id: clip-1
    prompt: Draw 2 red apples.
    refined: A picture of 2 red apples.
    expect:
      - clip: {text: "two red apples", min_score: -1.0}
"""

ABSENT = "import sys\n\nfor name in {names!r}:\n    sys.modules[name] = None\n"


def _project(pytester: pytest.Pytester, absent: tuple[str, ...]) -> None:
    pytester.makeini("[pytest]\nureason_store = .store\n")
    pytester.makeconftest(ABSENT.format(names=absent))
    suites = pytester.mkdir("suites")
    for task, items in (("arithmetic", COUNT_ITEMS), ("text", TEXT_ITEMS), ("clip", CLIP_ITEMS)):
        (suites / f"{task}.yaml").write_text(SUITE.format(task=task, instances=items))


def _outcomes(path: Path) -> dict[str, str]:
    data = json.loads(path.read_text())
    return {f"{i['task']}/{i['instance']}": i["outcome"] for i in data["items"]}


OCR_LINE = (
    "OCR backend 'rapidocr' is not installed (no module 'rapidocr'): "
    "pip install 'pytest-ureason[ocr]'"
)
CLIP_LINE = "clip assertions need open_clip: pip install 'pytest-ureason[clip]'"


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_missing_ocr_and_clip_skip_their_items_and_the_summary_counts_them(
    pytester: pytest.Pytester, workers: list[str]
) -> None:
    _project(pytester, ("rapidocr", "open_clip"))
    args = ["--model", "reference", "--condition", "decontext", "--clip-weights", "random"]
    result = pytester.runpytest_subprocess(*args, *workers, "--ureason-json=out.json")
    # Every item needing OCR (text-3 has a count too: a half-judged item is not judged) or
    # CLIP is skipped; the detector items are still judged (the reference model passes them).
    assert _outcomes(pytester.path / "out.json") == {
        "arithmetic/add-1": "passed",
        "arithmetic/lit-1": "passed",
        "text/text-1": "skipped",
        "text/text-2": "skipped",
        "text/text-3": "skipped",
        "clip/clip-1": "skipped",
    }
    result.assert_outcomes(passed=2, skipped=4)
    out = result.stdout.str()
    # One line per missing judge, with the count and what to install; no traceback per item.
    assert out.count(OCR_LINE) == 1
    assert out.count(CLIP_LINE) == 1
    lines = out.splitlines()
    assert f"not judged: 3 items, excluded from the pass rates above ({OCR_LINE})" in lines
    assert f"not judged: 1 items, excluded from the pass rates above ({CLIP_LINE})" in lines
    assert "ModuleNotFoundError" not in out and "Traceback" not in out
    # The denominators leave them out: 2/2 overall, and the text row has no rate.
    table = {line.split()[0]: line.split()[1:] for line in lines if line[:4] in ("all ", "text")}
    assert table["all"][-1] == "2/2" and table["text"] == ["-"]
    data = json.loads((pytester.path / "out.json").read_text())
    assert data["not_judged"] == {OCR_LINE: 3, CLIP_LINE: 1}
    cells = {(r["task"], r["condition"]): r for r in data["pass_rates"]}
    assert cells[("all", "decontext")]["scored"] == 2
    assert cells[("text", "decontext")]["skipped"] == 3


def test_missing_tesseract_binary_skips_text_items(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(pytester, ())
    monkeypatch.setenv("PATH", str(pytester.mkdir("empty-bin")))
    result = pytester.runpytest_subprocess(
        "--model", "reference", "--condition", "decontext", "--ocr", "tesseract",
        "--clip-weights", "random", "-k", "not clip", "--ureason-json=out.json",
    )  # fmt: skip
    line = "OCR backend 'tesseract' needs the tesseract binary: apt-get install tesseract-ocr"
    assert f"not judged: 3 items, excluded from the pass rates above ({line})" in (
        result.stdout.str().splitlines()
    )
    result.assert_outcomes(passed=2, skipped=3, deselected=1)
    assert "Traceback" not in result.stdout.str()


def _extras(name: str, table: dict[str, list[str]]) -> set[str]:
    """Every requirement of an extra, following ``pytest-ureason[...]`` references."""
    import re

    out: set[str] = set()
    for req in table[name]:
        own = re.fullmatch(r"pytest-ureason\[([^\]]+)\]", req)
        if own:
            for sub in own.group(1).split(","):
                out |= _extras(sub.strip(), table)
        else:
            out.add(re.split(r"[<>=!~\[ ;]", req, maxsplit=1)[0].lower())
    return out


def test_readme_main_job_installs_ocr_and_no_torch() -> None:
    """The README's first command installs what the main job judges with (OCR included: the
    text items need it) and nothing heavy: no torch, no transformers."""
    import re

    import tomllib

    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text()
    first_block = readme.split("```bash\n", 1)[1].split("```", 1)[0]
    line = next(ln for ln in first_block.splitlines() if "pytest suites --model reference" in ln)
    found = re.search(r"pip install -e '\.\[([^\]]*)\]'", line)
    assert found, f"the main-job command installs no extras: {line!r}"
    table = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    needs: set[str] = set()
    for extra in found.group(1).split(","):
        needs |= _extras(extra.strip(), table["optional-dependencies"])
    assert {"rapidocr", "onnxruntime"} <= needs
    assert not needs & {"torch", "transformers", "torchvision", "open-clip-torch"}, line


# An adapter of its own (not built on the reference model, so it declares no reference scenes)
# that draws through the reference renderer: real images, real runs.
PAINTER = """\
from pytest_ureason.models.base import register_model
from pytest_ureason.reference.model import ReferenceModel


@register_model("painter")
class Painter:
    name = "painter"
    revision = "1"
    settings = {}

    def __init__(self, model_path=None, options=None):
        self._inner = ReferenceModel(None, {})

    def reason(self, prompts, seeds):
        return self._inner.reason(prompts, seeds)

    def generate(self, prompts, seeds, contexts=None):
        return self._inner.generate(prompts, seeds, contexts)

    def answer(self, images, questions, seeds):
        return self._inner.answer(images, questions, seeds)
"""

JUDGE_ITEMS = """\
  - id: judged-1
    prompt: Draw 2 red apples.
    refined: A picture of 2 red apples.
    expect:
      - judge: {expect: "Exactly 2 red apples."}
"""


@pytest.fixture
def painter(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A project with the ``painter`` adapter and an empty Hugging Face cache (so ``auto``
    finds no open-vocabulary weights), suites with object, text and judge assertions."""
    _project(pytester, ())
    (pytester.path / "suites" / "judged.yaml").write_text(
        SUITE.format(task="judged", instances=JUDGE_ITEMS)
    )
    pytester.makeconftest(PAINTER)
    cache = pytester.mkdir("hf-cache")
    monkeypatch.setenv("HF_HOME", str(cache))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache / "hub"))
    return pytester


REFUSED = "*--model painter: --detector auto: no open-vocabulary detector weights*"


@pytest.mark.parametrize(
    "extra",
    [[], ["--judge", "reference"], ["-n", "2"]],
    ids=["serial", "with-judge", "xdist"],
)
def test_classical_fallback_is_refused_for_another_model(
    painter: pytest.Pytester, extra: list[str]
) -> None:
    result = painter.runpytest_subprocess("--model", "painter", *extra)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([REFUSED])
    err = result.stderr.str()
    assert "--detector-path" in err and "--detector classical" in err
    if not extra:
        assert "9 collected items have count/present/absent/color/relation" in err
    assert "passed" not in result.stdout.str()


def test_classical_named_or_no_object_assertion_runs(painter: pytest.Pytester) -> None:
    named = painter.runpytest_subprocess(
        "--model", "painter", "--detector", "classical", "--condition", "decontext",
        "-k", "not clip", "--ocr", "rapidocr",
    )  # fmt: skip
    assert named.ret == pytest.ExitCode.OK, named.stderr.str()
    named.assert_outcomes(passed=6, deselected=1)
    named.stdout.fnmatch_lines(["*ureason judges: detector classical (--detector classical)*"])
    # Only items without object assertions: nothing for a detector to judge, nothing refused.
    judged = painter.runpytest_subprocess(
        "--model", "painter", "--task", "judged", "--condition", "decontext"
    )
    assert judged.ret == pytest.ExitCode.OK, judged.stderr.str()
    judged.assert_outcomes(passed=1, deselected=6)
