"""saslauthd runs and its socket exists, when sendmail's SASL setup checks passwords through it.

The note: "Authentication requires the saslauthd(8) service -- you will need that installed and
running." That is so when Sendmail.conf says ``pwcheck_method: saslauthd`` and a plaintext mechanism
(PLAIN, LOGIN) is offered; with sasldb (``auxprop``) or only shared-secret mechanisms it is not, and
the check skips saying why.
"""

from __future__ import annotations

from ...checks.base import Fix
from ...verdict import Outcome
from ..errors import CannotTell
from ..facts import HostFacts
from ..sasl import PLAINTEXT_MECHANISMS, SENDMAIL_DEFAULT_MECHANISMS
from .base import Findings, HostCheck


def _needs_saslauthd(facts: HostFacts) -> str:
    """Why saslauthd is needed; CannotTell (a skip) saying why it is not."""
    configured = facts.cf.get("AuthMechanisms")
    mechanisms = {m.upper() for m in (configured.split() if configured else SENDMAIL_DEFAULT_MECHANISMS)}
    conf = facts.sasl
    if conf is None:
        raise CannotTell(
            f"saslauthd not needed: no Sendmail.conf in {', '.join(facts.paths.sasl_conf)}, so Cyrus SASL checks "
            "passwords with auxprop (sasldb)"
        )
    if conf.mech_list is not None:
        mechanisms &= conf.mech_list
    plaintext = sorted(mechanisms & PLAINTEXT_MECHANISMS)
    if "saslauthd" not in conf.pwcheck_methods:
        raise CannotTell(f"saslauthd not needed: {conf.path} has pwcheck_method: {' '.join(conf.pwcheck_methods)}")
    if not plaintext:
        raise CannotTell(
            f"saslauthd not needed: the offered mechanisms ({' '.join(sorted(mechanisms)) or 'none'}) include "
            "neither PLAIN nor LOGIN, the only ones saslauthd verifies"
        )
    return f"{conf.path} has pwcheck_method: saslauthd and {'/'.join(plaintext)} is offered"


def judge(facts: HostFacts) -> Outcome:
    why = _needs_saslauthd(facts)
    assert facts.sasl is not None
    found = Findings()
    running = facts.processes.named("saslauthd")
    if not running:
        found.failures.append(f"{why}, but no saslauthd process is running: every AUTH attempt fails")
    sockets = facts.sasl.sockets
    stats = [facts.stat(path) for path in sockets]
    present = [s for s in stats if s.ok and s.is_socket]
    if not present:
        if any(not s.ok and not s.missing for s in stats):
            found.unknown.extend(f"saslauthd socket {s.path}: {s.error}" for s in stats if not s.ok and not s.missing)
        else:
            found.failures.append(f"{why}, but its socket is not there ({', '.join(sockets)}): sendmail cannot reach it")
    pids = ", ".join(str(p.pid) for p in running)
    return found.outcome(f"{why}; saslauthd runs (pid {pids}) with its socket at {present[0].path if present else '?'}")


CHECK = HostCheck(
    name="saslauthd_running",
    title="saslauthd is running when sendmail checks passwords through it",
    expected="a saslauthd process and its socket (saslauthd_path, default /run/saslauthd/mux), when Sendmail.conf uses it",
    note=(
        "With pwcheck_method: saslauthd, sendmail hands every PLAIN/LOGIN password to the saslauthd daemon; the "
        "note: authentication requires saslauthd installed and running. If it is down, users cannot log in and "
        "may fall back to unauthenticated or insecure setups."
    ),
    fix=Fix(
        "Debian: apt-get install sasl2-bin, set START=yes in /etc/default/saslauthd, service saslauthd start; "
        "RedHat: dnf install cyrus-sasl && systemctl enable --now saslauthd"
    ),
    judge=judge,
)
