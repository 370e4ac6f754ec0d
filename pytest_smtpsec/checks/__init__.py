"""The network checks: one module each, one line each in the table below (the built-in checks, in run order)."""

from __future__ import annotations

from . import (
    auth_after_tls,
    banner_hides_version,
    certificate_matches_host,
    certificate_trusted,
    certificate_valid,
    no_mail_service,
    relay_allowed_authenticated,
    relay_denied_unauthenticated,
    requires_starttls_before_auth,
    same_certificate_everywhere,
    smtps_implicit_tls,
    starttls_no_injection,
    submission_requires_tls,
    tls_ciphers,
    tls_protocols,
    vrfy_expn_disabled,
)
from .base import Area, Check, CredentialsRefused, Fix, NetworkCheck, NotApplicable, ServiceCheck, TargetCheck, run_at

CHECKS: dict[str, NetworkCheck] = {
    check.name: check
    for check in (
        requires_starttls_before_auth.CHECK,
        smtps_implicit_tls.CHECK,
        submission_requires_tls.CHECK,
        starttls_no_injection.CHECK,
        auth_after_tls.CHECK,
        relay_denied_unauthenticated.CHECK,
        relay_allowed_authenticated.CHECK,
        certificate_trusted.CHECK,
        certificate_matches_host.CHECK,
        certificate_valid.CHECK,
        same_certificate_everywhere.CHECK,
        tls_protocols.CHECK,
        tls_ciphers.CHECK,
        no_mail_service.CHECK,
        vrfy_expn_disabled.CHECK,
        banner_hides_version.CHECK,
    )
}
"""Every check by its public name, in the order the suite runs them."""

__all__ = ["CHECKS", "Area", "Check", "CredentialsRefused", "Fix", "NetworkCheck", "NotApplicable", "ServiceCheck", "TargetCheck", "run_at"]
