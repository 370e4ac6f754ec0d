"""SMTP replies (RFC 5321 section 4.2): parsing with hard caps, so no server can make us read forever."""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_LINE = 2048
"""Longest reply line we accept; RFC 5321 allows 512 octets, real servers stay far below this."""
MAX_LINES = 200
"""Most lines in one multi-line reply (a long EHLO list has about 20)."""

_LINE = re.compile(rb"^([2-5][0-9][0-9])([ -]|$)(.*)$", re.DOTALL)
_ENHANCED = re.compile(r"^([245]\.\d{1,3}\.\d{1,3})\b")


class ReplyError(ValueError):
    """Bytes that are not an SMTP reply; ``seen`` holds them (the offending line, or its start)."""

    def __init__(self, problem: str, seen: bytes = b"") -> None:
        super().__init__(f"{problem}: {_shown(seen)}" if seen else problem)
        self.problem = problem
        self.seen = seen


@dataclass(frozen=True)
class Reply:
    """One complete reply: a three-digit code and its text lines."""

    code: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.lines)

    @property
    def enhanced(self) -> str | None:
        """The RFC 3463 enhanced status code (``5.3.3``), if the server sent one."""
        match = _ENHANCED.match(self.lines[0]) if self.lines else None
        return match.group(1) if match else None

    @property
    def positive(self) -> bool:
        return 200 <= self.code < 300

    @property
    def intermediate(self) -> bool:
        return 300 <= self.code < 400

    @property
    def permanent_failure(self) -> bool:
        return self.code >= 500

    def keywords(self) -> frozenset[str]:
        """EHLO extension keywords (the first word of every line but the greeting), upper-cased."""
        return frozenset(line.split()[0].upper() for line in self.lines[1:] if line.split())

    def extension(self, keyword: str) -> str | None:
        """The parameters of an EHLO extension (``"PLAIN LOGIN"`` for AUTH), or None if not advertised."""
        for line in self.lines[1:]:
            words = line.split(None, 1)
            if words and words[0].upper() == keyword.upper():
                return words[1] if len(words) > 1 else ""
        return None

    def auth_mechanisms(self) -> tuple[str, ...] | None:
        """The SASL mechanisms an EHLO reply offers, in both forms (``AUTH PLAIN`` and the old ``AUTH=PLAIN``);
        None when it offers no AUTH at all (an ``AUTH`` line without mechanisms is an empty tuple)."""
        found: list[str] | None = None
        for line in self.lines[1:]:
            words = line.upper().split()
            if words and (words[0] == "AUTH" or words[0].startswith("AUTH=")):
                found = found if found is not None else []
                named = [words[0][5:]] if words[0].startswith("AUTH=") and len(words[0]) > 5 else []
                found += [m for m in named + words[1:] if m not in found]
        return tuple(found) if found is not None else None

    def render(self) -> list[str]:
        """The reply as the server sent it, one string per line."""
        last = len(self.lines) - 1
        return [f"{self.code}{' ' if i == last else '-'}{line}".rstrip() for i, line in enumerate(self.lines)]

    def __str__(self) -> str:
        return " | ".join(self.render())


class ReplyReader:
    """Incremental parser: feed raw bytes, take complete replies. Caps line length and line count."""

    def __init__(self) -> None:
        self._buffer = b""
        self._lines: list[str] = []
        self._code: bytes | None = None

    @property
    def pending(self) -> bytes:
        """Bytes received but not yet part of a complete reply."""
        return self._buffer

    @property
    def pending_lines(self) -> int:
        """Lines of a multi-line reply already parsed while its last line is still to come."""
        return len(self._lines)

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def take(self) -> Reply | None:
        """The next complete reply, or None if more bytes are needed. Raises ReplyError on garbage."""
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                if len(self._buffer) > MAX_LINE:
                    raise ReplyError(f"reply line longer than {MAX_LINE} bytes without CRLF", self._buffer[:80])
                return None
            raw, self._buffer = self._buffer[:end].rstrip(b"\r"), self._buffer[end + 1 :]
            if len(raw) > MAX_LINE:
                raise ReplyError(f"reply line longer than {MAX_LINE} bytes", raw[:80])
            match = _LINE.match(raw)
            if not match:
                raise ReplyError("not an SMTP reply", raw)
            code, sep, text = match.groups()
            if self._code is not None and code != self._code:
                raise ReplyError("reply code changed inside a multi-line reply", raw)
            self._code = code
            self._lines.append(text.decode("utf-8", "replace"))
            if sep == b"-":
                if len(self._lines) >= MAX_LINES:
                    raise ReplyError(f"multi-line reply longer than {MAX_LINES} lines", raw)
                continue
            reply = Reply(int(code), tuple(self._lines))
            self._lines, self._code = [], None
            return reply


def _shown(raw: bytes, limit: int = 60) -> str:
    """A short printable rendering of bytes for an error message."""
    text = repr(raw[:limit])
    return text + ("..." if len(raw) > limit else "")


def parse_reply(data: bytes) -> Reply:
    """Parse exactly one complete reply from ``data`` (convenience for tests and tools)."""
    reader = ReplyReader()
    reader.feed(data)
    reply = reader.take()
    if reply is None:
        raise ReplyError("incomplete reply", data)
    if reader.pending:
        raise ReplyError("bytes after the reply", reader.pending)
    return reply
