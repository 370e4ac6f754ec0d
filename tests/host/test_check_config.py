"""sendmail_cf_options and sendmail_cf_rebuilt on the reference files, and on copies broken one way each."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from pytest_smtpsec.host import HOST_CHECKS
from pytest_smtpsec.lab.layout import Layout
from pytest_smtpsec.verdict import Verdict

from .conftest import edit, facts_of, rebuild_cf

OPTIONS = HOST_CHECKS["sendmail_cf_options"]
REBUILT = HOST_CHECKS["sendmail_cf_rebuilt"]


def test_options_pass_on_the_secure_profile(secure_state: Path) -> None:
    result = OPTIONS.run(facts_of(secure_state))
    assert result.verdict is Verdict.PASS, result.outcome.findings
    assert "AuthOptions=A p" in result.outcome.reason and "MSA (M=Ea), TLSMTA (M=s)" in result.outcome.reason


def test_options_fail_without_p(broken: Callable[[], Path]) -> None:
    state = broken()
    edit(Layout(state).mc, "define(`confAUTH_OPTIONS', `A p')", "define(`confAUTH_OPTIONS', `A')")
    rebuild_cf(state)
    result = OPTIONS.run(facts_of(state))
    assert result.verdict is Verdict.FAIL
    assert result.outcome.findings == (
        "O AuthOptions=A lacks p (no plaintext mechanisms before STARTTLS: without it PLAIN/LOGIN passwords can cross in the clear)",
    )


def test_options_fail_without_the_smtps_daemon_and_point_at_the_dnl(broken: Callable[[], Path]) -> None:
    state = broken()
    mc = Layout(state).mc
    line = next(n for n, text in enumerate(mc.read_text().splitlines(), 1) if "Name=TLSMTA" in text)
    edit(mc, "DAEMON_OPTIONS(`Port=2465", "dnl DAEMON_OPTIONS(`Port=2465")  # switched off, as vendors ship it
    rebuild_cf(state)
    result = OPTIONS.run(facts_of(state))
    assert result.verdict is Verdict.FAIL
    (finding,) = result.outcome.findings
    assert finding.startswith("sendmail.cf has no smtps daemon (M=s: TLS at connect); sendmail.mc line")
    assert f"line {line} has it switched off (dnl DAEMON_OPTIONS(`Port=2465" in finding


def test_options_fail_when_a_key_file_is_missing_and_name_it(broken: Callable[[], Path]) -> None:
    state = broken()
    Layout(state).client_key.unlink()
    result = OPTIONS.run(facts_of(state))
    assert result.verdict is Verdict.FAIL
    assert result.outcome.findings == (f"O ClientKeyFile={Layout(state).client_key}: no such file",)


def test_options_hint_at_a_define_that_was_not_rebuilt(broken: Callable[[], Path]) -> None:
    state = broken()
    layout = Layout(state)
    edit(layout.cf, f"O CACertFile={layout.cacert}\n", "")
    result = OPTIONS.run(facts_of(state))
    assert result.verdict is Verdict.FAIL
    assert "sets no CACertFile (CA certificates); sendmail.mc line" in result.outcome.findings[0]
    assert "defines confCACERT: the cf was not rebuilt" in result.outcome.findings[0]


def test_rebuilt_passes_on_the_secure_profile(secure_state: Path) -> None:
    result = REBUILT.run(facts_of(secure_state))
    assert result.verdict is Verdict.PASS, result.outcome.findings
    assert "is not older than" in result.outcome.reason
    assert "daemon start not seen: no sendmail pid file" in result.outcome.reason  # said, not silently passed


def test_rebuilt_fails_when_the_mc_was_edited_after_the_cf(broken: Callable[[], Path]) -> None:
    state = broken()
    layout = Layout(state)
    cf_time = os.stat(layout.cf).st_mtime
    os.utime(layout.mc, (cf_time + 60, cf_time + 60))
    result = REBUILT.run(facts_of(state))
    assert result.verdict is Verdict.FAIL
    (finding,) = result.outcome.findings
    assert f"{layout.mc} was changed at " in finding and f"after {layout.cf} was built at" in finding


def test_rebuilt_fails_when_the_cf_disagrees_with_the_mc(broken: Callable[[], Path]) -> None:
    """Times can lie (a restored backup); the settings cannot."""
    state = broken()
    layout = Layout(state)
    edit(layout.cf, "O AuthOptions=A p", "O AuthOptions=A")
    edit(layout.cf, ", Name=TLSMTA, M=s", ", Name=TLSMTA")
    result = REBUILT.run(facts_of(state))
    assert result.verdict is Verdict.FAIL
    assert result.outcome.findings[0].endswith(
        "sets confAUTH_OPTIONS to 'A p' but sendmail.cf has O AuthOptions=A: the cf was not built from this mc"
    )
    assert (
        "has DAEMON_OPTIONS(`Port=2465, Addr=127.0.0.1, Family=inet, Name=TLSMTA, M=s') but sendmail.cf has no such"
        in result.outcome.findings[1]
    )


def test_rebuilt_without_mc_or_daemon_cannot_tell(broken: Callable[[], Path]) -> None:
    state = broken()
    Layout(state).mc.unlink()
    result = REBUILT.run(facts_of(state))
    assert result.verdict is Verdict.SKIP
    assert "no " in result.outcome.reason and "daemon's start is not visible" in result.outcome.reason


def test_every_check_skips_with_the_reason_when_the_cf_is_unreadable(tmp_path: Path) -> None:
    facts = facts_of(tmp_path, cf=str(tmp_path / "sendmail.cf"), mc=str(tmp_path / "sendmail.mc"), sendmail="/nonexistent")
    for name, host_check in HOST_CHECKS.items():
        result = host_check.run(facts)
        assert result.verdict is Verdict.SKIP, (name, result.outcome)
        assert result.outcome.reason.startswith("cannot tell: ")
        if name != "sendmail_has_starttls_and_sasl":
            assert f"{tmp_path}/sendmail.cf" in result.outcome.reason, (name, result.outcome.reason)
