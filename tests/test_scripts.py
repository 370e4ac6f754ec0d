"""The README's two commands install what each needs, no more: checked as text (running them is CI's job)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOTSTRAP = (ROOT / "scripts/bootstrap").read_text()


def _packages(name: str) -> set[str]:
    found = re.search(rf"^{name}=\(([^)]*)\)", BOOTSTRAP, re.M)
    assert found, name
    return set(found.group(1).split())


def test_the_main_job_installs_no_test_tools() -> None:
    main, tests = _packages("MAIN_PACKAGES"), _packages("TEST_PACKAGES")
    assert {"sendmail", "sasl2-bin", "libsasl2-modules", "m4", "openssl"} <= main
    assert not main & {"chromium", "openssh-server", "debootstrap"}
    assert {"chromium", "openssh-server", "debootstrap"} <= tests


def test_each_command_asks_for_its_own_install() -> None:
    assert re.search(r"^scripts/bootstrap$", (ROOT / "scripts/acceptance").read_text(), re.M)
    assert re.search(r"^scripts/bootstrap --tests$", (ROOT / "scripts/test").read_text(), re.M)
    assert "scripts/test" in (ROOT / ".ci/run").read_text()


def test_bootstrap_parses_and_refuses_unknown_arguments() -> None:
    subprocess.run(["bash", "-n", str(ROOT / "scripts/bootstrap")], check=True)
    wrong = subprocess.run([str(ROOT / "scripts/bootstrap"), "--everything"], capture_output=True, text=True, timeout=30)
    assert wrong.returncode == 2 and "usage: scripts/bootstrap [--tests]" in wrong.stderr
