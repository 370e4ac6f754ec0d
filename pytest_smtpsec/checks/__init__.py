"""The checks: one module each, one line each in the registry below."""

from __future__ import annotations

from . import requires_starttls_before_auth, smtps_implicit_tls
from .base import Check

CHECKS: dict[str, Check] = {
    check.name: check
    for check in (
        requires_starttls_before_auth.CHECK,
        smtps_implicit_tls.CHECK,
    )
}
"""Every check by its public name, in the order the suite runs them."""

__all__ = ["CHECKS", "Check"]
