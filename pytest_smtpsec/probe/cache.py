"""Probes shared between checks: each fact is fetched once per (target, service, kind of probe)."""

from __future__ import annotations

import functools
import ssl
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from ..target import Service, Target
from .handshake import Handshake, try_handshake
from .listening import PortState, port_state
from .session import AUTH_PER_CONNECTION, Kind, Plan, SessionRecord, bad_logins, run_session

T = TypeVar("T")

FIRST_WAVE = (0, AUTH_PER_CONNECTION, 2 * AUTH_PER_CONNECTION)
"""Wrong-login sessions started with the others: what PLAIN and LOGIN need (three wrong logins each)."""
CONNECTION_BUDGET = 12
"""The most connections the whole suite opens to one host (all three services, logins and TLS questions)."""


class Probes:
    """The lazily filled probe cache of one target. Thread-safe: hosts may be probed concurrently."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._results: dict[tuple[object, ...], object] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[object, ...], threading.Lock] = {}
        self.connections = 0
        """TCP connections opened (or attempted) for this target so far."""

    @classmethod
    def recorded(cls, target: Target, sessions: Iterable[SessionRecord]) -> Probes:
        """Probes that answer from the given sessions (recorded, or built by hand) instead of connecting: the
        seam through which every judge is tested without a network."""
        probes = cls(target)
        for session in sessions:
            key: tuple[object, ...] = {
                Kind.MAIN: ("session", session.service),
                Kind.EXTRA: ("extra", session.service),
                Kind.LOGINS: ("logins", session.service, session.first_login),
            }[session.kind]
            probes._results[key] = session
        return probes

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
        """The main probe session of one service (see :mod:`pytest_smtpsec.probe.session`)."""
        return self.cached(("session", service), lambda: run_session(self.target, service))

    def extra(self, service: Service) -> SessionRecord:
        """The extra session of 25 or 587: the decoy login before TLS, HELP/VRFY/EXPN, relaying after STARTTLS."""
        assert not service.implicit_tls, "465 has no extra session"
        return self.cached(("extra", service), lambda: run_session(self.target, service, Plan(Kind.EXTRA)))

    def sessions(self, service: Service) -> tuple[SessionRecord, ...]:
        """Every session of one service, all at once but the wrong logins that depend on the mechanisms offered."""
        jobs: list[Callable[[], object]] = [lambda: self.session(service)]
        if not service.implicit_tls:
            jobs.append(lambda: self.extra(service))
        if self._takes_logins(service):  # the usual PLAIN+LOGIN matrix needs three, known only after EHLO: guess
            starts = FIRST_WAVE if service is self.target.login_matrix_service() else (0,)
            jobs += [functools.partial(self._logins, service, start) for start in starts]
        with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="smtpsec-session") as pool:
            list(pool.map(lambda job: job(), jobs))
        extra = () if service.implicit_tls else (self.extra(service),)
        return (self.session(service), *extra, *self.logins(service))

    def logins(self, service: Service) -> tuple[SessionRecord, ...]:
        """The sessions that tried wrong logins on ``service``: two per connection; the wrong password on each
        mechanism, and on the host's :meth:`Target.login_matrix_service` the whole matrix."""
        if not self._takes_logins(service):
            return ()
        first = self._logins(service, 0)
        if service is not self.target.login_matrix_service():
            return (first,)
        starts = range(AUTH_PER_CONNECTION, len(bad_logins(first.tls_ehlo())), AUTH_PER_CONNECTION)
        if not starts:
            return (first,)
        with ThreadPoolExecutor(max_workers=len(starts), thread_name_prefix="smtpsec-logins") as pool:
            return (first, *pool.map(lambda start: self._logins(service, start), starts))

    def _takes_logins(self, service: Service) -> bool:
        return self.target.credentials is not None and self.target.takes_logins(service)

    def _logins(self, service: Service, start: int) -> SessionRecord:
        plan = Plan(Kind.LOGINS, first_login=start)
        return self.cached(("logins", service, start), lambda: run_session(self.target, service, plan))

    def handshake(self, service: Service, offer: str, context: ssl.SSLContext) -> Handshake:
        """One single-purpose TLS handshake (see :mod:`pytest_smtpsec.probe.handshake`), keyed by ``offer``."""
        return self.cached(("handshake", service, offer), lambda: try_handshake(self.target, service, context, offer))

    def port(self, port: int, *, banner: bool = True) -> PortState:
        """Whether anything accepts connections on ``port`` (and, with ``banner``, what it says first)."""
        return self.cached(("port", port), lambda: port_state(self.target.host, port, self.target.timeout, banner=banner))
