"""``sendmail.cf``, read the way sendmail's ``readcf`` reads it: what the daemon actually runs with.

Grammar kept: a line starting with a space or tab continues the previous one; a line starting with
``#`` is a comment, and elsewhere ``#`` starts a comment that also eats the blanks before it (``\\#``
is a literal ``#``, ``$#`` is the ``$#`` operator); trailing blanks are dropped. ``O Name=value`` sets
a long option (name case-insensitive, blanks around ``=`` ignored, ``Name.sub`` kept whole), ``Ox...``
the legacy one-letter form; ``Cx words`` / ``C{name} words`` add words to a class.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .daemons import DaemonSpec, parse_daemon_options

# The legacy one-letter options (readcf.c's OptionTab); `O` is DaemonPortOptions, the one still seen.
LETTER_OPTIONS = {
    "7": "SevenBitInput", "8": "EightBitMode", "A": "AliasFile", "a": "AliasWait", "B": "BlankSub",
    "b": "MinFreeBlocks", "C": "CheckpointInterval", "c": "HoldExpensive", "d": "DeliveryMode",
    "E": "ErrorHeader", "e": "ErrorMode", "F": "TempFileMode", "f": "SaveFromLine", "G": "MatchGECOS",
    "H": "HelpFile", "h": "MaxHopCount", "I": "ResolverOptions", "i": "IgnoreDots", "J": "ForwardPath",
    "j": "SendMimeErrors", "k": "ConnectionCacheSize", "K": "ConnectionCacheTimeout", "l": "UseErrorsTo",
    "L": "LogLevel", "m": "MeToo", "n": "CheckAliases", "o": "OldStyleHeaders", "O": "DaemonPortOptions",
    "p": "PrivacyOptions", "P": "PostmasterCopy", "q": "QueueFactor", "Q": "QueueDirectory",
    "R": "DontPruneRoutes", "r": "Timeout", "S": "StatusFile", "s": "SuperSafe", "T": "QueueTimeout",
    "t": "TimeZoneSpec", "U": "UserDatabaseSpec", "u": "DefaultUser", "V": "FallbackMXhost", "v": "Verbose",
    "w": "TryNullMXList", "x": "QueueLA", "X": "RefuseLA", "y": "RecipientFactor", "Y": "ForkEachJob",
    "z": "ClassFactor", "Z": "RetryFactor",
}  # fmt: skip

_CLASS = re.compile(r"C(\{[^}]*\}|.)(.*)", re.S)


@dataclass(frozen=True)
class CfOption:
    name: str
    value: str
    line: int

    def __str__(self) -> str:
        return f"O {self.name}={self.value}"


@dataclass(frozen=True)
class SendmailCf:
    """The options and classes of one cf; later ``O`` lines override earlier ones, as in sendmail."""

    options: tuple[CfOption, ...]
    classes: tuple[tuple[str, tuple[str, ...]], ...]
    version_level: int | None = None

    def all(self, name: str) -> tuple[CfOption, ...]:
        wanted = name.lower()
        return tuple(o for o in self.options if o.name.lower() == wanted)

    def option(self, name: str) -> CfOption | None:
        found = self.all(name)
        return found[-1] if found else None

    def get(self, name: str) -> str | None:
        found = self.option(name)
        return found.value if found else None

    def words(self, class_name: str) -> tuple[str, ...]:
        """The words of class ``x`` or ``{Name}`` (``$={TrustAuthMech}``), in order, without repeats."""
        seen: dict[str, None] = {}
        for name, words in self.classes:
            if name == class_name:
                seen.update(dict.fromkeys(words))
        return tuple(seen)

    @property
    def daemons(self) -> tuple[DaemonSpec, ...]:
        """Every ``DaemonPortOptions`` line is one listener (they accumulate, unlike other options)."""
        return tuple(parse_daemon_options(o.value) for o in self.all("DaemonPortOptions"))


def _folded(text: str) -> list[tuple[int, str]]:
    """Logical lines with the number of their first physical line; continuations keep their newline."""
    lines: list[tuple[int, str]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if line[:1] in (" ", "\t") and lines:
            lines[-1] = (lines[-1][0], lines[-1][1] + "\n" + line)
        else:
            lines.append((number, line))
    return lines


def _strip_comment(line: str) -> str:
    """readcf's translate_dollars: ``#`` after the first column ends the (physical) line."""
    out = []
    i = 0
    while i < len(line):
        c = line[i]
        if c == "#" and i > 0:
            if line[i - 1] == "$":
                out.append(c)
            elif line[i - 1] == "\\":
                out[-1] = "#"
            else:
                while out and out[-1] in " \t":
                    out.pop()
                end = line.find("\n", i)
                if end < 0:
                    break
                i = end
                continue
        else:
            out.append(c)
        i += 1
    return "".join(out).rstrip()


def _option(body: str, number: int) -> CfOption | None:
    if body.startswith(" "):
        name, eq, value = body.strip(" ").partition("=")
        name = name.strip(" ")
        return CfOption(name, value.lstrip(" ") if eq else "", number) if name else None
    if body:
        return CfOption(LETTER_OPTIONS.get(body[0], body[0]), body[1:], number)
    return None


def parse_cf(text: str) -> SendmailCf:
    options: list[CfOption] = []
    classes: list[tuple[str, tuple[str, ...]]] = []
    level = None
    for number, raw in _folded(text):
        if raw.startswith("#"):
            continue
        line = _strip_comment(raw)
        kind, body = line[:1], line[1:]
        if kind == "O":
            option = _option(body, number)
            if option:
                options.append(option)
        elif kind == "C" and (m := _CLASS.fullmatch(line)):
            classes.append((m.group(1).strip("{}"), tuple(m.group(2).split())))
        elif kind == "V" and (m := re.match(r"\s*(\d+)", body)):
            level = int(m.group(1))
    return SendmailCf(tuple(options), tuple(classes), level)
