"""The package as users get it: the wheel and sdist build, and a wheel installed in a fresh virtualenv in an
empty directory gives a user's conftest.py our typed public API (``mypy --strict`` passes on it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

USER_CONFTEST = """
from __future__ import annotations

from collections.abc import Callable

import pytest

from pytest_smtpsec import CheckResult, Service, SmtpClient, SmtpsecWarning, Target, Verdict
from pytest_smtpsec.target import Role


@pytest.fixture
def smtpsec_target() -> Target:
    return Target(host="mail.example.org", role=Role.MAIL_SERVER, timeout=5.0)


@pytest.mark.smtpsec_certificate_valid
def test_submission(
    smtpsec_session: Callable[..., SmtpClient], smtpsec_check: Callable[[str, Service | str | None], CheckResult]
) -> None:
    smtp = smtpsec_session(Service.SUBMISSION)
    assert "STARTTLS" in smtp.ehlo().keywords()
    result = smtpsec_check("certificate_valid", Service.SMTPS)
    assert result.verdict is Verdict.PASS, result.outcome.reason


def warn_about(result: CheckResult) -> SmtpsecWarning:
    return SmtpsecWarning(result.outcome.reason)
"""


def test_metadata_is_what_a_careful_team_checks() -> None:
    assert PROJECT["license"] == "MIT" and PROJECT["license-files"] == ["LICENSE"]
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    assert "pytest>=8.3" in PROJECT["dependencies"]
    classifiers = set(PROJECT["classifiers"])
    assert {f"Programming Language :: Python :: 3.{minor}" for minor in (11, 12, 13)} <= classifiers
    assert {"Typing :: Typed", "Operating System :: POSIX :: Linux", "Framework :: Pytest"} <= classifiers
    assert PROJECT["scripts"] == {"smtpsec-lab": "pytest_smtpsec.lab.__main__:main"}
    for name in ("CHANGELOG.md", "CONTRIBUTING.md", "SECURITY.md"):
        assert (ROOT / name).is_file(), name


LOCAL = shutil.ignore_patterns(".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "node_modules")
"""What a checkout holds that is not the project: builds work on a copy (xdist workers build at once, and a
build writes build/ and *.egg-info into its source tree)."""


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    source = shutil.copytree(ROOT, tmp_path_factory.mktemp("source") / "pytest-smtpsec", ignore=LOCAL)
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return out


def test_the_wheel_holds_the_package_data_and_the_license(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        entry_points = archive.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert "pytest_smtpsec/py.typed" in names
    assert "pytest_smtpsec/report/schema.json" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/"))]
    assert "License-Expression: MIT" in metadata
    assert "smtpsec = pytest_smtpsec.plugin" in entry_points and "smtpsec-lab = pytest_smtpsec.lab.__main__:main" in entry_points


def test_the_sdist_leaves_the_tests_out_on_purpose(dist: Path) -> None:
    """The tests need root and real MTAs from a checkout (CONTRIBUTING.md); MANIFEST.in says so."""
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    assert {"LICENSE", "README.md", "CHANGELOG.md", "SECURITY.md", "pytest_smtpsec/report/schema.json"} <= names
    assert not [n for n in names if n.startswith("tests/")]


def test_an_installed_wheel_types_a_users_conftest(dist: Path, tmp_path: Path) -> None:
    """A fresh venv in an empty directory: our wheel only (``--no-deps``), pytest, cryptography and mypy from
    this environment's site-packages (a ``.pth``; its editable install of us is not carried over)."""
    (wheel,) = dist.glob("*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    lent = [path for path in sys.path if path.endswith("-packages")]  # the dev env's, however it got them (a .pth of a .pth)
    (site / "from-dev-env.pth").write_text("\n".join(lent) + "\n")
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)]
    subprocess.run(pip, check=True, timeout=300, capture_output=True)
    project = tmp_path / "project"
    project.mkdir()
    (project / "conftest.py").write_text(USER_CONFTEST)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MYPYPATH")}
    where = subprocess.run(
        [python, "-c", "import pytest_smtpsec; print(pytest_smtpsec.__file__)"], cwd=project, env=env, capture_output=True, text=True
    )
    assert where.returncode == 0 and where.stdout.startswith(str(site)), where.stdout + where.stderr  # the wheel, not this checkout
    mypy = subprocess.run(
        [python, "-m", "mypy", "--strict", "--no-incremental", "--python-executable", str(python), "conftest.py"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
    lab = subprocess.run([venv / "bin" / "smtpsec-lab", "--help"], cwd=project, env=env, capture_output=True, text=True, timeout=60)
    assert lab.returncode == 0 and "profiles" in lab.stdout, lab.stdout + lab.stderr
