"""`nlpfind compare`: recurring themes across partnership reports (registered on the main app by cli.py).

Only typer is imported here; the library (model, embeddings, rich) loads inside the command.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path

import typer


class CompareFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    html = "html"


class OnError(StrEnum):
    skip = "skip"
    stop = "stop"


def _format_for(fmt: CompareFormat | None, out: Path | None) -> CompareFormat:
    """--format, else the --out suffix (.json, .csv, .html), else table on a terminal and json otherwise."""
    if fmt is not None:
        return fmt
    if out is not None:
        suffix = Path(out).suffix.lower().lstrip(".")
        if suffix == "htm":
            suffix = "html"
        if suffix in ("json", "csv", "html"):
            return CompareFormat(suffix)
    return CompareFormat.table if sys.stdout.isatty() and out is None else CompareFormat.json


def compare(
    reports: list[str] = typer.Argument(None, help="Report files (.txt, .pdf, .docx, .html); at least two."),
    directory: Path = typer.Option(None, "--dir", "-d", help="Compare every report file in this folder "
                                   "(.txt, .pdf, .docx, .html; not recursive)."),
    manifest: Path = typer.Option(None, "--manifest", help="CSV with columns file, partnership (or area), year: "
                                  "names each report's partnership, overriding the name found in the report."),
    format: CompareFormat = typer.Option(None, "--format", "-f", help="Output format; default: from --out's "
                                         "suffix, else table on a terminal and json otherwise."),
    out: Path = typer.Option(None, "--out", "-o", help="Write to this file (atomically) instead of stdout."),
    min_partnerships: int = typer.Option(1, "--min-partnerships", min=1, help="Keep themes that touch at least "
                                         "this many partnerships."),
    on_error: OnError = typer.Option(OnError.skip, "--on-error", help="An unreadable report: skip it with a "
                                     "warning, or stop with nothing written."),
    model: Path = typer.Option(None, "--model", "-m", help="Model folder; default: models/default."),
    merge: bool = typer.Option(False, "--merge", help="Combine reports that name the same partnership "
                               "(default: stop and say which)."),
    no_cache: bool = typer.Option(False, "--no-cache",
                                  help="Do not read or write the cache (sentence embeddings and classified reports)."),
    workers: int = typer.Option(None, "--workers", min=1, help="Processes that classify reports; default: one per "
                                "CPU (used from 4 uncached reports per process); 1 = this process only."),
) -> None:
    """Recurring strengths and areas for improvement across partnership reports, by theme."""
    from .cli import fail, write_output
    from .errors import NlpfindError

    fmt = _format_for(format, out)
    say = (lambda m: typer.echo(f"… {m}", err=True)) if sys.stderr.isatty() else None
    try:
        from .compare import compare_reports, report_paths

        paths = report_paths(reports or [], directory)
        if not paths:
            fail("give at least two report files, or --dir DIR")
        result = compare_reports(paths, manifest=manifest, min_partnerships=min_partnerships,
                                 on_error=on_error.value, progress=say, model=model, merge=merge,
                                 use_cache=not no_cache, workers=workers,
                                 warn=lambda m: typer.echo(f"nlpfind: warning: {m}", err=True))
    except NlpfindError as exc:
        fail(str(exc))
    from . import compare_render as views

    if fmt is CompareFormat.json:
        text = views.to_json(result)
    elif fmt is CompareFormat.csv:
        text = views.to_csv(result)
    elif fmt is CompareFormat.html:
        text = views.to_html(result)
    else:
        text = views.to_table(result, color=sys.stdout.isatty() and out is None)
    write_output(text, out)


def register(app: typer.Typer) -> None:
    """Add the `compare` command to `app`."""
    app.command("compare")(compare)
