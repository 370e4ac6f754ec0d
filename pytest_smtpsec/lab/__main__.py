"""`python -m pytest_smtpsec.lab {start,stop,serve,run,profiles}`: the lab for shells, CI and Docker.

`start` returns once the ports answer and leaves the daemon running; `serve` stays in the
foreground until SIGTERM/SIGINT (a container's main process). Both print the target as one line
of JSON. `run` starts a profile, runs `pytest --smtpsec` against it and stops it again.
Errors are one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import NoReturn

from . import domain, mta
from .acceptance import run_suite
from .errors import LabError
from .profiles import ALL, PROFILES
from .server import ReferenceServer, stop
from .target import SERVICES, LabServer


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


class _Stop(Exception):
    """SIGTERM or SIGINT arrived."""


def _ports(text: str) -> dict[str, int]:
    """`25,587,465` in the order smtp, submission, smtps; 0 or a missing one means any free port."""
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"ports must be numbers like 25,587,465, not {text!r}") from None
    if not 1 <= len(values) <= len(SERVICES) or not all(0 <= v < 65536 for v in values):
        raise argparse.ArgumentTypeError(f"expected up to three ports (smtp,submission,smtps), got {text!r}")
    return dict(zip(SERVICES, values, strict=False))  # fewer values: the rest are free ports


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m pytest_smtpsec.lab", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("start", "start in the background; print the target once the ports answer"),
        ("serve", "run in the foreground until SIGTERM/SIGINT (Docker)"),
        ("run", "start a profile, run `pytest --smtpsec` against it, stop it"),
    ):
        cmd = commands.add_parser(name, help=help_text)
        cmd.add_argument("--server", default="sendmail", choices=("sendmail", *mta.SERVERS), help="the MTA (default sendmail)")
        if name == "run":
            cmd.add_argument("--profile", default="secure", choices=sorted({*PROFILES, *mta.PROFILES}))
            cmd.add_argument("--state-dir", type=Path, help="default: a temporary directory")
            cmd.add_argument(
                "--domain",
                nargs="?",
                const=domain.REFERENCE_DOMAIN,
                help=f"also publish a mail domain (default {domain.REFERENCE_DOMAIN}) whose MX is the server: signed zones "
                "(Knot), a validating resolver (Unbound), its MTA-STS policy over HTTPS; the domain checks run too",
            )
            cmd.add_argument("pytest_args", nargs="*", help="after --: extra pytest arguments (e.g. -v, --smtpsec-html=report.html)")
        else:
            cmd.add_argument("--profile", required=True, choices=sorted({*PROFILES, *mta.PROFILES}))
            cmd.add_argument("--state-dir", required=True, type=Path)
        cmd.add_argument("--address", default="127.0.0.1", help="IP address to listen on (default %(default)s)")
        cmd.add_argument("--ports", type=_ports, help="smtp,submission,smtps (default: free ports)")
        cmd.add_argument(
            "--no-namespace",
            dest="namespace",
            action="store_false",
            help="inside a container only: write /etc/hosts etc. instead of private mounts",
        )
        cmd.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the ports")
        if name == "serve":
            cmd.add_argument(
                "--target-file",
                type=Path,
                help="write the target (password included) to this file, mode 600, and print it without the password "
                "(Docker: keeps the password out of `docker logs`)",
            )
    commands.add_parser("stop", help="stop the lab of a state dir").add_argument("--state-dir", required=True, type=Path)
    commands.add_parser("profiles", help="list the profiles: name, the servers that render it, what it models")
    return parser


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stop


def _server(args: argparse.Namespace, state_dir: Path) -> LabServer:
    """The reference server the arguments ask for (sendmail, or Postfix/Exim from their cached rootfs)."""
    if args.server == "sendmail":
        return ReferenceServer(
            args.profile,
            state_dir,
            address=args.address,
            ports=args.ports,
            namespace=args.namespace,
            startup_timeout=args.timeout,
            detached=args.command == "start",
        )
    if not args.namespace:
        raise LabError(f"--no-namespace is for the sendmail image only; {args.server} always runs in its own namespace")
    return mta.SERVERS[args.server](
        args.profile, state_dir, address=args.address, ports=args.ports, startup_timeout=args.timeout, detached=args.command == "start"
    )


def _serve(server: LabServer, target_file: Path | None = None) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _raise_stop)
    try:
        target = server.start()
        if target_file is None:
            print(target.to_json(), flush=True)
        else:
            target_file.touch(mode=0o600)
            target_file.chmod(0o600)
            target_file.write_text(target.to_json() + "\n")
            shown = {k: v for k, v in json.loads(target.to_json()).items() if k != "password"}
            print(json.dumps({**shown, "target_file": str(target_file)}, separators=(",", ":")), flush=True)
        while server.running:
            time.sleep(0.2)
        tail = server.log_tail()
        raise LabError(f"the daemon exited on its own: {tail}")
    except _Stop:
        pass
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)  # let the cleanup finish
        server.stop()


def _run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="smtpsec-lab-") as scratch, _server(args, args.state_dir or Path(scratch) / "server") as target:
        print(f"reference {args.server}, profile {args.profile!r}: {target.to_json()}", flush=True)
        if not args.domain:
            return run_suite(target, args.pytest_args)
        (Path(scratch) / "dns").mkdir()
        with domain.reference_domain(target, Path(scratch) / "dns", args.domain) as published:
            resolver = "{}:{}".format(*published.resolver)
            print(f"domain {args.domain}: MX {target.tls_name}, resolver {resolver}, policy server {published.web}:443", flush=True)
            mx_port = f"--smtpsec-mx-port={target.ports['smtp']}"  # the world reaches an MX on 25; the lab's is elsewhere
            return run_suite(target, [*published.flags(args.domain), mx_port, *args.pytest_args])


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "profiles":  # every profile, with the servers that render it
            for profile in ALL.values():
                servers = [
                    name for name, offered in (("sendmail", PROFILES), *((m, mta.PROFILES) for m in mta.SERVERS)) if profile.name in offered
                ]
                print(f"{profile.name}\t{','.join(servers)}\t{profile.models}")
        elif args.command == "run":
            return _run(args)
        elif args.command == "stop":
            existed = args.state_dir.exists()
            stopped = mta.stop(args.state_dir) if mta.server_in(args.state_dir) else stop(args.state_dir)
            if not existed:
                done = "stopped the lab that still ran from it" if stopped else "no lab from it is running"
                print(f"state dir {args.state_dir} does not exist (deleted?): {done}", file=sys.stderr)
            elif not stopped:
                print(f"no lab was running in {args.state_dir}", file=sys.stderr)
        else:
            server = _server(args, args.state_dir)
            if args.command == "serve":
                _serve(server, args.target_file)
            else:
                print(server.start().to_json())
    except (LabError, OSError) as e:
        print(f"python -m pytest_smtpsec.lab {args.command}: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
