"""The reference sendmail: Debian's real daemon, configured as a named profile, on loopback.

with ReferenceServer("secure", tmp_path) as target:
    smtplib.SMTP(target.host, target.ports["submission"]) ...
"""

from __future__ import annotations

from .errors import LabError
from .pki import CA
from .profiles import PROFILES
from .server import ReferenceServer
from .target import LabServer, LabTarget

__all__ = ["CA", "PROFILES", "LabError", "LabServer", "LabTarget", "ReferenceServer"]
