"""pytest-xdist integration: keep each generation group on one worker.

With ``-n N`` (xdist's default ``--dist load``), the plugin schedules *groups* instead of single
items: a group is up to ``--batch-size`` consecutive instances of one suite file with all their
conditions and seeds (:func:`pytest_ureason.models.batching.assign_groups`). A worker receives whole
groups, so it reasons once per instance and generates in full batches. Choose another
``--dist`` mode (``loadfile``, ``worksteal``, ...) explicitly to opt out. Every worker reports
its generation counters back to the controller for the summary.

A worker that dies (``kill -9``, a segfault, out of host memory) never hangs the run: the item
it was running is reported as crashed (by xdist), the rest of its groups go back to the head of
the queue, and xdist's replacement worker (or any worker still taking work) runs them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import pytest

from pytest_ureason.collect.items import SETTINGS_KEY
from pytest_ureason.models.batching import assign_groups


class GroupScheduling:
    """xdist's scheduling interface, handing out whole generation groups.

    Invariants: ``queue`` holds the groups (lists of collection indices, never empty) not yet
    sent to any worker; ``pending[node]`` holds the indices sent to a live worker and not yet
    reported complete, in the order sent. Every index is in exactly one of them until it is
    complete or reported as crashed, so the run ends exactly when both are empty.
    """

    def __init__(self, config: pytest.Config, log: Any = None) -> None:
        from xdist.remote import Producer
        from xdist.workermanage import parse_tx_spec_config

        self.config = config
        self.numnodes = len(parse_tx_spec_config(config))
        self.log = Producer("groupsched") if log is None else log.groupsched
        self._batch_size = config.stash[SETTINGS_KEY].batch_size
        self.collection: list[str] | None = None
        # Every worker whose collection was accepted (kept after it leaves, as xdist does, so
        # a replacement joins a completed collection).
        self.registered: dict[Any, list[str]] = {}
        self.pending: dict[Any, list[int]] = {}
        self.queue: deque[list[int]] = deque()

    @property
    def nodes(self) -> list[Any]:
        """The live workers."""
        return list(self.pending)

    @property
    def collection_is_completed(self) -> bool:
        """Whether the initial workers have all sent their collections."""
        return len(self.registered) >= self.numnodes

    @property
    def tests_finished(self) -> bool:
        """Nothing left to send, and each worker holds at most its last item (which it runs
        once told to shut down)."""
        if not self.collection_is_completed or self.queue:
            return False
        return all(len(p) < 2 for p in self.pending.values())

    @property
    def has_pending(self) -> bool:
        """Whether any item is queued or running."""
        return bool(self.queue) or any(self.pending.values())

    def add_node(self, node: Any) -> None:
        """A worker started (a first one, or a crashed one's replacement)."""
        assert node not in self.pending
        self.pending[node] = []

    def add_node_collection(self, node: Any, collection: Sequence[str]) -> None:
        """A worker's collection; a late worker's must equal the run's, or it gets no work."""
        assert node in self.pending
        if self.collection is not None and list(collection) != self.collection:
            from xdist.report import report_collection_diff

            first = next(iter(self.registered))
            self.log(
                report_collection_diff(
                    self.collection, list(collection), first.gateway.id, node.gateway.id
                )
            )
            return
        self.registered[node] = list(collection)

    def mark_test_complete(self, node: Any, item_index: int, duration: float = 0) -> None:
        """A worker finished an item: top it up."""
        pending = self.pending[node]
        if item_index in pending:
            pending.remove(item_index)
        self._top_up(node)

    def mark_test_pending(self, item: str) -> None:
        """Not used by this scheduler (xdist calls it for ``--dist worksteal`` only)."""
        raise NotImplementedError

    def remove_pending_tests_from_node(self, node: Any, indices: Sequence[int]) -> None:
        """Not used by this scheduler (no work stealing)."""
        raise NotImplementedError

    def remove_node(self, node: Any) -> str | None:
        """A worker left. If it crashed, return the item it was running (xdist reports it as
        failed; it is not run again) and put the rest of its items back at the head of the
        queue, for any worker that still takes work or for the replacement."""
        pending = self.pending.pop(node)
        if not pending:
            return None
        assert self.collection is not None
        crashed = pending.pop(0)
        if pending:
            self.queue.appendleft(pending)
        for other in self.nodes:
            self._top_up(other)
        return self.collection[crashed]

    def schedule(self) -> None:
        """Build the groups once all initial collections are in; later calls (a replacement
        worker's collection) top every worker up."""
        assert self.collection_is_completed
        if self.collection is None:
            collections = list(self.registered.values())
            if any(c != collections[0] for c in collections[1:]):
                self._report_different_collections()
                return
            self.collection = collections[0]
            groups = assign_groups(self.collection, self._batch_size)
            units: dict[str, list[int]] = {}
            for index, nodeid in enumerate(self.collection):
                units.setdefault(groups.get(nodeid, nodeid), []).append(index)
            ordered = list(units.values())
            if getattr(self.config.option, "loadscopereorder", True):
                ordered.sort(key=len, reverse=True)  # big groups first: a shorter tail
            self.queue.extend(ordered)
            for node in self.nodes:  # one group each first, then top up
                if self.queue and node in self.registered:
                    self._send(node, self.queue.popleft())
        for node in self.nodes:
            self._top_up(node)

    def _send(self, node: Any, unit: list[int]) -> None:
        self.pending[node].extend(unit)
        node.send_runtest_some(unit)

    def _top_up(self, node: Any) -> None:
        """Send a worker another group when it is nearly out of work; tell it to shut down once
        nothing is left to send (it then runs what it holds, and exits)."""
        if node.shutting_down or not self.collection_is_completed:
            return
        if node not in self.registered:  # its collection differed: it can run nothing of ours
            node.shutdown()
            return
        if not self.queue:
            node.shutdown()
            return
        if len(self.pending[node]) <= 2:
            self._send(node, self.queue.popleft())

    def _report_different_collections(self) -> None:
        from xdist.report import report_collection_diff

        (first, reference), *others = self.registered.items()
        for node, collection in others:
            msg = report_collection_diff(reference, collection, first.gateway.id, node.gateway.id)
            if msg:
                self.log(msg)
                report = pytest.CollectReport(node.gateway.id, "failed", msg, [])
                self.config.hook.pytest_collectreport(report=report)


def make_scheduler_class() -> type:
    """The scheduler class (kept for callers of the earlier factory)."""
    return GroupScheduling


class XdistHooks:
    """Hooks registered only when pytest-xdist is active and a model is set."""

    def __init__(self, collector: Any):
        self.collector = collector

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        """Group scheduling in place of xdist's default ``load``."""
        if config.getvalue("dist") != "load":
            return None
        return GroupScheduling(config, log)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """Gather a finished worker's generation counters."""
        counters = getattr(node, "workeroutput", {}).get("ureason_throughput")
        if counters and self.collector is not None:
            self.collector.add_throughput(counters)
