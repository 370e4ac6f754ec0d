"""The rootfs cache without building one: mirror discovery, recipe keys, restore, locking, bounded failure."""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from pytest_smtpsec.lab.mta import rootfs
from pytest_smtpsec.lab.mta.exim import RECIPE as EXIM
from pytest_smtpsec.lab.mta.postfix import RECIPE as POSTFIX
from pytest_smtpsec.lab.mta.rootfs import Mirror, MirrorUnreachable, Recipe, RootfsError

DEB822 = """\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.example.org/debian http://second.example.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.example.org/debian-security
Suites: bookworm-security
Components: main
"""


def _apt(tmp_path: Path, sources: dict[str, str]) -> Path:
    for name, text in sources.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_mirror_is_read_from_deb822_sources(tmp_path: Path) -> None:
    apt = _apt(tmp_path, {"sources.list.d/debian.sources": DEB822})
    assert rootfs.mirror("bookworm", apt) == Mirror("http://deb.example.org/debian", "/usr/share/keyrings/debian-archive-keyring.gpg")


def test_mirror_is_read_from_one_line_sources_and_disabled_stanzas_are_ignored(tmp_path: Path) -> None:
    apt = _apt(
        tmp_path,
        {
            "sources.list.d/off.sources": "Enabled: no\nTypes: deb\nURIs: http://off.example.org/debian\nSuites: bookworm\n",
            "sources.list": "# deb http://commented.example.org/debian bookworm main\n"
            "deb-src http://src.example.org/debian bookworm main\n"
            "deb [arch=amd64 signed-by=/k.gpg] http://one.example.org/debian bookworm main\n",
        },
    )
    assert rootfs.mirror("bookworm", apt) == Mirror("http://one.example.org/debian", "/k.gpg")


def test_no_source_for_the_suite_is_a_clear_error(tmp_path: Path) -> None:
    apt = _apt(tmp_path, {"sources.list": "deb http://deb.example.org/debian trixie main\n"})
    with pytest.raises(RootfsError, match="no 'deb' source for bookworm"):
        rootfs.mirror("bookworm", apt)


def test_the_host_has_a_mirror() -> None:
    assert rootfs.mirror().uri.startswith(("http://", "https://", "file:"))


def test_an_unreachable_mirror_fails_fast_and_says_so() -> None:
    began = time.monotonic()
    with pytest.raises(MirrorUnreachable, match=r"Debian mirror unreachable \(http://127.0.0.1:9/debian/dists/bookworm/Release"):
        rootfs._check_reachable(Mirror("http://127.0.0.1:9/debian"), "bookworm")
    assert time.monotonic() - began < rootfs.MIRROR_TIMEOUT


def test_recipe_keys_are_stable_and_follow_every_ingredient() -> None:
    assert POSTFIX.key == replace(POSTFIX).key and POSTFIX.key != EXIM.key
    changed = [
        replace(POSTFIX, packages=(*POSTFIX.packages, "swaks")),
        replace(POSTFIX, setup=POSTFIX.setup + "true\n"),
        replace(POSTFIX, debconf=()),
        replace(POSTFIX, base=replace(rootfs.BASE, suite="trixie")),
    ]
    assert len({POSTFIX.key, *(r.key for r in changed)}) == 1 + len(changed)


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(rootfs.CACHE_ENV, str(tmp_path))
    assert rootfs.cache_dir() == tmp_path
    assert rootfs.tarball_path(POSTFIX).parent == tmp_path and POSTFIX.key in rootfs.tarball_path(POSTFIX).name
    monkeypatch.delenv(rootfs.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert rootfs.cache_dir() == tmp_path / "xdg" / "pytest-smtpsec" / "rootfs"


TINY = Recipe("tiny", packages=("nothing",), base=rootfs.BASE)


def _fake_tarball(recipe: Recipe, content: str) -> Path:
    """What a build leaves in the cache, made by hand: a marker and one file."""
    src = rootfs.cache_dir() / "src"
    src.mkdir(parents=True, exist_ok=True)
    (src / rootfs.MARKER).write_text(f"{recipe.name} {recipe.key}\n")
    (src / "etc").mkdir(exist_ok=True)
    (src / "etc" / "content").write_text(content)
    tarball = rootfs.tarball_path(recipe)
    subprocess.run(["tar", "-C", str(src), *rootfs._compressor()[1], "-cf", str(tarball), "."], check=True)
    return tarball


def test_restore_extracts_once_and_reuses_an_up_to_date_tree(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(rootfs.CACHE_ENV, str(tmp_path / "cache"))
    _fake_tarball(TINY, "one")
    dest = tmp_path / "state" / "rootfs"
    rootfs.restore(TINY, dest)
    assert (dest / "etc" / "content").read_text() == "one"
    (dest / "etc" / "local-change").write_text("kept")
    rootfs.restore(TINY, dest)  # same key: reused as it is
    assert (dest / "etc" / "local-change").exists()
    newer = replace(TINY, packages=("something-else",))
    _fake_tarball(newer, "two")
    rootfs.restore(newer, dest)  # another key: extracted afresh
    assert (dest / "etc" / "content").read_text() == "two" and not (dest / "etc" / "local-change").exists()


@pytest.mark.lab  # ensure() refuses to build without root
def test_concurrent_ensures_build_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(rootfs.CACHE_ENV, str(tmp_path))
    builds = []

    def slow_build(recipe: Recipe, tarball: Path, log: Path) -> None:
        builds.append(recipe.name)
        time.sleep(0.3)
        tarball.write_bytes(b"built")

    monkeypatch.setattr(rootfs, "_build", slow_build)
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(rootfs.ensure(TINY))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert builds == ["tiny"] and len(set(results)) == 1 and results[0].read_bytes() == b"built"
