"""Everything the host checks look at, gathered lazily from one runner and cached for all of them.

Each fact is fetched once: a fact that cannot be had (CannotTell, RunnerError) is cached too, and
once the host proved unreachable (HostUnreachable: ssh refused, login or host key rejected) every
later question fails at once with that error, so a dead host is tried once, not once per check.
Stats and reads are batched: the first one asks for every path known at that point (the cf, the mc,
the SASL configuration, and once the cf is parsed, the certificate and key files it names), so over
ssh a whole run takes a handful of connections. Private keys are read into memory to compare them
with certificates; they are never written, logged or reported.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from .build_info import SendmailBuild, parse_build
from .errors import CannotTell, HostConfigError, HostError, HostUnreachable
from .note_options import TLS_FILES, NoteOption, Role
from .runner import DEFAULT_TIMEOUT, FileRead, PathStat, Runner, runner_for
from .sasl import SASL_CONF_CANDIDATES, SASLAUTHD_SOCKETS, SaslConf, parse_sasl_conf
from .sendmail_cf import SendmailCf, parse_cf
from .sendmail_mc import McConfig, McSyntaxError, parse_mc

DEFAULT_CF = "/etc/mail/sendmail.cf"
DEFAULT_MC = "/etc/mail/sendmail.mc"
DEFAULT_SENDMAIL = "/usr/sbin/sendmail"
DEFAULT_PID_FILES = ("/run/sendmail/mta/sendmail.pid", "/var/run/sendmail/mta/sendmail.pid", "/run/sendmail.pid", "/var/run/sendmail.pid")
"""Debian's and RedHat's, for a cf without ``O PidFile``."""

# `sendmail -d0.1 -bv root`, stopped once it has printed "Compiled with:" and then nothing for a moment:
# on a host whose own name is unqualified sendmail next sleeps 60 s ("My unqualified host name ...
# sleeping for retry"), and we need nothing that comes after the list.
BUILD_SCRIPT = r"""
out=$(mktemp) || exit 125
"$1" -d0.1 -bv root >"$out" 2>&1 </dev/null &
pid=$!
i=0 last=-1
while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do
  size=$(wc -c <"$out")
  [ "$size" = "$last" ] && grep -q 'Compiled with:' "$out" && break
  last=$size i=$((i + 1))
  sleep 0.3
done
kill "$pid" 2>/dev/null
wait "$pid"
cat "$out"; rm -f "$out"
"""

PS_COMMAND = "date +%s && LC_ALL=C ps -e -o pid= -o etimes= -o comm="
"""The host's clock and every process with its age, in one command."""

_T = TypeVar("_T")


@dataclass(frozen=True)
class HostPaths:
    """Where sendmail's files are on the host (Debian and RedHat agree on these defaults)."""

    cf: str = DEFAULT_CF
    mc: str = DEFAULT_MC
    sendmail: str = DEFAULT_SENDMAIL
    sasl_conf: tuple[str, ...] = SASL_CONF_CANDIDATES

    def __post_init__(self) -> None:
        for what, path in (
            ("sendmail.cf", self.cf),
            ("sendmail.mc", self.mc),
            ("sendmail binary", self.sendmail),
            *(("Sendmail.conf", p) for p in self.sasl_conf),
        ):
            if not path.startswith("/"):
                raise HostConfigError(f"{what} path must be absolute on the mail server's host: {path!r}")

    @classmethod
    def from_options(cls, cf: str | None = None, mc: str | None = None, sendmail: str | None = None) -> HostPaths:
        """From option values; None or "" means the default."""
        return cls(cf or DEFAULT_CF, mc or DEFAULT_MC, sendmail or DEFAULT_SENDMAIL)


@dataclass(frozen=True)
class Process:
    pid: int
    age: int
    """Seconds since it started."""
    command: str


@dataclass(frozen=True)
class ProcessTable:
    now: float
    """The host's clock when the table was taken (compare host times with host times only)."""
    processes: tuple[Process, ...]

    def get(self, pid: int) -> Process | None:
        return next((p for p in self.processes if p.pid == pid), None)

    def named(self, command: str) -> tuple[Process, ...]:
        return tuple(p for p in self.processes if p.command == command)


@dataclass(frozen=True)
class DaemonStart:
    pid: int
    started: float
    """Host clock, whole seconds."""
    pid_file: str


class _fact(Generic[_T]):
    """A cached fact; a HostError is cached and raised again, so a failure costs one attempt."""

    def __init__(self, fn: Callable[[HostFacts], _T]) -> None:
        self.fn = fn
        self.name = fn.__name__
        self.__doc__ = fn.__doc__

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> _fact[_T]: ...
    @overload
    def __get__(self, obj: HostFacts, owner: type[Any]) -> _T: ...
    def __get__(self, obj: HostFacts | None, owner: type[Any]) -> _fact[_T] | _T:
        if obj is None:
            return self
        if self.name not in obj._memo:
            try:
                obj._memo[self.name] = (True, self.fn(obj))
            except HostError as exc:
                obj._memo[self.name] = (False, exc)
        ok, value = obj._memo[self.name]
        if not ok:
            raise value.with_traceback(None)
        return value  # type: ignore[no-any-return]

    def ready(self, obj: HostFacts) -> bool:
        """Fetched already and without error (used to widen batches, never to fetch)."""
        return obj._memo.get(self.name, (False, None))[0] is True


class HostFacts:
    """The mail server's host as the checks see it. Build with :meth:`from_options` or a runner."""

    def __init__(self, runner: Runner, paths: HostPaths | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.runner = runner
        self.paths = paths or HostPaths()
        self.timeout = timeout
        self._memo: dict[str, tuple[bool, Any]] = {}
        self._stats: dict[str, PathStat] = {}
        self._reads: dict[str, FileRead] = {}
        self._unreachable: HostUnreachable | None = None

    def _ask(self, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """Call the runner; once the host proved unreachable, fail at once with the same error."""
        if self._unreachable is not None:
            raise self._unreachable.with_traceback(None)
        try:
            return fn(*args, **kwargs)
        except HostUnreachable as exc:
            self._unreachable = exc
            raise

    @classmethod
    def from_options(
        cls, host_config: str = "local", *, cf: str | None = None, mc: str | None = None, sendmail: str | None = None
    ) -> HostFacts:
        """From ``--smtpsec-host-config`` and the three path options (None or "" = default)."""
        return cls(runner_for(host_config), HostPaths.from_options(cf, mc, sendmail))

    @property
    def name(self) -> str:
        return self.runner.name

    def __repr__(self) -> str:
        return f"HostFacts({self.name}, cf={self.paths.cf})"

    # -- files, batched -------------------------------------------------------------------------

    def stat(self, path: str) -> PathStat:
        if not path.startswith("/"):
            return PathStat(path, error="not an absolute path")
        if path not in self._stats:
            batch = sorted({path, *self._known_stats()} - set(self._stats))
            self._stats.update(self._ask(self.runner.stat, batch))
        return self._stats[path]

    def read(self, path: str) -> FileRead:
        if not path.startswith("/"):
            return FileRead(path, None, "not an absolute path")
        if path not in self._reads:
            batch = sorted({path, *self._known_reads()} - set(self._reads))
            self._reads.update(self._ask(self.runner.read, batch))
        return self._reads[path]

    def data(self, path: str, what: str) -> bytes:
        """The bytes of a file that must be readable; CannotTell says why it is not."""
        found = self.read(path)
        if found.data is None:
            raise CannotTell(f"cannot read {what} {path}: {found.error}")
        return found.data

    def _known_reads(self) -> set[str]:
        paths = {self.paths.cf, self.paths.mc, *self.paths.sasl_conf}
        if HostFacts.cf.ready(self):
            paths.update(p for o, p in self.tls_paths.items() if o.role is not Role.CA_DIR)
            paths.update(self._pid_files())
        return {p for p in paths if p.startswith("/")}

    def _known_stats(self) -> set[str]:
        paths = {self.paths.cf, self.paths.mc, *SASLAUTHD_SOCKETS}
        if HostFacts.cf.ready(self):
            for path in self.tls_paths.values():
                paths.update((path, os.path.dirname(path)))
        if HostFacts.sasl.ready(self) and self.sasl:
            paths.update(self.sasl.sockets)
        return {p for p in paths if p.startswith("/")}

    # -- parsed configuration -------------------------------------------------------------------

    @_fact
    def cf(self) -> SendmailCf:
        """The cf sendmail runs with; CannotTell if it is missing or unreadable."""
        found = self.read(self.paths.cf)
        if found.data is None:
            hint = " (is sendmail installed there? --smtpsec-sendmail-cf names another cf)" if found.missing else ""
            raise CannotTell(f"cannot read {self.paths.cf}: {found.error}{hint}")
        return parse_cf(found.data.decode("utf-8", "replace"))

    @_fact
    def mc(self) -> McConfig | None:
        """The mc the cf is built from; None when there is none (a hand-written cf)."""
        found = self.read(self.paths.mc)
        if found.missing:
            return None
        if found.data is None:
            raise CannotTell(f"cannot read {self.paths.mc}: {found.error}")
        try:
            return parse_mc(found.data.decode("utf-8", "replace"))
        except McSyntaxError as exc:
            raise CannotTell(f"cannot parse {self.paths.mc}: {exc}") from None

    @property
    def tls_paths(self) -> dict[NoteOption, str]:
        """The certificate and key options the cf sets (non-empty), by option."""
        cf = self.cf
        return {o: value for o in TLS_FILES if (value := cf.get(o.cf))}

    @_fact
    def sasl(self) -> SaslConf | None:
        """The first Sendmail.conf that exists; None if there is none (Cyrus then uses auxprop)."""
        for path in self.paths.sasl_conf:
            found = self.read(path)
            if found.missing:
                continue
            if found.data is None:
                raise CannotTell(f"cannot read {path}: {found.error}")
            return parse_sasl_conf(path, found.data.decode("utf-8", "replace"))
        return None

    # -- commands -------------------------------------------------------------------------------

    @_fact
    def build(self) -> SendmailBuild:
        """``sendmail -d0.1 -bv root``: version and "Compiled with:" flags."""
        result = self._ask(self.runner.run, ["sh", "-c", BUILD_SCRIPT, "sh", self.paths.sendmail], timeout=self.timeout)
        build = parse_build(result.stdout)
        if build is None:
            said = (result.stdout.strip() or result.stderr.strip() or "no output").splitlines()[0][:200]
            raise CannotTell(f"`{self.paths.sendmail} -d0.1 -bv root` printed no 'Compiled with:' list: {said}")
        return build

    @_fact
    def processes(self) -> ProcessTable:
        """Every process with its age, and the host's clock, in one command."""
        result = self._ask(self.runner.run, ["sh", "-c", PS_COMMAND], timeout=self.timeout)
        lines = result.stdout.splitlines()
        if result.code != 0 or not lines or not lines[0].strip().isdigit():
            raise CannotTell(f"cannot list processes with ps (exit {result.code}): {result.stderr.strip()[:200]}")
        table = []
        for line in lines[1:]:
            fields = line.split(None, 2)
            if len(fields) == 3 and fields[0].isdigit() and fields[1].isdigit():
                table.append(Process(int(fields[0]), int(fields[1]), fields[2].strip()))
        return ProcessTable(float(lines[0]), tuple(table))

    def _pid_files(self) -> tuple[str, ...]:
        configured = self.cf.get("PidFile")
        return (configured,) if configured else DEFAULT_PID_FILES

    @_fact
    def daemon(self) -> DaemonStart:
        """The running sendmail daemon (from its pid file) and when it started."""
        reasons = []
        for pid_file in self._pid_files():
            if "$" in pid_file:
                reasons.append(f"{pid_file}: uses sendmail macros")
                continue
            found = self.read(pid_file)
            if found.data is None:
                reasons.append(f"{pid_file}: {found.error}")
                continue
            m = re.match(rb"\s*(\d+)", found.data)
            if not m:
                raise CannotTell(f"{pid_file} holds no pid")
            pid = int(m.group(1))
            table = self.processes
            proc = table.get(pid)
            if proc is None:
                raise CannotTell(f"{pid_file} names pid {pid}, which is not running (sendmail is stopped?)")
            if not proc.command.startswith("sendmail"):
                raise CannotTell(f"{pid_file} names pid {pid}, which is {proc.command!r}, not sendmail (a stale pid file)")
            return DaemonStart(pid, table.now - proc.age, pid_file)
        raise CannotTell(f"no sendmail pid file ({'; '.join(reasons)})")
