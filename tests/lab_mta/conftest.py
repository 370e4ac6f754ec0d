"""Fixtures for the Postfix and Exim labs: their root filesystems (built once, cached), and servers.

Every test that starts an MTA goes through `mta_home`: one state directory per MTA per worker, so
the rootfs is extracted once and servers of one MTA run one after the other in it. The timings of
the build, the restore and each start and stop are attached to the reports (`user_properties`) and
summed up at the end of the run.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from tiers import lab_fixture

from pytest_smtpsec.lab.mta import SERVERS, MirrorUnreachable, MtaServer, rootfs

MTAS = tuple(SERVERS)
TIMING = "lab_mta_timing"  # user_properties key: (what, seconds)


def _why_not_here() -> str | None:
    if os.geteuid() != 0:
        return "the Postfix/Exim labs need root (debootstrap, chroot, unshare)"
    for tool in ("unshare", "tar"):
        if shutil.which(tool) is None:
            return f"{tool} is missing"
    return None


@lab_fixture(scope="session")
def mta_tarballs() -> dict[str, tuple[Path, float | None]]:
    """Each MTA's cached rootfs tarball, built now (both at once) if missing: {mta: (path, build seconds or None)}."""
    if reason := _why_not_here():
        pytest.skip(reason)

    def ensure(mta: str) -> tuple[Path, float | None]:
        recipe = SERVERS[mta].recipe
        if rootfs.tarball_path(recipe).exists():
            return rootfs.tarball_path(recipe), None
        began = time.perf_counter()
        return rootfs.ensure(recipe), time.perf_counter() - began

    try:
        with ThreadPoolExecutor(len(MTAS)) as pool:
            return dict(zip(MTAS, pool.map(ensure, MTAS), strict=True))
    except MirrorUnreachable as e:
        pytest.skip(f"no cached Postfix/Exim rootfs and {e}")


class MtaHome:
    """One state directory per MTA whose rootfs is restored once; servers start in it one at a time."""

    def __init__(self, mta: str, root: Path, build_seconds: float | None) -> None:
        self.mta = mta
        self.state_dir = root
        began = time.perf_counter()
        rootfs.restore(SERVERS[mta].recipe, root / "rootfs")
        self.timings = [(f"{mta} restore", time.perf_counter() - began)]
        if build_seconds is not None:
            self.timings.append((f"{mta} cold build", build_seconds))

    def server(self, profile: str) -> MtaServer:
        return SERVERS[self.mta](profile, self.state_dir)

    def report_once(self, node: pytest.Item) -> None:
        """Attach the restore (and build) time to the first test that uses this home."""
        node.user_properties.extend((TIMING, t) for t in self.timings)
        self.timings = []


@pytest.fixture(scope="session")
def mta_homes(mta_tarballs: dict[str, tuple[Path, float | None]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, MtaHome]]:
    dirs = {mta: tmp_path_factory.mktemp(f"lab-{mta}") for mta in MTAS}  # not thread-safe: before the pool
    with ThreadPoolExecutor(len(MTAS)) as pool:  # both extractions at once (tar and zstd do the work)
        homes = dict(zip(MTAS, pool.map(lambda m: MtaHome(m, dirs[m], mta_tarballs[m][1]), MTAS), strict=True))
    yield homes
    for home in homes.values():  # ~180 MB each; pytest would keep them for three runs
        shutil.rmtree(home.state_dir / "rootfs", ignore_errors=True)


@pytest.fixture(params=MTAS)
def mta_home(request: pytest.FixtureRequest, mta_homes: dict[str, MtaHome]) -> MtaHome:
    """Each MTA in turn (test ids `[postfix]`, `[exim]`)."""
    home = mta_homes[request.param]
    home.report_once(request.node)
    return home


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Min/max of every timing the MTA lab tests recorded (on the controller too, under xdist)."""
    seen: dict[str, list[float]] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            for key, value in getattr(report, "user_properties", ()):
                if key == TIMING and getattr(report, "when", "call") == "call":
                    seen.setdefault(value[0], []).append(value[1])
    if seen:
        terminalreporter.section("Postfix/Exim lab timings (seconds)")
        for what, values in sorted(seen.items()):
            terminalreporter.write_line(f"{what:32} n={len(values):3}  min {min(values):6.2f}  max {max(values):6.2f}")
