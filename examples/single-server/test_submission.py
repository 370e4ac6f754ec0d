"""Our cleartext ports, in our own words, on top of the built-in checks.

A check's marker runs that check first, once per port it applies to: if the check fails, the test
fails with the check's screen and the body does not run. The body then asks what the built-in
checks do not.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pytest_smtpsec import Service, SmtpClient


@pytest.mark.requires_starttls_before_auth  # 25 and 587: STARTTLS offered, no AUTH before it
def test_no_password_before_tls(smtp_session: Callable[..., SmtpClient], smtpsec_service: Service) -> None:
    smtp = smtp_session(smtpsec_service)
    assert "AUTH" not in smtp.ehlo().keywords()
    assert smtp.command("AUTH LOGIN").permanent_failure  # the note tries PLAIN; LOGIN must be refused too
    assert smtp.starttls().code == 220
    assert "AUTH" in smtp.ehlo().keywords()


@pytest.mark.submission_requires_tls  # 587 only: no MAIL FROM before STARTTLS and AUTH
def test_submission_takes_no_mail_after_tls_without_login(smtp_session: Callable[..., SmtpClient]) -> None:
    """The built-in check asks before STARTTLS; we also want a login after it (sendmail M=Ea)."""
    smtp = smtp_session("submission")
    smtp.ehlo()
    smtp.starttls()
    smtp.ehlo()
    assert not smtp.command("MAIL FROM:<probe@example.org>").positive
