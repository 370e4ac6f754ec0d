"""pytest-smtpsec: prove that a mail server is secured the way the note asks."""

from .checks import CHECKS, Check
from .client import SmtpClient
from .probe import ProbeError, Probes
from .target import AuthPolicy, Credentials, Ports, Role, Service, Target
from .verdict import CheckResult, Outcome, SmtpsecWarning, Verdict

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
    "SmtpsecWarning",
    "Target",
    "Verdict",
]
