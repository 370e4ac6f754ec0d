"""Probes shared between checks: each fact is fetched once per (target, service, kind of probe)."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from ..target import Service, Target
from .connection import probe_context
from .errors import ProbeError
from .handshake import SILENT_WAIT, Handshake, try_handshake
from .listening import PortState, port_state
from .session import SessionRecord, run_session

T = TypeVar("T")


@dataclass(frozen=True)
class _Failed:
    """A probe that ended in an error, cached like an answer."""

    error: ProbeError


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
                try:
                    self._results[key] = fetch()
                except ProbeError as exc:  # an answer too: asked again, it would cost another connection
                    self._results[key] = _Failed(exc)
                with self._lock:
                    self.connections += connections
            found = self._results[key]
        if isinstance(found, _Failed):
            raise found.error
        return found  # type: ignore[return-value]

    def session(self, service: Service) -> SessionRecord:
        """The probe session of one service (see :mod:`pytest_smtpsec.probe.session`)."""
        return self.cached(("session", service), lambda: run_session(self.target, service))

    def handshake(self, service: Service, offer: str, context: ssl.SSLContext) -> Handshake:
        """One single-purpose TLS handshake (see :mod:`pytest_smtpsec.probe.handshake`), keyed by ``offer``."""
        return self.cached(("handshake", service, offer), lambda: try_handshake(self.target, service, context, offer))

    def without_sni(self, service: Service) -> Handshake:
        """The handshake of a client that sends no SNI (many MTAs on port 25); on 465 after a silent wait.

        On 465 the client first waits :data:`SILENT_WAIT` seconds saying nothing, as a cleartext SMTP client
        would: cleartext then is :class:`CleartextOnTls`. Started by :meth:`warm_up` beside the sessions, so
        the wait overlaps them and the checks judged meanwhile.
        """
        wait = min(SILENT_WAIT, self.target.timeout / 4) if service.implicit_tls else 0.0
        return self.cached(
            ("handshake", service, "no SNI"),
            lambda: try_handshake(self.target, service, probe_context(), "no SNI", sni=False, listen_first=wait),
        )

    def warm_up(self) -> None:
        """Fetch at once what every run needs: the probe sessions (returns when they are done), and 465's
        silent-client look, left running in the background: its wait overlaps the checks judged meanwhile."""
        if Service.SMTPS in self.target.services:
            threading.Thread(target=self._quietly, args=(self.without_sni, Service.SMTPS), daemon=True).start()
        services = self.target.services
        with ThreadPoolExecutor(max_workers=max(1, len(services)), thread_name_prefix="smtpsec-session") as pool:
            list(pool.map(self.session, services))

    @staticmethod
    def _quietly(fetch: Callable[[Service], object], service: Service) -> None:
        try:
            fetch(service)
        except ProbeError:
            pass  # cached: the check that needs it says "could not check" itself

    def port(self, port: int, *, banner: bool = True) -> PortState:
        """Whether anything accepts connections on ``port`` (and, with ``banner``, what it says first)."""
        return self.cached(("port", port), lambda: port_state(self.target.host, port, self.target.timeout, banner=banner))
