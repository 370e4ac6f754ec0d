"""Name lookup and TCP connect under one deadline: the host's time, whatever DNS or the network do.

``socket.create_connection`` bounds neither: ``getaddrinfo`` ignores socket timeouts (a silent resolver
costs its own retries, tens of seconds), and every address of a name gets the full timeout in turn, so a
name with twenty filtered addresses costs twenty timeouts. Here a lookup runs in a daemon thread, shared
by every probe of the same name and waited for only until the deadline; the addresses are tried in
parallel, a new one every ``STAGGER`` seconds (as RFC 8305 does), and the first to accept wins.

A host's deadline is set once for all its probes with :func:`host_deadline`; each connection also has
its own (``timeout`` from its start), and whichever comes first applies.
"""

from __future__ import annotations

import errno
import os
import selectors
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

STAGGER = 0.25
"""Seconds before the next address is tried while earlier ones have not answered yet."""

Address = tuple[int, tuple[object, ...]]  # (family, sockaddr without the port)

_HOST_DEADLINE: ContextVar[float | None] = ContextVar("smtpsec_host_deadline", default=None)


@contextmanager
def host_deadline(seconds: float) -> Iterator[float]:
    """Every lookup and connection made in this context (and in contexts copied from it) ends within ``seconds``."""
    deadline = time.monotonic() + seconds
    token = _HOST_DEADLINE.set(deadline)
    try:
        yield deadline
    finally:
        _HOST_DEADLINE.reset(token)


def deadline_for(timeout: float) -> float:
    """The deadline of a step starting now: ``timeout`` from now, or the host's deadline if that is sooner."""
    own = time.monotonic() + timeout
    host = _HOST_DEADLINE.get()
    return own if host is None else min(own, host)


def cut_short(timeout: float, started: float, deadline: float) -> bool:
    """Whether a step that began at ``started`` had much less than its own ``timeout`` (the host's time ran out)."""
    return deadline - started < 0.9 * timeout


def within(timeout: float, started: float, deadline: float) -> str:
    """How a deadline reads in a message: "within 2 s", or that the host's time ran out first."""
    if cut_short(timeout, started, deadline):
        return f"before the host's {timeout:g} s ran out"
    return f"within {timeout:g} s"


@dataclass(frozen=True)
class ConnectError(Exception):
    """Why no connection came about, in words for a report; ``kind`` says which way it failed."""

    kind: str  # "lookup" (no such name / resolver trouble), "timeout", "refused", "other"
    reason: str
    cut_short: bool = False
    """The host's deadline came before this connection's own ``timeout``: a timeout then proves nothing."""

    def __str__(self) -> str:
        return self.reason


class _Lookups:
    """One ``getaddrinfo`` per name per run, in a daemon thread (a hung resolver never blocks exit)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: dict[str, Future[list[Address]]] = {}

    def __call__(self, host: str) -> Future[list[Address]]:
        with self._lock:
            future = self._futures.get(host)
            if future is None:
                future = self._futures[host] = Future()
                threading.Thread(target=self._lookup, args=(host, future), name="smtpsec-dns", daemon=True).start()
            return future

    @staticmethod
    def _lookup(host: str, future: Future[list[Address]]) -> None:
        try:
            infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:  # UnicodeError: an empty or over-long label (IDNA)
            future.set_exception(exc)
            return
        seen: dict[Address, None] = {}
        for family, _, _, _, sockaddr in infos:
            seen.setdefault((int(family), tuple(sockaddr[:1]) + tuple(sockaddr[2:])), None)
        future.set_result(list(seen))


_lookups = _Lookups()


_Selector = getattr(selectors, "PollSelector", selectors.DefaultSelector)
"""poll(2) where there is one: a few sockets at a time, and unlike epoll no system call to make, fill and close a
selector (each lets another probe thread take the interpreter: half a million thread switches for 10,000 hosts)."""


def _numeric(host: str) -> list[Address] | None:
    try:
        socket.inet_pton(socket.AF_INET, host)  # a dotted quad: its own address, no call that gives up the interpreter
        return [(int(socket.AF_INET), (host,))]
    except OSError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except (OSError, UnicodeError):  # not an address (a bad name fails in the IDNA codec: resolve() says so)
        return None
    return [(int(family), tuple(sockaddr[:1]) + tuple(sockaddr[2:])) for family, _, _, _, sockaddr in infos[:1]] or None


def resolve(host: str, deadline: float, timeout: float) -> list[Address]:
    """The addresses of ``host`` (an IP address at once); ``ConnectError`` if there are none by ``deadline``."""
    numeric = _numeric(host)
    if numeric is not None:
        return numeric
    started = time.monotonic()
    try:
        return _lookups(host).result(timeout=max(0.0, deadline - time.monotonic()))
    except FutureTimeout:
        silent = f"name lookup of {host!r} gave no answer {within(timeout, started, deadline)} (DNS unreachable?)"
        raise ConnectError("lookup", silent) from None
    except socket.gaierror as exc:
        raise ConnectError("lookup", f"unknown host {host!r} ({exc.strerror})") from None
    except UnicodeError:  # an empty or over-long label fails in the IDNA codec, before any lookup
        raise ConnectError("lookup", f"not a valid host name: {host!r}") from None
    except OSError as exc:
        raise ConnectError("lookup", f"name lookup of {host!r} failed: {exc.strerror or exc}") from None


def _sockaddr(address: Address, port: int) -> tuple[object, ...]:
    rest = address[1]
    return (rest[0], port, *rest[1:])


class _Race:
    """Connecting to one port: its addresses tried in turn, ``STAGGER`` apart, the first to accept wins."""

    def __init__(self, port: int, addresses: list[Address]) -> None:
        self.port = port
        self.pending = list(addresses)
        self.trying: dict[socket.socket, Address] = {}
        self.errors: list[int] = []
        self.next_try = 0.0
        self.won: socket.socket | None = None

    @property
    def running(self) -> bool:
        return self.won is None and bool(self.pending or self.trying)

    def start_next(self, now: float, selector: selectors.BaseSelector) -> None:
        """Start connecting to the next address if it is time (or nothing else is under way)."""
        while self.won is None and self.pending and (now >= self.next_try or not self.trying):
            address = self.pending.pop(0)
            sock = socket.socket(address[0], socket.SOCK_STREAM)
            sock.setblocking(False)
            code = sock.connect_ex(_sockaddr(address, self.port))
            if code == errno.EINPROGRESS:
                selector.register(sock, selectors.EVENT_WRITE, self)
                self.trying[sock] = address
                self.next_try = now + STAGGER
            else:
                self.settle(sock, code, None)

    def settle(self, sock: socket.socket, code: int, selector: selectors.BaseSelector | None) -> None:
        if selector is not None:
            selector.unregister(sock)
            del self.trying[sock]
        if code == 0 and self.won is None:
            sock.setblocking(True)
            self.won = sock
            return
        self.errors.append(code)
        sock.close()

    def wake(self) -> float | None:
        return self.next_try if self.won is None and self.pending and self.trying else None

    def close(self, selector: selectors.BaseSelector) -> None:
        for sock in self.trying:
            selector.unregister(sock)
            sock.close()
        self.trying.clear()

    def outcome(self, timeout: float, started: float, deadline: float, count: int) -> socket.socket | ConnectError:
        if self.won is not None:
            return self.won
        several = f"any of {count} addresses" if count > 1 else "it"
        if self.pending or len(self.errors) < count:
            short = cut_short(timeout, started, deadline)
            return ConnectError("timeout", f"no answer from {several} {within(timeout, started, deadline)} (filtered?)", short)
        if all(code == errno.ECONNREFUSED for code in self.errors):
            return ConnectError("refused", "connection refused (nothing listens there)")
        return ConnectError("other", "; ".join(sorted({os.strerror(code) for code in self.errors if code != errno.ECONNREFUSED})))


def connect_all(host: str, ports: Sequence[int], *, timeout: float) -> list[socket.socket | ConnectError]:
    """Connect to several ports of ``host`` at once, in this thread: a connected blocking socket per port
    (in order; a port asked twice is connected twice), or why not. One deadline for all
    (:func:`deadline_for`), so dropped ports cost one timeout together."""
    started = time.monotonic()
    deadline = deadline_for(timeout)
    try:
        addresses = resolve(host, deadline, timeout)
    except ConnectError as exc:
        return [exc for _ in ports]
    races = [_Race(port, addresses) for port in ports]
    with _Selector() as selector:
        try:
            while any(race.running for race in races):
                now = time.monotonic()
                if now >= deadline:
                    break
                for race in races:
                    race.start_next(now, selector)
                wakes = [w for race in races if (w := race.wake()) is not None]
                if not any(race.trying for race in races):
                    continue
                for key, _ in selector.select(max(0.0, min([deadline, *wakes]) - time.monotonic())):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    key.data.settle(sock, sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR), selector)
        finally:
            for race in races:
                race.close(selector)
    return [race.outcome(timeout, started, deadline, len(addresses)) for race in races]


def connect(host: str, port: int, *, timeout: float) -> socket.socket:
    """A connected blocking socket to ``host:port`` within ``timeout`` (and the host's deadline), or ConnectError."""
    (result,) = connect_all(host, [port], timeout=timeout)
    if isinstance(result, ConnectError):
        raise result
    return result
