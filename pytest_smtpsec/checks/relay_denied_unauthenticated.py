"""Nobody who has not logged in may relay mail to outside domains (no open relay), in any form:
before TLS, after STARTTLS, inside implicit TLS; with any sender; through the old address tricks."""

from __future__ import annotations

from ..probe import ProbeError, Probes
from ..probe.session import Phase
from ..target import Service
from ..verdict import Outcome, failed, passed, warned
from .base import Area, Fix, ServiceCheck


def judge(probes: Probes, service: Service) -> Outcome:
    sessions = [probes.session(service)] if service.implicit_tls else [probes.session(service), probes.extra(service)]
    attempts = [a for s in sessions for a in s.relay if a.phase is not Phase.AUTHENTICATED]
    transcript = "\n*  -- the extra session --\n".join(s.transcript for s in sessions)
    relayed = [f"{a.form} {a.phase.value} was accepted: '{a.rcpt}' — an open relay" for a in attempts if a.relayed]
    if relayed:
        return failed(relayed, transcript=transcript)
    if not attempts:  # the sessions broke before any relay attempt
        raise next((s.error for s in sessions if s.error), None) or ProbeError(sessions[0].address, "relay", "no relay attempt made")
    deferred = [a for a in attempts if a.deferred]
    if deferred:
        return warned(
            [f"{a.form} {a.phase.value} was only refused for now, twice: '{a.rcpt or a.mail}' (greylisting relays on a later try)"
             for a in deferred],
            transcript=transcript,
        )  # fmt: skip
    phases = ", ".join(dict.fromkeys(a.phase.value for a in attempts))
    return passed(f"{len(attempts)} relay attempts refused ({phases})", transcript=transcript)


CHECK = ServiceCheck(
    name="relay_denied_unauthenticated",
    title="Without login, mail to outside domains is refused",
    area=Area.RELAY,
    services=(Service.SMTP, Service.SUBMISSION, Service.SMTPS),
    expected=(
        "without AUTH, before TLS, after STARTTLS and inside implicit TLS: RCPT TO an outside address is refused "
        "(e.g. '550 5.7.1 Relaying denied') for the null, an outside, a local and the user's own sender domain, and "
        "for the %-hack, source-route, quoted and bang-path forms; a 4xx is asked once more; DATA is never sent"
    ),
    note=(
        "smtp_auth: sendmail allows 'those who have authenticated to send mail through the server'; "
        "login 'helps to prevent spam and forgeries' only if nobody else may relay."
    ),
    fix=Fix(
        "remove FEATURE(`promiscuous_relay'), FEATURE(`relay_local_from'), FEATURE(`loose_relay_check') and broad\n"
        "entries from /etc/mail/access and relay-domains; keep the default relay rules;\n"
        "m4 sendmail.mc > sendmail.cf && systemctl restart sendmail",
        postfix="smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination "
        "with mynetworks = 127.0.0.0/8 [::1]/128 only; allow_percent_hack = no; swap_bangpath = no",
        exim="hostlist relay_from_hosts = <; 127.0.0.1 ; ::1 and acl_smtp_rcpt requiring authenticated = * for every non-local domain",
    ),
    judge=judge,
)
