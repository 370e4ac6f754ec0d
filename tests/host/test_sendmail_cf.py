"""The cf parser reads what sendmail's readcf reads: on the lab's m4 output and on tricky hand-written lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_smtpsec.host.sendmail_cf import parse_cf
from pytest_smtpsec.lab.layout import Layout


def test_reads_the_reference_cf(secure_state: Path) -> None:
    cf = parse_cf(Layout(secure_state).cf.read_text())
    assert cf.version_level == 10
    assert cf.get("AuthOptions") == "A p"
    assert cf.get("AuthMechanisms") == "PLAIN LOGIN"
    assert cf.get("ServerKeyFile") == str(Layout(secure_state).server_key)
    assert cf.get("CACertPath") == str(secure_state)
    assert cf.words("TrustAuthMech") == ("PLAIN", "LOGIN")
    assert [(d.name, d.port, "".join(sorted(d.modifiers))) for d in cf.daemons] == [
        ("MTA", 2525, ""),
        ("MSA", 2587, "Ea"),
        ("TLSMTA", 2465, "s"),
    ]


def test_hand_written_cf_follows_readcf() -> None:
    cf = parse_cf(
        "# a comment line with O AuthOptions=nothing\n"
        "V10/Berkeley\n"
        "O AuthOptions=A	# flags, then a comment\n"
        "O  authoptions = A p\n"  # names are case-insensitive, blanks around = ignored; the later line wins
        "O ServerCertFile=/etc/mail/certs/smtp\\#1.pem\n"  # \# is a literal hash
        "O ClientCertFile=/etc/mail/certs/\n"
        "	smtpc.pem\n"  # a continuation line
        "OOPort=smtps, Name=TLSMTA, M=s\n"  # the legacy one-letter form: O is DaemonPortOptions
        "O DaemonPortOptions=Port=submission, Name=MSA, Modifiers=Ea\n"
        "O Timeout.queuereturn=5d\n"
        "O SevenBitInput\n"  # a boolean without a value
        "C{TrustAuthMech}PLAIN\n"
        "C{TrustAuthMech}LOGIN PLAIN\n"
        "CwLocalhost\n"
        "R$* $#local $: $1\n"  # $# is an operator, not a comment
        "#O AuthMechanisms=PLAIN\n"
    )
    assert cf.version_level == 10
    assert cf.get("AuthOptions") == "A p"
    assert [o.value for o in cf.all("AUTHOPTIONS")] == ["A", "A p"]
    assert cf.get("ServerCertFile") == "/etc/mail/certs/smtp#1.pem"
    assert cf.get("ClientCertFile") == "/etc/mail/certs/\n\tsmtpc.pem"
    assert cf.get("Timeout.queuereturn") == "5d"
    assert cf.get("SevenBitInput") == ""
    assert cf.get("AuthMechanisms") is None
    assert cf.words("TrustAuthMech") == ("PLAIN", "LOGIN")
    assert cf.words("w") == ("Localhost",)
    smtps, msa = cf.daemons
    assert smtps.is_smtps and smtps.port == 465 and not smtps.is_submission
    assert msa.is_submission and msa.modifiers == {"E", "a"}
    assert cf.option("AuthOptions") is not None and cf.option("AuthOptions").line == 4  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("O AuthOptions=A p   ", "A p"),  # trailing blanks go
        ("O AuthOptions=A p # why", "A p"),  # so does a comment and the blanks before it
        ("O AuthOptions=A p#why", "A p"),
        ("O AuthOptions=", ""),
    ],
)
def test_values_lose_comments_and_trailing_blanks(line: str, value: str) -> None:
    assert parse_cf(line + "\n").get("AuthOptions") == value


def test_reads_the_system_cf_if_there_is_one() -> None:
    path = Path("/etc/mail/sendmail.cf")
    if not path.exists():
        pytest.skip("no /etc/mail/sendmail.cf on this machine")
    cf = parse_cf(path.read_text(errors="replace"))
    assert cf.version_level and cf.version_level >= 10
    assert cf.daemons, "a vendor cf always has DaemonPortOptions"


def test_a_submission_daemon_is_known_by_what_it_does_not_by_its_port_or_name() -> None:
    cf = parse_cf("O DaemonPortOptions=Port=2587, Name=USERS, M=Ea\nO DaemonPortOptions=Port=25, Name=MTA\n")
    users, mta = cf.daemons
    assert users.is_submission and not users.is_smtps  # M=a: AUTH required, on any port, under any name
    assert not mta.is_submission
