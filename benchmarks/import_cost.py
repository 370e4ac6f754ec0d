"""What having pytest-smtpsec installed costs a pytest run that does not use it (issue 15: < 20 ms).

    python benchmarks/import_cost.py [--runs 15] [--write docs/performance.md] [--source DIR]

Measures, byte code cached (a private ``PYTHONPYCACHEPREFIX``, warmed first):

- ``python -X importtime``: the cumulative import time of what pytest loads from us in every run (the
  ``pytest11`` entry point ``pytest_smtpsec.plugin`` and the fixtures it names), and of
  ``pytest_smtpsec.active``, which only a run that uses the plugin imports (checks, cryptography, reports);
- whole processes: ``pytest --collect-only`` in an empty directory with only the plugin loaded against
  bare pytest (``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1``), interleaved, medians.

``--source DIR`` measures another checkout (for a before/after comparison; DIR goes first on
``PYTHONPATH``). ``--write`` replaces the generated region ``import-cost`` of the given Markdown file;
``benchmarks/run.py`` writes the same region into docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

TARGET_MS = 20.0
ENTRY = ("pytest_smtpsec.plugin", "pytest_smtpsec.fixtures")
"""What pytest imports from us in every run: the entry point and the fixtures module it names."""
BEGIN, END = "<!-- BEGIN GENERATED import-cost -->", "<!-- END GENERATED import-cost -->"


@dataclass(frozen=True)
class ImportCost:
    load: str
    """Load average (1/5/15 min) at the end: the machine is shared, and its load inflates every figure."""
    entry_ms: float
    """Cumulative import time of :data:`ENTRY`, after pytest: the best of the runs (the cost without interference
    from the other jobs of this shared machine, as ``timeit`` advises)."""
    entry_median_ms: float
    pytest_ms: float
    """pytest's own import in the same runs, best of the runs: the scale the machine sets."""
    active_ms: float
    """Cumulative import time of ``pytest_smtpsec.active`` (only in runs that use us), best of the runs."""
    modules: int
    """Our modules loaded in a run that does not use us."""
    with_s: float
    without_s: float
    runs: int

    @property
    def process_ms(self) -> float:
        return (self.with_s - self.without_s) * 1000


def _env(source: Path | None, cache: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = cache
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    if source is not None:  # without site (-S, see _python), so an editable install's finder does not win over it
        env["PYTHONPATH"] = os.pathsep.join([str(source.resolve()), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    return env


def _python(source: Path | None) -> list[str]:
    return [sys.executable, "-S"] if source is not None else [sys.executable]


def _import_ms(python: list[str], code: str, modules: tuple[str, ...], env: dict[str, str], cwd: str) -> float:
    """The cumulative import times (ms) of ``modules``, each where it is first imported at top level."""
    command = [*python, "-X", "importtime", "-c", code]
    out = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=True)
    total = 0
    for module in modules:
        found = re.search(rf"^import time:\s+\d+ \|\s+(\d+) \| {re.escape(module)}$", out.stderr, re.M)
        total += int(found.group(1)) if found else 0
    return total / 1000


def _wall(command: list[str], env: dict[str, str], cwd: str) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, capture_output=True, timeout=120, check=False)
    return time.perf_counter() - started


def measure(runs: int = 15, source: Path | None = None) -> ImportCost:
    with tempfile.TemporaryDirectory(prefix="smtpsec-import-") as tmp:
        env = _env(source, str(Path(tmp) / "pycache"))
        empty = str(Path(tmp) / "project")
        os.mkdir(empty)
        entry_code = "import pytest; " + "; ".join(f"import {m}" for m in ENTRY)
        count = "import sys; print(len([m for m in sys.modules if m.startswith('pytest_smtpsec')]))"
        python = _python(source)
        has_active = (
            subprocess.run(
                [*python, "-c", entry_code + "; import pytest_smtpsec.active"], env=env, cwd=empty, capture_output=True, timeout=60
            ).returncode
            == 0
        )
        modules = int(subprocess.run([*python, "-c", f"{entry_code}; {count}"], env=env, cwd=empty, capture_output=True, text=True).stdout)
        entry = [_import_ms(python, entry_code, ENTRY, env, empty) for _ in range(runs)]
        own = [_import_ms(python, entry_code, ("pytest",), env, empty) for _ in range(runs)]
        active = (
            [_import_ms(python, f"{entry_code}; import pytest_smtpsec.active", ("pytest_smtpsec.active",), env, empty) for _ in range(runs)]
            if has_active
            else [0.0]
        )
        bare = [*python, "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider"]
        ours = [*bare, "-p", "pytest_smtpsec.plugin"]
        _wall(ours, env, empty)
        with_s, without_s = [], []
        for _ in range(runs):
            with_s.append(_wall(ours, env, empty))
            without_s.append(_wall(bare, env, empty))
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return ImportCost(
        load,
        min(entry),
        statistics.median(entry),
        min(own),
        min(active),
        modules,
        min(with_s),
        min(without_s),
        runs,
    )


def markdown(cost: ImportCost, before: ImportCost | None = None) -> list[str]:
    met = "met" if cost.entry_ms < TARGET_MS else "NOT met"
    lines = [
        BEGIN,
        f"- **A pytest run that does not use the plugin** (installed, nothing configured; issue 15's target < {TARGET_MS:.0f} ms, "
        f"{met}): `python -X importtime`, cumulative import time of the entry point and its fixtures module after pytest, "
        f"best of {cost.runs}: **{cost.entry_ms:.1f} ms** (median {cost.entry_median_ms:.1f} ms; {cost.modules} modules of ours, "
        f"no checks, no cryptography), against {cost.pytest_ms:.0f} ms for importing pytest itself. "
        f"Whole process, `pytest --collect-only` in an empty directory, with the plugin against without, best of each: "
        f"{cost.with_s:.3f} s against {cost.without_s:.3f} s ({cost.process_ms:+.0f} ms; whole processes vary by tens of ms here). "
        f"Load average {cost.load}.",
        f"- **A run that uses it** imports `pytest_smtpsec.active` on top (checks, probes, cryptography, reports): "
        f"{cost.active_ms:.0f} ms (best of {cost.runs}).",
    ]
    if before is not None:
        lines.append(
            f"- Before issue 15 the entry point imported everything in every run: {before.entry_ms:.0f} ms by the same measure "
            f"(whole process {before.process_ms:+.0f} ms)."
        )
    return [*lines, END]


def write(path: Path, lines: list[str]) -> None:
    text = path.read_text()
    region = "\n".join(lines)
    if BEGIN in text:
        text = re.sub(rf"{re.escape(BEGIN)}.*?{re.escape(END)}", lambda _: region, text, flags=re.S)
    else:
        text = text.replace("## Import and collection overhead\n\n", f"## Import and collection overhead\n\n{region}\n", 1)
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--source", type=Path, help="measure this checkout instead of the installed package")
    parser.add_argument("--before", type=Path, help="also measure this older checkout and show it as 'before'")
    parser.add_argument("--write", type=Path, help="replace the import-cost region of this Markdown file")
    args = parser.parse_args()
    cost = measure(args.runs, args.source)
    before = measure(args.runs, args.before) if args.before else None
    lines = markdown(cost, before)
    print("\n".join(lines))
    if args.write:
        write(args.write, lines)


if __name__ == "__main__":
    main()
