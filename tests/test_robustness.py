"""Hostile input and misbehaving models: a clear error for the culprit, nothing else lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import ARITH_SUITE, write

TOY_ADAPTER = """\
from PIL import Image
import pytest
from pytest_ureason import Unsupported, register_model
from pytest_ureason.reference.model import ReferenceModel


@register_model("toy")
def make(path, options):
    return Toy(options)


class Toy(ReferenceModel):
    name = "toy"

    def __init__(self, options):
        super().__init__()
        self.settings = {}  # deliberately hides its options: the harness must still key them
        self.options = options

    def reason(self, prompts, seeds):
        return ["" if "EMPTY" in p else (None if "NONE" in p else "<refined_prompt>"
                f"{p}</refined_prompt>") for p in prompts]

    def generate(self, prompts, seeds, contexts=None):
        if any("SKIPME" in p for p in prompts):
            pytest.skip("this prompt is not for me")
        if any("NOTIMAGE" in p for p in prompts):
            return ["not an image" for _ in prompts]
        if any("NOHEAD" in p for p in prompts):
            raise Unsupported("no image head")
        images = super().generate(prompts, seeds, contexts)
        return images
"""


@pytest.fixture
def toy(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\nureason_store = .store\n")
    pytester.makeconftest(TOY_ADAPTER)
    return pytester


def test_deeply_nested_files_and_crashing_generators_are_suite_errors(toy: pytest.Pytester) -> None:
    write(toy.path / "suites/deep.jsonl", "[" * 100_000 + "\n")
    write(toy.path / "suites/deep.yaml", "instances: " + "[" * 5000 + "\n")
    write(toy.path / "suites/ok.yaml", ARITH_SUITE)
    toy.makepyfile(
        team_generators="""
        from pytest_ureason import generator

        @generator("crashing")
        def crashing(count, seed):
            raise TypeError("bad arithmetic in a team generator")

        @generator("rows")
        def rows(count, seed):
            return ["not a dict"]
    """
    )
    toy.makeconftest(TOY_ADAPTER + "\nimport team_generators  # noqa\n")
    write(
        toy.path / "suites/gen.yaml",
        """\
        task: g
        instances:
          - generator: crashing
            count: 2
            seed: 1
          - generator: rows
            count: 1
            seed: 1
        """,
    )
    result = toy.runpytest("--model", "reference", "--condition", "direct", "-p", "no:randomly")
    result.stdout.fnmatch_lines_random(
        [
            "*deep.jsonl:1: invalid JSON: nested too deeply*",
            "*deep.yaml:1: *",
            "*gen.yaml:3: generator 'crashing' failed: TypeError: bad arithmetic in a team*",
            "*gen.yaml:6: generator 'rows' must return a list of dicts*",
        ]
    )
    result.assert_outcomes(passed=1, failed=6)  # 4 suite errors + 2 honest verdicts in ok.yaml


def test_several_errors_on_one_line_keep_distinct_ids_under_xdist(toy: pytest.Pytester) -> None:
    write(
        toy.path / "suites/flow.yaml",
        "instances: [{id: a1, prompt: x}, {id: a2, prompt: y}, {id: a3, prompt: z}]\n",
    )
    collected = toy.runpytest("--collect-only", "-q").outlines
    assert [ln for ln in collected if "::" in ln] == [
        "suites/flow.yaml::suite-error[line-1]",
        "suites/flow.yaml::suite-error[line-1-2]",
        "suites/flow.yaml::suite-error[line-1-3]",
    ]
    parallel = toy.runpytest_subprocess("--model", "reference", "-p", "xdist", "-n", "2")
    parallel.assert_outcomes(failed=3)


def test_unhashable_team_assertion_parameters(toy: pytest.Pytester) -> None:
    toy.makeconftest(
        TOY_ADAPTER
        + """
from pytest_ureason import Params, Verdict, assertion

class AllOf(Params):
    names: list[str]

@assertion("all_present", AllOf)
def all_present(obs, p):
    missing = [n for n in p.names if not obs.objects(n)]
    return Verdict(not missing, f"missing {missing}", "all_present", obs.detector_name)
"""
    )
    write(
        toy.path / "suites/u.yaml",
        """\
        task: u
        instances:
          - id: u-1
            prompt: a cat and a dog
            expect: [{all_present: {names: [cat, dog]}}]
          - id: u-2
            prompt: a cup
            expect: [{present: {object: cup}}]
        """,
    )
    toy.runpytest("--model", "reference", "--condition", "direct").assert_outcomes(passed=2)


def test_weights_path_and_model_args_enter_the_store_key(toy: pytest.Pytester) -> None:
    write(toy.path / "suites/a.yaml", ARITH_SUITE)
    (toy.path / "w1").mkdir()
    (toy.path / "w1/weights.bin").write_bytes(b"1")
    (toy.path / "w2").mkdir()
    (toy.path / "w2/weights.bin").write_bytes(b"22")
    base = ["--model", "toy", "--detector", "classical", "--condition", "direct"]
    toy.runpytest(*base, "--model-path", "w1").stdout.fnmatch_lines(["generation: 3 images made*"])
    toy.runpytest(*base, "--model-path", "w1").stdout.fnmatch_lines(
        ["generation: 0 images made*3 reused*"]
    )
    toy.runpytest(*base, "--model-path", "w2").stdout.fnmatch_lines(["generation: 3 images made*"])
    (toy.path / "w2/weights.bin").write_bytes(b"333")  # same path, new weights
    toy.runpytest(*base, "--model-path", "w2").stdout.fnmatch_lines(["generation: 3 images made*"])
    toy.runpytest(*base, "--model-arg", "temperature=1").stdout.fnmatch_lines(
        ["generation: 3 images made*"]
    )
    toy.runpytest(*base, "--model-arg", "temperature=0").stdout.fnmatch_lines(
        ["generation: 3 images made*"]
    )


def test_a_regenerated_image_is_judged_afresh(toy: pytest.Pytester) -> None:
    write(toy.path / "suites/a.yaml", ARITH_SUITE)
    args = ["--model", "reference", "--condition", "direct", "-k", "lit"]
    toy.runpytest(*args).assert_outcomes(passed=1)
    [png] = list((toy.path / ".store/images").rglob("*.png"))
    Image.new("RGB", (384, 384), (238, 236, 228)).save(png)  # same key, different pixels
    result = toy.runpytest(*args)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*expected book == 3, found 0*"])


def test_misbehaving_model_outputs_fail_only_their_items(toy: pytest.Pytester) -> None:
    write(
        toy.path / "suites/m.yaml",
        """\
        task: m
        instances:
          - id: ok
            prompt: a cup
            expect: [{present: {object: cup}}]
          - id: skip
            prompt: a cup SKIPME
            expect: [{present: {object: cup}}]
          - id: notimage
            prompt: a cup NOTIMAGE
            expect: [{present: {object: cup}}]
          - id: nohead
            prompt: a cup NOHEAD
            expect: [{present: {object: cup}}]
          - id: empty
            prompt: a cup EMPTY
            expect: [{present: {object: cup}}]
          - id: none
            prompt: a cup NONE
            expect: [{present: {object: cup}}]
        """,
    )
    result = toy.runpytest(
        "--model", "toy", "--detector", "classical", "-rs", "--ureason-json=r.json"
    )
    result.stdout.fnmatch_lines_random(
        [
            "*m/notimage[[]direct-s0[]]: generate() failed: TypeError: generate() returned a str, "
            "expected PIL.Image.Image*",
            "*m/empty[[]decontext-s0[]]: decontext: the reasoning is empty, there is no refined "
            "prompt to draw*",
            "*m/none[[]reasoning-s0[]]: reason() failed: TypeError: reason() returned a NoneType*",
            "*model cannot generate: this prompt is not for me*",
            "*model cannot generate: no image head*",
        ]
    )
    outcomes = {
        (r["condition"], r["task"]): r
        for r in json.loads((toy.path / "r.json").read_text())["pass_rates"]
    }
    direct = outcomes[("direct", "m")]
    # ok, empty and none draw fine in direct; skip and nohead are skipped; notimage errors.
    assert (direct["passed"], direct["error"], direct["skipped"]) == (3, 1, 2)
    decontext = outcomes[("decontext", "m")]
    assert (decontext["passed"], decontext["error"], decontext["skipped"]) == (1, 3, 2)


def test_load_failure_is_counted_as_error(toy: pytest.Pytester) -> None:
    write(toy.path / "suites/a.yaml", ARITH_SUITE)
    result = toy.runpytest(
        "--model", "reference", "--model-arg", "size=abc", "--ureason-json=r.json"
    )
    cell = next(
        r
        for r in json.loads((toy.path / "r.json").read_text())["pass_rates"]
        if r["task"] == "all" and r["condition"] == "direct"
    )
    assert (cell["error"], cell["failed"]) == (3, 0)
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_generate_fixture_skips_unsupported(toy: pytest.Pytester) -> None:
    toy.makepyfile(
        test_plain="""
        def test_gen(generate):
            generate("a cup NOHEAD")
    """
    )
    result = toy.runpytest("--model", "toy", "-rs", "test_plain.py")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*model cannot generate: no image head*"])


def test_fixtures_apply_to_suite_items(toy: pytest.Pytester) -> None:
    write(toy.path / "suites/a.yaml", ARITH_SUITE)
    toy.makeconftest(
        TOY_ADAPTER
        + """
import pytest
SEEN = []

@pytest.fixture(autouse=True)
def record(request):
    SEEN.append(request.node.name)
    yield

def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(f"autouse saw {len(SEEN)} items")
"""
    )
    toy.runpytest("--model", "reference").stdout.fnmatch_lines(["autouse saw 9 items"])


def test_suites_folder_counts_only_inside_the_rootdir(pytester: pytest.Pytester) -> None:
    project = pytester.mkdir("suites").joinpath("project")  # rootdir below a "suites" folder
    write(project / "pytest.ini", "[pytest]\n")
    write(project / "docs/mkdocs.yml", "site_name: docs\n")
    write(project / "tests/test_x.py", "def test_x():\n    pass\n")
    result = pytester.runpytest(str(project), "--rootdir", str(project))
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--detector", "yolo"], "*--detector 'yolo' is unknown (known: auto, classical, owlv2*"),
        (["--ocr", "paddle"], "*--ocr 'paddle' is unknown (known: rapidocr, tesseract)*"),
        (["--task", "nosuch"], "*--task nosuch: no such task in the collected suites*"),
        (["--store", "blocker/store"], "*--store *blocker/store is not writable*"),
    ],
)
def test_more_bad_options(toy: pytest.Pytester, args: list[str], message: str) -> None:
    write(toy.path / "suites/a.yaml", ARITH_SUITE)
    (toy.path / "blocker").write_text("a file")
    result = toy.runpytest("--model", "reference", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_ini_lists_take_commas(toy: pytest.Pytester) -> None:
    toy.makeini("[pytest]\nureason_store = .store\nureason_conditions = direct, decontext\n")
    write(toy.path / "suites/a.yaml", ARITH_SUITE)
    result = toy.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["*6 tests collected*"])


def test_task_all_is_reserved(tmp_path: Path) -> None:
    from pytest_ureason.collect.loader import load_suite

    suite = load_suite(
        write(
            tmp_path / "s.yaml",
            """\
        - id: x
          task: all
          prompt: p
          expect: [{present: {object: cup}}]
        """,
        )
    )
    assert "'all' is reserved" in suite.errors[0].message
