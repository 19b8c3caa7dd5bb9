"""Real pytest runs of the seed formats with ``--model reference`` (issue 8)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_ureason import Unsupported, register_model
from pytest_ureason.judge.judges import JudgeConfig, Judges
from pytest_ureason.judge.observation import Observation
from pytest_ureason.reference.model import ReferenceModel
from tests.conftest import copy_seed_examples


def test_examples_run_with_stand_in_judge_tables_and_cache(pytester: pytest.Pytester) -> None:
    files = copy_seed_examples(pytester, "ureason/arithmetic.jsonl", "unisandbox/mapping_1.jsonl")
    args = [*files, "--model", "reference", "--ureason-json", "out.json", "-v"]
    result = pytester.runpytest(*args)
    outcomes = result.parseoutcomes()
    # 4 mapping instances x 3 conditions; 5 UReason instances without their direct_ file:
    # reasoning and decontext only (direct is not asked for)
    assert outcomes["passed"] + outcomes["failed"] == 4 * 3 + 5 * 2
    result.stdout.fnmatch_lines(
        [
            "*ureason-arithmetic/1[[]decontext-s0[]] PASSED*",
            "*unisandbox-mapping-d1/1-a[[]direct-s0[]] PASSED*",
            "*judge reference@reference-* (stand-in: the model under test) said no*",
            "*advisory (derived, not deciding): expected frog == 2, found 1*",
            "derived assertions (coverage) and judge vs detector (agreement):",
            "*ureason-arithmetic*5/5*",  # "Six oranges in a bowl." is derived partially
            "reasoning x image*",
            "*reasoning  unisandbox-mapping-d1*",
            "yes/no judge: 16 prompts answered in 2 batched answer() calls*",
        ]
    )
    data = json.loads((pytester.path / "out.json").read_text())
    seed = data["seed_formats"]
    assert seed["derived_coverage"]["unisandbox-mapping-d1"] == {
        "instances": 4,
        "derived": 4,
        "coverage": 1.0,
    }
    cells = seed["reasoning_image"]["reasoning"]["unisandbox-mapping-d1"]
    assert sum(cells[k] for k in ("right_right", "right_wrong", "wrong_right", "wrong_wrong")) == 4
    assert cells["right_wrong"] == 2  # the reasoning is right, the image drawn in context is not
    assert data["throughput"]["judge_calls"] == 2
    # A rerun reads every judge answer from the store: no judge call at all.
    again = pytester.runpytest(*args)
    assert again.parseoutcomes() == outcomes
    assert "yes/no judge:" not in again.stdout.str()


def test_verdict_json_names_judge_template_and_derived(pytester: pytest.Pytester) -> None:
    files = copy_seed_examples(pytester, "ureason/direct_arithmetic.jsonl")
    result = pytester.runpytest(
        *files,
        "--model",
        "reference",
        "--judge",
        "reference",
        "--condition",
        "direct",
        "--junitxml",
        "out.xml",
    )
    result.assert_outcomes(passed=5)
    text = (pytester.path / "out.xml").read_text()
    assert "stand-in" not in text  # --judge given: no stand-in
    import xml.etree.ElementTree as ET

    case = next(ET.parse(pytester.path / "out.xml").iter("testcase"))
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    verdicts = json.loads(str(props["ureason_verdicts"]))
    judge = verdicts[0]
    assert judge["evidence"]["template"].startswith("judge_image.txt#")
    assert judge["evidence"]["judge_revision"].startswith("reference-")
    assert "<answer>Yes</answer>" in judge["evidence"]["answer"]
    assert [v.get("derived", False) for v in verdicts] == [False, True, True]
    assert props["ureason_judge_verdict"] == "yes"
    assert props["ureason_derived_verdict"] == "passed"


def test_undecided_judge_is_an_error_and_broken_record_a_suite_error(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\nureason_store = .store\n")
    rows = [
        {"id": 1, "prompt": "Draw 2 red apples.", "expect_en": "Exactly 2 red apples"},
        {"id": 2, "prompt": "Draw something.", "expect_en": "Something beautiful"},
        {"id": 3, "prompt": "Draw a cat."},
    ]
    path = pytester.path / "data" / "spatial.jsonl"
    path.parent.mkdir()
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = pytester.runpytest(
        str(path), "--model", "reference", "--condition", "direct", "-v", "--ureason-json", "o.json"
    )
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*suite-error[[]line-3[]] FAILED*",
            "*ureason-spatial/1[[]direct-s0[]] PASSED*",
            "*ureason-spatial/2[[]direct-s0[]] FAILED*",
            f"*{path}:3: UReason record '3': field expect_en: a non-empty text, got missing*",
            "*undecided judge:*said nothing parsable*",
        ]
    )
    items = json.loads((pytester.path / "o.json").read_text())["items"]
    assert {i["instance"]: i["outcome"] for i in items} == {"1": "passed", "2": "error"}


def test_text_judge_gives_the_reasoning_verdict(pytester: pytest.Pytester) -> None:
    files = copy_seed_examples(pytester, "ureason/code.jsonl")
    result = pytester.runpytest(
        *files,
        "--model",
        "reference",
        "--text-judge",
        "reference",
        "--condition",
        "reasoning",
        "--junitxml",
        "out.xml",
        "--ureason-json",
        "out.json",
    )
    result.assert_outcomes(passed=2)
    import xml.etree.ElementTree as ET

    for case in ET.parse(pytester.path / "out.xml").iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert props["ureason_reasoning_verdict"] == "right"
        assert str(props["ureason_reasoning_by"]).startswith("text-judge:reference@")
    data = json.loads((pytester.path / "out.json").read_text())
    assert data["seed_formats"]["reasoning_image"]["reasoning"]["ureason-code"]["right_right"] == 2


def test_unknown_suite_format_is_a_usage_error(pytester: pytest.Pytester) -> None:
    files = copy_seed_examples(pytester, "ureason/code.jsonl")
    result = pytester.runpytest(*files, "--model", "reference", "--suite-format", "csv")
    result.stderr.fnmatch_lines(["*--suite-format 'csv' is unknown (known: auto, native*"])


def test_forced_suite_format_reads_a_file_as_that_format(pytester: pytest.Pytester) -> None:
    files = copy_seed_examples(pytester, "ureason/code.jsonl")
    result = pytester.runpytest(*files, "--model", "reference", "--suite-format", "geneval")
    result.stdout.fnmatch_lines(["*GenEval line: unknown field(s)*"])
    result.assert_outcomes(failed=2)


class _Cache:
    def __init__(self) -> None:
        self.data: dict[str, object] = {}

    def load(self, version: str, valid: object = None) -> object:
        return self.data.get(version)

    def save(self, version: str, data: object) -> None:
        self.data[version] = data


def test_vqa_cache_key_holds_the_judge_settings() -> None:
    from pytest_ureason.reference.model import ReferenceModel

    image = ReferenceModel().generate(["2 red apples"], [0])[0]
    cache = _Cache()
    for size in ("256", "384"):
        judges = Judges(JudgeConfig(judge="reference", judge_args=(("size", size),)))
        Observation(image, cache=cache, judges=judges).vqa("How many apples are there?")
    assert len([k for k in cache.data if k.startswith("vqa-")]) == 2


def test_hostile_records_are_their_own_errors_and_the_rest_run(
    pytester: pytest.Pytester,
) -> None:
    """Review of issue 8: a malformed FIRST record, a line with a byte that is not UTF-8 and
    over-long fields are each one error naming file, line and the record's own field; the file
    is still read as UReason / UniSandbox and its good records run."""
    pytester.makeini("[pytest]\nureason_store = .store\n")
    data = pytester.path / "data"
    data.mkdir()
    good = {"prompt": "Draw 2 red apples.", "expect_en": "Exactly 2 red apples"}
    lines = [
        json.dumps({"id": 1, "prompt": "Draw a cat."}).encode(),  # no expect_en
        json.dumps({"id": 2, **good}).encode(),
        b'{"id": 3, "prompt": "Draw \xff apples", "expect_en": "2 apples"}',
        json.dumps({"id": 4, "prompt": "Draw it.", "expect_en": "x" * 3000}).encode(),
        json.dumps({"id": 5, **good}).encode(),
    ]
    (data / "arithmetic.jsonl").write_bytes(b"\xef\xbb\xbf" + b"\n".join(lines) + b"\n")
    rows = [
        {"ID": 1, "Question_A": "q" * 30000, "Answer": "2 red apples"},
        {"ID": 1, "Question_B": "Draw 2 red apples.", "Answer": "2 apples"},
    ]
    (data / "mapping_1.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    files = [str(data / "arithmetic.jsonl"), str(data / "mapping_1.jsonl")]
    result = pytester.runpytest(*files, "--model", "reference", "--condition", "direct", "-v")
    result.stdout.fnmatch_lines_random(
        [
            "*arithmetic.jsonl:1: UReason record '1': field expect_en: a non-empty text*",
            "*arithmetic.jsonl:3: not UTF-8 text: byte 0xff at column 27*",
            "*arithmetic.jsonl:4: UReason record '4': field expect_en: string should have at*",
            "*mapping_1.jsonl:1: UniSandbox record '1-a': field Question_A: string should*",
            "*ureason-arithmetic/2[[]direct-s0[]] PASSED*",
            "*ureason-arithmetic/5[[]direct-s0[]] PASSED*",
            "*unisandbox-mapping-d1/1-b[[]direct-s0[]] PASSED*",
        ]
    )
    result.assert_outcomes(passed=3, failed=4)


class _PickyJudge(ReferenceModel):
    """A judge that fails on some targets: ``Unsupported`` for cats, out of memory for dogs,
    and answers a huge text for cups (the verdict tag at its very end)."""

    name = "review8-picky-judge"

    def answer(self, images: list[Any], questions: list[str], seeds: list[int]) -> list[str]:
        if any("Target description: a cat" in q for q in questions):
            raise Unsupported("this judge cannot judge cats")
        if any("Target description: a dog" in q for q in questions):
            raise MemoryError("CUDA out of memory (simulated)")
        replies = super().answer(images, questions, seeds)
        return [
            "I look closely. " * 50_000 + r if "Target description: 2 cups" in q else r
            for q, r in zip(questions, replies, strict=True)
        ]


register_model("review8-picky-judge")(lambda path, options: _PickyJudge(path, options))


def test_judge_failures_are_clear_item_errors_and_huge_answers_are_bounded(
    pytester: pytest.Pytester,
) -> None:
    """Review of issue 8: a judge that raises (Unsupported, out of memory) makes only the
    items it fails on errors, each naming the judge and the error; a huge answer is decided
    from its tag and kept bounded in the verdict (the junit file stays small)."""
    pytester.makeini("[pytest]\nureason_store = .store\n")
    rows = [
        {"id": 1, "prompt": "Draw 2 red apples.", "expect_en": "Exactly 2 red apples"},
        {"id": 2, "prompt": "Draw a cat.", "expect_en": "a cat"},
        {"id": 3, "prompt": "Draw a dog.", "expect_en": "a dog"},
        {"id": 4, "prompt": "Draw 2 cups.", "expect_en": "2 cups"},
    ]
    path = pytester.path / "spatial.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    args = [str(path), "--model", "reference", "--condition", "direct"]
    result = pytester.runpytest(
        *args, "--judge", "review8-picky-judge", "--junitxml", "o.xml", "--ureason-json", "o.json"
    )
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines_random(
        [
            "*yes/no judge review8-picky-judge@* failed: Unsupported: this judge cannot*",
            "*yes/no judge review8-picky-judge@* failed: MemoryError: CUDA out of memory*",
        ]
    )
    items = json.loads((pytester.path / "o.json").read_text())["items"]
    assert {i["instance"]: i["outcome"] for i in items} == {
        "1": "passed",
        "2": "error",
        "3": "error",
        "4": "passed",
    }
    assert (pytester.path / "o.xml").stat().st_size < 200_000  # the answer is ~800 kB
    import xml.etree.ElementTree as ET

    for case in ET.parse(pytester.path / "o.xml").iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        if case.get("name") == "ureason-spatial/4[direct-s0]":
            judge = json.loads(str(props["ureason_verdicts"]))[0]["evidence"]
            assert judge["answer_chars"] > 800_000
            assert "characters left out here" in judge["answer"]
            assert judge["answer"].endswith("<answer>Yes</answer>")


def test_text_judge_failure_is_a_clear_item_error(pytester: pytest.Pytester) -> None:
    """Review of issue 8: a --text-judge that raises is an error naming the text judge (not
    an 'internal error'), and the template hash is part of the reasoning verdict."""
    pytester.makeini("[pytest]\nureason_store = .store\n")
    rows = [
        {"id": 1, "prompt": "Draw 2 red apples.", "expect_en": "Exactly 2 red apples"},
        {"id": 2, "prompt": "Draw a cat.", "expect_en": "a cat"},
    ]
    path = pytester.path / "spatial.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = pytester.runpytest(
        str(path),
        *("--model", "reference", "--condition", "decontext"),
        *("--text-judge", "review8-picky-judge", "--junitxml", "o.xml"),
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*reasoning verdict: yes/no judge review8-picky-judge@* failed: Unsupported: *cats*"]
    )
    assert "internal error" not in result.stdout.str()
    import xml.etree.ElementTree as ET

    props = [
        {p.get("name"): p.get("value") for p in case.iter("property")}
        for case in ET.parse(pytester.path / "o.xml").iter("testcase")
    ]
    assert props[0]["ureason_reasoning_template"].startswith("judge_reasoning.txt#")
    assert props[1]["ureason_outcome"] == "error"
    # a --text-judge that cannot load skips its items with the reason, like --judge
    broken = pytester.runpytest(
        str(path),
        *("--model", "reference", "--condition", "decontext", "-rs"),
        *("--text-judge", "reference", "--text-judge-path", "no-such-folder"),
    )
    broken.assert_outcomes(skipped=2)
    broken.stdout.fnmatch_lines(["*SKIPPED*--text-judge reference: *"])


def test_unisandbox_mapping_scores_an_id_only_when_a_and_b_both_pass(
    pytester: pytest.Pytester,
) -> None:
    """Issue 14: a mapping ``ID`` passes only when its A and its B image both pass, as the
    paper scores it; the per-image verdicts stay in the report, difficulty stays a tag."""
    files = copy_seed_examples(pytester, "unisandbox/mapping_1.jsonl")
    result = pytester.runpytest(*files, "--model", "reference", "--ureason-json", "out.json")
    data = json.loads((pytester.path / "out.json").read_text())
    items = {(i["condition"], i["instance"]): i["outcome"] for i in data["items"]}
    pairs = data["seed_formats"]["mapping_pairs"]
    assert set(pairs) == {"direct", "reasoning", "decontext"}
    for condition, tasks in pairs.items():
        cell = tasks["unisandbox-mapping-d1"]  # difficulty 1: its task and tag, not a merge
        assert [p["id"] for p in cell["pairs"]] == ["1", "2"]
        for p in cell["pairs"]:  # the per-image verdicts are the items' own outcomes
            assert p["a"] == items[(condition, f"{p['id']}-a")]
            assert p["b"] == items[(condition, f"{p['id']}-b")]
            assert p["passed"] == (p["a"] == p["b"] == "passed")
        assert cell["ids"] == 2 and cell["incomplete"] == 0
        assert cell["passed"] == sum(p["passed"] for p in cell["pairs"])
    # the reference model draws ID 1 right on both sides and ID 2 wrong on both (direct)
    direct = pairs["direct"]["unisandbox-mapping-d1"]
    assert (direct["passed"], direct["ids"], direct["rate"]) == (1, 2, 0.5)
    result.stdout.fnmatch_lines(
        [
            "UniSandbox mapping per ID (passes when its A and B images both pass):",
            "*direct     unisandbox-mapping-d1*1/2*50.0%*",
        ]
    )


def test_advisory_derived_text_without_ocr_leaves_the_judge_to_decide(
    pytester: pytest.Pytester,
) -> None:
    """Issue 14: a derived ``text`` check advises; without an OCR package it is recorded as not
    run, and the yes/no judge still decides the item (it is not skipped as not judged)."""
    pytester.makeconftest(
        "import sys\n"
        "sys.modules['rapidocr'] = None  # OCR absent, as Python sees an absent package\n"
        "from pytest_ureason import register_model\n"
        "from pytest_ureason.reference.model import ReferenceModel\n"
        "class YesJudge(ReferenceModel):\n"
        "    name = 'issue14-yes-judge'\n"
        "    def answer(self, images, questions, seeds):\n"
        "        return ['<answer>Yes</answer>'] * len(questions)\n"
        "register_model('issue14-yes-judge')(lambda path, options: YesJudge(path, options))\n"
    )
    rows = [
        {
            "id": 1,
            "prompt": "Draw a shop sign that says OPEN.",
            "category": "text",
            "expect_en": "The word 'OPEN' appears in the image.",
        },
    ]
    path = pytester.path / "text.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    args = [str(path), "--model", "reference", "--judge", "issue14-yes-judge"]
    args += ["--condition", "direct", "--condition", "reasoning"]
    result = pytester.runpytest_subprocess(*args, "--junitxml", "o.xml")
    outcomes = result.parseoutcomes()
    assert outcomes == {"passed": 2}  # the judge said yes: judged, not skipped
    xml = (pytester.path / "o.xml").read_text()
    assert "not run: " in xml and "rapidocr" in xml
    # required, the same check has to run: without OCR the items are not judged
    required = pytester.runpytest_subprocess(*args, "--derived-assertions", "require")
    assert required.parseoutcomes().get("skipped", 0) == 2
