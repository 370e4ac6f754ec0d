"""HostFacts: built from the plugin's option values, cached, batched, and honest about what it cannot see."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pytest_smtpsec.host import (
    HOST_CHECKS,
    CannotTell,
    HostConfigError,
    HostFacts,
    HostPaths,
    HostUnreachable,
    LocalRunner,
    SshRunner,
)
from pytest_smtpsec.host.runner import DEFAULT_TIMEOUT, CommandResult, FileRead, PathStat
from pytest_smtpsec.lab.layout import Layout
from pytest_smtpsec.verdict import Verdict

from .conftest import paths_of


@dataclass
class CountingRunner:
    """A LocalRunner that counts how often each kind of question reaches the host."""

    calls: Counter[str] = field(default_factory=Counter)
    inner: LocalRunner = field(default_factory=LocalRunner)
    name: str = "counting"

    def run(self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT) -> CommandResult:
        self.calls["run"] += 1
        return self.inner.run(argv, timeout=timeout)

    def stat(self, paths: Sequence[str]) -> dict[str, PathStat]:
        self.calls["stat"] += 1
        return self.inner.stat(paths)

    def read(self, paths: Sequence[str]) -> dict[str, FileRead]:
        self.calls["read"] += 1
        return self.inner.read(paths)


@dataclass
class DeadRunner(CountingRunner):
    def _fail(self, kind: str) -> None:
        self.calls[kind] += 1
        raise HostUnreachable("ssh://root@mail: ssh failed: Connection refused")

    def run(self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT) -> CommandResult:
        self._fail("run")
        raise AssertionError

    def stat(self, paths: Sequence[str]) -> dict[str, PathStat]:
        self._fail("stat")
        raise AssertionError

    def read(self, paths: Sequence[str]) -> dict[str, FileRead]:
        self._fail("read")
        raise AssertionError


def test_from_options_with_defaults() -> None:
    facts = HostFacts.from_options("local", cf=None, mc="", sendmail=None)
    assert isinstance(facts.runner, LocalRunner)
    assert facts.paths == HostPaths("/etc/mail/sendmail.cf", "/etc/mail/sendmail.mc", "/usr/sbin/sendmail")


def test_from_options_with_ssh_and_paths() -> None:
    facts = HostFacts.from_options(
        "ssh://root@mail:2222", cf="/opt/mail/sendmail.cf", mc="/opt/mail/sendmail.mc", sendmail="/opt/sbin/sendmail"
    )
    assert isinstance(facts.runner, SshRunner) and facts.name == "ssh://root@mail:2222"
    assert (facts.paths.cf, facts.paths.mc, facts.paths.sendmail) == (
        "/opt/mail/sendmail.cf",
        "/opt/mail/sendmail.mc",
        "/opt/sbin/sendmail",
    )


@pytest.mark.parametrize(("config", "cf"), [("local", "sendmail.cf"), ("ssh:/mail", None), ("mail.example.org", None)])
def test_from_options_rejects_what_cannot_work(config: str, cf: str | None) -> None:
    with pytest.raises(HostConfigError):
        HostFacts.from_options(config, cf=cf)


def test_the_whole_suite_asks_the_host_a_handful_of_times(secure_state: Path) -> None:
    runner = CountingRunner()
    facts = HostFacts(runner, paths_of(secure_state))
    verdicts = {name: check.run(facts).verdict for name, check in HOST_CHECKS.items()}
    assert verdicts["key_files_protected"] is Verdict.PASS
    assert runner.calls["read"] <= 2 and runner.calls["stat"] <= 2 and runner.calls["run"] <= 2, runner.calls
    again = Counter(runner.calls)
    for check in HOST_CHECKS.values():
        check.run(facts)
    assert runner.calls == again  # everything cached


def test_an_unreachable_host_errors_every_check_after_one_try(secure_state: Path) -> None:
    runner = DeadRunner()
    facts = HostFacts(runner, paths_of(secure_state))
    for check in HOST_CHECKS.values():
        result = check.run(facts)
        assert result.verdict is Verdict.ERROR and "Connection refused" in result.outcome.reason
    assert sum(runner.calls.values()) == 1


def test_facts_it_cannot_see_are_cannot_tell_with_the_path(tmp_path: Path) -> None:
    facts = HostFacts(LocalRunner(), HostPaths(cf=str(tmp_path / "sendmail.cf"), mc=str(tmp_path / "sendmail.mc")))
    with pytest.raises(CannotTell, match=rf"cannot read {tmp_path}/sendmail.cf: No such file or directory"):
        facts.cf  # noqa: B018
    assert facts.mc is None  # no mc: a hand-written cf, not an error
    (tmp_path / "sendmail.mc").write_text("define(`confX', `unclosed\n")
    with pytest.raises(CannotTell, match=r"cannot parse .*sendmail\.mc: line 1: end of file inside a `quoted' string"):
        HostFacts(LocalRunner(), facts.paths).mc  # noqa: B018


def test_a_stale_pid_file_is_not_taken_for_the_daemon(broken: Callable[[], Path]) -> None:
    state = broken()
    Layout(state).pid_file.write_text(f"{os.getpid()}\n/usr/sbin/sendmail -bd\n")  # our pid: not a sendmail
    facts = HostFacts(LocalRunner(), paths_of(state))
    with pytest.raises(CannotTell, match=r"names pid \d+, which is '.*', not sendmail \(a stale pid file\)"):
        facts.daemon  # noqa: B018
    result = HOST_CHECKS["sendmail_cf_rebuilt"].run(facts)
    assert (
        result.verdict is Verdict.PASS and "daemon start not seen:" in result.outcome.reason and "stale pid file" in result.outcome.reason
    )
