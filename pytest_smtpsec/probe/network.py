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
from collections.abc import Iterator
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
        except OSError as exc:
            future.set_exception(exc)
            return
        seen: dict[Address, None] = {}
        for family, _, _, _, sockaddr in infos:
            seen.setdefault((int(family), tuple(sockaddr[:1]) + tuple(sockaddr[2:])), None)
        future.set_result(list(seen))


_lookups = _Lookups()


def _numeric(host: str) -> list[Address] | None:
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except OSError:
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
    except OSError as exc:
        raise ConnectError("lookup", f"name lookup of {host!r} failed: {exc.strerror or exc}") from None


def _sockaddr(address: Address, port: int) -> tuple[object, ...]:
    rest = address[1]
    return (rest[0], port, *rest[1:])


def connect(host: str, port: int, *, timeout: float, deadline: float | None = None) -> socket.socket:
    """A connected blocking socket to ``host:port``, by ``deadline`` (default: :func:`deadline_for`)."""
    started = time.monotonic()
    deadline = deadline_for(timeout) if deadline is None else deadline
    addresses = resolve(host, deadline, timeout)
    pending = list(addresses)
    trying: dict[socket.socket, tuple[object, ...]] = {}
    errors: list[int] = []
    next_try = time.monotonic()
    with selectors.DefaultSelector() as selector:
        try:
            while pending or trying:
                now = time.monotonic()
                if now >= deadline:
                    break
                if pending and (now >= next_try or not trying):
                    family, rest = pending.pop(0)
                    sock = socket.socket(family, socket.SOCK_STREAM)
                    sock.setblocking(False)
                    code = sock.connect_ex(_sockaddr((family, rest), port))
                    if code == 0:
                        sock.setblocking(True)
                        return sock
                    if code != errno.EINPROGRESS:
                        errors.append(code)
                        sock.close()
                        continue
                    selector.register(sock, selectors.EVENT_WRITE)
                    trying[sock] = rest
                    next_try = now + STAGGER
                wake = min(deadline, next_try) if pending else deadline
                for key, _ in selector.select(max(0.0, wake - time.monotonic())):
                    sock = key.fileobj  # type: ignore[assignment]
                    selector.unregister(sock)
                    del trying[sock]
                    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if code == 0:
                        sock.setblocking(True)
                        return sock
                    errors.append(code)
                    sock.close()
        finally:
            for sock in trying:
                sock.close()
    several = f"any of {len(addresses)} addresses" if len(addresses) > 1 else "it"
    if trying or pending or not errors:
        short = cut_short(timeout, started, deadline)
        raise ConnectError("timeout", f"no answer from {several} {within(timeout, started, deadline)} (filtered?)", short)
    if all(code == errno.ECONNREFUSED for code in errors):
        raise ConnectError("refused", "connection refused (nothing listens there)")
    raise ConnectError("other", "; ".join(sorted({os.strerror(code) for code in errors if code != errno.ECONNREFUSED})))
