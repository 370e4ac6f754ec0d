"""A simulated site on loopback: a few real sendmail servers of different profiles and many hosts that
must not offer mail, some of which wrongly do. Each host has its own 127.0.x.y address and the standard
ports, so the inventory reads like a real one."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .server import ReferenceServer
from .target import LabTarget

STANDARD_PORTS = {"smtp": 25, "submission": 587, "smtps": 465}
PASSWORD_ENV_PREFIX = "SMTPSEC_SITE_PASSWORD_"


@dataclass
class SimulatedSite:
    """``with SimulatedSite(root) as site:`` starts it; ``site.inventory`` is the TOML file to test."""

    root: Path
    mail_profiles: Sequence[str] = ("secure", "cleartext-auth", "self-signed", "open-relay")
    quiet_hosts: int = 24
    """``no-mail`` hosts with nothing listening (connections refused at once)."""
    noisy_profiles: Sequence[str] = ("secure", "vrfy-on")
    """``no-mail`` hosts that wrongly run a mail server (real sendmail) anyway."""
    subnet: int = 0
    """The second octet of every address (127.<subnet>.x.y), so that two sites can run side by side."""
    servers: list[ReferenceServer] = field(default_factory=list)
    environ: dict[str, str] = field(default_factory=dict)
    """Password variables the inventory refers to (``password_env``): put them in the test's environment."""

    @property
    def inventory(self) -> Path:
        return self.root / "site.toml"

    @property
    def size(self) -> int:
        return len(self.mail_profiles) + self.quiet_hosts + len(self.noisy_profiles)

    def start(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        planned = [(f"127.{self.subnet}.1.{i + 1}", p) for i, p in enumerate(self.mail_profiles)]
        planned += [(f"127.{self.subnet}.3.{i + 1}", p) for i, p in enumerate(self.noisy_profiles)]
        self.servers = [ReferenceServer(p, self.root / a, address=a, ports=STANDARD_PORTS) for a, p in planned]
        with ThreadPoolExecutor(max_workers=4) as pool:
            labs = list(pool.map(lambda s: s.start(), self.servers))
        mail, noisy = labs[: len(self.mail_profiles)], labs[len(self.mail_profiles) :]
        hosts = [self._mail_host(i, lab) for i, lab in enumerate(mail)]
        hosts += [self._no_mail_host(f"ws{i + 1:02d}.site.test", f"127.{self.subnet}.2.{i + 1}") for i in range(self.quiet_hosts)]
        hosts += [self._no_mail_host(f"printer{i + 1}.site.test", lab.host) for i, lab in enumerate(noisy)]
        self.inventory.write_text('[defaults]\nauth_policy = "enforce"\ntimeout = 5\n\n' + "\n".join(hosts))
        return self.inventory

    def _mail_host(self, index: int, lab: LabTarget) -> str:
        env = f"{PASSWORD_ENV_PREFIX}{index + 1}"
        self.environ[env] = lab.password
        return (
            f'[[host]]\nname = "mail{index + 1}.site.test"  # {lab.profile}\naddress = "{lab.host}"\n'
            f'tls_name = "{lab.tls_name}"\nrole = "mail-server"\nca_file = "{lab.ca_file}"\n'
            f'user = "{lab.user}"\npassword_env = "{env}"\n'
        )

    @staticmethod
    def _no_mail_host(name: str, address: str) -> str:
        return f'[[host]]\nname = "{name}"\naddress = "{address}"\nrole = "no-mail"\n'

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def __enter__(self) -> SimulatedSite:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
