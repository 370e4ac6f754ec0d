"""The engine: runs checks on targets from shared probes, each host's probe sessions at once, each check once.

Pytest-free. The plugin asks :meth:`Engine.run` for a check's result on a target's service; the first
question about a host starts all of its probing in the background (or the plugin starts every host at
once after collection), so no host waits on another's timeout and no check waits on another's probe.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future
from functools import partial

from .checks import ServiceCheck, TargetCheck, run_at
from .host import HostCheck, HostFacts
from .probe import Memory, Probes
from .probe.network import host_deadline
from .probe.parallel import DaemonPool, wait
from .registry import Registry
from .target import Service, Target
from .verdict import CheckResult

PARALLEL_HOSTS = 16
"""Hosts probed at once, so no host waits on another's timeout."""
EAGER_HOSTS = 4
"""Hosts probed at once from the start; more (up to PARALLEL_HOSTS) only while hosts keep their probes waiting on
the network (``DaemonPool``'s ``eager``): 10,000 hosts that refuse at once spread over 16 threads made 200,000
thread switches more and took a second longer."""
PARALLEL_CHECKS = 4
"""Checks of one host judged at once (so at most this many of its single-purpose handshakes at a time)."""

NetworkCheck = ServiceCheck | TargetCheck

_WARM: Future[None] = Future()
"""What every host warmed without error shares in ``Engine._warming``."""
_WARM.set_result(None)


class Engine:
    """Probes and results of one run (one process: each xdist worker has its own)."""

    def __init__(self, registry: Registry, targets: Sequence[Target] = (), memory: Memory | None = None) -> None:
        self.registry = registry
        self.targets = tuple(targets)
        """The run's targets, in collection order: a check judged on a subject they share (a mail domain) is
        placed on the first of them only (:meth:`places`), the same on every xdist worker."""
        self.memory = memory
        """What earlier runs saw (pytest's cache), handed to every target's probes."""
        self._owners: dict[str, dict[Target, Target]] = {}
        self._probes: dict[Target, Probes] = {}
        self._results: dict[tuple[str, Target, Service | None], CheckResult] = {}
        self._lock = threading.Lock()
        self._pool: DaemonPool | None = None
        self._warming: dict[Target, Future[None]] = {}

    def probes(self, target: Target) -> Probes:
        """The probe cache of ``target``, shared by every check and fixture of the run."""
        found = self._probes.get(target)
        if found is None:
            with self._lock:
                found = self._probes.get(target) or self._probes.setdefault(target, Probes(target, peers=self.probes, memory=self.memory))
        return found

    def places(self, check: NetworkCheck, target: Target) -> tuple[Service | None, ...]:
        """Where ``check`` runs on ``target`` (``check.places``); a check whose subject is shared (a mail domain)
        only on the first of the run's targets with that subject, so it is judged and reported once."""
        places = check.places(target)
        if not places or check.subject(target) is target:
            return places
        owners = self._owners.get(check.name)
        if owners is None:
            owners = {}
            for other in self.targets:
                if check.places(other):
                    owners.setdefault(check.subject(other), other)
            self._owners[check.name] = owners
        owner = owners.get(check.subject(target), target)  # a target of no suite (a user's own): its own
        return places if owner is target else ()

    def warm(self, target: Target) -> None:
        """Start probing ``target`` in the background: all its sessions at once, then every check on them."""
        if target in self._warming:  # every item of a host asks: answer without the lock the probes take
            return
        probes = self.probes(target)  # made here, so the probe threads find it without the lock
        with self._lock:
            if target in self._warming:
                return
            if self._pool is None:
                self._pool = DaemonPool(PARALLEL_HOSTS, "smtpsec-probe", eager=EAGER_HOSTS)
            future = self._warming[target] = self._pool.submit(lambda: self._warm(target, probes))
        future.add_done_callback(lambda done: self._settle(target, done))

    def run(self, check: NetworkCheck, target: Target, where: Service | None) -> CheckResult:
        """The result of ``check`` on one service of ``target`` (``where`` None: the host as a whole)."""
        warming = self._warming.get(target)
        if warming is not None:
            wait(warming)  # the host's probes finish together, so its connection count is final
        return self._judge(check, target, where)

    def run_host(self, check: HostCheck, facts: HostFacts) -> CheckResult:
        return check.run(facts)

    def connections(self, target: Target) -> int:
        """Connections opened for ``target`` so far (for a domain, its MX hosts' included)."""
        return self.probes(target).all_connections()

    def close(self) -> None:
        """Stop: queued hosts are dropped, running probes end by their own deadlines."""
        if self._pool is not None:
            self._pool.shutdown()

    # -- internals -------------------------------------------------------------------------------

    def _settle(self, target: Target, done: Future[None]) -> None:
        """A host warmed without error keeps a shared finished future, not its own (a lock and a condition
        per host: megabytes on a large site)."""
        if not done.cancelled() and done.exception() is None:
            self._warming[target] = _WARM

    def _warm(self, target: Target, probes: Probes) -> None:
        """All of a host's probing, within its timeout: name lookup, sessions (at once), then the checks."""
        places = [(check, where) for check in self.registry.network for where in self.places(check, target)]
        subjects = dict.fromkeys(subject for check, _ in places if (subject := check.subject(target)) is not target)
        for subject in subjects:  # a mail domain: its DNS and MX hosts beside the host's sessions, in its own time
            threading.Thread(target=self._quietly_warm, args=(subject,), name="smtpsec-subject", daemon=True).start()
        with host_deadline(target.timeout):
            probes.warm_up(domain=False)
            # The checks judge shared probes; judged side by side, the TLS handshakes that each of them asks
            # for on its own service (old versions, weak suites) overlap instead of queueing.
            if len(places) == 1:  # a no-mail host: one check, judged here rather than in a thread of its own
                ((check, where),) = places
                self._judge(check, target, where)
                return
            pool = DaemonPool(PARALLEL_CHECKS, "smtpsec-check")
            try:
                for future in [pool.submit(partial(self._judge, check, target, where)) for check, where in places]:
                    wait(future)
            finally:
                pool.shutdown()

    def _quietly_warm(self, subject: Target) -> None:
        try:
            with host_deadline(subject.timeout):
                self.probes(subject).warm_up()
        except Exception:
            pass  # cached: the check that needs it says "could not check" itself

    def _judge(self, check: NetworkCheck, target: Target, where: Service | None) -> CheckResult:
        subject = check.subject(target)
        key = (check.name, subject, where)
        found = self._results.get(key)
        if found is None:
            found = self._results.setdefault(key, run_at(check, self.probes(subject), where))
        return found
