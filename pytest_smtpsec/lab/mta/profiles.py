"""The profiles Postfix and Exim render: the lab's one registry (:mod:`..profiles`), less what they cannot.

A profile is the same misconfiguration on every server, and a check must give the same verdict on all;
where an MTA really behaves otherwise, ``tests/expected_verdicts.py`` says so and why.
"""

from __future__ import annotations

from ..profiles import ALL, Profile

MtaProfile = Profile
"""The same facts as the reference sendmail's (kept as a name for the MTA modules' signatures)."""


def mta_can(profile: Profile) -> bool:
    """Whether Postfix and Exim render ``profile``: all but sendmail's FEATURE(relay_local_from)."""
    return not profile.relay_local_from


PROFILES: dict[str, Profile] = {name: p for name, p in ALL.items() if mta_can(p)}
"""The Postfix and Exim profiles."""
