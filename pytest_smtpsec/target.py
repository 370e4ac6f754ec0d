"""What to check: a mail host, the services it offers and how to talk to it."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path


class Service(str, Enum):
    """The three mail-submission doors of the note."""

    SMTP = "smtp"
    SUBMISSION = "submission"
    SMTPS = "smtps"

    @property
    def default_port(self) -> int:
        return _DEFAULT_PORTS[self]

    @property
    def implicit_tls(self) -> bool:
        """True where TLS comes first (465), False where STARTTLS upgrades a cleartext session."""
        return self is Service.SMTPS


_DEFAULT_PORTS = {Service.SMTP: 25, Service.SUBMISSION: 587, Service.SMTPS: 465}


class AuthPolicy(str, Enum):
    """The note's ``secure_auth``: ``migrate`` (no) tolerates cleartext AUTH for a while, ``enforce`` (yes) does not."""

    MIGRATE = "migrate"
    ENFORCE = "enforce"


class Role(str, Enum):
    """What a host is for, after the note's closing advice: few mail servers, every other host silent."""

    MAIL_SERVER = "mail-server"
    SUBMISSION_ONLY = "submission-only"
    RELAY_ONLY = "relay-only"
    NO_MAIL = "no-mail"

    @property
    def services(self) -> tuple[Service, ...]:
        """The services a host of this role must offer (none for ``no-mail``, which must offer nothing)."""
        return _ROLE_SERVICES[self]


_ROLE_SERVICES = {
    Role.MAIL_SERVER: (Service.SMTP, Service.SUBMISSION, Service.SMTPS),
    Role.SUBMISSION_ONLY: (Service.SUBMISSION, Service.SMTPS),
    Role.RELAY_ONLY: (Service.SMTP,),
    Role.NO_MAIL: (),
}


@dataclass(frozen=True)
class Credentials:
    """A login used to prove that authenticated users may relay. The password is never shown."""

    user: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class Ports:
    """Port per service; ``None`` means the host does not offer that service."""

    smtp: int | None = 25
    submission: int | None = 587
    smtps: int | None = 465

    def of(self, service: Service) -> int | None:
        port: int | None = getattr(self, service.value)
        return port


@dataclass(frozen=True)
class Target:
    """One mail host as the checks see it. Immutable, so it can key the probe cache."""

    host: str
    tls_name: str = ""
    ports: Ports = Ports()
    ca_file: Path | None = None
    credentials: Credentials | None = None
    timeout: float = 10.0
    ehlo_name: str = "pytest-smtpsec.invalid"
    auth_policy: AuthPolicy = AuthPolicy.ENFORCE
    role: Role = Role.MAIL_SERVER
    min_tls: str = "TLSv1.2"
    cert_warn_days: int = 30
    name: str = ""

    def __post_init__(self) -> None:
        if not self.tls_name:
            object.__setattr__(self, "tls_name", self.host)
        if not self.name:
            object.__setattr__(self, "name", self.tls_name)

    @property
    def services(self) -> tuple[Service, ...]:
        """The services to check: those of the role whose port is not off, in the note's order."""
        return tuple(s for s in self.role.services if self.ports.of(s) is not None)

    def port(self, service: Service) -> int:
        port = self.ports.of(service)
        if port is None:
            raise ValueError(f"{self.name} does not offer {service.value}")
        return port

    def address(self, service: Service) -> str:
        return f"{self.host}:{self.port(service)}"

    @property
    def sni(self) -> str | None:
        """The name to send in the TLS handshake (SNI): the TLS name, unless that is an IP address."""
        try:
            ipaddress.ip_address(self.tls_name)
        except ValueError:
            return self.tls_name
        return None
