"""Hostile and broken servers: every check ends in bounded time, as ERROR with a one-line reason, or as
FAIL where the server really is insecure; nothing else escapes, memory stays bounded, no traceback.

The whole matrix (every fault, every check, the default and a short timeout) runs concurrently once per
module, so the default 10 s timeout costs 10 s of wall time, not 10 s per case.
"""

from __future__ import annotations

import re
import threading
import time
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from fakes import HOST, PASSWORD, SCRIPTS, USER, fake, write_ca_file

from pytest_smtpsec.checks import CHECKS, run_at
from pytest_smtpsec.probe import Probes, Step, run_session
from pytest_smtpsec.target import Credentials, Ports, Service, Target
from pytest_smtpsec.verdict import CheckResult, Verdict

SHORT = 1.0
DEFAULT = Target(HOST).timeout
"""The timeout a target gets when none is configured (also the --smtpsec-timeout default)."""
SLACK = 1.5
"""Seconds a check may take beyond its timeout(s): the steps before the one that times out, on a loaded machine."""

E, F = Verdict.ERROR, Verdict.FAIL


@dataclass(frozen=True)
class Expect:
    verdict: Verdict
    stage: str | None
    shows: str
    """Text the reason (or a finding) must contain: what the server was seen doing. ``{t}`` is the timeout."""


CLEARTEXT = "answered in cleartext instead of TLS"
# fault -> (requires_starttls_before_auth on submission, smtps_implicit_tls on smtps)
EXPECTED: dict[str, tuple[Expect, Expect]] = {
    "silent": (
        Expect(E, "banner", "timed out after {t} s waiting for a reply (received nothing)"),
        Expect(E, "tls", "timed out after {t} s waiting for the TLS handshake (nothing received)"),
    ),
    "banner_then_silence": (
        Expect(E, "ehlo", "timed out after {t} s waiting for a reply (received nothing)"),
        Expect(F, None, f"{CLEARTEXT}: b'220 quiet.invalid"),
    ),
    "slow_drip": (Expect(E, "banner", "timed out after {t} s waiting for a reply (received '2"), Expect(F, None, f"{CLEARTEXT}: b'2")),
    "garbage": (
        Expect(E, "banner", r"garbage reply: not an SMTP reply: '\x00\x01"),
        Expect(E, "tls", r"not a TLS server: it answered the ClientHello with '\x00\x01"),
    ),
    "long_line": (
        Expect(E, "banner", "reply line longer than 2048 bytes without CRLF: '220 xxxx"),
        Expect(F, None, f"{CLEARTEXT}: b'220 xxxx"),
    ),
    "endless_multiline": (
        Expect(E, "banner", "multi-line reply longer than 200 lines: '220-still greeting you'"),
        Expect(F, None, f"{CLEARTEXT}: b'220-still greeting you"),
    ),
    "busy_421": (Expect(E, "banner", "421 4.3.2 busy.invalid"), Expect(F, None, f"{CLEARTEXT}: b'421 4.3.2")),
    "closed_at_once": (
        Expect(E, "banner", "connection closed by the server (received nothing)"),
        Expect(E, "tls", "connection closed during the TLS handshake (nothing received)"),
    ),
    # the reset may arrive before connect() returns: then the stage is "connect"
    "reset_at_once": (Expect(E, None, "reset"), Expect(E, None, "reset")),
    "tls_stall": (
        Expect(E, "banner", "timed out after {t} s waiting for a reply (received nothing)"),
        Expect(E, "tls", "timed out after {t} s waiting for the TLS handshake (nothing received)"),
    ),
    "http": (
        Expect(E, "banner", "timed out after {t} s waiting for a reply (received nothing)"),
        Expect(E, "tls", "not a TLS server: it answered the ClientHello with 'HTTP/1.1 400 Bad Request"),
    ),
    "starttls_drop": (
        Expect(E, "starttls", "connection closed during the TLS handshake (nothing received)"),
        Expect(F, None, f"{CLEARTEXT}: b'220 fake.invalid"),
    ),
    "starttls_stall": (
        Expect(E, "starttls", "timed out after {t} s waiting for the TLS handshake (nothing received)"),
        Expect(F, None, f"{CLEARTEXT}: b'220 fake.invalid"),
    ),
    "cleartext_smtp": (Expect(F, None, "STARTTLS is not offered"), Expect(F, None, f"{CLEARTEXT}: b'220 fake.invalid")),
    "any_password": (Expect(F, None, "AUTH PLAIN before TLS was answered 334"), Expect(F, None, f"{CLEARTEXT}: b'220 fake.invalid")),
}
KNOWN = ("requires_starttls_before_auth", "smtps_implicit_tls")
NEVER_ANSWER = {
    "silent",
    "slow_drip",
    "garbage",
    "long_line",
    "endless_multiline",
    "busy_421",
    "closed_at_once",
    "reset_at_once",
    "tls_stall",
    "http",
}
"""Faults that never complete one usable SMTP exchange: no check may PASS (or WARN) on them."""
ERROR_REASON = re.compile(r"^(?P<host>[\d.]+):(?P<port>\d+) \[(?P<stage>[^\]\n]+)\]: (?P<seen>[^\n]+)$")


@dataclass(frozen=True)
class Case:
    fault: str
    kind: str  # "starttls": the fake is the submission port; "smtps": the fake is the smtps port
    check: str
    service: Service | None
    timeout: float

    def __str__(self) -> str:
        return f"{self.check} on {self.service.value if self.service else 'the host'} ({self.kind} fake)"


@dataclass(frozen=True)
class Ran:
    port: int
    result: CheckResult | None
    escaped: BaseException | None
    seconds: float
    connections: int


def target_for(port: int, kind: str, timeout: float) -> Target:
    ports = Ports(None, port, None) if kind == "starttls" else Ports(None, None, port)
    return Target(HOST, ports=ports, timeout=timeout, credentials=Credentials(USER, PASSWORD))


CASES = [
    Case(fault, kind, check.name, service, timeout)
    for fault in EXPECTED
    for timeout in (SHORT, DEFAULT)
    for kind in ("starttls", "smtps")
    for check in CHECKS.values()
    for service in check.places(target_for(1, kind, timeout))
]
GROUPS = list(dict.fromkeys((c.fault, c.timeout) for c in CASES))


def run_case(case: Case, port: int) -> Ran:
    """One check with probes of its own, so that its time is its own."""
    probes = Probes(target_for(port, case.kind, case.timeout))
    started = time.monotonic()
    try:
        result, escaped = run_at(CHECKS[case.check], probes, case.service), None
    except BaseException as exc:
        result, escaped = None, exc
    return Ran(port, result, escaped, time.monotonic() - started, probes.connections)


def problems(case: Case, ran: Ran) -> list[str]:
    """What is wrong with how one check ended against one fault; empty if nothing."""
    if ran.escaped is not None or ran.result is None:
        return [f"{type(ran.escaped).__name__} escaped: {ran.escaped}"]
    found = []
    bound = case.timeout * max(1, ran.connections) + SLACK
    if ran.seconds > bound:
        found.append(f"took {ran.seconds:.2f} s, more than {bound:g} s")
    outcome = ran.result.outcome
    if "\n" in outcome.reason or not outcome.reason.strip():
        found.append(f"not a one-line reason: {outcome.reason!r}")
    if outcome.verdict is Verdict.ERROR:
        match = ERROR_REASON.match(outcome.reason)
        if not match or (match["host"], int(match["port"])) != (HOST, ran.port):
            found.append(f"not '{HOST}:{ran.port} [stage]: what was seen': {outcome.reason!r}")
    if case.fault in NEVER_ANSWER and outcome.verdict not in (Verdict.ERROR, Verdict.FAIL, Verdict.SKIP):
        found.append(f"{outcome.verdict.value} against a server that never answers: {outcome.reason}")
    if case.check in KNOWN:
        expect = EXPECTED[case.fault][KNOWN.index(case.check)]
        said = " | ".join((outcome.reason, *outcome.findings))
        stage_ok = expect.stage is None or f" [{expect.stage}]: " in outcome.reason
        if outcome.verdict is not expect.verdict or expect.shows.format(t=f"{case.timeout:g}") not in said or not stage_ok:
            found.append(f"expected {expect}, got {outcome.verdict.value}: {said}")
    return found


# -- memory: what a server sends is capped (first: tracemalloc counts every thread) ----------------


@pytest.mark.parametrize("kind", ["starttls", "smtps"])
@pytest.mark.parametrize("name", ["long_line", "endless_multiline", "garbage"])
def test_memory_stays_bounded(name: str, kind: str) -> None:
    service = Service.SMTPS if kind == "smtps" else Service.SUBMISSION
    check = CHECKS[KNOWN[kind == "smtps"]]
    with fake(name) as server:
        run_at(check, Probes(target_for(server.port, kind, SHORT)), service)  # warm up: first imports, caches
        probes = Probes(target_for(server.port, kind, SHORT))
        tracemalloc.start()
        try:
            run_at(check, probes, service)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 128 * 1024, f"peak {peak} bytes while talking to {name}"


# -- the matrix: every fault, every check, both timeouts, all at once ------------------------------


@pytest.fixture(scope="module")
def matrix() -> Iterator[dict[Case, Future[Ran]]]:
    """Started by the first test that asks, so its timeouts elapse while the pytester runs below work."""
    with ExitStack() as stack:
        fakes = {name: stack.enter_context(fake(name)) for name in EXPECTED}
        pool = stack.enter_context(ThreadPoolExecutor(max_workers=len(CASES)))
        yield {case: pool.submit(run_case, case, fakes[case.fault].port) for case in CASES}


# -- what the user sees: pytester runs of the built-in suite ---------------------------------------

RUNS = {
    # (smtp, submission, smtps): one fake per port, three faults per run
    "timeout-fail-http": ("silent", "any_password", "http"),
    "garbage-tlsstall-cleartext": ("garbage", "starttls_stall", "banner_then_silence"),
}
RUN_LIMIT = 30.0


def _pattern(text: str) -> str:
    return "*" + text.replace("[", "[[]") + "*"


@pytest.mark.usefixtures("matrix")
@pytest.mark.parametrize("faults", list(RUNS.values()), ids=list(RUNS))
def test_the_user_sees_one_line_reasons_and_no_traceback(pytester: pytest.Pytester, faults: tuple[str, str, str]) -> None:
    with ExitStack() as stack:
        servers = [stack.enter_context(fake(name)) for name in faults]
        # --tb=native: the plugin replaces the traceback of its own errors anyway, and pytest's default style
        # spends ~0.4 s per error on source it then throws away. Any other exception shows as "Traceback".
        args = ["--smtpsec", f"--smtpsec-host={HOST}", f"--smtpsec-timeout={SHORT:g}", "-rA", "--tb=native"]
        args += [f"--smtpsec-ca-file={write_ca_file(pytester.path)}"]
        args += ["-p", "no:cacheprovider", "-p", "no:hypothesispytest"]
        args += [f"--smtpsec-{s.value}-port={server.port}" for s, server in zip(Service, servers, strict=True)]
        # In a subprocess: a hang is killed at RUN_LIMIT, and the matrix's threads share nothing with it.
        result = pytester.runpytest_subprocess(*args, timeout=RUN_LIMIT)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    for service, name, server in zip(Service, faults, servers, strict=True):
        expect = EXPECTED[name][service.implicit_tls]
        address = f"{HOST}:{server.port}"
        headline = "COULD NOT CHECK" if expect.verdict is Verdict.ERROR else "INSECURE"
        shows = expect.shows.format(t=f"{SHORT:g}")
        if expect.stage is not None:
            shows = f"{address} [{expect.stage}]: {shows}"
        check = KNOWN[service.implicit_tls]
        result.stdout.fnmatch_lines([_pattern(f"{check} on {HOST} {service.value} ({address}): {headline}"), _pattern(shows)])
    for output in (result.stdout, result.stderr):
        output.no_fnmatch_line("*Traceback*")
        output.no_fnmatch_line("*INTERNALERROR*")
        output.no_fnmatch_line("*pytest_smtpsec/*.py:*: in *")
        output.no_fnmatch_line('*File "*pytest_smtpsec/*')


# -- positive controls: the fakes do what their names say (also while the matrix runs) -------------


@pytest.mark.usefixtures("matrix")
@pytest.mark.parametrize(("name", "service"), [("well_behaved", Service.SUBMISSION), ("well_behaved_smtps", Service.SMTPS)])
def test_the_well_behaved_fake_passes_the_basic_checks(name: str, service: Service) -> None:
    with fake(name) as server:
        probes = Probes(target_for(server.port, "smtps" if service.implicit_tls else "starttls", SHORT))
        assert run_at(CHECKS[KNOWN[service.implicit_tls]], probes, service).verdict is Verdict.PASS


@pytest.mark.usefixtures("matrix")
@pytest.mark.parametrize(("name", "answered"), [("starttls_injection", True), ("well_behaved", False)])
def test_the_injection_probe_sees_a_server_that_answers_pipelined_commands(name: str, answered: bool) -> None:
    with fake(name) as server:
        session = run_session(target_for(server.port, "starttls", SHORT), Service.SUBMISSION)
    assert session.error is None
    assert (Step.INJECTED in session.replies) is answered


@pytest.mark.usefixtures("matrix")
def test_a_tarpit_cannot_stretch_a_check_past_its_bound() -> None:
    with fake("tarpit") as server:  # answers every command after 0.4 s
        probes = Probes(target_for(server.port, "starttls", 0.5))
        check = threading.Thread(target=CHECKS[KNOWN[0]].run, args=(probes, Service.SUBMISSION))
        check.start()
        check.join(0.5 + SLACK)
        stretched = check.is_alive()
    check.join(2.0)  # the fake has hung up: the check ends now
    assert not stretched


@pytest.mark.usefixtures("matrix")
def test_fakes_stop_promptly_with_clients_still_connected() -> None:
    servers = [fake(name) for name in ("silent", "slow_drip", "tls_stall", "starttls_stall")]
    clients = [threading.Thread(target=run_session, args=(target_for(s.port, "starttls", 5.0), Service.SUBMISSION)) for s in servers]
    with ExitStack() as stack:
        for server in servers:
            stack.enter_context(server)
        for client in clients:
            client.start()
        time.sleep(0.3)
        closing = time.monotonic()
    assert time.monotonic() - closing < 1.0
    for client in clients:
        client.join(2.0)  # cut off, the clients end at once with an error instead of waiting 5 s
        assert not client.is_alive()


# -- the matrix's results --------------------------------------------------------------------------


@pytest.mark.parametrize(("fault", "timeout"), GROUPS, ids=[f"{f}-{t:g}s" for f, t in GROUPS])
def test_every_check_ends_in_time_as_error_or_failure(matrix: dict[Case, Future[Ran]], fault: str, timeout: float) -> None:
    found = [
        f"{case}: {problem}"
        for case in CASES
        if (case.fault, case.timeout) == (fault, timeout)
        for problem in problems(case, matrix[case].result())
    ]
    assert not found, "\n".join(found)


def test_the_matrix_covers_every_fault_script() -> None:
    assert set(SCRIPTS) <= set(EXPECTED)
