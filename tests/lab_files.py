"""The host-check view of a reference server's state dir: its cf, mc, sendmail and SASL config."""

from __future__ import annotations

from pathlib import Path

from pytest_smtpsec.host import HostPaths
from pytest_smtpsec.lab.layout import Layout

PORTS = {"smtp": 2525, "submission": 2587, "smtps": 2465}
"""Written into the mc of labs that are only prepared, never started: never bound."""


def paths_of(state: Path, **changes: str) -> HostPaths:
    """HostPaths for the files of a lab state dir, with any of cf/mc/sendmail/sasl_conf replaced."""
    layout = Layout(state)
    return HostPaths(
        cf=changes.get("cf", str(layout.cf)),
        mc=changes.get("mc", str(layout.mc)),
        sendmail=changes.get("sendmail", "/usr/sbin/sendmail"),
        sasl_conf=(changes.get("sasl_conf", str(layout.sasl_conf)),),
    )
