"""Site policy beside the built-in checks: which hosts may be mail servers, and what users see.

Tests that take ``smtp_target`` run once per host of the inventory (ids are the host names); tests
with a check's marker run once per host and port that check applies to.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pytest_smtpsec import SmtpClient, Target
from pytest_smtpsec.target import Role

MAIL_SERVERS = {"mail.dept.example.org", "mx.dept.example.org"}
"""The only hosts allowed to offer mail; adding a third is a decision, not an accident."""


def test_only_our_two_mail_servers_offer_mail(smtp_target: Target) -> None:
    if smtp_target.name in MAIL_SERVERS:
        assert smtp_target.role is not Role.NO_MAIL
    else:
        assert smtp_target.role is Role.NO_MAIL, f"{smtp_target.name} is not one of {sorted(MAIL_SERVERS)}"


@pytest.mark.smtps_implicit_tls  # only where port 465 is offered: mail.dept.example.org
def test_the_smtps_banner_names_the_server_users_configured(smtp_session: Callable[..., SmtpClient], smtp_target: Target) -> None:
    banner = smtp_session("smtps").banner
    assert banner is not None and banner.text.startswith(smtp_target.tls_name)
