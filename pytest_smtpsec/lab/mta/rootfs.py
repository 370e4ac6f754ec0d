"""Debian root filesystems for the MTAs that cannot be installed beside the host's sendmail.

Postfix, Exim and sendmail all provide `mail-transport-agent`, so each MTA gets a root filesystem of
its own: `debootstrap --variant=minbase` once (the shared base), the MTA installed inside, docs and
apt lists stripped, and the result cached as a tarball named by a hash of its recipe. Every later run
only extracts it (about a second); a changed recipe builds anew, and the old tarball is pruned.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import LabError
from . import jail

SUITE = "bookworm"
CACHE_ENV = "SMTPSEC_ROOTFS_CACHE"
"""Environment variable naming the tarball cache (default ``~/.cache/pytest-smtpsec/rootfs``)."""
BUILD_TIMEOUT = 600.0  # one debootstrap or one apt-get run (about 30 s each here)
MIRROR_TIMEOUT = 15.0
HOSTNAME = "mail.test"
MARKER = ".pytest-smtpsec-rootfs"  # in an extracted rootfs: the key it was extracted from
_FORMAT = 1  # bump when the build steps below change in a way the recipes do not show

_STRIP = (
    "usr/share/doc/*",
    "usr/share/man/*",
    "usr/share/info/*",
    "usr/share/locale/*",
    "usr/share/lintian/*",
    "var/lib/apt/lists/*",
    "var/cache/apt/*",
    "var/cache/debconf/*-old",
    "var/log/*.log",
)
_NODOC = "".join(f"path-exclude=/{p}\n" for p in _STRIP[:5]) + "path-include=/usr/share/doc/*/copyright\n"
_FILES = {  # written into the base, before any package is installed
    "usr/sbin/policy-rc.d": ("#!/bin/sh\n# pytest-smtpsec: never start daemons while installing\nexit 101\n", 0o755),
    "etc/dpkg/dpkg.cfg.d/01-pytest-smtpsec-nodoc": (_NODOC, 0o644),
    "etc/apt/apt.conf.d/99-pytest-smtpsec": ('Acquire::Retries "3";\nAcquire::http::Timeout "30";\n', 0o644),
    "etc/hosts": (f"127.0.0.1\tlocalhost {HOSTNAME}\n::1\tlocalhost ip6-localhost ip6-loopback\n", 0o644),
    "etc/mailname": (f"{HOSTNAME}\n", 0o644),
}


class RootfsError(LabError):
    """A root filesystem could not be built or restored."""


class MirrorUnreachable(RootfsError):
    """No Debian mirror answered: a machine without network can only use tarballs cached before."""


@dataclass(frozen=True)
class Recipe:
    """What goes into one root filesystem. `setup` is shell run in the chroot after the install; it
    must not depend on a profile (that is written at start), so its text can key the cache."""

    name: str
    packages: tuple[str, ...] = ()
    debconf: tuple[str, ...] = ()  # debconf-set-selections lines, for questions asked at install
    setup: str = ""
    base: Recipe | None = None  # None: this is the debootstrap base itself
    suite: str = SUITE

    @property
    def key(self) -> str:
        parts = [_FORMAT, self.suite, self.name, self.packages, self.debconf, self.setup, _FILES, _STRIP]
        parts.append(self.base.key if self.base else "debootstrap --variant=minbase")
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


BASE = Recipe("base")


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pytest-smtpsec" / "rootfs"
    return Path(os.environ.get(CACHE_ENV) or default)


# -- where packages come from -------------------------------------------------------------------


@dataclass(frozen=True)
class Mirror:
    uri: str
    keyring: str | None = None


def _deb822_stanzas(text: str) -> Iterator[dict[str, str]]:
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line.startswith("#") or ":" not in line or line[0].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if fields:
            yield fields


def mirror(suite: str = SUITE, apt_dir: Path = Path("/etc/apt")) -> Mirror:
    """The host's own Debian mirror for `suite`, read from its apt sources (never hard-coded)."""
    for path in sorted(glob.glob(f"{apt_dir}/sources.list.d/*.sources")):
        for st in _deb822_stanzas(Path(path).read_text()):
            if st.get("enabled", "yes") != "no" and "deb" in st.get("types", "").split() and suite in st.get("suites", "").split():
                return Mirror(st["uris"].split()[0], st.get("signed-by") or None)
    for path in [f"{apt_dir}/sources.list", *sorted(glob.glob(f"{apt_dir}/sources.list.d/*.list"))]:
        try:
            lines = Path(path).read_text().splitlines()
        except FileNotFoundError:
            continue
        for line in lines:
            words = re.sub(r"\[[^]]*\]", "", line.split("#")[0]).split()
            if len(words) >= 3 and words[0] == "deb" and words[2] == suite:
                keyring = re.search(r"signed-by=(\S+?)[\s\]]", line)
                return Mirror(words[1], keyring.group(1) if keyring else None)
    raise RootfsError(f"no 'deb' source for {suite} in {apt_dir}/sources.list(.d): cannot tell which Debian mirror to use")


def _check_reachable(m: Mirror, suite: str) -> None:
    """Fail in seconds, with the reason, rather than let debootstrap retry for minutes."""
    if not m.uri.startswith(("http://", "https://")):
        return
    url = f"{m.uri.rstrip('/')}/dists/{suite}/Release"
    try:
        urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=MIRROR_TIMEOUT).close()
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise MirrorUnreachable(f"Debian mirror unreachable ({url}: {reason}); the rootfs cannot be built offline") from None


# -- building -----------------------------------------------------------------------------------


def _sh(argv: list[str], log: Path, what: str) -> None:
    """Run a host command with a bounded time, appending its output to the build log."""
    with open(log, "a") as out:
        out.write(f"\n$ {shlex.join(argv)}\n")
        out.flush()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            proc.wait(timeout=BUILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise RootfsError(f"{what} took longer than {BUILD_TIMEOUT:g}s; see {log}") from None
    if proc.returncode != 0:
        raise RootfsError(f"{what} failed (status {proc.returncode}): {_tail(log)}; full log: {log}")


def _tail(log: Path, lines: int = 4) -> str:
    text = log.read_text(errors="replace").strip().splitlines()
    return " | ".join(line.strip() for line in text[-lines:])


def _in_chroot(root: Path, script: str, log: Path, what: str) -> None:
    proc = jail.run(root, ["sh", "-ec", script], hostname=HOSTNAME, timeout=BUILD_TIMEOUT)
    with open(log, "a") as out:
        out.write(f"\n# in chroot: {what}\n{script}\n{proc.stdout}")
    if proc.returncode != 0:
        raise RootfsError(f"{what} failed in the chroot (status {proc.returncode}): {_tail(log)}; full log: {log}")


def _install_script(recipe: Recipe) -> str:
    lines = []
    if recipe.debconf:
        lines.append(f"printf '%s\\n' {shlex.join(recipe.debconf)} | debconf-set-selections")
    lines += [
        "apt-get update -q",
        f"apt-get install -y -q --no-install-recommends {shlex.join(recipe.packages)}",
        "apt-get clean",
    ]
    return "\n".join([*lines, recipe.setup])


def _strip(root: Path) -> None:
    for pattern in _STRIP:
        for path in glob.glob(str(root / pattern)):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)


def _compressor() -> tuple[str, list[str]]:
    """(suffix, tar flags to create): zstd when there is one, else gzip. tar detects either on extraction."""
    if shutil.which("zstd"):
        return ".tar.zst", ["-I", "zstd -T0 -3 -q"]
    return ".tar.gz", ["-z"]


def _build(recipe: Recipe, tarball: Path, log: Path) -> None:
    work = tarball.parent / f"tmp-{recipe.name}-{recipe.key}"
    if work.exists():
        shutil.rmtree(work)  # a build interrupted earlier (we hold the lock: nobody else uses it)
    work.mkdir(parents=True)
    try:
        if recipe.base is None:
            m = mirror(recipe.suite)
            _check_reachable(m, recipe.suite)
            if shutil.which("debootstrap") is None:
                # wait for a dpkg lock held by someone else rather than fail (never take it away)
                _sh(["apt-get", "install", "-y", "-q", "-o", "DPkg::Lock::Timeout=120", "debootstrap"], log, "apt-get install debootstrap")
            keyring = [f"--keyring={m.keyring}"] if m.keyring and os.path.exists(m.keyring) else []
            argv = ["debootstrap", "--variant=minbase", *keyring, recipe.suite, str(work), m.uri]
            _sh(argv, log, f"debootstrap from {m.uri}")
            for rel, (text, mode) in _FILES.items():
                path = work / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
                path.chmod(mode)
        else:
            _extract(ensure(recipe.base), work)
            resolv = work / "etc/resolv.conf"
            resolv.unlink(missing_ok=True)  # may be a dangling symlink
            shutil.copyfile("/etc/resolv.conf", resolv)  # for apt-get, removed again below
            try:
                _in_chroot(work, _install_script(recipe), log, f"installing {' '.join(recipe.packages)}")
            finally:
                resolv.write_text("")
        _strip(work)
        (work / MARKER).write_text(f"{recipe.name} {recipe.key}\n")
        partial = tarball.with_name(tarball.name + ".partial")
        _sh(["tar", "--numeric-owner", "-C", str(work), *_compressor()[1], "-cf", str(partial), "."], log, "tar")
        partial.rename(tarball)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One builder per recipe across processes; the others wait, then find the tarball built."""
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def tarball_path(recipe: Recipe) -> Path:
    return cache_dir() / f"{recipe.name}-{recipe.key}{_compressor()[0]}"


def ensure(recipe: Recipe) -> Path:
    """The cached tarball of `recipe`, built first if it is missing (bounded, logged, locked)."""
    tarball = tarball_path(recipe)
    if tarball.exists():
        return tarball
    if os.geteuid() != 0:
        raise RootfsError(f"building the {recipe.name} rootfs needs root (debootstrap, chroot, namespaces)")
    tarball.parent.mkdir(parents=True, exist_ok=True)
    with _locked(tarball.with_suffix(".lock")):
        if not tarball.exists():
            log = cache_dir() / f"{recipe.name}-{recipe.key}.log"
            log.write_text(f"# building {recipe.name} rootfs {recipe.key} at {time.ctime()}\n")
            _build(recipe, tarball, log)
            for old in cache_dir().glob(f"{recipe.name}-*"):
                if recipe.key not in old.name:
                    old.unlink(missing_ok=True)  # superseded recipes
    return tarball


def _extract(tarball: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["tar", "--numeric-owner", "-p", "-xf", str(tarball), "-C", str(dest)],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    if proc.returncode != 0:
        raise RootfsError(f"extracting {tarball} failed: {proc.stderr.strip()[-300:]}")


def restore(recipe: Recipe, dest: Path) -> Path:
    """`dest` holds the rootfs of `recipe`: reused if it was extracted from the same key, else fresh."""
    marker = dest / MARKER
    if marker.exists() and marker.read_text().split() == [recipe.name, recipe.key]:
        return dest
    tarball = ensure(recipe)
    if dest.exists():
        shutil.rmtree(dest)
    _extract(tarball, dest)
    return dest
