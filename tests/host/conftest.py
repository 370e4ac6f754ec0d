"""Fixtures for the host checks: the reference sendmail's own files, and copies broken one way each.

The `secure` profile's state directory is written once per session by the lab's `prepare` (files
only, no daemon); each test that breaks something gets its own copy with every path inside the
mc and cf rewritten to the copy, and the files' times kept.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from lab_files import PORTS, paths_of
from tiers import lab_fixture

from pytest_smtpsec.host import HostFacts, LocalRunner, Runner
from pytest_smtpsec.lab.errors import LabError
from pytest_smtpsec.lab.layout import Layout
from pytest_smtpsec.lab.prepare import prepare
from pytest_smtpsec.lab.profiles import PROFILES

__all__ = ["PORTS", "paths_of"]  # the host tests import them from here (lab_files is shared with test_docs)


def facts_of(state: Path, *, runner: Runner | None = None, **changes: str) -> HostFacts:
    return HostFacts(runner or LocalRunner(), paths_of(state, **changes))


def rebuild_cf(state: Path) -> None:
    """What the note does after editing the mc: m4 sendmail.mc > sendmail.cf."""
    layout = Layout(state)
    proc = subprocess.run(["m4", str(layout.mc)], capture_output=True, text=True, check=True, timeout=60)
    layout.cf.write_text(proc.stdout)


def edit(path: Path, old: str, new: str) -> None:
    """Replace text that must be there, keeping the file's times (so only what we mean changes)."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    times = os.stat(path)
    path.write_text(text.replace(old, new))
    os.utime(path, ns=(times.st_atime_ns, times.st_mtime_ns))


@lab_fixture(scope="session")
def secure_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `secure` profile's files: mc, cf (built by m4), CA, server and client pairs, Sendmail.conf."""
    if os.geteuid() != 0:
        pytest.skip("the host checks want root-owned key files, as the note has them: run as root")
    state = tmp_path_factory.mktemp("secure-host")
    try:
        prepare(PROFILES["secure"], Layout(state), "127.0.0.1", PORTS)
    except (LabError, OSError) as exc:
        pytest.skip(f"the lab cannot write the secure profile here: {exc}")
    return state


@pytest.fixture
def broken(secure_state: Path, tmp_path: Path) -> Callable[[], Path]:
    """``broken()`` -> a private copy of the secure state dir, ready to be broken in one way."""

    def copy() -> Path:
        state = tmp_path / "state"
        shutil.copytree(secure_state, state, symlinks=True)
        layout = Layout(state)
        for path in (layout.mc, layout.cf, layout.sasl_conf):
            edit(path, str(secure_state), str(state))
        return state

    return copy
