"""Property tests: any bytes give a Reply or a ReplyError, never anything else; transcripts never keep a secret."""

from __future__ import annotations

import base64

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pytest_smtpsec.probe import MASK, Reply, ReplyError, ReplyReader, Transcript, mask, parse_reply
from pytest_smtpsec.probe.reply import MAX_LINE, MAX_LINES
from pytest_smtpsec.probe.session import auth_plain
from pytest_smtpsec.probe.transcript import secret_forms

# Bytes that look like SMTP often enough to reach every branch: codes, separators, CRLF, junk.
smtp_bytes = st.lists(
    st.one_of(
        st.sampled_from([b"250", b"220", b"421", b"599", b"199", b"25", b"-", b" ", b"\r\n", b"\n", b"\r", b"x", b"\xff"]),
        st.binary(max_size=40),
    ),
    max_size=60,
).map(b"".join)
line_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"), max_size=120).filter(lambda s: s == s.rstrip())
replies = st.builds(Reply, st.integers(200, 599), st.lists(line_text, min_size=1, max_size=30).map(tuple))


def _take_all(reader: ReplyReader) -> list[Reply]:
    out = []
    while (reply := reader.take()) is not None:
        out.append(reply)
    return out


@settings(deadline=None)
@given(smtp_bytes)
def test_parse_reply_gives_a_reply_or_a_reply_error(data: bytes) -> None:
    try:
        reply = parse_reply(data)
    except ReplyError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert 200 <= reply.code <= 599 and reply.lines
    reply.keywords(), reply.extension("AUTH"), reply.enhanced, str(reply)


@settings(deadline=None)
@given(smtp_bytes, st.lists(st.integers(1, 64), max_size=20))
def test_the_reader_is_chunking_independent_and_bounded(data: bytes, cuts: list[int]) -> None:
    """Fed in any chunks, the reader yields the same replies (or the same error), holding at most one line."""

    def run(chunks: list[bytes]) -> tuple[list[Reply], str | None]:
        reader, got = ReplyReader(), []
        try:
            for chunk in chunks:
                reader.feed(chunk)
                got += _take_all(reader)
                assert len(reader.pending) <= MAX_LINE
                assert reader.pending_lines < MAX_LINES
        except ReplyError as exc:
            return got, exc.problem
        return got, None

    chunks, rest = [], data
    for cut in cuts:
        chunks.append(rest[:cut])
        rest = rest[cut:]
    whole = run([data])
    pieces = run([*chunks, rest])
    assert whole[1] == pieces[1] or (whole[1] is not None and pieces[1] is not None and "longer than" in whole[1] + pieces[1])
    if whole[1] is None:
        assert whole[0] == pieces[0]


@settings(deadline=None)
@given(replies)
def test_render_round_trips(reply: Reply) -> None:
    wire = "".join(f"{line}\r\n" for line in reply.render()).encode()
    assert parse_reply(wire) == reply


endless_lines = st.builds(
    lambda head, size: head + b"x" * size,
    st.binary(max_size=60).map(lambda b: b.replace(b"\n", b"")),
    st.integers(MAX_LINE + 1, MAX_LINE + 200),
)


@settings(deadline=None)
@given(endless_lines)
def test_a_line_without_end_is_refused_once_it_passes_the_cap(data: bytes) -> None:
    reader = ReplyReader()
    reader.feed(data)
    try:
        reader.take()
    except ReplyError as exc:
        assert exc.seen and len(exc.seen) <= 80
    else:
        raise AssertionError("an endless line was accepted")


# -- masking ---------------------------------------------------------------------------------------

passwords = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="*\r\n"), min_size=1, max_size=40)
users = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\0\r\n"), max_size=30)
noise = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"), max_size=20)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@settings(deadline=None)
@given(passwords, users)
def test_secret_forms_cover_what_auth_sends(password: str, user: str) -> None:
    forms = secret_forms(password, user)
    assert auth_plain(user, password).split()[2] in forms  # AUTH PLAIN's initial response
    assert _b64(password) in forms  # AUTH LOGIN's password line
    assert password in forms


@settings(deadline=None)
@given(passwords, users, st.lists(st.tuples(st.sampled_from("CSE"), noise, st.integers(0, 3), noise), max_size=8))
def test_no_secret_survives_a_transcript(password: str, user: str, lines: list[tuple[str, str, int, str]]) -> None:
    """Whatever the dialogue carries (our AUTH lines, a server echoing them, errors quoting them), the
    rendered transcript holds neither the password nor its AUTH PLAIN / AUTH LOGIN base64."""
    forms = secret_forms(password, user)
    payloads = [password, _b64(password), auth_plain(user, password), f"AUTH PLAIN {_b64(user + chr(0) + user + chr(0) + password)}"]
    transcript, ideal = Transcript(secrets=forms), []
    for kind, before, which, after in lines:
        text = f"{before}{payloads[which]}{after}"
        ideal.append(f"{before}{mask(payloads[which], forms)}{after}")
        {"C": transcript.sent, "S": lambda t: transcript.received([t]), "E": transcript.event}[kind](text)
    # A password that is part of the framing ("C: ", "AUTH PLAIN", the noise around it) is no leak.
    assume(not any(form in "\n".join(ideal) + "C: S: *  " for form in forms))
    rendered = transcript.render()
    for form in forms:
        assert form not in rendered


@settings(deadline=None)
@given(st.text(max_size=40), st.lists(st.text(max_size=5), max_size=4))
def test_mask_never_grows_text_from_an_empty_secret(text: str, secrets: list[str]) -> None:
    assert mask(text, ("", *secrets)) == mask(text, tuple(s for s in secrets if s))
    if not any(secrets):
        assert mask(text, ("",)) == text
        assert MASK not in mask(text, ()) or MASK in text
