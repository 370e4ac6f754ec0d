"""Private keys readable by root only, in a root-only directory; certificates public but not writable.

The note: "The 'key' files are private documents containing a secret that should be protected and
only readable by user 'root'" -- ``drwx------ root private/`` and ``-r-------- root smtpkey.pem`` --
while "the 'cert' files are public documents which can be stored as world readable files"
(``-r--r--r-- root``). A file named by both a key and a certificate option holds a key.
"""

from __future__ import annotations

import os

from ...checks.base import Fix
from ...verdict import Outcome
from ..errors import CannotTell
from ..facts import HostFacts
from ..note_options import Role
from ..runner import PathStat
from .base import Findings, HostCheck


def _where(option: str, st: PathStat) -> str:
    return f"{option} {st.path}" + (f" (a symlink to {st.resolved})" if st.via_symlink else "")


def _key(facts: HostFacts, option: str, path: str, found: Findings) -> None:
    st = facts.stat(path)
    if not st.ok:
        found.unknown.append(f"{option} {path}: {st.error}")
        return
    where = _where(option, st)
    if st.uid != 0:
        found.failures.append(f"{where} is owned by {st.owner or st.uid}, not root: {st.describe()}")
    if st.perm & 0o077:
        who = " and ".join(w for w, bits in (("its group", 0o070), ("everyone", 0o007)) if st.perm & bits)
        found.failures.append(f"{where} is {st.describe()}: {who} can get at the private key; the note has -r-------- root")
    elif st.perm != 0o400:
        found.warnings.append(f"{where} is {st.describe()}; the note has 0400 (-r--------), read-only even for root")
    directory = os.path.dirname(st.real_path)
    d = facts.stat(directory)
    if not d.ok:
        found.unknown.append(f"directory {directory} of {option}: {d.error}")
    elif d.uid != 0:
        found.failures.append(f"{directory}, which holds {option}, is owned by {d.owner or d.uid}, not root: {d.describe()}")
    elif d.perm & 0o022:
        found.failures.append(f"{directory}, which holds {option}, is {d.describe()}: others can replace the key")
    elif d.perm & 0o077:
        found.warnings.append(f"{directory}, which holds {option}, is {d.describe()}; the note keeps it drwx------ root")


def _certificate(facts: HostFacts, option: str, path: str, found: Findings) -> None:
    st = facts.stat(path)
    if not st.ok:
        found.unknown.append(f"{option} {path}: {st.error}")
        return
    where = _where(option, st)
    if st.perm & 0o022 or st.uid != 0:
        found.failures.append(f"{where} is {st.describe()}: someone besides root can replace the certificate")
    if not st.perm & 0o004:
        found.warnings.append(f"{where} is {st.describe()}: not world-readable, though certificates are public (the note: -r--r--r--)")
    elif b"PRIVATE KEY-----" in (facts.read(path).data or b""):
        found.failures.append(f"{where} is world-readable ({st.describe()}) and holds a PRIVATE KEY")


def judge(facts: HostFacts) -> Outcome:
    paths = facts.tls_paths
    keys = {path: o.cf for o, path in paths.items() if o.role is Role.KEY}
    certificates = {path: o.cf for o, path in paths.items() if o.role in (Role.CERT, Role.CA_FILE) and path not in keys}
    if not keys and not certificates:
        raise CannotTell(f"{facts.paths.cf} names no certificate or key files (sendmail_cf_options reports that)")
    found = Findings()
    for path, option in keys.items():
        _key(facts, option, path, found)
    for path, option in certificates.items():
        _certificate(facts, option, path, found)
    return found.outcome("; ".join(f"{_where(o, facts.stat(p))} {facts.stat(p).describe()}" for p, o in (keys | certificates).items()))


CHECK = HostCheck(
    name="key_files_protected",
    title="Private keys are root-only (0400, directory 0700); certificates are world-readable",
    expected=(
        "ServerKeyFile/ClientKeyFile owned by root, mode 0400 (0600 warns), in a root-owned 0700 directory; "
        "certificate and CA files owned by root, world-readable, not writable by others"
    ),
    note=(
        "The key files hold the secret that proves the server's identity: the note keeps them -r-------- root "
        "in a drwx------ private/ directory, while the certificates are public (-r--r--r--). A key others can "
        "read lets them impersonate the server and, without forward secrecy, decrypt recorded sessions."
    ),
    fix=Fix(
        "chown root:root <key files> <their directory> && chmod 0400 <key files> && chmod 0700 <their directory>; "
        "chmod 0444 <certificate files>; keep keys out of files that are also certificates world-readable"
    ),
    judge=judge,
)
