"""Releasing the memory of a failed model call, so a halved retry can fit.

When a batch runs out of memory, everything the failed attempt allocated is still reachable
from the exception: its traceback holds the frames of every call that was running, and their
locals hold the partial tensors (activations, KV caches, logits). A retry made while that
exception is alive, for instance from inside the ``except`` block, finds the memory still
taken and fails again. So the batching loop, before it retries:

1. drops the exception (and the traceback and frames it holds; :func:`drop_traceback` also
   empties the frames of an error that is kept as an item's result),
2. collects garbage (frames and exceptions often sit in reference cycles),
3. returns PyTorch's cached blocks to the driver with ``torch.cuda.empty_cache()``, when CUDA
   was initialised in this process (it never initialises CUDA itself).

Adapters call :func:`oom_cleanup` on their way out of an out-of-memory error to drop caches
they keep between calls (e.g. static KV caches sized for the batch that failed).
"""

from __future__ import annotations

import gc
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is an out-of-memory error (PyTorch's, CUDA's, or Python's own)."""
    if isinstance(exc, MemoryError):
        return True
    torch = sys.modules.get("torch")
    oom = getattr(torch, "OutOfMemoryError", None) if torch is not None else None
    if oom is not None and isinstance(exc, oom):
        return True
    # Other accelerators' libraries name theirs the same way; match on the name, not the text.
    return any(cls.__name__ == "OutOfMemoryError" for cls in type(exc).__mro__)


def chained(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception chained to it (causes and contexts), each once."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        err = todo.pop()
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        yield err
        todo.extend((err.__cause__, err.__context__))


def out_of_memory_in(exc: BaseException) -> BaseException | None:
    """``exc`` or the out-of-memory error chained to it (as compilers wrap theirs), if any."""
    return next((err for err in chained(exc) if is_out_of_memory(err)), None)


def drop_traceback(exc: BaseException) -> None:
    """Empty the frames held by ``exc`` and the exceptions chained to it, and cut its traceback.

    The error's type and message survive (that is all an item reports); the tensors that the
    frames' locals referenced are freed.
    """
    for err in chained(exc):
        if err.__traceback__ is not None:
            traceback.clear_frames(err.__traceback__)
            err.__traceback__ = None


def release_memory() -> bool:
    """Collect garbage and give PyTorch's cached CUDA blocks back, if CUDA is initialised.

    Returns:
        Whether the CUDA cache was emptied (False on a CPU-only run; CUDA is never initialised
        here).
    """
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_initialized():
        return False
    torch.cuda.empty_cache()
    return True


@contextmanager
def oom_cleanup(cleanup: Callable[[], None] | None = None) -> Iterator[None]:
    """On an out-of-memory error inside the block: empty the frames it unwound, call
    ``cleanup`` (drop the adapter's own caches), and re-raise."""
    try:
        yield
    except BaseException as exc:
        if is_out_of_memory(exc) and exc.__traceback__ is not None:
            # The frames below this one have finished: clearing them frees their tensors now.
            traceback.clear_frames(exc.__traceback__)
            if cleanup is not None:
                cleanup()
        raise
