"""Reference servers on demand: one per profile, started concurrently, all stopped together."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..target import Credentials, Ports, Target
from .server import ReferenceServer
from .target import LabTarget


def as_target(lab: LabTarget, **overrides: Any) -> Target:
    """The plugin's :class:`Target` for a running reference server (credentials and CA file included)."""
    ports = Ports(lab.ports.get("smtp"), lab.ports.get("submission"), lab.ports.get("smtps"))
    target = Target(
        host=lab.host,
        tls_name=lab.tls_name,
        ports=ports,
        ca_file=Path(lab.ca_file),
        credentials=Credentials(lab.user, lab.password),
        timeout=5.0,
        name=f"{lab.profile}.{lab.tls_name}",
    )
    return replace(target, **overrides)


class LabPool:
    """Starts each profile once under ``root`` and hands out its :class:`LabTarget`; ``close`` stops all."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._servers: dict[str, tuple[ReferenceServer, LabTarget]] = {}
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def __call__(self, profile: str) -> LabTarget:
        with self._lock:
            lock = self._locks.setdefault(profile, threading.Lock())
        with lock:
            if profile not in self._servers:
                server = ReferenceServer(profile, self.root / profile)
                self._servers[profile] = (server, server.start())
            return self._servers[profile][1]

    def start(self, profiles: Iterable[str]) -> dict[str, LabTarget]:
        """Start several profiles at once (each takes ~0.1-0.3 s, mostly waiting)."""
        names = list(profiles)
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(names)))) as pool:
            return dict(zip(names, pool.map(self, names), strict=True))

    def close(self) -> None:
        with self._lock:
            servers, self._servers = list(self._servers.values()), {}
        for server, _ in servers:
            server.stop()

    def __enter__(self) -> LabPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
