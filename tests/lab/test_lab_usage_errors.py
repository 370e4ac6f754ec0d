"""The reference sendmail refuses what it cannot do before it starts anything: no root or servers needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_smtpsec.lab import LabError, ReferenceServer


def test_not_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(LabError, match=r"^root is needed: .*unshare --uts --mount.*run it as root"):
        ReferenceServer("secure", tmp_path).start()


def test_sendmail_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pytest_smtpsec.lab.server.SENDMAIL", "/nonexistent/sendmail")
    with pytest.raises(LabError, match="apt-get install sendmail sasl2-bin"):
        ReferenceServer("secure", tmp_path).start()


def test_unknown_profile(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="unknown profile 'nope'; known: secure, cleartext-auth"):
        ReferenceServer("nope", tmp_path)
