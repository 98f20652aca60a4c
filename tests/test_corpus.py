"""The labelled corpus: label files point into report files by offsets and hashes."""

from __future__ import annotations

import json
import re

import pytest
from conftest import REPO, SHARED, needs_shared
from reportdocs import PAGED_TEXT

from nlpfind.corpus import (
    DEFAULT_CORPUS,
    REQUIRED_KEYS,
    append_label,
    label_record,
    load_corpus,
    read_manifest,
    sentence_hash,
)
from nlpfind.errors import CorpusError
from nlpfind.segment import segment

REPORT_ID = "kilbrannan-2025"


@pytest.fixture(autouse=True)
def _no_report_env(monkeypatch):
    monkeypatch.delenv("NLPFIND_REPORTS", raising=False)


@pytest.fixture
def tiny(tmp_path, framework):
    """A corpus folder with one report (outside it), a manifest and one label file of five lines."""
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "kilbrannan.txt").write_text(PAGED_TEXT, encoding="utf-8")
    corpus = tmp_path / "corpus"
    (corpus / "labels").mkdir(parents=True)
    (corpus / "manifest.csv").write_text(
        "report,file,partnership,year,programme,url\n"
        f"{REPORT_ID},reports/kilbrannan.txt,Kilbrannan,2025,CARH,https://example.org/kilbrannan\n",
        encoding="utf-8")
    sents = segment(PAGED_TEXT, framework)
    chosen = [s for s in sents if s.statement_section][:5]
    labels = [("1", "strength", ["recognition-response"]), ("1", "strength", ["ird-investigation"]),
              ("1", "strength", ["multi-agency-working"]), ("2", "strength", ["assessment-planning"]),
              ("2", "weakness", ["chronologies"])]
    path = corpus / "labels" / f"{REPORT_ID}.jsonl"
    for s, (st, pol, themes) in zip(chosen, labels):
        quants = [{"start": q.start, "end": q.end, "term": q.term, "low": q.low, "high": q.high}
                  for q in _tagger(framework).tag(s)]
        append_label(path, label_record(REPORT_ID, s, st, pol, themes, quants, annotator="tester"))
    return {"corpus": corpus, "reports": reports, "labels": path, "sentences": chosen, "report": reports /
            "kilbrannan.txt"}


def _tagger(framework, _cache={}):  # noqa: B006 - a deliberate per-process cache
    from nlpfind.quantify import QuantifierTagger

    if "t" not in _cache:
        _cache["t"] = QuantifierTagger(framework)
    return _cache["t"]


def _load(tiny, framework):
    return load_corpus(tiny["corpus"], framework, report_dirs=[tiny["corpus"].parent])


def _lines(tiny):
    return tiny["labels"].read_text(encoding="utf-8").splitlines()


def _rewrite(tiny, lines):
    tiny["labels"].write_text("\n".join(lines) + "\n", encoding="utf-8")


def _set(tiny, n: int, **changes):
    lines = _lines(tiny)
    obj = json.loads(lines[n - 1])
    obj.update(changes)
    lines[n - 1] = json.dumps(obj)
    _rewrite(tiny, lines)


def _corpus_error(tiny, framework) -> str:
    with pytest.raises(CorpusError) as info:
        _load(tiny, framework)
    assert "\n" not in str(info.value)
    return str(info.value)


# -- a good corpus ---------------------------------------------------------------------------------
def test_tiny_corpus_loads(tiny, framework):
    corpus = _load(tiny, framework)
    assert len(corpus) == 5
    first = corpus.sentences[0]
    s = tiny["sentences"][0]
    assert (first.report, first.partnership, first.start, first.end) == (REPORT_ID, "Kilbrannan", s.start, s.end)
    assert first.text == PAGED_TEXT[s.start:s.end] and first.clean == s.clean
    assert first.statement_section == "1" and first.section == s.section
    assert (first.statement, first.polarity, first.themes) == ("1", "strength", ("recognition-response",))
    assert [q[2] for q in first.quantifiers] == ["almost all"]
    assert [r.report for r in corpus.reports] == [REPORT_ID]
    assert corpus.files == (str(tiny["labels"]),)
    assert re.fullmatch(r"[0-9a-f]{16}", corpus.data_hash)


def test_data_hash_changes_with_the_labels(tiny, framework):
    before = _load(tiny, framework).data_hash
    assert _load(tiny, framework).data_hash == before
    _set(tiny, 5, polarity="mixed")
    assert _load(tiny, framework).data_hash != before


def test_report_found_by_file_name_in_a_reports_dir(tiny, framework):
    corpus = load_corpus(tiny["corpus"], framework, report_dirs=[tiny["reports"]])
    assert len(corpus) == 5


def test_nlpfind_reports_environment_variable(tiny, framework, monkeypatch):
    monkeypatch.setenv("NLPFIND_REPORTS", str(tiny["reports"]))
    assert len(load_corpus(tiny["corpus"], framework)) == 5


def test_to_dataset(tiny, framework):
    from datasets import ClassLabel, Dataset

    ds = _load(tiny, framework).to_dataset(framework)
    assert isinstance(ds, Dataset) and len(ds) == 5
    assert isinstance(ds.features["statement"], ClassLabel)
    assert ds.features["statement"].names == list(framework.statement_labels)
    assert isinstance(ds.features["polarity"], ClassLabel)
    assert ds.features["polarity"].names == ["strength", "weakness", "mixed", "neutral"]
    themes = ds.features["themes"]
    inner = getattr(themes, "feature", themes[0] if isinstance(themes, list) else None)
    assert isinstance(inner, ClassLabel) and inner.names == list(framework.theme_ids)
    row = ds[4]
    assert ds.features["statement"].int2str(row["statement"]) == "2"
    assert ds.features["polarity"].int2str(row["polarity"]) == "weakness"
    assert [inner.int2str(t) for t in row["themes"]] == ["chronologies"]
    assert row["text"] == tiny["sentences"][4].clean


def test_label_files_never_hold_the_sentence_text(tiny):
    raw = tiny["labels"].read_text(encoding="utf-8")
    for s in tiny["sentences"]:
        words = s.clean.split()
        for k in range(0, len(words) - 3):
            assert " ".join(words[k:k + 4]) not in raw
    for line in raw.splitlines():
        obj = json.loads(line)
        assert set(obj) == set(REQUIRED_KEYS) | {"annotator"}
        assert obj["sha1"] == sentence_hash(PAGED_TEXT[obj["start"]:obj["end"]])


def test_label_record_holds_offsets_and_hash_only(tiny):
    s = tiny["sentences"][0]
    rec = label_record(REPORT_ID, s, "1", "strength", ["chronologies"],
                       [{"start": s.start + 3, "end": s.start + 13, "term": "almost all", "low": 91, "high": 99,
                         "text": "almost all"}])
    assert rec == {"report": REPORT_ID, "start": s.start, "end": s.end, "sha1": sentence_hash(s.text),
                   "statement": "1", "polarity": "strength", "themes": ["chronologies"],
                   "quantifiers": [{"start": s.start + 3, "end": s.start + 13, "term": "almost all", "low": 91,
                                    "high": 99}]}


def test_duplicate_line_with_the_same_labels_is_kept_once(tiny, framework):
    lines = _lines(tiny)
    _rewrite(tiny, lines + [lines[0]])
    assert len(_load(tiny, framework)) == 5


def test_blank_lines_are_ignored(tiny, framework):
    lines = _lines(tiny)
    _rewrite(tiny, [lines[0], "", "   ", *lines[1:]])
    assert len(_load(tiny, framework)) == 5


def test_read_manifest(tiny):
    m = read_manifest(tiny["corpus"] / "manifest.csv")
    assert m[REPORT_ID].file == "reports/kilbrannan.txt" and m[REPORT_ID].year == "2025"


# -- bad corpora: CorpusError naming the file and line -----------------------------------------------
def _names_line(message: str, tiny, n: int) -> None:
    assert f"{tiny['labels']}:{n}:" in message, message


def test_malformed_json_line(tiny, framework):
    lines = _lines(tiny)
    lines[2] = lines[2][:-5]
    _rewrite(tiny, lines)
    message = _corpus_error(tiny, framework)
    _names_line(message, tiny, 3)
    assert "malformed JSON" in message


def test_line_that_is_not_an_object(tiny, framework):
    _rewrite(tiny, _lines(tiny) + ["[1, 2, 3]"])
    _names_line(_corpus_error(tiny, framework), tiny, 6)


def test_missing_key(tiny, framework):
    lines = _lines(tiny)
    obj = json.loads(lines[1])
    del obj["sha1"]
    lines[1] = json.dumps(obj)
    _rewrite(tiny, lines)
    message = _corpus_error(tiny, framework)
    _names_line(message, tiny, 2)
    assert "'sha1'" in message


@pytest.mark.parametrize("field, value, expected", [
    ("statement", "5", r"unknown statement '5'"),
    ("statement", "none ", r"unknown statement 'none '.*Did you mean \"none\""),
    ("polarity", "strenght", r"unknown polarity 'strenght'.*Did you mean \"strength\""),
    ("themes", ["chronology"], r"unknown theme 'chronology'.*Did you mean \"chronologies\""),
    ("themes", "chronologies", r"'themes' must be a list"),
    ("quantifiers", [{"start": 0, "end": 1, "term": "mostt"}],
     r"unknown quantifier term 'mostt'.*Did you mean \"most\""),
    ("start", "10", r"'start'/'end' must be integers"),
    ("start", -4, r"0 <= start < end"),
])
def test_unknown_values(tiny, framework, field, value, expected):
    _set(tiny, 2, **{field: value})
    message = _corpus_error(tiny, framework)
    _names_line(message, tiny, 2)
    assert re.search(expected, message), message


def test_quantifier_outside_its_sentence(tiny, framework):
    s = tiny["sentences"][1]
    _set(tiny, 2, quantifiers=[{"start": s.end - 2, "end": s.end + 8, "term": "most", "low": 75, "high": 90}])
    message = _corpus_error(tiny, framework)
    _names_line(message, tiny, 2)
    assert "inside the sentence" in message


def test_offsets_outside_the_text(tiny, framework):
    n = len(PAGED_TEXT)
    _set(tiny, 4, start=n + 10, end=n + 90, quantifiers=[])
    message = _corpus_error(tiny, framework)
    _names_line(message, tiny, 4)
    assert "outside report" in message and str(n) in message


def test_hash_mismatch_after_the_report_changed(tiny, framework):
    s = tiny["sentences"][2]
    changed = PAGED_TEXT[:s.start] + PAGED_TEXT[s.start:s.end].replace("well", "poorly", 1) + PAGED_TEXT[s.end:]
    assert changed != PAGED_TEXT
    tiny["report"].write_text(changed, encoding="utf-8")
    message = _corpus_error(tiny, framework)
    _names_line(message, tiny, 3)
    assert "hash" in message and REPORT_ID in message


def test_conflicting_duplicate(tiny, framework):
    lines = _lines(tiny)
    obj = json.loads(lines[0])
    obj["polarity"] = "weakness"
    _rewrite(tiny, lines + [json.dumps(obj)])
    message = _corpus_error(tiny, framework)
    _names_line(message, tiny, 6)
    assert "conflicting" in message


def test_duplicate_with_conflicting_themes(tiny, framework):
    lines = _lines(tiny)
    obj = json.loads(lines[0])
    obj["themes"] = ["advocacy"]
    _rewrite(tiny, lines + [json.dumps(obj)])
    message = _corpus_error(tiny, framework)
    _names_line(message, tiny, 6)


def test_empty_label_file(tiny, framework):
    tiny["labels"].write_text("", encoding="utf-8")
    message = _corpus_error(tiny, framework)
    assert str(tiny["corpus"] / "labels") in message and "empty" in message


def test_no_label_files(tiny, framework):
    tiny["labels"].unlink()
    message = _corpus_error(tiny, framework)
    assert str(tiny["corpus"] / "labels") in message and "no label files" in message


def test_report_not_in_manifest(tiny, framework):
    _set(tiny, 3, report="kilbrannan-2024")
    message = _corpus_error(tiny, framework)
    _names_line(message, tiny, 3)
    assert "manifest.csv" in message and f'Did you mean "{REPORT_ID}"' in message


def test_report_file_missing(tiny, framework):
    tiny["report"].unlink()
    message = _corpus_error(tiny, framework)
    _names_line(message, tiny, 1)
    assert "reports/kilbrannan.txt" in message and "--reports" in message


def test_manifest_missing_or_incomplete(tiny, framework):
    manifest = tiny["corpus"] / "manifest.csv"
    manifest.write_text("report,file\nx,y.txt\n", encoding="utf-8")
    assert "partnership" in _corpus_error(tiny, framework)
    manifest.write_text(f"report,file,partnership\n{REPORT_ID},a.txt,A\n{REPORT_ID},b.txt,B\n", encoding="utf-8")
    message = _corpus_error(tiny, framework)
    assert f"{manifest}:3" in message and "twice" in message
    manifest.unlink()
    assert "manifest" in _corpus_error(tiny, framework)


def test_label_file_not_utf8(tiny, framework):
    tiny["labels"].write_bytes(b'{"report": "caf\xe9"}\n')
    message = _corpus_error(tiny, framework)
    assert str(tiny["labels"]) in message and "UTF-8" in message


def test_corpus_folder_missing(tmp_path, framework):
    with pytest.raises(CorpusError, match="corpus folder not found"):
        load_corpus(tmp_path / "nowhere", framework)


# -- the shipped corpus --------------------------------------------------------------------------------
def test_shipped_label_files_hold_no_text():
    allowed = set(REQUIRED_KEYS) | {"annotator"}
    files = sorted((DEFAULT_CORPUS / "labels").glob("*.jsonl"))
    assert files and DEFAULT_CORPUS == REPO / "corpus"
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            obj = json.loads(line)
            assert set(obj) <= allowed, f"{path}:{n}: unexpected keys {set(obj) - allowed}"
            for q in obj["quantifiers"]:
                assert set(q) <= {"start", "end", "term", "low", "high"}, f"{path}:{n}"


@needs_shared
def test_shipped_corpus_loads_against_the_shared_reports(framework):
    corpus = load_corpus(None, framework, report_dirs=[SHARED])
    assert len(corpus) > 100
    for s in corpus.sentences[:200]:
        assert s.clean and s.statement in framework.statement_labels
