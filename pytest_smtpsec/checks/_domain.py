"""What the domain checks share: they place themselves only on a target with a mail domain."""

from __future__ import annotations

from dataclasses import dataclass

from ..target import Role, Target
from .base import TargetCheck

DNS_FIX_NOTE = "(zone lines for the domain's DNS; the same whatever the MTA)"


@dataclass(frozen=True, kw_only=True)
class DomainCheck(TargetCheck):
    """A check of the mail domain as the world sees it: judged once per target that names a domain."""

    roles: tuple[Role, ...] = tuple(Role)

    def places(self, target: Target) -> tuple[None, ...]:
        return (None,) if target.domain and target.role in self.roles else ()
