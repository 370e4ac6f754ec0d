"""What a running lab hands to its clients: where to connect, what to trust, how to log in."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

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

    def to_json(self) -> str:
        """One line of JSON, for shells and other processes."""
        return json.dumps({**asdict(self), "ca_file": str(self.ca_file)}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> LabTarget:
        data = json.loads(text)
        return cls(**{**data, "ca_file": Path(data["ca_file"])})
