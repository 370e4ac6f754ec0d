"""The one exception of the lab."""

from __future__ import annotations


class LabError(Exception):
    """The reference server could not be prepared, started or stopped; the message says why in one line."""
