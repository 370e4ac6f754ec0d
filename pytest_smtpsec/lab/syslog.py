"""sendmail's syslog, captured: it reports TLS and SASL trouble nowhere else.

The lab's process binds a datagram socket in the state dir before the daemon starts, so nothing is
lost while the reader starts; the daemon's `/dev/log` leads to it. The reader runs as a script
(`python3 syslog.py FD LOGFILE`, standard library only) in the daemon's process group, so it stops
with the daemon; whoever still holds the socket then drains what the reader had no time to write.

Given a third argument, the read end of a pipe that only the lab's own process holds open, the
reader is also the daemon's lifeline: when that pipe closes (the lab's process exited, even by
SIGKILL) it kills its whole process group, so no root daemon outlives the lab that started it.
The log is never opened through a symlink.
"""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import sys
from pathlib import Path

_PRIORITY = re.compile(rb"^<\d+>")


def _line(datagram: bytes) -> bytes:
    return _PRIORITY.sub(b"", datagram).rstrip(b"\0\n") + b"\n"


def bind(path: Path) -> socket.socket:
    path.unlink(missing_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:  # via the directory fd: AF_UNIX paths are limited to 107 bytes, pytest's tmp_path is not
        sock.bind(f"/proc/self/fd/{dir_fd}/{path.name}")
    except OSError:
        sock.close()
        raise
    finally:
        os.close(dir_fd)
    return sock


def _append(log: str | Path) -> int:
    return os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)


def drain(sock: socket.socket, log: Path) -> None:
    """Append whatever is still queued, without waiting for more."""
    sock.setblocking(False)
    try:
        fd = _append(log)
    except OSError:  # a symlink planted there, or the state dir is gone: drop the rest
        return
    with open(fd, "ab") as out:
        while True:
            try:
                out.write(_line(sock.recv(65536)))
            except BlockingIOError:
                return


def main(argv: list[str]) -> None:
    sock = socket.socket(fileno=int(argv[1]))
    lifeline = [int(argv[3])] if len(argv) > 3 else []
    with open(_append(argv[2]), "ab", buffering=0) as log:
        while True:
            ready, _, _ = select.select([sock.fileno(), *lifeline], [], [])
            if lifeline and lifeline[0] in ready and not os.read(lifeline[0], 1):
                os.killpg(0, signal.SIGKILL)  # the lab is gone: so are we, with sendmail
            if sock.fileno() in ready:
                log.write(_line(sock.recv(65536)))


if __name__ == "__main__":
    main(sys.argv)
