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

from . import statedir, syslog
from .errors import LabError
from .launch import SENDMAIL, log_tail, spawn, wait_until_listening
from .layout import Layout
from .mc import CF_M4
from .ports import reserved_ports
from .prepare import prepare
from .process import Daemon, orphaned, stop_group
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
    /etc/sasl2 instead of mounting private copies over them. The daemon dies with this process
    (even a SIGKILLed one) unless `detached` (the CLI's `start`, which returns and leaves it running).
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
        detached: bool = False,
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
        self.detached = detached
        self._syslog: socket.socket | None = None  # held to drain what the reader missed
        self._lifeline: int | None = None  # write end of the pipe whose EOF kills the daemon

    def start(self) -> LabTarget:
        """Prepare the state dir, launch the daemon and return once every port accepts connections."""
        if self._proc is not None:
            raise LabError(f"already started ({self.layout.root})")
        _check_host(self.address, self.namespace)
        try:
            statedir.claim(self.layout.root)
        except OSError as e:
            raise LabError(f"cannot prepare or launch the lab in {self.layout.root}: {e}") from None
        with statedir.locked(self.layout.root):
            running = Daemon.load(self.layout)
            if running and running.members():
                raise LabError(f"a lab is already running in {self.layout.root} (pid {running.pid}); stop it first")
            alias = None if self.namespace else socket.gethostname()
            with reserved_ports(self.address, self.ports, smtps=self.profile.smtps) as ports:
                self.target = self._launch(ports, alias)
        return self.target

    def _launch(self, ports: Mapping[str, int | None], alias: str | None) -> LabTarget:
        try:
            target = prepare(self.profile, self.layout, self.address, ports, hostname_alias=alias)
            self._syslog = syslog.bind(self.layout.syslog_socket)
            lifeline = None
            if not self.detached:  # the daemon's watcher holds the read end; EOF means we are gone
                lifeline, self._lifeline = os.pipe()
            try:
                self._proc = spawn(self.layout, self._syslog, namespace=self.namespace, lifeline=lifeline)
            finally:
                if lifeline is not None:
                    os.close(lifeline)
        except OSError as e:
            self._halt()
            raise LabError(f"cannot prepare or launch the lab in {self.layout.root}: {e}") from None
        try:
            wait_until_listening(self._proc, self.address, ports, self.startup_timeout)
            Daemon.of(self._proc.pid).save(self.layout)
        except LabError as e:
            self._halt()
            raise LabError(f"{e}: {self.log_tail()}") from None
        except BaseException:
            self._halt()
            raise
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
        if self._proc is None:
            return
        with statedir.locked(self.layout.root, wait=statedir.LOCK_WAIT):
            self._halt()

    def _halt(self) -> None:
        proc, sock, lifeline = self._proc, self._syslog, self._lifeline
        self._proc = self._syslog = self._lifeline = None
        try:
            if proc is not None:
                stop_group(proc)
                statedir.remove(self.layout.run)
        finally:
            if lifeline is not None:
                os.close(lifeline)
            if sock is not None:
                syslog.drain(sock, self.layout.syslog)
                sock.close()

    def __enter__(self) -> LabTarget:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def stop(state_dir: str | os.PathLike[str]) -> bool:
    """Stop the lab recorded in `state_dir` (by any process); False if none was running.

    If the state dir was deleted while its lab ran, that lab is found by its working directory.
    """
    layout = Layout(Path(state_dir).absolute())
    if not statedir.check(layout.root):
        found = orphaned(layout.queue)
        for orphan in found:
            orphan.terminate()
        return bool(found)
    with statedir.locked(layout.root, wait=statedir.LOCK_WAIT):
        daemon = Daemon.load(layout)
        if daemon is None:
            return False
        was_running = bool(daemon.members())
        daemon.terminate()
        statedir.remove(layout.run)
        statedir.remove(layout.syslog_socket)
    return was_running
