"""Look-ahead: the next group is generated while the current one is judged (``--lookahead``).

A toy model logs every generation call (thread, first prompt) and a conftest hook logs every
finished item, in one event file, so the order of events shows whether generation of group
``k + 1`` started before group ``k``'s items were judged. Verdicts must not depend on it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.conftest import write

TOY = """\
import threading
import time
from pathlib import Path

from pytest_ureason import register_model
from pytest_ureason.reference.model import ReferenceModel

EVENTS = Path(__file__).parent / "events.log"


def log(line):
    with EVENTS.open("a") as f:
        f.write(line + "\\n")


@register_model("slowtoy")
def make(path, options):
    return SlowToy(options)


class SlowToy(ReferenceModel):
    name = "slowtoy"

    def __init__(self, options):
        super().__init__()
        self.fail_ahead = options.get("fail_ahead") == "1"

    def generate(self, prompts, seeds, contexts=None):
        thread = threading.current_thread().name
        log(f"gen {thread} {len(prompts)}")
        if self.fail_ahead and thread.startswith("ureason-lookahead"):
            raise RuntimeError("broken in the background")
        time.sleep(0.3)  # a model call long enough for judging to overlap it
        return super().generate(prompts, seeds, contexts)


def pytest_runtest_logreport(report):
    if report.when == "call":
        log(f"done {report.nodeid}")


def pytest_runtest_teardown(item):
    time.sleep(0.2)  # judging that takes a while: room for the background thread to start
"""

SUITE = """\
suite: demo/ahead
version: 1
task: arithmetic
instances:
  - {generator: arithmetic, count: 9, seed: 3}
"""


def _run(pytester: pytest.Pytester, store: str, *extra: str) -> tuple[list[str], dict[str, str]]:
    events = pytester.path / "events.log"
    events.unlink(missing_ok=True)
    junit = pytester.path / f"{store}.xml"
    result = pytester.runpytest_subprocess(
        "suites",
        "--model",
        "slowtoy",
        "--condition",
        "direct",
        "--batch-size",
        "3",
        "--detector",
        "classical",
        f"--store={store}",
        f"--junitxml={junit}",
        "-p",
        "no:cacheprovider",
        *extra,
    )
    assert result.ret in (0, 1), result.stdout.str()[-3000:]
    outcomes: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        outcomes[f"{case.get('classname')}::{case.get('name')}"] = str(props.get("ureason_outcome"))
    return events.read_text().splitlines(), outcomes


@pytest.fixture
def toy(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(TOY)
    write(pytester.path / "suites/ahead.yaml", SUITE)
    return pytester


def _groups(events: list[str]) -> list[tuple[int, int]]:
    """(index of each generation call, index of the last item finished before it)."""
    out = []
    last_done = -1
    for i, line in enumerate(events):
        if line.startswith("done "):
            last_done = i
        elif line.startswith("gen "):
            out.append((i, last_done))
    return out


def test_the_next_group_is_generated_while_the_current_one_is_judged(
    toy: pytest.Pytester,
) -> None:
    on, verdicts_on = _run(toy, "store-on")
    off, verdicts_off = _run(toy, "store-off", "--lookahead", "off")
    assert verdicts_on == verdicts_off and len(verdicts_on) == 9
    assert set(verdicts_on.values()) <= {"passed", "failed"}

    gens_on = [line for line in on if line.startswith("gen ")]
    gens_off = [line for line in off if line.startswith("gen ")]
    assert len(gens_on) == len(gens_off) == 3  # three groups of three, each made once
    assert all(" MainThread " in line for line in gens_off)
    assert sum("ureason-lookahead" in line for line in gens_on) == 2  # groups 2 and 3

    # Without look-ahead, group k+1 is generated only after group k's three items finished;
    # with it, group k+1 is asked for while group k's items are still being judged.
    dones_before = [sum(1 for e in off[:i] if e.startswith("done ")) for i, _ in _groups(off)]
    assert dones_before == [0, 3, 6]
    dones_before = [sum(1 for e in on[:i] if e.startswith("done ")) for i, _ in _groups(on)]
    assert dones_before[0] == 0
    assert dones_before[1] < 3
    assert dones_before[2] < 6


def test_a_failure_in_the_background_is_an_item_error_and_the_run_ends(
    toy: pytest.Pytester,
) -> None:
    events, verdicts = _run(toy, "store-fail", "--model-arg", "fail_ahead=1")
    assert len(verdicts) == 9
    values = list(verdicts.values())
    # group 1 was made in the foreground; groups 2 and 3 failed in the background and were
    # recorded as errors of their items (the model's message), never as passes or fails
    assert values[:3] != ["error"] * 3 and "error" not in values[:3]
    assert values[3:] == ["error"] * 6
    assert any("ureason-lookahead" in e for e in events)


def test_lookahead_value_is_checked(toy: pytest.Pytester) -> None:
    result = toy.runpytest("suites", "--model", "slowtoy", "--lookahead", "maybe")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--lookahead 'maybe' is unknown (known: on, off)*"])
