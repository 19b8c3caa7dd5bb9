"""End-to-end runs of the studies' conditions on the reference model: understand (bidirectional
items and the Gap Score), interleaved (drafts, reflections, fix/break counts), GenEval files,
and ``ureason gap`` over several result files."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_ureason.cli.main import main
from tests.conftest import write

BIDIRECTIONAL = """\
task: gap
instances:
  - id: sum-1
    prompt: Draw as many red apples as the value of (7 + 5) × 3 − 30.
    question: "Draw as many red apples as (7 + 5) × 3 − 30.\\nQuestion: how many apples?"
    answer: six
    expect:
      - count: {object: apple, op: "==", value: 6}
  - id: color-1
    prompt: Show a chair in the color of an emerald.
    question: "Show a chair in the color of an emerald.\\nQuestion: what color is the chair?"
    answer: green
    expect:
      - color: {object: chair, color: green}
  - id: spider-1
    prompt: Draw as many cups as the number of legs a spider has.
    question: "Draw as many cups as the number of legs a spider has.\\nQuestion: how many cups?"
    answer: "8"
    expect:
      - count: {object: cup, op: "==", value: 8}
  - id: look-1
    prompt: Draw exactly five red cups.
    question: How many cups are in the image?
    question_scene: A picture of 5 red cups.
    answer: five
    expect:
      - count: {object: cup, op: "==", value: 5}
  - id: plain-1
    prompt: Draw 3 green books.
    expect:
      - count: {object: book, op: "==", value: 3}
"""

MODELS_CONFTEST = """\
from pytest_ureason import Unsupported, register_model
from pytest_ureason.reference.model import ReferenceModel


class Forgetful(ReferenceModel):
    name = "forgetful"

    def answer(self, images, questions, seeds):
        return ["I don't know." if image is None else "Verdict: yes" for image in images]


class Mute(ReferenceModel):
    name = "mute"

    def answer(self, images, questions, seeds):
        if any("REFUSE" in q for q in questions):
            raise Unsupported("no text answers")
        raise RuntimeError("reflection head crashed")


class Shaky(ReferenceModel):
    name = "shaky"

    def generate(self, prompts, seeds, contexts=None):
        if any(p.startswith("A picture of") for p in prompts):  # every corrected prompt
            raise MemoryError("out of memory while refining")
        return super().generate(prompts, seeds, contexts)


register_model("forgetful")(lambda path, options: Forgetful(path, options))
register_model("shaky")(lambda path, options: Shaky(path, options))
register_model("mute")(lambda path, options: Mute(path, options))
"""


def _cases(xml_path: Path) -> dict[str, dict[str, str]]:
    out = {}
    for case in ET.parse(xml_path).getroot().iter("testcase"):
        props = {p.get("name") or "": p.get("value") or "" for p in case.iter("property")}
        out[case.get("name") or ""] = props
    return out


@pytest.fixture
def bidirectional(pytester: pytest.Pytester) -> Path:
    pytester.makeini("[pytest]\nureason_store = .store\n")
    pytester.makeconftest(MODELS_CONFTEST)
    return write(pytester.path / "suites" / "bi.yaml", BIDIRECTIONAL)


def test_understand_and_gap_score(pytester: pytest.Pytester, bidirectional: Path) -> None:
    result = pytester.runpytest(
        "--model",
        "reference",
        "--condition",
        "understand",
        "--condition",
        "direct",
        "--junitxml=out.xml",
        "--ureason-json=ref.json",
    )
    # understand: 4 bidirectional items (plain-1 has no question), the spider one unknown
    result.assert_outcomes(passed=5, failed=4)
    result.stdout.fnmatch_lines(
        [
            "task understand * direct",
            "gap * 75.0% * 3/4 * 40.0% * 2/5",
            "gap score (2D 2PL, MAP; understand vs direct)*",
            "  reference: theta_u +*, theta_g -*, gap +* [[]*, *[]]; accuracy 75.0% - 25.0% = "
            "+50.0 pts (4+4 items)",
        ]
    )
    cases = _cases(pytester.path / "out.xml")
    sum_case = cases["gap/sum-1[understand-s0]"]
    assert sum_case["ureason_condition"] == "understand"
    assert sum_case["ureason_answer"] == "6" and sum_case["ureason_outcome"] == "passed"
    assert cases["gap/spider-1[understand-s0]"]["ureason_outcome"] == "failed"
    assert cases["gap/look-1[understand-s0]"]["ureason_answer"] == "5"  # counted in the image
    assert "gap/plain-1[understand-s0]" not in cases
    data = json.loads((pytester.path / "ref.json").read_text())
    score = data["gap_scores"]["direct"][0]
    assert score["model"] == "reference" and score["gap"] > 0 and score["items"] == [4, 4]
    assert score["gap_ci95"][0] < score["gap"] < score["gap_ci95"][1]
    assert {i["condition"] for i in data["items"]} == {"understand", "direct"}


def test_gap_command_over_two_models(pytester: pytest.Pytester, bidirectional: Path) -> None:
    for model in ("reference", "forgetful"):
        pytester.runpytest(
            "--model",
            model,
            "--condition",
            "understand",
            "--condition",
            "decontext",
            "--detector",  # the models draw reference scenes
            "classical",
            f"--ureason-json={model}.json",
        )
    ref, forgetful = str(pytester.path / "reference.json"), str(pytester.path / "forgetful.json")
    assert main(["gap", ref, forgetful, "--json", str(pytester.path / "gap.json")]) == 0
    rows = {
        r["model"]: r for r in json.loads((pytester.path / "gap.json").read_text())["decontext"]
    }
    assert rows["forgetful"]["accuracy_understanding"] == 0.0
    assert rows["reference"]["gap"] > rows["forgetful"]["gap"]  # same generation, less understood
    again = pytester.path / "again.json"  # the same adapter in another run: its own model
    again.write_text((pytester.path / "reference.json").read_text())
    assert main(["gap", ref, str(again), "--json", str(pytester.path / "gap2.json")]) == 0
    names = [r["model"] for r in json.loads((pytester.path / "gap2.json").read_text())["decontext"]]
    assert names == ["reference", "reference (again.json)"]
    bad = pytester.path / "bad.json"
    bad.write_text('{"model": "x"}')
    assert main(["gap", str(bad)]) == 2


def test_interleaved_rounds_and_fix_counts(pytester: pytest.Pytester, bidirectional: Path) -> None:
    result = pytester.runpytest(
        "--model",
        "reference",
        "--condition",
        "interleaved",
        "--rounds",
        "2",
        "--junitxml=out.xml",
        "--ureason-json=out.json",
    )
    # the spider item: the reference cannot solve it, so its reflection cannot fix it
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(
        [
            "interleaved reference: 5 items; drafts passed 2/5, final 4/5; reflection fixed 2/3 "
            "failing drafts and broke 0/2 passing ones; *"
        ]
    )
    cases = _cases(pytester.path / "out.xml")
    fixed = cases["gap/sum-1[interleaved-s0]"]
    assert fixed["ureason_condition"] == "interleaved"
    assert fixed["ureason_draft_outcome"] == "failed" and fixed["ureason_outcome"] == "passed"
    assert fixed["ureason_rounds"] == "1"
    rounds = json.loads(fixed["ureason_interleaved"])
    assert rounds[0]["with_plan"] and "expected 6 apples" in rounds[0]["reflection"]
    assert rounds[1]["satisfied"] and Path(rounds[1]["image"]).exists()
    assert cases["gap/plain-1[interleaved-s0]"]["ureason_rounds"] == "0"
    data = json.loads((pytester.path / "out.json").read_text())
    assert data["interleaved"]["reference"]["fixed"] == 2
    assert data["interleaved"]["reference"]["tasks"]["gap"]["broken"] == 0
    # a rerun reuses every draft, reflection and refinement from the store
    again = pytester.runpytest("--model", "reference", "--condition", "interleaved")
    again.stdout.fnmatch_lines(["generation: 0 images made*"])


def test_interleaved_with_zero_rounds_judges_the_draft(
    pytester: pytest.Pytester, bidirectional: Path
) -> None:
    result = pytester.runpytest("--model", "reference", "--condition", "interleaved", "--rounds=0")
    result.assert_outcomes(passed=2, failed=3)
    result.stdout.fnmatch_lines(["interleaved reference: * fixed 0/3 *"])


def test_failing_reflection_is_an_item_error(
    pytester: pytest.Pytester, bidirectional: Path
) -> None:
    result = pytester.runpytest(
        "--model", "mute", "--detector", "classical", "--condition", "interleaved", "-q"
    )
    result.assert_outcomes(failed=5)  # every draft was reflected on, and every reflection failed
    result.stdout.fnmatch_lines(["*answer() failed: RuntimeError: reflection head crashed*"])
    assert "Traceback" not in result.stdout.str()


def test_failing_refinement_is_an_item_error_and_keeps_the_draft_record(
    pytester: pytest.Pytester, bidirectional: Path
) -> None:
    result = pytester.runpytest(
        "--model",
        "shaky",
        "--detector",
        "classical",
        "--condition",
        "interleaved",
        "--junitxml=out.xml",
    )
    result.assert_outcomes(passed=2, failed=3)  # two drafts passed; three needed refining
    result.stdout.fnmatch_lines(["*generate() failed: MemoryError: out of memory while refining*"])
    case = _cases(pytester.path / "out.xml")["gap/sum-1[interleaved-s0]"]
    assert case["ureason_outcome"] == "error"
    rounds = json.loads(case["ureason_interleaved"])
    assert "image" in rounds[0] and "image" not in rounds[1]  # no image was made in round 1


def test_bad_rounds_is_a_usage_error(pytester: pytest.Pytester, bidirectional: Path) -> None:
    result = pytester.runpytest("--model", "reference", "--rounds", "many")
    result.stderr.fnmatch_lines(["*--rounds must be an integer, got 'many'*"])


def test_geneval_file_named_on_the_command_line(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nureason_store = .store\n")
    rows = [
        {
            "tag": "counting",
            "prompt": "a photo of three cups",
            "include": [{"class": "cup", "count": 3}],
            "exclude": [{"class": "cup", "count": 4}],
        },
        {
            "tag": "position",
            "prompt": "a photo of a dog right of a chair",
            "include": [{"class": "chair"}, {"class": "dog", "position": ["right of", 0]}],
        },
        {
            "tag": "colors",
            "prompt": "a photo of a cat",
            "include": [{"class": "cat", "color": "purple"}],
        },
    ]
    path = pytester.path / "data" / "evaluation_metadata.jsonl"
    path.parent.mkdir()
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = pytester.runpytest(str(path), "--model", "reference", "--condition", "direct", "-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*geneval-counting/geneval-00001[[]direct-s0[]] PASSED*",
            "*geneval-position/geneval-00002[[]direct-s0[]] PASSED*",
            "*geneval-colors/geneval-00003[[]direct-s0[]] FAILED*",
            "*expected purple cat, found orange*",
        ]
    )


def test_report_refits_the_gap_score_from_junit(
    pytester: pytest.Pytester, bidirectional: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ureason report` over the junit file gives the run's own Gap Score, in text, JSON, HTML."""
    args = ["--model", "reference", "--condition", "understand", "--condition", "direct"]
    pytester.runpytest(*args, "--junitxml=out.xml", "--ureason-json=run.json")
    capsys.readouterr()
    out = pytester.path
    code = main(["report", str(out / "out.xml"), "--json", str(out / "rep.json"),
                 "--html", str(out / "rep.html"), "--images", "none"])  # fmt: skip
    assert code == 0
    assert "gap score (2D 2PL, MAP; understand vs direct)" in capsys.readouterr().out
    run = json.loads((out / "run.json").read_text())["gap_scores"]["direct"][0]
    rep = json.loads((out / "rep.json").read_text())["gap_scores"]["direct"][0]
    assert rep["model"] == run["model"] == "reference"
    assert rep["gap"] == pytest.approx(run["gap"], abs=1e-6)
    assert rep["gap_ci95"] == pytest.approx(run["gap_ci95"], abs=1e-6)
    page = (out / "rep.html").read_text()
    assert "Gap Score (2D 2PL item response model)" in page
    assert f"{run['gap']:+.2f} [{run['gap_ci95'][0]:+.2f}, {run['gap_ci95'][1]:+.2f}]" in page
