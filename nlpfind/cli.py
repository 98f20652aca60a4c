"""Command-line interface: a thin typer layer over the nlpfind library.

Library errors (NlpfindError) become one line on stderr and exit code 2. Heavy libraries
(torch, sentence-transformers, datasets, spaCy) load inside the commands that need them, so
`nlpfind --help` answers at once.
"""

from __future__ import annotations

import importlib.abc
import os
import sys
import tempfile
from enum import StrEnum
from pathlib import Path

import typer

from .errors import NlpfindError

app = typer.Typer(
    name="nlpfind",
    help="Tag, compare and retrain on the findings of joint inspection reports "
         "(services for children and young people at risk of harm).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class ReportFormat(StrEnum):
    table = "table"
    jsonl = "jsonl"
    json = "json"
    csv = "csv"


def fail(message: str, code: int = 2) -> None:
    """Print one line to stderr and exit."""
    typer.echo(f"nlpfind: {message}", err=True)
    raise typer.Exit(code)


def write_output(text: str, out: Path | None) -> None:
    """Write to stdout, or atomically to `out` (a failed run leaves no partial file)."""
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    out = Path(out)
    if out.is_dir():
        fail(f"{out}: --out is a directory; give a file path")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _progress_enabled() -> bool:
    return sys.stderr.isatty()


class progress_counter:
    """A spinner with a running count on stderr, shown only when stderr is a terminal."""

    def __init__(self, what: str, unit: str) -> None:
        self.what, self.unit, self.progress, self.task = what, unit, None, None

    def __enter__(self):
        if not _progress_enabled():
            return lambda n: None
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.progress = Progress(SpinnerColumn(), TextColumn(f"{self.what} {{task.completed}} {self.unit}"),
                                 TimeElapsedColumn(), console=Console(stderr=True), transient=True)
        self.progress.start()
        self.task = self.progress.add_task(self.what, total=None)
        return lambda n: self.progress.advance(self.task, n)

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.stop()


@app.command()
def classify(
    report: str = typer.Argument(..., help="Report file (.txt in any common encoding, .pdf, .docx, .html), or - for stdin."),
    format: ReportFormat = typer.Option(None, "--format", "-f", help="Output format; default: table on a terminal, else jsonl."),
    out: Path = typer.Option(None, "--out", "-o", help="Write to this file (atomically) instead of stdout."),
    model: Path = typer.Option(None, "--model", "-m", help="Model folder; default: the model shipped in models/default."),
    lines: bool = typer.Option(False, "--lines", help="Treat each non-empty input line as one sentence (no segmentation)."),
    framework: str = typer.Option(None, "--framework", help="Framework id in configs/ or a .toml path; default: the model's."),
    show_neutral: bool = typer.Option(False, "--show-neutral", help="Table format: also list neutral sentences."),
) -> None:
    """Tag every sentence of a report by statement, strength/weakness, quantifier and theme."""
    from .classify import Classifier, classify_file
    from .render import to_csv, to_json, to_jsonl, to_table

    fmt = format or (ReportFormat.table if sys.stdout.isatty() and out is None else ReportFormat.jsonl)
    try:
        classifier = Classifier(model, framework)
        with progress_counter("classifying", "sentences") as advance:
            result = classify_file(report, classifier, lines=lines, progress=advance)
    except NlpfindError as exc:
        fail(str(exc))
    if fmt is ReportFormat.table:
        titles = {s.id: s.short for s in classifier.framework.statements}
        text = to_table(result, titles, show_neutral=show_neutral, color=sys.stdout.isatty() and out is None)
    elif fmt is ReportFormat.json:
        text = to_json(result)
    elif fmt is ReportFormat.csv:
        text = to_csv(result)
    else:
        text = to_jsonl(result)
    write_output(text, out)


@app.command()
def train(
    corpus: Path = typer.Option(None, "--corpus", help="Corpus folder (manifest.csv + labels/); default: corpus/."),
    reports: list[Path] = typer.Option(None, "--reports", help="Folder(s) holding the report files the labels point into."),
    out: Path = typer.Option(None, "--out", "-o", help="Model folder to write (atomically); default: models/default."),
    config: Path = typer.Option(None, "--config", help="Training settings; default: configs/train.toml."),
    cross_validate: bool = typer.Option(True, "--cross-validate/--no-cross-validate",
                                        help="Record grouped cross-validation metrics in the model card."),
) -> None:
    """Train the statement, polarity and theme models on a labelled corpus."""
    from .train import train as train_model

    try:
        result = train_model(corpus, reports, out, config, progress=_say, cross_validate=cross_validate)
    except NlpfindError as exc:
        fail(str(exc))
    typer.echo(f"trained on {result.sentences} sentences from {result.reports} reports "
               f"(data hash {result.data_hash}); model saved to {result.path}")


@app.command()
def evaluate(
    model: Path = typer.Option(None, "--model", "-m", help="Model folder whose training settings are evaluated; "
                               "default: configs/train.toml."),
    corpus: Path = typer.Option(None, "--corpus", help="Corpus folder; default: corpus/."),
    reports: list[Path] = typer.Option(None, "--reports", help="Folder(s) holding the report files."),
    config: Path = typer.Option(None, "--config", help="Training settings to evaluate (overrides --model's)."),
    folds: int = typer.Option(5, "--folds", min=2, help="Number of folds, grouped by partnership."),
    results: Path = typer.Option(Path("eval/RESULTS.md"), "--results", help="Markdown file to write the results section to."),
    format: ReportFormat = typer.Option(ReportFormat.table, "--format", "-f", help="table or json on stdout."),
) -> None:
    """Cross-validate by partnership against majority, TF-IDF and MiniLM baselines.

    Each metric comes with a 95% interval from 1,000 bootstrap resamples of the held-out partnerships (of the
    sentences, for a single whole report), and nlpfind's margin over each baseline with a paired interval.
    A config that fine-tunes the encoder (polarity_finetune_layers, as configs/train-tuned.toml) fine-tunes a
    fresh one in every fold, on that fold's training sentences: minutes a fold on a CPU.
    """
    import datetime
    import json

    from .evaluate import evaluate as run_evaluation
    from .evaluate import results_markdown, update_results_file

    try:
        cfg = _config_for(model, config)
        result = run_evaluation(corpus, reports, config, folds=folds, progress=_say, config=cfg)
    except NlpfindError as exc:
        fail(str(exc))
    command = "nlpfind evaluate " + " ".join(sys.argv[2:])
    section, title = results_section(model, config)
    update_results_file(results, section, results_markdown(result, command.strip(), cfg, title=title,
                                                           measured=datetime.date.today().isoformat()))
    spans = {s.name: s.intervals.get(result.primary, {}) for s in result.systems}
    if format is ReportFormat.json:
        typer.echo(json.dumps({s.name: {**s.metrics, **{f"{k}_interval": [round(lo, 4), round(hi, 4)]
                                                        for k, (lo, hi) in spans[s.name].items()}}
                               | ({"deferred": round(s.deferred, 4)} if s.deferred is not None else {})
                               for s in result.systems}, indent=2))
        return
    keys = ("strength_f1", "weakness_f1", "statement_macro_f1", "themes_micro_f1")
    typer.echo(f"{'system':<12}" + "".join(f"{k:>22}" for k in keys))
    for s in result.systems:
        typer.echo(f"{s.name:<12}" + "".join(
            f"{s.metrics[k]:.3f} ({spans[s.name][k][0]:.3f}-{spans[s.name][k][1]:.3f})".rjust(22)
            if k in spans[s.name] else f"{s.metrics[k]:>22.3f}" for k in keys))
    if (deferred := result.systems[-1].deferred) is not None:
        typer.echo(f"nlpfind's first pass ({cfg.first_pass}) left {deferred:.1%} of the sentences to its second model")
    unit, n_units = result.interval_units.get(result.primary, ("", 0))
    typer.echo(f"on the {result.primary} sentences; in brackets the 95% bootstrap interval ({n_units} {unit} "
               f"resampled); written to {results}")


def results_section(model: Path | None, config: Path | None) -> tuple[str, str | None]:
    """The RESULTS.md section an evaluation writes and the name its heading gives: the default's (no name), or one
    named after the config or model evaluated (so evaluating another model does not replace the default's results)."""
    from .classify import DEFAULT_MODEL_DIR

    if config is not None:
        return f"sentence-models-{Path(config).stem}", str(config)
    if model is not None and Path(model).resolve() != DEFAULT_MODEL_DIR:
        return f"sentence-models-{Path(model).resolve().name}", Path(model).resolve().name
    return "sentence-models", None


def _config_for(model: Path | None, config: Path | None):
    from .config import TrainConfig, load_train_config

    if config is not None or model is None:
        return load_train_config(config)
    from .classify import FindingModel

    meta = FindingModel.from_disk(model).meta
    known = set(TrainConfig.__dataclass_fields__) - {"extra"}
    return TrainConfig(**{k: v for k, v in meta.get("train_config", {}).items() if k in known})


@app.command()
def label(
    report: str = typer.Argument(..., help="Report file to label."),
    corpus: Path = typer.Option(None, "--corpus", help="Corpus folder to append labels to; default: corpus/."),
    model: Path = typer.Option(None, "--model", "-m", help="Model whose predictions are prefilled."),
    annotator: str = typer.Option(os.environ.get("USER", ""), "--annotator", help="Your name, stored with each label."),
    partnership: str = typer.Option(None, "--partnership", help="Partnership name for the corpus manifest."),
) -> None:
    """Label a new report in the terminal, least certain sentences first; answers are saved as you go."""
    from .label import LabelSession, run_terminal_loop

    try:
        session = LabelSession.start(report, corpus, model, annotator=annotator, partnership=partnership)
    except NlpfindError as exc:
        fail(str(exc))
    try:
        done = run_terminal_loop(session, input_fn=input, echo=typer.echo)
    except (KeyboardInterrupt, EOFError):
        typer.echo(f"\nstopped; {session.answered} answers saved to {session.label_file}", err=True)
        raise typer.Exit(130) from None
    typer.echo(f"{done} answers saved to {session.label_file}; run 'nlpfind train' to retrain")


@app.command()
def agreement(
    a: Path = typer.Argument(..., help="First label file (.jsonl)."),
    b: Path = typer.Argument(..., help="Second label file over the same sentences."),
    format: ReportFormat = typer.Option(ReportFormat.table, "--format", "-f", help="table or json."),
) -> None:
    """Cohen's kappa per label (statement, polarity, each theme) for two label files, with 95% intervals."""
    import json

    from .label import agreement as compute

    try:
        result = compute(a, b)
    except NlpfindError as exc:
        fail(str(exc))
    if format is ReportFormat.json:
        typer.echo(json.dumps(result, indent=2))
        return
    typer.echo(f"{result['sentences']} shared sentences (kappa's 95% interval from 1,000 resamples of them)")
    for name, row in result["labels"].items():
        kappa = "n/a" if row["kappa"] is None else f"{row['kappa']:.3f}"
        span = f"({row['interval'][0]:.2f} to {row['interval'][1]:.2f})" if row["interval"] else ""
        typer.echo(f"{name:<28} kappa {kappa:>6} {span:<16} agreement {row['agreement']:.3f}")


@app.command()
def cache(
    clear: bool = typer.Option(False, "--clear", help="Delete the cached embeddings, findings and themes (rebuilt "
                                                      "when next needed); other files in the folder stay."),
    format: ReportFormat = typer.Option(ReportFormat.table, "--format", "-f", help="table, json, jsonl or csv."),
) -> None:
    """Show what nlpfind's caches hold ($NLPFIND_CACHE, default ~/.cache/nlpfind), or clear them.

    compare and train keep sentence embeddings, classified reports and compare's theme assignments there,
    keyed by content, so a second run is fast; entries from older models or versions are never used again but stay until cleared.
    """
    import csv
    import io
    import json

    from .cache import cache_dir, cache_usage, clear_cache

    try:
        entries = clear_cache() if clear else cache_usage()
    except (NlpfindError, OSError) as exc:
        fail(str(exc) if isinstance(exc, NlpfindError) else f"{cache_dir()}: {exc.strerror or exc}")
    rows = [e.as_dict() for e in entries]
    if format is ReportFormat.json:
        typer.echo(json.dumps({"folder": str(cache_dir()), "cleared": clear, "caches": rows}, indent=2))
    elif format is ReportFormat.jsonl:
        typer.echo("".join(json.dumps(r) + "\n" for r in rows), nl=False)
    elif format is ReportFormat.csv:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=["kind", "name", "files", "bytes"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        typer.echo(buf.getvalue(), nl=False)
    else:
        for r in rows:
            typer.echo(f"{r['kind']:<11} {r['name']:<40} {r['files']:>7} files {r['bytes'] / 2**20:>9.1f} MB")
        total = sum(r["bytes"] for r in rows) / 2**20
        typer.echo(f"{'cleared' if clear else 'total'} {total:.1f} MB in {cache_dir()}")


def _register_extra_commands() -> None:
    from .cli_compare import register

    register(app)


_register_extra_commands()


def _say(message: str) -> None:
    if _progress_enabled():
        typer.echo(f"… {message}", err=True)


class _TorchHiddenFromThinc(importlib.abc.MetaPathFinder):
    """Makes thinc's optional `import torch` (run when spaCy is imported) find no torch.

    thinc, under spaCy, loads torch whenever it is installed, for torch-backed spaCy models that nlpfind's blank
    pipeline never runs: 2 s of a fast classify's 4 s start and 180 MB of every process (each compare worker's
    too, as they import spaCy after the fork). Any other import of torch (sentence-transformers, fine-tuning)
    finds it as usual. Installed by main() only: a library must not hide a package from its user's process."""

    def find_spec(self, fullname: str, path=None, target=None) -> None:
        if fullname == "torch" and _importing_module("thinc.compat"):
            raise ModuleNotFoundError("torch is not loaded for spaCy in nlpfind's command line", name="torch")
        return None


def _importing_module(name: str) -> bool:
    """Whether module `name`'s own code is on the call stack (being imported, for a module's top level)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals.get("__name__") == name:
            return True
        frame = frame.f_back
    return False


def main() -> None:
    """Entry point: one line and a non-zero exit for anything unexpected, traceback with NLPFIND_DEBUG=1."""
    if "thinc.compat" not in sys.modules:
        sys.meta_path.insert(0, _TorchHiddenFromThinc())
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("nlpfind: interrupted", err=True)
        sys.exit(130)
    except NlpfindError as exc:
        typer.echo(f"nlpfind: {exc}", err=True)
        sys.exit(2)
    except Exception as exc:  # a bug: say so in one line unless debugging
        if os.environ.get("NLPFIND_DEBUG"):
            raise
        typer.echo(f"nlpfind: internal error: {type(exc).__name__}: {exc} (set NLPFIND_DEBUG=1 for details)", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
