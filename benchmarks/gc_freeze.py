"""A pytest plugin for the benchmark (``-p gc_freeze``): the fix suggested for pytest's end-of-run garbage collections.

pytest collects garbage five times at the end of a run (``_pytest/unraisableexception.py``), and each
full collection walks every object alive; cryptography and the certificates make that heap large.
``gc.freeze()`` after collection moves what exists by then out of the collector's way. The benchmark
times the suite with this plugin to show what the change would buy in ``pytest_smtpsec/plugin.py``.
"""

from __future__ import annotations

import gc
from typing import Any


def pytest_collection_finish(session: Any) -> None:
    gc.freeze()
