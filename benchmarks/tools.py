"""The peers: the tools people use today to check a mail server's TLS, as command lines against one port.

Pinned: testssl.sh 3.0.8 and swaks from Debian (``apt-get install testssl.sh swaks libnet-ssleay-perl
libio-socket-ssl-perl``: swaks needs the last two for --tls), sslyze from PyPI
in a virtualenv under the benchmark's cache directory, so the project's environment is not touched.
Our suite's opt-in scan runs that venv's ``sslyze`` as a separate program (``--smtpsec-scan``), so the
cryptography sslyze pins never meets ours.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SSLYZE = "sslyze==6.3.1"
PY_SPY = "py-spy==0.4.3"
TESTSSL = "testssl"
SWAKS = "swaks"
TESTSSL_FLAGS = "--starttls smtp --quiet --color 0 --warnings off --nodns min --openssl-timeout 5 --connect-timeout 5"
"""testssl.sh's default run, with bounded waits, no DNS beyond the name given and plain output."""
SSLYZE_FLAGS = "--starttls smtp --quiet"
"""sslyze's default scan (what `--mozilla_config=intermediate`, the default, queues); it exits 1 on the lab CA."""
SWAKS_FLAGS = "--tls --auth PLAIN --quit-after AUTH --ehlo pytest-smtpsec.invalid --timeout 10"


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pytest-smtpsec-benchmarks"


def tools_venv(log: Callable[[str], None]) -> Path:
    """The venv with the pinned sslyze and py-spy, created on first use; its python."""
    venv = cache_dir() / ("venv-" + "-".join(p.replace("==", "") for p in (SSLYZE, PY_SPY)))
    python = venv / "bin" / "python"
    if not python.exists():
        log(f"creating {venv} ({SSLYZE}, {PY_SPY}) ...")
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", SSLYZE, PY_SPY], check=True, timeout=600)
    return python


@dataclass(frozen=True)
class Peer:
    name: str
    does: str
    command: Callable[[int], list[str]]
    """The command line against a given port (the server's, or a counting relay's)."""


@dataclass(frozen=True)
class Server:
    """Who the peers talk to: the reference sendmail (they connect to its submission port, STARTTLS)."""

    ip: str
    tls_name: str
    user: str
    password: str


def peers(server: Server, python: Path | None) -> tuple[list[Peer], list[str]]:
    """The peers that are installed, and a line for each that is not."""
    found, missing = [], []
    if shutil.which(TESTSSL):
        found.append(
            Peer(
                "testssl.sh " + _version([TESTSSL, "--version"], r"testssl\S*\s+([\d.]+)"),
                "default run: protocols, cipher categories, PFS, server defaults, vulnerabilities, client simulations",
                lambda port: [TESTSSL, *TESTSSL_FLAGS.split(), "--ip", server.ip, f"{server.tls_name}:{port}"],
            )
        )
    else:
        missing.append("testssl.sh: apt-get install testssl.sh")
    if python is not None:
        found.append(
            Peer(
                SSLYZE.replace("==", " "),
                "default scan: certificate, every cipher suite of SSLv2-TLS 1.3, vulnerabilities, curves",
                lambda port: [str(python), "-m", "sslyze", *SSLYZE_FLAGS.split(), f"{server.tls_name}:{port}{{{server.ip}}}"],
            )
        )
    else:
        missing.append(f"sslyze: pip install {SSLYZE} (into the benchmark's venv)")
    if shutil.which(SWAKS):
        found.append(
            Peer(
                "swaks " + _version([SWAKS, "--version"], r"version\s+(\S+)"),
                "one session: EHLO, STARTTLS, EHLO, AUTH PLAIN, QUIT",
                lambda port: [SWAKS, "--server", server.ip, "--port", str(port), *SWAKS_FLAGS.split(), *_login(server)],
            )
        )
    else:
        missing.append("swaks: apt-get install swaks libnet-ssleay-perl libio-socket-ssl-perl")
    return found, missing


def _login(server: Server) -> list[str]:
    return ["--auth-user", server.user, "--auth-password", server.password, "--from", server.user, "--to", f"postmaster@{server.tls_name}"]


def _version(command: list[str], pattern: str) -> str:
    try:
        text = subprocess.run(command, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    match = re.search(pattern, text)
    return match.group(1) if match else "?"
