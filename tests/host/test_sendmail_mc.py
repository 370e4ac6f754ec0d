"""The mc parser follows m4: quotes, dnl, comments, define/undefine, and lines switched off with dnl.

Besides hand-written cases, a property test compares our reading of random definitions with GNU m4's.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pytest_smtpsec.host.sendmail_mc import McSyntaxError, parse_mc
from pytest_smtpsec.lab.layout import Layout

# The note's own vendor example (RedHat's sendmail.mc): every TLS line ships switched off.
VENDOR_MC = """\
divert(-1)dnl
dnl # This is the sendmail macro config file for m4.
include(`/usr/share/sendmail-cf/m4/cf.m4')dnl
VERSIONID(`setup for linux')dnl
OSTYPE(`linux')dnl
dnl define(`confCACERT_PATH',`/etc/pki/tls/certs')dnl
dnl define(`confCACERT',`/etc/pki/tls/certs/ca-bundle.crt')dnl
dnl define(`confSERVER_CERT',`/etc/pki/tls/certs/sendmail.pem')dnl
dnl define(`confSERVER_KEY',`/etc/pki/tls/certs/sendmail.pem')dnl
dnl define(`confAUTH_OPTIONS', `A p')dnl
dnl TRUST_AUTH_MECH(`EXTERNAL DIGEST-MD5 CRAM-MD5 LOGIN PLAIN')dnl
dnl define(`confAUTH_MECHANISMS', `EXTERNAL GSSAPI DIGEST-MD5 CRAM-MD5 LOGIN PLAIN')dnl
DAEMON_OPTIONS(`Port=smtp,Addr=127.0.0.1, Name=MTA')dnl
dnl DAEMON_OPTIONS(`Port=submission, Name=MSA, M=Ea')dnl
dnl DAEMON_OPTIONS(`Port=smtps, Name=TLSMTA, M=s')dnl
dnl # don't forget: `m4 sendmail.mc > sendmail.cf
FEATURE(`no_default_msa', `dnl')dnl
MAILER(smtp)dnl
"""


def test_vendor_lines_behind_dnl_are_off_but_known() -> None:
    mc = parse_mc(VENDOR_MC)
    assert mc.definitions() == {}
    assert mc.value("confSERVER_CERT") is None
    assert mc.trust_auth_mech == ()
    assert [spec.text for _, spec in mc.daemons] == ["Port=smtp,Addr=127.0.0.1, Name=MTA"]
    off = mc.disabled_define("confSERVER_CERT")
    assert off is not None and off.args == ("confSERVER_CERT", "/etc/pki/tls/certs/sendmail.pem") and off.line == 8
    assert [c.arg(0) for c in mc.disabled if c.name == "DAEMON_OPTIONS"] == [
        "Port=submission, Name=MSA, M=Ea",
        "Port=smtps, Name=TLSMTA, M=s",
    ]
    assert mc.features == ("no_default_msa",)
    assert mc.named("MAILER")[0].args == ("smtp",)


def test_switching_a_line_on_is_removing_its_dnl() -> None:
    mc = parse_mc(VENDOR_MC.replace("dnl define(`confAUTH_OPTIONS'", "define(`confAUTH_OPTIONS'"))
    assert mc.value("confAUTH_OPTIONS") == "A p"
    define = mc.define("confAUTH_OPTIONS")
    assert define is not None and define.line == 10


def test_m4_quoting_and_comments() -> None:
    mc = parse_mc(
        "divert(-1)\n"
        "define(`confNESTED', `a `quoted' word')dnl\n"  # inner quotes go when the value is used
        "define(`confPRIVACY_FLAGS',dnl\n"  # dnl inside an argument list, as Debian writes it
        "`goaway,noetrn')dnl\n"
        "# define(`confCOMMENTED', `x')  a comment hides calls\n"
        "define(`confUNQUOTED', plain   value)\n"
        "define(`CERTDIR', `/etc/mail/tls')dnl\n"
        "define(`confSERVER_CERT', `CERTDIR/smtp.pem')dnl\n"  # defined names expand when used
        "define(`confDNL', `cut dnl at use')\n"  # quoted once: dnl survives the define, not the use
        "define(`confKEEP', `keep ``dnl'' twice')\n"
        "define(`confGONE', `x')undefine(`confGONE')\n"
        "define(`confPARENS', `f(a, b)')dnl\n"
        "xdnl define(`confAFTER_XDNL', `y')\n"  # xdnl is a word of its own, not dnl
        "divert(0)dnl\n"
        "TRUST_AUTH_MECH(`PLAIN')TRUST_AUTH_MECH(`LOGIN PLAIN')dnl\n"
    )
    assert mc.value("confNESTED") == "a quoted word"
    assert mc.define("confNESTED").arg(1) == "a `quoted' word"  # type: ignore[union-attr]
    assert mc.value("confPRIVACY_FLAGS") == "goaway,noetrn"
    assert mc.value("confCOMMENTED") is None
    assert mc.value("confUNQUOTED") == "plain   value"
    assert mc.value("confSERVER_CERT") == "/etc/mail/tls/smtp.pem"
    assert mc.value("confDNL") == "cut "
    assert mc.value("confKEEP") == "keep `dnl' twice"
    assert mc.value("confGONE") is None
    assert mc.value("confPARENS") == "f(a, b)"
    assert mc.value("confAFTER_XDNL") == "y"
    assert mc.trust_auth_mech == ("PLAIN", "LOGIN")
    assert mc.define("confSERVER_CERT").line == 8  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "line"),
    [("define(`confX', `unclosed)\n\n", 1), ("\n\nDAEMON_OPTIONS(`Port=smtps'\n", 3)],
)
def test_unbalanced_input_is_an_error_with_its_line(text: str, line: int) -> None:
    with pytest.raises(McSyntaxError) as info:
        parse_mc(text)
    assert info.value.line == line


def test_reads_the_reference_mc(secure_state: Path) -> None:
    mc = parse_mc(Layout(secure_state).mc.read_text())
    assert mc.value("confAUTH_OPTIONS") == "A p"
    assert mc.value("confSERVER_KEY") == str(Layout(secure_state).server_key)
    assert mc.value("MAIL_SETTINGS_DIR") == f"{secure_state}/mail/"  # defined inside divert(-1): still defined
    assert mc.trust_auth_mech == ("PLAIN", "LOGIN")
    assert [(s.name, "".join(sorted(s.modifiers))) for _, s in mc.daemons] == [("MTA", ""), ("MSA", "Ea"), ("TLSMTA", "s")]
    assert mc.disabled == ()


def test_reads_the_system_mc_if_there_is_one() -> None:
    path = Path("/etc/mail/sendmail.mc")
    if not path.exists():
        pytest.skip("no /etc/mail/sendmail.mc on this machine")
    mc = parse_mc(path.read_text(errors="replace"))
    assert mc.named("MAILER")


# -- against GNU m4 ---------------------------------------------------------------------------------

_ATOMS = ["a", "B_2", " ", "  ", "/", ".", "-", "x(y)", "(", ")", "dnl\n", "\n", "#c\n", "confQ"]


@st.composite
def _quoted(draw: st.DrawFn, atoms: list[str], depth: int = 0) -> str:
    inner = [st.sampled_from(atoms), st.just(","), *([_quoted(atoms, depth + 1)] if depth < 2 else [])]
    return "`" + "".join(draw(st.lists(st.one_of(*inner), max_size=5))) + "'"


def _argument(use_q: bool) -> st.SearchStrategy[str]:
    """An argument without top-level commas and with balanced parentheses, as users write them.

    Only the value may use the helper macro Q: a Q that uses itself would make m4 loop forever.
    """
    atoms = _ATOMS + (["Q"] if use_q else [])
    bare = ["a", " ", "/p", "dnl\n", *(["Q"] if use_q else [])]
    return st.lists(st.one_of(_quoted(atoms), st.sampled_from(bare)), min_size=1, max_size=4).map("".join)


@pytest.mark.skipif(shutil.which("m4") is None, reason="GNU m4 not installed")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_argument(use_q=True), helper=_argument(use_q=False))
def test_definitions_read_like_gnu_m4(value: str, helper: str) -> None:
    text = f"define(`Q', {helper})dnl\ndefine(`confX', {value})dnl\n"
    m4 = subprocess.run(["m4"], input=text + "\x02confX\x02", capture_output=True, text=True, timeout=5, check=False)
    assume(m4.returncode == 0 and not m4.stderr)  # m4 itself refuses (EOF in an argument list, excess arguments)
    assert parse_mc(text).value("confX") == m4.stdout.split("\x02")[1]  # what precedes it: text left outside calls
