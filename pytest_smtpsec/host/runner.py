"""One small seam to the mail server's host: run a command, stat paths, read files.

Two implementations: :class:`LocalRunner` (this machine, subprocess and ``os``) and :class:`SshRunner`
(the system ``ssh`` client, key-based, ``BatchMode=yes``). Stats and reads take many paths at once so
that over ssh one invocation answers for all of them; :class:`~.facts.HostFacts` caches the answers.
"""

from __future__ import annotations

import os
import re
import shlex
import stat as st
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol
from urllib.parse import parse_qs, urlsplit

from .errors import HostConfigError, HostUnreachable, RunnerError

DEFAULT_TIMEOUT = 30.0
MAX_READ = 4 * 1024 * 1024
"""Bigger files are refused: the largest we read is a CA bundle (a few hundred kB)."""


class CommandResult(NamedTuple):
    code: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class PathStat:
    """``stat`` of a path following symlinks; ``error`` is the OS reason when it failed."""

    path: str
    error: str = ""
    missing: bool = False
    """The path (or the target of a symlink) does not exist; ``error`` says so too."""
    mode: int = 0
    uid: int = -1
    owner: str = ""
    gid: int = -1
    group: str = ""
    size: int = 0
    mtime: float = 0.0
    resolved: str = ""
    """The path with every symlink resolved, when that differs from ``path``."""

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def via_symlink(self) -> bool:
        return bool(self.resolved)

    @property
    def real_path(self) -> str:
        return self.resolved or self.path

    @property
    def perm(self) -> int:
        return st.S_IMODE(self.mode)

    @property
    def is_dir(self) -> bool:
        return st.S_ISDIR(self.mode)

    @property
    def is_file(self) -> bool:
        return st.S_ISREG(self.mode)

    @property
    def is_socket(self) -> bool:
        return st.S_ISSOCK(self.mode)

    def describe(self) -> str:
        """``-r-------- 0400 root:root``, as ``ls -l`` would show it."""
        return f"{st.filemode(self.mode)} {self.perm:04o} {self.owner or self.uid}:{self.group or self.gid}"


@dataclass(frozen=True)
class FileRead:
    """A file's bytes, or the OS reason it could not be read."""

    path: str
    data: bytes | None
    error: str = ""

    @property
    def missing(self) -> bool:
        return "No such file" in self.error


class Runner(Protocol):
    """Where the host facts come from. Paths are absolute paths on that host."""

    @property
    def name(self) -> str:
        """``local`` or ``ssh://user@host:port``: how reports name the host."""
        ...

    def run(self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT) -> CommandResult:
        """Run a command; a missing program gives 127 like a shell. RunnerError if it cannot run at all."""
        ...

    def stat(self, paths: Sequence[str]) -> dict[str, PathStat]:
        """Stat every path (following symlinks, saying where they lead) in one go."""
        ...

    def read(self, paths: Sequence[str]) -> dict[str, FileRead]:
        """Read every file (at most MAX_READ bytes each) in one go."""
        ...


def _check_paths(paths: Sequence[str]) -> None:
    for path in paths:
        if not path.startswith("/") or "\n" in path or "\t" in path:
            raise ValueError(f"host paths must be absolute and single-line: {path!r}")


def _resolved(path: str, real: str) -> str:
    return real if real and real != os.path.normpath(path) else ""


class LocalRunner:
    """This machine, as the user running pytest."""

    name = "local"

    def run(self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT) -> CommandResult:
        try:
            proc = subprocess.run(list(argv), capture_output=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            return CommandResult(127, "", f"{argv[0]}: command not found")
        except PermissionError as exc:
            return CommandResult(126, "", f"{argv[0]}: {exc.strerror}")
        except subprocess.TimeoutExpired:
            raise RunnerError(f"{shlex.join(argv)} did not finish within {timeout:g} s") from None
        return CommandResult(proc.returncode, _text(proc.stdout), _text(proc.stderr))

    def stat(self, paths: Sequence[str]) -> dict[str, PathStat]:
        _check_paths(paths)
        return {path: _local_stat(path) for path in paths}

    def read(self, paths: Sequence[str]) -> dict[str, FileRead]:
        _check_paths(paths)
        return {path: _local_read(path) for path in paths}


def _local_stat(path: str) -> PathStat:
    resolved = _resolved(path, os.path.realpath(path))
    try:
        s = os.stat(path)
    except OSError as exc:
        return PathStat(path, error=exc.strerror or str(exc), missing=isinstance(exc, FileNotFoundError), resolved=resolved)
    return PathStat(
        path,
        mode=s.st_mode,
        uid=s.st_uid,
        owner=_user(s.st_uid),
        gid=s.st_gid,
        group=_group(s.st_gid),
        size=s.st_size,
        mtime=s.st_mtime,
        resolved=resolved,
    )


def _local_read(path: str) -> FileRead:
    try:
        if os.path.isdir(path):
            return FileRead(path, None, "Is a directory")
        with open(path, "rb") as f:
            data = f.read(MAX_READ + 1)
    except OSError as exc:
        return FileRead(path, None, exc.strerror or str(exc))
    if len(data) > MAX_READ:
        return FileRead(path, None, f"larger than {MAX_READ} bytes")
    return FileRead(path, data)


def _user(uid: int) -> str:
    import pwd  # POSIX only: imported when a local host check runs, never at pytest start-up

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return ""


def _group(gid: int) -> str:
    import grp  # POSIX only, as above

    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return ""


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


# -- ssh ----------------------------------------------------------------------------------------------

# One line per path: "ok<TAB>mode-hex uid gid size mtime user group<TAB>resolved" or "err<TAB>reason<TAB>resolved".
# GNU coreutils and busybox both have `stat -c` and `readlink -f`; LC_ALL=C keeps the OS reasons parseable.
STAT_SCRIPT = r"""
export LC_ALL=C
for p do
  t=$(readlink -f -- "$p" 2>/dev/null) || t=
  if out=$(stat -L -c '%f %u %g %s %Y %U %G' -- "$p" 2>&1); then
    printf 'ok\t%s\t%s\n' "$out" "$t"
  else
    printf 'err\t%s\t%s\n' "$(printf '%s' "$out" | tr '\t\n' '  ')" "$t"
  fi
done
"""

# Per path a header line, "ok <n>" followed by exactly n bytes, or "err <reason>".
READ_SCRIPT = r"""
export LC_ALL=C
limit=$1; shift
for p do
  if [ -d "$p" ]; then echo "err Is a directory"; continue; fi
  if ! err=$( (exec 3<"$p") 2>&1 ); then
    echo "err $(printf '%s' "$err" | tr '\n' ' ')"; continue
  fi
  n=$(wc -c <"$p" | tr -d ' ')
  if [ "$n" -gt "$limit" ]; then echo "err larger than $limit bytes"; continue; fi
  echo "ok $n"
  head -c "$n" <"$p"
done
"""


def parse_stat_output(paths: Sequence[str], out: str) -> dict[str, PathStat]:
    """The answer of STAT_SCRIPT, one line per path in order."""
    lines = out.split("\n")[: len(paths)]
    if len(lines) != len(paths) or not all(lines):
        raise RunnerError(f"stat gave {len(lines)} answers for {len(paths)} paths: {out[:200]!r}")
    stats = {}
    for path, line in zip(paths, lines, strict=True):
        status, fields, real = [*line.split("\t"), "", ""][:3]
        resolved = _resolved(path, real)
        if status == "err":
            reason = fields.rsplit(": ", 1)[-1].strip() or fields
            stats[path] = PathStat(path, error=reason, missing="No such file" in reason, resolved=resolved)
            continue
        try:
            mode, uid, gid, size, mtime, user, group = fields.split(" ")
            stats[path] = PathStat(
                path,
                mode=int(mode, 16),
                uid=int(uid),
                owner="" if user == "UNKNOWN" else user,
                gid=int(gid),
                group="" if group == "UNKNOWN" else group,
                size=int(size),
                mtime=float(mtime),
                resolved=resolved,
            )
        except ValueError:
            raise RunnerError(f"unexpected stat answer for {path}: {line!r}") from None
    return stats


def parse_read_output(paths: Sequence[str], out: bytes) -> dict[str, FileRead]:
    """The answer of READ_SCRIPT: for each path a header line and, if "ok n", n bytes."""
    reads = {}
    pos = 0
    for path in paths:
        end = out.find(b"\n", pos)
        header = out[pos:end].decode("utf-8", "replace") if end >= 0 else ""
        if header.startswith("err "):
            reads[path] = FileRead(path, None, header[4:].rsplit(": ", 1)[-1].strip())
            pos = end + 1
            continue
        m = re.fullmatch(r"ok (\d+)", header)
        if not m or end + 1 + int(m.group(1)) > len(out):
            raise RunnerError(f"unexpected answer while reading {path} (did it change meanwhile?): {header[:80]!r}")
        pos = end + 1 + int(m.group(1))
        reads[path] = FileRead(path, out[end + 1 : pos])
    return reads


_SSH_QUERY = {"identity_file", "known_hosts", "strict_host_key_checking", "connect_timeout", "ssh_config"}
_NAME = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.@-]*")


@dataclass(frozen=True)
class SshRunner:
    """A remote host through the system ``ssh`` client: keys only, never a prompt (``BatchMode=yes``).

    Options left ``None`` fall back to the user's ssh configuration (``~/.ssh/config``, ``-F``).
    """

    host: str
    user: str | None = None
    port: int | None = None
    identity_file: str | None = None
    known_hosts: str | None = None
    strict_host_key_checking: str | None = None
    """``yes`` / ``accept-new`` / ``no``; None keeps ssh's own (``ask``, which BatchMode turns into a refusal)."""
    connect_timeout: int = 10
    ssh_config: str | None = None
    ssh: str = "ssh"

    @property
    def name(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ssh://{self.user + '@' if self.user else ''}{host}{f':{self.port}' if self.port else ''}"

    def argv(self, remote: Sequence[str]) -> list[str]:
        """The local ``ssh`` command line that runs ``remote`` (each word quoted for the remote shell)."""
        args = [self.ssh]
        if self.ssh_config:
            args += ["-F", self.ssh_config]
        args += ["-o", "BatchMode=yes", "-o", f"ConnectTimeout={self.connect_timeout}", "-o", "LogLevel=ERROR"]
        if self.identity_file:
            args += ["-i", self.identity_file, "-o", "IdentitiesOnly=yes"]
        if self.known_hosts:
            args += ["-o", f"UserKnownHostsFile={self.known_hosts}"]
        if self.strict_host_key_checking:
            args += ["-o", f"StrictHostKeyChecking={self.strict_host_key_checking}"]
        if self.port:
            args += ["-p", str(self.port)]
        return [*args, "--", f"{self.user}@{self.host}" if self.user else self.host, shlex.join(remote)]

    def _ssh(self, remote: Sequence[str], timeout: float) -> tuple[int, bytes, bytes]:
        try:
            proc = subprocess.run(self.argv(remote), capture_output=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise HostUnreachable(f"the ssh client ({self.ssh}) is not installed here") from None
        except subprocess.TimeoutExpired:
            raise RunnerError(f"{self.name}: {shlex.join(remote)[:80]} did not finish within {timeout:g} s") from None
        if proc.returncode == 255:
            raise HostUnreachable(f"{self.name}: ssh failed: {_text(proc.stderr).strip() or 'exit 255'}")
        return proc.returncode, proc.stdout, proc.stderr

    def run(self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT) -> CommandResult:
        code, out, err = self._ssh(argv, timeout)
        return CommandResult(code, _text(out), _text(err))

    def stat(self, paths: Sequence[str]) -> dict[str, PathStat]:
        _check_paths(paths)
        if not paths:
            return {}
        code, out, err = self._ssh(["sh", "-c", STAT_SCRIPT, "sh", *paths], DEFAULT_TIMEOUT)
        if code != 0:
            raise RunnerError(f"{self.name}: stat failed (exit {code}): {_text(err).strip()}")
        return parse_stat_output(paths, _text(out))

    def read(self, paths: Sequence[str]) -> dict[str, FileRead]:
        _check_paths(paths)
        if not paths:
            return {}
        code, out, err = self._ssh(["sh", "-c", READ_SCRIPT, "sh", str(MAX_READ), *paths], DEFAULT_TIMEOUT)
        if code != 0:
            raise RunnerError(f"{self.name}: reading files failed (exit {code}): {_text(err).strip()}")
        return parse_read_output(paths, out)


def runner_for(url: str) -> LocalRunner | SshRunner:
    """``local`` or ``ssh://[user@]host[:port][?identity_file=...&known_hosts=...]`` -> a runner.

    Query keys: identity_file, known_hosts, strict_host_key_checking (yes/accept-new/no),
    connect_timeout (seconds), ssh_config (an ``ssh -F`` file).
    """
    expected = "expected 'local' or 'ssh://[user@]host[:port]'"
    if url == "local":
        return LocalRunner()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise HostConfigError(f"host config {url!r}: {exc}; {expected}") from None
    if parts.scheme != "ssh" or not parts.hostname:
        raise HostConfigError(f"host config {url!r}: {expected}")
    if parts.password is not None:
        raise HostConfigError(f"host config {url!r}: no passwords; ssh runs with BatchMode=yes, use a key (identity_file=)")
    if parts.path not in ("", "/") or parts.fragment:
        raise HostConfigError(f"host config {url!r}: unexpected path or fragment; {expected}")
    user = parts.username
    for what, value in (("host", parts.hostname), ("user", user)):
        if value is not None and not (_NAME.fullmatch(value) or (what == "host" and ":" in value)):
            raise HostConfigError(f"host config {url!r}: bad {what} {value!r}")
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
    unknown = set(query) - _SSH_QUERY
    if unknown:
        raise HostConfigError(
            f"host config {url!r}: unknown option(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(_SSH_QUERY))}"
        )
    opts = {k: v[-1] for k, v in query.items()}
    strict = opts.get("strict_host_key_checking")
    if strict is not None and strict not in ("yes", "no", "accept-new"):
        raise HostConfigError(f"host config {url!r}: strict_host_key_checking must be yes, accept-new or no")
    try:
        timeout = int(opts.get("connect_timeout", "10"))
    except ValueError:
        raise HostConfigError(f"host config {url!r}: connect_timeout must be whole seconds") from None
    return SshRunner(
        host=parts.hostname,
        user=user,
        port=port,
        identity_file=opts.get("identity_file"),
        known_hosts=opts.get("known_hosts"),
        strict_host_key_checking=strict,
        connect_timeout=timeout,
        ssh_config=opts.get("ssh_config"),
    )
