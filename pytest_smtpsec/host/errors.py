"""Why a host fact could not be had, kept apart from "the host is insecure".

``CannotTell`` means this host does not let us see the fact (file unreadable, command missing): the
check says exactly why and skips. ``RunnerError`` means the runner itself failed (ssh refused or
timed out): the check could not be run at all, an ERROR like an unreachable mail server.
"""

from __future__ import annotations


class HostError(Exception):
    """Base of the host-side "could not check" errors; never raised for an insecure finding."""


class CannotTell(HostError):
    """The fact is not visible from here; the message says which fact and why (a check SKIPs)."""


class RunnerError(HostError):
    """The command could not be run on the host at all: ssh failed, a timeout (a check ERRORs)."""


class HostUnreachable(RunnerError):
    """The host cannot be reached at all (ssh refused, host key or login rejected): nothing more is tried."""


class HostConfigError(ValueError):
    """A host URL or path option that cannot be used; the message says what is expected."""
