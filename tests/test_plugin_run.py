"""End-to-end runs of the plugin on the reference model: verdicts, junit, JSON, store, xdist,
shards and failing models."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import write

FLAKY_CONFTEST = """\
from pytest_ureason import Unsupported, register_model
from pytest_ureason.reference.model import ReferenceModel


@register_model("flaky")
def make(path, options):
    return Flaky()


class Flaky(ReferenceModel):
    name = "flaky"
    calls = []

    def generate(self, prompts, seeds, contexts=None):
        Flaky.calls.append(len(prompts))
        if any("POISON" in p for p in prompts):
            raise MemoryError("CUDA out of memory (simulated by a prompt the model rejects)")
        return super().generate(prompts, seeds, contexts)

    def reason(self, prompts, seeds):
        if any("NOREASON" in p for p in prompts):
            raise Unsupported("this adapter cannot reason about that")
        return super().reason(prompts, seeds)


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(f"generate batch sizes: {Flaky.calls}")
"""


def _props(xml_path: Path) -> dict[str, dict[str, str]]:
    out = {}
    for case in ET.parse(xml_path).getroot().iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        out[case.get("name") or ""] = {k or "": v or "" for k, v in props.items()}
    return out


def test_run_prints_pass_rate_table(pytester: pytest.Pytester, suite_dir: Path) -> None:
    result = pytester.runpytest("--model", "reference", "--condition", "direct")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*ureason pass rates*",
            "model reference: pass rate [[]95% Wilson interval[]] passed/scored",
            "task * direct",
            "arithmetic *33.3% [[] 6.1- 79.2[]] 1/3",
            "all *33.3%*",
            "generation: 3 images made*",
        ]
    )
    result.stdout.fnmatch_lines(["*expected apple == 5, found 3 (boxes: [[]*"])


def test_junit_properties_and_json(pytester: pytest.Pytester, suite_dir: Path) -> None:
    result = pytester.runpytest(
        "--model",
        "reference",
        "--condition",
        "direct",
        "--junitxml=out/r.xml",
        "--ureason-json=out/r.json",
    )
    result.assert_outcomes(passed=1, failed=2)
    props = _props(pytester.path / "out/r.xml")
    add = props["arithmetic/add-1[direct-s0]"]
    assert add["ureason_model"] == "reference"
    assert add["ureason_condition"] == "direct"
    assert add["ureason_task"] == "arithmetic"
    assert add["ureason_instance"] == "add-1"
    assert add["ureason_seed"] == "0"
    assert add["ureason_outcome"] == "failed"
    assert add["ureason_reason"].startswith("expected apple == 5, found 3")
    assert Path(add["ureason_image"]).is_file()
    verdicts = json.loads(add["ureason_verdicts"])
    assert verdicts[0]["detector"] == "classical" and verdicts[0]["evidence"]["found"] == 3
    assert props["arithmetic/lit-1[direct-s0]"]["ureason_outcome"] == "passed"
    data = json.loads((pytester.path / "out/r.json").read_text())
    cell = next(r for r in data["pass_rates"] if r["task"] == "all")
    assert (cell["passed"], cell["scored"]) == (1, 3)
    assert cell["ci95"][0] < 1 / 3 < cell["ci95"][1]


def test_rerun_reuses_the_store(pytester: pytest.Pytester, suite_dir: Path) -> None:
    first = pytester.runpytest("--model", "reference", "--condition", "direct")
    first.stdout.fnmatch_lines(["generation: 3 images made*0 reused*"])
    images = sorted((pytester.path / ".store/images").rglob("*.png"))
    mtimes = [p.stat().st_mtime_ns for p in images]
    second = pytester.runpytest("--model", "reference", "--condition", "direct")
    second.stdout.fnmatch_lines(["generation: 0 images made*3 reused from the store*"])
    assert [p.stat().st_mtime_ns for p in images] == mtimes
    assert not list((pytester.path / ".store").rglob("*.tmp"))


def test_model_args_change_the_store_key(pytester: pytest.Pytester, suite_dir: Path) -> None:
    pytester.runpytest("--model", "reference", "--condition", "direct")
    other = pytester.runpytest(
        "--model", "reference", "--condition", "direct", "--model-arg", "size=256"
    )
    other.stdout.fnmatch_lines(["generation: 3 images made*0 reused*"])
    bad = pytester.runpytest("--model", "reference", "--model-arg", "size=huge")
    bad.stdout.fnmatch_lines(["*model not loaded: reference model option size must be an integer*"])


def test_failing_batch_is_split_and_only_the_bad_item_fails(
    pytester: pytest.Pytester, suite_dir: Path
) -> None:
    pytester.makeconftest(FLAKY_CONFTEST)
    write(
        suite_dir / "poison.yaml",
        """\
        task: poison
        instances:
          - id: p-1
            prompt: Draw an apple.
            expect: [{present: {object: apple}}]
          - id: p-2
            prompt: Draw an apple POISON.
            expect: [{present: {object: apple}}]
          - id: p-3
            prompt: Draw a cup.
            expect: [{present: {object: cup}}]
          - id: p-4
            prompt: Draw a NOREASON cup.
            expect: [{present: {object: cup}}]
        """,
    )
    result = pytester.runpytest(
        "--model", "flaky", "--detector", "classical", "suites/poison.yaml", "-rs"
    )
    result.stdout.fnmatch_lines(
        [
            "*poison/p-2[[]direct-s0[]]: generate() failed: MemoryError: CUDA out of memory*",
            "*model cannot reason: this adapter cannot reason about that*",
        ]
    )
    # p-2 fails under all three conditions (no solver reads it, so its refined prompt is the
    # prompt itself); p-4's reasoning conditions are skipped; everything else passes.
    result.assert_outcomes(passed=7, failed=3, skipped=2)
    # One batch of all 10 images, halved around the poisoned inputs down to single items.
    result.stdout.fnmatch_lines(
        ["generate batch sizes: [[]10, 5, 2, 3, 1, 2, 1, 1, 5, 2, 1, 1, 3[]]"]
    )


def test_model_load_failure_is_one_clear_message(
    pytester: pytest.Pytester, suite_dir: Path
) -> None:
    result = pytester.runpytest("--model", "reference", "--model-path", "/nowhere")
    result.assert_outcomes(failed=9)
    result.stdout.fnmatch_lines(
        ["*model not loaded: the reference model has no weights: drop --model-path*"]
    )
    assert "Traceback" not in result.stdout.str()


def test_xdist_gives_the_same_results(pytester: pytest.Pytester, suite_dir: Path) -> None:
    write(
        suite_dir / "gen.yaml",
        """\
        task: code
        instances:
          - generator: code
            count: 12
            seed: 5
        """,
    )
    base = ["--model", "reference", "--batch-size", "4", "-p", "xdist"]
    serial = pytester.runpytest_subprocess(*base, "--ureason-json=serial.json", "--store=s1")
    parallel = pytester.runpytest_subprocess(
        *base, "-n", "2", "--ureason-json=par.json", "--store=s2", "--junitxml=par.xml"
    )
    assert serial.ret == parallel.ret
    one = json.loads((pytester.path / "serial.json").read_text())
    two = json.loads((pytester.path / "par.json").read_text())
    assert one["pass_rates"] == two["pass_rates"]
    assert one["gaps"] == two["gaps"]
    assert two["throughput"]["images"] == one["throughput"]["images"] == 45
    assert two["throughput"]["reasonings"] == 15
    parallel.stdout.fnmatch_lines(["*created: 2/2 workers*", "*ureason pass rates*"])
    assert len(_props(pytester.path / "par.xml")) == 45


def test_shards_cover_every_instance_exactly_once(
    pytester: pytest.Pytester, suite_dir: Path
) -> None:
    write(
        suite_dir / "gen.yaml",
        """\
        task: code
        instances:
          - generator: code
            count: 40
            seed: 2
        """,
    )
    every = {line for line in pytester.runpytest("--collect-only", "-q").outlines if "::" in line}
    seen: list[str] = []
    for i in (1, 2, 3):
        out = pytester.runpytest("--collect-only", "-q", "--shard", f"{i}/3").outlines
        part = [line for line in out if "::" in line]
        assert part, f"shard {i}/3 is empty"
        seen.extend(part)
    assert sorted(seen) == sorted(every)

    def collect(*args: str) -> list[str]:
        return [
            ln for ln in pytester.runpytest("--collect-only", "-q", *args).outlines if "::" in ln
        ]

    assert collect("--shard", "2/3") == collect("--shard", "2/3")  # deterministic
    # All conditions of an instance land in the same shard (paired comparisons stay whole).
    shards_of: dict[str, set[int]] = {}
    for i in (1, 2, 3):
        for line in collect("--shard", f"{i}/3"):
            shards_of.setdefault(line.split("[")[0], set()).add(i)
    assert len(shards_of) == 43 and all(len(s) == 1 for s in shards_of.values())


def test_detector_outputs_are_cached_with_the_images(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nureason_store = .store\n")
    write(
        pytester.path / "suites/sign.yaml",
        """\
        task: text
        instances:
          - id: s-1
            prompt: A sign that reads "OPEN".
            expect: [{text: {contains: OPEN}}, {absent: {object: dog}}]
        """,
    )
    args = ["--model", "reference", "--condition", "direct"]
    pytester.runpytest(*args).assert_outcomes(passed=1)
    from pytest_ureason.judge.detect import detector_version

    evidence = sorted(p.name for p in (pytester.path / ".store/evidence").rglob("*.json"))
    assert len(evidence) == 2
    assert any(n.endswith(f".{detector_version('classical')}.json") for n in evidence)
    assert any(".rapidocr-3." in n for n in evidence)
    # The rerun judges from the cache: tamper with the cached OCR reading to prove it.
    ocr_file = next((pytester.path / ".store/evidence").rglob("*rapidocr*.json"))
    ocr_file.write_text('[["CLOSED", [0, 0, 10, 10], 0.99]]')
    rerun = pytester.runpytest(*args)
    rerun.assert_outcomes(failed=1)
    rerun.stdout.fnmatch_lines(["*expected text containing 'OPEN', OCR read 'CLOSED'*"])
    ocr_file.write_text("{truncated")  # unreadable cache: judged afresh
    pytester.runpytest(*args).assert_outcomes(passed=1)


def test_a_team_registers_its_own_assertion_type(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("""
        from pytest_ureason import Params, Verdict, assertion

        class AtLeast(Params):
            n: int

        @assertion("objects_at_least", AtLeast)
        def objects_at_least(obs, p):
            found = len(obs.detections)
            return Verdict(found >= p.n, f"expected >= {p.n} objects, found {found}",
                           f"objects_at_least({p.n})", obs.detector_name)
    """)
    write(
        pytester.path / "suites/team.yaml",
        """\
        task: team
        instances:
          - id: t-1
            prompt: 2 cats and a dog
            expect: [{objects_at_least: {n: 3}}]
          - id: t-2
            prompt: a dog
            expect: [{objects_at_least: {n: 2}}]
          - id: t-3
            prompt: a dog
            expect: [{objects_at_least: {n: many}}]
        """,
    )
    result = pytester.runpytest("--model", "reference", "--condition", "direct")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*team.yaml:11: instance 't-3': field expect[[]0[]].objects_at_least.n: input "
            "should be a valid integer*",
            "*expected >= 2 objects, found 1*",
        ]
    )


BROKEN_ADAPTERS = """\
from pytest_ureason import register_model
from pytest_ureason.reference.model import ReferenceModel

LOADS = []


class Nameless:
    def reason(self, prompts, seeds): return ["r"] * len(prompts)
    def generate(self, prompts, seeds, contexts=None): return []
    def answer(self, images, questions, seeds): return [""] * len(questions)


class Unkeyable(ReferenceModel):
    name = "unkeyable"

    def __init__(self, path, options):
        super().__init__(path, options)
        self.revision = 5  # a revision must be a string: it enters the store key


@register_model("nameless")
def make_nameless(path, options):
    LOADS.append("nameless")
    return Nameless()


@register_model("unkeyable")
def make_unkeyable(path, options):
    LOADS.append("unkeyable")
    return Unkeyable(path, options)


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(f"adapter loads: {len(LOADS)}")
"""


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("nameless", "*model not loaded: model 'nameless': the adapter has no 'name' string*"),
        ("unkeyable", "*model not loaded: model 'unkeyable': 'revision' must be a string, got 5*"),
    ],
)
def test_a_broken_adapter_is_an_error_loaded_once_not_a_failing_model(
    pytester: pytest.Pytester, suite_dir: Path, model: str, message: str
) -> None:
    pytester.makeconftest(BROKEN_ADAPTERS)
    result = pytester.runpytest(
        "--model", model, "--detector", "classical", "--ureason-json=out.json", "-rf"
    )
    result.stdout.fnmatch_lines([message, "adapter loads: 1"])
    records = json.loads((pytester.path / "out.json").read_text())["items"]
    assert len(records) == 9 and {r["outcome"] for r in records} == {"error"}
    assert "Traceback" not in result.stdout.str()


def test_progress_shows_past_capture_and_under_xdist(
    pytester: pytest.Pytester, suite_dir: Path
) -> None:
    """Progress lines reach the terminal of a real subprocess run with pytest's default capture,
    and the controller prints them under xdist."""
    serial = pytester.runpytest_subprocess("--model", "reference", "--batch-size", "2")
    serial.stdout.fnmatch_lines(["ureason: */9 images ready, * generated (* images/s)"])
    pytester.makeconftest(
        "from pytest_ureason.results.collector import ResultsCollector\n"
        "ResultsCollector.PROGRESS_EVERY = 0.0\n"
    )
    parallel = pytester.runpytest_subprocess(
        "--model", "reference", "-p", "xdist", "-n", "2", "--store=s2"
    )
    parallel.stdout.fnmatch_lines(["ureason: * suite items done (* items/s)"])
