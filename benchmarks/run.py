"""Benchmark: ``pytest --smtpsec`` against the tools people use today, on the same reference sendmail.

    python benchmarks/run.py [--runs 5] [--peer-runs 3] [--write docs/performance.md]
    python benchmarks/run.py --runs 1 --quick        # our suite only, ~10 s (the smoke test runs this)

In one run on this machine: starts the reference sendmail (``secure`` profile) and the simulated
30-host site, times our suite (one host; the site serially and with ``-n 2`` / ``-n 4``), testssl.sh,
sslyze and a swaks STARTTLS+AUTH session on the same server, counts the TCP connections each opens
(a counting relay in front of the server, one extra run per tool; timed runs go direct), measures
plugin import and collection overhead and peak memory, profiles our suite with py-spy, and writes the
tables to ``--write`` (Markdown). Every subprocess is bounded by a timeout. Needs root (the lab).

Our suite runs as a user's CI would run it: only pytest and this plugin loaded
(``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 -p pytest_smtpsec.plugin``) and byte-code cached (under the
benchmark's cache directory, since this machine sets ``PYTHONDONTWRITEBYTECODE``); rows with this
development environment's plugins and without byte-code cache show what those cost.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import hotspots
import import_cost
import measure
import report
import tools
from count_connects import ENV as COUNT_ENV
from count_connects import read_counts
from proxy import CountingProxy

from pytest_smtpsec.checks import CHECKS
from pytest_smtpsec.lab import LabError, ReferenceServer, domain
from pytest_smtpsec.lab.acceptance import suite_command
from pytest_smtpsec.lab.domain import DnsLab
from pytest_smtpsec.lab.pool import as_target
from pytest_smtpsec.lab.site import SimulatedSite
from pytest_smtpsec.lab.target import LabTarget

HERE = Path(__file__).resolve().parent
TIMEOUT_OURS = 120.0
TIMEOUT_PEER = {"testssl": 900.0, "sslyze": 300.0, "swaks": 60.0}
SITE_OUTCOME = "\n9 failed, "
"""The site's misconfigured hosts fail by design: the nine items of tests/test_site.py's EXPECTED_FAILURES (the
passed count grows with the checks, so only the failures are compared)."""
SITE_SUBNET = 77
"""The site's addresses are 127.77.x.y, apart from the test suite's sites (127.0.x.y and others)."""
SITE_TRIES = 3
"""The site binds fixed loopback addresses that a leftover or concurrent run may hold; wait and retry."""


@dataclass
class Row:
    """One measured command: its timing, connections (None: not counted) and what it is."""

    name: str
    does: str
    timing: measure.Timing
    connections: int | None = None
    note: str = ""


@dataclass
class Results:
    runs: int
    peer_runs: int
    quick: bool
    machine: str
    load_before: str
    versions: dict[str, str]
    load_after: str = ""
    seconds: float = 0.0
    suite: list[Row] = field(default_factory=list)
    peers: list[Row] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    site: list[Row] = field(default_factory=list)
    site_hosts: dict[str, list[int]] = field(default_factory=dict)
    """Role -> connections of each host of that role (from the serial run)."""
    import_cost: import_cost.ImportCost | None = None
    """What the plugin costs a run that does not use it, and the import a run that does adds."""
    collected_in: list[float] = field(default_factory=list)
    """pytest's own "N tests collected in X s" of each collect-only run."""
    collect_with: measure.Timing | None = None
    collect_without: measure.Timing | None = None
    profiles: dict[str, hotspots.Profile] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.perf_counter()
    log = _log
    results = Results(
        runs=args.runs,
        peer_runs=args.peer_runs,
        quick=args.quick,
        machine=_machine(),
        load_before=measure.load_average(),
        versions=_versions(),
    )
    cache = tools.cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="smtpsec-bench-")))
        empty = scratch / "empty"  # pytest runs here, so no project tests or conftest are collected
        empty.mkdir()
        env = _env(cache)
        log("starting the reference sendmail (secure) ...")
        lab = stack.enter_context(ReferenceServer("secure", scratch / "secure"))
        env["SMTPSEC_PASSWORD"] = lab.password
        bench = _Bench(results, env, empty, log)
        if domain.available() and os.geteuid() == 0:
            log(f"publishing {domain.REFERENCE_DOMAIN} with the server as its MX (Knot, Unbound, HTTPS) ...")
            (scratch / "dns").mkdir()
            bench.domain = stack.enter_context(domain.reference_domain(lab, scratch / "dns"))
        bench.our_suite(lab)
        bench.overhead(lab)
        if not args.quick:
            python = tools.tools_venv(log)
            bench.dev_environment(lab)
            bench.site(scratch / "site")
            bench.peers(lab, python)
            bench.scan(lab, python)
            bench.profile(lab, python, scratch)
    results.load_after = measure.load_average()
    results.seconds = time.perf_counter() - started
    text = report.render(results, command=" ".join(["python", "benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])]))
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(text)
        log(f"wrote {args.write}")
    else:
        print(text)
    log(f"benchmark took {results.seconds:.0f} s")
    for failure in results.failures:
        log(f"warning: {failure}")
    return 0


@dataclass
class _Bench:
    results: Results
    env: dict[str, str]
    cwd: Path
    log: Callable[[str], None]
    domain: DnsLab | None = None
    """The reference server's mail domain, published (root, Knot and Unbound): its row is measured too."""

    @property
    def runs(self) -> int:
        return self.results.runs

    def _repeat(
        self, command: Sequence[str], times: int, *, timeout: float, env: dict[str, str] | None = None, what: str
    ) -> measure.Timing:
        timing = measure.repeat(command, times, env=env or self.env, cwd=self.cwd, timeout=timeout)
        self._check(timing.runs, what)
        return timing

    def _check(self, runs: Sequence[measure.Run], what: str, *, expect: str = "") -> None:
        """Note runs that timed out, and pytest runs that did not end as expected (all passed, or ``expect``)."""
        for run in runs:
            if run.timed_out:
                self.results.failures.append(f"{what}: timed out after {run.seconds:.0f} s")
            elif what.startswith("pytest") and not (run.returncode == 0 or (expect and expect in run.output)):
                tail = " | ".join(run.output.strip().splitlines()[-3:])
                self.results.failures.append(f"{what}: exit status {run.returncode}: {tail}")

    def _counted(
        self, lab: LabTarget, command: Callable[[LabTarget], list[str]], *, timeout: float, what: str, env: dict[str, str] | None = None
    ) -> int:
        """Run once through a counting relay on every port of ``lab``; the connections it opened."""
        with ExitStack() as stack:
            proxies = {s: stack.enter_context(CountingProxy(lab.host, p)) for s, p in lab.ports.items() if p}
            relayed = dataclasses.replace(lab, ports={s: (proxies[s].port if s in proxies else None) for s in lab.ports})
            run = measure.run(command(relayed), env=env or self.env, cwd=self.cwd, timeout=timeout)
            self._check([run], what)
            return sum(p.connections for p in proxies.values())

    def our_suite(self, lab: LabTarget) -> None:
        def full(t: LabTarget) -> list[str]:
            return suite_command(t, ["-p", "pytest_smtpsec.plugin", "-q"])

        def submission(t: LabTarget) -> list[str]:
            return full(dataclasses.replace(t, ports={**{s: None for s in t.ports}, "submission": t.ports["submission"]}))

        def frozen(t: LabTarget) -> list[str]:
            return [*full(t), "-p", "gc_freeze"]

        results = sum(len(check.places(as_target(lab))) for check in CHECKS.values())
        does = f"the whole note suite: smtp, submission, smtps ({len(CHECKS)} checks, {results} results)"
        rows = [("pytest --smtpsec, one host", does, full)]
        if self.domain is not None:
            published = self.domain

            def with_domain(t: LabTarget) -> list[str]:
                return [*full(t), *published.flags(domain.REFERENCE_DOMAIN), f"--smtpsec-mx-port={t.ports['smtp']}"]

            also = "the same and the domain checks: DNS through a validating Unbound, the MTA-STS policy over HTTPS, the MX"
            rows.append((f"pytest --smtpsec, one host and its domain ({domain.REFERENCE_DOMAIN})", also, with_domain))
        if not self.results.quick:
            rows.append(("pytest --smtpsec, submission only", "the same checks on the one port the peers test (587)", submission))
            rows.append(("… with gc.freeze() after collection", "one host, with the suggested fix (`benchmarks/gc_freeze.py`)", frozen))
        for name, does, command in rows:
            self.log(f"{name}: counting run, then {self.runs} timed ...")
            connections = self._counted(lab, command, timeout=TIMEOUT_OURS, what=f"pytest ({name})")
            timing = self._repeat(command(lab), self.runs, timeout=TIMEOUT_OURS, what=f"pytest ({name})")
            self.results.suite.append(Row(name, does, timing, connections))

    def overhead(self, lab: LabTarget) -> None:
        self.log("import and collection overhead ...")
        self.results.import_cost = import_cost.measure(max(3, 3 * self.runs))
        collect = suite_command(lab, ["-p", "pytest_smtpsec.plugin", "-q", "--collect-only"])
        bare = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--collect-only"]
        self.results.collect_with = self._repeat(collect, self.runs, timeout=60, what="pytest --collect-only")
        for run in self.results.collect_with.runs:
            found = re.search(r"collected in ([\d.]+)s", run.output)
            if found:
                self.results.collected_in.append(float(found.group(1)))
        self.results.collect_without = measure.repeat(bare, self.runs, env=self.env, cwd=self.cwd, timeout=60)

    def dev_environment(self, lab: LabTarget) -> None:
        """The same suite with this machine's installed plugins autoloaded, and without byte-code cache."""
        command = suite_command(lab, ["-q"])
        env = {k: v for k, v in self.env.items() if k != "PYTEST_DISABLE_PLUGIN_AUTOLOAD"}
        cold = {**{k: v for k, v in env.items() if k != "PYTHONPYCACHEPREFIX"}, "PYTHONDONTWRITEBYTECODE": "1"}
        for name, does, run_env in (
            ("… with the dev plugins autoloaded", f"plugins installed here: {', '.join(_entry_point_plugins())}", env),
            ("… and no byte-code cache", "as this machine runs it (PYTHONDONTWRITEBYTECODE=1)", cold),
        ):
            self.log(f"{name}: {self.runs} timed ...")
            self.results.suite.append(
                Row(name, does, self._repeat(command, self.runs, timeout=TIMEOUT_OURS, env=run_env, what=f"pytest ({name})"))
            )

    def site(self, root: Path) -> None:
        with _site(root, self.log) as site:
            if site is None:
                self.results.failures.append("the simulated site could not start (its loopback addresses were busy)")
                return
            env = {**self.env, **site.environ}
            base = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--smtpsec", f"--smtpsec-inventory={site.inventory}"]
            base += ["-q", "-p", "pytest_smtpsec.plugin", "-p", "count_connects", "--durations=4", "--durations-min=0.3"]
            for workers in (0, 2, 4):
                name = f"{site.size} hosts" + (f", -n {workers}" if workers else ", no xdist")
                command = base + (["-p", "xdist.plugin", "-n", str(workers)] if workers else [])
                self.log(f"site {name}: {self.runs} timed ...")
                runs, per_run = [], []
                for _ in range(self.runs):
                    with tempfile.TemporaryDirectory(prefix="smtpsec-conn-") as folder:
                        runs.append(measure.run(command, env={**env, COUNT_ENV: folder}, cwd=self.cwd, timeout=TIMEOUT_OURS))
                        per_run.append(read_counts(Path(folder)))
                self._check(runs, f"pytest (site, {name})", expect=SITE_OUTCOME)
                total = statistics.median(sum(c.values()) for c in per_run)
                does = "4 mail servers, 2 no-mail hosts running sendmail, 24 no-mail hosts with nothing listening"
                slowest = re.findall(r"^([\d.]+)s (setup|call)\s+(\S+)", runs[0].output, re.MULTILINE)
                note = "; ".join(f"{item.split('::', 1)[-1].split('@')[0]} {sec} s" for sec, _, item in slowest)
                self.results.site.append(Row(name, does, measure.Timing(tuple(runs)), round(total), note))
                if not workers:
                    self.results.site_hosts = _per_role(per_run[0])

    def peers(self, lab: LabTarget, python: Path) -> None:
        found, self.results.missing = tools.peers(tools.Server(lab.host, lab.tls_name, lab.user, lab.password), python)
        for peer in found:
            key = next(k for k in TIMEOUT_PEER if k in peer.name)
            self.log(f"{peer.name}: counting run, then {self.results.peer_runs} timed ...")

            def command(t: LabTarget, peer: tools.Peer = peer) -> list[str]:
                return list(peer.command(int(t.ports["submission"] or 0)))

            connections = self._counted(lab, command, timeout=TIMEOUT_PEER[key], what=peer.name)
            if not connections:  # it failed before connecting (e.g. swaks without Net::SSLeay): no figure to show
                self.results.failures.append(f"{peer.name}: opened no connection; is everything it needs installed?")
                continue
            timing = self._repeat(command(lab), self.results.peer_runs, timeout=TIMEOUT_PEER[key], what=peer.name)
            self.results.peers.append(Row(peer.name, peer.does, timing, connections))

    def scan(self, lab: LabTarget, python: Path) -> None:
        """Our suite with the opt-in sslyze scan: sslyze from the benchmark's venv, run by us as a separate program."""
        env = self.env
        sslyze = python.parent / "sslyze"

        def command(t: LabTarget) -> list[str]:
            return suite_command(t, ["-p", "pytest_smtpsec.plugin", "-q", f"--smtpsec-scan={sslyze}"])

        name = "pytest --smtpsec --smtpsec-scan, one host"
        self.log(f"{name}: counting run, then {self.results.peer_runs} timed ...")
        connections = self._counted(lab, command, timeout=TIMEOUT_PEER["sslyze"], env=env, what=f"pytest ({name})")
        timing = self._repeat(command(lab), self.results.peer_runs, timeout=TIMEOUT_PEER["sslyze"], env=env, what=f"pytest ({name})")
        does = f"the suite plus the opt-in {tools.SSLYZE} protocol and cipher scan of smtps (sslyze as its own process)"
        self.results.suite.append(Row(name, does, timing, connections))

    def profile(self, lab: LabTarget, python: Path, scratch: Path) -> None:
        py_spy = python.parent / "py-spy"
        one = suite_command(lab, ["-p", "pytest_smtpsec.plugin", "-q"])
        self.log("profiling one host with py-spy ...")
        self._profile("one host (wall clock, idle included)", py_spy, one, scratch / "one.raw", self.env, idle=True)
        with _site(scratch / "site-profile", self.log) as site:
            if site is None:
                return
            command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--smtpsec", f"--smtpsec-inventory={site.inventory}"]
            command += ["-q", "-p", "pytest_smtpsec.plugin", "-p", "xdist.plugin", "-n", "4"]
            self.log("profiling the site with -n 4 ...")
            label = f"{site.size} hosts, -n 4 (CPU samples of all 5 processes)"
            self._profile(label, py_spy, command, scratch / "site.raw", {**self.env, **site.environ}, idle=False)

    def _profile(self, label: str, py_spy: Path, command: list[str], out: Path, env: dict[str, str], *, idle: bool) -> None:
        run = measure.run(
            hotspots.record(py_spy, command, out, idle=idle, subprocesses=not idle), env=env, cwd=self.cwd, timeout=TIMEOUT_OURS
        )
        if out.exists():
            self.results.profiles[label] = hotspots.fold(out)
        else:
            self.results.failures.append(f"py-spy wrote no profile for {label}: {run.output.strip()[-300:]}")


@contextmanager
def _site(root: Path, log: Callable[[str], None]) -> Iterator[SimulatedSite | None]:
    for attempt in range(1, SITE_TRIES + 1):
        site = SimulatedSite(root / f"try{attempt}", subnet=SITE_SUBNET)
        log("starting the simulated site ...")
        try:
            site.start()
        except LabError as exc:
            site.stop()
            log(f"site did not start ({exc}); retrying in 10 s")
            time.sleep(10)
            continue
        try:
            yield site
        finally:
            site.stop()
        return
    yield None


def _per_role(counts: Counter[tuple[str, int]]) -> dict[str, list[int]]:
    """Connections per host, by the site's address plan: 127.N.1.x mail, 127.N.2.x quiet, 127.N.3.x noisy no-mail."""
    hosts: Counter[str] = Counter()
    for (address, _), n in counts.items():
        hosts[address] += n
    roles = {"1": "mail-server", "2": "no-mail, nothing listening", "3": "no-mail, sendmail running anyway"}
    grouped: dict[str, list[int]] = {}
    for address, n in sorted(hosts.items()):
        role = roles.get(address.split(".")[2], "other")
        grouped.setdefault(role, []).append(n)
    return grouped


def _entry_point_plugins() -> list[str]:
    from importlib.metadata import entry_points

    return sorted({ep.dist.name if ep.dist else ep.name for ep in entry_points(group="pytest11")})


def _env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTEST_ADDOPTS")}
    env["PYTHONPYCACHEPREFIX"] = str(cache / "pycache")
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH", "")]))
    return env


def _machine() -> str:
    model = "unknown CPU"
    try:
        model = next(
            line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({model}), {memory:.0f} GiB, {platform.system()} {platform.release()}; shared with other jobs"


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    found = {"python": platform.python_version()}
    for dist in ("pytest", "pytest-xdist", "cryptography", "pytest-smtpsec"):
        try:
            found[dist] = version(dist)
        except Exception:
            found[dist] = "not installed"
    return found


def _log(text: str) -> None:
    print(f"[benchmark] {text}", file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python benchmarks/run.py", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each of our commands (default %(default)s)")
    parser.add_argument("--peer-runs", type=int, default=3, help="timed runs of each peer and of the scan (default %(default)s)")
    parser.add_argument("--quick", action="store_true", help="our one-host suite and the overhead only: no site, peers or profile")
    parser.add_argument("--write", type=Path, help="write the Markdown report here (default: print it)")
    return parser


if __name__ == "__main__":
    sys.exit(main())
