"""Start sendmail in a private UTS+mount namespace and wait until its ports answer.

Inside the namespace the daemon sees its own hostname (`mail.test`), /etc/hosts, /etc/nsswitch.conf,
/usr/lib/sasl2 and a /dev whose `log` leads to the state dir; the host sees none of it. Without
namespaces (inside a container) the same files are written to their real places instead.
"""

from __future__ import annotations

import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from . import statedir, syslog
from .errors import LabError
from .layout import Layout
from .process import POLL
from .profiles import TLS_NAME

SENDMAIL = "/usr/sbin/sendmail"
_DEV_NODES = {"null": 3, "zero": 5, "random": 8, "urandom": 9}  # char devices, major 1


def _script(layout: Layout, namespace: bool, syslog_fd: int, lifeline: int | None) -> str:
    """The shell that prepares the daemon's view of the system and then becomes sendmail."""
    q = shlex.quote
    watch = "" if lifeline is None else f" {lifeline}"
    listener = f"{q(sys.executable)} -I -S {q(syslog.__file__)} {syslog_fd} {q(str(layout.syslog))}{watch} &"
    if namespace:
        setup = [
            "mount -t tmpfs -o mode=0755,size=64k smtpsec-dev /dev",
            *(f"mknod -m 666 /dev/{name} c 1 {minor}" for name, minor in _DEV_NODES.items()),
            f"ln -s {q(str(layout.syslog_socket))} /dev/log",
            f"mount --bind {q(str(layout.hosts))} /etc/hosts",
            f"mount --bind {q(str(layout.nsswitch))} /etc/nsswitch.conf",
            f"mount --bind {q(str(layout.sasl))} /usr/lib/sasl2",
            f"mount --bind {q(str(layout.openssl_cnf))} /etc/ssl/openssl.cnf",
            f"hostname {TLS_NAME}",
        ]
    else:  # a container of its own: the same files, written to their real places
        setup = [
            f"cat {q(str(layout.hosts))} > /etc/hosts",  # in place: Docker bind-mounts /etc/hosts
            f"cp {q(str(layout.nsswitch))} /etc/nsswitch.conf",
            f"cp {q(str(layout.openssl_cnf))} /etc/ssl/openssl.cnf",
            "mkdir -p /etc/sasl2",  # searched before /usr/lib/sasl2
            f"cp {q(str(layout.sasl_conf))} /etc/sasl2/Sendmail.conf",
            "chmod 600 /etc/sasl2/Sendmail.conf",
            f"[ -e /dev/log ] || ln -s {q(str(layout.syslog_socket))} /dev/log",
        ]
    return "\n".join(
        ["set -e", *setup, listener, f"exec {SENDMAIL} -bD -C {q(str(layout.cf))}"]  # it closes fds > 2
    )


def spawn(layout: Layout, syslog_socket: socket.socket, *, namespace: bool = True, lifeline: int | None = None) -> subprocess.Popen[bytes]:
    """Launch the daemon in a new session; returns once it runs, not once it listens.

    `lifeline`: the read end of a pipe only the caller writes to; when it closes (the caller exits,
    even by SIGKILL) the syslog reader kills the daemon's whole group.
    """
    fd = syslog_socket.fileno()
    cmd = ["sh", "-c", _script(layout, namespace, fd, lifeline)]
    if namespace:
        cmd = ["unshare", "--uts", "--mount", "--propagation", "private", *cmd]
    fds = (fd,) if lifeline is None else (fd, lifeline)
    with open(statedir.create(layout.daemon_log), "wb") as log:
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, pass_fds=fds)


def tail(path: Path, lines: int = 6) -> str:
    """The last non-empty lines of a log file, on one line (empty if there is no file)."""
    try:
        text = statedir.read(path) or ""
    except (LabError, OSError):
        return ""
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:] if line.strip())


def log_tail(paths: Iterable[Path]) -> str:
    """The last words of each log (the daemon's stderr, its syslog or the MTA's own logs), on one line."""
    parts = [f"{p.name}: {t}" for p in paths if (t := tail(p))]
    return "; ".join(parts) or "(no log output)"


def accepts(address: str, port: int) -> bool:
    """Whether something accepts TCP connections on ``address``:``port`` now."""
    try:
        socket.create_connection((address, port), timeout=0.5).close()
    except OSError:
        return False
    return True


def wait_until_listening(
    proc: subprocess.Popen[bytes], address: str, ports: Mapping[str, int | None], timeout: float, *, daemon: str = "sendmail"
) -> None:
    """Poll-connect every port; fail fast if the daemon dies, give up after `timeout` seconds."""
    pending = {port for port in ports.values() if port}
    deadline = time.monotonic() + timeout
    while pending:
        pending = {port for port in pending if not accepts(address, port)}
        if not pending:
            return
        if proc.poll() is not None:
            raise LabError(f"{daemon} exited with status {proc.returncode} before listening")
        if time.monotonic() > deadline:
            raise LabError(f"{daemon} not listening on {address} port(s) {sorted(pending)} after {timeout:g}s")
        time.sleep(POLL)
