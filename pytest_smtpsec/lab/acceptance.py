"""Run the acceptance suite (``pytest --smtpsec``) against a running reference server, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence

from .target import LabTarget


def lab_flags(target: LabTarget) -> list[str]:
    """The options that point the plugin at ``target`` (they override any ini key; the password goes in the environment)."""
    return [
        f"--smtpsec-host={target.host}",
        f"--smtpsec-tls-name={target.tls_name}",
        f"--smtpsec-ca-file={target.ca_file}",
        f"--smtpsec-user={target.user}",
        *(f"--smtpsec-{service}-port={port or 'off'}" for service, port in target.ports.items()),
    ]


def suite_command(target: LabTarget, extra: Sequence[str] = ()) -> list[str]:
    """The ``pytest --smtpsec`` command line for ``target`` (the password goes in the environment)."""
    return [sys.executable, "-m", "pytest", "--smtpsec", *lab_flags(target), "-p", "no:cacheprovider", *extra]


def run_suite(target: LabTarget, extra: Sequence[str] = ()) -> int:
    """Run the suite in an empty directory (so no project tests are collected); pytest's exit status."""
    env = {**os.environ, "SMTPSEC_PASSWORD": target.password}
    with tempfile.TemporaryDirectory(prefix="smtpsec-acceptance-") as empty:
        return subprocess.call(suite_command(target, extra), env=env, cwd=empty)
