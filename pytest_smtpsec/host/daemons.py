"""``DaemonPortOptions`` / ``DAEMON_OPTIONS`` values: which listener runs where, with which modifiers.

sendmail reads ``Port=submission, Name=MSA, M=Ea`` as comma-separated ``key=value`` pairs and looks
only at the first letter of each key, case-sensitively (``Modifiers=`` is ``M=``); the same text appears in the mc
(``DAEMON_OPTIONS(`...')``) and in the cf (``O DaemonPortOptions=...``), so one parser serves both.
"""

from __future__ import annotations

from dataclasses import dataclass

_KEYS = {"A": "Addr", "F": "Family", "M": "Modifiers", "N": "Name", "P": "Port"}
_PORTS = {"smtp": 25, "submission": 587, "smtps": 465}


@dataclass(frozen=True)
class DaemonSpec:
    """One listener. ``fields`` keeps every pair under its canonical key (first letter decides)."""

    text: str
    fields: tuple[tuple[str, str], ...]

    def get(self, key: str) -> str:
        return dict(self.fields).get(key, "")

    @property
    def name(self) -> str:
        return self.get("Name")

    @property
    def port(self) -> int | None:
        """The port number; a service name is resolved from the few sendmail users write."""
        port = self.get("Port") or "smtp"
        return int(port) if port.isdigit() else _PORTS.get(port.lower())

    @property
    def modifiers(self) -> frozenset[str]:
        return frozenset(c for c in self.get("Modifiers") if c.isalpha())

    @property
    def is_submission(self) -> bool:
        """A daemon for users who log in: judged by what it does (``M=a``: AUTH required), or by the port and
        name the note gives it (587, ``Name=MSA``), so one on another port is still recognised."""
        return "a" in self.modifiers or self.port == 587 or self.name.upper() == "MSA"

    @property
    def is_smtps(self) -> bool:
        """TLS from the first byte (``M=s``), whatever the port."""
        return "s" in self.modifiers

    @property
    def key(self) -> tuple[tuple[str, str], ...]:
        """What makes two specs the same listener, spacing and key spelling aside."""
        return tuple(sorted(self.fields))


def parse_daemon_options(text: str) -> DaemonSpec:
    fields = []
    for pair in text.split(","):
        key, _, value = pair.partition("=")
        key = key.strip()
        if key:
            fields.append((_KEYS.get(key[0], key), value.strip()))
    return DaemonSpec(text.strip(), tuple(fields))
