"""Never hang, fail closed: a killed xdist worker, empty path options, an unwritable
``--ureason-json``, file modes under the umask, and ``ureason report``'s missing items."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

KILLER_CONFTEST = """
import os, pathlib, signal
import pytest

KILL_ON = "counting/inst-11[decontext-s0]"


@pytest.fixture(autouse=True)
def _kill_once(request):
    marker = pathlib.Path(__file__).parent / "killed"
    if request.node.name == KILL_ON and not marker.exists():
        marker.write_text(os.environ.get("PYTEST_XDIST_WORKER", "?"))
        os.kill(os.getpid(), signal.SIGKILL)  # a real crash: no report, no teardown
    yield
"""


def _many_suite(n: int) -> str:
    lines = ["suite: demo/many", "version: 1", "task: counting", "instances:"]
    for i in range(n):
        k = i % 4 + 1
        lines += [
            f"  - id: inst-{i}",
            f"    prompt: Draw {k} red apples.",
            f"    refined: A picture of {k} red apples.",
            "    expect:",
            f"      - count: {{object: apple, op: '==', value: {k}}}",
        ]
    return "\n".join(lines) + "\n"


def test_a_killed_worker_never_hangs_the_run(tmp_path: Path) -> None:
    """A worker SIGKILLs itself on the last item of the last group, after finishing other
    groups, while the other worker is already told to shut down: xdist's LoadScope requeued
    the finished groups too and the replacement waited forever on an empty one."""
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "many.yaml").write_text(_many_suite(12))
    (tmp_path / "pytest.ini").write_text("[pytest]\nureason_store = .store\n")
    (tmp_path / "conftest.py").write_text(KILLER_CONFTEST)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--model", "reference",
         "-p", "xdist", "-n", "2", "--batch-size", "2", "--junitxml=out.xml", "-rf"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    out = run.stdout + run.stderr
    assert (tmp_path / "killed").exists(), out
    assert "replacing crashed worker" in out, out
    assert "1 failed, 35 passed" in out, out  # 12 instances x 3 conditions, each once
    assert "crashed while running 'suites/many.yaml::counting/inst-11[decontext-s0]'" in out
    xml = (tmp_path / "out.xml").read_text()
    assert xml.count("<testcase ") == 36


@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        (["--store="], "", "*--store is empty*"),
        ([], "ureason_store =\n", "*ini ureason_store is empty*--store*"),
        (["--condition", ""], "", "*--condition '' names an empty condition*"),
        (["--condition", "direct,"], "", "*--condition 'direct,' names an empty condition*"),
        (["--ureason-json="], "", "*--ureason-json is empty*"),
    ],
)
def test_empty_paths_and_conditions_are_usage_errors(
    pytester: pytest.Pytester, args: list[str], ini: str, message: str
) -> None:
    pytester.makeini("[pytest]\n" + ini)
    pytester.mkdir("suites")
    before = sorted(p.name for p in pytester.path.iterdir())
    result = pytester.runpytest_subprocess("--model", "reference", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    new = {p.name for p in pytester.path.iterdir()} - set(before) - {"stdout", "stderr"}
    assert {n for n in new if not n.startswith("runpytest")} == set()  # no store written here


def test_unwritable_json_path_is_a_usage_error_before_the_run(
    pytester: pytest.Pytester, suite_dir: Path
) -> None:
    (pytester.path / "blocker").write_text("a file, not a folder")
    result = pytester.runpytest_subprocess("--model", "reference", "--ureason-json=blocker/r.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--ureason-json *blocker/r.json cannot be written*"])
    assert "passed" not in result.stdout.str()  # nothing ran
    pytester.mkdir("adir")
    folder = pytester.runpytest_subprocess("--model", "reference", "--ureason-json=adir")
    assert folder.ret == pytest.ExitCode.USAGE_ERROR
    folder.stderr.fnmatch_lines(["*--ureason-json *adir cannot be written*is a folder*"])


def test_json_write_failure_after_the_run_fails_it(pytester: pytest.Pytester) -> None:
    """The folder is fine before the run; a test replaces it with a file during the run.
    Every item passes, so only the lost JSON makes the exit status non-zero."""
    pytester.makeini("[pytest]\nureason_store = .store\n")
    (pytester.mkdir("suites") / "one.yaml").write_text(_many_suite(1))
    pytester.makepyfile(
        test_sabotage="""
        import pathlib, shutil

        def test_replace_out_folder_with_a_file():
            shutil.rmtree("out")
            pathlib.Path("out").write_text("not a folder any more")
        """
    )
    result = pytester.runpytest_subprocess(
        "--model", "reference", "--ureason-json=out/r.json",
        "suites", "test_sabotage.py",
    )  # fmt: skip
    result.stdout.fnmatch_lines(["ureason: cannot write --ureason-json *out/r.json: *"])
    result.stdout.fnmatch_lines(["*4 passed*"])  # 3 conditions + the sabotage
    assert result.ret == pytest.ExitCode.TESTS_FAILED


WRITER = """
import json, sys
from pathlib import Path

from PIL import Image

from pytest_ureason.run.store import Store, StoredEvidence
from pytest_ureason.models import fingerprint

root = Path(sys.argv[1])
store = Store(root / "store")
store.put_image("ab" * 32, Image.new("RGB", (4, 4)), {"m": 1})
store.put_text("cd" * 32, "text", {"m": 1})
StoredEvidence(store, "ef" * 32).save("v1", {"boxes": []})
weights = root / "w.bin"
weights.write_bytes(b"x")
fingerprint.file_digest(weights)
"""


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_honour_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    """Store records and the digest cache get the mode a plain open() would give."""
    digests = tmp_path / "digests"
    env = {**os.environ, "PYTHONPATH": str(REPO), "UREASON_DIGEST_CACHE": str(digests)}
    subprocess.run(
        [sys.executable, "-c", WRITER, str(tmp_path)],
        env=env, check=True, timeout=120, preexec_fn=lambda: os.umask(umask),
    )  # fmt: skip
    written = [p for p in (tmp_path / "store").rglob("*") if p.is_file()]
    written += [p for p in digests.rglob("*") if p.is_file()]
    assert len(written) >= 5, written
    assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in written} == {oct(mode)}


def test_export_output_honours_the_umask(tmp_path: Path) -> None:
    """``ureason export`` writes through the same atomic writer."""
    code = (
        "import os, sys; from pathlib import Path;"
        "from pytest_ureason.files import atomic_write;"
        "atomic_write(Path(sys.argv[1]) / 'x' / 'dataset.json', b'{}')"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        env=env, check=True, timeout=60, preexec_fn=lambda: os.umask(0o002),
    )  # fmt: skip
    assert stat.S_IMODE((tmp_path / "x" / "dataset.json").stat().st_mode) == 0o664


UNDERSTAND_SUITE = """\
suite: demo/understand
task: counting
instances:
  - id: asked
    prompt: Draw 3 red apples.
    refined: A picture of 3 red apples.
    question: How many apples are there?
    answer: "3"
    expect:
      - count: {object: apple, op: "==", value: 3}
  - id: plain
    prompt: Draw 2 blue cups.
    refined: A picture of 2 blue cups.
    expect:
      - count: {object: cup, op: "==", value: 2}
"""


def test_report_expects_understand_items_only_where_a_question_exists(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\nureason_store = .store\n")
    (pytester.mkdir("suites") / "u.yaml").write_text(UNDERSTAND_SUITE)
    run = pytester.runpytest_subprocess(
        "--model", "reference", "--condition", "direct", "--condition", "understand",
        "--junitxml=run.xml",
    )  # fmt: skip
    xml = (pytester.path / "run.xml").read_text()
    assert xml.count("<testcase ") == 3, run.stdout.str()  # 2 direct + 1 understand
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for extra in ([], ["--suites", "suites"]):
        report = subprocess.run(
            [sys.executable, "-m", "pytest_ureason.cli.main", "report", "run.xml", *extra],
            cwd=pytester.path, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert "3 suite items" in report.stdout, report.stdout + report.stderr
        assert "missing" not in report.stdout, report.stdout
