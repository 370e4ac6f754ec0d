"""The network checks: one module each, named as its check, found by :func:`~.base.discover` (no list to keep)."""

from __future__ import annotations

from .base import Area, Check, CredentialsRefused, Fix, NetworkCheck, NotApplicable, ServiceCheck, TargetCheck, discover, run_at

CHECKS: dict[str, NetworkCheck] = {
    check.name: check for check in discover(__name__, __path__, (ServiceCheck, TargetCheck)) if isinstance(check, NetworkCheck)
}
"""Every check by its public name, in the order the suite runs them: by area, then by name."""

__all__ = ["CHECKS", "Area", "Check", "CredentialsRefused", "Fix", "NetworkCheck", "NotApplicable", "ServiceCheck", "TargetCheck", "run_at"]
