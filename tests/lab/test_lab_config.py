"""The generated sendmail.mc / sendmail.cf say what each profile promises (no daemon needed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pytest_smtpsec.lab import PROFILES, LabError
from pytest_smtpsec.lab.layout import Layout
from pytest_smtpsec.lab.mc import build_cf, render_mc, sendmail
from pytest_smtpsec.lab.prepare import hosts_file, openssl_cnf

PORTS = {"smtp": 10025, "submission": 10587, "smtps": 10465}
LOOPBACK_RELAY = ("R127.0.0.1", "RIPv6:", "R<?> $=w")  # rule lines of proto.m4 Relay_ok

pytestmark = pytest.mark.skipif(shutil.which("m4") is None, reason="needs m4 and sendmail-cf")


def _cf(tmp_path: Path, name: str) -> str:
    layout = Layout(tmp_path)
    ports = {**PORTS, "smtps": PORTS["smtps"] if PROFILES[name].smtps else None}
    layout.mc.write_text(render_mc(PROFILES[name], layout, "127.0.0.1", ports))
    build_cf(layout, keep_loopback_relay=sendmail(PROFILES[name]).promiscuous)
    return layout.cf.read_text()


def _options(cf: str) -> list[str]:
    return [line[2:] for line in cf.splitlines() if line.startswith("O ")]


def test_secure_cf_has_the_notes_settings(tmp_path: Path) -> None:
    opts = _options(_cf(tmp_path, "secure"))
    assert "AuthOptions=A p" in opts
    assert "AuthMechanisms=PLAIN LOGIN" in opts
    assert "PrivacyOptions=goaway" in opts
    assert f"CACertFile={tmp_path}/cacert.pem" in opts
    assert f"ServerCertFile={tmp_path}/smtp.pem" in opts
    assert f"ServerKeyFile={tmp_path}/private/smtpkey.pem" in opts
    assert f"ClientCertFile={tmp_path}/smtpc.pem" in opts
    assert f"ClientKeyFile={tmp_path}/private/smtpckey.pem" in opts
    assert "DaemonPortOptions=Port=10025, Addr=127.0.0.1, Family=inet, Name=MTA" in opts
    assert "DaemonPortOptions=Port=10587, Addr=127.0.0.1, Family=inet, Name=MSA, M=Ea" in opts
    assert "DaemonPortOptions=Port=10465, Addr=127.0.0.1, Family=inet, Name=TLSMTA, M=s" in opts


def test_nothing_points_outside_the_state_dir(tmp_path: Path) -> None:
    paths = [o.split("=", 1)[1] for o in _options(_cf(tmp_path, "secure")) if "=/" in o or "=-o /" in o]
    outside = [p for p in paths if not p.removeprefix("-o ").startswith(str(tmp_path)) and p != "/etc/hosts"]
    assert outside == []


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_profile_builds_without_loopback_relay(tmp_path: Path, name: str) -> None:
    cf = _cf(tmp_path, name)
    assert f"pytest-smtpsec {name}" in cf
    assert [line for line in cf.splitlines() if line.startswith(LOOPBACK_RELAY)] == []
    assert ("promiscuous_relay" in cf) == (name == "open-relay")


def test_profile_differences(tmp_path: Path) -> None:
    def opts(name: str) -> list[str]:
        sub = tmp_path / name
        sub.mkdir()
        return _options(_cf(sub, name))

    assert "AuthOptions=A" in opts("cleartext-auth")
    assert not [o for o in opts("no-smtps") if "M=s" in o]
    no_tls = [o for o in opts("no-starttls") if o.startswith("DaemonPortOptions")]
    assert [o.rsplit(", ", 1)[1] for o in no_tls] == ["M=S", "M=EaS", "M=s"]
    assert "PrivacyOptions=authwarnings" in opts("vrfy-on")


def test_openssl_cnf_pins_protocol_and_security_level() -> None:
    assert "MinProtocol = TLSv1.2\nCipherString = DEFAULT@SECLEVEL=2" in openssl_cnf(PROFILES["secure"])
    assert "MinProtocol = TLSv1\nCipherString = DEFAULT@SECLEVEL=0" in openssl_cnf(PROFILES["old-tls"])
    assert "MinProtocol = TLSv1.2\nCipherString = DEFAULT@SECLEVEL=1" in openssl_cnf(PROFILES["weak-key"])


def test_mail_test_is_not_the_clients_address() -> None:
    """sendmail relays for [its own IP]; clients come from 127.0.0.1, so mail.test must not be that."""
    assert "127.0.0.2\tmail.test mail\n" in hosts_file()
    assert "127.0.0.2\tmail.test mail c0ffee\n" in hosts_file("c0ffee")


@pytest.mark.parametrize("bad", ["a b", "a,b", "a'b", "a`b"])
def test_paths_m4_cannot_quote_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(LabError, match="must not contain"):
        render_mc(PROFILES["secure"], Layout(tmp_path / bad), "127.0.0.1", PORTS)


def test_each_profile_models_one_thing() -> None:
    assert all(p.models and "\n" not in p.models for p in PROFILES.values())
    assert sorted(PROFILES) == sorted(
        [
            "secure",
            "cleartext-auth",
            "no-smtps",
            "no-starttls",
            "self-signed",
            "wrong-hostname",
            "expired",
            "weak-key",
            "old-tls",
            "open-relay",
            "relay-local-from",
            "vrfy-on",
            "submission-open",
            "no-auth-relay",
            "default-banner",
            "weak-ciphers",
            "smtps-cleartext",
        ]
    )
