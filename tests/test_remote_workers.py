"""The same inventory on remote xdist workers (``--tx ssh=...``): tested once, over a real sshd on loopback.

Remote workers need only pytest-smtpsec installed; the built-in suite needs no test files, so nothing
is copied. Here the "remote" host is this machine through ssh, which proves the wiring.
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from expected_verdicts import item_count

from pytest_smtpsec.lab import LabTarget
from pytest_smtpsec.lab.pool import LabPool, as_target


def tx_spec(ssh_url: str, workdir: Path) -> str:
    """An xdist ``--tx`` spec for the host of an ``ssh://`` URL (key and known_hosts from its query)."""
    url = urlsplit(ssh_url)
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    ssh = f"-F /dev/null -p {url.port} -i {query['identity_file']} -o UserKnownHostsFile={query['known_hosts']}"
    ssh += f" -o StrictHostKeyChecking=yes -o BatchMode=yes {url.username}@{url.hostname}"
    return f"ssh={ssh}//python={sys.executable}//chdir={workdir}"


def test_inventory_runs_on_remote_workers(pytester: pytest.Pytester, sshd: str, lab: LabPool, monkeypatch: pytest.MonkeyPatch) -> None:
    secure: LabTarget = lab("secure")
    monkeypatch.setenv("SITE_PASSWORD", secure.password)
    inventory = pytester.path / "site.toml"
    inventory.write_text(
        f'[[host]]\nname = "mail.site.test"\naddress = "{secure.host}"\ntls_name = "{secure.tls_name}"\n'
        f'ca_file = "{secure.ca_file}"\nuser = "{secure.user}"\npassword_env = "SITE_PASSWORD"\n'
        f"ports = {{ smtp = {secure.ports['smtp']}, submission = {secure.ports['submission']}, smtps = {secure.ports['smtps']} }}\n"
    )
    spec = tx_spec(sshd, pytester.path)
    result = pytester.runpytest_subprocess(
        "--smtpsec",
        f"--smtpsec-inventory={inventory}",
        "--dist=load",
        "--tx",
        spec,
        "--tx",
        spec,
        "-p",
        "no:cacheprovider",
        timeout=120,
    )
    items = item_count(as_target(secure))
    result.stdout.fnmatch_lines([f"*2 workers [[]{items} items[]]*", f"*{items} passed*"])
    assert secure.password not in result.stdout.str()
