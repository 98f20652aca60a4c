"""The labelled corpus: label files that reference report text by id, offsets and hash.

Report text is third-party and stays outside the repository; a label line holds the report
id, the sentence's offsets into the report as read, a hash of its text and the labels. The
loader joins the text from the report files and refuses any label whose hash no longer matches.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .config import POLARITIES, Framework
from .errors import CorpusError, did_you_mean
from .read import read_document
from .segment import Sentence, segment

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO_ROOT / "corpus"
QUANTIFIER_TERMS_EXTRA = ("percentage", "fraction", "count")
MANIFEST_COLUMNS = ("report", "file", "partnership", "year", "programme", "url")
REQUIRED_KEYS = ("report", "start", "end", "sha1", "statement", "polarity", "themes", "quantifiers")


def default_report_dirs() -> list[Path]:
    """Where report files are looked for: $NLPFIND_REPORTS, then ../shared/corpus."""
    dirs = [Path(p) for p in os.environ.get("NLPFIND_REPORTS", "").split(os.pathsep) if p]
    dirs.append(REPO_ROOT.parent / "shared" / "corpus")
    return dirs


def sentence_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class SourceReport:
    report: str
    file: str
    partnership: str
    year: str = ""
    programme: str = ""
    url: str = ""
    framework: str = ""


@dataclass(frozen=True)
class LabelledSentence:
    """A labelled sentence joined with its text and layout context."""

    report: str
    partnership: str
    start: int
    end: int
    text: str
    clean: str
    section: tuple[str, ...]
    statement_section: str | None
    statement: str
    polarity: str
    themes: tuple[str, ...]
    quantifiers: tuple[tuple[int, int, str, int | None, int | None], ...] = ()
    in_finding_section: bool = True

    @property
    def section_label(self) -> str:
        return " > ".join(self.section)


@dataclass(frozen=True)
class Corpus:
    sentences: tuple[LabelledSentence, ...]
    reports: tuple[SourceReport, ...]
    data_hash: str
    files: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.sentences)

    def to_dataset(self, framework: Framework):
        """The corpus as a Hugging Face `datasets.Dataset` with typed label columns."""
        from datasets import ClassLabel, Dataset, Features, Value
        from datasets import Sequence as HFSequence

        features = Features({
            "report": Value("string"), "partnership": Value("string"),
            "start": Value("int64"), "end": Value("int64"), "text": Value("string"),
            "section": Value("string"),
            "statement": ClassLabel(names=list(framework.statement_labels)),
            "polarity": ClassLabel(names=list(POLARITIES)),
            "themes": HFSequence(ClassLabel(names=list(framework.theme_ids))),
        })
        rows = [{"report": s.report, "partnership": s.partnership, "start": s.start, "end": s.end,
                 "text": s.clean, "section": s.section_label, "statement": s.statement,
                 "polarity": s.polarity, "themes": list(s.themes)} for s in self.sentences]
        return Dataset.from_list(rows, features=features)


def read_manifest(path: Path) -> dict[str, SourceReport]:
    if not path.is_file():
        raise CorpusError(f"{path}: corpus manifest not found; a corpus folder needs manifest.csv")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("report", "file", "partnership") if c not in (reader.fieldnames or [])]
        if missing:
            raise CorpusError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(MANIFEST_COLUMNS)}")
        out: dict[str, SourceReport] = {}
        for n, row in enumerate(reader, start=2):
            rid = (row.get("report") or "").strip()
            if not rid:
                raise CorpusError(f"{path}:{n}: empty 'report' id")
            if rid in out:
                raise CorpusError(f"{path}:{n}: report id {rid!r} listed twice")
            out[rid] = SourceReport(rid, row["file"].strip(), row["partnership"].strip(),
                                    (row.get("year") or "").strip(), (row.get("programme") or "").strip(),
                                    (row.get("url") or "").strip(), (row.get("framework") or "").strip())
    return out


def find_report_file(rel: str, report_dirs: Sequence[Path]) -> Path | None:
    for d in report_dirs:
        p = Path(d) / rel
        if p.is_file():
            return p
        p = Path(d) / Path(rel).name
        if p.is_file():
            return p
    return None


def _validate_line(obj, where: str, framework: Framework) -> dict:
    if not isinstance(obj, dict):
        raise CorpusError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    for key in REQUIRED_KEYS:
        if key not in obj:
            raise CorpusError(f"{where}: missing key {key!r}; every line needs {', '.join(REQUIRED_KEYS)}")
    if not isinstance(obj["start"], int) or not isinstance(obj["end"], int) or obj["start"] >= obj["end"] or obj["start"] < 0:
        raise CorpusError(f"{where}: 'start'/'end' must be integers with 0 <= start < end")
    st = str(obj["statement"])
    if st not in framework.statement_labels:
        raise CorpusError(f"{where}: unknown statement {st!r}; allowed: {', '.join(framework.statement_labels)}."
                          + did_you_mean(st, framework.statement_labels))
    pol = obj["polarity"]
    if pol not in POLARITIES:
        raise CorpusError(f"{where}: unknown polarity {pol!r}; allowed: {', '.join(POLARITIES)}."
                          + did_you_mean(str(pol), POLARITIES))
    if not isinstance(obj["themes"], list):
        raise CorpusError(f"{where}: 'themes' must be a list of theme ids")
    for t in obj["themes"]:
        if t not in framework.theme_ids:
            raise CorpusError(f"{where}: unknown theme {t!r}; see the themes file of framework "
                              f"{framework.id!r}." + did_you_mean(str(t), framework.theme_ids))
    terms = {q.term for q in framework.quantifiers} | set(QUANTIFIER_TERMS_EXTRA)
    if not isinstance(obj["quantifiers"], list):
        raise CorpusError(f"{where}: 'quantifiers' must be a list")
    for q in obj["quantifiers"]:
        if not isinstance(q, dict) or q.get("term") not in terms:
            term = q.get("term") if isinstance(q, dict) else q
            raise CorpusError(f"{where}: unknown quantifier term {term!r}; allowed: {', '.join(sorted(terms))}."
                              + did_you_mean(str(term), terms))
        if not (isinstance(q.get("start"), int) and isinstance(q.get("end"), int)
                and obj["start"] <= q["start"] < q["end"] <= obj["end"]):
            raise CorpusError(f"{where}: quantifier offsets must lie inside the sentence's start/end")
    return obj


def iter_label_lines(path: Path) -> Iterable[tuple[int, dict | None, str]]:
    """(line number, parsed object or None, raw line) for each non-blank line."""
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CorpusError(f"{path}: not UTF-8 text") from None
    for n, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line), line
        except json.JSONDecodeError as exc:
            raise CorpusError(f"{path}:{n}: malformed JSON ({exc.msg} at column {exc.colno}); "
                              "fix or delete that line") from None


def load_corpus(corpus_dir: str | Path | None, framework: Framework,
                report_dirs: Sequence[str | Path] | None = None) -> Corpus:
    """Load and validate every label file under `corpus_dir`/labels, joining report text."""
    corpus_dir = Path(corpus_dir) if corpus_dir else DEFAULT_CORPUS
    if not corpus_dir.is_dir():
        raise CorpusError(f"{corpus_dir}: corpus folder not found")
    dirs = [Path(d) for d in (report_dirs or [])] + default_report_dirs() + [corpus_dir]
    manifest = read_manifest(corpus_dir / "manifest.csv")
    label_files = sorted((corpus_dir / "labels").glob("*.jsonl"))
    if not label_files:
        raise CorpusError(f"{corpus_dir}/labels: no label files (*.jsonl); label a report with 'nlpfind label'")
    texts: dict[str, str] = {}
    layouts: dict[str, dict[tuple[int, int], Sentence]] = {}
    seen: dict[tuple[str, int, int], tuple[str, str]] = {}
    out: list[LabelledSentence] = []
    digest = hashlib.sha256()
    for lf in label_files:
        for n, obj, raw in iter_label_lines(lf):
            where = f"{lf}:{n}"
            obj = _validate_line(obj, where, framework)
            rid = obj["report"]
            if rid not in manifest:
                raise CorpusError(f"{where}: report {rid!r} is not in {corpus_dir / 'manifest.csv'}; add it there."
                                  + did_you_mean(rid, manifest))
            if rid not in texts:
                src = find_report_file(manifest[rid].file, dirs)
                if src is None:
                    raise CorpusError(f"{where}: no text for report {rid!r} (file {manifest[rid].file!r} not found "
                                      f"under {', '.join(str(d) for d in dirs)}); pass --reports DIR")
                texts[rid] = read_document(src).text
                layout_fw = _framework_for(manifest[rid].framework, framework, where)
                layouts[rid] = {(s.start, s.end): s for s in segment(texts[rid], layout_fw)}
            text = texts[rid]
            start, end = obj["start"], obj["end"]
            if end > len(text):
                raise CorpusError(f"{where}: offsets {start}-{end} lie outside report {rid!r} ({len(text)} characters)")
            span = text[start:end]
            if sentence_hash(span) != obj["sha1"]:
                raise CorpusError(f"{where}: text of report {rid!r} at {start}-{end} no longer matches the "
                                  "label's hash (the report file changed?); relabel that sentence")
            key = (rid, start, end)
            labels = (str(obj["statement"]), obj["polarity"], tuple(sorted(obj["themes"])))
            if key in seen:
                if seen[key] != labels:
                    raise CorpusError(f"{where}: sentence {rid}:{start}-{end} is labelled twice with conflicting "
                                      f"labels {seen[key]} and {labels}; keep one")
                continue
            seen[key] = labels
            digest.update(raw.encode())
            sent = layouts[rid].get((start, end))
            if sent is None:
                sent = _context_for(layouts[rid], text, start, end)
            out.append(LabelledSentence(
                report=rid, partnership=manifest[rid].partnership, start=start, end=end, text=span,
                clean=sent.clean, section=sent.section, statement_section=sent.statement_section,
                statement=str(obj["statement"]), polarity=obj["polarity"], themes=tuple(obj["themes"]),
                quantifiers=tuple((q["start"], q["end"], q["term"], q.get("low"), q.get("high"))
                                  for q in obj["quantifiers"]),
                in_finding_section=sent.in_finding_section,
            ))
    if not out:
        raise CorpusError(f"{corpus_dir}/labels: the corpus is empty (no labelled sentences)")
    used = sorted({s.report for s in out})
    return Corpus(tuple(out), tuple(manifest[r] for r in used), digest.hexdigest()[:16],
                  tuple(str(f) for f in label_files))


def _framework_for(name: str, default: Framework, where: str) -> Framework:
    """The framework whose headings lay out a report (manifest column `framework`)."""
    if not name or name == default.id:
        return default
    from .config import load_framework
    from .errors import ConfigError

    try:
        return load_framework(name)
    except ConfigError as exc:
        raise CorpusError(f"{where}: manifest names framework {name!r}: {exc}") from None


def _context_for(layout: dict[tuple[int, int], Sentence], text: str, start: int, end: int) -> Sentence:
    """Layout context for a label span that is not exactly one segmented sentence."""
    import re

    best = None
    for (a, b), s in layout.items():
        if a <= start < b or (best is None and a >= start):
            best = s
            if a <= start < b:
                break
    clean = re.sub(r"\s+", " ", text[start:end].replace("**", "")).strip()
    return Sentence(index=0, start=start, end=end, text=text[start:end], clean=clean,
                    section=best.section if best else (), statement_section=best.statement_section if best else None,
                    in_finding_section=best.in_finding_section if best else True)


def label_record(report: str, sentence: Sentence, statement: str, polarity: str, themes: Sequence[str],
                 quantifiers: Sequence[dict], annotator: str = "") -> dict:
    """A label line for `sentence` (offsets and hash, never the text)."""
    rec = {"report": report, "start": sentence.start, "end": sentence.end,
           "sha1": sentence_hash(sentence.text), "statement": statement, "polarity": polarity,
           "themes": list(themes), "quantifiers": [
               {"start": q["start"], "end": q["end"], "term": q["term"], "low": q.get("low"),
                "high": q.get("high")} for q in quantifiers]}
    if annotator:
        rec["annotator"] = annotator
    return rec


def append_label(path: Path, record: dict) -> None:
    """Append one label line durably (flush + fsync), so an interrupt loses nothing answered."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())
