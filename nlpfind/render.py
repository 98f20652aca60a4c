"""Render classified reports as text for people (rich table) and for scripts (JSON, JSONL, CSV)."""

from __future__ import annotations

import csv
import io
import json

from .classify import ClassifiedReport
from .segment import plain_text

POLARITY_STYLE = {"strength": ("✔ strength", "green"), "weakness": ("✘ improve", "red"),
                  "mixed": ("± mixed", "yellow"), "neutral": ("· neutral", "dim")}


def to_jsonl(report: ClassifiedReport) -> str:
    return "".join(json.dumps(f.as_dict(), ensure_ascii=False, sort_keys=False) + "\n" for f in report.findings)


def to_json(report: ClassifiedReport) -> str:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=2) + "\n"


CSV_COLUMNS = ("report", "index", "start", "end", "section", "statement", "statement_score", "polarity",
               "polarity_score", "quantifiers", "themes", "theme_scores", "text")


def to_csv(report: ClassifiedReport) -> str:
    """CSV_COLUMNS, and a last column `decided_by` where the model has a first pass."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    decided = any(f.decided_by for f in report.findings)
    w.writerow(CSV_COLUMNS + (("decided_by",) if decided else ()))
    for f in report.findings:
        w.writerow([f.report, f.index, f.start, f.end, f.section, f.statement,
                    f"{f.statement_scores.get(f.statement, 0):.3f}", f.polarity,
                    f"{f.polarity_scores.get(f.polarity, 0):.3f}",
                    "; ".join(f"{q.term} [{q.low}-{q.high}]: {q.text}" if q.low is not None else f"{q.term}: {q.text}"
                              for q in f.quantifiers),
                    "; ".join(f.themes), "; ".join(f"{f.theme_scores.get(t, 0):.3f}" for t in f.themes),
                    plain_text(f.text), *([f.decided_by] if decided else [])])
    return buf.getvalue()


def to_table(report: ClassifiedReport, statement_titles: dict[str, str], width: int | None = None,
             show_neutral: bool = False, color: bool = True) -> str:
    """Findings grouped by statement, strengths and areas for improvement distinct, quantifiers highlighted
    (`color`: terminal colours and styles; without, plain text for a file)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=io.StringIO(), width=width or 120, force_terminal=color,
                      color_system="truecolor" if color else None, highlight=False)
    console.print(Text(f"{report.report}  ({len(report.findings)} sentences, framework {report.framework})",
                       style="bold"))
    order = list(statement_titles) + ["none"]
    for sid in order:
        rows = [f for f in report.findings if f.statement == sid and (show_neutral or f.polarity != "neutral")]
        if not rows:
            continue
        title = f"Statement {sid}: {statement_titles[sid]}" if sid in statement_titles else "Not tied to a statement"
        table = Table(title=title, title_justify="left", show_lines=False, expand=True)
        table.add_column("#", justify="right", style="dim", no_wrap=True)
        table.add_column("finding", ratio=6)
        table.add_column("polarity", no_wrap=True)
        table.add_column("quantifiers", ratio=1)
        table.add_column("themes", ratio=2, style="cyan")
        rank = {"strength": 0, "mixed": 1, "weakness": 2, "neutral": 3}
        for f in sorted(rows, key=lambda f: (rank[f.polarity], f.index)):
            text = Text(plain_text(f.text))
            clean = text.plain
            for q in f.quantifiers:
                at = clean.lower().find(q.text.lower())
                if at >= 0:
                    text.stylize("bold magenta underline", at, at + len(q.text))
            label, style = POLARITY_STYLE[f.polarity]
            quants = ", ".join(f"{q.term} ({q.low}–{q.high}%)" if q.low is not None else q.term for q in f.quantifiers)
            table.add_row(str(f.index), text, Text(label, style=style), quants, ", ".join(f.themes))
        console.print(table)
    summary = Table(title="Summary by statement", title_justify="left")
    for col in ("statement", "strengths", "areas for improvement", "mixed", "neutral", "quantifiers cited"):
        summary.add_column(col)
    for sid, row in report.summary().items():
        quants = ", ".join(f"{t} ×{n}" for t, n in sorted(row["quantifiers"].items()))
        summary.add_row(sid, Text(str(row["strength"]), style="green"), Text(str(row["weakness"]), style="red"),
                        str(row["mixed"]), str(row["neutral"]), quants)
    console.print(summary)
    return console.file.getvalue()
