"""Port 465 speaks TLS first: no cleartext banner, the handshake, then the banner and AUTH inside TLS.

The note: "The connection to port 465 won't [present a clear text banner] -- the SSL handshake
protocol is non trivial"; "openssl s_client -connect minus:465" shows the handshake, then
``220 ... ESMTP``, and ``auth plain`` gives ``334`` there: "the encryption is negotiated right off the top".
"""

from __future__ import annotations

from ..probe import CleartextOnTls, Probes, Step
from ..target import Service
from ..verdict import Outcome, failed, passed
from .base import Area, Fix, ServiceCheck


def judge(probes: Probes, service: Service) -> Outcome:
    session = probes.session(service)
    try:
        tls = session.handshake()
        silent = probes.without_sni(service)  # a client that waits, saying nothing, before its ClientHello
    except CleartextOnTls as exc:
        waited = " to a client that waits" if exc.stage == "silent client" else " instead of TLS"
        first_line = exc.seen.split(b"\n")[0][:80]  # what came later depends on timing: the banner alone is evidence
        return failed(
            [f"the smtps port answered in cleartext{waited}: {first_line!r}"],
            transcript=exc.transcript,
        )
    banner = session.reply(Step.BANNER)  # the session's error where no banner came inside TLS
    assert banner is not None
    if banner.code != 220:
        return failed([f"the banner inside TLS was '{banner}', expected 220"], transcript=session.transcript)
    ehlo = session.reply(Step.EHLO)
    assert ehlo is not None
    if ehlo.auth_mechanisms() is None and probes.target.takes_logins(service):
        return failed(["AUTH is not offered inside TLS: users cannot log in on the smtps port"], transcript=session.transcript)
    quiet = "a silent client got no cleartext" if silent.accepted else f"a silent client got no cleartext ({silent.detail})"
    return passed(f"TLS first ({tls.version}), then '{banner.code}' and AUTH inside TLS; {quiet}", transcript=session.transcript)


CHECK = ServiceCheck(
    name="smtps_implicit_tls",
    title="The smtps port does TLS before anything else and offers AUTH inside it",
    area=Area.ENCRYPTION,
    services=(Service.SMTPS,),
    expected=(
        "no cleartext banner, neither at once nor to a client that waits; the TLS handshake succeeds at once; "
        "then '220 ... ESMTP' and EHLO with AUTH"
    ),
    note=(
        "Port 465 (smtps): 'Port 465 requires the SSL encryption, it is not optional -- smtps on port "
        "465 is like https on port 443'; the note recommends it to clients (use_smtps=yes)."
    ),
    fix=Fix(
        "DAEMON_OPTIONS(`Port=smtps, Name=TLSMTA, M=s')dnl   # M=s: TLS at connect\n"
        "define(`confSERVER_CERT', ...)dnl and define(`confSERVER_KEY', ...)dnl must be set\n"
        "then: m4 sendmail.mc > sendmail.cf && systemctl restart sendmail"
    ),
    judge=judge,
)
