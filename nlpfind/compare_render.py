"""Views of a Comparison: JSON (the contract), CSV, a terminal table (rich) and a self-contained HTML heatmap."""

from __future__ import annotations

import csv
import html
import io
import json

from .compare import Cell, ComparedTheme, Comparison
from .segment import plain_text

CSV_COLUMNS = ("rank", "theme_id", "theme_label", "seeded", "partnership", "strength", "weakness", "net",
               "quantifiers", "refs")


#: above this many findings the JSON is written compact: json's C encoder only runs without indent
#: (7.5 s against about 1.5 s for 180,000 findings)
INDENT_LIMIT = 20_000


def to_json(comparison: Comparison) -> str:
    """`{"partnerships": [...], "themes": [...]}`; themes ordered by the partnerships they touch.
    Indented for reading, or compact for more than INDENT_LIMIT findings."""
    indent = 2 if len(comparison.quotes) <= INDENT_LIMIT else None
    return json.dumps(comparison.as_dict(), ensure_ascii=False, indent=indent) + "\n"


def to_csv(comparison: Comparison) -> str:
    """One row per non-empty partnership x theme cell, themes in rank order, partnerships sorted."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for rank, theme in enumerate(comparison.themes, start=1):
        for c in theme.cells:
            w.writerow([rank, theme.id, theme.label, str(theme.seeded).lower(), c.partnership, c.strength, c.weakness,
                        c.strength - c.weakness, "; ".join(c.quantifiers),
                        "; ".join(f"{q.report}:{q.start}-{q.end}" for q in c.quotes)])
    return buf.getvalue()


def _names(names: tuple[str, ...], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" +{len(names) - limit} more" if len(names) > limit else "")


def to_table(comparison: Comparison, width: int | None = None, color: bool = True) -> str:
    """Recurring areas for improvement and strengths, most widely shared first, and the discovered themes."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=io.StringIO(), width=width or 120, force_terminal=color, color_system="truecolor"
                      if color else None, highlight=False)
    s = comparison.stats
    console.print(Text(f"{len(comparison.partnerships)} partnerships, {len(comparison.themes)} themes "
                       f"({sum(not t.seeded for t in comparison.themes)} discovered), {s.get('findings', 0)} findings, "
                       f"{s.get('unassigned', 0)} without a theme", style="bold"))
    for title, themes, side, style in (
            ("Recurring areas for improvement", comparison.recurring_improvements(), "weakness", "red"),
            ("Recurring strengths", comparison.recurring_strengths(), "strength", "green")):
        table = Table(title=title, title_justify="left", expand=True, title_style=f"bold {style}")
        table.add_column("#", justify="right", style="dim", no_wrap=True)
        table.add_column("theme", ratio=3)
        table.add_column("partnerships", justify="right", no_wrap=True)
        table.add_column("findings", justify="right", no_wrap=True)
        table.add_column("which", ratio=5)
        for i, t in enumerate(themes, start=1):
            who = t.weakness_partnerships if side == "weakness" else t.strength_partnerships
            n = sum(getattr(c, side) for c in t.cells)
            label = Text(t.label, style="" if t.seeded else "italic cyan")
            if not t.seeded:
                label.append(" (new)", style="dim")
            table.add_row(str(i), label, Text(str(len(who)), style=style), str(n), _names(who))
        if not themes:
            table.add_row("", Text("none", style="dim"), "", "", "")
        console.print(table)
    found = [t for t in comparison.themes if not t.seeded]
    if found:
        table = Table(title="Discovered themes", title_justify="left", expand=True)
        table.add_column("theme", ratio=2, style="italic cyan")
        table.add_column("key terms", ratio=2)
        table.add_column("representative finding", ratio=5)
        for t in found:
            rep = t.representatives[0] if t.representatives else None
            quote = plain_text(rep.text) if rep else ""
            table.add_row(t.label, ", ".join(t.terms), (quote[:160] + "…") if len(quote) > 160 else quote)
        console.print(table)
    return console.file.getvalue()


# -- HTML ------------------------------------------------------------------------------------------
def _colour(cell: Cell, scale: int) -> str:
    """Red (areas for improvement) through amber (balanced) to green (strengths); stronger with more findings."""
    s, w = cell.strength, cell.weakness
    net = (s - w) / max(1, s + w)
    red, amber, green = (200, 40, 40), (235, 170, 40), (30, 140, 70)
    a, b = (amber, red) if net < 0 else (amber, green)
    t = abs(net) ** 0.5  # mostly one-sided cells read as that side
    base = [a[k] + (b[k] - a[k]) * t for k in range(3)]
    strength = 0.35 + 0.65 * min(1.0, (s + w) / max(1, scale))
    rgb = [round(255 + (base[k] - 255) * strength) for k in range(3)]
    return "#" + "".join(f"{v:02x}" for v in rgb)


def _data(comparison: Comparison) -> dict:
    index = {(q.report, q.start, q.end): i for i, q in enumerate(comparison.quotes)}
    pindex = {p: i for i, p in enumerate(comparison.partnerships)}
    cells = {}
    for ti, t in enumerate(comparison.themes):
        for c in t.cells:
            cells[f"{ti},{pindex[c.partnership]}"] = [c.strength, c.weakness, list(c.quantifiers),
                                                       [index[(q.report, q.start, q.end)] for q in c.quotes]]
    return {
        "p": list(comparison.partnerships),
        "t": [{"id": t.id, "label": t.label, "seeded": t.seeded, "description": t.description,
               "terms": list(t.terms), "reps": [index[(q.report, q.start, q.end)] for q in t.representatives]}
              for t in comparison.themes],
        "q": [[q.report, q.start, q.end, q.text, q.polarity, [list(x) for x in q.quantifiers]]
              for q in comparison.quotes],
        "c": cells,
    }


def _script_json(obj: dict) -> str:
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _theme_list(themes: list[ComparedTheme], side: str, limit: int = 10) -> str:
    if not themes:
        return "<p class='none'>none</p>"
    items = []
    for t in themes[:limit]:
        who = t.weakness_partnerships if side == "weakness" else t.strength_partnerships
        tag = "" if t.seeded else " <span class='new'>new</span>"
        items.append(f"<li><b>{html.escape(t.label)}</b>{tag} <span class='n'>{len(who)} partnership"
                     f"{'s' if len(who) != 1 else ''}</span></li>")
    return "<ol>" + "".join(items) + "</ol>"


def to_html(comparison: Comparison, title: str = "nlpfind compare") -> str:
    """A self-contained page (inline CSS and JS, nothing fetched): the partnership x theme heatmap;
    a click on a cell (or #cell=THEME-ID/PARTNERSHIP in the URL) shows its quotes, quantifiers marked."""
    themes = comparison.themes
    scale = max([c.strength + c.weakness for t in themes for c in t.cells] or [1])
    scale = max(1, min(scale, 6))
    head = ["<tr><th class='corner' scope='col'>partnership \\ theme</th>"]
    for ti, t in enumerate(themes):
        cls = "th" + ("" if t.seeded else " disc")
        head.append(f"<th class='{cls}' scope='col' data-t='{ti}' title='{html.escape(t.label, quote=True)}'>"
                    f"<div><span>{html.escape(t.label)}{'' if t.seeded else ' ✦'}</span>"
                    f" <small>{len(t.cells)}</small></div></th>")
    head.append("</tr>")
    rows = []
    for pi, p in enumerate(comparison.partnerships):
        tds = [f"<th scope='row' class='pname' title='{html.escape(p, quote=True)}'>{html.escape(p)}</th>"]
        for ti, t in enumerate(themes):
            c = t.cell(p)
            if c is None:
                tds.append("<td></td>")
                continue
            tip = f"{p} / {t.label}: {c.strength} strength, {c.weakness} for improvement"
            tds.append(f"<td class='c' id='c{ti}-{pi}' data-t='{ti}' data-p='{pi}' tabindex='0' "
                       f"style='background:{_colour(c, scale)}' title='{html.escape(tip, quote=True)}'>"
                       f"{c.strength}·{c.weakness}</td>")
        rows.append("<tr>" + "".join(tds) + "</tr>")
    s = comparison.stats
    n_disc = sum(not t.seeded for t in themes)
    summary = (f"{len(comparison.partnerships)} partnerships · {len(themes)} themes ({n_disc} discovered ✦) · "
               f"{s.get('findings', 0)} findings · {s.get('unassigned', 0)} without a theme")
    return _PAGE.format(
        title=html.escape(title), summary=html.escape(summary),
        weak=_theme_list(comparison.recurring_improvements(), "weakness"),
        strong=_theme_list(comparison.recurring_strengths(), "strength"),
        head="".join(head), rows="\n".join(rows), data=_script_json(_data(comparison)),
        css=_CSS, js=_JS)


_CSS = """
*{box-sizing:border-box}
body{margin:0;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1d2228;background:#f6f7f9}
header{padding:12px 18px;background:#24374f;color:#fff}
header h1{margin:0;font-size:19px}
header p{margin:4px 0 0;color:#d5deea}
.lists{display:flex;gap:18px;padding:10px 18px;flex-wrap:wrap}
.lists section{flex:1 1 340px;background:#fff;border:1px solid #d9dee5;border-radius:6px;padding:8px 14px}
.lists h2{font-size:15px;margin:4px 0}
.lists ol{margin:4px 0 4px 18px;padding:0}
.lists .n{color:#5b6776;font-size:12px}
h2.weak{color:#a32222} h2.strong{color:#1c6b3a}
.new{font-size:11px;background:#dbe9ff;color:#1f4e8c;border-radius:3px;padding:0 4px}
.legend{display:flex;align-items:center;gap:10px;padding:0 18px 8px;color:#444;font-size:12px}
.legend i{display:inline-block;width:18px;height:14px;border:1px solid #0002;vertical-align:middle}
.wrap{margin:0 18px 18px;overflow:auto;max-height:calc(100vh - 40px);border:1px solid #cfd5dd;background:#fff}
table{border-collapse:separate;border-spacing:0}
th,td{border-right:1px solid #e3e7ec;border-bottom:1px solid #e3e7ec}
thead th{position:sticky;top:0;z-index:2;background:#eef1f5;vertical-align:bottom}
thead th.th{height:210px;width:34px;min-width:34px;max-width:34px;padding:4px 1px;cursor:pointer}
thead th.th div{writing-mode:vertical-rl;transform:rotate(180deg);white-space:normal;overflow:hidden;
 max-height:200px;max-width:32px;font-weight:600;font-size:11px;line-height:1.15;margin:0 auto;text-align:left}
thead th.th small{color:#5b6776;font-weight:400;padding-top:4px}
thead th.disc div{font-style:italic;color:#1f4e8c}
th.corner{left:0;z-index:3;text-align:left;font-size:12px;color:#5b6776;min-width:190px;padding:6px}
th.pname{position:sticky;left:0;z-index:1;background:#fafbfc;text-align:left;font-weight:500;white-space:nowrap;
 padding:3px 8px;max-width:230px;overflow:hidden;text-overflow:ellipsis}
td{width:34px;min-width:34px;height:24px;text-align:center;font-size:11px;color:#1d2228}
td.c{cursor:pointer}
td.c:hover,td.c:focus,td.sel{outline:2px solid #24374f;outline-offset:-2px}
tbody tr:hover th.pname{background:#e8eef7}
#panel{position:fixed;top:0;right:0;bottom:0;width:min(460px,92vw);background:#fff;border-left:2px solid #24374f;
 box-shadow:-4px 0 14px #0003;overflow:auto;padding:12px 16px;z-index:10}
#panel[hidden]{display:none}
#panel h2{font-size:16px;margin:0 28px 6px 0}
#panel .meta{color:#5b6776;font-size:12px;margin-bottom:8px}
#close{position:absolute;top:8px;right:10px;border:0;background:none;font-size:20px;cursor:pointer}
.quote{border-left:4px solid #999;margin:0 0 10px;padding:6px 10px;background:#f8f9fb}
.quote.strength{border-color:#1e8c46}.quote.weakness{border-color:#c82828}.quote.mixed{border-color:#e6a628}
.quote .pol{font-size:11px;text-transform:uppercase;letter-spacing:.04em;color:#5b6776}
.quote .ref{font-size:11px;color:#7a8594}
mark.quant{background:#ffe36b;font-weight:600;padding:0 1px}
"""

_JS = r"""
(function(){
  var D = JSON.parse(document.getElementById('data').textContent);
  var panel = document.getElementById('panel');
  var body = document.getElementById('panel-body');
  var title = document.getElementById('panel-title');
  var meta = document.getElementById('panel-meta');
  var POL = {strength:'strength', weakness:'area for improvement', mixed:'mixed'};
  function el(tag, cls, text){ var e=document.createElement(tag); if(cls) e.className=cls;
    if(text!==undefined) e.textContent=text; return e; }
  function quote(i){
    var q = D.q[i], box = el('blockquote', 'quote ' + q[4]);
    box.appendChild(el('div', 'pol', POL[q[4]] || q[4]));
    var p = el('p', 'text'), text = q[3], at = 0;
    q[5].forEach(function(m){ if(m[0] < at) return;
      p.appendChild(document.createTextNode(text.slice(at, m[0])));
      var mk = el('mark', 'quant', text.slice(m[0], m[1])); mk.title = m[2]; p.appendChild(mk); at = m[1]; });
    p.appendChild(document.createTextNode(text.slice(at)));
    box.appendChild(p);
    box.appendChild(el('div', 'ref', q[0] + ' · characters ' + q[1] + '–' + q[2]));
    return box;
  }
  function clearSel(){
    var s = document.querySelectorAll('td.sel'); for(var i = 0; i < s.length; i++) s[i].classList.remove('sel'); }
  function show(ti, pi){
    var c = D.c[ti + ',' + pi], t = D.t[ti];
    if(!c || !t) return false;
    clearSel(); var td = document.getElementById('c' + ti + '-' + pi); if(td) td.classList.add('sel');
    title.textContent = D.p[pi] + ' — ' + t.label;
    meta.textContent = c[0] + ' strength, ' + c[1] + ' for improvement' +
      (c[2].length ? ' · quantifiers: ' + c[2].join(', ') : '') + (t.seeded ? '' : ' · discovered theme');
    body.textContent = ''; c[3].forEach(function(i){ body.appendChild(quote(i)); });
    panel.hidden = false; return true;
  }
  function showTheme(ti){
    var t = D.t[ti]; if(!t) return false;
    clearSel(); title.textContent = t.label;
    meta.textContent = (t.seeded ? 'seeded theme' : 'discovered theme · key terms: ' + t.terms.join(', ')) +
      (t.description ? ' · ' + t.description : '');
    body.textContent = '';
    var good = [], bad = [];
    D.p.forEach(function(p, pi){ var c = D.c[ti + ',' + pi]; if(c && c[0]) good.push(p); if(c && c[1]) bad.push(p); });
    body.appendChild(el('p', 'who', 'Strengths in ' + good.length + ': ' + (good.join(', ') || 'none')));
    body.appendChild(el('p', 'who', 'For improvement in ' + bad.length + ': ' + (bad.join(', ') || 'none')));
    if(t.reps.length){ body.appendChild(el('div', 'meta', 'Representative findings')); }
    t.reps.forEach(function(i){ body.appendChild(quote(i)); });
    panel.hidden = false; return true;
  }
  function fromHash(){
    var h = decodeURIComponent(location.hash.replace(/^#/, ''));
    var m = /^cell=([^/]+)\/(.+)$/.exec(h), n = /^theme=(.+)$/.exec(h);
    if(m){ var ti = D.t.findIndex(function(t){ return t.id === m[1]; }), pi = D.p.indexOf(m[2]);
      if(show(ti, pi)) return; }
    if(n){ var tj = D.t.findIndex(function(t){ return t.id === n[1]; }); if(showTheme(tj)) return; }
    panel.hidden = true; clearSel();
  }
  document.getElementById('matrix').addEventListener('click', function(ev){
    var td = ev.target.closest('td.c'), th = ev.target.closest('th.th');
    if(td){ location.hash = 'cell=' + encodeURIComponent(D.t[+td.dataset.t].id) + '/' +
      encodeURIComponent(D.p[+td.dataset.p]); }
    else if(th){ location.hash = 'theme=' + encodeURIComponent(D.t[+th.dataset.t].id); }
  });
  document.getElementById('matrix').addEventListener('keydown', function(ev){
    if(ev.key === 'Enter' && ev.target.matches('td.c')) ev.target.click(); });
  document.getElementById('close').addEventListener('click', function(){
    history.replaceState(null, '', location.pathname + location.search); fromHash(); });
  document.addEventListener('keydown', function(ev){ if(ev.key === 'Escape'){ panel.hidden = true; clearSel(); } });
  window.addEventListener('hashchange', fromHash);
  fromHash();
})();
"""

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<header><h1>Recurring themes across partnership reports</h1><p>{summary}</p></header>
<div class="lists">
<section><h2 class="weak">Recurring areas for improvement</h2>{weak}</section>
<section><h2 class="strong">Recurring strengths</h2>{strong}</section>
</div>
<div class="legend">Cell: strengths · areas for improvement.
<span><i style="background:#1e8c46"></i> mostly strengths</span>
<span><i style="background:#e6a628"></i> balanced</span>
<span><i style="background:#c82828"></i> mostly for improvement</span>
<span>Paler = fewer findings. Click a cell for its quotes, a theme for its description. ✦ discovered theme.</span></div>
<div class="wrap"><table id="matrix"><thead>{head}</thead><tbody>
{rows}
</tbody></table></div>
<aside id="panel" hidden><button id="close" type="button" aria-label="close">×</button>
<h2 id="panel-title"></h2><div class="meta" id="panel-meta"></div><div id="panel-body"></div></aside>
<script type="application/json" id="data">{data}</script>
<script>{js}</script>
</body>
</html>
"""
