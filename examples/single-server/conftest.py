"""Settings of our own beside the plugin's: the webmail host, which must not offer any mail service."""

from __future__ import annotations

import pytest

from pytest_smtpsec import Target
from pytest_smtpsec.target import Role


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("webmail_host", "the webmail host: sends its mail through mail.example.org, listens on none of 25, 465, 587")


@pytest.fixture
def webmail(pytestconfig: pytest.Config) -> Target:
    """The webmail host as a target of role no-mail: only no_mail_service applies to it."""
    return Target(host=pytestconfig.getini("webmail_host"), role=Role.NO_MAIL, timeout=5.0)
