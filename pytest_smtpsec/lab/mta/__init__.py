"""Real Postfix and Exim beside the reference sendmail, each from its own cached Debian rootfs.

    with SERVERS["postfix"]("secure", tmp_path) as target:
        smtplib.SMTP(target.host, target.ports["submission"]) ...

Same interface as `..ReferenceServer`: `start() -> LabTarget`, `stop()`, context manager, and
`stop(state_dir)` from another process (`server_in(state_dir)` says which MTA a state dir runs).
"""

from __future__ import annotations

from .exim import EximServer
from .postfix import PostfixServer
from .profiles import PROFILES, MtaProfile
from .rootfs import CACHE_ENV, MirrorUnreachable, RootfsError
from .server import MtaServer, server_in, stop

SERVERS: dict[str, type[MtaServer]] = {"postfix": PostfixServer, "exim": EximServer}
"""The MTAs by the name `--server` takes."""

__all__ = [
    "CACHE_ENV",
    "PROFILES",
    "SERVERS",
    "EximServer",
    "MirrorUnreachable",
    "MtaProfile",
    "MtaServer",
    "PostfixServer",
    "RootfsError",
    "server_in",
    "stop",
]
