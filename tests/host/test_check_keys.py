"""key_files_protected, key_matches_certificate and ca_file_has_issuer on the reference PKI and broken copies."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pytest_smtpsec.host import HOST_CHECKS
from pytest_smtpsec.lab.layout import Layout
from pytest_smtpsec.lab.pki import CA, self_signed_cert
from pytest_smtpsec.verdict import CheckResult, Verdict

from .conftest import edit, facts_of

NOBODY = 65534


def run(name: str, state: Path) -> CheckResult:
    return HOST_CHECKS[name].run(facts_of(state))


def replace_file(path: Path, data: bytes, mode: int) -> None:
    path.unlink()
    path.write_bytes(data)
    path.chmod(mode)


# -- key_files_protected ----------------------------------------------------------------------------


def test_protected_passes_on_the_secure_profile(secure_state: Path) -> None:
    result = run("key_files_protected", secure_state)
    assert result.verdict is Verdict.PASS, result.outcome.findings
    assert f"ServerKeyFile {Layout(secure_state).server_key} -r-------- 0400 root:root" in result.outcome.reason


def test_protected_fails_on_a_world_readable_key(broken: Callable[[], Path]) -> None:
    state = broken()
    Layout(state).server_key.chmod(0o644)
    result = run("key_files_protected", state)
    assert result.verdict is Verdict.FAIL
    assert result.outcome.findings == (
        f"ServerKeyFile {Layout(state).server_key} is -rw-r--r-- 0644 root:root: its group and everyone can get at the "
        "private key; the note has -r-------- root",
    )


def test_protected_warns_on_0600_and_an_open_directory(broken: Callable[[], Path]) -> None:
    state = broken()
    layout = Layout(state)
    layout.client_key.chmod(0o600)
    layout.private.chmod(0o755)
    result = run("key_files_protected", state)
    assert result.verdict is Verdict.WARN
    assert any("ClientKeyFile" in w and "0600" in w and "the note has 0400" in w for w in result.outcome.findings)
    assert any(f"{layout.private}, which holds ServerKeyFile, is drwxr-xr-x 0755" in w for w in result.outcome.findings)


def test_protected_fails_on_keys_others_can_replace(broken: Callable[[], Path]) -> None:
    state = broken()
    layout = Layout(state)
    os.chown(layout.server_key, NOBODY, 0)
    layout.private.chmod(0o777)
    findings = run("key_files_protected", state).outcome.findings
    assert any(f.startswith(f"ServerKeyFile {layout.server_key} is owned by") and "not root" in f for f in findings)
    assert any("drwxrwxrwx 0777" in f and "others can replace the key" in f for f in findings)


def test_protected_follows_symlinks_and_says_so(broken: Callable[[], Path], tmp_path: Path) -> None:
    state = broken()
    layout = Layout(state)
    vault = tmp_path / "vault"
    vault.mkdir(mode=0o700)
    layout.server_key.rename(vault / "smtpkey.pem")
    layout.server_key.symlink_to(vault / "smtpkey.pem")
    result = run("key_files_protected", state)
    assert result.verdict is Verdict.PASS, result.outcome.findings
    assert f"ServerKeyFile {layout.server_key} (a symlink to {vault}/smtpkey.pem) -r-------- 0400" in result.outcome.reason
    (vault / "smtpkey.pem").chmod(0o644)  # the target is what is judged
    assert (
        run("key_files_protected", state)
        .outcome.findings[0]
        .startswith(f"ServerKeyFile {layout.server_key} (a symlink to {vault}/smtpkey.pem) is -rw-r--r-- 0644")
    )


def test_protected_wants_public_certificates_without_keys(broken: Callable[[], Path]) -> None:
    state = broken()
    layout = Layout(state)
    layout.client_cert.chmod(0o400)
    assert run("key_files_protected", state).verdict is Verdict.WARN
    replace_file(layout.server_cert, layout.server_cert.read_bytes() + layout.server_key.read_bytes(), 0o444)
    findings = run("key_files_protected", state).outcome.findings
    assert findings[0] == f"ServerCertFile {layout.server_cert} is world-readable (-r--r--r-- 0444 root:root) and holds a PRIVATE KEY"


# -- key_matches_certificate ------------------------------------------------------------------------


def test_pairs_match_on_the_secure_profile(secure_state: Path) -> None:
    result = run("key_matches_certificate", secure_state)
    assert result.verdict is Verdict.PASS, result.outcome.findings
    assert "server pair matches (RSA-2048 " in result.outcome.reason and "client pair matches" in result.outcome.reason


def test_a_key_from_another_pair_fails(broken: Callable[[], Path]) -> None:
    state = broken()
    layout = Layout(state)
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    replace_file(layout.server_key, other, 0o400)
    result = run("key_matches_certificate", state)
    assert result.verdict is Verdict.FAIL
    (finding,) = result.outcome.findings
    assert finding.startswith(f"ServerKeyFile {layout.server_key} does not belong to ServerCertFile {layout.server_cert}")
    assert "public key is RSA-2048 " in finding and "the private key's is EC-secp256r1 " in finding


def test_an_encrypted_key_fails(broken: Callable[[], Path]) -> None:
    state = broken()
    layout = Layout(state)
    key = serialization.load_pem_private_key(layout.client_key.read_bytes(), None)
    locked = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw"))
    replace_file(layout.client_key, locked, 0o400)
    findings = run("key_matches_certificate", state).outcome.findings
    assert findings == (f"ClientKeyFile {layout.client_key}: the private key is encrypted: sendmail has no way to ask for its passphrase",)


def test_an_unconfigured_client_pair_is_said_not_hidden(broken: Callable[[], Path]) -> None:
    state = broken()
    layout = Layout(state)
    edit(layout.cf, f"O ClientKeyFile={layout.client_key}\n", "")
    result = run("key_matches_certificate", state)
    assert result.verdict is Verdict.PASS
    assert "client pair not configured (ClientCertFile/ClientKeyFile)" in result.outcome.reason


# -- ca_file_has_issuer -----------------------------------------------------------------------------


def test_issuer_is_there_on_the_secure_profile(secure_state: Path) -> None:
    result = run("ca_file_has_issuer", secure_state)
    assert result.verdict is Verdict.PASS, result.outcome.findings
    assert "holds the issuer 'CN=pytest-smtpsec Test CA,O=pytest-smtpsec'" in result.outcome.reason


def test_issuer_found_in_a_bundle(broken: Callable[[], Path]) -> None:
    state = broken()
    layout = Layout(state)
    bundle = b"# vendor bundle\n" + CA("Other").cert_pem.bytes() + b"text\n" + layout.cacert.read_bytes() + CA("More").cert_pem.bytes()
    replace_file(layout.cacert, bundle, 0o444)
    result = run("ca_file_has_issuer", state)
    assert result.verdict is Verdict.PASS and "(3 certificates)" in result.outcome.reason


def test_a_ca_file_without_the_issuer_fails(broken: Callable[[], Path]) -> None:
    state = broken()
    layout = Layout(state)
    replace_file(layout.cacert, CA("Somebody Else").cert_pem.bytes(), 0o444)
    result = run("ca_file_has_issuer", state)
    assert result.verdict is Verdict.FAIL
    assert result.outcome.findings == (
        f"{layout.cacert} (1 certificate) does not hold the issuer of {layout.server_cert}: 'CN=pytest-smtpsec Test CA,O=pytest-smtpsec'",
    )


def test_a_ca_with_the_same_name_but_another_key_fails(broken: Callable[[], Path]) -> None:
    state = broken()
    layout = Layout(state)
    replace_file(layout.cacert, CA().cert_pem.bytes(), 0o444)  # same default name, new key
    (finding,) = run("ca_file_has_issuer", state).outcome.findings
    assert "holds 1 certificate named 'CN=pytest-smtpsec Test CA,O=pytest-smtpsec', but no key among them verifies" in finding


def test_a_self_signed_server_certificate_fails_and_says_so(broken: Callable[[], Path]) -> None:
    state = broken()
    layout = Layout(state)
    leaf = self_signed_cert("mail.test", key_type="ec")
    replace_file(layout.server_cert, leaf.cert_pem.bytes(), 0o444)
    findings = run("ca_file_has_issuer", state).outcome.findings
    assert findings[-1].startswith(f"{layout.server_cert} is self-signed")
