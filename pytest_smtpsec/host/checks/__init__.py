"""The host checks: one module each, named as its check, found by :func:`~pytest_smtpsec.checks.base.discover`."""

from __future__ import annotations

from ...checks.base import discover
from .base import HostCheck

HOST_CHECKS: dict[str, HostCheck] = {
    check.name: check for check in discover(__name__, __path__, (HostCheck,)) if isinstance(check, HostCheck)
}
"""Every host check by its public name, in the order the suite runs them: by name."""

__all__ = ["HOST_CHECKS", "HostCheck"]
