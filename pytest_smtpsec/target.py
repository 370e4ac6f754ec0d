"""What to check: a mail host, the services it offers, what each is for, and how to talk to it."""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from pathlib import Path


class Service(str, Enum):
    """The three mail doors of the note."""

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


class Hardening(str, Enum):
    """How checks beside the note count: ``warn`` (default: reported, the run still passes) or ``fail``."""

    WARN = "warn"
    FAIL = "fail"


class ServiceRole(str, Enum):
    """What one service is for.

    ``submission``: users log in there (the note's sendmail takes logins on all three ports), so AUTH must
    work inside TLS. ``mx``: mail from the world arrives there and nobody logs in (port 25 of Postfix's
    default ``master.cf``), so no login is expected; AUTH, if offered anyway, must still be safe.
    """

    SUBMISSION = "submission"
    MX = "mx"


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

    def service_role(self, service: Service) -> ServiceRole:
        """The role of ``service`` unless the user says otherwise: a relay-only host's port 25 is an MX."""
        return ServiceRole.MX if self is Role.RELAY_ONLY else ServiceRole.SUBMISSION


_ROLE_SERVICES = {
    Role.MAIL_SERVER: (Service.SMTP, Service.SUBMISSION, Service.SMTPS),
    Role.SUBMISSION_ONLY: (Service.SUBMISSION, Service.SMTPS),
    Role.RELAY_ONLY: (Service.SMTP,),
    Role.NO_MAIL: (),
}


@dataclass(frozen=True)
class Credentials:
    """A login used to prove that logins work and that authenticated users may relay. Never shown."""

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
class ServiceRoles:
    """A role per service; ``None`` means the host role's default (:meth:`Role.service_role`)."""

    smtp: ServiceRole | None = None
    submission: ServiceRole | None = None
    smtps: ServiceRole | None = None

    def of(self, service: Service) -> ServiceRole | None:
        role: ServiceRole | None = getattr(self, service.value)
        return role


DEFAULT_TIMEOUT = 10.0
DEFAULT_EHLO_NAME = "pytest-smtpsec.invalid"
DEFAULT_MIN_TLS = "TLSv1.2"
DEFAULT_CERT_WARN_DAYS = 30
MX_PORT = 25


def is_address(host: str) -> bool:
    """Whether ``host`` is an IP address (``[...]`` brackets allowed), not a name."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Target:
    """One mail host as the checks see it. Immutable, so it can key the probe cache.

    The defaults here are the only defaults: options and inventories that say nothing keep them.
    """

    host: str
    tls_name: str = ""
    ports: Ports = Ports()
    ca_file: Path | None = None
    credentials: Credentials | None = None
    timeout: float = DEFAULT_TIMEOUT
    ehlo_name: str = DEFAULT_EHLO_NAME
    auth_policy: AuthPolicy = AuthPolicy.ENFORCE
    role: Role = Role.MAIL_SERVER
    service_roles: ServiceRoles = ServiceRoles()
    min_tls: str = DEFAULT_MIN_TLS
    cert_warn_days: int = DEFAULT_CERT_WARN_DAYS
    hardening: Hardening = Hardening.WARN
    name: str = ""
    scan: tuple[str, ...] = ()
    """The sslyze command for the optional full TLS scan (``--smtpsec-scan``); empty: no scan."""
    domain: str = ""
    """The mail domain to check as the world sees it (``--smtpsec-domain``); empty: no DNS checks at all."""
    resolver: tuple[str, int] | None = None
    """The (validating) resolver for every domain lookup, address and port; None: the system's."""
    mx_port: int = MX_PORT
    """The port the domain's MX hosts are probed on (``--smtpsec-mx-port``): 25, as the world reaches them."""

    def __post_init__(self) -> None:
        if not self.tls_name:
            object.__setattr__(self, "tls_name", self.host)
        if not self.name:
            object.__setattr__(self, "name", self.tls_name)

    @functools.cached_property
    def _hash(self) -> int:
        return hash(tuple(getattr(self, f.name) for f in fields(self)))

    def __hash__(self) -> int:
        """The fields' hash, computed once: a target keys the engine's caches, asked several times per item."""
        return self._hash

    @property
    def services(self) -> tuple[Service, ...]:
        """The services to check: those of the role whose port is not off, in the note's order."""
        return tuple(s for s in self.role.services if self.ports.of(s) is not None)

    def service_role(self, service: Service) -> ServiceRole:
        """What ``service`` is for on this host: as configured, else the host role's default."""
        return self.service_roles.of(service) or self.role.service_role(service)

    def takes_logins(self, service: Service) -> bool:
        return self.service_role(service) is ServiceRole.SUBMISSION

    def login_matrix_service(self) -> Service | None:
        """The one service where every wrong login is tried on every mechanism (the others get the wrong
        password only): submission where users log in, else smtps, else smtp; None without credentials."""
        if self.credentials is None:
            return None
        return next((s for s in (Service.SUBMISSION, Service.SMTPS, Service.SMTP) if s in self.services and self.takes_logins(s)), None)

    def port(self, service: Service) -> int:
        port = self.ports.of(service)
        if port is None:
            raise ValueError(f"{self.name} does not offer {service.value}")
        return port

    def address(self, service: Service) -> str:
        return f"{self.host}:{self.port(service)}"

    def at(self, address: str) -> Target:
        """This host at one of its addresses, as a client without a login reaches it: the same name, ports,
        roles and rules; no credentials (wrong logins would multiply with the addresses), no domain."""
        return replace(self, host=address, credentials=None, domain="")

    def mx(self, name: str, address: str) -> Target:
        """MX host ``name`` of this target's domain, at ``address``, as the world reaches it: port 25 (or
        ``mx_port``) only, mail from the world (nobody logs in), a certificate that must name the MX; with this
        target's CA file, timeout, EHLO name and rules (TLS floor, hardening...), and no domain of its own."""
        return Target(
            host=address,
            tls_name=name,
            name=name,
            ports=Ports(self.mx_port, None, None),
            role=Role.RELAY_ONLY,
            service_roles=ServiceRoles(smtp=ServiceRole.MX),
            ca_file=self.ca_file,
            timeout=self.timeout,
            ehlo_name=self.ehlo_name,
            auth_policy=self.auth_policy,
            min_tls=self.min_tls,
            cert_warn_days=self.cert_warn_days,
            hardening=self.hardening,
        )

    @property
    def sni(self) -> str | None:
        """The name to send in the TLS handshake (SNI): the TLS name, unless that is an IP address."""
        return None if is_address(self.tls_name) else self.tls_name
