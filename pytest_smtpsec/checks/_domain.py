"""What the domain checks share: they place themselves only on a target with a mail domain, and judge the
domain once for every target that names it with the same settings (:func:`domain_view`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..target import Ports, Role, Target
from .base import TargetCheck

DNS_FIX_NOTE = "(zone lines for the domain's DNS; the same whatever the MTA)"


def domain_view(target: Target) -> Target:
    """The mail domain of ``target`` as its own target: named by the domain, no services of its own, and only
    the settings that change a domain check's answer (resolver, CA file, timeout, EHLO name, the rules its MX
    hosts are judged by, their port). Hosts that share these share one DNS lookup, one policy fetch, one set
    of MX probes and one result per check."""
    return Target(
        host=target.domain,
        name=target.domain,
        ports=Ports(None, None, None),
        domain=target.domain,
        resolver=target.resolver,
        ca_file=target.ca_file,
        timeout=target.timeout,
        ehlo_name=target.ehlo_name,
        auth_policy=target.auth_policy,
        min_tls=target.min_tls,
        cert_warn_days=target.cert_warn_days,
        hardening=target.hardening,
        mx_port=target.mx_port,
    )


@dataclass(frozen=True, kw_only=True)
class DomainCheck(TargetCheck):
    """A check of the mail domain as the world sees it: placed on a target that names a domain, judged on the
    domain (:func:`domain_view`), and reported once per domain (on the first target naming it: ``Engine.places``)."""

    roles: tuple[Role, ...] = tuple(Role)

    def places(self, target: Target) -> tuple[None, ...]:
        return (None,) if target.domain and target.role in self.roles else ()

    def subject(self, target: Target) -> Target:
        return domain_view(target) if target.domain else target
