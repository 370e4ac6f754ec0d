"""The cf options the note asks for, with the ``sendmail.mc`` macro that writes each one.

The note greps ``sendmail.cf`` for ``CACertPath``, ``CACertFile``, ``ServerCertFile``, ``ServerKeyFile``,
``ClientCertFile``, ``ClientKeyFile`` and has admins un-``dnl`` the matching ``define(`conf...')`` lines;
``confAUTH_OPTIONS`` `A p' and ``confAUTH_MECHANISMS`` enable and protect authentication.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Role(str, Enum):
    CA_DIR = "CA directory"
    CA_FILE = "CA certificates"
    CERT = "certificate"
    KEY = "private key"
    SETTING = "setting"


@dataclass(frozen=True)
class NoteOption:
    cf: str
    mc: str
    role: Role
    pair: str = ""
    """``server`` or ``client`` for the two key pairs."""

    def mc_line(self, value: str = "...") -> str:
        return f"define(`{self.mc}', `{value}')dnl"


CA_CERT_PATH = NoteOption("CACertPath", "confCACERT_PATH", Role.CA_DIR)
CA_CERT_FILE = NoteOption("CACertFile", "confCACERT", Role.CA_FILE)
SERVER_CERT = NoteOption("ServerCertFile", "confSERVER_CERT", Role.CERT, "server")
SERVER_KEY = NoteOption("ServerKeyFile", "confSERVER_KEY", Role.KEY, "server")
CLIENT_CERT = NoteOption("ClientCertFile", "confCLIENT_CERT", Role.CERT, "client")
CLIENT_KEY = NoteOption("ClientKeyFile", "confCLIENT_KEY", Role.KEY, "client")
AUTH_OPTIONS = NoteOption("AuthOptions", "confAUTH_OPTIONS", Role.SETTING)
AUTH_MECHANISMS = NoteOption("AuthMechanisms", "confAUTH_MECHANISMS", Role.SETTING)

TLS_FILES = (CA_CERT_PATH, CA_CERT_FILE, SERVER_CERT, SERVER_KEY, CLIENT_CERT, CLIENT_KEY)
NOTE_OPTIONS = (*TLS_FILES, AUTH_OPTIONS, AUTH_MECHANISMS)
PAIRS = (("server", SERVER_CERT, SERVER_KEY), ("client", CLIENT_CERT, CLIENT_KEY))
