"""``--smtpsec-html``: one self-contained page a person reads, a host x check grid; a click shows the evidence.

Server replies are untrusted: every text goes through :func:`html.escape`, the page loads nothing from
outside, and its Content-Security-Policy runs only the page's own script (by hash), so a reply that
carries ``<script>`` is shown, never run.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

from ..checks.base import Area
from ..verdict import Verdict
from .json_report import ReportFile, Run
from .site import Cell, Host, Site, counts

LABEL = {Verdict.PASS: "pass", Verdict.FAIL: "FAIL", Verdict.WARN: "warn", Verdict.SKIP: "skip", Verdict.ERROR: "ERR"}
FULL_DETAIL_HOSTS = 50
"""Up to this many hosts every cell has its detail; a larger site keeps the details of its findings only
(a pass cell then shows its reason as a tooltip), so a 1,000-host page stays a few megabytes."""

CSS = """
:root{font:14px/1.4 system-ui,sans-serif;color:#1b1b1b;background:#fff}
body{margin:1rem 1.5rem}
h1{font-size:1.4rem;margin:0 0 .3rem}
h2{font-size:1.1rem;margin:.2rem 0 .5rem}
h3{font-size:.95rem;margin:.8rem 0 .2rem}
.meta{color:#555;margin:0 0 .6rem}
.totals{display:flex;flex-wrap:wrap;gap:.4rem;margin:.4rem 0;padding:0;list-style:none}
.totals li{padding:.15rem .5rem;border-radius:3px;border:1px solid #ccc}
.facts{margin:.4rem 0 1rem;padding-left:1.2rem}
.layout{display:grid;grid-template-columns:minmax(0,max-content) minmax(22rem,1fr);gap:1.5rem;align-items:start}
table.grid{border-collapse:collapse;margin:0 0 1.2rem}
.grid caption{text-align:left;font-weight:600;padding:.2rem 0}
.grid th,.grid td{border:1px solid #d0d0d0;padding:0;text-align:center}
.grid th.host{text-align:left;padding:.15rem .5rem;font-weight:500;white-space:nowrap}
.grid th.num{padding:.15rem .4rem;font-weight:400;color:#555}
.grid thead th.check{writing-mode:vertical-rl;transform:rotate(180deg);padding:.4rem .15rem;font-weight:500;white-space:nowrap}
.grid thead th.hardening{font-style:italic;color:#555}
.grid thead th.span{padding:.1rem .4rem;font-weight:600}
.cell{display:block;min-width:2.6rem;padding:.2rem .3rem;text-decoration:none;font:600 12px ui-monospace,monospace}
.v-pass{background:#d9f2dd;color:#0b5a1c}
.v-fail{background:#c62828;color:#fff}
.v-warn{background:#ffe08a;color:#5b4300}
.v-skip{background:#eee;color:#555}
.v-error{background:#6a3d9a;color:#fff}
.v-none{color:#aaa}
a.cell:focus,a.cell.selected{outline:3px solid #1565c0;outline-offset:-3px}
.js .only-problems tr.clean{display:none}
.panel{position:sticky;top:0;max-height:100vh;overflow:auto;border-left:3px solid #ddd;padding-left:1rem}
.js .detail{display:none}
.js .detail.open{display:block}
.detail{border-bottom:1px solid #ddd;padding-bottom:.6rem}
.badge{display:inline-block;padding:0 .4rem;border-radius:3px;font:600 12px ui-monospace,monospace}
pre{background:#f6f6f6;border:1px solid #e0e0e0;padding:.5rem;overflow:auto;white-space:pre-wrap;word-break:break-all;font-size:12px}
blockquote{margin:.2rem 0;padding-left:.6rem;border-left:3px solid #ccc;color:#333}
"""

JS = """
(function () {
  var root = document.documentElement, open = null, selected = null;
  root.classList.add('js');
  function show(id) {
    var detail = document.getElementById(id);
    if (!detail || !detail.classList.contains('detail')) return;
    if (open) open.classList.remove('open');
    if (selected) selected.classList.remove('selected');
    open = detail;
    detail.classList.add('open');
    selected = document.querySelector('a.cell[href="#' + id + '"]');
    if (selected) selected.classList.add('selected');
    document.getElementById('hint').hidden = true;
  }
  document.addEventListener('click', function (event) {
    var cell = event.target.closest('a.cell');
    if (!cell) return;
    event.preventDefault();
    var id = cell.getAttribute('href').slice(1);
    show(id);
    history.replaceState(null, '', '#' + id);
  });
  var only = document.getElementById('only-problems');
  only.addEventListener('change', function () { document.body.classList.toggle('only-problems', only.checked); });
  if (location.hash) show(location.hash.slice(1));
})();
"""


def _csp() -> str:
    digest = base64.b64encode(hashlib.sha256(JS.encode()).digest()).decode()
    return f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"


def render(site: Site, run: Run) -> str:
    ids = _Ids()
    detailed = {id(c) for h in site.hosts for c in h.cells.values() if len(site.hosts) <= FULL_DETAIL_HOSTS or c.verdict.problem}
    grids = "\n".join(_grid(group.role, group.checks, group.hosts, ids, detailed) for group in site.groups)
    details = "\n".join(
        _detail(ids.of(host, cell), host, cell) for host in site.hosts for cell in host.cells.values() if id(cell) in detailed
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{escape(_csp())}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pytest-smtpsec report: {_totals_text(site)}</title>
<style>{CSS}</style>
</head>
<body>
<header>
<h1>pytest-smtpsec report</h1>
<p class="meta">started {escape(run.started.isoformat(timespec="seconds"))} · {run.duration:.1f} s
 · exit status {run.exit_status} ({escape(run.exit_name)}) · pytest-smtpsec {escape(run.version)}</p>
{_totals(site)}
{_facts(site)}
<label><input type="checkbox" id="only-problems"> only hosts with findings</label>
</header>
<main class="layout">
<div class="grids">
{grids}
</div>
<aside class="panel" id="details" aria-live="polite">
<p id="hint">Click a cell to see the finding, the note, the fix and the SMTP transcript.</p>
{details}
</aside>
</main>
<script>{JS}</script>
</body>
</html>
"""


class _Ids:
    """Stable element ids for the cells: d-1, d-2, ... in grid order."""

    def __init__(self) -> None:
        self._ids: dict[tuple[str, str], str] = {}

    def of(self, host: Host, cell: Cell) -> str:
        return self._ids.setdefault((host.name, cell.check), f"d-{len(self._ids) + 1}")


def _totals_text(site: Site) -> str:
    shown = ", ".join(f"{n} {LABEL[v]}" for v, n in counts(site.records).items() if n)
    return escape(f"{len(site.hosts)} hosts, {shown}")


def _totals(site: Site) -> str:
    items = [f"<li><b>{len(site.hosts)}</b> hosts</li>", f"<li><b>{len(site.records)}</b> results</li>"]
    items += [f'<li class="v-{v.value}"><b>{n}</b> {LABEL[v]}</li>' for v, n in counts(site.records).items()]
    return f'<ul class="totals">{"".join(items)}</ul>'


def _facts(site: Site) -> str:
    """The note's closing advice for the whole site, then the hardening findings apart from the note's own."""
    cleartext = [f"{f.host.name} ({', '.join(f.services)})" for f in site.cleartext_auth]
    hardening = [f"{f.host.name} {f.cell.check} ({LABEL[f.cell.verdict]})" for f in site.findings(hardening=True)]
    facts = [
        (f"Hosts where mail ports answer: <b>{len(site.offering_mail)}</b> of {len(site.machines)}", [h.name for h in site.offering_mail]),
        (f"No-mail hosts listening on mail ports: <b>{len(site.listening_no_mail)}</b>", [h.name for h in site.listening_no_mail]),
        (f"Servers still allowing cleartext AUTH (auth policy 'migrate'): <b>{len(cleartext)}</b>", cleartext),
        (f"Hardening findings, beside the note: <b>{len(hardening)}</b>", hardening),
    ]
    return '<ul class="facts">' + "".join(f"<li>{fact}{_names(names)}</li>" for fact, names in facts) + "</ul>"


def _names(names: list[str]) -> str:
    return ": " + escape(", ".join(names)) if names else ""


def _grid(role: str, checks: tuple[str, ...], hosts: tuple[Host, ...], ids: _Ids, detailed: set[int]) -> str:
    hardening = {c for h in hosts for c, cell in h.cells.items() if cell.hardening}
    areas = {c: cell.area for h in hosts for c, cell in h.cells.items()}
    spans = "".join(
        f'<th class="span{" hardening" if area is Area.HARDENING else ""}" colspan="{n}">{escape(area.value)}</th>'
        for area, n in ((a, sum(1 for c in checks if areas[c] is a)) for a in dict.fromkeys(areas[c] for c in checks))
    )
    titles = {c: h.cells[c].records[0].title for h in hosts for c in h.cells}
    heads = "".join(
        f'<th class="check{" hardening" if c in hardening else ""}" scope="col" title="{escape(titles[c])}">{escape(c)}</th>'
        for c in checks
    )
    rows = []
    for host in hosts:
        cells = []
        for check in checks:
            cell = host.cells.get(check)
            if cell is None:
                cells.append('<td class="v-none" title="not run on this host">–</td>')
                continue
            where = f" ({', '.join(cell.services)})" if cell.services else ""
            tip = escape(f"{host.name} {check}{where}: {LABEL[cell.verdict]} — {cell.reason}")
            v = cell.verdict.value
            label = LABEL[cell.verdict]
            if id(cell) in detailed:
                cells.append(f'<td class="v-{v}"><a class="cell v-{v}" href="#{ids.of(host, cell)}" title="{tip}">{label}</a></td>')
            else:
                cells.append(f'<td class="v-{v}"><span class="cell v-{v}" title="{tip}">{label}</span></td>')
        rows.append(
            f'<tr class="{"clean" if host.clean else "problem"}"><th class="host" scope="row" title="{escape(host.address)}">'
            f'{escape(host.name)}</th><td class="num" title="connections">{host.connections}</td>{"".join(cells)}</tr>'
        )
    return (
        f'<table class="grid"><caption>{escape(role)} ({len(hosts)})</caption><thead>'
        f'<tr><th rowspan="2" class="host">host</th><th rowspan="2" class="num">conn</th>{spans}</tr>'
        f"<tr>{heads}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _detail(element_id: str, host: Host, cell: Cell) -> str:
    first = cell.records[0]
    parts = [
        f'<section class="detail" id="{element_id}">',
        f'<h2><span class="badge v-{cell.verdict.value}">{LABEL[cell.verdict]}</span> {escape(host.name)} · {escape(cell.check)}</h2>',
        f"<p>{escape(first.title)}{' <i>(hardening, beside the note)</i>' if first.hardening else ''}</p>",
    ]
    for record in cell.records:
        where = f"{record.service.value} ({record.address})" if record.service else record.address
        parts.append(f'<h3><span class="badge v-{record.verdict.value}">{LABEL[record.verdict]}</span> {escape(where)}</h3>')
        if record.findings:
            parts.append('<ul class="findings">' + "".join(f"<li>{escape(f)}</li>" for f in record.findings) + "</ul>")
        else:
            parts.append(f'<p class="reason">{escape(record.reason)}</p>')
        if record.transcript:
            opened = " open" if record.verdict is not Verdict.PASS else ""
            parts.append(f"<details{opened}><summary>SMTP transcript (secrets masked)</summary>")
            parts.append(f"<pre>{escape(record.transcript)}</pre></details>")
        parts.append(f'<p class="meta">{record.seconds:.3f} s · {escape(record.nodeid)}</p>')
    parts += [
        "<h3>The note</h3>",
        f"<blockquote>{escape(first.note)}</blockquote>",
        "<h3>Fix</h3>",
        f"<pre>{escape(first.fix)}</pre>",
        "</section>",
    ]
    return "\n".join(parts)


class HtmlReport(ReportFile):
    label = "HTML"

    def render(self, site: Site, run: Run) -> str:
        return render(site, run)
