"""Batched model calls, and the grouping of items into batches.

:func:`run_batched` calls a batched function over many inputs in batches of a configured size. When
a batch raises (out of memory, or one bad input), it is split in halves and retried, down to single
inputs; a call that raises :class:`~pytest_ureason.models.base.ItemErrors` (its inputs failed one by
one, e.g. an API answering errors per request) is not split: each input gets its own output or
exception, and nothing is resent. An input that fails alone gets its exception as its result, and
every other input still gets its output. Before any retry the failed attempt's memory is released:
the exception and its traceback (whose frames hold the partial tensors) are dropped outside the
``except`` block, and after an out-of-memory error garbage is collected and PyTorch's CUDA cache
emptied (see :mod:`pytest_ureason.models.memory`).

:func:`assign_groups` decides which items are generated together: the items of up to
``batch_size`` consecutive instances of one suite file (all their conditions and seeds, so the
reasoning an instance needs is made once and shared). It works on node ids alone, so the
xdist controller and every worker compute the same groups
(see :mod:`pytest_ureason.run.xdist`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from pytest_ureason.models.base import ItemErrors
from pytest_ureason.models.memory import drop_traceback, is_out_of_memory, release_memory

In = TypeVar("In")
Out = TypeVar("Out")


@dataclass
class BatchStats:
    """Counters of one :func:`run_batched` call."""

    calls: int = 0
    splits: int = 0
    failed: int = 0
    out_of_memory: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class Failed(Generic[In]):
    """The result slot of an input that failed even alone."""

    error: BaseException


def run_batched(
    fn: Callable[[list[In]], list[Out]],
    inputs: Sequence[In],
    batch_size: int,
    *,
    on_batch: Callable[[int], None] | None = None,
    stats: BatchStats | None = None,
    catch: tuple[type[BaseException], ...] = (Exception,),
) -> list[Out | Failed[In]]:
    """Call ``fn`` on ``inputs`` in batches, isolating failures by halving.

    Args:
        fn: batched function; must return one output per input.
        inputs: everything to process, in order.
        batch_size: largest batch passed to ``fn`` (>= 1).
        on_batch: called with the number of inputs finished after each successful call.
        stats: counters to fill in.
        catch: exception types treated as a failure of the batch (default: ``Exception``);
            anything else propagates.

    Returns:
        One entry per input: its output, or :class:`Failed` with the exception.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    stats = stats if stats is not None else BatchStats()
    results: list[Out | Failed[In]] = []
    start = time.perf_counter()

    def attempt(chunk: list[In]) -> None:
        stats.calls += 1
        error: BaseException | None = None
        try:
            out = fn(chunk)
            if len(out) != len(chunk):
                raise RuntimeError(f"model returned {len(out)} outputs for {len(chunk)} inputs")
        except catch as exc:
            error = exc
        if error is None:
            results.extend(out)
            if on_batch is not None:
                on_batch(len(chunk))
            return
        if isinstance(error, ItemErrors) and len(error.results) == len(chunk):
            # The inputs failed one by one: keep each one's outcome, resend nothing.
            done = 0
            for one in error.results:
                if isinstance(one, BaseException):
                    drop_traceback(one)
                    stats.failed += 1
                    results.append(Failed(one))
                else:
                    done += 1
                    results.append(one)
            del error
            if on_batch is not None and done:
                on_batch(done)
            return
        # Out of the except block: the failed attempt's frames and partial tensors are
        # reachable only through ``error`` now; drop them before anything runs again.
        oom = is_out_of_memory(error)
        drop_traceback(error)
        if len(chunk) == 1:
            stats.failed += 1
            results.append(Failed(error))
        else:
            stats.splits += 1
        del error
        if oom:
            stats.out_of_memory += 1
            release_memory()
        if len(chunk) > 1:
            half = len(chunk) // 2
            attempt(chunk[:half])
            attempt(chunk[half:])

    for i in range(0, len(inputs), batch_size):
        attempt(list(inputs[i : i + batch_size]))
    stats.seconds += time.perf_counter() - start
    return results


def instance_of(nodeid: str) -> tuple[str, str] | None:
    """(suite file, instance name) of a suite item's node id, None for other tests.

    A suite item's node id is ``<file>::<task>/<id>[<condition>-s<seed>]``.
    """
    file, sep, name = nodeid.partition("::")
    if not sep or not name.endswith("]") or "[" not in name or "/" not in name:
        return None
    return file, name[: name.index("[")]


def assign_groups(nodeids: Sequence[str], batch_size: int) -> dict[str, str]:
    """Group suite items: up to ``batch_size`` consecutive instances of one file per group.

    Args:
        nodeids: the collected node ids, in collection order.
        batch_size: instances per group.

    Returns:
        node id -> group name; a non-suite test is its own group.
    """
    groups: dict[str, str] = {}
    seen: dict[str, dict[str, int]] = {}
    for nodeid in nodeids:
        key = instance_of(nodeid)
        if key is None:
            groups[nodeid] = nodeid
            continue
        file, instance = key
        order = seen.setdefault(file, {})
        index = order.setdefault(instance, len(order))
        groups[nodeid] = f"{file}::group-{index // max(batch_size, 1)}"
    return groups
