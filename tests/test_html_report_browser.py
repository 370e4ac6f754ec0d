"""The HTML report in a real headless browser (Debian's ``chromium``): the page renders, its own script
runs, the failing cells are visible and open their evidence on click, and markup that a hostile server
sent is shown as text, never run.

The report comes from one real run (a subprocess, as ``pytester.runpytest_subprocess`` would start it)
against the reference sendmail, a server that greets with ``<script>``, and a no-mail host that listens.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from expected_verdicts import NEED_A_LOGIN, item_count

from pytest_smtpsec.lab.pool import LabPool
from pytest_smtpsec.target import Ports, Role, Target

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium: apt-get install -y chromium")
BROWSER_TIMEOUT = 60
RUN_TIMEOUT = 180
HTML = ["--smtpsec-html=report.html"]
PWN = "document.documentElement.setAttribute('data-pwned', '{}')"
HOSTILE = f'<script>{PWN.format("script")}</script><img src=x onerror="{PWN.format("img")}">'
BACKGROUND = {"FAIL": "rgb(198, 40, 40)", "ERR": "rgb(106, 61, 154)"}  # .v-fail and .v-error in html_report.CSS
EVIL = Target(host="127.0.0.1", name="evil.test", role=Role.MAIL_SERVER, ports=Ports(25, None, None))
EVIL_ERRORS = item_count(EVIL) - item_count(EVIL, checks=NEED_A_LOGIN) - 1
"""evil.test refuses EHLO on its one port: no ESMTP, so no STARTTLS (requires_starttls_before_auth fails), and
nothing else can be checked there, except what needs a user (none given)."""


class HostileServer:
    """Greets with markup and answers every command with more of it: as untrusted as a reply gets."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port: int = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except TimeoutError:
                continue
            with sock:
                sock.settimeout(2.0)
                try:
                    sock.sendall(f"220 {HOSTILE}\r\n".encode())
                    for _ in range(20):
                        line = sock.recv(1024)
                        if not line or line.upper().startswith(b"QUIT"):
                            break
                        sock.sendall(f"554 5.0.0 {HOSTILE}\r\n".encode())
                except OSError:
                    pass

    def __enter__(self) -> HostileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.listener.close()


@dataclass(frozen=True)
class Report:
    path: Path

    def cell_id(self, host: str) -> str:
        """The detail id of the first failing cell in ``host``'s row."""
        row = re.search(rf">{re.escape(host)}</th>.*?</tr>", self.path.read_text())
        assert row, host
        found = re.search(r'<a class="cell v-fail" href="#(d-\d+)"', row.group())
        assert found, row.group()
        return found.group(1)


@pytest.fixture(scope="module")
def report(lab: LabPool, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Report]:
    secure = lab("secure")
    path = tmp_path_factory.mktemp("browser")
    with HostileServer() as hostile:
        ports = ", ".join(f"{k} = {v}" for k, v in secure.ports.items())
        (path / "site.toml").write_text(
            "[defaults]\ntimeout = 3\n\n"
            f'[[host]]\nname = "mail1.test"\naddress = "{secure.host}"\ntls_name = "{secure.tls_name}"\nca_file = "{secure.ca_file}"\n'
            f"ports = {{ {ports} }}\n\n"
            f'[[host]]\nname = "evil.test"\naddress = "127.0.0.1"\n'
            f'ports = {{ smtp = {hostile.port}, submission = "off", smtps = "off" }}\n\n'
            f'[[host]]\nname = "printer.test"\naddress = "127.0.0.1"\nrole = "no-mail"\n'
            f"ports = {{ smtp = {hostile.port}, submission = {hostile.port}, smtps = {hostile.port} }}\n"
        )
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--smtpsec", "--smtpsec-inventory=site.toml", *HTML],
            cwd=path,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
    assert proc.returncode == pytest.ExitCode.TESTS_FAILED, proc.stdout[-3000:] + proc.stderr[-3000:]
    yield Report(path / "report.html")


def chromium(profile: Path, *args: str) -> str:
    """Run headless chromium once, bounded; its whole process group goes when it is done or too slow."""
    assert CHROMIUM is not None
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    command += ["--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
    command += [f"--user-data-dir={profile}", "--window-size=1400,1000", "--hide-scrollbars", *args]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=BROWSER_TIMEOUT)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(5)
    assert proc.returncode == 0, err[-2000:]
    return out


def test_the_page_renders_and_runs_only_its_own_script(report: Report, tmp_path: Path) -> None:
    target = report.cell_id("printer.test")
    shot = tmp_path / "report.png"
    chromium(tmp_path / "profile", f"--screenshot={shot}", f"{report.path.as_uri()}#{target}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    dom = chromium(tmp_path / "profile", "--dump-dom", f"{report.path.as_uri()}#{target}")
    assert re.search(r'<html lang="en" class="js">', dom)  # the page's script ran: the CSP allows it by hash
    assert re.search(rf'<section class="detail open" id="{target}">', dom)  # the cell named in the URL is open
    assert re.search(rf'<a class="cell v-fail selected" href="#{target}"', dom)
    assert "data-pwned" not in dom.split("<body")[0] and "<img" not in dom
    # printer.test fails; on evil.test EHLO is refused: no STARTTLS (a failure), and nothing else can be checked
    assert dom.count('<a class="cell v-fail') == 2 and dom.count('<a class="cell v-error') == EVIL_ERRORS


DRIVER = """<script>
(function () {
  var out = {pwned: document.documentElement.getAttribute('data-pwned'), cells: []};
  document.querySelectorAll('a.cell.v-fail, a.cell.v-error').forEach(function (cell) {
    var box = cell.getBoundingClientRect(), style = getComputedStyle(cell);
    cell.click();
    var detail = document.getElementById(cell.getAttribute('href').slice(1));
    out.cells.push({
      host: cell.closest('tr').querySelector('th').textContent, text: cell.textContent,
      width: box.width, height: box.height, display: style.display, background: style.backgroundColor,
      shown: detail.offsetHeight > 0, others_hidden: document.querySelectorAll('.detail.open').length === 1,
      detail: detail.innerText
    });
  });
  var probe = document.createElement('pre');
  probe.id = 'probe';
  probe.textContent = JSON.stringify(out);
  document.body.appendChild(probe);
})();
</script>"""


def test_failing_cells_are_visible_and_a_click_shows_the_evidence(report: Report, tmp_path: Path) -> None:
    """Without the page's Content-Security-Policy, so escaping alone must keep the server's markup inert."""
    page = report.path.read_text()
    page = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page)
    page = page.replace("</body>", DRIVER + "</body>")
    driven = tmp_path / "driven.html"
    driven.write_text(page)
    dom = chromium(tmp_path / "profile", "--dump-dom", driven.as_uri())
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.DOTALL)
    assert found, dom[-3000:]
    probe = json.loads(html.unescape(found.group(1)))
    assert probe["pwned"] is None
    cells = probe["cells"]
    failing = [("evil.test", "FAIL"), ("printer.test", "FAIL")]
    assert sorted((c["host"], c["text"]) for c in cells) == [("evil.test", "ERR")] * EVIL_ERRORS + failing
    for cell in cells:  # visible, coloured, and a click opens its own evidence (and closes the last)
        assert cell["width"] > 20 and cell["height"] > 10 and cell["display"] != "none"
        assert cell["background"] == BACKGROUND[cell["text"]] and cell["shown"] and cell["others_hidden"]
        assert "The note" in cell["detail"] and "Fix" in cell["detail"]
        assert "<script>document.documentElement.setAttribute(" in cell["detail"]  # the server's markup, as text
    (printer,) = [c for c in cells if c["host"] == "printer.test"]
    assert "accepts connections; said '220 <script>" in printer["detail"] and "ports 25, 465 and 587" in printer["detail"]
    evil = [c for c in cells if c["host"] == "evil.test"]
    assert all("S: 554 5.0.0 <script>" in c["detail"] and "EHLO" in c["detail"] and "refused" in c["detail"] for c in evil)
