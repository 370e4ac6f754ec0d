"""Debian's Exim 4.96 as a lab server: one self-contained `/etc/exim4/exim4.conf` per profile.

The idioms: `auth_advertise_hosts` empty until `$tls_in_cipher` is set keeps AUTH inside TLS,
`tls_on_connect_ports` is smtps, `tls_advertise_hosts` offers STARTTLS, and ACLs decide MAIL on
submission and relaying (Debian's default `relay_from_hosts` is loopback, so the secure profile
empties it). Debian's exim reads `/etc/exim4/exim4.conf` in preference to its generated config.
"""

from __future__ import annotations

from ..profiles import TLS_NAME, USER
from .profiles import MtaProfile
from .rootfs import BASE, Recipe
from .server import Instance, MtaServer

RECIPE = Recipe(
    "exim",
    packages=("exim4-daemon-light",),
    debconf=(
        "exim4-config exim4/dc_eximconfig_configtype select local delivery only; not on a network",
        f"exim4-config exim4/mailname string {TLS_NAME}",
    ),
    setup=f"""
useradd --no-create-home --shell /usr/sbin/nologin {USER}
printf 'postmaster: root\\nroot: {USER}\\nabuse: postmaster\\n' > /etc/aliases
""",
    base=BASE,
)

_CERT = "/etc/exim4/tls/cert.pem"
_KEY = "/etc/exim4/tls/key.pem"
_OTHER_CERT = "/etc/exim4/tls/other-cert.pem"
_OTHER_KEY = "/etc/exim4/tls/other-key.pem"


def _per_port(smtps: int | None, on_smtps: str, elsewhere: str) -> str:
    """An expansion that picks a file by the port the client connected to (tls_* options are expanded per connection)."""
    return f"${{if eq{{$received_port}}{{{smtps}}}{{{on_smtps}}}{{{elsewhere}}}}}"


def _authenticators(i: Instance) -> str:
    # the login is compared in the config itself: the lab's password is URL-safe base64, inert in expansions
    check = "${{if and{{{{eq{{${user}}}{{{u}}}}}{{eq{{${password}}}{{{pw}}}}}}}}}"
    plain = check.format(user="auth2", password="auth3", u=i.user, pw=i.password)
    login = check.format(user="auth1", password="auth2", u=i.user, pw=i.password)
    return f"""begin authenticators
PLAIN:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = {plain}
  server_set_id = $auth2
LOGIN:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = {login}
  server_set_id = $auth1
"""


def _priority(p: MtaProfile) -> str:
    """The GnuTLS priority string: TLS 1.2+ and NORMAL suites unless the profile says otherwise."""
    versions = "+VERS-TLS1.3:+VERS-TLS1.2" + (":+VERS-TLS1.1:+VERS-TLS1.0" if p.old_tls else "")
    return f"NORMAL{':+NULL' if p.weak_ciphers else ''}:-VERS-ALL:{versions}"


def exim4_conf(i: Instance) -> str:
    p = i.profile
    sub, smtps = i.ports["submission"], i.ports["smtps"]
    ports = [str(port) for port in (i.ports["smtp"], sub, smtps) if port]
    users_ports = ":".join(str(port) for port in (sub, smtps) if port)
    mail_after_auth = ":".join(str(port) for port in (None if p.submission_open else sub, smtps) if port)
    require_tls = (
        f"""  deny    message = 530 5.7.0 Must issue a STARTTLS command first
          condition = ${{if eq{{$received_port}}{{{sub}}}}}
          !encrypted = *
"""
        if p.submission_requires_tls
        else ""
    )
    must_auth = (
        f"""  deny    message = 530 5.7.0 Authentication required
          condition = ${{if inlist{{$received_port}}{{{mail_after_auth}}}}}
          !authenticated = *
"""
        if mail_after_auth
        else ""
    )
    users_may = "  accept  authenticated = *\n" + ("          domains = +local_domains\n" if p.no_auth_relay else "")
    return f"""# pytest-smtpsec lab profile {p.name}: {p.models}
primary_hostname = {TLS_NAME}
qualify_domain = {TLS_NAME}
{"" if p.banner_version else f"smtp_banner = $primary_hostname ESMTP pytest-smtpsec-{p.name}"}
domainlist local_domains = {TLS_NAME} : localhost
hostlist relay_from_hosts = <; {"0.0.0.0/0 ; ::/0" if p.open_relay else ""}
local_interfaces = <; {i.address}
daemon_smtp_ports = {" : ".join(ports)}
{f"tls_on_connect_ports = {smtps}" if smtps and not p.smtps_cleartext else ""}
tls_advertise_hosts = {"*" if p.starttls else ""}
tls_certificate = {_per_port(smtps, _OTHER_CERT, _CERT) if i.other_cert else _CERT}
tls_privatekey = {_per_port(smtps, _OTHER_KEY, _KEY) if i.other_cert else _KEY}
tls_require_ciphers = {_priority(p)}
auth_advertise_hosts = {"*" if p.auth_before_tls else "${if eq{$tls_in_cipher}{}{}{*}}"}
host_lookup =
rfc1413_hosts =
rfc1413_query_timeout = 0s
never_users = root
keep_environment =
log_file_path = /var/log/exim4/%slog
pid_file_path = /var/spool/exim4/exim-daemon.pid
acl_smtp_mail = acl_check_mail
acl_smtp_rcpt = acl_check_rcpt
{"acl_smtp_vrfy = accept" if p.vrfy else ""}
{"acl_smtp_expn = accept" if p.vrfy else ""}

begin acl

acl_check_mail:
{require_tls}{must_auth}  accept

acl_check_rcpt:
  accept  hosts = :
{users_may}  deny    message = 550 5.7.1 Authentication required
          condition = ${{if inlist{{$received_port}}{{{users_ports}}}}}
          !authenticated = *
  accept  domains = +local_domains
          verify = recipient
  accept  hosts = +relay_from_hosts
  deny    message = 550 5.7.1 Relaying denied

begin routers

outside:
  driver = redirect
  domains = ! +local_domains
  data = :blackhole:

aliases:
  driver = redirect
  domains = +local_domains
  data = ${{lookup{{$local_part}}lsearch{{/etc/aliases}}}}
  allow_fail
  allow_defer

local_user:
  driver = accept
  domains = +local_domains
  check_local_user
  transport = mbox

begin transports

mbox:
  driver = appendfile
  file = /var/mail/lab.mbox
  user = Debian-exim
  group = mail
  mode = 0660
  create_file = anywhere

begin retry
*   *   F,2h,15m

{_authenticators(i)}"""


class EximServer(MtaServer):
    mta = "exim"
    recipe = RECIPE
    logs = ("var/log/exim4/paniclog", "var/log/exim4/mainlog")

    def configure(self, instance: Instance) -> None:
        i = instance
        i.write(_CERT.lstrip("/"), i.cert.cert_pem.bytes())
        i.write(_KEY.lstrip("/"), i.cert.private_key_pem.bytes(), 0o640, group="Debian-exim")
        if i.other_cert is not None:
            i.write(_OTHER_CERT.lstrip("/"), i.other_cert.cert_pem.bytes())
            i.write(_OTHER_KEY.lstrip("/"), i.other_cert.private_key_pem.bytes(), 0o640, group="Debian-exim")
        i.write("etc/exim4/exim4.conf", exim4_conf(i), 0o640, group="Debian-exim")
        for log in self.logs:
            (i.root / log).unlink(missing_ok=True)

    def command(self) -> list[str]:
        return ["exim4", "-bdf"]
