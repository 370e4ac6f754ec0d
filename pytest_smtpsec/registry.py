"""Every check of a run, by name, in the order they run; filled through the ``pytest_smtpsec_checks`` hook.

The built-in checks come in through the same hook as a site's own, so a conftest.py adds a check with
one hook implementation (see :mod:`.hooks`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .checks import CHECKS, Area, Check, ServiceCheck, TargetCheck
from .host import HOST_CHECKS, HostCheck

AnyCheck = ServiceCheck | TargetCheck | HostCheck


def builtin_checks() -> list[AnyCheck]:
    """The project's own checks: the note's network checks, then the host checks."""
    return [*CHECKS.values(), *HOST_CHECKS.values()]


class Registry:
    """An ordered, duplicate-free collection of checks (network checks first, each family in given order)."""

    def __init__(self, checks: Iterable[AnyCheck]) -> None:
        self._checks: dict[str, AnyCheck] = {}
        for check in checks:
            if not isinstance(check, Check):
                raise TypeError(f"not a check: {check!r} (expected a ServiceCheck, TargetCheck or HostCheck)")
            if check.name in self._checks:
                raise ValueError(f"two checks named {check.name!r}: check names must be unique")
            self._checks[check.name] = check
        areas = list(Area)
        self._order = {name: (areas.index(c.area), i) for i, (name, c) in enumerate(self._checks.items())}
        self.network: tuple[ServiceCheck | TargetCheck, ...] = tuple(c for c in self if isinstance(c, ServiceCheck | TargetCheck))
        self.host: tuple[HostCheck, ...] = tuple(c for c in self if isinstance(c, HostCheck))

    def __iter__(self) -> Iterator[AnyCheck]:
        return iter(self._checks.values())

    def __len__(self) -> int:
        return len(self._checks)

    def __contains__(self, name: object) -> bool:
        return name in self._checks

    def __getitem__(self, name: str) -> AnyCheck:
        return self._checks[name]

    def order(self, name: str) -> tuple[int, int]:
        """Sort key of a check's results in reports: by area, then registration order (unknown names last)."""
        return self._order.get(name, (len(Area), len(self._checks)))
