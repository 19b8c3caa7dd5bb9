"""One GPU per pytest-xdist worker: the controller's GPU pool and the worker's pinning.

The pool holds the GPUs named by ``--gpus 0,1,2,3`` or, without it, by the controller's
``CUDA_VISIBLE_DEVICES``. When xdist starts a worker, :meth:`GpuPool.acquire` hands it the
least-used GPU (a free one while there are as many GPUs as workers) through
``node.workerinput["ureason_gpu"]``; when a worker goes down, crashed or finished,
:meth:`GpuPool.release` takes it back. A crashed worker's replacement comes up under a *new*
id (``gw2`` for a crashed ``gw0``), so nothing maps ids to GPUs by arithmetic: the replacement
simply gets the GPU that is free. ``-n auto`` starts one worker per GPU of the pool.

The worker sets ``CUDA_VISIBLE_DEVICES`` to its GPU in ``pytest_configure``, before any model
is loaded, and refuses to run if CUDA was initialised earlier (a conftest that touched the
GPU), since the pin would then be silently ignored.

A worker whose execnet spec already sets the variable, as in
``--tx 2*popen//env:CUDA_VISIBLE_DEVICES=0 --tx popen//env:CUDA_VISIBLE_DEVICES=1``, keeps it:
that is the manual fallback for setups where the pool cannot be used.
"""

from __future__ import annotations

import os
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


def pool_from(option: str | None, environ: dict[str, str] | None = None) -> GpuPool:
    """The pool from ``--gpus`` text, else from ``CUDA_VISIBLE_DEVICES``.

    Raises:
        pytest.UsageError: malformed ids, naming the source.
    """
    env = os.environ if environ is None else environ
    source, raw = ("--gpus", option) if option is not None else (ENV, env.get(ENV))
    try:
        return GpuPool(parse_gpus(raw))
    except ValueError as exc:
        raise pytest.UsageError(f"{source}: {exc}") from None


def spec_pins_gpu(node: Any) -> bool:
    """Whether the worker's execnet spec sets CUDA_VISIBLE_DEVICES itself (``--tx ...//env:``)."""
    spec = getattr(getattr(node, "gateway", None), "spec", None)
    return ENV in (getattr(spec, "env", None) or {})


class GpuHooks:
    """Controller hooks that hand out and take back GPUs (registered when the pool is not
    empty and xdist is active)."""

    def __init__(self, pool: GpuPool):
        self.pool = pool

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """Give the starting worker a GPU through its workerinput."""
        if spec_pins_gpu(node):
            return
        node.workerinput[WORKERINPUT_KEY] = self.pool.acquire(node.gateway.id)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """Take the GPU back from a finished or crashed worker."""
        self.pool.release(node.gateway.id)


def pin_worker(config: pytest.Config) -> str | None:
    """On an xdist worker with a GPU in its workerinput: set CUDA_VISIBLE_DEVICES to it.

    Raises:
        pytest.UsageError: CUDA was initialised in this process before the pin.
    """
    gpu = getattr(config, "workerinput", {}).get(WORKERINPUT_KEY)
    if gpu is None:
        return None
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        raise pytest.UsageError(
            f"pytest-ureason: CUDA was initialised before this worker could be pinned to GPU "
            f"{gpu}; do not touch the GPU in conftest.py at import time, or pin workers by hand "
            f"with --tx popen//env:{ENV}=<id>"
        )
    os.environ[ENV] = gpu
    return str(gpu)
