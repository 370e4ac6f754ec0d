"""The benchmark script itself still runs: ``benchmarks/run.py --runs 1 --quick`` (our suite only, no peers) writes its table.

Not a timed test: the figures depend on the machine; only that the script works and what it writes is checked.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.lab  # runs the suite against the reference sendmail
def test_quick_benchmark_writes_the_table(tmp_path: Path) -> None:
    out = tmp_path / "performance.md"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--runs", "1", "--quick", "--write", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    row = re.search(r"^\| pytest --smtpsec, one host \| .* \| ([\d.]+) s \| 1\.0 \| (\d+) \| (\d+) MB \|$", text, re.MULTILINE)
    assert row, text
    assert int(row.group(2)) >= 3  # one session per service at least, counted through the relay
    assert "## The targets (issues 7 and 12)" in text
    assert re.search(
        r"^\| plugin import \+ collection overhead .*\| < 0\.3 s \| [\d.]+ s \| (yes|\*\*no\*\*) \| \d/1 \|$", text, re.MULTILINE
    )
    assert "Not measured or not clean" not in text, text  # every run ended as expected
