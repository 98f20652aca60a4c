"""Labelling a new report in the terminal, and agreement between two annotators."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import POLARITIES, Framework, load_framework
from .corpus import DEFAULT_CORPUS, append_label, iter_label_lines, label_record
from .errors import CorpusError, ModelError, NlpfindError
from .read import read_document
from .segment import Sentence, segment

POLARITY_KEYS = {"s": "strength", "w": "weakness", "m": "mixed", "u": "neutral"}
HELP = ("Enter = accept · <statement><polarity> to correct, e.g. 2w (statement 2, weakness), 4s, nm (none, mixed); "
        "polarity keys s/w/m/u (strength/weakness/mixed/neutral); longer statement ids: 'leaders w' · "
        "n = none, neutral · t <theme ids> = set themes · k = skip · q = quit")


@dataclass
class Item:
    sentence: Sentence
    statement: str
    polarity: str
    themes: tuple[str, ...]
    quantifiers: tuple[dict, ...]
    certainty: float


@dataclass
class LabelSession:
    report: str
    label_file: Path
    framework: Framework
    items: list[Item]
    annotator: str = ""
    answered: int = 0
    done: set = field(default_factory=set)

    @classmethod
    def start(cls, report_path: str, corpus_dir: Path | None = None, model: Path | None = None, *,
              annotator: str = "", partnership: str | None = None) -> LabelSession:
        """Segment and pre-classify `report_path`; least certain sentences first; skip answered ones."""
        corpus_dir = Path(corpus_dir) if corpus_dir else DEFAULT_CORPUS
        doc = read_document(report_path)
        if doc.path == "<stdin>":
            raise NlpfindError("label needs a report file, not stdin (labels point into the file by offsets)")
        try:
            from .classify import Classifier

            classifier = Classifier(model)
            framework = classifier.framework
        except ModelError:
            if model is not None:
                raise
            classifier, framework = None, load_framework()
        sentences = segment(doc.text, framework)
        if not sentences:
            raise NlpfindError(f"{report_path}: no sentences found to label")
        label_file = corpus_dir / "labels" / f"{doc.report_id}.jsonl"
        done = set()
        if label_file.is_file():
            for n, obj, _raw in iter_label_lines(label_file):
                if not isinstance(obj, dict):
                    raise CorpusError(f"{label_file}:{n}: expected a JSON object, got {type(obj).__name__}; "
                                      "fix or delete that line")
                done.add((obj.get("start"), obj.get("end")))
        _ensure_manifest(corpus_dir, doc.report_id, Path(report_path), partnership)
        items = []
        if classifier is not None:
            findings = list(classifier.classify_text(doc.text, doc.report_id))
            by_span = {(f.start, f.end): f for f in findings}
        else:
            by_span = {}
        for s in sentences:
            if (s.start, s.end) in done:
                continue
            f = by_span.get((s.start, s.end))
            if f is not None:
                items.append(Item(s, f.statement, f.polarity, f.themes,
                                  tuple(q.as_dict() for q in f.quantifiers), prefill_certainty(f)))
            else:
                items.append(Item(s, "none", "neutral", (), (), 0.0))
        items.sort(key=lambda it: (it.certainty, it.sentence.index))
        return cls(doc.report_id, label_file, framework, items, annotator, 0, done)

    def answer(self, item: Item, statement: str, polarity: str, themes: tuple[str, ...]) -> None:
        """Append one answer durably."""
        if statement not in self.framework.statement_labels or polarity not in POLARITIES:
            raise CorpusError(f"invalid answer {statement!r}/{polarity!r}")
        unknown = [t for t in themes if t not in self.framework.theme_ids]
        if unknown:
            raise CorpusError(f"unknown theme(s): {', '.join(unknown)}")
        rec = label_record(self.report, item.sentence, statement, polarity, themes, item.quantifiers,
                           self.annotator)
        append_label(self.label_file, rec)
        self.answered += 1


def prefill_certainty(finding) -> float:
    """How sure the model is of what it prefills: the probability of its statement times that of its polarity.
    Not the highest probabilities: a polarity decided by a threshold against the most likely class (models
    with `polarity_thresholds`) is one the model is unsure of, and comes early."""
    return finding.statement_scores.get(finding.statement, 0.0) * finding.polarity_scores.get(finding.polarity, 0.0)


def parse_answer(text: str, item: Item, framework: Framework) -> tuple[str, str, tuple[str, ...]] | str:
    """Turn a typed answer into labels, or one of 'skip', 'quit', 'help', or an error message."""
    t = text.strip().lower()
    if t in ("", "a", "y"):
        return item.statement, item.polarity, item.themes
    if t in ("k", "skip"):
        return "skip"
    if t in ("q", "quit"):
        return "quit"
    if t in ("?", "h", "help"):
        return "help"
    if t == "n":
        return "none", "neutral", ()
    if t.startswith("t ") or t == "t":
        themes = tuple(x for x in t[1:].replace(",", " ").split() if x)
        bad = [x for x in themes if x not in framework.theme_ids]
        if bad:
            return f"unknown theme(s) {', '.join(bad)}; known: {', '.join(framework.theme_ids)}"
        return item.statement, item.polarity, themes
    # "<statement><polarity>" ("2w") or, for longer statement ids, "<statement> <polarity>".
    parts = t.split()
    sid, key = (parts[0], parts[1]) if len(parts) == 2 else (t[:-1], t[-1:])
    if key in POLARITY_KEYS and sid in framework.statement_ids + ("n", "none"):
        statement = "none" if sid in ("n", "none") else sid
        return statement, POLARITY_KEYS[key], item.themes
    return f"not understood: {text!r}. {HELP}"


def run_terminal_loop(session: LabelSession, input_fn: Callable[[str], str] = input,
                      echo: Callable[[str], None] = print) -> int:
    """Ask about each sentence; every answer is saved before the next question."""
    echo(HELP)
    total = len(session.items)
    for n, item in enumerate(session.items, start=1):
        s = item.sentence
        echo("")
        echo(f"[{n}/{total}] {s.section_label or '(no section)'}")
        echo(f"  {s.clean}")
        quants = ", ".join(q["term"] for q in item.quantifiers) or "-"
        echo(f"  model: statement {item.statement} · {item.polarity} · themes {', '.join(item.themes) or '-'} "
             f"· quantifiers {quants} (certainty {item.certainty:.2f})")
        while True:
            result = parse_answer(input_fn("> "), item, session.framework)
            if result == "help":
                echo(HELP)
                continue
            if isinstance(result, str) and result not in ("skip", "quit"):
                echo(result)
                continue
            break
        if result == "quit":
            break
        if result == "skip":
            continue
        statement, polarity, themes = result
        session.answer(item, statement, polarity, themes)
        if (statement, polarity, themes) != (item.statement, item.polarity, item.themes):
            item.statement, item.polarity, item.themes = statement, polarity, themes
    return session.answered


def _ensure_manifest(corpus_dir: Path, report_id: str, path: Path, partnership: str | None) -> None:
    manifest = corpus_dir / "manifest.csv"
    rows = []
    if manifest.is_file():
        with manifest.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        if any(r.get("report") == report_id for r in rows):
            return
    fields = ["report", "file", "partnership", "year", "programme", "url", "kind"]
    rows.append({"report": report_id, "file": str(path.resolve()), "partnership": partnership or report_id,
                 "year": "", "programme": "", "url": "", "kind": "labelled with nlpfind label"})
    manifest.parent.mkdir(parents=True, exist_ok=True)
    tmp = manifest.with_name(manifest.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, manifest)


def _read_labels(path: Path) -> dict[tuple, dict]:
    if not Path(path).is_file():
        raise CorpusError(f"{path}: label file not found")
    out = {}
    for n, obj, _raw in iter_label_lines(Path(path)):
        if not isinstance(obj, dict) or not all(k in obj for k in ("report", "start", "end", "statement", "polarity")):
            raise CorpusError(f"{path}:{n}: a label line needs report, start, end, statement and polarity")
        out[(obj["report"], obj["start"], obj["end"])] = obj
    return out


def agreement(a: Path, b: Path) -> dict:
    """Cohen's kappa per label over the sentences both files label, with its 95% interval (1,000 resamples of those
    sentences; None where a label takes one value only)."""
    from sklearn.metrics import cohen_kappa_score

    la, lb = _read_labels(a), _read_labels(b)
    keys = sorted(set(la) & set(lb))
    if not keys:
        raise CorpusError(f"{a} and {b} share no sentences (matched by report and offsets)")
    for k in keys:
        if la[k].get("sha1") and lb[k].get("sha1") and la[k]["sha1"] != lb[k]["sha1"]:
            raise CorpusError(f"{b}: sentence {k[0]}:{k[1]}-{k[2]} has a different text hash than in {a}")

    from .evaluate import bootstrap_weights

    # one set of resamples of the shared sentences for every label
    weights = bootstrap_weights([str(i) for i in range(len(keys))])[0]

    def row(x, y) -> dict:
        agree = sum(p == q for p, q in zip(x, y)) / len(keys)
        if len(set(x) | set(y)) < 2:
            return {"kappa": None, "agreement": agree, "interval": None}
        return {"kappa": float(cohen_kappa_score(x, y)), "agreement": agree, "interval": kappa_interval(x, y, weights)}

    out = {}
    for name in ("statement", "polarity"):
        out[name] = row([str(la[k][name]) for k in keys], [str(lb[k][name]) for k in keys])
    for name, side in (("strength", "strength"), ("weakness", "weakness")):
        out[f"polarity:{name}"] = row([la[k]["polarity"] in (side, "mixed") for k in keys],
                                      [lb[k]["polarity"] in (side, "mixed") for k in keys])
    themes = sorted({t for k in keys for t in la[k].get("themes", []) + lb[k].get("themes", [])})
    for t in themes:
        out[f"theme:{t}"] = row([t in la[k].get("themes", []) for k in keys], [t in lb[k].get("themes", []) for k in keys])
    return {"sentences": len(keys), "labels": out, "files": [str(a), str(b)],
            "hash_checked": all("sha1" in la[k] for k in keys)}


def kappa_interval(x: Sequence, y: Sequence, weights: np.ndarray, level: float = 0.95) -> tuple[float, float] | None:
    """The percentile interval of Cohen's kappa over bootstrap resamples of the sentences (`weights`: how often each
    sentence is drawn in each resample); None where no resample has two labels in use."""
    from .evaluate import interval

    cats = sorted(set(x) | set(y), key=str)
    code = {c: i for i, c in enumerate(cats)}
    one_x = np.eye(len(cats))[[code[v] for v in x]]
    one_y = np.eye(len(cats))[[code[v] for v in y]]
    confusion = np.einsum("rn,nk,nj->rkj", weights, one_x, one_y)
    n = confusion.sum(axis=(1, 2))
    observed = np.trace(confusion, axis1=1, axis2=2) / n
    expected = (confusion.sum(axis=2) * confusion.sum(axis=1)).sum(axis=1) / n ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kappas = np.where(expected < 1, (observed - expected) / (1 - expected), np.nan)
    return None if np.isnan(kappas).all() else interval(kappas, level)


__all__ = ["LabelSession", "agreement", "kappa_interval", "parse_answer", "run_terminal_loop"]
