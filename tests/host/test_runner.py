"""The command runner: host URLs, the local runner, and the shell scripts the ssh runner sends.

The scripts are run here through the local ``sh`` and must agree with what ``os`` says; the ssh
transport itself is tested against a real sshd in test_ssh.py.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from pytest_smtpsec.host import HostConfigError, LocalRunner, RunnerError, SshRunner, runner_for
from pytest_smtpsec.host.runner import MAX_READ, READ_SCRIPT, STAT_SCRIPT, parse_read_output, parse_stat_output


@pytest.mark.parametrize(
    ("url", "name", "fields"),
    [
        ("ssh://mail.example.org", "ssh://mail.example.org", {"user": None, "port": None}),
        ("ssh://root@mail.example.org:2222", "ssh://root@mail.example.org:2222", {"user": "root", "port": 2222}),
        ("ssh://admin@[::1]:22", "ssh://admin@[::1]:22", {"host": "::1"}),
        (
            "ssh://root@h?identity_file=/k&known_hosts=/kh&strict_host_key_checking=yes&connect_timeout=3&ssh_config=/dev/null",
            "ssh://root@h",
            {
                "identity_file": "/k",
                "known_hosts": "/kh",
                "strict_host_key_checking": "yes",
                "connect_timeout": 3,
                "ssh_config": "/dev/null",
            },
        ),
    ],
)
def test_ssh_urls(url: str, name: str, fields: dict[str, object]) -> None:
    runner = runner_for(url)
    assert isinstance(runner, SshRunner) and runner.name == name
    for key, value in fields.items():
        assert getattr(runner, key) == value


def test_local() -> None:
    assert isinstance(runner_for("local"), LocalRunner) and runner_for("local").name == "local"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("", "expected 'local' or 'ssh://"),
        ("Local", "expected 'local' or 'ssh://"),
        ("http://mail", "expected 'local' or 'ssh://"),
        ("ssh://", "expected 'local' or 'ssh://"),
        ("ssh://root:secret@mail", "no passwords"),
        ("ssh://mail:99999", "out of range"),
        ("ssh://mail/etc", "unexpected path"),
        ("ssh://mail?port=22", "unknown option(s) port"),
        ("ssh://mail?strict_host_key_checking=maybe", "yes, accept-new or no"),
        ("ssh://mail?connect_timeout=soon", "whole seconds"),
        ("ssh://-oProxyCommand=x", "bad host"),
    ],
)
def test_bad_urls_say_what_is_expected(url: str, says: str) -> None:
    with pytest.raises(HostConfigError) as info:
        runner_for(url)
    assert says in str(info.value)


def test_ssh_command_line_is_batch_mode_and_quoted() -> None:
    runner = SshRunner("mail", user="root", port=2222, identity_file="/k", known_hosts="/kh", strict_host_key_checking="yes")
    argv = runner.argv(["sh", "-c", "echo $1", "sh", "a b"])
    assert argv[0] == "ssh" and "BatchMode=yes" in argv and "ConnectTimeout=10" in argv and "IdentitiesOnly=yes" in argv
    assert "StrictHostKeyChecking=yes" in argv and "UserKnownHostsFile=/kh" in argv
    assert argv[-3:] == ["--", "root@mail", "sh -c 'echo $1' sh 'a b'"]


def test_local_run() -> None:
    runner = LocalRunner()
    assert runner.run(["sh", "-c", "echo out; echo err >&2; exit 3"]) == (3, "out\n", "err\n")
    code, _, err = runner.run(["/nonexistent/tool"])
    assert code == 127 and "not found" in err
    with pytest.raises(RunnerError, match=r"did not finish within 0\.2 s"):
        runner.run(["sleep", "5"], timeout=0.2)


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, str]:
    """Every kind of path the checks meet."""
    (tmp_path / "dir").mkdir(mode=0o700)
    key = tmp_path / "dir" / "key.pem"
    key.write_bytes(b"-----BEGIN PRIVATE KEY-----\n\x00\xff binary\n")
    key.chmod(0o400)
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "no-newline").write_bytes(b"last line")
    (tmp_path / "link").symlink_to(key)
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "mux"))
    sock.close()
    names = ["dir", "dir/key.pem", "empty", "no-newline", "link", "dangling", "missing", "mux"]
    return {name: str(tmp_path / name) for name in names}


def test_stat_script_agrees_with_os(tree: dict[str, str]) -> None:
    paths = list(tree.values())
    local = LocalRunner().stat(paths)
    code, out, err = LocalRunner().run(["sh", "-c", STAT_SCRIPT, "sh", *paths])
    assert code == 0, err
    remote = parse_stat_output(paths, out)
    for path in paths:
        a, b = local[path], remote[path]
        assert (a.ok, a.missing, a.mode, a.uid, a.gid, a.owner, a.size, a.resolved) == (
            b.ok, b.missing, b.mode, b.uid, b.gid, b.owner, b.size, b.resolved
        ), path  # fmt: skip
        assert int(a.mtime) == int(b.mtime)
    assert local[tree["link"]].resolved == tree["dir/key.pem"] and local[tree["link"]].perm == 0o400
    assert local[tree["dangling"]].missing and local[tree["dangling"]].resolved.endswith("/gone")
    assert local[tree["mux"]].is_socket and local[tree["dir"]].is_dir
    assert local[tree["dir/key.pem"]].describe() == "-r-------- 0400 root:root" or os.geteuid() != 0


def test_read_script_agrees_with_os(tree: dict[str, str]) -> None:
    paths = list(tree.values())
    local = LocalRunner().read(paths)
    out = subprocess.run(["sh", "-c", READ_SCRIPT, "sh", str(MAX_READ), *paths], capture_output=True, check=True).stdout
    remote = parse_read_output(paths, out)
    for path in paths:
        assert local[path].data == remote[path].data, path
        assert local[path].missing == remote[path].missing, path
        assert bool(local[path].error) == bool(remote[path].error), path
    assert local[tree["dir/key.pem"]].data == b"-----BEGIN PRIVATE KEY-----\n\x00\xff binary\n"
    assert local[tree["dir"]].error == remote[tree["dir"]].error == "Is a directory"


def test_garbled_answers_are_runner_errors() -> None:
    with pytest.raises(RunnerError):
        parse_stat_output(["/a", "/b"], "ok\t81a4 0 0 1 2 root root\t\n")
    with pytest.raises(RunnerError):
        parse_read_output(["/a"], b"ok 10\nshort")


def test_paths_must_be_absolute() -> None:
    with pytest.raises(ValueError, match="absolute"):
        LocalRunner().stat(["relative/path"])
