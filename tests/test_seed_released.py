"""The seeds' released files load as released (issue 14, section 1).

Two sources for each quirk: the authors' real files in ``../shared/seed-data/`` beside the
checkout (never copied into the project; these tests skip, saying why, where the folder is
absent) and small files of our own in ``tests/examples/seed_quirks/`` with the same quirks.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pytest_ureason.collect.formats import choose_format, sniff
from pytest_ureason.collect.loader import load_suite
from pytest_ureason.collect.schema import Instance, Suite
from pytest_ureason.scene import vocabulary

ROOT = Path(__file__).resolve().parent.parent


def _seed_data() -> Path:
    """``../shared/seed-data`` beside the checkout (for a git worktree kept one level deeper,
    the nearest such folder above the checkout)."""
    for folder in ROOT.parents:
        if (folder / "shared" / "seed-data").is_dir():
            return (folder / "shared" / "seed-data").resolve()
    return (ROOT / ".." / "shared" / "seed-data").resolve()


SEED_DATA = _seed_data()
QUIRKS = Path(__file__).parent / "examples" / "seed_quirks"


def _seed(*parts: str) -> Path:
    path = SEED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"the released seed files are not here: {path} is absent")
    return path


def _load_all(folder: Path, pattern: str = "**/*.jsonl") -> dict[str, Suite]:
    return {str(p.relative_to(folder)): load_suite(p) for p in sorted(folder.glob(pattern))}


def _errors(suites: dict[str, Suite]) -> list[str]:
    return [str(e) for s in suites.values() for e in s.errors]


def _by_id(suites: dict[str, Suite], name: str) -> dict[str, Instance]:
    return {i.id: i for i in suites[name].instances}


@pytest.mark.parametrize(
    ("folder", "pattern", "records", "files"),
    [
        ("ureason", "*.jsonl", 1000, 10),
        ("unisandbox/test_reasoning", "*.jsonl", 900, 6),
        ("unisandbox/test_knowledge", "*.jsonl", 50, 15),
        ("geneval", "evaluation_metadata.jsonl", 553, 1),
    ],
)
def test_every_released_record_loads(folder: str, pattern: str, records: int, files: int) -> None:
    suites = _load_all(_seed(folder), pattern)
    assert len(suites) == files
    assert _errors(suites) == []
    assert sum(len(s.instances) for s in suites.values()) == records


def test_released_unisandbox_quirks() -> None:
    suites = _load_all(_seed("unisandbox", "test_reasoning"))
    math = suites["math_1.jsonl"].instances  # keys `id`, `Question`, `Answer`
    assert (math[0].id, math[0].task, math[0].prompt) == (
        "1",
        "unisandbox-math-d1",
        "Generate as many cups as the result of 8 / 4.",
    )
    assert {i.task for i in suites["mapping1.jsonl"].instances} == {"unisandbox-mapping-d1"}
    mapping2 = suites["mapping2.jsonl"].instances
    ids = [i.id for i in mapping2]
    assert len(ids) == len(set(ids)) == 200  # every ID once as -a and once as -b
    assert {i[:-2] for i in ids if i.endswith("-a")} == {i[:-2] for i in ids if i.endswith("-b")}
    both = {i.id: i for i in mapping2 if "both-questions" in i.tags}
    assert list(both) == ["36-a"]  # the record holding both questions asks its A question
    assert both["36-a"].prompt.startswith("Rule 1: 7 connects to newsletter.")
    unscorable = {i.id: i.unscorable for i in mapping2 if i.unscorable}
    assert unscorable == {
        "12-b": "unscorable: answer is 'undefined' in the released file",
        "20-b": "unscorable: answer is 'undefined' in the released file",
        "65-b": "unscorable: answer is 'N/A' in the released file",
    }
    knowledge = _load_all(_seed("unisandbox", "test_knowledge"))
    assert all(s.instances for s in knowledge.values())  # one file has no final newline


def test_released_ureason_pairs_and_geneval_names() -> None:
    suites = _load_all(_seed("ureason"))
    for task in ("code", "arithmetic", "spatial", "attribute", "text"):
        full = {i.id for i in suites[f"{task}.jsonl"].instances}
        assert full == {i.id for i in suites[f"direct_{task}.jsonl"].instances}
    geneval = load_suite(_seed("geneval", "evaluation_metadata.jsonl"))
    objects = {s.params.model_dump().get("object") for i in geneval.instances for s in i.expect}
    assert {"mouse", "keyboard", "remote"} <= objects
    names = _seed("geneval", "object_names.txt").read_text(encoding="utf-8").splitlines()
    unknown = [n for n in names if n.strip() and vocabulary.lookup_object(n) is None]
    assert unknown == []


def test_own_quirk_examples_load() -> None:
    suites = _load_all(QUIRKS)
    assert _errors(suites) == []
    math = suites["unisandbox/test_reasoning/math_2.jsonl"].instances
    assert [(i.id, i.task) for i in math] == [
        ("1", "unisandbox-math-d2"),
        ("2", "unisandbox-math-d2"),
    ]
    mapping = _by_id(suites, "unisandbox/test_reasoning/mapping2.jsonl")
    assert list(mapping) == ["1-a", "1-b", "2-a", "2-b", "3-a", "3-b"]
    assert "both-questions" in mapping["2-a"].tags
    assert mapping["2-b"].unscorable == ("unscorable: answer is 'N/A' in the released file")
    assert mapping["3-b"].unscorable == ("unscorable: answer is 'undefined' in the released file")
    assert mapping["1-a"].unscorable is None
    knowledge = suites["unisandbox/test_knowledge/Mirelle.jsonl"].instances
    assert [i.id for i in knowledge] == ["1", "2"]  # the last line has no newline
    assert "difficulty-2" not in knowledge[0].tags
    geneval = suites["geneval/evaluation_metadata.jsonl"].instances
    assert [s.describe() for s in geneval[2].expect] == [
        "count(object=remote, op=>=, value=2)",
        "count(object=remote, op=<, value=3)",
    ]
    reverse = suites["ureason/direct_arithmetic.jsonl"].instances
    assert [i.id for i in reverse] == ["8", "7"]  # listed in reverse: loaded in file order


def test_a_record_with_both_questions_takes_the_free_side(tmp_path: Path) -> None:
    path = tmp_path / "mapping-4.jsonl"
    rows = [
        {"ID": 1, "Question_A": "Rule: # is a cup. Draw #.", "Answer": "cup"},
        {"ID": 1, "Question_A": "Rule: @ is a fork. Draw @.", "Question_B": "x", "Answer": "fork"},
        {"ID": 2, "Question_A": "a", "Question_B": "Rule: & is a dog. Draw &.", "Answer": "x"},
        {"ID": 2, "Question_A": "a2", "Question_B": "b2", "Answer": "x"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    suite = load_suite(path)
    assert [(i.id, i.prompt) for i in suite.instances] == [
        ("1-a", "Rule: # is a cup. Draw #."),
        ("1-b", "x"),  # A was taken by the record before: this one is the B side
        ("2-a", "a"),
        ("2-b", "b2"),
    ]
    assert {i.task for i in suite.instances} == {"unisandbox-mapping-d4"}


def test_recognition_reads_content_in_any_key_case() -> None:
    assert sniff({"id": "1", "Question": "q", "Answer": "a"}) == "unisandbox"
    assert sniff({"Id": 1, "question_a": "q", "ANSWER": "a"}) == "unisandbox"
    assert sniff({"ID": 1, "Prompt": "p", "Expect_EN": "e"}) == "ureason"
    assert sniff({"Tag": "t", "Prompt": "p", "Include": []}) == "geneval"
    # our own bidirectional instances have question/answer keys too: they stay native
    native = {"id": "x", "task": "t", "prompt": "p", "expect": [], "question": "q", "answer": "a"}
    assert sniff(native) == "native"
    assert sniff({"id": "x", "question": "q", "answer": "a", "generator": "g"}) == "native"
    assert choose_format([{"id": 1, "Question": "q", "Answer": "a"}] * 2) == "unisandbox"


@pytest.mark.parametrize(
    ("name", "task"),
    [
        ("mapping1", "unisandbox-mapping-d1"),
        ("mapping_1", "unisandbox-mapping-d1"),
        ("Mapping-1", "unisandbox-mapping-d1"),
        ("math3", "unisandbox-math-d3"),
        ("MATH_3", "unisandbox-math-d3"),
        ("Zefyria", "unisandbox-zefyria"),
    ],
)
def test_file_name_variants(tmp_path: Path, name: str, task: str) -> None:
    question = "Question_A" if "apping" in name else "Question"
    path = tmp_path / f"{name}.jsonl"
    path.write_text(json.dumps({"id": "1", question: "Draw two cats.", "Answer": "2 cats"}))
    suite = load_suite(path)
    assert suite.errors == []
    assert [i.task for i in suite.instances] == [task]


def test_key_case_clash_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "math_1.jsonl"
    rows = [
        {"ID": "1", "id": "2", "Question": "q", "Answer": "a"},
        {"id": 3, "Question": "q", "Answer": "a"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    suite = load_suite(path)
    assert [i.id for i in suite.instances] == ["3"]
    assert [str(e) for e in suite.errors] == [
        f"{path}:1: UniSandbox record: field ID: given twice, as 'ID' and 'id'"
    ]


def test_geneval_class_names_are_coco_aliases() -> None:
    for geneval, coco in (
        ("computer mouse", "mouse"),
        ("computer keyboard", "keyboard"),
        ("tv remote", "remote"),
    ):
        found = vocabulary.lookup_object(geneval)
        assert found is not None and found.name == coco


def _copy_quirks(pytester: pytest.Pytester) -> Path:
    pytester.makeini("[pytest]\nureason_store = .store\n")
    data = pytester.path / "data"
    shutil.copytree(QUIRKS, data)
    return data


def test_a_data_folder_on_the_command_line_is_collected(pytester: pytest.Pytester) -> None:
    data = _copy_quirks(pytester)
    result = pytester.runpytest(str(data), "--collect-only", "-q")
    lines = result.stdout.lines
    assert not [line for line in lines if "suite-error" in line]
    # 15 instances x 3 conditions: the 2 + 2 UReason records of one task pair into 2 instances
    assert sum("::" in line for line in lines) == 15 * 3
    assert "data/ureason/arithmetic.jsonl::ureason-arithmetic/8[direct-s0]" in "\n".join(lines)
    # a folder of test modules does not turn the JSONL beside them into suites
    tests = pytester.mkdir("tests")
    (tests / "test_one.py").write_text("def test_one():\n    pass\n")
    shutil.copy(data / "ureason" / "arithmetic.jsonl", tests / "arithmetic.jsonl")
    other = pytester.runpytest(str(tests), "--collect-only", "-q")
    assert [line for line in other.stdout.lines if "::" in line] == ["tests/test_one.py::test_one"]
    # named one by one, a file still is a suite there
    named = pytester.runpytest(str(tests / "arithmetic.jsonl"), "--collect-only", "-q")
    assert sum("::" in line for line in named.stdout.lines) == 4  # alone: no direct unless asked


def test_ureason_pair_is_one_instance_per_id(tmp_path: Path) -> None:
    suites = _load_all(QUIRKS / "ureason")
    full = _by_id(suites, "arithmetic.jsonl")
    assert full["7"].direct_prompt == "Draw a bowl with 3 apples."  # the direct file's prompt
    assert full["7"].prompt.startswith("A bowl had 5 apples")  # reasoning and decontext
    assert (full["7"].conditions, full["7"].conditions_if_asked) == ((), ())
    assert full["7"].expect[0].describe() == "judge(expect=Exactly  3 apples in a bowl.)"
    direct = _by_id(suites, "direct_arithmetic.jsonl")
    assert direct["7"].conditions == ("direct",)
    assert direct["7"].paired_in == str((QUIRKS / "ureason" / "arithmetic.jsonl").resolve())
    alone = tmp_path / "arithmetic.jsonl"
    shutil.copy(QUIRKS / "ureason" / "arithmetic.jsonl", alone)
    solo = load_suite(alone).instances[0]
    assert (solo.direct_prompt, solo.conditions_if_asked) == (None, ("direct",))


def test_ureason_pair_collects_as_the_paper_ran_it(pytester: pytest.Pytester) -> None:
    data = _copy_quirks(pytester) / "ureason"

    def collected(*args: str) -> list[str]:
        result = pytester.runpytest(*args, "--collect-only", "-q")
        return [line.split("::")[1] for line in result.stdout.lines if "::" in line]

    both = collected(str(data))  # the pair: one instance per id, all three conditions
    assert sorted(both) == sorted(
        f"ureason-arithmetic/{i}[{c}-s0]"
        for i in (7, 8)
        for c in ("direct", "reasoning", "decontext")
    )
    assert collected(str(data / "direct_arithmetic.jsonl")) == [
        "ureason-arithmetic/8[direct-s0]",
        "ureason-arithmetic/7[direct-s0]",
    ]
    assert len(collected(str(data / "arithmetic.jsonl"))) == 6  # paired with the file beside it
    (data / "direct_arithmetic.jsonl").unlink()
    assert len(collected(str(data / "arithmetic.jsonl"))) == 4  # alone: reasoning, decontext
    asked = collected(str(data / "arithmetic.jsonl"), "--condition", "direct")
    assert asked == ["ureason-arithmetic/7[direct-s0]", "ureason-arithmetic/8[direct-s0]"]


def test_unscorable_items_skip_with_the_reason_and_never_pass(pytester: pytest.Pytester) -> None:
    data = _copy_quirks(pytester)
    result = pytester.runpytest(
        str(data / "unisandbox" / "test_reasoning"), "--model", "reference", "-rs", "-v"
    )
    outcomes = result.parseoutcomes()
    assert outcomes["skipped"] == 2 * 3  # two unscorable records x 3 conditions
    assert outcomes.get("passed", 0) + outcomes.get("failed", 0) == 6 * 3
    result.stdout.fnmatch_lines(
        [
            "*mapping2.jsonl::unisandbox-mapping-d2/2-b?direct-s0? SKIPPED*",
            "generation: 18 images made*",  # never drawn: scorable items only (6 x 3)
            "SKIPPED [[]3[]] *mapping2.jsonl: unscorable: answer is 'N/A' in the released file",
            "SKIPPED [[]3[]] *mapping2.jsonl: unscorable: answer is 'undefined' in the released "
            "file",
        ]
    )


def test_released_folder_on_the_command_line_collects_every_record(
    pytester: pytest.Pytester,
) -> None:
    folder = _seed("unisandbox")
    pytester.makeini("[pytest]\nureason_store = .store\n")
    result = pytester.runpytest(str(folder), "--collect-only", "-q")
    lines = result.stdout.lines
    assert not [line for line in lines if "suite-error" in line]
    assert sum("::" in line for line in lines) == 950 * 3
