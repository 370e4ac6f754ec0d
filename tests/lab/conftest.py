"""Fixtures for the lab tests: every profile's real sendmail, started once and concurrently."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from tiers import lab_fixture

from pytest_smtpsec.lab import PROFILES, LabTarget, ReferenceServer


def _timed_start(server: ReferenceServer) -> tuple[LabTarget, float]:
    began = time.perf_counter()
    target = server.start()
    return target, time.perf_counter() - began


@lab_fixture(scope="session")
def _started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[LabTarget, float]]]:
    if os.geteuid() != 0:
        pytest.skip("the reference sendmail needs root (unshare --uts --mount)")
    servers = {name: ReferenceServer(name, tmp_path_factory.mktemp(name)) for name in PROFILES}
    try:
        with ThreadPoolExecutor(len(servers)) as pool:
            started = dict(zip(servers, pool.map(_timed_start, servers.values()), strict=True))
        yield started
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture(scope="session")
def labs(_started: dict[str, tuple[LabTarget, float]]) -> dict[str, LabTarget]:
    """Every profile side by side on 127.0.0.1 (free ports), state dirs under /tmp like any tmp_path."""
    return {name: target for name, (target, _) in _started.items()}


@pytest.fixture(scope="session")
def lab_startup_seconds(_started: dict[str, tuple[LabTarget, float]]) -> dict[str, float]:
    """Per profile: from start() to every port accepting, while all profiles start concurrently."""
    return {name: seconds for name, (_, seconds) in _started.items()}


@pytest.fixture(scope="session")
def secure(labs: dict[str, LabTarget]) -> LabTarget:
    return labs["secure"]
