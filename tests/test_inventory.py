"""The inventory file: strict validation with file:line, ids, selection by host/role/service/check."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_smtpsec.inventory import load_inventory
from pytest_smtpsec.settings import SettingsError
from pytest_smtpsec.target import AuthPolicy, Hardening, Ports, Role, Service, ServiceRole

GOOD = """\
[defaults]
auth_policy = "migrate"
timeout = 3

[[host]]
name = "mail.example.org"      # the id, and the name the certificate must match
address = "127.0.0.1"
role = "mail-server"
ports = { smtp = 2525, submission = 2587, smtps = "off" }
user = "probe@example.org"
password_env = "MAIL_PROBE_PASSWORD"

[[host]]
name = "www.example.org"
role = "no-mail"
auth_policy = "enforce"
"""


def test_the_documented_shape_loads(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text(GOOD)
    mail, www = load_inventory(path, {"MAIL_PROBE_PASSWORD": "s3cret"})
    assert (mail.name, mail.host, mail.tls_name) == ("mail.example.org", "127.0.0.1", "mail.example.org")
    assert mail.ports == Ports(2525, 2587, None)
    assert mail.credentials is not None and mail.credentials.password == "s3cret"
    assert (mail.auth_policy, mail.timeout, mail.role) == (AuthPolicy.MIGRATE, 3, Role.MAIL_SERVER)
    assert (www.host, www.role, www.auth_policy, www.services) == ("www.example.org", Role.NO_MAIL, AuthPolicy.ENFORCE, ())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[host]]\nname = "a"\nportz = 1\n', "site.toml:3: unknown key 'portz' in [[host]]"),
        (
            '[[host]]\nname = "a"\nrole = "mailserver"\n',
            "site.toml:3: role: role must be one of 'mail-server', 'submission-only', 'relay-only', 'no-mail', not 'mailserver'",
        ),
        ('[[host]]\nname = "a"\n\n[[host]]\nname = "a"\n', "site.toml:5: duplicate host name 'a' (first at line 2)"),
        ('[[host]]\nrole = "no-mail"\n', "site.toml:1: a [[host]] without a name"),
        ("[defaults]\ntimeout = 3\n", "site.toml:1: no hosts"),
        ('[[host]]\nname = "a"\ntimeout = "soon"\n', "site.toml:3: timeout: expected a number, got str 'soon'"),
        ('[[host]]\nname = "a"\nports = { smtp = "x" }\n', "site.toml:3: ports: not a port number or 'off': 'x'"),
        ('[[host]]\nname = "a"\nports = { imap = 143 }\n', "site.toml:3: ports: unknown service(s): imap (smtp, submission, smtps)"),
        ('[defaults]\nrole = "no-mail"\nfoo = 1\n[[host]]\nname = "a"\n', "site.toml:3: unknown key 'foo' in [defaults]"),
        (
            '[[host]]\nname = "a"\nuser = "u"\npassword_env = "NOPE_UNSET"\n',
            "site.toml:3: host 'a': a user is set but $NOPE_UNSET is empty: put the password there",
        ),
        ('[[host]]\nname = "a"\nca_file = "missing.pem"\n', "site.toml:3: ca_file: no such file"),
        ("[[host]\nname = 'a'\n", "site.toml: not valid TOML"),
        ('hosts = 1\n[[host]]\nname = "a"\n', "site.toml:1: unknown top-level key(s): hosts"),
    ],
)
def test_bad_inventories_are_refused_with_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "site.toml"
    path.write_text(text)
    with pytest.raises(SettingsError) as raised:
        load_inventory(path, {})
    assert message in str(raised.value)
    assert str(raised.value).startswith(str(path))


def test_a_bad_inventory_stops_the_run_before_any_connection(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("site.toml").write_text('[[host]]\nname = "a"\nrole = "relay"\n')
    result = pytester.runpytest("--smtpsec", "--smtpsec-inventory=site.toml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*site.toml:3: role: role must be one of*"])


def test_ids_and_selection_by_host_role_service_and_check(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("site.toml").write_text(GOOD.replace("user = ", "# user = ").replace("password_env", "# password_env"))
    result = pytester.runpytest("--smtpsec", "--smtpsec-inventory=site.toml", "--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "site.toml::mail.example.org::submission::requires_starttls_before_auth",
            "site.toml::www.example.org::no_mail_service",
        ]
    )
    by_host = pytester.runpytest("--smtpsec", "--smtpsec-inventory=site.toml", "--collect-only", "-q", "-k", "www.example.org")
    by_host.stdout.fnmatch_lines(["site.toml::www.example.org::no_mail_service", "1/* tests collected*"])
    by_role = pytester.runpytest("--smtpsec", "--smtpsec-inventory=site.toml", "--collect-only", "-q", "-m", "mailsec(role='no-mail')")
    by_role.stdout.fnmatch_lines(["site.toml::www.example.org::no_mail_service", "1/* tests collected*"])
    by_check = pytester.runpytest("--smtpsec", "--smtpsec-inventory=site.toml", "--collect-only", "-q", "-m", "certificate_valid")
    by_check.stdout.fnmatch_lines(["site.toml::mail.example.org::smtp::certificate_valid", "2/* tests collected*"])
    by_service = pytester.runpytest("--smtpsec", "--smtpsec-inventory=site.toml", "--collect-only", "-q", "-k", "submission and auth")
    by_service.stdout.fnmatch_lines(["site.toml::mail.example.org::submission::auth_after_tls"])


def test_users_tests_run_once_per_inventory_host(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("site.toml").write_text('[[host]]\nname = "a.test"\n[[host]]\nname = "b.test"\nrole = "no-mail"\n')
    pytester.makepyfile("def test_named(smtp_target):\n    assert smtp_target.name.endswith('.test')\n")
    result = pytester.runpytest("--smtpsec-inventory=site.toml", "-v")
    result.stdout.fnmatch_lines(["*test_named[[]a.test[]] PASSED*", "*test_named[[]b.test[]] PASSED*"])


def test_per_service_roles_and_hardening_come_from_the_inventory_and_the_command_line(tmp_path: Path) -> None:
    """Postfix's default layout: 25 an MX without logins, 587/465 for users; the defaults table and each
    host inherit the same way, and the command line's per-host settings are the defaults under both."""
    path = tmp_path / "site.toml"
    path.write_text(
        '[defaults]\nhardening = "fail"\n\n'
        '[[host]]\nname = "smtp.example.org"\nservice_roles = { smtp = "mx" }\n\n'
        '[[host]]\nname = "mail.example.org"\nhardening = "warn"\n'
    )
    postfix, sendmail = load_inventory(path, {})
    assert postfix.service_role(Service.SMTP) is ServiceRole.MX and postfix.service_role(Service.SUBMISSION) is ServiceRole.SUBMISSION
    assert not postfix.takes_logins(Service.SMTP) and postfix.takes_logins(Service.SMTPS)
    assert postfix.hardening is Hardening.FAIL and sendmail.hardening is Hardening.WARN
    assert sendmail.service_role(Service.SMTP) is ServiceRole.SUBMISSION  # a mail-server's 25 takes logins, as the note's does


def test_a_bad_service_role_is_refused_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text('[[host]]\nname = "a"\nservice_roles = { smtp = "relay" }\n')
    with pytest.raises(SettingsError, match=r"site\.toml:3: .*relay"):
        load_inventory(path, {})
