"""Users can log in once TLS is up, and a wrong password is refused."""

from __future__ import annotations

from ..probe import Probes, Step
from ..target import Service, ServiceRole
from ..verdict import Outcome, failed, passed
from ._tls import tls_session
from .base import Area, Fix, NotApplicable, ServiceCheck


def judge(probes: Probes, service: Service) -> Outcome:
    if probes.target.credentials is None:
        raise NotApplicable("no credentials: give --smtpsec-user and $SMTPSEC_PASSWORD to check logins")
    session = tls_session(probes, service)
    wrong, right = session.reply(Step.AUTH_WRONG), session.reply(Step.AUTH)
    if wrong is None or right is None:
        raise NotApplicable(f"{service.value} offers no AUTH inside TLS (requires_starttls_before_auth judges that)")
    findings = []
    if wrong.positive:
        findings.append(f"a WRONG password was accepted: '{wrong}' — anyone can log in")
    elif not wrong.permanent_failure:
        findings.append(f"a wrong password got '{wrong}', expected 535")
    if not right.positive:
        findings.append(f"the right password was refused: '{right}'")
    if findings:
        return failed(findings, transcript=session.transcript)
    return passed(f"login inside TLS: {right.code}; wrong password: {wrong.code}", transcript=session.transcript)


CHECK = ServiceCheck(
    name="auth_after_tls",
    title="Login works inside TLS and a wrong password is refused",
    area=Area.LOGIN,
    services=(Service.SMTP, Service.SUBMISSION, Service.SMTPS),
    service_roles=(ServiceRole.SUBMISSION,),
    expected="after STARTTLS (587) or inside TLS (465): AUTH with the right password gives 235, a wrong one 535",
    note=(
        "Authentication: 'Virtually all mail servers require the client application to login to send mail'; "
        "after STARTTLS 'they can safely issue an auth command'. Authentication needs saslauthd (or a sasldb)."
    ),
    fix=Fix(
        "define(`confAUTH_MECHANISMS', `PLAIN LOGIN')dnl\nTRUST_AUTH_MECH(`PLAIN LOGIN')dnl\n"
        "run saslauthd (or pwcheck_method: auxprop with a sasldb);\n"
        "m4 sendmail.mc > sendmail.cf && systemctl restart sendmail"
    ),
    judge=judge,
)
