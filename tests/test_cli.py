"""The command line (typer app): bad input is one line on stderr and exit code 2; output formats."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from conftest import EXAMPLE, REPO
from reportdocs import write_rectangle_pdf
from typer.testing import CliRunner

from nlpfind.cli import app
from nlpfind.read import read_document
from nlpfind.render import CSV_COLUMNS

FINDING_KEYS = ["report", "index", "start", "end", "text", "section", "statement", "statement_scores", "polarity",
                "polarity_scores", "quantifiers", "themes", "theme_scores"]


@pytest.fixture
def runner():
    return CliRunner()


class _NoModel:
    """Stands in for the Classifier so that input errors are tested without loading the model."""

    def __init__(self, *args, **kwargs):
        pass

    def classify_text(self, *args, **kwargs):  # pragma: no cover - reached only if the file was read
        raise AssertionError("the bad input was not refused")


def _bad_inputs(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    return {
        "missing": tmp_path / "no-such-report.txt",
        "directory": tmp_path,
        "empty": empty,
        "binary": binary,
        "scan": write_rectangle_pdf(tmp_path / "scan.pdf"),
    }


def _assert_one_line_error(result, path):
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("nlpfind: ")
    assert str(path) in lines[0]
    assert "Traceback" not in result.output
    assert result.stdout == ""


@pytest.mark.parametrize("case", ["missing", "directory", "empty", "binary", "scan"])
def test_classify_bad_input(runner, tmp_path, monkeypatch, case):
    monkeypatch.setattr("nlpfind.classify.Classifier", _NoModel)
    path = _bad_inputs(tmp_path)[case]
    out = tmp_path / "out" / "result.jsonl"
    result = runner.invoke(app, ["classify", str(path), "--format", "jsonl", "--out", str(out)])
    _assert_one_line_error(result, path)
    assert not out.exists()
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_help_lists_the_commands(runner):
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("classify", "train", "evaluate", "label", "agreement", "compare", "cache"):
        assert command in result.stdout


def test_classify_help(runner):
    result = runner.invoke(app, ["classify", "--help"])
    assert result.exit_code == 0
    for option in ("--format", "--out", "--model", "--lines"):
        assert option in result.stdout


def test_bad_format_is_a_usage_error(runner):
    result = runner.invoke(app, ["classify", str(EXAMPLE), "--format", "xml"])
    assert result.exit_code == 2
    assert "xml" in result.stderr


def test_agreement_bad_file(runner, tmp_path):
    a = tmp_path / "a.jsonl"
    a.write_text('{"report": "r", "start": 0, "end": 5, "statement": "1", "polarity": "strength"}\n')
    result = runner.invoke(app, ["agreement", str(a), str(tmp_path / "missing.jsonl")])
    _assert_one_line_error(result, tmp_path / "missing.jsonl")


# -- with the default model --------------------------------------------------------------------------
@pytest.fixture
def shared_model(monkeypatch, classifier):
    """Let the CLI use the module's Classifier instead of loading the model for every call."""
    monkeypatch.setattr("nlpfind.classify.Classifier", lambda *args, **kwargs: classifier)
    return classifier


@pytest.mark.slow
def test_classify_bad_input_with_the_real_model(runner, tmp_path):
    path = tmp_path / "missing.txt"
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["classify", str(path), "--out", str(out)])
    _assert_one_line_error(result, path)
    assert not out.exists()


@pytest.mark.slow
def test_classify_jsonl(runner, tmp_path):
    out = tmp_path / "example.jsonl"
    result = runner.invoke(app, ["classify", str(EXAMPLE), "--format", "jsonl", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    source = read_document(EXAMPLE).text
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) > 20
    assert [r["index"] for r in rows] == list(range(len(rows)))
    for r in rows:
        assert list(r) == FINDING_KEYS
        assert r["report"] == "example-report"
        assert source[r["start"]:r["end"]] == r["text"]
        assert r["statement"] in ("1", "2", "3", "4", "none")
        assert r["polarity"] in ("strength", "weakness", "mixed", "neutral")
        assert abs(sum(r["statement_scores"].values()) - 1) < 0.01
        assert abs(sum(r["polarity_scores"].values()) - 1) < 0.01
        for q in r["quantifiers"]:
            assert list(q) == ["text", "term", "low", "high", "start", "end"]
            assert " ".join(source[q["start"]:q["end"]].split()) == q["text"]
        assert list(r["theme_scores"]) == r["themes"] and all(0 < p <= 1 for p in r["theme_scores"].values())
    terms = {q["term"] for r in rows for q in r["quantifiers"]}
    assert {"almost all", "majority", "less than half", "a few"} <= terms


@pytest.mark.slow
def test_classify_jsonl_to_stdout(runner, shared_model):
    result = runner.invoke(app, ["classify", str(EXAMPLE)])  # not a terminal: jsonl
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows and all(list(r) == FINDING_KEYS for r in rows)


@pytest.mark.slow
def test_classify_json(runner, tmp_path, shared_model):
    out = tmp_path / "example.json"
    result = runner.invoke(app, ["classify", str(EXAMPLE), "--format", "json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["report"] == "example-report" and data["framework"] == "carh"
    assert data["metadata"]["format"] == "txt"
    assert len(data["sentences"]) > 20
    assert sum(sum(v for k, v in row.items() if k != "quantifiers") for row in data["summary"].values()) == len(
        data["sentences"])


@pytest.mark.slow
def test_classify_csv(runner, tmp_path, shared_model):
    out = tmp_path / "example.csv"
    result = runner.invoke(app, ["classify", str(EXAMPLE), "-f", "csv", "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) > 20 and all(len(r) == len(CSV_COLUMNS) for r in rows)
    assert any("almost all [91-99]" in r[CSV_COLUMNS.index("quantifiers")] for r in rows[1:])
    themed = [r for r in rows[1:] if r[CSV_COLUMNS.index("themes")]]
    assert themed and all(  # one probability per tagged theme, in the same order
        len(r[CSV_COLUMNS.index("themes")].split("; ")) == len(r[CSV_COLUMNS.index("theme_scores")].split("; "))
        and all(0 < float(x) <= 1 for x in r[CSV_COLUMNS.index("theme_scores")].split("; ")) for r in themed)


@pytest.mark.slow
def test_classify_csv_and_table_show_text_without_markup_and_jsonl_the_source(runner, tmp_path, shared_model):
    report = tmp_path / "marked.txt"
    report.write_text("Statement 1: Children are safer\n\nWhen we say **young people**, we mean those "
                      "[aged 13 to 18](https://example.org).\n", encoding="utf-8")
    outputs = {}
    for fmt in ("csv", "table", "jsonl"):
        result = runner.invoke(app, ["classify", str(report), "-f", fmt, "-o", str(tmp_path / f"out.{fmt}"),
                                     "--show-neutral"])
        assert result.exit_code == 0, result.output
        outputs[fmt] = (tmp_path / f"out.{fmt}").read_text(encoding="utf-8")
    assert "When we say young people, we mean those aged 13 to 18." in outputs["csv"]
    assert "**" not in outputs["csv"] + outputs["table"] and "young people" in outputs["table"]
    assert json.loads(outputs["jsonl"])["text"].startswith("When we say **young people**")  # offsets into the source


@pytest.mark.slow
def test_classify_table(runner, tmp_path, shared_model):
    out = tmp_path / "example.txt"
    result = runner.invoke(app, ["classify", str(EXAMPLE), "--format", "table", "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = out.read_text(encoding="utf-8")
    assert "example-report" in table and "Summary by statement" in table
    assert "\x1b[" not in table  # a file gets plain text; colours and styles only on a terminal
    from nlpfind.classify import Classifier, classify_file
    from nlpfind.render import to_table

    classifier = Classifier()
    coloured = to_table(classify_file(str(EXAMPLE), classifier), {s.id: s.short for s in classifier.framework.statements})
    assert "\x1b[" in coloured and "example-report" in coloured


@pytest.mark.slow
def test_classify_lines(runner, tmp_path, shared_model):
    findings = ["Most staff were confident about recognising neglect.",
                "Chronologies were not consistently up to date.",
                "",
                "  In almost all records, risk assessments were of a good quality. They were reviewed.",
                "Leaders should improve self-evaluation"]
    path = tmp_path / "findings.txt"
    path.write_text("\n".join(findings) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["classify", str(path), "--lines", "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in rows] == [f.strip() for f in findings if f.strip()]
    source = path.read_text(encoding="utf-8")
    assert all(source[r["start"]:r["end"]] == r["text"] for r in rows)
    assert [q["term"] for q in rows[2]["quantifiers"]] == ["almost all"]


@pytest.mark.slow
def test_classify_stdin(runner, shared_model):
    text = EXAMPLE.read_text(encoding="utf-8")
    result = runner.invoke(app, ["classify", "-", "--format", "jsonl"], input=text.encode("utf-8"))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows and {r["report"] for r in rows} == {"stdin"}
    assert all(text[r["start"]:r["end"]] == r["text"] for r in rows)


@pytest.mark.slow
def test_out_replaces_a_previous_file_and_leaves_no_temporary(runner, tmp_path, shared_model):
    out = tmp_path / "result.jsonl"
    out.write_text("old contents\n", encoding="utf-8")
    result = runner.invoke(app, ["classify", str(EXAMPLE), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "old contents" not in out.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.jsonl"]


@pytest.mark.slow
def test_installed_entry_point_bad_input(tmp_path):
    """`nlpfind classify` as a user runs it: exit code 2 and one line on stderr."""
    path = tmp_path / "missing report.txt"
    proc = subprocess.run([sys.executable, "-m", "nlpfind.cli", "classify", str(path)], capture_output=True,
                          text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"nlpfind: {path}: no such file"]
    assert proc.stdout == ""


# `python -c` code that runs the command line as `nlpfind ARGS` does (its entry point, main()) with the script's
# arguments, then leaves the exit code in `exit_code` for the lines appended after it.
RUN_ENTRY_POINT = ("import runpy, sys\nsys.argv = ['nlpfind', *sys.argv[1:]]\nexit_code = 0\ntry:\n"
                   "    runpy.run_module('nlpfind.cli', run_name='__main__')\nexcept SystemExit as exc:\n"
                   "    exit_code = exc.code\n")


def test_classify_with_the_fast_model_loads_no_torch(tmp_path):
    """Issue 5 (cold start): `nlpfind classify` with the static model runs without torch, which spaCy's thinc
    would load for nothing (2 s, 180 MB); a later `import torch` in the same process still works, and the
    output is the in-process command's."""
    out = tmp_path / "found.jsonl"
    code = (RUN_ENTRY_POINT + "assert not exit_code, exit_code\n"
            "import thinc.compat\nprint('torch' in sys.modules, thinc.compat.has_torch, file=sys.stderr)\n"
            "import torch\nprint(torch.tensor([2.0]).sum().item(), file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code, "classify", str(EXAMPLE), "--model", str(REPO / "models" / "fast"),
                           "-f", "jsonl", "--out", str(out)], capture_output=True, text=True, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-2:] == ["False False", "2.0"]
    in_process = CliRunner().invoke(app, ["classify", str(EXAMPLE), "--model", str(REPO / "models" / "fast"),
                                          "-f", "jsonl"])
    assert in_process.exit_code == 0
    assert out.read_text(encoding="utf-8") == in_process.stdout


@pytest.mark.parametrize("args", [["--help"], ["classify", "--help"], ["compare", "--help"], ["train", "--help"]])
def test_help_imports_no_heavy_library(args):
    """Issue 5: --help answers without importing torch, transformers, sentence-transformers, datasets or spaCy."""
    code = (RUN_ENTRY_POINT + "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers', 'datasets', 'spacy') "
            "if m in sys.modules]\nprint(heavy, file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    assert "Usage" in out.stdout
    assert out.stderr.strip().splitlines()[-1] == "[]"
