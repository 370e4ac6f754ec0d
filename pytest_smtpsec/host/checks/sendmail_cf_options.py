"""sendmail.cf holds the note's settings: certificates and keys, ``A p``, mechanisms, the two daemons.

The note: set ``CACertPath``/``CACertFile``/``ServerCertFile``/``ServerKeyFile``/``ClientCertFile``/
``ClientKeyFile``; ``define(`confAUTH_OPTIONS', `A p')``, ``TRUST_AUTH_MECH(...)``,
``confAUTH_MECHANISMS``, ``DAEMON_OPTIONS(`Port=submission, Name=MSA, M=Ea')`` and
``DAEMON_OPTIONS(`Port=smtps, Name=TLSMTA, M=s')``. The cf is what sendmail runs with, so it is judged;
the mc only explains a miss (defined but not rebuilt, or switched off with ``dnl``).
"""

from __future__ import annotations

from ...checks.base import Fix
from ...verdict import Outcome
from ..daemons import parse_daemon_options
from ..errors import CannotTell
from ..facts import HostFacts
from ..note_options import AUTH_MECHANISMS, AUTH_OPTIONS, TLS_FILES, NoteOption, Role
from ..sendmail_mc import McConfig
from .base import Findings, HostCheck

REBUILD = "cd /etc/mail && m4 sendmail.mc > sendmail.cf && service sendmail restart"
SUBMISSION_LINE = "DAEMON_OPTIONS(`Port=submission, Name=MSA, M=Ea')dnl"
SMTPS_LINE = "DAEMON_OPTIONS(`Port=smtps, Name=TLSMTA, M=s')dnl"
AUTH_FLAG_MEANING = {
    "A": "A (AUTH= on MAIL only for authenticated sessions)",
    "p": "p (no plaintext mechanisms before STARTTLS: without it PLAIN/LOGIN passwords can cross in the clear)",
}


def _define_hint(mc: McConfig | None, option: NoteOption) -> str:
    if mc is not None and (live := mc.define(option.mc)):
        return f"sendmail.mc line {live.line} defines {option.mc}: the cf was not rebuilt ({REBUILD})"
    if mc is not None and (off := mc.disabled_define(option.mc)):
        return f"sendmail.mc line {off.line} has it switched off (dnl {off}): remove the dnl and rebuild"
    return f"add {option.mc_line()} to sendmail.mc and rebuild"


def _daemon_hint(mc: McConfig | None, smtps: bool, line: str) -> str:
    if mc is not None:
        for call in mc.disabled:
            spec = parse_daemon_options(call.arg(0))
            if call.name == "DAEMON_OPTIONS" and (spec.is_smtps if smtps else spec.is_submission):
                return f"sendmail.mc line {call.line} has it switched off (dnl {call}): remove the dnl and rebuild"
    return f"add {line} to sendmail.mc and rebuild"


def judge(facts: HostFacts) -> Outcome:
    cf = facts.cf
    try:
        mc = facts.mc
    except CannotTell:
        mc = None  # the mc only explains misses; the cf decides
    found = Findings()
    for option in TLS_FILES:
        path = cf.get(option.cf)
        if not path:
            found.failures.append(f"sendmail.cf sets no {option.cf} ({option.role.value}); {_define_hint(mc, option)}")
            continue
        st = facts.stat(path)
        want_dir = option.role is Role.CA_DIR
        if st.missing:
            found.failures.append(f"O {option.cf}={path}: no such {'directory' if want_dir else 'file'}")
        elif not st.ok:
            found.unknown.append(f"O {option.cf}={path}: {st.error}")
        elif want_dir != st.is_dir or (not want_dir and not st.is_file):
            found.failures.append(f"O {option.cf}={path} is not a {'directory' if want_dir else 'regular file'}")

    auth = cf.get(AUTH_OPTIONS.cf)
    if auth is None:
        found.failures.append(f"sendmail.cf sets no AuthOptions; {_define_hint(mc, AUTH_OPTIONS)} with `A p'")
    else:
        flags = {c for c in auth if c.isalpha()}
        for flag in "Ap":
            if flag not in flags:
                found.failures.append(f"O AuthOptions={auth} lacks {AUTH_FLAG_MEANING[flag]}")
    mechanisms = cf.get(AUTH_MECHANISMS.cf)
    if not mechanisms:
        found.failures.append(f"sendmail.cf sets no AuthMechanisms; {_define_hint(mc, AUTH_MECHANISMS)}")
    trusted = cf.words("TrustAuthMech")
    if not trusted:
        found.failures.append(
            "sendmail.cf has no C{TrustAuthMech} class: authenticated users cannot relay; "
            "add TRUST_AUTH_MECH(`PLAIN LOGIN')dnl to sendmail.mc and rebuild"
        )

    daemons = cf.daemons
    submission = [d for d in daemons if d.is_submission and not d.is_smtps]
    smtps = [d for d in daemons if d.is_smtps]
    if not submission:
        found.failures.append(f"sendmail.cf has no submission daemon (port 587, M=Ea); {_daemon_hint(mc, False, SUBMISSION_LINE)}")
    for d in submission:
        if "a" not in d.modifiers:
            found.failures.append(f"submission daemon '{d.text}' does not require AUTH (M=Ea has the a)")
        elif "E" not in d.modifiers:
            found.warnings.append(f"submission daemon '{d.text}' accepts ETRN (the note's M=Ea has the E)")
    if not smtps:
        found.failures.append(f"sendmail.cf has no smtps daemon (M=s: TLS at connect); {_daemon_hint(mc, True, SMTPS_LINE)}")
    for d in daemons:
        if "S" in d.modifiers and not d.is_smtps:
            found.failures.append(f"daemon '{d.text}' has M=S: it does not offer STARTTLS, so logins there are in the clear")

    names = ", ".join(f"{d.name or d.port} (M={''.join(sorted(d.modifiers))})" for d in (*submission, *smtps))
    return found.outcome(
        f"the six certificate/key options are set and present, AuthOptions={auth}, AuthMechanisms={mechanisms}, "
        f"TrustAuthMech={' '.join(trusted)}, daemons {names}"
    )


CHECK = HostCheck(
    name="sendmail_cf_options",
    title="sendmail.cf sets the certificates, AUTH options and daemons the note asks for",
    expected=(
        "O CACertPath/CACertFile/ServerCertFile/ServerKeyFile/ClientCertFile/ClientKeyFile set to existing files; "
        "AuthOptions with A and p; AuthMechanisms and TrustAuthMech set; a submission daemon with M=Ea and an "
        "smtps daemon with M=s"
    ),
    note=(
        "The note has admins find where the vendor keeps certificates and keys, remove the dnl before the "
        "confCACERT_PATH/confCACERT/confSERVER_*/confCLIENT_* lines, enable authentication with confAUTH_OPTIONS "
        "`A p' (no plaintext AUTH before TLS: secure_auth=yes), TRUST_AUTH_MECH and confAUTH_MECHANISMS, and "
        "turn on submission (M=Ea: AUTH required) and smtps (M=s), then rebuild the cf."
    ),
    fix=Fix(
        "in sendmail.mc:\n"
        "define(`confCACERT_PATH', `/etc/mail/certs')dnl\n"
        "define(`confCACERT', `/etc/mail/certs/cacert.pem')dnl\n"
        "define(`confSERVER_CERT', `/etc/mail/certs/smtp.pem')dnl\n"
        "define(`confSERVER_KEY', `/etc/mail/certs/private/smtpkey.pem')dnl\n"
        "define(`confCLIENT_CERT', `/etc/mail/certs/smtpc.pem')dnl\n"
        "define(`confCLIENT_KEY', `/etc/mail/certs/private/smtpckey.pem')dnl\n"
        "define(`confAUTH_OPTIONS', `A p')dnl\n"
        "TRUST_AUTH_MECH(`PLAIN LOGIN')dnl\n"
        "define(`confAUTH_MECHANISMS', `PLAIN LOGIN')dnl\n"
        f"{SUBMISSION_LINE}\n{SMTPS_LINE}\n"
        f"then: {REBUILD}"
    ),
    judge=judge,
)
