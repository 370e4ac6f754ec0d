"""Talking to mail servers: connections, replies, transcripts, the probe sessions and their cache."""

from .cache import CONNECTION_BUDGET, Memory, Probes
from .connection import CleartextOnTls, Connection, TlsInfo, TlsRefused, probe_context
from .errors import ProbeError
from .handshake import Handshake
from .listening import PortState
from .reply import Reply, ReplyError, ReplyReader, parse_reply
from .session import SessionRecord, Step, run_session
from .transcript import MASK, Transcript, mask

__all__ = [
    "CONNECTION_BUDGET",
    "MASK",
    "CleartextOnTls",
    "Connection",
    "Handshake",
    "Memory",
    "PortState",
    "ProbeError",
    "Probes",
    "Reply",
    "ReplyError",
    "ReplyReader",
    "SessionRecord",
    "Step",
    "TlsInfo",
    "TlsRefused",
    "Transcript",
    "mask",
    "parse_reply",
    "probe_context",
    "run_session",
]
