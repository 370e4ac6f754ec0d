"""The expected verdict of every check on every reference profile: one table for sendmail, Postfix and Exim.

A profile is one misconfiguration, and a check must give the same verdict for it whatever server makes
the mistake. Items read ``"<service or host>::<check>"``; every item not listed must pass.
"""

from __future__ import annotations

from collections.abc import Iterable

from pytest_smtpsec.checks import CHECKS, run_at
from pytest_smtpsec.probe import Probes
from pytest_smtpsec.target import Target

SERVICES = ("smtp", "submission", "smtps")
NEED_A_LOGIN = ("auth_after_tls", "relay_allowed_authenticated")
"""Checks that skip where no user is given (they log in); elsewhere they could not check like the rest."""

NO_STARTTLS_SKIPS = {
    f"{service}::{check}": "skip"
    for service in ("smtp", "submission")
    for check in (
        "starttls_no_injection",
        "certificate_trusted",
        "certificate_matches_host",
        "certificate_valid",
        "tls_protocols",
        "tls_ciphers",
    )
} | {f"{service}::{check}": "skip" for service in ("smtp", "submission") for check in ("auth_after_tls", "relay_allowed_authenticated")}
"""Where STARTTLS is not offered. same_certificate_everywhere still compares smtps with and without SNI."""

SMTPS_AFTER_TLS = (
    "auth_after_tls", "relay_denied_unauthenticated", "relay_allowed_authenticated",
    "certificate_trusted", "certificate_matches_host", "certificate_valid",
    "tls_protocols", "tls_ciphers", "banner_hides_version",
)  # fmt: skip
"""What needs TLS on the smtps port: "could not check" where that port speaks cleartext."""

PROFILE_VERDICTS: dict[str, dict[str, str]] = {
    "secure": {},
    "cleartext-auth": {f"{s}::requires_starttls_before_auth": "fail" for s in ("smtp", "submission")},
    "no-starttls": {**{f"{s}::requires_starttls_before_auth": "fail" for s in ("smtp", "submission")}, **NO_STARTTLS_SKIPS},
    "self-signed": {f"{s}::certificate_trusted": "fail" for s in SERVICES},
    "wrong-hostname": {f"{s}::certificate_matches_host": "fail" for s in SERVICES},
    "expired": {f"{s}::certificate_valid": "fail" for s in SERVICES},
    "weak-key": {f"{s}::certificate_valid": "fail" for s in SERVICES},
    "old-tls": {f"{s}::tls_protocols": "fail" for s in SERVICES},
    "open-relay": {f"{s}::relay_denied_unauthenticated": "fail" for s in ("smtp", "smtps")},  # 587 takes no MAIL without AUTH
    "relay-local-from": {f"{s}::relay_denied_unauthenticated": "fail" for s in ("smtp", "smtps")},
    "vrfy-on": {f"{s}::vrfy_expn_disabled": "warn" for s in ("smtp", "submission")},  # hardening: warns by default
    "no-smtps": {},
    "submission-open": {"submission::submission_requires_tls": "fail"},
    "no-auth-relay": {f"{s}::relay_allowed_authenticated": "fail" for s in SERVICES},
    "default-banner": {f"{s}::banner_hides_version": "warn" for s in SERVICES},
    "weak-ciphers": {f"{s}::tls_ciphers": "fail" for s in SERVICES},
    "smtps-cleartext": {"smtps::smtps_implicit_tls": "fail", **{f"smtps::{c}": "error" for c in SMTPS_AFTER_TLS}},
    "mixed-certs": {"host::same_certificate_everywhere": "fail"},
}

MTA_DIFFERENCES: dict[tuple[str, str, str], tuple[str, str]] = {
    **{
        (mta, "open-relay", "smtps::relay_denied_unauthenticated"): (
            "pass",
            f"the {mta} lab's 465 takes MAIL only after AUTH (as sendmail's 587 does with M=Ea), so the profile's open "
            "relay on 25 does not reach it; sendmail's 465 shares port 25's relay rules and relays too",
        )
        for mta in ("postfix", "exim")
    },
    # (mta, profile, item): (the right verdict, why this MTA really behaves differently) - not check bugs
    ("postfix", "vrfy-on", "submission::vrfy_expn_disabled"): (
        "pass",
        "Postfix applies smtpd_relay_restrictions to VRFY: on 587 it answers '530 5.7.0 Must issue a STARTTLS "
        "command first', then '554 5.7.1 ... Access denied' for every name until AUTH; strangers learn nothing",
    ),
}


def item_count(*targets: Target, checks: Iterable[str] = tuple(CHECKS)) -> int:
    """How many built-in items the suite makes for ``targets``: each check once per service it applies to, or
    once per host (only ``checks`` counted)."""
    return sum(len(CHECKS[name].places(target)) for target in targets for name in checks)


def verdict_table(target: Target) -> dict[str, str]:
    """``{"<service or host>::<check>": verdict}`` for the whole suite against one target."""
    probes = Probes(target)
    return {
        f"{service.value if service else 'host'}::{check.name}": run_at(check, probes, service).verdict.value
        for check in CHECKS.values()
        for service in check.places(target)
    }
