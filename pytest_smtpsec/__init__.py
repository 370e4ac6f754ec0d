"""pytest-smtpsec: prove that a mail server is secured the way the note asks.

The public names are imported on first use (PEP 562), so that merely having the plugin installed costs
a pytest run next to nothing: ``import pytest_smtpsec`` loads neither the checks nor cryptography.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .checks import CHECKS, Check
    from .client import SmtpClient
    from .probe import ProbeError, Probes
    from .target import AuthPolicy, Credentials, Ports, Role, Service, Target
    from .verdict import CheckResult, Outcome, SmtpsecWarning, Verdict

__version__ = "0.2.0"

_WHERE = {
    "CHECKS": "checks",
    "Check": "checks",
    "SmtpClient": "client",
    "ProbeError": "probe",
    "Probes": "probe",
    "AuthPolicy": "target",
    "Credentials": "target",
    "Ports": "target",
    "Role": "target",
    "Service": "target",
    "Target": "target",
    "CheckResult": "verdict",
    "Outcome": "verdict",
    "SmtpsecWarning": "verdict",
    "Verdict": "verdict",
}

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


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_smtpsec' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
