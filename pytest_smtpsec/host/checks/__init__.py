"""The host checks: one module each, one line each in the registry below."""

from __future__ import annotations

from . import (
    ca_file_has_issuer,
    key_files_protected,
    key_matches_certificate,
    saslauthd_running,
    sendmail_cf_options,
    sendmail_cf_rebuilt,
    sendmail_has_starttls_and_sasl,
)
from .base import HostCheck

HOST_CHECKS: dict[str, HostCheck] = {
    check.name: check
    for check in (
        sendmail_has_starttls_and_sasl.CHECK,
        sendmail_cf_options.CHECK,
        sendmail_cf_rebuilt.CHECK,
        key_files_protected.CHECK,
        key_matches_certificate.CHECK,
        ca_file_has_issuer.CHECK,
        saslauthd_running.CHECK,
    )
}
"""Every host check by its public name, in the order the suite runs them (the note's order)."""

__all__ = ["HOST_CHECKS", "HostCheck"]
