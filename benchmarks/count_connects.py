"""A pytest plugin for the benchmark (``-p count_connects``): counts the TCP connections each pytest process attempts.

The simulated site puts 30 hosts on 127.0.x.y with the standard ports, where no counting relay can
stand in front of them; counting ``connect`` calls in the client is exact there and costs a dict
update per connection. Each process (xdist workers too) writes ``<pid>.json`` into
``$SMTPSEC_BENCH_CONNECTIONS`` when it ends.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections import Counter
from pathlib import Path
from typing import Any

ENV = "SMTPSEC_BENCH_CONNECTIONS"
_counts: Counter[tuple[str, int]] = Counter()
_lock = threading.Lock()
_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex


def _note(sock: socket.socket, address: Any) -> None:
    if sock.type == socket.SOCK_STREAM and sock.family in (socket.AF_INET, socket.AF_INET6):
        with _lock:
            _counts[(str(address[0]), int(address[1]))] += 1


def _counting_connect(self: socket.socket, address: Any) -> None:
    _note(self, address)
    _connect(self, address)


def _counting_connect_ex(self: socket.socket, address: Any) -> int:
    _note(self, address)
    return _connect_ex(self, address)


socket.socket.connect = _counting_connect  # type: ignore[method-assign, assignment]
socket.socket.connect_ex = _counting_connect_ex  # type: ignore[method-assign, assignment]


def pytest_unconfigure(config: Any) -> None:
    folder = os.environ.get(ENV)
    if folder:
        rows = [[host, port, n] for (host, port), n in sorted(_counts.items())]
        Path(folder, f"{os.getpid()}.json").write_text(json.dumps(rows))


def read_counts(folder: Path) -> Counter[tuple[str, int]]:
    """Every process's counts, added up."""
    total: Counter[tuple[str, int]] = Counter()
    for path in folder.glob("*.json"):
        for host, port, n in json.loads(path.read_text()):
            total[(host, port)] += n
    return total
