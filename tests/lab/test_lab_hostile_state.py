"""The root lab trusts nothing it did not create: planted state dirs, symlinks, records and races.

Each case is set up as an attacker would: by the unprivileged user `nobody` (through `setpriv`) in a
shared sticky directory like /tmp, or, for what root itself might have left behind, by the test.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pytest_smtpsec.lab import LabError, ReferenceServer
from pytest_smtpsec.lab.layout import Layout
from pytest_smtpsec.lab.process import Daemon, proc_stat
from pytest_smtpsec.lab.server import stop as stop_lab

from .procs import lab_processes

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the reference sendmail needs root")

CLI = [sys.executable, "-m", "pytest_smtpsec.lab"]
AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]
PLANTED = ("daemon.log", "syslog.log", "sendmail.cf", "target.json", "etc", "private", "sasl", "mail")


def _cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, check=False)


def _one_line_error(result: subprocess.CompletedProcess[str], pattern: str) -> None:
    assert result.returncode == 2, result
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert pattern in result.stderr, result.stderr


def _as_nobody(script: str) -> None:
    subprocess.run([*AS_NOBODY, "sh", "-ec", script], check=True, timeout=10)


def _fingerprint(top: Path) -> dict[str, tuple[int, int, str]]:
    """Mode, owner and content of everything under `top`: what the lab must leave exactly as it was."""
    found = {}
    for path in [top, *sorted(top.rglob("*"))]:
        st = path.lstat()
        data = path.read_bytes() if stat.S_ISREG(st.st_mode) else b""
        found[str(path)] = (st.st_mode, st.st_uid, hashlib.sha256(data).hexdigest())
    return found


@pytest.fixture
def shared() -> Iterator[Path]:
    """A world-writable sticky directory, like /tmp, that `nobody` can also write to."""
    path = Path(tempfile.mkdtemp(prefix="smtpsec-shared-", dir="/tmp"))
    path.chmod(0o1777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """Root's files elsewhere, which planted symlinks point at."""
    top = tmp_path / "victim"
    (top / "dir").mkdir(parents=True)
    (top / "dir").chmod(0o755)
    (top / "file").write_text("precious\n")
    (top / "file").chmod(0o644)
    return top


def _plant_links(state: Path, victim: Path) -> None:
    for name in PLANTED:
        target = victim / ("dir" if name in ("etc", "private", "sasl", "mail") else "file")
        (state / name).symlink_to(target)


def test_a_state_dir_prepared_by_another_user_is_refused(shared: Path, victim: Path) -> None:
    state = shared / "lab"
    _as_nobody(f"mkdir {state}; cd {state}; for n in {' '.join(PLANTED)}; do ln -s {victim}/file $n; done")
    before = _fingerprint(victim)
    with pytest.raises(LabError, match=rf"^refusing state dir {state}: owned by uid 65534, not by you \(uid 0\)"):
        ReferenceServer("secure", state).start()
    _one_line_error(_cli("start", "--profile", "secure", "--state-dir", str(state)), "owned by uid 65534")
    _one_line_error(_cli("stop", "--state-dir", str(state)), "owned by uid 65534")
    assert _fingerprint(victim) == before
    assert lab_processes(state) == []


@pytest.mark.parametrize("mode", [0o777, 0o775, 0o757])
def test_a_state_dir_others_may_write_to_is_refused(tmp_path: Path, mode: int) -> None:
    state = tmp_path / "state"
    state.mkdir()
    state.chmod(mode)
    with pytest.raises(LabError, match=rf"^refusing state dir {state}: writable by other users \(mode {mode:04o}\)"):
        ReferenceServer("secure", state).start()
    assert list(state.iterdir()) == []


def test_a_state_dir_under_a_directory_another_user_owns_is_refused(shared: Path) -> None:
    _as_nobody(f"mkdir -m 755 {shared}/nobodys")
    state = shared / "nobodys" / "lab"
    with pytest.raises(LabError, match=rf"^refusing state dir {state}: {shared}/nobodys above it is owned by uid 65534"):
        ReferenceServer("secure", state).start()
    assert not state.exists()


def test_a_fresh_state_dir_in_sticky_tmp_is_fine(shared: Path) -> None:
    with ReferenceServer("no-smtps", shared / "new" / "lab") as target:
        assert target.ports["smtp"]
    assert stat.S_IMODE((shared / "new" / "lab").stat().st_mode) == 0o755


def test_symlinks_left_in_an_own_state_dir_are_replaced_not_followed(tmp_path: Path, victim: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    _plant_links(state, victim)
    before = _fingerprint(victim)
    with ReferenceServer("secure", state) as target:
        assert _fingerprint(victim) == before
        for name in PLANTED:
            assert not (state / name).is_symlink(), name
        assert json.loads((state / "target.json").read_text())["password"] == target.password
    assert _fingerprint(victim) == before


def test_target_json_is_0600_whatever_was_there(tmp_path: Path) -> None:
    (tmp_path / "target.json").write_text("{}")
    (tmp_path / "target.json").chmod(0o666)
    with ReferenceServer("no-smtps", tmp_path):
        assert stat.S_IMODE((tmp_path / "target.json").stat().st_mode) == 0o600


def test_a_run_record_naming_another_process_stops_nothing(tmp_path: Path) -> None:
    """A run.json with a real pid and start time, even of a process of our own, names no lab of ours."""
    for argv in ([*AS_NOBODY, "sleep", "60"], ["sleep", "60"]):
        other = subprocess.Popen(argv, start_new_session=True)
        try:
            fields = proc_stat(other.pid)
            assert fields
            ns = os.readlink("/proc/self/ns/mnt")
            record = {"pid": other.pid, "start_time": int(fields[19]), "mnt_ns": ns, "exe": "/usr/lib/sm.bin/sendmail"}
            (tmp_path / "run.json").write_text(json.dumps(record))
            assert stop_lab(tmp_path) is False
            stopped = _cli("stop", "--state-dir", str(tmp_path))
            assert (stopped.returncode, stopped.stderr) == (0, f"no lab was running in {tmp_path}\n")
            time.sleep(0.2)
            assert other.poll() is None, argv
        finally:
            other.kill()
            other.wait()


def test_a_planted_namespace_record_stops_nothing(tmp_path: Path) -> None:
    """The Postfix/Exim record names a namespace's init: one in our own namespace is no lab's."""
    other = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        fields = proc_stat(other.pid)
        assert fields
        jail = {"root": str(tmp_path / "rootfs"), "unshare_pid": other.pid, "init_pid": other.pid}
        jail |= {"start_time": int(fields[19]), "pid_ns": os.readlink("/proc/self/ns/pid")}
        (tmp_path / "run.json").write_text(json.dumps({"server": "postfix", "jail": jail}))
        stopped = _cli("stop", "--state-dir", str(tmp_path))
        assert (stopped.returncode, stopped.stderr) == (0, f"no lab was running in {tmp_path}\n")
        time.sleep(0.2)
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


@pytest.mark.parametrize("content", ["", "{", "[1, 2]", '{"pid": "1; rm -rf /"}', "\xff\xfe garbage"])
def test_a_garbled_run_record_is_a_one_line_error(tmp_path: Path, content: str) -> None:
    (tmp_path / "run.json").write_text(content, errors="surrogateescape")
    _one_line_error(_cli("stop", "--state-dir", str(tmp_path)), f"{tmp_path}/run.json is not a lab record (empty or garbled)")
    _one_line_error(_cli("start", "--profile", "secure", "--state-dir", str(tmp_path)), "is not a lab record")


def test_a_symlinked_run_record_is_refused(tmp_path: Path, victim: Path) -> None:
    (tmp_path / "run.json").symlink_to(victim / "file")
    _one_line_error(_cli("stop", "--state-dir", str(tmp_path)), f"refusing state dir {tmp_path}: run.json is a symlink")


def test_concurrent_starts_on_one_dir_start_one_lab(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    try:
        with ThreadPoolExecutor(3) as pool:
            results = list(pool.map(lambda _: _cli("start", "--profile", "no-smtps", "--state-dir", str(state)), range(3)))
        assert sorted(r.returncode for r in results) == [0, 2, 2], results
        for failed in (r for r in results if r.returncode):
            assert failed.stderr.count("\n") == 1, failed.stderr
            assert "another start or stop is using" in failed.stderr or "already running" in failed.stderr
        daemon = Daemon.load(Layout(state))
        assert daemon and daemon.members()
    finally:
        assert _cli("stop", "--state-dir", str(state)).returncode == 0
    assert lab_processes(state, daemon.pid) == []


def test_the_daemon_dies_with_a_sigkilled_lab_process(tmp_path: Path) -> None:
    """A pytest using the lab killed with SIGKILL leaves no root sendmail behind."""
    script = textwrap.dedent(
        f"""
        import time
        from pytest_smtpsec.lab import ReferenceServer
        server = ReferenceServer("no-smtps", {str(tmp_path)!r})
        server.start()
        print(server._proc.pid, flush=True)
        time.sleep(60)
        """
    )
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout
        group = int(owner.stdout.readline())
        assert lab_processes(tmp_path, group)
        owner.send_signal(signal.SIGKILL)
        owner.wait()
        deadline = time.monotonic() + 3
        while lab_processes(tmp_path, group) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert lab_processes(tmp_path, group) == []
    finally:
        owner.kill()
        owner.wait()


def test_start_from_the_cli_outlives_the_command(tmp_path: Path) -> None:
    """`start` is the one way to leave a daemon running: it is detached on purpose."""
    state = tmp_path / "state"
    assert _cli("start", "--profile", "no-smtps", "--state-dir", str(state)).returncode == 0
    try:
        daemon = Daemon.load(Layout(state))
        assert daemon and daemon.members()
    finally:
        assert _cli("stop", "--state-dir", str(state)).returncode == 0


def test_stop_on_a_deleted_state_dir_says_so(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert _cli("start", "--profile", "no-smtps", "--state-dir", str(state)).returncode == 0
    daemon = Daemon.load(Layout(state))
    assert daemon
    shutil.rmtree(state)
    try:
        result = _cli("stop", "--state-dir", str(state))
        gone = f"state dir {state} does not exist (deleted?)"
        assert (result.returncode, result.stderr) == (0, f"{gone}: stopped the lab that still ran from it\n")
        assert lab_processes(state, daemon.pid) == []
        again = _cli("stop", "--state-dir", str(state))
        assert (again.returncode, again.stderr) == (0, f"{gone}: no lab from it is running\n")
    finally:
        daemon.terminate()
