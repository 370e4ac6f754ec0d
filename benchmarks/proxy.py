"""A counting TCP relay: put it in front of a server's port and it tells how many connections a tool opened.

Client-side counters only see what one program does; this sees every connection of any tool
(bash + openssl, Perl, nassl) the same way. It relays bytes unchanged, in one thread with a selector,
so it adds well under a millisecond per round trip on loopback. Timed runs still go direct: the
relay is used only for the counting run of each tool.
"""

from __future__ import annotations

import selectors
import socket
import threading
from types import TracebackType


class CountingProxy:
    """``with CountingProxy(host, port) as proxy:`` point the tool at ``proxy.port``; read ``proxy.connections``."""

    def __init__(self, upstream_host: str, upstream_port: int, *, listen_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.connections = 0
        self._listener = socket.create_server((listen_host, 0), backlog=128)
        self._listener.setblocking(False)
        self.host, self.port = self._listener.getsockname()[:2]
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        self._wake_r, self._wake_w = socket.socketpair()
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._thread = threading.Thread(target=self._serve, name=f"proxy-{upstream_port}", daemon=True)
        self._running = False

    def __enter__(self) -> CountingProxy:
        self._running = True
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self._running:
            self._running = False
            self._wake_w.send(b"x")
            self._thread.join(timeout=5)
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self._selector.close()
        self._wake_w.close()

    def _serve(self) -> None:
        while self._running:
            for key, _ in self._selector.select(timeout=1.0):
                if key.fileobj is self._listener:
                    self._accept()
                elif key.fileobj is self._wake_r:
                    return
                elif isinstance(key.fileobj, socket.socket) and key.fileobj.fileno() != -1:  # not closed with its peer
                    self._relay(key.fileobj, key.data)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            self.connections += 1
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()  # the tool sees what it would have seen: a refused connection
                continue
            for sock in (client, server):
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._selector.register(client, selectors.EVENT_READ, server)
            self._selector.register(server, selectors.EVENT_READ, client)

    def _relay(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            data = source.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if data:
            try:
                sink.setblocking(True)  # a short blocking write keeps the relay simple; loopback drains fast
                sink.settimeout(5)
                sink.sendall(data)
                sink.setblocking(False)
                return
            except OSError:
                pass
        for sock in (source, sink):  # one side closed: close the pair, as a plain TCP path would end
            self._selector.unregister(sock)
            sock.close()
