"""`ReferenceServer`: Debian's real sendmail, configured as a named profile, in a state directory."""

from __future__ import annotations

import glob
import ipaddress
import os
import shutil
import socket
import subprocess
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from . import syslog
from .errors import LabError
from .launch import SENDMAIL, log_tail, spawn, wait_until_listening
from .layout import Layout
from .mc import CF_M4
from .ports import reserved_ports
from .prepare import prepare
from .process import Daemon
from .profiles import PROFILES
from .target import LabTarget

_INSTALL = "apt-get install sendmail sasl2-bin libsasl2-modules m4"


def _check_host(address: str, namespace: bool) -> None:
    """Fail before writing anything, with what to do about it."""
    for path, what in ((SENDMAIL, "sendmail"), (CF_M4, "sendmail's m4 files")):
        if not os.path.exists(path):
            raise LabError(f"{what} not found ({path}): {_INSTALL}")
    for tool in ("m4", "saslpasswd2", *(("unshare", "mount") if namespace else ())):
        if shutil.which(tool) is None:
            raise LabError(f"{tool} not found on PATH: {_INSTALL} (unshare and mount: util-linux)")
    if not glob.glob("/usr/lib/*/sasl2/libplain.so*"):
        raise LabError(f"SASL PLAIN plugin missing: {_INSTALL}")
    if os.geteuid() != 0:
        raise LabError(
            "root is needed: the lab runs sendmail under `unshare --uts --mount` with bind mounts "
            "(private hostname, /etc/hosts, /usr/lib/sasl2); run it as root (e.g. sudo), "
            "or use the docker/sendmail image"
        )
    try:
        loopback = ipaddress.ip_address(address).is_loopback
    except ValueError:
        raise LabError(f"address must be an IP address, not {address!r}") from None
    if namespace and not loopback:
        raise LabError(f"the lab listens on loopback only, {address} is not (--no-namespace is for containers)")


class ReferenceServer:
    """The real sendmail configured as `profile`; all its files live in `state_dir`.

    Used as a context manager it yields the `LabTarget` and stops the daemon on exit.
    `namespace=False` is for containers only: it writes /etc/hosts, /etc/nsswitch.conf and
    /etc/sasl2 instead of mounting private copies over them.
    """

    def __init__(
        self,
        profile: str,
        state_dir: str | os.PathLike[str],
        *,
        address: str = "127.0.0.1",
        ports: Mapping[str, int | None] | None = None,
        namespace: bool = True,
        startup_timeout: float = 10.0,
    ) -> None:
        if profile not in PROFILES:
            raise LabError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
        self.profile = PROFILES[profile]
        self.layout = Layout(Path(state_dir).absolute())
        self.address = address
        self.ports = ports
        self.namespace = namespace
        self.startup_timeout = startup_timeout
        self.target: LabTarget | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._syslog: socket.socket | None = None  # held to drain what the reader missed

    def start(self) -> LabTarget:
        """Prepare the state dir, launch the daemon and return once every port accepts connections."""
        if self._proc is not None:
            raise LabError(f"already started ({self.layout.root})")
        _check_host(self.address, self.namespace)
        running = Daemon.load(self.layout)
        if running and running.members():
            raise LabError(f"a lab is already running in {self.layout.root} (pid {running.pid}); stop it first")
        alias = None if self.namespace else socket.gethostname()
        with reserved_ports(self.address, self.ports, smtps=self.profile.smtps) as ports:
            try:
                target = prepare(self.profile, self.layout, self.address, ports, hostname_alias=alias)
                self._syslog = syslog.bind(self.layout.syslog_socket)
                self._proc = proc = spawn(self.layout, self._syslog, namespace=self.namespace)
            except OSError as e:
                self.stop()
                raise LabError(f"cannot prepare or launch the lab in {self.layout.root}: {e}") from None
            try:
                Daemon.of(proc.pid).save(self.layout)
                wait_until_listening(proc, self.address, ports, self.startup_timeout)
            except LabError as e:
                self.stop()
                raise LabError(f"{e}: {self.log_tail()}") from None
            except BaseException:
                self.stop()
                raise
        self.target = target
        return target

    @property
    def running(self) -> bool:
        """Started here and the daemon has not exited."""
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self) -> str:
        """The last words of the daemon (stderr) and of its syslog, on one line."""
        return log_tail((self.layout.daemon_log, self.layout.syslog))

    def stop(self) -> None:
        """Stop the daemon and everything it started; safe to call twice or without start."""
        proc, sock, self._proc, self._syslog = self._proc, self._syslog, None, None
        try:
            if proc is not None:
                stop(self.layout.root)
                proc.wait()
        finally:
            if sock is not None:
                syslog.drain(sock, self.layout.syslog)
                sock.close()

    def __enter__(self) -> LabTarget:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def stop(state_dir: str | os.PathLike[str]) -> bool:
    """Stop the lab recorded in `state_dir` (by any process); False if none was running."""
    layout = Layout(Path(state_dir).absolute())
    daemon = Daemon.load(layout)
    if daemon is None:
        return False
    was_running = bool(daemon.members())
    daemon.terminate()
    layout.run.unlink(missing_ok=True)
    layout.syslog_socket.unlink(missing_ok=True)
    return was_running
