"""Our webmail host hands its mail to the mail server and must not listen on 25, 465 or 587 itself."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pytest_smtpsec import CheckResult, Target, Verdict


@pytest.fixture
def smtpsec_target(webmail: Target) -> Target:
    """In this module the checks judge the webmail host, not the mail server of pytest.ini."""
    return webmail


def test_webmail_offers_no_mail_service(smtpsec_check: Callable[..., CheckResult]) -> None:
    result = smtpsec_check("no_mail_service")
    assert result.verdict is Verdict.PASS, "\n".join(result.outcome.findings)
