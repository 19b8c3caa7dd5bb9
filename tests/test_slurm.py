"""The Slurm example under a real Slurm: a one-node cluster (munged, slurmctld, slurmd) started
in a temporary folder runs a two-task array of a shipped suite on the reference model plus the
dependent merge job; the merged result must equal a single process's.

Needs Debian's ``slurm-wlm`` and ``munge`` and root (``.ci/run`` installs them). Without them
the test skips and says why; with ``UREASON_REQUIRE_SLURM=1`` (CI) it fails instead.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "slurm"
#: One shipped suite file (168 items: 56 instances x 3 conditions) keeps the test short.
SUITE = REPO / "suites" / "ureason" / "arithmetic.yaml"
DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "scontrol", "sinfo", "scancel")
#: Bound of every wait: a stuck cluster fails the test, it never hangs it.
JOB_TIMEOUT = 600.0


def _unavailable(reason: str) -> None:
    if os.environ.get("UREASON_REQUIRE_SLURM") == "1":
        pytest.fail(f"UREASON_REQUIRE_SLURM=1 but {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Cluster:
    """A one-node Slurm cluster whose state, spool, sockets, logs and pid files all live under
    ``root``; its daemons are this process's children, stopped by pid."""

    def __init__(self, root: Path):
        self.root = root
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.conf = root / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}

    def log_tail(self, lines: int = 15) -> str:
        out = []
        for log in sorted(self.root.glob("*.log")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {log.name}\n" + "\n".join(text))
        return "\n".join(out)

    def _spawn(self, name: str, args: list[str]) -> None:
        log = (self.root / f"{name}.stderr.log").open("wb")
        self.procs[name] = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
        )
        log.close()

    def start(self) -> None:
        root = self.root
        for sub in ("munge", "state", "spool"):
            (root / sub).mkdir(mode=0o700)
        key = root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        sock = root / "munge" / "sock"
        self._spawn(
            "munged",
            [
                "munged", "--foreground", "--force", f"--key-file={key}", f"--socket={sock}",
                f"--pid-file={root / 'munge' / 'munged.pid'}",
                f"--log-file={root / 'munged.log'}", f"--seed-file={root / 'munge' / 'seed'}",
            ],
        )  # fmt: skip
        self._wait(lambda: sock.exists(), 30, "munged did not create its socket")
        host = subprocess.run(
            ["hostname", "-s"], capture_output=True, text=True, check=True
        ).stdout.strip()
        node = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True)
        # What slurmd sees of this machine (CPUs, memory), under the short host name.
        fields = next(ln for ln in node.stdout.splitlines() if ln.startswith("NodeName=")).split()
        node_line = " ".join([f"NodeName={host}", *fields[1:], "State=UNKNOWN"])
        self.conf.write_text(
            "\n".join(
                [
                    "ClusterName=ureasontest",
                    f"SlurmctldHost={host}",
                    f"SlurmctldPort={_free_port()}",
                    f"SlurmdPort={_free_port()}",
                    "AuthType=auth/munge",
                    "CredType=cred/munge",
                    f"AuthInfo=socket={sock}",
                    "SlurmUser=root",
                    "SlurmdUser=root",
                    f"StateSaveLocation={root / 'state'}",
                    f"SlurmdSpoolDir={root / 'spool'}",
                    f"SlurmctldPidFile={root / 'slurmctld.pid'}",
                    f"SlurmdPidFile={root / 'slurmd.pid'}",
                    f"SlurmctldLogFile={root / 'slurmctld.log'}",
                    f"SlurmdLogFile={root / 'slurmd.log'}",
                    "ProctrackType=proctrack/linuxproc",
                    "TaskPlugin=task/none",
                    "SelectType=select/cons_tres",
                    "SelectTypeParameters=CR_CPU",  # memory is not consumed: tasks run together
                    "AccountingStorageType=accounting_storage/none",
                    "JobAcctGatherType=jobacct_gather/none",
                    "JobCompType=jobcomp/none",
                    "MpiDefault=none",
                    "ReturnToService=2",
                    "MailProg=/bin/true",
                    "MinJobAge=600",  # finished jobs stay visible to scontrol
                    node_line,
                    "PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
                    "",
                ]
            )
        )
        self._spawn("slurmctld", ["slurmctld", "-D", "-c", "-f", str(self.conf)])
        self._spawn("slurmd", ["slurmd", "-D", "-f", str(self.conf)])
        self._wait(
            lambda: self.run("sinfo", "-h", "-o", "%T").stdout.strip() in ("idle", "mixed"),
            90,
            "the node did not become idle",
        )

    def _wait(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            if dead:
                raise RuntimeError(f"{', '.join(dead)} exited\n{self.log_tail()}")
            if ready():
                return
            time.sleep(0.3)
        raise RuntimeError(f"{what} within {timeout:.0f} s\n{self.log_tail()}")

    def run(
        self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """A Slurm client command against this cluster (``SLURM_CONF`` in ``env``)."""
        return subprocess.run(
            list(args), capture_output=True, text=True, env=env or self.env, cwd=cwd, timeout=60
        )

    def job_states(self, job: str) -> list[str]:
        """``JobState`` of a job (of each task of an array); [] once unknown."""
        out = self.run("scontrol", "-o", "show", "job", job).stdout
        return [
            field.split("=", 1)[1]
            for line in out.splitlines()
            for field in line.split()
            if field.startswith("JobState=")
        ]

    def stop(self) -> None:
        if "slurmctld" in self.procs and self.procs["slurmctld"].poll() is None:
            subprocess.run(
                ["scancel", "--full", "--user=root"],
                env=self.env, capture_output=True, timeout=30, check=False,
            )  # fmt: skip
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=20)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    missing = [d for d in DAEMONS if shutil.which(d) is None]
    if missing:
        _unavailable(f"Slurm is not installed ({', '.join(missing)} not on PATH; "
                     "apt-get install slurm-wlm munge)")  # fmt: skip
    if os.geteuid() != 0:
        _unavailable("starting a Slurm cluster (slurmd runs jobs as their user) needs root")
    root = tmp_path / "slurm"  # short: the munge socket path must stay under 108 bytes
    root.mkdir()
    found = Cluster(root)
    try:
        try:
            found.start()
        except (RuntimeError, subprocess.CalledProcessError, OSError) as exc:
            _unavailable(f"the Slurm daemons could not start: {exc}")
        yield found
    finally:
        found.stop()


def _wait_job(cluster: Cluster, job: str, logs: Path) -> str:
    """The final state of ``job``, waiting at most ``JOB_TIMEOUT``."""
    deadline = time.monotonic() + JOB_TIMEOUT
    while time.monotonic() < deadline:
        states = cluster.job_states(job)
        detail = cluster.run("scontrol", "-o", "show", "job", job).stdout
        if "DependencyNeverSatisfied" in detail:
            return "DependencyNeverSatisfied"
        if states and all(s not in ("PENDING", "RUNNING", "CONFIGURING", "COMPLETING")
                          for s in states):  # fmt: skip
            return ",".join(sorted(set(states)))
        time.sleep(1.0)
    outputs = "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in logs.glob("*.out"))
    pytest.fail(f"job {job} not done in {JOB_TIMEOUT:.0f} s\n{outputs}\n{cluster.log_tail()}")


def _report(env: dict[str, str], files: list[Path], out: Path) -> dict[str, object]:
    subprocess.run(
        [sys.executable, "-m", "pytest_ureason.cli.main", "report", *map(str, files), "--json",
         str(out)], env=env, cwd=REPO, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    data: dict[str, object] = json.loads(out.read_text())
    return data


def test_slurm_array_and_merge_equal_a_single_process(cluster: Cluster, tmp_path: Path) -> None:
    env = {
        **cluster.env,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p),
        "UREASON_PYTHON": sys.executable,
        "UREASON_MODEL": "reference",
        "UREASON_SUITES": str(SUITE),
        "UREASON_OUT": str(tmp_path / "runs"),
        "UREASON_STORE": str(tmp_path / "shared-store"),
    }
    for name in ("SLURM_ARRAY_TASK_ID", "RANK", "WORLD_SIZE", "JOB_COMPLETION_INDEX"):
        env.pop(name, None)
    logs = tmp_path / "logs"
    logs.mkdir()
    # The single-process run, and the baseline the merge job gates against.
    single = tmp_path / "single.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", str(SUITE), "--model", "reference", "--store",
         str(tmp_path / "single-store"), f"--junitxml={single}", "-p", "no:cacheprovider",
         "-q", "--tb=no"], env=env, cwd=REPO, capture_output=True, timeout=600, check=False,
    )  # fmt: skip
    assert single.exists()
    baseline = tmp_path / "baseline.json"
    subprocess.run(
        [sys.executable, "-m", "pytest_ureason.cli.main", "gate", str(single), "--regen",
         "--baseline", str(baseline)], env=env, cwd=REPO, check=True, capture_output=True,
        timeout=300,
    )  # fmt: skip
    # The two commands of examples/slurm/README.md; command-line flags override the script's
    # #SBATCH lines: no GPU here, so no --gres, and logs under tmp_path (%A job, %a task).
    array = cluster.run(
        "sbatch", "--parsable", "--array=1-2", "--gres=none", "--cpus-per-task=1",
        f"--output={logs}/array-%A_%a.out", str(EXAMPLE / "ureason-array.sbatch"),
        env=env, cwd=REPO,
    )  # fmt: skip
    assert array.returncode == 0, array.stderr
    jid = array.stdout.strip().split(";")[0]
    merge = cluster.run(
        "sbatch", "--parsable", f"--dependency=afterok:{jid}", f"--export=ALL,UREASON_RUN={jid},"
        f"UREASON_BASELINE={baseline}", f"--output={logs}/merge-%j.out",
        str(EXAMPLE / "ureason-merge.sbatch"), env=env, cwd=REPO,
    )  # fmt: skip
    assert merge.returncode == 0, merge.stderr
    mid = merge.stdout.strip().split(";")[0]
    state = _wait_job(cluster, mid, logs)
    outputs = {p.name: p.read_text() for p in sorted(logs.glob("*.out"))}
    assert state == "COMPLETED", (state, outputs)
    assert _wait_job(cluster, jid, logs) == "COMPLETED"
    # Each task took its shard from Slurm's variables and wrote its own files.
    for task in (1, 2):
        log = outputs[f"array-{jid}_{task}.out"]
        assert f"shard {task}/2 (--shard auto: Slurm array task {task} of 1-2)" in log
    run_dir = tmp_path / "runs" / jid
    shards = sorted(run_dir.glob("shard-*.xml"))
    assert [p.name for p in shards] == ["shard-1-of-2.xml", "shard-2-of-2.xml"]
    assert sorted(p.name for p in run_dir.glob("shard-*.json")) == [
        "shard-1-of-2.json", "shard-2-of-2.json"
    ]  # fmt: skip
    merge_log = outputs[f"merge-{mid}.out"]
    assert "GATE PASSED" in merge_log, merge_log
    # The merge job's report equals a single process's: items, pass rates, gaps.
    merged = json.loads((run_dir / "report.json").read_text())
    alone = _report(env, [single], tmp_path / "single.json")
    assert merged["problems"] == [] and merged["items"] == alone["items"] == 168
    assert merged["pass_rates"] == alone["pass_rates"]
    assert merged["gaps"] == alone["gaps"] and merged["gaps"]
    assert (run_dir / "report.html").stat().st_size > 0
