"""The SMTP dialogue as evidence: every line in and out, with secrets masked before they are stored."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

MASK = "********"


def secret_forms(secret: str, user: str = "") -> tuple[str, ...]:
    """A password and the encodings AUTH PLAIN / AUTH LOGIN would carry it in."""
    if not secret:
        return ()
    raw = [secret.encode(), f"\0{user}\0{secret}".encode(), f"{user}\0{user}\0{secret}".encode()]
    encoded = [base64.b64encode(r).decode() for r in raw]
    return (secret, *encoded)


def mask(text: str, secrets: tuple[str, ...]) -> str:
    """Replace every secret (longest first, so encodings go before their parts) with the mask."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:  # "" would match between every character
            text = text.replace(secret, MASK)
    return text


@dataclass
class Transcript:
    """Lines of one session: ``C:`` sent, ``S:`` received, ``*`` events (TLS, errors)."""

    secrets: tuple[str, ...] = ()
    lines: list[str] = field(default_factory=list)

    def sent(self, line: str) -> None:
        self.lines.append("C: " + mask(line, self.secrets))

    def received(self, lines: list[str]) -> None:
        self.lines.extend("S: " + mask(line, self.secrets) for line in lines)

    def event(self, text: str) -> None:
        self.lines.append("*  " + mask(text, self.secrets))

    def render(self) -> str:
        return "\n".join(self.lines)
