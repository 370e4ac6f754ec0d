"""MTA-STS over time, with real parts: the policy server changes its file between two runs of the plugin
while the ``_mta-sts`` id stays the same, and pytest's own cache (``.pytest_cache``) is what remembers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tiers import lab_fixture

from pytest_smtpsec.lab import domain
from pytest_smtpsec.lab.acceptance import lab_flags
from pytest_smtpsec.lab.pool import LabPool
from pytest_smtpsec.lab.target import LabTarget

NAME = "history.test"


@lab_fixture(scope="module")
def published(lab: LabPool, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LabTarget, domain.DnsLab, domain.Routes]]:
    """``history.test``, correct, with the secure reference sendmail as its MX; its policy file can be changed."""
    if not domain.available():
        pytest.skip(f"Knot or Unbound missing: {domain.INSTALL}")
    secure = lab("secure")
    routes: domain.Routes = {f"mta-sts.{NAME}": (200, {"Content-Type": "text/plain"}, domain.policy(secure.tls_name))}

    def zones(web: str) -> list[domain.Zone]:
        return [domain.Zone(NAME, domain.good_domain(NAME, secure.tls_name, web)), domain.Zone(secure.tls_name, f"@ IN A {secure.host}\n")]

    with domain.dns_lab(tmp_path_factory.mktemp("history"), zones, routes, set(), [secure.ca_file]) as running:
        yield secure, running, routes


def test_a_policy_changed_under_the_same_id_fails_on_the_next_run(
    pytester: pytest.Pytester, published: tuple[LabTarget, domain.DnsLab, domain.Routes], monkeypatch: pytest.MonkeyPatch
) -> None:
    secure, running, routes = published
    monkeypatch.setenv("SMTPSEC_PASSWORD", secure.password)
    args = ["--smtpsec", *lab_flags(secure), *running.flags(NAME), f"--smtpsec-mx-port={secure.ports['smtp']}", "-k", "mta_sts_policy"]
    assert pytester.runpytest(*args).ret == pytest.ExitCode.OK  # the first run remembers the policy
    assert pytester.runpytest(*args).ret == pytest.ExitCode.OK
    key = f"mta-sts.{NAME}"
    routes[key] = (200, routes[key][1], domain.policy(secure.tls_name, max_age=1209600))  # a new file, the same id
    changed = pytester.runpytest(*args)
    changed.stdout.fnmatch_lines(["*the policy changed since * but its id did not (still id=20261203)*"])
    assert changed.ret == pytest.ExitCode.TESTS_FAILED
    assert pytester.runpytest(*args).ret == pytest.ExitCode.TESTS_FAILED  # until the id changes
    unremembered = pytester.runpytest(*args, "-p", "no:cacheprovider")  # no cache, no memory: nothing to compare
    assert unremembered.ret == pytest.ExitCode.OK
    cleared = pytester.runpytest(*args, "--cache-clear")  # forgetting is the user's choice: the new file is the baseline
    assert cleared.ret == pytest.ExitCode.OK
    assert Path(pytester.path, ".pytest_cache").is_dir()
