"""What a running lab hands to its clients: where to connect, what to trust, how to log in."""

from __future__ import annotations

import json
import os
import subprocess
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Protocol

from . import statedir
from .errors import LabError
from .layout import Layout
from .profiles import TLS_NAME, USER, Profile

SERVICES = ("smtp", "submission", "smtps")


@dataclass(frozen=True)
class LabTarget:
    host: str  # the IP address to connect to
    tls_name: str  # the name the certificate is checked against (SNI / hostname check)
    ports: dict[str, int | None]  # smtp, submission, smtps; None where nothing listens
    ca_file: Path  # the lab CA, the only trust anchor clients need
    user: str
    password: str = field(repr=False)
    profile: str

    @classmethod
    def of(cls, profile: str, address: str, ports: Mapping[str, int | None], ca_file: Path, password: str) -> LabTarget:
        """A lab server's target: every lab serves ``mail.test`` and logs ``alice@mail.test`` in."""
        return cls(address, TLS_NAME, dict(ports), ca_file, f"{USER}@{TLS_NAME}", password, profile)

    def write(self, path: Path) -> None:
        """As ``target.json`` in a state dir: one line, readable by its owner only (it holds the password); a
        fresh file, never written through a symlink or with the mode of one found there."""
        statedir.write(path, self.to_json() + "\n", 0o600)

    def to_json(self) -> str:
        """One line of JSON, for shells and other processes."""
        return json.dumps({**asdict(self), "ca_file": str(self.ca_file)}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> LabTarget:
        data = json.loads(text)
        return cls(**{**data, "ca_file": Path(data["ca_file"])})


class LabServer(Protocol):
    """What every lab server is: sendmail's :class:`~.server.ReferenceServer`, Postfix's and Exim's
    :class:`~.mta.MtaServer`. One profile, one state dir (``layout``), on loopback; ``stop`` is safe twice.
    Each server module also has ``stop(state_dir)``, for another process."""

    layout: Layout
    target: LabTarget | None

    def start(self) -> LabTarget:
        """Configure, start, and return once every port accepts connections."""

    def stop(self) -> None: ...

    @property
    def running(self) -> bool:
        """Started here and the daemon has not exited."""

    def log_tail(self) -> str:
        """The daemon's last words, on one line, for error messages."""

    def __enter__(self) -> LabTarget: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None: ...


class LabServerBase(ABC):
    """What sendmail's and the other MTAs' lab servers share: the state dir, one start at a time, the
    context manager. A subclass checks the host, says what already runs in the dir, launches and halts."""

    def __init__(
        self,
        profile: Profile,
        state_dir: str | os.PathLike[str],
        *,
        address: str = "127.0.0.1",
        ports: Mapping[str, int | None] | None = None,
        startup_timeout: float = 10.0,
        detached: bool = False,
    ) -> None:
        self.profile = profile
        self.layout = Layout(Path(state_dir).absolute())
        self.address = address
        self.ports = ports
        self.startup_timeout = startup_timeout
        self.detached = detached
        """Leave the daemon running when this process exits (the CLI's `start`); else it dies with it."""
        self.target: LabTarget | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> LabTarget:
        """Claim and lock the state dir, launch the daemon on reserved ports, return once every port answers."""
        if self._proc is not None:
            raise LabError(f"already started ({self.layout.root})")
        self._check_host()
        try:
            statedir.claim(self.layout.root)
        except OSError as e:
            raise LabError(f"cannot prepare or launch the lab in {self.layout.root}: {e}") from None
        from .ports import reserved_ports  # ports imports this module

        with statedir.locked(self.layout.root):
            if (running := self._running_here()) is not None:
                raise LabError(f"a lab is already running in {self.layout.root} (pid {running}); stop it first")
            with reserved_ports(self.address, self.ports, smtps=self.profile.smtps) as ports:
                self.target = self._launch(ports)
        return self.target

    @property
    def running(self) -> bool:
        """Started here and the daemon has not exited."""
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        """Stop the daemon and everything it started; safe to call twice or without start."""
        if self._proc is not None:
            with statedir.locked(self.layout.root, wait=statedir.LOCK_WAIT):
                self._halt()

    def __enter__(self) -> LabTarget:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    @abstractmethod
    def _check_host(self) -> None:
        """Fail before writing anything, with what to do about it (root, tools, a loopback address)."""

    @abstractmethod
    def _running_here(self) -> int | None:
        """The pid of a lab that already runs from this state dir, if any."""

    @abstractmethod
    def _launch(self, ports: Mapping[str, int | None]) -> LabTarget:
        """Configure and start the daemon while ``ports`` are held; return once they all accept connections."""

    @abstractmethod
    def _halt(self) -> None:
        """Stop the daemon started here (the state dir is locked)."""

    @abstractmethod
    def log_tail(self) -> str:
        """The daemon's last words, on one line, for error messages."""
