"""sendmail.cf was rebuilt from the current sendmail.mc, and the daemon restarted since.

The note: after editing sendmail.mc, "generate a new configuration ... m4 sendmail.mc > sendmail.cf.
Then you need to kill and restart the sendmail daemon". An mc newer than its cf, a cf that disagrees
with the mc on the note's settings, or a daemon older than its cf all mean the edits are not in effect.
"""

from __future__ import annotations

from ...checks.base import Fix
from ...verdict import Outcome
from ..errors import CannotTell
from ..facts import HostFacts
from ..note_options import NOTE_OPTIONS
from ..sendmail_cf import SendmailCf
from ..sendmail_mc import McConfig
from .base import Findings, HostCheck, when

CLOCK_SLACK = 1.0
"""Process ages and ssh-side mtimes are whole seconds."""


def _same(a: str, b: str) -> bool:
    return a.split() == b.split()


def _compare(mc: McConfig, cf: SendmailCf, mc_path: str, found: Findings) -> None:
    """The note's settings as the mc writes them must be what the cf holds."""
    for option in NOTE_OPTIONS:
        wanted = mc.value(option.mc)
        define = mc.define(option.mc)
        if wanted is None or define is None:
            continue
        have = cf.get(option.cf)
        if have is None or not _same(wanted, have):
            in_cf = f"O {option.cf}={have}" if have is not None else f"no {option.cf}"
            found.failures.append(
                f"{mc_path} line {define.line} sets {option.mc} to '{wanted}' but sendmail.cf has {in_cf}: "
                "the cf was not built from this mc"
            )
    listening = {d.key for d in cf.daemons}
    for call, spec in mc.daemons:
        if spec.key not in listening:
            found.failures.append(
                f"{mc_path} line {call.line} has DAEMON_OPTIONS(`{spec.text}') but sendmail.cf has no such DaemonPortOptions"
            )
    missing = [m for m in mc.trust_auth_mech if m not in cf.words("TrustAuthMech")]
    if missing:
        found.failures.append(f"{mc_path} trusts {' '.join(missing)} (TRUST_AUTH_MECH) but sendmail.cf's C{{TrustAuthMech}} does not")


def judge(facts: HostFacts) -> Outcome:
    cf_path, mc_path = facts.paths.cf, facts.paths.mc
    cf_stat = facts.stat(cf_path)
    if not cf_stat.ok:
        raise CannotTell(f"cannot stat {cf_path}: {cf_stat.error}")
    found = Findings()
    seen = []
    mc_stat = facts.stat(mc_path)
    if mc_stat.missing:
        seen.append(f"no {mc_path} to compare with")
    elif not mc_stat.ok:
        found.unknown.append(f"cannot stat {mc_path}: {mc_stat.error}")
    else:
        if mc_stat.mtime > cf_stat.mtime:
            found.failures.append(
                f"{mc_path} was changed at {when(mc_stat.mtime)}, after {cf_path} was built at {when(cf_stat.mtime)}: "
                "the edits are not in effect"
            )
        try:
            mc = facts.mc
        except CannotTell as exc:
            found.unknown.append(str(exc))
        else:
            if mc is not None:
                _compare(mc, facts.cf, mc_path, found)
        seen.append(f"{cf_path} ({when(cf_stat.mtime)}) is not older than {mc_path} and holds its settings")
    try:
        daemon = facts.daemon
    except CannotTell as exc:
        if mc_stat.missing:
            raise CannotTell(f"no {mc_path} to compare with, and the daemon's start is not visible: {exc}") from None
        seen.append(f"daemon start not seen: {exc}")
    else:
        if daemon.started + CLOCK_SLACK < cf_stat.mtime:
            found.failures.append(
                f"the running sendmail (pid {daemon.pid}) started at {when(daemon.started)}, before {cf_path} was "
                f"rebuilt at {when(cf_stat.mtime)}: it still runs the old configuration"
            )
        else:
            seen.append(f"the daemon (pid {daemon.pid}) started at {when(daemon.started)}, after the rebuild")
    return found.outcome("; ".join(seen))


CHECK = HostCheck(
    name="sendmail_cf_rebuilt",
    title="sendmail.cf is rebuilt from sendmail.mc and the daemon restarted since",
    expected="sendmail.cf not older than sendmail.mc and agreeing with it; the daemon started after the cf was written",
    note=(
        "Editing sendmail.mc changes nothing by itself: the note rebuilds the cf with m4 and restarts the daemon. "
        "A stale cf or a daemon still running an old cf keeps the old, possibly insecure, settings."
    ),
    fix=Fix(
        "cd /etc/mail && cp sendmail.cf sendmail.cf.orig && m4 sendmail.mc > sendmail.cf "
        "(Debian: make -C /etc/mail), then restart: service sendmail restart"
    ),
    judge=judge,
)
