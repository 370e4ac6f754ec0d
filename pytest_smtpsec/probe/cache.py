"""Probes shared between checks: each fact is fetched once per (target, service, kind of probe)."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from ..target import Service, Target
from .handshake import Handshake, try_handshake
from .listening import PortState, port_states
from .session import SessionRecord, run_session

T = TypeVar("T")


class Probes:
    """The lazily filled probe cache of one target. Thread-safe: hosts may be probed concurrently."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._results: dict[tuple[object, ...], object] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[object, ...], threading.Lock] = {}
        self.connections = 0
        """TCP connections opened (or attempted) for this target so far."""

    def cached(self, key: tuple[object, ...], fetch: Callable[[], T], *, connections: int = 1) -> T:
        """Return the cached result for ``key``, running ``fetch`` (which opens ``connections``) only once."""
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            if key not in self._results:
                self._results[key] = fetch()
                with self._lock:
                    self.connections += connections
            return self._results[key]  # type: ignore[return-value]

    def session(self, service: Service) -> SessionRecord:
        """The probe session of one service (see :mod:`pytest_smtpsec.probe.session`)."""
        return self.cached(("session", service), lambda: run_session(self.target, service))

    def handshake(self, service: Service, offer: str, context: ssl.SSLContext) -> Handshake:
        """One single-purpose TLS handshake (see :mod:`pytest_smtpsec.probe.handshake`), keyed by ``offer``."""
        return self.cached(("handshake", service, offer), lambda: try_handshake(self.target, service, context, offer))

    def ports(self, wanted: Sequence[tuple[int, bool]]) -> list[PortState]:
        """Whether anything accepts connections on each ``(port, banner)`` (and, with ``banner``, what it says
        first), all at once: a firewall dropping them all costs one timeout."""
        key = ("ports", *wanted)
        return self.cached(key, lambda: port_states(self.target.host, wanted, self.target.timeout), connections=len(wanted))
