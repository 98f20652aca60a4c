"""Classified findings and theme assignments stored on disk by content, model and code, for `compare`.

Comparing a programme of reports again (one report added, a threshold changed) should not
classify every report again. A report's findings are keyed by a hash of its text, the
framework, the model's files and nlpfind's own source: any change to one of them is a miss. An entry
holds what compare reads of each finding (`ComparedFinding`: offsets, text, polarity, quantifiers,
predicted themes), not its scores, which were most of an entry and of the time a warm run took to read it,
nor its text, which is the report's text between the finding's offsets (and the report's text is the key).
The theme assignment of a whole comparison (clustering and labelling the leftover findings) is
keyed by everything it reads: the findings' texts and predicted themes, the embedder of their
vectors, the seeded themes, the settings and the code; so comparing the same reports again
(another `--format`) reuses it without the vectors.
Entries are written atomically (temporary file + rename), so concurrent runs and a killed run
leave either a whole entry or none; a damaged entry is treated as a miss and rewritten.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from .classify import Classifier
from .compare import ComparedFinding
from .themes import ThemeAssignment, ThemeInfo

ENTRY_VERSION = 5  # 2: rows carry theme_scores; 3: and decided_by; 4: compared findings, no scores; 5: no text


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of nlpfind's source files: a code change invalidates cached classifications."""
    digest = hashlib.sha1()
    for path in sorted(Path(__file__).resolve().parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def classifier_fingerprint(classifier: Classifier) -> str | None:
    """What a classification depends on besides the text; None when it cannot be pinned down
    (a model built in memory rather than loaded from disk)."""
    model_hash = classifier.model.meta.get("fingerprint")
    if not model_hash:
        return None
    digest = hashlib.sha1()
    for part in (model_hash, repr(classifier.framework), code_fingerprint(), str(classifier.statement_from_section),
                 *(str(getattr(m.embedder(), "key", "")) if m.uses_embeddings() else "" for m in classifier.model.parts())):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


class FindingsCache:
    """One JSON file of compared findings per (report text, classifier) under `directory`."""

    def __init__(self, directory: str | Path, classifier: Classifier) -> None:
        self.dir = Path(directory)
        self.fingerprint = classifier_fingerprint(classifier)

    @property
    def enabled(self) -> bool:
        return self.fingerprint is not None

    def _path(self, text: str, report: str) -> Path:
        digest = hashlib.sha1(f"{self.fingerprint}\0{report}\0".encode() + text.encode("utf-8")).hexdigest()
        return self.dir / digest[:2] / f"{digest}.json"

    def get(self, text: str, report: str) -> list[ComparedFinding] | None:
        """The cached findings of `text` (as report `report`), or None on a miss."""
        if not self.enabled:
            return None
        path = self._path(text, report)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != ENTRY_VERSION:
                return None
            return [_finding(row, text) for row in data["findings"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing or damaged: classify again and overwrite

    def put(self, text: str, report: str, findings: list[ComparedFinding]) -> None:
        if not self.enabled:
            return
        path = self._path(text, report)
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = [_row(f) for f in findings]
        tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
        tmp.write_text(json.dumps({"version": ENTRY_VERSION, "findings": rows}, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)


class AssignmentCache:
    """One JSON file per theme assignment under `directory`, keyed by the assignment's whole input."""

    #: how a finding got its themes, one letter each in an entry (180,000 findings: a string parses fastest)
    SOURCES = {"model": "m", "similarity": "s", "discovered": "d", "none": "n"}

    def __init__(self, directory: str | Path) -> None:
        self.dir = Path(directory)

    @staticmethod
    def key(texts: Sequence[str], predicted: Sequence[Sequence[str]], seeded, settings, vectors: str) -> str:
        """The hash of everything an assignment reads: the findings' texts and predicted themes, the seeded
        themes, the settings, nlpfind's code and `vectors`, the key of the embedder whose vectors it is made on
        (vectors are a function of the embedder and the text, as in the embedding cache)."""
        digest = hashlib.sha1(f"{ENTRY_VERSION}\0{code_fingerprint()}\0{settings!r}\0{seeded!r}\0{vectors}\0".encode())
        digest.update("\0".join(f"{t}\x01{','.join(p)}" for t, p in zip(texts, predicted)).encode("utf-8"))
        return digest.hexdigest()

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.json"

    def get(self, key: str, findings: int) -> ThemeAssignment | None:
        """The stored assignment of `findings` findings under `key`, or None on a miss (or a damaged entry)."""
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
            if data.get("version") != ENTRY_VERSION:
                return None
            themes = tuple(ThemeInfo(str(i), str(label), bool(seeded), str(desc), tuple(terms), tuple(map(int, reps)))
                           for i, label, seeded, desc, terms, reps in data["themes"])
            ids = [t.id for t in themes]
            assignments = tuple(tuple(ids[k] for k in row) for row in data["assignments"])
            names = {v: k for k, v in self.SOURCES.items()}
            sources = tuple(names[c] for c in data["sources"])
            if len(assignments) != findings or len(sources) != findings:
                return None
            return ThemeAssignment(themes, assignments, sources)
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return None

    def put(self, key: str, assignment: ThemeAssignment) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        themes = [[t.id, t.label, t.seeded, t.description, list(t.terms), list(t.representatives)]
                  for t in assignment.themes]
        index = {t.id: k for k, t in enumerate(assignment.themes)}
        data = {"version": ENTRY_VERSION, "themes": themes,
                "assignments": [[index[t] for t in row] for row in assignment.assignments],
                "sources": "".join(self.SOURCES[s] for s in assignment.sources)}
        tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)


# Positional rows rather than dicts: no key names repeated for each of 180,000 findings; the report id (the
# same for a whole entry) is in the key; no text, which is the report's between the offsets (writing and parsing
# it was most of an entry's time); `plain` is null where it is the text (most sentences have no markup).
def _row(f: ComparedFinding) -> list:
    return [f.start, f.end, None if f.plain == f.text else f.plain, f.polarity,
            [list(q) for q in f.quantifiers], list(f.themes)]


def _finding(row: list, source: str) -> ComparedFinding:
    # No per-field type checks: entries are nlpfind's own, written whole (a damaged one fails to parse) and
    # versioned; these are 200,000 calls in a warm compare of 1,000 reports.
    start, end, plain, polarity, quants, themes = row
    text = source[start:end]
    return ComparedFinding(start, end, text, text if plain is None else plain, polarity,
                           tuple(map(tuple, quants)) if quants else (), tuple(themes))
