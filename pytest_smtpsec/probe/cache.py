"""Probes shared between checks: each fact is fetched once per (target, service, kind of probe)."""

from __future__ import annotations

import contextvars
import functools
import ssl
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ..target import Service, Target, is_address
from .connection import TlsRefused, probe_context
from .errors import ProbeError
from .handshake import SILENT_WAIT, Handshake, try_handshake
from .listening import PortState, port_states
from .parallel import run_all
from .session import AUTH_PER_CONNECTION, Kind, Plan, SessionRecord, Step, bad_logins, run_session

if TYPE_CHECKING:  # dnspython is imported only when a domain is checked
    from .dns import DomainDns
    from .https import PolicyFetch

T = TypeVar("T")

FIRST_WAVE = (0, AUTH_PER_CONNECTION, 2 * AUTH_PER_CONNECTION)
"""Wrong-login sessions started with the others: what PLAIN and LOGIN need (three wrong logins each)."""
CONNECTION_BUDGET = 17
"""The most connections the whole suite opens to one host that takes logins on all three ports: ten SMTP
sessions (the note's dialogue, the decoy login and relaying in every form, the wrong logins) and seven TLS
questions (old versions and weak suites on each port, 465's silent client); twelve without a login."""


class Memory(Protocol):
    """What earlier runs saw, for a check that judges a change over time: pytest's cache (``config.cache``,
    kept in ``.pytest_cache``) has this shape; a run without it (``-p no:cacheprovider``) has no memory."""

    def get(self, key: str, default: Any) -> Any: ...

    def set(self, key: str, value: object) -> None: ...


ADDRESSES_PROBED = 8
"""Addresses of one name probed each as a host (each costs a host's connections without logins)."""


@dataclass(frozen=True)
class _Failed:
    """A probe that ended in an error, cached like an answer."""

    error: ProbeError


class Probes:
    """The lazily filled probe cache of one target. Thread-safe: hosts may be probed concurrently."""

    def __init__(self, target: Target, *, peers: Callable[[Target], Probes] | None = None, memory: Memory | None = None) -> None:
        self.target = target
        self._peers = peers
        """Where the probes of other targets (a domain's MX hosts) come from: the engine's, shared by every
        domain that names the same MX; None: this cache keeps its own."""
        self.memory = memory
        """What earlier runs saw (see :class:`Memory`); ``None``: nothing is compared with the past."""
        self._results: dict[tuple[object, ...], object] = {}
        self._asked: dict[Target, Probes] = {}
        """The other targets' probes this cache asked for (MX hosts, addresses), for :meth:`all_connections`."""
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[object, ...], threading.Lock] = {}
        self.connections = 0
        """TCP connections opened (or attempted) for this target so far."""

    @classmethod
    def recorded(
        cls,
        target: Target,
        sessions: Iterable[SessionRecord],
        *,
        domain: DomainDns | None = None,
        peers: Iterable[Probes] = (),
        addresses: Sequence[str] = (),
        memory: Memory | None = None,
    ) -> Probes:
        """Probes that answer from the given sessions (recorded, or built by hand) instead of connecting: the
        seam through which every judge is tested without a network (``domain``: the DNS answers, likewise;
        ``peers``: other targets' probes, e.g. made for ``target.mx(name, address)`` or ``target.at(address)``;
        ``addresses``: what the target's name resolves to; ``memory``: earlier runs)."""
        probes = cls(target, memory=memory)
        if domain is not None:
            probes._results[("domain",)] = domain
        if addresses:
            probes._results[("addresses",)] = list(addresses)
        for peer in peers:
            probes._results[("peer", peer.target)] = peer
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
                try:
                    self._results[key] = fetch()
                except ProbeError as exc:  # an answer too: asked again, it would cost another connection
                    self._results[key] = _Failed(exc)
                with self._lock:
                    self.connections += connections
                    del self._key_locks[key]  # answered: whoever asks next finds the answer, no lock kept per key
            found = self._results[key]
        if isinstance(found, _Failed):
            raise found.error
        return found  # type: ignore[return-value]

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
        run_all(jobs, "smtpsec-session")  # daemon threads that keep the host's deadline
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
        run_all([functools.partial(self._logins, service, start) for start in starts], "smtpsec-logins")
        return (first, *(self._logins(service, start) for start in starts))

    def _takes_logins(self, service: Service) -> bool:
        return self.target.credentials is not None and self.target.takes_logins(service)

    def _logins(self, service: Service, start: int) -> SessionRecord:
        plan = Plan(Kind.LOGINS, first_login=start)
        return self.cached(("logins", service, start), lambda: run_session(self.target, service, plan))

    def handshake(self, service: Service, offer: str, context: ssl.SSLContext) -> Handshake:
        """One single-purpose TLS handshake (see :mod:`pytest_smtpsec.probe.handshake`), keyed by ``offer``."""
        return self.cached(("handshake", service, offer), lambda: try_handshake(self.target, service, context, offer))

    def without_sni(self, service: Service) -> Handshake:
        """What a client that sends no SNI (many MTAs on port 25) is shown; on 465 after a silent wait.

        On 25 and 587 the extra session is that client, so this costs no connection of its own. On 465 the
        client first waits :data:`SILENT_WAIT` seconds saying nothing, as a cleartext SMTP client would:
        cleartext then is :class:`CleartextOnTls`. :meth:`warm_up` starts it beside the sessions.
        """
        if not service.implicit_tls:
            extra = self.extra(service)
            if extra.tls is not None:
                tls = extra.tls
                return Handshake(service, "no SNI", True, f"{tls.version} {tls.cipher}", extra.transcript, tls.version, tls.chain)
        wait = min(SILENT_WAIT, self.target.timeout / 4) if service.implicit_tls else 0.0
        return self.cached(
            ("handshake", service, "no SNI"),
            lambda: try_handshake(self.target, service, probe_context(), "no SNI", sni=False, listen_first=wait),
        )

    def warm_up(self, *, domain: bool = True) -> None:
        """Fetch at once what every run needs: every service's sessions (returns when they are done), and 465's
        silent-client look, left running in the background: its wait overlaps the checks judged meanwhile.
        With a ``domain`` (unless told not to: the engine judges a domain apart, see ``checks/_domain.py``),
        its DNS and then its MX hosts' sessions, in the background too."""
        if Service.SMTPS in self.target.services:
            context = contextvars.copy_context()  # the host's deadline
            quietly = functools.partial(context.run, self._quietly, self.without_sni, Service.SMTPS)
            threading.Thread(target=quietly, name="smtpsec-silent-client", daemon=True).start()
        if domain and self.target.domain:  # the domain's DNS questions and MX hosts overlap the sessions
            context = contextvars.copy_context()
            threading.Thread(target=context.run, args=(self._quietly_domain,), name="smtpsec-dns", daemon=True).start()
        if self.target.services and not is_address(self.target.host):  # a name's other addresses, likewise
            context = contextvars.copy_context()
            threading.Thread(target=context.run, args=(self._quietly_addresses,), name="smtpsec-addresses", daemon=True).start()
        if self.target.services:
            run_all([functools.partial(self.sessions, service) for service in self.target.services], "smtpsec-service")

    def _quietly_domain(self) -> None:
        try:
            self.warm_mx()
        except Exception:
            pass

    def _quietly_addresses(self) -> None:
        try:
            run_all([functools.partial(_warm_peer, peer) for peer in self.at_each_address()], "smtpsec-address")
        except Exception:
            pass  # cached: the check that needs it says "could not check" itself

    @staticmethod
    def _quietly(fetch: Callable[[Service], object], service: Service) -> None:
        try:
            fetch(service)
        except ProbeError:
            pass  # cached: the check that needs it says "could not check" itself

    def ports(self, wanted: Sequence[tuple[int, bool]]) -> list[PortState]:
        """Whether anything accepts connections on each ``(port, banner)`` (and, with ``banner``, what it says
        first), all at once: a firewall dropping them all costs one timeout."""
        key = ("ports", *wanted)
        return self.cached(key, lambda: port_states(self.target.host, wanted, self.target.timeout), connections=len(wanted))

    def domain(self) -> DomainDns:
        """Every DNS answer about the target's mail domain (see :mod:`pytest_smtpsec.probe.dns`), asked once."""
        from .dns import lookup_domain

        return self.cached(("domain",), lambda: lookup_domain(self.target), connections=0)

    def policy(self, address: str) -> PolicyFetch:
        """The domain's MTA-STS policy as fetched from ``address`` (see :mod:`pytest_smtpsec.probe.https`)."""
        from .https import fetch_policy

        return self.cached(("policy", address), lambda: fetch_policy(self.target, address))

    def peer(self, target: Target) -> Probes:
        """The probes of another target this one's checks judge (a domain's MX host, one of this host's
        addresses), probed as any host is, once however many targets (or checks) ask."""
        found = self._peers(target) if self._peers is not None else self.cached(("peer", target), lambda: Probes(target), connections=0)
        with self._lock:
            self._asked[target] = found
        return found

    def mx(self, name: str, address: str) -> Probes:
        """The probes of MX host ``name`` at ``address``: a target of its own (:meth:`Target.mx`)."""
        return self.peer(self.target.mx(name, address))

    def addresses(self) -> list[str]:
        """Every address the target's name resolves to (the name itself when it is an address), within the
        host's time: one lookup, shared with the connections. A name that does not resolve: ProbeError."""
        from .network import ConnectError, deadline_for, resolve

        def lookup() -> list[str]:
            try:
                found = resolve(self.target.host, deadline_for(self.target.timeout), self.target.timeout)
            except ConnectError as exc:
                raise ProbeError(self.target.host, "lookup", exc.reason) from None
            return [str(sockaddr[0]) for _, sockaddr in found]

        return self.cached(("addresses",), lookup, connections=0)

    def at_each_address(self) -> list[Probes]:
        """The target at each of its first :data:`ADDRESSES_PROBED` addresses (:meth:`Target.at`), when its name
        has more than one; else none."""
        addresses = self.addresses()
        return [self.peer(self.target.at(a)) for a in addresses[:ADDRESSES_PROBED]] if len(addresses) > 1 else []

    def all_connections(self) -> int:
        """:attr:`connections` and those of the other targets asked for (MX hosts, addresses)."""
        with self._lock:
            peers = list(self._asked.values())
        return self.connections + sum(peer.connections for peer in peers)

    def warm_mx(self) -> None:
        """The domain's DNS, then every MX host's sessions at once (each within its own timeout), as
        :meth:`DomainDns.mx_set` says where: what ``mx_records``, DANE and MTA-STS read."""
        hosts = [(mx.name, address) for mx in self.domain().mx_set() for address in mx.probed]
        run_all([functools.partial(_warm_peer, self.mx(name, address)) for name, address in hosts], "smtpsec-mx")

    def mx_handshake(self, mx: str, address: str) -> Handshake:
        """The TLS an MX host presents after STARTTLS to its MX name (SNI), read from its main session on
        port 25 (or ``mx_port``): no connection of its own. A refused handshake, or no STARTTLS, is an answer
        (not accepted); a dialogue that broke before STARTTLS is a :class:`ProbeError`."""
        session = self.mx(mx, address).session(Service.SMTP)
        offer = f"STARTTLS to MX {mx}"
        tls = session.tls
        if tls is not None:
            return Handshake(Service.SMTP, offer, True, f"{tls.version} {tls.cipher}", session.transcript, tls.version, tls.chain)
        if isinstance(session.error, TlsRefused):
            return Handshake(Service.SMTP, offer, False, session.error.reason, session.transcript)
        if session.error is not None:
            raise session.error
        starttls = session.replies.get(Step.STARTTLS)
        detail = f"STARTTLS refused: {starttls}" if starttls is not None else "STARTTLS not offered"
        return Handshake(Service.SMTP, offer, False, detail, session.transcript)


def _warm_peer(probes: Probes) -> None:
    """Warm another target's probes in its own time, as any host has: not what this one's lookups left."""
    from .network import host_deadline

    with host_deadline(probes.target.timeout):
        probes.warm_up()
