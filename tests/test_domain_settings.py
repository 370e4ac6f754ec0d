"""--smtpsec-domain and --smtpsec-resolver: parsed once, per host in an inventory, and nothing without them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_smtpsec.inventory import load_inventory
from pytest_smtpsec.settings import Given, Settings, SettingsError, parse_domain, parse_resolver
from pytest_smtpsec.target import Service


def test_domain_is_a_lower_case_name_without_the_dot() -> None:
    assert parse_domain("Example.ORG.") == "example.org"
    for bad in ("192.0.2.1", "a..b", ""):
        with pytest.raises(SettingsError):
            parse_domain(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1", ("127.0.0.1", 53)), ("127.0.0.1:5353", ("127.0.0.1", 5353)), ("[::1]:53", ("::1", 53)), ("::1", ("::1", 53))],
)
def test_resolver_is_an_address_and_a_port(text: str, expected: tuple[str, int]) -> None:
    assert parse_resolver(text) == expected


@pytest.mark.parametrize("text", ["dns.example", "127.0.0.1:0", "127.0.0.1:off", "[::1]x"])
def test_a_bad_resolver_is_a_usage_error(text: str) -> None:
    with pytest.raises(SettingsError):
        parse_resolver(text)


def test_the_options_reach_the_target() -> None:
    settings = Settings.parse({"host": Given("mx.example.org"), "domain": Given("example.org"), "resolver": Given("127.0.0.1:5300")})
    target = settings.target({})
    assert target is not None and (target.domain, target.resolver) == ("example.org", ("127.0.0.1", 5300))
    plain = Settings.parse({"host": Given("mx.example.org")}).target({})
    assert plain is not None and (plain.domain, plain.resolver) == ("", None)


def test_inventory_keys(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    hosts = '[[host]]\nname = "mx.example.org"\ndomain = "Example.org"\n[[host]]\nname = "b.example.org"\n'
    path.write_text('[defaults]\nresolver = "127.0.0.1:5300"\n' + hosts)
    first, second = load_inventory(path, {})
    assert (first.domain, first.resolver) == ("example.org", ("127.0.0.1", 5300))
    assert (second.domain, second.resolver) == ("", ("127.0.0.1", 5300))


def test_the_mx_port_is_25_unless_set_and_never_off(tmp_path: Path) -> None:
    plain = Settings.parse({"host": Given("mx.example.org")}).target({})
    assert plain is not None and plain.mx_port == 25 and plain.mx(plain.host, "192.0.2.1").port(Service.SMTP) == 25
    lab = Settings.parse({"host": Given("mx.example.org"), "mx-port": Given("2525")}).target({})
    assert lab is not None and lab.mx("mx.example.org", "192.0.2.1").port(Service.SMTP) == 2525
    for bad in ("off", "0", "x"):
        with pytest.raises(SettingsError, match="--smtpsec-mx-port / smtpsec_mx_port"):
            Settings.parse({"mx-port": Given(bad)})
    path = tmp_path / "site.toml"
    path.write_text('[defaults]\nmx_port = 2525\n[[host]]\nname = "a.example.org"\n[[host]]\nname = "b.example.org"\nmx_port = 26\n')
    assert [t.mx_port for t in load_inventory(path, {})] == [2525, 26]
    path.write_text('[[host]]\nname = "a.example.org"\nmx_port = "off"\n')
    with pytest.raises(SettingsError, match=r"site\.toml:3: mx_port"):
        load_inventory(path, {})
