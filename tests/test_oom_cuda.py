"""Out-of-memory release on a real GPU (skipped without CUDA).

A batched call fills most of the free GPU memory item by item until CUDA itself raises
``torch.OutOfMemoryError``. The halved retry only fits if the failed attempt's partial tensors
were freed first; with ``empty_cache`` the process also hands its cached blocks back to the
driver before retrying.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_real_cuda_oom_halves_and_the_retry_fits() -> None:
    from pytest_ureason.models.batching import BatchStats, run_batched

    torch.cuda.init()
    torch.cuda.empty_cache()
    free, _ = torch.cuda.mem_get_info()
    per_item = int(free * 0.3) // 4  # float32 elements: 30% of the free memory per item
    reserved_at_call: list[int] = []

    def fn(batch: list[int]) -> list[int]:
        reserved_at_call.append(torch.cuda.memory_reserved())
        partial = []
        for _ in batch:  # the 4th item of a batch of 4 does not fit: 4 x 30% > 100%
            partial.append(torch.ones(per_item, device="cuda"))
        return [int(t[0].item()) for t in partial]

    stats = BatchStats()
    results = run_batched(fn, [0, 1, 2, 3], 4, stats=stats)
    assert results == [1, 1, 1, 1]  # 4 -> 2 + 2, both halves fit once the failed 90% is freed
    assert stats.out_of_memory == 1 and stats.splits == 1 and stats.failed == 0
    # The retry started with the failed attempt's blocks returned to the driver.
    assert reserved_at_call[1] < per_item * 4
