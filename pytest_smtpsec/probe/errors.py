""" "Could not check": the one exception a probe raises, kept apart from "the server is insecure"."""

from __future__ import annotations


class ProbeError(Exception):
    """The server could not be asked: refused, timed out, garbage, broken TLS.

    The message is one line that names where (host:port), the stage of the dialogue, and what was seen.
    """

    def __init__(self, address: str, stage: str, reason: str, *, transcript: str = "") -> None:
        super().__init__(f"{address} [{stage}]: {reason}")
        self.address = address
        self.stage = stage
        self.reason = reason
        self.transcript = transcript
        """The masked dialogue up to the failure, filled in by the session that hit it."""
