"""`ReferenceServer`: Debian's real sendmail, configured as a named profile, in a state directory."""

from __future__ import annotations

import glob
import ipaddress
import os
import shutil
import socket
from collections.abc import Mapping
from pathlib import Path

from . import statedir, syslog
from .errors import LabError
from .launch import SENDMAIL, log_tail, spawn, wait_until_listening
from .layout import Layout
from .mc import CF_M4
from .prepare import prepare
from .process import Daemon, orphaned, stop_group
from .profiles import PROFILES
from .target import LabServerBase, LabTarget

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


class ReferenceServer(LabServerBase):
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
        super().__init__(PROFILES[profile], state_dir, address=address, ports=ports, startup_timeout=startup_timeout, detached=detached)
        self.namespace = namespace
        self._syslog: socket.socket | None = None  # held to drain what the reader missed
        self._lifeline: int | None = None  # write end of the pipe whose EOF kills the daemon

    def _check_host(self) -> None:
        _check_host(self.address, self.namespace)

    def _running_here(self) -> int | None:
        running = Daemon.load(self.layout)
        return running.pid if running and running.members() else None

    def _launch(self, ports: Mapping[str, int | None]) -> LabTarget:
        alias = None if self.namespace else socket.gethostname()
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

    def log_tail(self) -> str:
        """The last words of the daemon (stderr) and of its syslog, on one line."""
        return log_tail((self.layout.daemon_log, self.layout.syslog))

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
