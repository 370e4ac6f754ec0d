"""Hosts that are not mail servers offer nothing on 25, 465 or 587."""

from __future__ import annotations

from ..probe import ProbeError, Probes
from ..target import Role, Service
from ..verdict import Fact, Outcome, failed, passed
from .base import Area, Fix, TargetCheck


def judge(probes: Probes) -> Outcome:
    states = probes.ports([(port, not s.implicit_tls) for s in Service if (port := probes.target.ports.of(s)) is not None])
    listening = [f"port {st.port} {st.detail}" for st in states if st.open]
    if listening:
        return failed(listening, facts=frozenset({Fact.LISTENS_BUT_MUST_NOT}))
    unknown = next((st for st in states if not st.known), None)
    if unknown is not None:  # only a refusal or a silent drop proves a port closed
        raise ProbeError(f"{probes.target.host}:{unknown.port}", "connect", unknown.detail)
    return passed("; ".join(f"{st.port}: {st.detail}" for st in states))


CHECK = TargetCheck(
    name="no_mail_service",
    title="A host that is not a mail server listens on none of 25, 465, 587",
    area=Area.EXPOSURE,
    roles=(Role.NO_MAIL,),
    expected=(
        "connections to 25, 465 and 587 are refused or dropped "
        "(a name that does not resolve, or a host with no route, is 'could not check')"
    ),
    note=(
        "Closing advice: 'Mail servers on individual workstations is bad idea'; most systems 'are configured to "
        "punt all mail to another server -- they do not offer any of the services at ports 25, 465 and 587'."
    ),
    fix=Fix(
        "stop the daemon from listening: sendmail.mc DAEMON_OPTIONS(`Port=smtp, Addr=127.0.0.1, Name=MTA')dnl\n"
        "(or FEATURE(`nullclient', `mailhub')), drop the submission/smtps DAEMON_OPTIONS; or disable the MTA"
    ),
    judge=judge,
)
