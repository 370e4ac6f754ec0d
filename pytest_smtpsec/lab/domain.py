"""A mail domain for the reference server, as the world sees it: Knot signs the zones, a validating Unbound
holds their keys as trust anchors (so the AD bit is real), and an HTTPS server on port 443 serves the
MTA-STS policies with certificates from a CA of its own. Everything on loopback; root only (port 443).

:func:`reference_domain` publishes a correct domain whose MX is a running lab server (what ``smtpsec-lab
run --domain`` shows passing); :func:`dns_lab` is the general form the tests break domains with.
"""

from __future__ import annotations

import ctypes
import http.server
import random
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import dns.message
import dns.query
import dns.rdatatype

from .errors import LabError
from .pki import CA, KeyType
from .ports import free_port
from .target import LabTarget

KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"
UNBOUND = shutil.which("unbound") or "/usr/sbin/unbound"
INSTALL = "apt-get install -y knot unbound"
REFERENCE_DOMAIN = "example.test"
"""The domain :func:`reference_domain` publishes (its MX: the lab server's name, ``mail.test``)."""
Routes = dict[str, tuple[int, dict[str, str], bytes]]
"""What the policy server answers, by Host: status, headers, body."""


@dataclass(frozen=True)
class Zone:
    name: str
    records: str
    signed: bool = True
    anchor_from: str = ""
    """Give Unbound the key of this other zone as this zone's trust anchor: a bogus zone."""


@dataclass(frozen=True)
class DnsLab:
    resolver: tuple[str, int]
    ca_file: Path
    """The lab server's CA and the policy server's, in one file: what a client of both trusts."""
    web: str
    """The policy server's address (port 443)."""

    def flags(self, domain: str) -> list[str]:
        """The options that check ``domain`` through this lab's resolver (they follow the lab server's flags)."""
        host, port = self.resolver
        return [f"--smtpsec-domain={domain}", f"--smtpsec-resolver={host}:{port}", f"--smtpsec-ca-file={self.ca_file}"]


def available() -> bool:
    """Whether Knot and Unbound are installed (:data:`INSTALL` otherwise)."""
    return Path(KNOTD).exists() and Path(UNBOUND).exists()


def _serial_zone(zone: Zone) -> str:
    head = f"$TTL 60\n@ IN SOA ns.{zone.name}. hostmaster.{zone.name}. 1 3600 600 86400 60\n@ IN NS ns.{zone.name}.\nns IN A 127.0.0.1\n"
    return head + zone.records


def _ask(port: int, name: str, rdtype: str) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype, want_dnssec=True)
    return dns.query.udp(query, "127.0.0.1", timeout=1, port=port)


def _wait(proc: subprocess.Popen[bytes], what: str, ready: Callable[[], bool], log: Path, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LabError(f"{what} exited: {log.read_text()[-800:]}")
        try:
            if ready():
                return
        except Exception:  # not answering yet
            pass
        time.sleep(0.1)
    raise LabError(f"{what} not ready in {seconds:g} s: {log.read_text()[-800:]}")


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the process that started it dies, even by SIGKILL."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@contextmanager
def _daemon(argv: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def knot(root: Path, zones: list[Zone]) -> Iterator[int]:
    """Knot on 127.0.0.1 serving ``zones``, the signed ones signed on load (ECDSA P-256)."""
    port = free_port()
    (root / "zones").mkdir()
    (root / "db").mkdir()
    for zone in zones:
        (root / "zones" / f"{zone.name}.zone").write_text(_serial_zone(zone))
    listed = "".join(f"  - domain: {z.name}\n" + ("    dnssec-signing: on\n    dnssec-policy: fast\n" if z.signed else "") for z in zones)
    (root / "knot.conf").write_text(
        f"server:\n    listen: 127.0.0.1@{port}\n    rundir: {root}\n    user: root:root\n"
        "log:\n  - target: stderr\n    any: warning\n"
        f"database:\n    storage: {root}/db\n"
        "policy:\n  - id: fast\n    algorithm: ecdsap256sha256\n    ksk-lifetime: 0\n    zsk-lifetime: 0\n"
        f'template:\n  - id: default\n    storage: {root}/zones\n    file: "%s.zone"\n    zonefile-sync: -1\n'
        "    zonefile-load: whole\n    journal-content: none\n"
        f"zone:\n{listed}"
    )
    with _daemon([KNOTD, "-c", str(root / "knot.conf")], root / "knot.log") as proc:

        def ready() -> bool:
            return all(
                not z.signed or any(rrset.rdtype == dns.rdatatype.RRSIG for rrset in _ask(port, z.name, "SOA").answer) for z in zones
            )

        _wait(proc, "knotd", ready, root / "knot.log")
        yield port


def ksk(port: int, zone: str) -> str:
    """The zone's key-signing key as Knot serves it (DNSKEY flags 257), in presentation form."""
    answer = _ask(port, zone, "DNSKEY").answer
    keys = [rdata.to_text() for rrset in answer if rrset.rdtype == dns.rdatatype.DNSKEY for rdata in rrset]
    return str(next(key for key in keys if key.startswith("257 ")))


@contextmanager
def unbound(root: Path, knot_port: int, zones: list[Zone]) -> Iterator[int]:
    """A validating Unbound on 127.0.0.1 that asks Knot for every zone; each signed zone's KSK is its trust
    anchor (a bogus zone gets another zone's key), the unsigned ones are declared insecure."""
    port = free_port()
    lines = []
    for zone in zones:
        if zone.signed:
            lines.append(f'    trust-anchor: "{zone.name}. DNSKEY {ksk(knot_port, zone.anchor_from or zone.name)}"')
        else:
            lines.append(f'    domain-insecure: "{zone.name}"')
    stubs = "".join(f'stub-zone:\n    name: "{z.name}"\n    stub-addr: 127.0.0.1@{knot_port}\n' for z in zones)
    (root / "unbound.conf").write_text(
        f'server:\n    interface: 127.0.0.1@{port}\n    port: {port}\n    username: ""\n    chroot: ""\n'
        f'    directory: "{root}"\n    pidfile: ""\n    use-syslog: no\n    logfile: ""\n    verbosity: 1\n'
        '    do-not-query-localhost: no\n    do-daemonize: no\n    module-config: "validator iterator"\n'
        '    local-zone: "test." nodefault\n    qname-minimisation: no\n    cache-max-ttl: 0\n    val-log-level: 2\n'
        + "\n".join(lines)
        + "\n"
        + stubs
    )
    with _daemon([UNBOUND, "-d", "-c", str(root / "unbound.conf")], root / "unbound.log") as proc:
        _wait(proc, "unbound", lambda: _ask(port, zones[0].name, "SOA").rcode() == 0, root / "unbound.log")
        yield port


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: ClassVar[Routes] = {}

    def do_GET(self) -> None:
        status, headers, body = self.routes.get(self.headers.get("Host", ""), (404, {}, b""))
        self.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def loopback() -> str:
    """A random 127.x address: a server of its own on a well-known port (25, 443) meets no other there."""
    return f"127.{random.randint(60, 250)}.{random.randint(1, 250)}.{random.randint(2, 250)}"


@contextmanager
def policy_server(
    root: Path, ca: CA, routes: Routes, untrusted: set[str], *, address: str = "", port: int = 443
) -> Iterator[tuple[str, int]]:
    """HTTPS answering by Host from ``routes`` (a dict it keeps reading: change it to change the answers), by
    default on a random 127.x address and port 443, as senders ask; a name in ``untrusted`` is shown a
    certificate from a CA nobody trusts."""
    address = address or loopback()

    def context_for(names: list[str], issuer: CA, tag: str) -> ssl.SSLContext:
        leaf = issuer.issue_cert(*names, key_type=KeyType.EC)
        (root / f"{tag}.pem").write_bytes(leaf.cert_pem.bytes() + leaf.private_key_pem.bytes())
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(root / f"{tag}.pem")
        return context

    trusted = context_for([host for host in routes if host not in untrusted], ca, "web")
    other = context_for(sorted(untrusted), CA("nobody trusts this CA"), "web-untrusted") if untrusted else trusted

    def pick(sock: ssl.SSLObject, name: str, _: ssl.SSLContext) -> int | None:
        if name in untrusted:
            sock.context = other
        return None

    trusted.sni_callback = pick
    handler = type("Handler", (_Handler,), {"routes": routes})
    server = http.server.ThreadingHTTPServer((address, port), handler, bind_and_activate=False)
    server.socket = trusted.wrap_socket(socket.socket(socket.AF_INET, socket.SOCK_STREAM), server_side=True)
    server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        server.server_bind()
    except OSError as exc:
        server.server_close()
        raise LabError(f"the MTA-STS policy server cannot listen on {address} port {port}: {exc.strerror} (root is needed)") from None
    server.server_activate()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield address, server.socket.getsockname()[1]
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def dns_lab(
    root: Path, zones_for: Callable[[str], list[Zone]], routes: Routes, untrusted: set[str], lab_cas: list[Path]
) -> Iterator[DnsLab]:
    """The whole lab: the policy server first (its address goes into the zones), then Knot, then Unbound; the CA
    bundle trusts the web server's CA and ``lab_cas`` (the mail servers')."""
    if not available():
        raise LabError(f"the domain lab needs Knot and Unbound: {INSTALL}")
    ca = CA("pytest-smtpsec DNS lab CA")
    bundle = root / "ca-bundle.pem"
    bundle.write_bytes(b"".join(path.read_bytes() for path in lab_cas) + ca.cert_pem.bytes())
    with ExitStack() as stack:
        web, _ = stack.enter_context(policy_server(root, ca, routes, untrusted))
        zones = zones_for(web)
        knot_port = stack.enter_context(knot(root, zones))
        resolver_port = stack.enter_context(unbound(root, knot_port, zones))
        yield DnsLab(("127.0.0.1", resolver_port), bundle, web)


def policy(mx: str, *, mode: str = "enforce", max_age: int = 604800) -> bytes:
    """An RFC 8461 policy file naming one MX."""
    return f"version: STSv1\r\nmode: {mode}\r\nmx: {mx}\r\nmax_age: {max_age}\r\n".encode()


def good_domain(domain: str, mx: str, web: str) -> str:
    """The zone lines of a domain that does everything right: one MX, SPF ``-all``, DMARC ``p=reject`` with
    reports, MTA-STS and TLS-RPT records, the policy host's address."""
    return (
        f"@ IN MX 10 {mx}.\n"
        '@ IN TXT "v=spf1 mx -all"\n'
        f'_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@{domain}"\n'
        '_mta-sts IN TXT "v=STSv1; id=20261203"\n'
        f'_smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:tls@{domain}"\n'
        f"mta-sts IN A {web}\n"
    )


@contextmanager
def reference_domain(target: LabTarget, root: Path, domain: str = REFERENCE_DOMAIN) -> Iterator[DnsLab]:
    """``domain`` published correctly, signed, with the running lab server ``target`` as its MX under the
    server's name (its zone holds the address and a DANE TLSA record of the key the server presents)."""
    from ..domain.tlsa import association
    from ..probe import probe_context
    from ..probe.handshake import try_handshake
    from ..target import Ports, Service, Target

    smtp = target.ports.get("smtp")
    if not smtp:
        raise LabError("the domain lab needs the lab server's smtp port: its MX is reached there")
    reached = Target(host=target.host, tls_name=target.tls_name, ports=Ports(smtp=smtp), timeout=5.0)
    shown = try_handshake(reached, Service.SMTP, probe_context(), "the key to publish in TLSA")
    if not shown.chain:
        raise LabError(f"the lab server presented no certificate after STARTTLS: {shown.detail}")
    spki = association(shown.chain[0], 1, 1).hex()
    mx = target.tls_name

    def zones(web: str) -> list[Zone]:
        return [Zone(domain, good_domain(domain, mx, web)), Zone(mx, f"@ IN A {target.host}\n_25._tcp IN TLSA 3 1 1 {spki}\n")]

    routes: Routes = {f"mta-sts.{domain}": (200, {"Content-Type": "text/plain"}, policy(mx))}
    with dns_lab(root, zones, routes, set(), [target.ca_file]) as running:
        yield running
