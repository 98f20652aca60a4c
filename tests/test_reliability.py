"""Issue 6, part 1 and 3: the bad-input matrix for classify, compare, train, evaluate and label, and
untrusted model files.

Every case ends in either a correct result, or exit code 2 with exactly one line on stderr that names
the file and the problem, no traceback, and nothing half-written: no --out file, the previous model
folder unchanged, no results file, the corpus unchanged. The commands run in-process (CliRunner) with a
tiny model trained without embeddings; a few cases run as real processes to check what a user sees.
The outcomes are recorded in eval/RELIABILITY.md.
"""

from __future__ import annotations

import codecs
import io
import json
import pickle
import re
import shutil
import tokenize
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from reliability_helpers import (
    REPO,
    ascii_fold,
    copy_model,
    label_lines,
    report_text,
    run_cli,
    tree_digest,
    write_corpus,
    write_fast_config,
)
from reportdocs import write_rectangle_pdf, write_text_pdf
from typer.testing import CliRunner

from nlpfind.cli import app
from nlpfind.read import MAX_BYTES

PDF_LINES = ["Most staff shared concerns about children promptly and recorded their decisions.",
             "Leaders had a clear vision for keeping children and young people safe from harm."]
BIG_BYTES = 60 * 1024 * 1024


pytestmark = pytest.mark.usefixtures("isolated_env")


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    """A 60 MB plain-text report (over the 50 MB limit), deleted after the module."""
    assert BIG_BYTES > MAX_BYTES
    path = tmp_path_factory.mktemp("big") / "huge-report.txt"
    line = ("In most of the records we read, staff recorded their decisions about the safety of children. " * 8
            + "\n\n").encode("utf-8")
    with open(path, "wb") as fh:
        for _ in range(BIG_BYTES // len(line) + 1):
            fh.write(line)
    yield path
    path.unlink(missing_ok=True)


# -- the inputs ------------------------------------------------------------------------------------
OK = None  # expected outcome: a correct result


def _glenbrae() -> str:
    return report_text("glenbrae")


def _bytes(name: str, data: bytes | Callable[[], bytes]):
    def build(d: Path, big: Path) -> Path:
        path = d / name
        path.write_bytes(data if isinstance(data, bytes) else data())
        return path
    return build


def _missing(d: Path, big: Path) -> Path:
    return d / "glenbrae-missing.txt"


def _directory(d: Path, big: Path) -> Path:
    path = d / "glenbrae-folder.txt"
    path.mkdir()
    return path


def _big(d: Path, big: Path) -> Path:
    path = d / "glenbrae-huge.txt"
    path.symlink_to(big)  # the 60 MB file is written once per module
    return path


def _scan(d: Path, big: Path) -> Path:
    return write_rectangle_pdf(d / "glenbrae-scan.pdf")


def _encrypted(d: Path, big: Path) -> Path:
    return write_text_pdf(d / "glenbrae-locked.pdf", PDF_LINES, encrypt="inspection-2025")


def _truncated(d: Path, big: Path) -> Path:
    whole = write_text_pdf(d / "whole.pdf", PDF_LINES, pages=3)
    data = whole.read_bytes()
    whole.unlink()
    path = d / "glenbrae-cut.pdf"
    path.write_bytes(data[: len(data) // 2])
    return path


def _zip_not_docx(d: Path, big: Path) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("minutes/meeting.txt", "Notes of the chief officers group meeting in Glenbrae.")
        zf.writestr("minutes/actions.csv", "action,owner\nreview chronologies,service manager\n")
    path = d / "glenbrae-minutes.docx"
    path.write_bytes(buf.getvalue())
    return path


def _with_nuls() -> bytes:
    return _glenbrae().replace("\n\n", "\n\x00\n").encode("utf-8")


def _invalid_utf8() -> bytes:
    """The report (typographic characters made ASCII) with three bytes that are not UTF-8 before a heading."""
    data = ascii_fold(_glenbrae()).encode("utf-8")
    i = data.index(b"Introduction")
    return data[:i] + b"\xff\xfe\x81 " + data[i:]


# name -> (builder, expected: OK or words the one-line error must contain)
REPORT_INPUTS = {
    "missing path": (_missing, "no such file"),
    "directory": (_directory, "directory"),
    "empty file": (_bytes("glenbrae-empty.txt", b""), "empty"),
    "whitespace only": (_bytes("glenbrae-blank.txt", b" \n\t\r\n   \n\f\n"), "empty"),
    "binary (PNG)": (_bytes("glenbrae-photo.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16), "binary"),
    "NUL bytes in text": (_bytes("glenbrae-nul.txt", _with_nuls), "NUL"),
    "invalid UTF-8": (_bytes("glenbrae-badutf8.txt", _invalid_utf8), OK),
    "UTF-16 with BOM": (_bytes("glenbrae-utf16.txt", lambda: codecs.BOM_UTF16_LE + _glenbrae().encode("utf-16-le")),
                        OK),
    "cp1252 smart quotes": (_bytes("glenbrae-cp1252.txt", lambda: _glenbrae().encode("cp1252")), OK),
    "60 MB text": (_big, "limit"),
    "PDF without text layer": (_scan, "OCR"),
    "encrypted PDF": (_encrypted, "encrypted"),
    "truncated PDF": (_truncated, "damaged"),
    ".docx that is a zip of something else": (_zip_not_docx, "word/document.xml"),
}
# train and evaluate find report files through the corpus manifest: a missing file or a folder
# in its place is "not found under" the report folders.
CORPUS_WORDS = {"missing path": "not found under", "directory": "not found under"}


# -- checks ------------------------------------------------------------------------------------------
def assert_one_line_error(result, *names: str, words: str = "") -> str:
    """Exit code 2, exactly one 'nlpfind: ...' line on stderr naming `names` and `words`, no traceback."""
    detail = f"exit {result.exit_code}; stderr={result.stderr!r}; exception={result.exception!r}"
    assert result.exception is None or isinstance(result.exception, SystemExit), detail
    assert result.exit_code == 2, detail
    assert "Traceback" not in result.output and "Traceback" not in result.stderr, detail
    lines = result.stderr.splitlines()
    assert len(lines) == 1, detail
    line = lines[0]
    assert line.startswith("nlpfind: "), detail
    for name in names:
        assert str(name) in line, f"the error does not name {name}: {line}"
    assert words.lower() in line.lower(), f"expected {words!r} in: {line}"
    assert result.stdout == "", detail
    return line


def assert_ok(result) -> None:
    detail = f"exit {result.exit_code}; stderr={result.stderr!r}; exception={result.exception!r}"
    assert result.exit_code == 0 and result.exception is None, detail
    assert "Traceback" not in result.output


def invoke(args: list[str], input: str | bytes | None = None):
    return CliRunner().invoke(app, [str(a) for a in args], input=input)


def no_temporaries(folder: Path) -> list[str]:
    """Names of temporary files or folders left in `folder` (an atomic write leaves none)."""
    if not folder.exists():
        return []
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name or p.name.endswith(".previous"))


# -- the report matrix ----------------------------------------------------------------------------
def _run_classify(tmp_path, tiny_model, path: Path, expected):
    out_dir = tmp_path / "out"
    out = out_dir / "findings.jsonl"
    result = invoke(["classify", path, "--model", tiny_model, "--format", "jsonl", "--out", out])
    if expected is OK:
        assert_ok(result)
        from nlpfind.read import read_document

        source = read_document(path).text
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert len(rows) >= 10
        assert all(source[r["start"]:r["end"]] == r["text"] for r in rows)
        return rows
    assert_one_line_error(result, path, words=expected)
    assert not out.exists() and no_temporaries(out_dir) == []
    return None


def _compare_reports(tmp_path) -> list[Path]:
    d = tmp_path / "others"
    d.mkdir(exist_ok=True)
    out = []
    for key in ("ardmuir", "kinloch"):
        (d / f"{key}.txt").write_text(report_text(key), encoding="utf-8")
        out.append(d / f"{key}.txt")
    return out


def _run_compare(tmp_path, tiny_model, path: Path, expected):
    out_dir = tmp_path / "out"
    out = out_dir / "compare.json"
    others = _compare_reports(tmp_path)
    result = invoke(["compare", *others, path, "--model", tiny_model, "--on-error", "stop", "--format", "json",
                     "--out", out])
    if expected is OK:
        assert_ok(result)
        data = json.loads(out.read_text(encoding="utf-8"))
        assert data["partnerships"] == ["Ardmuir", "Glenbrae", "Kinloch"]
        return data
    assert_one_line_error(result, path, words=expected)
    assert not out.exists() and no_temporaries(out_dir) == []
    return None


def _run_label(tmp_path, tiny_model, path: Path, expected):
    corpus = tmp_path / "label-corpus"
    corpus.mkdir()
    before = tree_digest(corpus)
    result = invoke(["label", path, "--corpus", corpus, "--model", tiny_model, "--annotator", "tester"], input="q\n")
    if expected is OK:
        assert_ok(result)
        assert "0 answers saved" in result.stdout
        assert (corpus / "manifest.csv").is_file()
        return None
    assert_one_line_error(result, path, words=expected)
    assert tree_digest(corpus) == before and list(corpus.iterdir()) == []
    return None


def _corpus_with(tmp_path, path: Path, expected) -> dict:
    """A corpus whose manifest points Glenbrae at `path` (in the reports folder); labels match when readable."""
    info = write_corpus(tmp_path / "c")
    manifest = info["corpus"] / "manifest.csv"
    text = manifest.read_text(encoding="utf-8").replace("glenbrae,glenbrae.txt,", f"glenbrae,{path.name},")
    manifest.write_text(text, encoding="utf-8")
    (info["reports"] / "glenbrae.txt").unlink()
    if expected is OK:
        from nlpfind.read import read_document

        with open(info["corpus"] / "labels" / "glenbrae.jsonl", "w", encoding="utf-8") as fh:
            for rec in label_lines("glenbrae", read_document(path).text):
                fh.write(json.dumps(rec, sort_keys=True) + "\n")
    info["config"] = write_fast_config(tmp_path / "fast.toml")
    return info


def _previous_model(tmp_path, tiny_model) -> Path:
    return copy_model(tiny_model, tmp_path / "models" / "trained")


def _run_train(tmp_path, tiny_model, info: dict, expected, names=()):
    target = _previous_model(tmp_path, tiny_model)
    before = tree_digest(target)
    result = invoke(["train", "--corpus", info["corpus"], "--reports", info["reports"], "--config", info["config"],
                     "--out", target])
    assert no_temporaries(target.parent) == []
    if expected is OK:
        assert_ok(result)
        from nlpfind.classify import FindingModel

        model = FindingModel.from_disk(target)
        assert model.meta["training_reports"] == 2 and tree_digest(target) != before
        return model
    assert_one_line_error(result, *names, words=expected)
    assert tree_digest(target) == before, "a failed train changed the previous model"
    return None


def _run_evaluate(tmp_path, info: dict, expected, names=()):
    results = tmp_path / "eval" / "RESULTS.md"
    result = invoke(["evaluate", "--corpus", info["corpus"], "--reports", info["reports"], "--config",
                     info["config"], "--results", results, "--folds", "2"])
    assert_one_line_error(result, *names, words=expected)
    assert not results.exists() and no_temporaries(results.parent) == []


@pytest.mark.parametrize("case", list(REPORT_INPUTS))
def test_classify_report_matrix(tmp_path, tiny_model, big_file, case):
    build, expected = REPORT_INPUTS[case]
    d = tmp_path / "in"
    d.mkdir()
    rows = _run_classify(tmp_path, tiny_model, build(d, big_file), expected)
    if rows is not None and case in ("UTF-16 with BOM", "cp1252 smart quotes"):
        # decoded to exactly the text the UTF-8 file gives
        from nlpfind.classify import Classifier

        want = [f.text for f in Classifier(tiny_model).classify_text(_glenbrae())]
        assert [r["text"] for r in rows] == want
        assert any("“Safe and Together” approach –" in r["text"] for r in rows)


@pytest.mark.parametrize("case", list(REPORT_INPUTS))
def test_compare_report_matrix(tmp_path, tiny_model, big_file, case):
    build, expected = REPORT_INPUTS[case]
    d = tmp_path / "in"
    d.mkdir()
    _run_compare(tmp_path, tiny_model, build(d, big_file), expected)


@pytest.mark.parametrize("case", list(REPORT_INPUTS))
def test_label_report_matrix(tmp_path, tiny_model, big_file, case):
    build, expected = REPORT_INPUTS[case]
    d = tmp_path / "in"
    d.mkdir()
    _run_label(tmp_path, tiny_model, build(d, big_file), expected)


@pytest.mark.parametrize("case", list(REPORT_INPUTS))
def test_train_report_matrix(tmp_path, tiny_model, big_file, case):
    build, expected = REPORT_INPUTS[case]
    reports = tmp_path / "c" / "reports"
    reports.mkdir(parents=True)
    path = build(reports, big_file)
    info = _corpus_with(tmp_path, path, expected)
    words = CORPUS_WORDS.get(case, expected)
    _run_train(tmp_path, tiny_model, info, words, names=(path.name,))


@pytest.mark.parametrize("case", [c for c, (_b, e) in REPORT_INPUTS.items() if e is not OK])
def test_evaluate_report_matrix(tmp_path, big_file, case):
    """The readable encodings pass through the same corpus loader as train (the evaluation itself loads
    MiniLM: see test_evaluate_reads_a_utf16_corpus, marked slow)."""
    build, expected = REPORT_INPUTS[case]
    reports = tmp_path / "c" / "reports"
    reports.mkdir(parents=True)
    path = build(reports, big_file)
    info = _corpus_with(tmp_path, path, expected)
    _run_evaluate(tmp_path, info, CORPUS_WORDS.get(case, expected), names=(path.name,))


def test_classify_out_is_a_directory(tmp_path, tiny_model):
    report = tmp_path / "glenbrae.txt"
    report.write_text(_glenbrae(), encoding="utf-8")
    out = tmp_path / "results"
    out.mkdir()
    result = invoke(["classify", report, "--model", tiny_model, "--out", out])
    assert_one_line_error(result, out, words="is a directory")
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("data, words", [(b"", "empty"), (b"\x00\x01\x02\x03" * 64, "binary")])
def test_classify_bad_stdin(tiny_model, data, words):
    result = invoke(["classify", "-", "--model", tiny_model], input=data)
    assert_one_line_error(result, "<stdin>", words=words)


def test_one_stray_byte_does_not_garble_the_rest_of_a_utf8_report():
    from nlpfind.read import decode_text

    data = _glenbrae().encode("utf-8")
    i = data.index(b"Introduction")
    text, _enc = decode_text(data[:i] + b"\x81" + data[i:], "glenbrae.txt")
    assert "Most children’s plans" in text and "“Safe and Together”" in text


def test_other_framework_still_finds_the_sentences(tmp_path, tiny_model):
    from conftest import EXAMPLE

    result = invoke(["classify", EXAMPLE, "--model", tiny_model, "--framework", "ilacs", "--format", "jsonl"])
    assert_ok(result)
    assert len(result.stdout.splitlines()) > 20


def test_compare_skips_a_bad_report_with_one_warning(tmp_path, tiny_model):
    """--on-error skip (the default): one warning line naming the file, and the result of the others."""
    others = _compare_reports(tmp_path)
    bad = tmp_path / "glenbrae-photo.txt"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16)
    clean = invoke(["compare", *others, "--model", tiny_model, "--format", "json"])
    assert_ok(clean)
    result = invoke(["compare", *others, bad, "--model", tiny_model, "--format", "json"])
    assert_ok(result)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("nlpfind: warning: skipped") and str(bad) in lines[0]
    assert result.stdout == clean.stdout


# -- model folders -----------------------------------------------------------------------------------
def _edit_meta(model: Path, **changes) -> None:
    meta = json.loads((model / "meta.json").read_text(encoding="utf-8"))
    meta.update(changes)
    (model / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


def _other_themes_framework(root: Path) -> Path:
    """A copy of the carh framework whose theme taxonomy has one invented theme (none of the model's)."""
    root.mkdir(exist_ok=True)
    text = (REPO / "configs" / "carh.toml").read_text(encoding="utf-8")
    text = re.sub(r'(?m)^id = "carh"', 'id = "adult-support"', text, count=1)
    text = re.sub(r'(?m)^themes = "themes.toml".*$', 'themes = "adult-themes.toml"', text, count=1)
    (root / "adult-support.toml").write_text(text, encoding="utf-8")
    (root / "adult-themes.toml").write_text(
        '[[themes]]\nid = "adult-risk"\nname = "Adults at risk"\ndescription = "Support and protection of adults"\n',
        encoding="utf-8")
    return root / "adult-support.toml"


def _m_missing_weights(m: Path, tmp: Path) -> None:
    (m / "weights.safetensors").unlink()


def _m_truncated_weights(m: Path, tmp: Path) -> None:
    data = (m / "weights.safetensors").read_bytes()
    (m / "weights.safetensors").write_bytes(data[: len(data) // 3])


def _m_empty_weights(m: Path, tmp: Path) -> None:
    (m / "weights.safetensors").write_bytes(b"")


def _m_damaged_meta(m: Path, tmp: Path) -> None:
    (m / "meta.json").write_text('{"format_version": 1, "framework": ', encoding="utf-8")


def _m_other_themes(m: Path, tmp: Path) -> None:
    _edit_meta(m, framework=str(_other_themes_framework(tmp / "frameworks")))


def _m_ilacs(m: Path, tmp: Path) -> None:
    _edit_meta(m, framework="ilacs")


def _m_unknown_framework(m: Path, tmp: Path) -> None:
    _edit_meta(m, framework="adult-support-protection")


def _m_not_a_folder(m: Path, tmp: Path) -> None:
    shutil.rmtree(m)
    m.write_text("not a model\n", encoding="utf-8")


def _m_no_folder(m: Path, tmp: Path) -> None:
    shutil.rmtree(m)


_CLASSIFYING = ("classify", "compare", "label")  # evaluate reads only the model's training settings

# name -> (edit of a copy of the tiny model, words the error line must hold, commands it applies to)
MODEL_INPUTS = {
    "weights file missing": (_m_missing_weights, "missing weights.safetensors", None),
    "weights file truncated": (_m_truncated_weights, "damaged weights file", None),
    "weights file empty": (_m_empty_weights, "damaged weights file", None),
    "meta.json damaged": (_m_damaged_meta, "damaged JSON", None),
    "no folder": (_m_no_folder, "model folder not found", None),
    "not a folder": (_m_not_a_folder, "not a model folder", None),
    "framework with other themes": (_m_other_themes, "themes", _CLASSIFYING),
    "framework with other statements (ilacs)": (_m_ilacs, "statement classes", _CLASSIFYING),
    "unknown framework": (_m_unknown_framework, "unknown framework", _CLASSIFYING),
}


def _model_params(commands):
    out = []
    for cmd in commands:
        for case, (_b, _w, only) in MODEL_INPUTS.items():
            if only and cmd not in only:
                continue
            out.append(pytest.param(cmd, case, id=f"{cmd}-{case}"))
    return out


@pytest.mark.parametrize("command, case", _model_params(("classify", "compare", "label", "evaluate")))
def test_model_folder_matrix(tmp_path, tiny_model, command, case):
    build, words, _only = MODEL_INPUTS[case]
    model = copy_model(tiny_model, tmp_path / "shared-model")
    build(model, tmp_path)
    report = tmp_path / "glenbrae.txt"
    report.write_text(_glenbrae(), encoding="utf-8")
    out = tmp_path / "out" / "result.json"
    if command == "classify":
        result = invoke(["classify", report, "--model", model, "--out", out])
    elif command == "compare":
        others = _compare_reports(tmp_path)
        result = invoke(["compare", *others, report, "--model", model, "--out", out])
    elif command == "label":
        corpus = tmp_path / "label-corpus"
        corpus.mkdir()
        result = invoke(["label", report, "--corpus", corpus, "--model", model], input="q\n")
        assert list(corpus.iterdir()) == [] or result.exit_code == 0
    else:
        info = write_corpus(tmp_path / "c")
        out = tmp_path / "eval" / "RESULTS.md"
        result = invoke(["evaluate", "--model", model, "--corpus", info["corpus"], "--reports", info["reports"],
                         "--results", out])
    assert_one_line_error(result, model, words=words)
    assert not out.exists() and no_temporaries(out.parent) == []


# -- label files (train, evaluate, and label's own label file) -------------------------------------
def _l_malformed(lines):
    lines[2] = lines[2][:-7]


def _l_not_object(lines):
    lines.append("[1, 2, 3]")


def _l_set(key, value):
    def edit(lines):
        obj = json.loads(lines[3])
        obj[key] = value
        lines[3] = json.dumps(obj)
    return edit


def _l_past_end(lines):
    obj = json.loads(lines[3])
    obj["start"], obj["end"], obj["quantifiers"] = 10_000_000, 10_000_050, []
    lines[3] = json.dumps(obj)


def _l_drop_key(lines):
    obj = json.loads(lines[3])
    del obj["polarity"]
    lines[3] = json.dumps(obj)


# name -> (edit of the label lines, expected words, line number named, expected for `label`)
LABEL_INPUTS = {
    "malformed JSON": (_l_malformed, "malformed JSON", 3, "malformed JSON"),
    "line is not an object": (_l_not_object, "expected a JSON object", 12, "expected a JSON object"),
    "unknown statement": (_l_set("statement", "5"), "unknown statement", 4, OK),
    "unknown polarity": (_l_set("polarity", "good"), "unknown polarity", 4, OK),
    "unknown theme": (_l_set("themes", ["chronology"]), "unknown theme", 4, OK),
    "unknown quantifier term": (_l_set("quantifiers", [{"start": 0, "end": 3, "term": "lots"}]),
                                "unknown quantifier term", 4, OK),
    "offsets past the end of the report": (_l_past_end, "outside report", 4, OK),
    "negative offset": (_l_set("start", -5), "start", 4, OK),
    "start after end": (_l_set("start", 99_999), "start", 4, OK),
    "offsets that are not integers": (_l_set("end", "12"), "integers", 4, OK),
    "text hash does not match": (_l_set("sha1", "0123456789abcdef"), "no longer matches", 4, OK),
    "missing key": (_l_drop_key, "missing key", 4, OK),
}


def _bad_label_corpus(tmp_path, case) -> tuple[dict, Path]:
    info = write_corpus(tmp_path / "c")
    info["config"] = write_fast_config(tmp_path / "fast.toml")
    path = info["corpus"] / "labels" / "glenbrae.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    LABEL_INPUTS[case][0](lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return info, path


@pytest.mark.parametrize("case", list(LABEL_INPUTS))
def test_train_label_file_matrix(tmp_path, tiny_model, case):
    info, path = _bad_label_corpus(tmp_path, case)
    _edit, words, n, _label = LABEL_INPUTS[case]
    _run_train(tmp_path, tiny_model, info, words, names=(f"{path}:{n}:",))


@pytest.mark.parametrize("case", list(LABEL_INPUTS))
def test_evaluate_label_file_matrix(tmp_path, case):
    info, path = _bad_label_corpus(tmp_path, case)
    _edit, words, n, _label = LABEL_INPUTS[case]
    _run_evaluate(tmp_path, info, words, names=(f"{path}:{n}:",))


@pytest.mark.parametrize("command", ["train", "evaluate", "label"])
def test_label_file_not_utf8(tmp_path, tiny_model, command):
    info, path = _bad_label_corpus(tmp_path, "missing key")
    path.write_bytes(path.read_bytes().replace(b"reliability-test", b"reliabilit\xe9-test"))
    if command == "train":
        _run_train(tmp_path, tiny_model, info, "not UTF-8", names=(str(path),))
    elif command == "evaluate":
        _run_evaluate(tmp_path, info, "not UTF-8", names=(str(path),))
    else:
        before = tree_digest(info["corpus"])
        result = invoke(["label", info["reports"] / "glenbrae.txt", "--corpus", info["corpus"], "--model", tiny_model],
                        input="q\n")
        assert_one_line_error(result, str(path), words="not UTF-8")
        assert tree_digest(info["corpus"]) == before



@pytest.mark.parametrize("case", [
    pytest.param(c, marks=[] if c == "line is not an object"
                 else []) for c in LABEL_INPUTS])
def test_label_with_a_bad_existing_label_file(tmp_path, tiny_model, case):
    """`label` reads the report's label file to skip answered sentences: a file it cannot parse is one clear
    error and stays as it was; lines it can parse are kept (their labels are checked by train)."""
    info, path = _bad_label_corpus(tmp_path, case)
    _edit, _words, n, expected = LABEL_INPUTS[case]
    report = info["reports"] / "glenbrae.txt"
    before = tree_digest(info["corpus"])
    result = invoke(["label", report, "--corpus", info["corpus"], "--model", tiny_model], input="q\n")
    if expected is OK:
        assert_ok(result)
    else:
        assert_one_line_error(result, f"{path}:{n}:", words=expected)
    assert tree_digest(info["corpus"]) == before


@pytest.mark.slow
def test_evaluate_reads_a_utf16_corpus(tmp_path):
    """The success path of evaluate on reports stored as UTF-16 (BOM), cp1252 and UTF-8 with stray bytes
    (the evaluation itself loads MiniLM)."""
    def stray(t: str) -> bytes:
        data = ascii_fold(t).encode("utf-8")
        i = data.index(b"Introduction")
        return data[:i] + b"\xff\xfe\x81 " + data[i:]

    enc = {"glenbrae": ("glenbrae.txt", lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le")),
           "ardmuir": ("ardmuir.txt", lambda t: t.encode("cp1252")),
           "kinloch": ("kinloch.txt", stray)}
    info = write_corpus(tmp_path / "c", keys=("glenbrae", "ardmuir", "kinloch"), encodings=enc)
    config = write_fast_config(tmp_path / "fast.toml")
    results = tmp_path / "eval" / "RESULTS.md"
    result = invoke(["evaluate", "--corpus", info["corpus"], "--reports", info["reports"], "--config", config,
                     "--results", results, "--format", "json"])
    assert_ok(result)
    data = json.loads(result.stdout)
    assert set(data) == {"majority", "tfidf-lr", "minilm-lr", "nlpfind"}
    for metrics in data.values():  # each headline metric with its 95% bootstrap interval
        for key in ("strength_f1", "weakness_f1", "statement_macro_f1", "themes_micro_f1"):
            lo, hi = metrics[f"{key}_interval"]
            assert 0 <= lo <= hi <= 1
    assert "grouped cross-validation" in results.read_text(encoding="utf-8")


@pytest.mark.slow
def test_evaluate_corpus_of_one_partnership(tmp_path):
    info = write_corpus(tmp_path / "c", keys=("glenbrae",))
    config = write_fast_config(tmp_path / "fast.toml")
    results = tmp_path / "RESULTS.md"
    result = invoke(["evaluate", "--corpus", info["corpus"], "--reports", info["reports"], "--config", config,
                     "--results", results])
    assert_one_line_error(result, str(info["corpus"]), words="partnership")
    assert not results.exists()


# -- real processes: what a user sees --------------------------------------------------------------
def _one_line(proc, *names: str, code: int = 2) -> str:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    for name in names:
        assert str(name) in lines[0]
    return lines[0]


def test_real_process_bad_inputs(tmp_path, tiny_model):
    """One representative case per command in a real `python -m nlpfind.cli` process."""
    binary = tmp_path / "glenbrae-photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16)
    out = tmp_path / "out" / "x.json"
    env = {"NLPFIND_CACHE": str(tmp_path / "cache")}
    _one_line(run_cli(["classify", str(binary), "--model", str(tiny_model), "--out", str(out)], env=env), binary)
    others = [str(p) for p in _compare_reports(tmp_path)]
    _one_line(run_cli(["compare", *others, str(binary), "--model", str(tiny_model), "--on-error", "stop",
                       "--out", str(out)], env=env), binary)
    corpus = tmp_path / "label-corpus"
    _one_line(run_cli(["label", str(binary), "--corpus", str(corpus), "--model", str(tiny_model)], env=env,
                      input=b"q\n"), binary)
    assert not corpus.exists() and not out.exists()
    info, path = _bad_label_corpus(tmp_path, "malformed JSON")
    target = _previous_model(tmp_path, tiny_model)
    before = tree_digest(target)
    _one_line(run_cli(["train", "--corpus", str(info["corpus"]), "--reports", str(info["reports"]), "--config",
                       str(info["config"]), "--out", str(target)], env=env), f"{path}:3:")
    assert tree_digest(target) == before
    results = tmp_path / "RESULTS.md"
    _one_line(run_cli(["evaluate", "--corpus", str(info["corpus"]), "--reports", str(info["reports"]), "--config",
                       str(info["config"]), "--results", str(results)], env=env), f"{path}:3:")
    assert not results.exists()
    broken = copy_model(tiny_model, tmp_path / "broken-model")
    _m_truncated_weights(broken, tmp_path)
    _one_line(run_cli(["classify", str(binary), "--model", str(broken)], env=env), broken)


def test_real_process_label_with_a_non_object_line(tmp_path, tiny_model):
    info, path = _bad_label_corpus(tmp_path, "line is not an object")
    proc = run_cli(["label", str(info["reports"] / "glenbrae.txt"), "--corpus", str(info["corpus"]), "--model",
                    str(tiny_model)], input=b"q\n")
    _one_line(proc, f"{path}:12:")


# -- untrusted model files (part 3) -----------------------------------------------------------------
class _Payload:
    """Unpickling this creates the marker file: proof that code in a model file ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


LOADER_FILES = ("meta.json", "featurizer.json", "weights.safetensors")
BESIDE_FILES = ("model.pkl", "model.joblib", "model.pickle", "pytorch_model.bin", "model.pt", "weights.npy",
                "featurizer.pkl", "heads.joblib")


@pytest.mark.parametrize("protocol", [0, pickle.HIGHEST_PROTOCOL])
@pytest.mark.parametrize("name", LOADER_FILES)
def test_pickle_under_a_loader_file_is_refused(tmp_path, tiny_model, name, protocol):
    from nlpfind.classify import FindingModel
    from nlpfind.errors import ModelError

    marker = tmp_path / "payload-ran"
    model = copy_model(tiny_model, tmp_path / "handed-over")
    (model / name).write_bytes(pickle.dumps({"weights": _Payload(marker)}, protocol=protocol))
    with pytest.raises(ModelError) as info:
        FindingModel.from_disk(model)
    message = str(info.value)
    assert str(model) in message and "\n" not in message
    assert not marker.exists()
    out = tmp_path / "out.jsonl"
    report = tmp_path / "glenbrae.txt"
    report.write_text(_glenbrae(), encoding="utf-8")
    assert_one_line_error(invoke(["classify", report, "--model", model, "--out", out]), model)
    assert not marker.exists() and not out.exists()


def test_pickles_beside_the_model_files_are_ignored(tmp_path, tiny_model):
    from nlpfind.classify import Classifier, FindingModel

    marker = tmp_path / "payload-ran"
    model = copy_model(tiny_model, tmp_path / "handed-over")
    for name in BESIDE_FILES:
        (model / name).write_bytes(pickle.dumps(_Payload(marker)))
    loaded = FindingModel.from_disk(model)
    text = _glenbrae()
    assert [f.as_dict() for f in Classifier(loaded).classify_text(text)] == [
        f.as_dict() for f in Classifier(tiny_model).classify_text(text)]
    report = tmp_path / "glenbrae.txt"
    report.write_text(text, encoding="utf-8")
    assert_ok(invoke(["classify", report, "--model", model, "--out", tmp_path / "out.jsonl"]))
    others = _compare_reports(tmp_path)
    assert_ok(invoke(["compare", *others, report, "--model", model, "--out", tmp_path / "cmp.json"]))
    assert not marker.exists()


def _sentence_transformers_folder(folder: Path, marker: Path) -> Path:
    """A sentence-transformers model folder whose only weights are a pickle (pytorch_model.bin)."""
    folder.mkdir()
    (folder / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]))
    (folder / "config.json").write_text(json.dumps({
        "model_type": "bert", "architectures": ["BertModel"], "hidden_size": 32, "num_attention_heads": 2,
        "num_hidden_layers": 1, "intermediate_size": 37, "vocab_size": 100}))
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 32,
                                                                   "pooling_mode_mean_tokens": True}))
    (folder / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
                                                + [f"w{i}" for i in range(95)]))
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps({"weight": _Payload(marker)}, protocol=2))
    return folder


@pytest.fixture
def embedder_in_the_model(tmp_path, tiny_model):
    """A handed-over model folder whose meta.json names an embedding model folder shipped inside it."""
    from nlpfind import embed

    marker = tmp_path / "payload-ran"
    model = copy_model(tiny_model, tmp_path / "handed-over")
    folder = _sentence_transformers_folder(model / "embedder", marker)
    _edit_meta(model, embedding_model=str(folder))
    yield model, folder, marker
    embed.forget_embedder(str(folder))


def test_embedding_model_named_by_a_model_file_never_runs_its_pickle(tmp_path, embedder_in_the_model):
    """compare embeds findings with the model's embedding model: a pickle there must not run."""
    from nlpfind.classify import FindingModel
    from nlpfind.errors import ModelError

    model, folder, marker = embedder_in_the_model
    with pytest.raises(ModelError) as info:
        FindingModel.from_disk(model).embedder().encode(["Most plans were reviewed on time."])
    assert str(folder) in str(info.value)
    assert not marker.exists()


def test_embedding_model_named_by_a_model_file_is_not_torch_loaded(monkeypatch, embedder_in_the_model):
    import torch

    from nlpfind.classify import FindingModel
    from nlpfind.errors import ModelError

    model, folder, marker = embedder_in_the_model
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args[0] if args else kwargs.get("f"))
        raise RuntimeError("torch.load called")

    monkeypatch.setattr(torch, "load", refuse)
    with pytest.raises(ModelError):
        FindingModel.from_disk(model).embedder().encode(["Most plans were reviewed on time."])
    assert calls == [], f"torch.load was called on {calls}"


def test_embedding_model_load_error_is_one_line(tmp_path, embedder_in_the_model):
    model, folder, marker = embedder_in_the_model
    others = _compare_reports(tmp_path)
    report = tmp_path / "glenbrae.txt"
    report.write_text(_glenbrae(), encoding="utf-8")
    out = tmp_path / "cmp.json"
    result = invoke(["compare", *others, report, "--model", model, "--out", out])
    assert not marker.exists() and not out.exists()
    assert_one_line_error(result, folder)


_FORBIDDEN_NAMES = {"pickle", "cPickle", "joblib", "cloudpickle", "dill", "shelve", "marshal"}


def _code_tokens(path: Path) -> list[tokenize.TokenInfo]:
    """The tokens of a Python file without comments, strings (docstrings included) and layout."""
    skip = {tokenize.COMMENT, tokenize.STRING, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENCODING, tokenize.ENDMARKER}
    skip |= {getattr(tokenize, n) for n in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END") if hasattr(tokenize, n)}
    with open(path, "rb") as fh:
        return [t for t in tokenize.tokenize(fh.readline) if t.type not in skip]


_SAFE_VALUES = {"allow_pickle": "False", "weights_only": "True", "trust_remote_code": "False"}


def _call_text(toks: list[tokenize.TokenInfo], i: int) -> str:
    """The argument tokens of the call whose '(' is toks[i], joined."""
    depth, out = 0, []
    for t in toks[i:]:
        depth += {"(": 1, ")": -1}.get(t.string, 0)
        out.append(t.string)
        if depth == 0:
            break
    return "".join(out)


def test_library_source_never_unpickles():
    """No pickle, joblib or torch.load in nlpfind/ (comments and docstrings aside); np.load only without pickles."""
    problems = []
    files = sorted((REPO / "nlpfind").rglob("*.py"))
    assert files
    for path in files:
        toks = _code_tokens(path)
        rel = path.relative_to(REPO)

        def where(t, rel=rel):
            return f"{rel}:{t.start[0]}"
        for i, t in enumerate(toks):
            nxt = [x.string for x in toks[i + 1:i + 4]]
            if t.type == tokenize.NAME and t.string in _FORBIDDEN_NAMES:
                problems.append(f"{where(t)}: {t.string}")
            if t.string == "torch" and nxt[:2] == [".", "load"]:
                problems.append(f"{where(t)}: torch.load")
            if t.string in _SAFE_VALUES and nxt[:1] == ["="] and nxt[1:2] != [_SAFE_VALUES[t.string]]:
                problems.append(f"{where(t)}: {t.string}={''.join(nxt[1:2])}")
            if t.string == "load" and i > 1 and toks[i - 1].string == "." and toks[i - 2].string in ("np", "numpy"):
                if "allow_pickle=False" not in _call_text(toks, i + 1):
                    problems.append(f"{where(t)}: np.load without allow_pickle=False")
    assert problems == []
