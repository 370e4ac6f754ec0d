"""xdist scheduling: each host's built-in checks on one worker, every other test as with ``--dist load``.

Imported only when pytest-xdist runs the suite. We subclass xdist's own scope scheduler rather than
rely on ``--dist loadgroup``: that works by rewriting node ids, which newer pytest versions no longer
allow, while the scope scheduler only reads them.

Hosts are dealt out round robin at the start (:func:`share`), and each worker, which computes the same
deal from the same collection, probes all of its hosts at once in the background, as a serial run
does: so ``-n`` never probes one host at a time. Users' tests are each their own unit, handed out as
workers run dry. A test that kills its worker is reported once and not run again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]


def host_scope(nodeid: str, suites: Mapping[str, bool]) -> str | None:
    """The host unit of a built-in item (its suite, and the host for an inventory); None for users' tests."""
    parts = nodeid.split("::")
    per_host = suites.get(parts[0])
    if per_host is None:
        return None
    return "::".join(parts[:2]) if per_host else parts[0]


def share(nodeids: Sequence[str], suites: Mapping[str, bool], worker: str, workers: int) -> list[str]:
    """The host units worker ``gwN`` gets at the start: every ``workers``-th, in collection order."""
    index = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else -1
    scopes = dict.fromkeys(s for nodeid in nodeids if (s := host_scope(nodeid, suites)) is not None)
    return [scope for i, scope in enumerate(scopes) if i % workers == index]


def own_items(nodeids: Sequence[str], suites: Mapping[str, bool], worker: str, workers: int) -> set[str]:
    """On a worker: the built-in items it is dealt at the start, so it can probe their hosts at once."""
    mine = set(share(nodeids, suites, worker, workers))
    return {nodeid for nodeid in nodeids if host_scope(nodeid, suites) in mine}


class HostScheduling(LoadScopeScheduling):  # type: ignore[misc]
    """A built-in check is scheduled with the rest of its host; any other test on its own, as with ``load``."""

    def __init__(self, config: Any, log: Any = None, *, suites: Iterable[tuple[str, bool]] = ()) -> None:
        super().__init__(config, log)
        self.suites = dict(suites)
        """Suite name -> whether its ids name the host next (an inventory) or not (one host: the suite is it)."""

    def _split_scope(self, nodeid: str) -> str:
        return host_scope(nodeid, self.suites) or nodeid

    def schedule(self) -> None:
        """The first time: deal the hosts out (see :func:`share`), queue everything else; later, as xdist's."""
        started: object = self.collection  # type: ignore[has-type]
        if started is not None or not self._check_nodes_have_same_collection():
            super().schedule()
            return
        collection: list[str] = list(next(iter(self.registered_collections.values())))
        self.collection = collection
        units: dict[str, dict[str, bool]] = {}
        for nodeid in collection:
            units.setdefault(self._split_scope(nodeid), {})[nodeid] = False
        index = {nodeid: i for i, nodeid in enumerate(collection)}  # all workers collected the same
        for node in self.nodes:
            dealt = share(collection, self.suites, node.gateway.id, len(self.nodes))
            for scope in dealt:
                self.assigned_work[node][scope] = units.pop(scope)
            if dealt:
                node.send_runtest_some([index[nodeid] for scope in dealt for nodeid in self.assigned_work[node][scope]])
        self.workqueue.update(units)
        for node in self.nodes:
            self._reschedule(node)

    def mark_test_complete(self, node: Any, item_index: int, duration: float = 0) -> None:
        """As xdist's, and a unit (a host) whose tests are all done leaves the worker's workload."""
        super().mark_test_complete(node, item_index, duration)
        workload = self.assigned_work[node]
        scope = self._split_scope(self.registered_collections[node][item_index])
        if scope in workload and all(workload[scope].values()):
            del workload[scope]

    def _pending_of(self, workload: dict[str, dict[str, bool]]) -> int:
        """A workload's pending tests, counted up to 3 from its newest units: xdist only compares the count with
        0 and 2, and asks after every report; counted over every host of a worker, 10,000 hosts took 76 s, not 10."""
        pending = 0
        for unit in reversed(workload.values()):
            pending += sum(not done for done in unit.values())
            if pending > 2:
                break
        return pending

    def remove_node(self, node: Any) -> str | None:
        """A worker went down: the test it was running counts as done (it crashed it), the rest go back."""
        workload = self.assigned_work.pop(node)
        pending = [(scope, nodeid) for scope, unit in workload.items() for nodeid, done in unit.items() if not done]
        if not pending:
            return None
        scope, crashed = pending[0]
        crashed = str(crashed)
        workload[scope][crashed] = True
        self.workqueue.update((scope, unit) for scope, unit in workload.items() if not all(unit.values()))
        for other in self.assigned_work:
            self._reschedule(other)
        return crashed
