"""Host checks: what the note asks you to verify on the mail server itself, locally or over ssh.

facts = HostFacts.from_options("ssh://root@mail.example.org", cf="/etc/mail/sendmail.cf")
for check in HOST_CHECKS.values():
    print(check.run(facts).outcome)
"""

from __future__ import annotations

from .checks import HOST_CHECKS, HostCheck
from .errors import CannotTell, HostConfigError, HostError, HostUnreachable, RunnerError
from .facts import HostFacts, HostPaths
from .runner import LocalRunner, Runner, SshRunner, runner_for

__all__ = [
    "HOST_CHECKS",
    "CannotTell",
    "HostCheck",
    "HostConfigError",
    "HostError",
    "HostFacts",
    "HostPaths",
    "HostUnreachable",
    "LocalRunner",
    "Runner",
    "RunnerError",
    "SshRunner",
    "runner_for",
]
