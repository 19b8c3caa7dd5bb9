"""One GPU per pytest-xdist worker: the controller's GPU pool and the worker's pinning.

The pool holds the GPUs named by ``--gpus 0,1,2,3``; without it, those of the controller's
``CUDA_VISIBLE_DEVICES`` (set but empty: no GPUs); without either, the GPUs that
``nvidia-smi -L`` lists (MIG instances by their ``MIG-`` UUIDs). No ``nvidia-smi`` on the
``PATH`` (or one that fails) means an empty pool: the workers run unpinned, as on a CPU
machine. The controller never initialises CUDA to find its GPUs.

The pin is made where nothing can come before it: in ``pytest_xdist_setupnodes`` the
controller writes ``CUDA_VISIBLE_DEVICES=<gpu>`` into each worker's execnet spec
(``spec.env``), which execnet sets in the worker process's ``os.environ`` before the worker
runs pytest, so before any conftest or plugin can import torch. ``pytest_configure_node``
records the GPU in ``node.workerinput["ureason_gpu"]`` (the record, and a second pin for a
worker started some other way); when a worker goes down, crashed or finished,
``pytest_testnodedown`` takes its GPU back. A crashed worker's replacement reuses its spec and
comes up under a *new* id (``gw2`` for a crashed ``gw0``): before it starts, the spec is given
the least-held GPU of the pool (the one the crash freed), so nothing maps ids to GPUs by
arithmetic. ``-n auto`` starts one worker per GPU of the pool.

A worker still refuses to run if its GPU was not pinned before CUDA was initialised in it
(the pin would be silently ignored).

A worker whose execnet spec already sets the variable, as in
``--tx 2*popen//env:CUDA_VISIBLE_DEVICES=0 --tx popen//env:CUDA_VISIBLE_DEVICES=1``, keeps it:
that is the manual fallback for setups where the pool cannot be used.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from typing import Any

import pytest

WORKERINPUT_KEY = "ureason_gpu"
ENV = "CUDA_VISIBLE_DEVICES"


def parse_gpus(raw: str | None) -> tuple[str, ...]:
    """GPU ids from ``--gpus`` or ``CUDA_VISIBLE_DEVICES`` text: ``"0,1,3"`` -> ("0", "1", "3").

    Ids may be indices or UUIDs (``GPU-...``, ``MIG-...``); empty text gives no GPUs.

    Raises:
        ValueError: a repeated or malformed id.
    """
    if raw is None:
        return ()
    ids = tuple(part.strip() for part in raw.split(",") if part.strip())
    for gpu in ids:
        if not (gpu.isdigit() or gpu.startswith(("GPU-", "MIG-"))):
            raise ValueError(f"GPU id {gpu!r} is neither an index nor a GPU-/MIG- UUID")
    if len(set(ids)) != len(ids):
        raise ValueError(f"GPU ids repeat: {raw!r}")
    return ids


class GpuPool:
    """GPUs handed to workers by node id; never more holders on a GPU than needed."""

    def __init__(self, gpus: tuple[str, ...]):
        self.gpus = gpus
        self.holders: dict[str, str] = {}  # worker id -> GPU

    def __len__(self) -> int:
        return len(self.gpus)

    def load(self, gpu: str) -> int:
        """How many live workers hold ``gpu``."""
        return sum(1 for held in self.holders.values() if held == gpu)

    def acquire(self, worker: str) -> str:
        """The GPU for a new worker: the least-held one, first in pool order on ties."""
        if not self.gpus:
            raise LookupError("the GPU pool is empty")
        if worker in self.holders:
            return self.holders[worker]
        gpu = min(self.gpus, key=lambda g: (self.load(g), self.gpus.index(g)))
        self.holders[worker] = gpu
        return gpu

    def release(self, worker: str) -> str | None:
        """Take back a worker's GPU (None if it held none)."""
        return self.holders.pop(worker, None)

    def pick(self) -> str:
        """The GPU :meth:`acquire` would hand out next, without holding it."""
        if not self.gpus:
            raise LookupError("the GPU pool is empty")
        return min(self.gpus, key=lambda g: (self.load(g), self.gpus.index(g)))

    def hold(self, worker: str, gpu: str) -> None:
        """Record that ``worker`` runs on ``gpu`` (pinned before it started)."""
        self.holders[worker] = gpu


_SMI_GPU = re.compile(r"^GPU (\d+):.*?(?:\(UUID: (GPU-[^)\s]+)\))?\s*$")
_SMI_MIG = re.compile(r"^\s+MIG .*\(UUID: (MIG-[^)\s]+)\)\s*$")


def parse_smi_list(text: str) -> tuple[str, ...]:
    """GPU ids from ``nvidia-smi -L`` output: indices, or the MIG UUIDs of a GPU split by MIG."""
    ids: list[str] = []
    current: str | None = None
    migs: list[str] = []

    def flush() -> None:
        if current is not None:
            ids.extend(migs or [current])

    for line in text.splitlines():
        gpu, mig = _SMI_GPU.match(line), _SMI_MIG.match(line)
        if gpu:
            flush()
            current, migs = gpu.group(1), []
        elif mig and current is not None:
            migs.append(mig.group(1))
    flush()
    return tuple(ids)


def smi_gpus(executable: str = "nvidia-smi", timeout: float = 20.0) -> tuple[str, ...]:
    """The GPUs that ``nvidia-smi -L`` lists; () without nvidia-smi or when it fails.

    Asking the driver's tool keeps CUDA uninitialised in the controller.
    """
    path = shutil.which(executable)
    if path is None:
        return ()
    try:
        done = subprocess.run(
            [path, "-L"], capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ()
    return parse_smi_list(done.stdout) if done.returncode == 0 else ()


def pool_from(option: str | None, environ: dict[str, str] | None = None) -> GpuPool:
    """The pool from ``--gpus`` text, else ``CUDA_VISIBLE_DEVICES``, else ``nvidia-smi -L``.

    Raises:
        pytest.UsageError: malformed ids, naming the source.
    """
    env = os.environ if environ is None else environ
    if option is None and ENV not in env:
        return GpuPool(smi_gpus())
    source, raw = ("--gpus", option) if option is not None else (ENV, env.get(ENV))
    try:
        return GpuPool(parse_gpus(raw))
    except ValueError as exc:
        raise pytest.UsageError(f"{source}: {exc}") from None


def spec_pins_gpu(node: Any) -> bool:
    """Whether the worker's execnet spec sets CUDA_VISIBLE_DEVICES itself (``--tx ...//env:``)."""
    spec = getattr(getattr(node, "gateway", None), "spec", None)
    return ENV in (getattr(spec, "env", None) or {})


POOL_KEY = pytest.StashKey[GpuPool]()


def controller_pool(config: pytest.Config, option: str | None) -> GpuPool:
    """The controller's pool, made once per run (``nvidia-smi`` runs at most once)."""
    pool = config.stash.get(POOL_KEY, None)
    if pool is None:
        pool = config.stash[POOL_KEY] = pool_from(option)
    return pool


class GpuHooks:
    """Controller hooks that pin workers to GPUs and take them back (registered when the pool
    is not empty and xdist is active)."""

    def __init__(self, pool: GpuPool):
        self.pool = pool
        self.pinned: dict[int, Any] = {}  # id(spec) -> spec, for the specs this pool pinned

    def _ours(self, spec: Any) -> bool:
        return spec is not None and self.pinned.get(id(spec)) is spec

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_setupnodes(self, config: pytest.Config, specs: Any) -> None:
        """Before any worker starts: write each worker's GPU into its spec's environment."""
        for spec in specs:
            if ENV in (spec.env or {}) and not self._ours(spec):
                continue  # pinned by hand: --tx popen//env:CUDA_VISIBLE_DEVICES=k
            spec.env[ENV] = self.pool.acquire(str(spec.id))
            self.pinned[id(spec)] = spec

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """Record the starting worker's GPU in its workerinput (and in the pool)."""
        spec: Any = getattr(node.gateway, "spec", None)
        worker = node.gateway.id
        if self._ours(spec):
            gpu = spec.env[ENV]  # the pin this process started with
            self.pool.hold(worker, gpu)
        elif spec_pins_gpu(node):
            return
        else:  # a worker whose spec we never saw: pinned by pin_worker in its pytest_configure
            gpu = self.pool.acquire(worker)
        node.workerinput[WORKERINPUT_KEY] = gpu

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """Take the GPU back; if xdist replaces a crashed worker, its spec (reused for the
        replacement) now names the least-held GPU, i.e. the one just freed."""
        self.pool.release(node.gateway.id)
        spec: Any = getattr(node.gateway, "spec", None)
        if self._ours(spec):
            spec.env[ENV] = self.pool.pick()


def pin_worker(config: pytest.Config) -> str | None:
    """On an xdist worker with a GPU in its workerinput: check (or make) the pin.

    Normally the controller pinned the worker through its spec's environment before the
    process ran anything; this sets the variable only for a worker started another way.

    Raises:
        pytest.UsageError: CUDA was initialised in this process before the pin.
    """
    gpu = getattr(config, "workerinput", {}).get(WORKERINPUT_KEY)
    if gpu is None:
        return None
    if os.environ.get(ENV) == gpu:
        return str(gpu)
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        raise pytest.UsageError(
            f"pytest-ureason: CUDA was initialised before this worker could be pinned to GPU "
            f"{gpu}; do not touch the GPU in conftest.py at import time, or pin workers by hand "
            f"with --tx popen//env:{ENV}=<id>"
        )
    os.environ[ENV] = gpu
    return str(gpu)
