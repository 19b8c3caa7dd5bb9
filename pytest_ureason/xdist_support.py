"""pytest-xdist integration: keep each generation group on one worker.

With ``-n N`` (xdist's default ``--dist load``), the plugin schedules *groups* instead of single
items: a group is up to ``--batch-size`` consecutive instances of one suite file with all their
conditions and seeds (:func:`pytest_ureason.batching.assign_groups`). A worker receives whole
groups, so it reasons once per instance and generates in full batches. Choose another
``--dist`` mode (``loadfile``, ``worksteal``, ...) explicitly to opt out. Every worker reports
its generation counters back to the controller for the summary.
"""

from __future__ import annotations

from typing import Any

import pytest

from pytest_ureason.batching import assign_groups


def make_scheduler_class() -> type:
    """Build the scheduler class (xdist is imported only when it is in use)."""
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):  # type: ignore[misc]
        """LoadScope scheduling whose scopes are the plugin's generation groups."""

        def __init__(self, config: pytest.Config, log: Any = None) -> None:
            super().__init__(config, log)
            self._groups: dict[str, str] | None = None
            from pytest_ureason.items import SETTINGS_KEY

            self._batch_size = config.stash[SETTINGS_KEY].batch_size

        def _split_scope(self, nodeid: str) -> str:
            if self._groups is None:
                self._groups = assign_groups(self.collection or [], self._batch_size)
            return self._groups.get(nodeid, nodeid)

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
        return make_scheduler_class()(config, log)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """Gather a finished worker's generation counters."""
        counters = getattr(node, "workeroutput", {}).get("ureason_throughput")
        if counters and self.collector is not None:
            self.collector.add_throughput(counters)
