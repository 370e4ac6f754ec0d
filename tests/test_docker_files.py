"""The sendmail lab's Docker image, checked as text (no Docker engine here), and the two behaviours of the
lab it relies on, run natively: no wildcard address in the certificate, no password in the log."""

from __future__ import annotations

import json
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509

from pytest_smtpsec.lab.pki import CA
from pytest_smtpsec.lab.profiles import SECURE
from pytest_smtpsec.lab.target import LabTarget

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "docker/sendmail/Dockerfile").read_text()


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", "\n".join(line for line in DOCKERFILE.splitlines() if not line.lstrip().startswith("#")))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in text.splitlines() if line.strip()]


def test_the_image_installs_openssl_by_name() -> None:
    (apt,) = [args for op, args in _instructions() if op == "RUN" and "apt-get install" in args]
    assert re.search(r"\sopenssl\s", apt)


def test_the_image_has_a_healthcheck_that_waits_for_the_greeting() -> None:
    (health,) = [args for op, args in _instructions() if op == "HEALTHCHECK"]
    assert "--start-period" in health and "25" in health and "220" in health


def test_the_entrypoint_keeps_the_password_out_of_the_log() -> None:
    (entrypoint,) = [json.loads(args) for op, args in _instructions() if op == "ENTRYPOINT"]
    assert entrypoint[entrypoint.index("--target-file") + 1] == "/lab/target.json"


def test_dockerignore_keeps_what_the_image_copies_and_drops_the_rest() -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*")] == "*"  # everything out, then the few things the image needs back in
    copied = {word for op, args in _instructions() if op == "COPY" for word in args.split()[:-1]}
    assert copied == {"pyproject.toml", "README.md", "LICENSE", "pytest_smtpsec"}
    assert {f"!{name}" if name != "pytest_smtpsec" else "!pytest_smtpsec/" for name in copied} <= set(ignore)


def test_the_readme_says_it_is_the_sendmail_lab() -> None:
    readme = (ROOT / "docker/sendmail/README.md").read_text()
    assert readme.startswith("# The sendmail lab in a container")
    assert "not a\nmail server for real mail" in readme


@pytest.mark.parametrize("address", ["0.0.0.0", "::"])
def test_a_wildcard_listening_address_is_not_put_in_the_certificate(address: str) -> None:
    cert = SECURE.cert.issue(CA(), address).certificate
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert not san.get_values_for_type(x509.IPAddress)
    assert san.get_values_for_type(x509.DNSName)  # mail.test and the like, as before


@pytest.mark.lab
def test_serve_with_a_target_file_prints_no_password(tmp_path: Path) -> None:
    state, target_file = tmp_path / "lab", tmp_path / "target.json"
    command = [sys.executable, "-m", "pytest_smtpsec.lab", "serve", "--profile", "no-smtps", "--state-dir", str(state)]
    proc = subprocess.Popen([*command, "--target-file", str(target_file)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout and proc.stderr
        shown = json.loads(proc.stdout.readline() or proc.stderr.read())
        target = LabTarget.from_json(target_file.read_text())
        assert "password" not in shown and shown["target_file"] == str(target_file)
        assert target.password and target.password not in json.dumps(shown)
        assert stat.S_IMODE(target_file.stat().st_mode) == 0o600
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert target.password not in proc.stdout.read() + proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()
