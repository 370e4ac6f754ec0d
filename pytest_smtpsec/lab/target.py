"""What a running lab hands to its clients: where to connect, what to trust, how to log in."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Protocol

from . import statedir
from .layout import Layout
from .profiles import TLS_NAME, USER

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
