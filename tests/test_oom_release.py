"""Out-of-memory: the batch halves, and the failed attempt's memory is released before the retry.

A real tiny Janus (and a tiny diffusion pipeline) raise PyTorch's real ``OutOfMemoryError`` from
inside their forward pass when a batch is too large, as CUDA would. The hook keeps a weak
reference to the activation it was handed; at every later forward it records whether that
tensor is still alive. A retry made while the failed attempt's traceback (whose frames hold
the partial tensors) is alive would find it alive.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

import diffusers  # noqa: F401  (C extensions load once, before any pytester run)
import pytest
import torch

from pytest_ureason.collect.schema import Case, Instance
from pytest_ureason.models.base import load_model
from pytest_ureason.models.batching import BatchStats, run_batched
from pytest_ureason.models.memory import drop_traceback, is_out_of_memory, release_memory
from pytest_ureason.models.testing import build_diffusion_pipeline, build_janus_checkpoint
from pytest_ureason.run.harness import Harness
from pytest_ureason.run.store import Store


class OomProbe:
    """A forward pre-hook: OOM above ``limit`` rows; records whether failed activations live."""

    def __init__(self, limit: int):
        self.limit = limit
        self.failed: list[weakref.ref[torch.Tensor]] = []
        self.rows: list[int] = []
        self.alive_at_retry: list[bool] = []

    def __call__(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        tensor = next(
            t for t in (*args, *kwargs.values()) if isinstance(t, torch.Tensor) and t.dim() >= 2
        )
        if self.failed:
            self.alive_at_retry.append(any(ref() is not None for ref in self.failed))
        self.rows.append(tensor.shape[0])
        if tensor.shape[0] > self.limit:
            self.failed.append(weakref.ref(tensor))
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")


def _cases(n: int, condition: str = "direct") -> list[Case]:
    return [
        Case(Instance(id=f"i{k}", task="t", prompt=f"draw {k} cats", expect=()), condition, 0)
        for k in range(n)
    ]


@pytest.fixture(scope="module")
def janus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_janus_checkpoint(tmp_path_factory.mktemp("janus") / "tiny-janus")


@pytest.mark.parametrize("decode", ["plain", "fast"])
def test_janus_generate_oom_releases_the_failed_batch_before_retrying(
    janus_dir: Path, tmp_path: Path, decode: str
) -> None:
    model: Any = load_model("janus-pro", str(janus_dir), {"decode": decode})
    probe = OomProbe(limit=4)  # 4 rows = 2 images with their unconditional CFG copies
    handle = model.model.model.language_model.layers[0].register_forward_pre_hook(
        probe, with_kwargs=True
    )
    try:
        harness = Harness(model, Store(tmp_path), batch_size=4)
        cases = _cases(4)
        harness.prepare(cases)
    finally:
        handle.remove()
    assert all(harness.outcomes[c].image_path is not None for c in cases)
    assert probe.rows[0] == 8 and probe.failed  # the batch of 4 images failed once...
    # ... and at every forward of the halved retries, the failed attempt's tensors were gone.
    assert probe.alive_at_retry and not any(probe.alive_at_retry)
    assert harness.throughput.stats.out_of_memory == 1 and harness.throughput.stats.splits == 1
    if decode == "fast":
        # The KV buffer sized for the failed batch was dropped, and the budget halved: the
        # decoder keeps chunks of at most 2 images for the rest of the run.
        assert model.decoder.chunks_run[0] == 4 and max(model.decoder.chunks_run[1:]) <= 2
        assert model.decoder.budget is not None and model.decoder._flat.numel() <= (
            model.decoder.budget // model.decoder._flat.element_size()
        )


def test_janus_reason_oom_halves_and_releases(janus_dir: Path, tmp_path: Path) -> None:
    model: Any = load_model("janus-pro", str(janus_dir), {"reason_tokens": "3"})
    probe = OomProbe(limit=2)
    handle = model.model.model.language_model.layers[0].register_forward_pre_hook(
        probe, with_kwargs=True
    )
    try:
        harness = Harness(model, Store(tmp_path), batch_size=4)
        harness._reasonings(_cases(4, "reasoning"))
    finally:
        handle.remove()
    assert probe.rows[0] == 4 and harness.throughput.reasonings == 4
    assert probe.alive_at_retry and not any(probe.alive_at_retry)


def test_composite_pipeline_oom_releases_the_failed_batch(tmp_path: Path) -> None:
    root = tmp_path / "parts"
    from pytest_ureason.models.testing import build_causal_lm_checkpoint

    llm, pipe = build_causal_lm_checkpoint(root / "llm"), build_diffusion_pipeline(root / "pipe")
    model: Any = load_model(
        "composite",
        None,
        {"llm": str(llm), "pipeline": str(pipe), "steps": "1", "height": "32", "width": "32"},
    )
    probe = OomProbe(limit=2)  # the UNet sees 2 rows per image (classifier-free guidance)
    handle = model.pipe.unet.register_forward_pre_hook(probe, with_kwargs=True)
    try:
        harness = Harness(model, Store(tmp_path / "store"), batch_size=2)
        cases = _cases(2)
        harness.prepare(cases)
    finally:
        handle.remove()
    assert all(harness.outcomes[c].image_path is not None for c in cases)
    assert probe.rows[0] == 4 and probe.alive_at_retry and not any(probe.alive_at_retry)
    assert harness.throughput.stats.out_of_memory == 1


def test_an_item_that_never_fits_fails_alone_without_its_frames() -> None:
    held: list[weakref.ref[torch.Tensor]] = []

    def fn(batch: list[int]) -> list[int]:
        partial = torch.zeros(len(batch), 8)
        held.append(weakref.ref(partial))
        if 3 in batch:
            raise torch.OutOfMemoryError("CUDA out of memory")
        return batch

    stats = BatchStats()
    results = run_batched(fn, list(range(4)), 4, stats=stats)
    failed = results[3]
    assert results[:3] == [0, 1, 2] and is_out_of_memory(failed.error)  # type: ignore[union-attr]
    # The kept error carries its message, not the frames (and tensors) of the failed call.
    assert failed.error.__traceback__ is None  # type: ignore[union-attr]
    assert all(ref() is None for ref in held)
    assert stats.out_of_memory == 3 and stats.failed == 1


def test_memory_helpers() -> None:
    assert is_out_of_memory(torch.OutOfMemoryError("x")) and is_out_of_memory(MemoryError())
    assert not is_out_of_memory(RuntimeError("CUDA error: out of memory? no, a device assert"))
    try:
        try:
            raise ValueError("inner")
        except ValueError as inner:
            raise RuntimeError("outer") from inner
    except RuntimeError as exc:
        err = exc
    drop_traceback(err)
    assert err.__traceback__ is None and err.__cause__ is not None
    assert err.__cause__.__traceback__ is None and str(err) == "outer"
    # On this CPU-only run CUDA is never initialised, so there is no cache to empty.
    assert release_memory() is torch.cuda.is_initialized()
