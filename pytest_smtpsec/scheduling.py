"""xdist scheduling that keeps every host on one worker, so its probe sessions are never repeated.

Imported only when pytest-xdist runs the suite. We subclass xdist's own scope scheduler rather than
rely on ``--dist loadgroup``: that works by rewriting node ids, which newer pytest versions no longer
allow, while the scope scheduler only reads them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]


class HostScheduling(LoadScopeScheduling):  # type: ignore[misc]
    """A built-in check is scheduled with the rest of its host; any other test on its own, as with ``load``."""

    def __init__(self, config: Any, log: Any = None, *, suites: Iterable[tuple[str, bool]] = ()) -> None:
        super().__init__(config, log)
        self.suites = dict(suites)
        """Suite name -> whether its ids name the host next (an inventory) or not (one host: the suite is it)."""

    def _split_scope(self, nodeid: str) -> str:
        parts = nodeid.split("::")
        per_host = self.suites.get(parts[0])
        if per_host is None:
            return nodeid
        return "::".join(parts[:2]) if per_host else parts[0]
