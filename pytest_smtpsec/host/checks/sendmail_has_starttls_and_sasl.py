"""The sendmail binary was built with STARTTLS and SASL, or nothing else in the note can work.

The note: "Your sendmail will support SSL (for encryption and privacy) and authentication if built
with STARTTLS and SASL options. To confirm that try: sendmail -d0.1 -bv ... If you don't have support
for both you should upgrade."
"""

from __future__ import annotations

from ...checks.base import Fix
from ...verdict import Outcome, failed, passed
from ..facts import HostFacts
from .base import HostCheck

SASL_FLAGS = ("SASLv2", "SASL")


def judge(facts: HostFacts) -> Outcome:
    build = facts.build
    binary = f"{facts.paths.sendmail} (sendmail {build.version})"
    findings = []
    if not build.has("STARTTLS"):
        findings.append(f"{binary} was compiled without STARTTLS: it cannot offer TLS on any port")
    sasl = next((f for f in SASL_FLAGS if build.has(f)), None)
    if sasl is None:
        findings.append(f"{binary} was compiled without SASL (SASLv2): it cannot authenticate users")
    if findings:
        seen = " ".join(sorted(build.compiled_with)) or "nothing"
        return failed([*findings, f"Compiled with: {seen}"])
    return passed(f"{binary} is compiled with STARTTLS and {sasl}")


CHECK = HostCheck(
    name="sendmail_has_starttls_and_sasl",
    title="The sendmail binary supports STARTTLS and SASL",
    expected="`sendmail -d0.1 -bv root` lists STARTTLS and SASLv2 under 'Compiled with:'",
    note=(
        "The note's first step: sendmail supports SSL and authentication only if built with the STARTTLS "
        "and SASL options (check with `sendmail -d0.1 -bv`); without both, upgrade or move the mail service."
    ),
    fix=Fix(
        "install a sendmail built with both: Debian `apt-get install sendmail-bin sasl2-bin libsasl2-modules`, "
        "RedHat `dnf install sendmail cyrus-sasl cyrus-sasl-plain`; then check `sendmail -d0.1 -bv root`"
    ),
    judge=judge,
)
