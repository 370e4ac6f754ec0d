"""Every address of the host's name passes the checks: an IPv6 listener or a second server behind the name is
reached by the world as often as the address the other checks happened to use."""

from __future__ import annotations

import functools
import socket
from dataclasses import dataclass

from ..probe import Probes
from ..probe.cache import ADDRESSES_PROBED
from ..probe.parallel import map_all
from ..target import Role, Target, is_address
from ..verdict import Outcome, passed
from ._peers import Folded, judge_peer
from .base import Area, Fix, TargetCheck


def _routable(address: str) -> bool:
    """Whether this machine has a route to ``address`` (no IPv6 here, say): a UDP connect sends nothing."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((address, 9))
    except OSError:
        return False
    return True


def judge(probes: Probes) -> Outcome:
    target = probes.target
    addresses = probes.addresses()
    if len(addresses) < 2:
        return passed(f"{target.host} has one address ({', '.join(addresses)}): the other checks judged it")
    checked = [a for a in addresses[:ADDRESSES_PROBED] if _routable(a)]
    folded = Folded()
    folded.warnings += [f"{a}: not checked: this machine has no route to it" for a in addresses[:ADDRESSES_PROBED] if a not in checked]
    if len(addresses) > ADDRESSES_PROBED:
        folded.warnings.append(f"{len(addresses) - ADDRESSES_PROBED} more addresses not checked: {', '.join(addresses[ADDRESSES_PROBED:])}")
    judged = map_all([functools.partial(judge_peer, probes.peer(target.at(a))) for a in checked], "smtpsec-address-checks")
    for address, results in zip(checked, judged, strict=True):
        folded.add(address, results)
    return folded.outcome(f"{target.host} at each of its {len(addresses)} addresses, without a login")


@dataclass(frozen=True, kw_only=True)
class _EveryAddress(TargetCheck):
    """Placed on a host named by a name that offers mail (an address is one place; the MX hosts of a domain
    and the addresses themselves are judged as addresses)."""

    def places(self, target: Target) -> tuple[None, ...]:
        named = not is_address(target.host)
        return (None,) if named and target.services and target.role is not Role.NO_MAIL else ()


CHECK = _EveryAddress(
    name="secure_on_every_address",
    title="Every address of the host's name passes the checks (IPv4 and IPv6, each server behind the name)",
    area=Area.EXPOSURE,
    expected=(
        f"each address the name resolves to (up to {ADDRESSES_PROBED}) passing every network check that applies, "
        "without a login (the logins are tried through the other checks only); one address: nothing more to check"
    ),
    note=(
        "Beside the note's one server: clients reach a name at any of its addresses. A listener on IPv6 (or a "
        "second server behind the name) configured apart from the IPv4 one, without STARTTLS, with cleartext AUTH "
        "or relaying, is where the note's rules are broken unseen."
    ),
    fix=Fix(
        "one DAEMON_OPTIONS line per address family, alike (the IPv6 ones with Family=inet6):\n"
        "DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=smtp')dnl\n"
        "DAEMON_OPTIONS(`Family=inet6, Name=MSA-v6, Port=submission, M=Ea')dnl\n"
        "DAEMON_OPTIONS(`Family=inet6, Name=TLSMTA-v6, Port=smtps, M=s')dnl",
        postfix="inet_interfaces = all and the same master.cf services for both families (inet_protocols = all)",
        exim="daemon_smtp_ports and local_interfaces covering both families, with the same ACLs and TLS settings",
    ),
    judge=judge,
)
