"""The probe threads' pool: a pool that starts small grows only while its calls wait, never for quick ones."""

from __future__ import annotations

import threading
import time
from functools import partial

from pytest_smtpsec.probe.parallel import GROW, DaemonPool, wait


def threads(name: str) -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith(f"{name}-") and not t.name.endswith("-grow"))


def test_calls_that_wait_get_threads_of_their_own() -> None:
    pool, gate = DaemonPool(4, "waiting", eager=1), threading.Event()
    futures = [pool.submit(gate.wait) for _ in range(4)]
    try:
        deadline = time.monotonic() + 10 * GROW
        while threads("waiting") < 4 and time.monotonic() < deadline:  # 1, then 2, then 4: one more per waiting call
            time.sleep(GROW / 5)
        assert threads("waiting") == 4
    finally:
        gate.set()
    assert all(wait(f) for f in futures)
    pool.shutdown()


def test_quick_calls_stay_on_the_eager_threads() -> None:
    pool = DaemonPool(16, "quick", eager=2)
    futures = [pool.submit(partial(int, i)) for i in range(2000)]
    assert [wait(f) for f in futures] == list(range(2000))
    time.sleep(2 * GROW)
    assert threads("quick") == 2
    pool.shutdown()
