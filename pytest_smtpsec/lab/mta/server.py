"""`MtaServer`: a real MTA from its own Debian rootfs, configured as a lab profile, on loopback.

The interface is the reference sendmail's (`..server.ReferenceServer`): `start() -> LabTarget`,
`stop()`, a context manager, everything in one state directory, and a module-level `stop(state_dir)`
for another process. Subclasses say which rootfs, how a profile becomes config files, and which
command runs the daemon in the foreground (it becomes PID 1 of the namespace).
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import shutil
import subprocess
import time
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from .. import statedir
from ..errors import LabError
from ..launch import log_tail, wait_until_listening
from ..layout import Layout
from ..pki import CA, LeafCert
from ..profiles import TLS_NAME
from ..target import LabServerBase, LabTarget
from . import jail, rootfs
from .profiles import PROFILES, MtaProfile


@dataclass(frozen=True)
class Instance:
    """Everything a subclass needs to write the config of one start."""

    root: Path  # the extracted rootfs
    profile: MtaProfile
    address: str
    ports: Mapping[str, int | None]
    cert: LeafCert
    user: str
    password: str
    other_cert: LeafCert | None = None  # what smtps presents in the mixed-certs profile

    @property
    def ipv6(self) -> bool:
        return ":" in self.address

    def write(self, rel: str, text: str | bytes, mode: int = 0o644, group: str | None = None) -> Path:
        """Write a file into the rootfs; `group` is looked up in the rootfs's /etc/group, not the host's.

        The mtime is set a minute back: Postfix re-reads a config file until it is a second old (it
        might still be being edited), which would add up to two seconds to every start.
        """
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        path.chmod(mode)
        past = time.time() - 60
        os.utime(path, (past, past))
        if group is not None:
            os.chown(path, 0, self.gid(group))
        return path

    def gid(self, group: str) -> int:
        for line in (self.root / "etc/group").read_text().splitlines():
            fields = line.split(":")
            if fields[0] == group:
                return int(fields[2])
        raise LabError(f"group {group} missing in {self.root}/etc/group")

    def run(self, argv: list[str], input: str | None = None) -> str:
        """A one-off command inside the rootfs (e.g. saslpasswd2), before the daemon starts."""
        proc = jail.run(self.root, argv, hostname=TLS_NAME, timeout=30.0, input=input)
        if proc.returncode != 0:
            raise LabError(f"{argv[0]} failed in {self.root}: {proc.stdout.strip()[-300:]}")
        return proc.stdout


def _check_host(address: str) -> None:
    if os.geteuid() != 0:
        raise LabError("root is needed: the MTA runs chrooted in a private mount/UTS/PID namespace (unshare)")
    for tool in ("unshare", "mount", "tar"):
        if shutil.which(tool) is None:
            raise LabError(f"{tool} not found on PATH (util-linux / tar)")
    try:
        loopback = ipaddress.ip_address(address).is_loopback
    except ValueError:
        raise LabError(f"address must be an IP address, not {address!r}") from None
    if not loopback:
        raise LabError(f"the lab listens on loopback only, {address} is not")


class MtaServer(LabServerBase):
    """A real MTA configured as `profile`; its rootfs, certificates and logs live in `state_dir`."""

    mta: ClassVar[str]
    recipe: ClassVar[rootfs.Recipe]
    logs: ClassVar[tuple[str, ...]]  # the MTA's own logs, relative to the rootfs, for error messages

    def __init__(
        self,
        profile: str,
        state_dir: Path | str,
        *,
        address: str = "127.0.0.1",
        ports: Mapping[str, int | None] | None = None,
        startup_timeout: float = 10.0,
        detached: bool = False,
    ) -> None:
        if profile not in PROFILES:
            raise LabError(f"unknown {self.mta} profile {profile!r}; known: {', '.join(PROFILES)}")
        super().__init__(PROFILES[profile], state_dir, address=address, ports=ports, startup_timeout=startup_timeout, detached=detached)
        self._jail: jail.Jail | None = None
        self._lifeline: tuple[int, subprocess.Popen[bytes]] | None = None

    @property
    def rootfs(self) -> Path:
        return self.layout.root / "rootfs"

    @abstractmethod
    def configure(self, instance: Instance) -> None:
        """Write the profile's configuration, certificate and login into the rootfs."""

    @abstractmethod
    def command(self) -> list[str]:
        """The daemon in the foreground, as run inside the rootfs."""

    def _check_host(self) -> None:
        _check_host(self.address)

    def _running_here(self) -> int | None:
        running = jail.Jail.load(self.layout.run)
        return running.init_pid if running and (running.alive or running.members()) else None

    def _launch(self, ports: Mapping[str, int | None]) -> LabTarget:
        """Restore the rootfs, configure it and start the daemon while `ports` are held; return once they all
        accept connections."""
        rootfs.restore(self.recipe, self.rootfs)
        ca = CA()
        ca.cert_pem.write_to_path(self.layout.cacert)
        target = LabTarget.of(self.profile.name, self.address, ports, self.layout.cacert, secrets.token_urlsafe(16))
        cert = self.profile.cert.issue(ca, self.address)
        other = self.profile.cert.issue(ca, self.address) if self.profile.mixed_certs else None
        self.configure(Instance(self.rootfs, self.profile, self.address, ports, cert, target.user, target.password, other))
        self._jail, self._proc = jail.spawn(self.rootfs, self.command(), hostname=TLS_NAME, log=self.layout.daemon_log)
        try:
            if not self.detached:
                self._lifeline = jail.tie(self._jail)
            self._jail.save(self.layout.run, server=self.mta)
            self._wait_listening(ports)
        except BaseException:
            self._halt()
            raise
        target.write(self.layout.target)
        return target

    def log_tail(self) -> str:
        """The last words of the daemon (stdout/stderr) and of the MTA's own logs, on one line."""
        return log_tail((self.layout.daemon_log, *(self.rootfs / rel for rel in self.logs)))

    def _wait_listening(self, ports: Mapping[str, int | None]) -> None:
        assert self._proc is not None
        try:
            wait_until_listening(self._proc, self.address, ports, self.startup_timeout, daemon=self.mta)
        except LabError as e:
            raise LabError(f"{e}: {self.log_tail()}") from None

    def pids(self) -> list[int]:
        """Host pids of every process in the MTA's namespace, for measurements."""
        return self._jail.members() if self._jail is not None else []

    def _halt(self) -> None:
        proc, lifeline, self._proc, self._lifeline = self._proc, self._lifeline, None, None
        if proc is None:
            return
        try:
            _stop_recorded(self.layout)
        finally:
            proc.wait(timeout=5)
            if lifeline is not None:
                os.close(lifeline[0])  # the init is gone: its watcher finds nothing to kill and exits
                lifeline[1].wait(timeout=5)


def server_in(state_dir: Path | str) -> str | None:
    """Which MTA (`postfix`, `exim`) a state dir's run record names; None if none is recorded."""
    try:
        server = json.loads(statedir.read(Layout(Path(state_dir).absolute()).run) or "").get("server")
    except (ValueError, AttributeError):
        return None
    return server if isinstance(server, str) else None


def stop(state_dir: Path | str) -> bool:
    """Stop the MTA recorded in `state_dir` (from any process); False if none was running."""
    layout = Layout(Path(state_dir).absolute())
    if not statedir.check(layout.root):
        return False
    with statedir.locked(layout.root, wait=statedir.LOCK_WAIT):
        return _stop_recorded(layout)


def _stop_recorded(layout: Layout) -> bool:
    recorded = jail.Jail.load(layout.run)
    if recorded is None:
        return False
    was_running = recorded.alive
    recorded.stop()
    statedir.remove(layout.run)
    return was_running
