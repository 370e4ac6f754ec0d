"""``sendmail.mc``, read with the m4 rules sendmail's configuration relies on.

What m4 does and we do too: `` `quoted' `` text (quotes nest) loses one level of quotes each time it
is read; ``dnl`` (a whole word, outside quotes) deletes up to and including the newline, also inside
an argument list; ``#`` starts a comment that runs to the end of the line and hides macro calls;
arguments are split at commas outside quotes and nested parentheses, leading blanks dropped; a name
defined earlier in the file is replaced by its definition, which is read again (so its commas,
quotes and ``dnl`` act); ``define``/``undefine`` act in order, and ``divert`` only routes output, so a
``define`` inside ``divert(-1)`` counts like any other.

What we do not do: expand sendmail's own m4 library (``cf.m4``), included files, conditionals
(``ifdef``/``ifelse``), or user macros called with arguments (``$1``); those calls are just recorded.
A line that starts with ``dnl`` is switched off; the calls on it are kept apart as ``disabled``, which
is how the note's vendor files ship the TLS settings (``dnl define(`confSERVER_CERT', ...)dnl``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .daemons import DaemonSpec, parse_daemon_options

_MAX_EXPANSIONS = 10_000
"""More definitions read than this means a definition that uses itself; m4 would loop forever."""


class McSyntaxError(ValueError):
    """Unbalanced quotes or parentheses, or endless recursion: m4 itself would stop or loop here."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line


@dataclass(frozen=True)
class MacroCall:
    """``name(args...)`` at top level; args as m4 collects them (one level of quotes removed)."""

    name: str
    args: tuple[str, ...]
    line: int

    def arg(self, index: int) -> str:
        return self.args[index] if index < len(self.args) else ""

    def __str__(self) -> str:
        return f"{self.name}({', '.join('`' + a + chr(39) for a in self.args)})"


def _is_word_start(c: str) -> bool:
    return c.isascii() and (c.isalpha() or c == "_")


def _is_word_char(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c == "_")


class _Frame:
    __slots__ = ("pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0


class _Scanner:
    """m4's input: the file at the bottom, definitions being read again stacked on top of it."""

    def __init__(self, text: str, defs: dict[str, str], first_line: int = 1) -> None:
        self.frames = [_Frame(text)]
        self.defs = defs
        self.line = first_line
        self.blank_line = True
        """Only blanks read so far on the file's current line."""
        self.expansions = 0

    def _frame(self) -> _Frame | None:
        while len(self.frames) > 1 and self.frames[-1].pos >= len(self.frames[-1].text):
            self.frames.pop()
        frame = self.frames[-1]
        return frame if frame.pos < len(frame.text) else None

    def in_file(self) -> bool:
        """Reading the file itself, not a definition pushed back on top of it."""
        self._frame()
        return len(self.frames) == 1

    def peek(self) -> str:
        frame = self._frame()
        return frame.text[frame.pos] if frame else ""

    def take(self) -> str:
        frame = self._frame()
        if frame is None:
            return ""
        c = frame.text[frame.pos]
        frame.pos += 1
        if len(self.frames) == 1:
            if c == "\n":
                self.line += 1
            self.blank_line = c == "\n" or (self.blank_line and c in " \t")
        return c

    def push(self, name: str) -> None:
        """Read ``name``'s definition next, as m4 does with an expansion."""
        self.expansions += 1
        if self.expansions > _MAX_EXPANSIONS:
            raise McSyntaxError(self.line, f"{name} expands without end (a definition that uses itself)")
        self.frames.append(_Frame(self.defs[name]))

    def word(self) -> str:
        out = []
        while _is_word_char(self.peek()):
            out.append(self.take())
        return "".join(out)

    def rest_of_line(self) -> str:
        """Consume through the newline; return what came before it (``dnl``)."""
        out = []
        while (c := self.take()) not in ("\n", ""):
            out.append(c)
        return "".join(out)

    def comment(self) -> str:
        """At ``#``: the comment through its newline, kept as m4 keeps it."""
        out = []
        while (c := self.take()) != "":
            out.append(c)
            if c == "\n":
                break
        return "".join(out)

    def quoted(self) -> str:
        """At a backquote: the text up to the matching quote, inner quotes kept."""
        start = self.line
        self.take()
        depth, out = 1, list[str]()
        while (c := self.take()) != "":
            if c == "`":
                depth += 1
            elif c == "'":
                depth -= 1
                if depth == 0:
                    return "".join(out)
            out.append(c)
        raise McSyntaxError(start, "end of file inside a `quoted' string")

    def expandable(self, word: str) -> bool:
        return word in self.defs and self.peek() != "("

    def args(self, name: str) -> tuple[str, ...]:
        """At ``(``: the arguments as m4 collects them."""
        start = self.line
        self.take()
        args: list[str] = []
        current: list[str] = []
        depth = 0
        skipping_blanks = True
        while (c := self.peek()) != "":
            if skipping_blanks and c in " \t\n":
                self.take()
                continue
            skipping_blanks = False
            if c == "`":
                current.append(self.quoted())
            elif c == "#":
                current.append(self.comment())
            elif _is_word_start(c):
                word = self.word()
                if word == "dnl":
                    self.rest_of_line()
                elif self.expandable(word):
                    self.push(word)
                else:
                    current.append(word)
            elif c == "(":
                depth += 1
                current.append(self.take())
            elif c == ")" and depth:
                depth -= 1
                current.append(self.take())
            elif c == ")":
                self.take()
                args.append("".join(current))
                return tuple(args)
            elif c == "," and not depth:
                self.take()
                args.append("".join(current))
                current, skipping_blanks = [], True
            else:
                current.append(self.take())
        raise McSyntaxError(start, f"end of file inside the arguments of {name}(")


@dataclass(frozen=True)
class McConfig:
    """The top-level macro calls of one mc, and the calls on lines switched off with ``dnl``."""

    calls: tuple[MacroCall, ...]
    disabled: tuple[MacroCall, ...] = ()

    def definitions(self) -> dict[str, MacroCall]:
        """The ``define`` in force for each name at the end of the file."""
        defs: dict[str, MacroCall] = {}
        for call in self.calls:
            if call.name == "define" and call.arg(0):
                defs[call.arg(0)] = call
            elif call.name == "undefine":
                for name in call.args:
                    defs.pop(name, None)
        return defs

    def _bodies(self) -> dict[str, str]:
        return {name: call.arg(1) for name, call in self.definitions().items()}

    def define(self, name: str) -> MacroCall | None:
        return self.definitions().get(name)

    def value(self, name: str) -> str | None:
        """What ``name`` expands to where sendmail's m4 files use it (None if not defined here)."""
        bodies = self._bodies()
        return expand(bodies[name], bodies) if name in bodies else None

    def disabled_define(self, name: str) -> MacroCall | None:
        """The last ``dnl define(`name', ...)`` line: the setting is there, switched off."""
        found = [c for c in self.disabled if c.name == "define" and c.arg(0) == name]
        return found[-1] if found else None

    def named(self, name: str) -> tuple[MacroCall, ...]:
        return tuple(c for c in self.calls if c.name == name)

    @property
    def daemons(self) -> tuple[tuple[MacroCall, DaemonSpec], ...]:
        bodies = self._bodies()
        return tuple((c, parse_daemon_options(expand(c.arg(0), bodies))) for c in self.named("DAEMON_OPTIONS"))

    @property
    def trust_auth_mech(self) -> tuple[str, ...]:
        bodies = self._bodies()
        words = [w for c in self.named("TRUST_AUTH_MECH") for w in expand(c.arg(0), bodies).split()]
        return tuple(dict.fromkeys(words))

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(c.arg(0) for c in self.named("FEATURE"))


def _apply(call: MacroCall, defs: dict[str, str]) -> None:
    if call.name == "define" and call.arg(0):
        defs[call.arg(0)] = call.arg(1)
    elif call.name == "undefine":
        for name in call.args:
            defs.pop(name, None)


def _scan(scanner: _Scanner, disabled: list[MacroCall] | None) -> list[MacroCall]:
    calls: list[MacroCall] = []
    while (c := scanner.peek()) != "":
        if c == "`":
            scanner.quoted()
        elif c == "#":
            scanner.comment()
        elif _is_word_start(c):
            line, line_start, in_file = scanner.line, scanner.blank_line, scanner.in_file()
            word = scanner.word()
            if word == "dnl":
                rest = scanner.rest_of_line()
                if disabled is not None and line_start and in_file:
                    try:
                        disabled.extend(_scan(_Scanner(rest, dict(scanner.defs), line), None))
                    except McSyntaxError:
                        pass  # prose after dnl ("dnl don't `do this"), not a switched-off setting
            elif scanner.expandable(word):
                scanner.push(word)
            elif scanner.peek() == "(":
                call = MacroCall(word, scanner.args(word), line)
                calls.append(call)
                _apply(call, scanner.defs)
        else:
            scanner.take()
    return calls


def parse_mc(text: str) -> McConfig:
    """Parse an mc; McSyntaxError if m4 would stop on it (or loop on one of its definitions)."""
    disabled: list[MacroCall] = []
    scanner = _Scanner(text, {})
    mc = McConfig(tuple(_scan(scanner, disabled)), tuple(disabled))
    bodies = mc._bodies()
    for name, call in mc.definitions().items():
        try:
            expand(bodies[name], bodies)
        except McSyntaxError as exc:
            raise McSyntaxError(call.line, str(exc).split(": ", 1)[1]) from None
    return mc


def expand(body: str, defs: dict[str, str]) -> str:
    """m4 reading a definition where it is used: quotes lose a level, defined names are read in turn."""
    scanner = _Scanner(body, defs)
    out: list[str] = []
    while (c := scanner.peek()) != "":
        if c == "`":
            out.append(scanner.quoted())
        elif c == "#":
            out.append(scanner.comment())
        elif _is_word_start(c):
            word = scanner.word()
            if word == "dnl":
                scanner.rest_of_line()
            elif scanner.expandable(word):
                scanner.push(word)
            else:
                out.append(word)
        else:
            out.append(scanner.take())
    return "".join(out)
