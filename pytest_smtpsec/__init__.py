"""pytest-smtpsec: prove that a mail server is secured the way the note asks."""

from .checks import CHECKS, Check
from .client import SmtpClient
from .probe import ProbeError, Probes
from .target import AuthPolicy, Credentials, Ports, Role, Service, Target
from .verdict import CheckResult, Outcome, Verdict

__all__ = [
    "CHECKS",
    "AuthPolicy",
    "Check",
    "CheckResult",
    "Credentials",
    "Outcome",
    "Ports",
    "ProbeError",
    "Probes",
    "Role",
    "Service",
    "SmtpClient",
    "Target",
    "Verdict",
]
