"""Compare partnership reports: recurring strengths and areas for improvement by theme.

Each report is classified (the classify pipeline), its findings (strength, weakness, mixed)
kept, its partnership named (manifest, else the report's own title, else the file name), every
finding given themes (seeded taxonomy plus themes discovered among the leftovers, see
nlpfind.themes) and the findings counted into a partnership x theme matrix whose every cell
points back to its sentences by report and offsets. Same inputs give byte-identical output:
reports, findings, partnerships and themes are sorted, and nothing depends on hash order.
"""

from __future__ import annotations

import copy
import csv
import re
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

import numpy as np

from .errors import InputError, NlpfindError
from .gc_tuning import fewer_collections
from .segment import plain_text
from .themes import ThemeSettings, assign_themes, theme_text

if TYPE_CHECKING:
    from .classify import Classifier, Finding

FINDING_POLARITIES = ("strength", "weakness", "mixed")
ON_ERROR = ("skip", "stop")
REPORT_SUFFIXES = (".txt", ".pdf", ".docx", ".html", ".htm")
TITLE_CHARS = 3000


class TextEmbedder(Protocol):
    """What discovery needs of an embedding model: normalised vectors and a cache key."""

    key: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


# -- results ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Quote:
    """One finding as the comparison sees it; `text == source[start:end]` of report `report`."""

    report: str
    start: int
    end: int
    text: str
    polarity: str
    partnership: str
    #: (start, end, term) of each quantifier, offsets into `text`
    quantifiers: tuple[tuple[int, int, str], ...] = ()
    themes: tuple[str, ...] = ()

    @property
    def ref(self) -> dict:
        return {"report": self.report, "start": self.start, "end": self.end}


class ComparedFinding(NamedTuple):
    """A classified finding reduced to what the comparison reads (and the findings cache keeps): no scores.

    `plain` is `text` as the classifier read it (no markup), which themes are assigned on; `quantifiers`
    are (start, end, term) with offsets into `text`, in order.
    """

    start: int
    end: int
    text: str
    plain: str
    polarity: str
    quantifiers: tuple[tuple[int, int, str], ...]
    themes: tuple[str, ...]

    @classmethod
    def of(cls, f: Finding) -> ComparedFinding:
        quants = []
        for q in f.quantifiers:
            a, b = q.start - f.start, q.end - f.start
            if 0 <= a < b <= len(f.text):
                quants.append((a, b, q.term))
        return cls(f.start, f.end, f.text, plain_text(f.text), f.polarity, tuple(sorted(quants)), tuple(f.themes))


@dataclass(frozen=True)
class Cell:
    """The findings of one partnership on one theme (a mixed finding counts on both sides)."""

    partnership: str
    strength: int
    weakness: int
    quantifiers: tuple[str, ...]
    quotes: tuple[Quote, ...]

    @property
    def refs(self) -> list[dict]:
        return [q.ref for q in self.quotes]

    def as_dict(self) -> dict:
        return {"strength": self.strength, "weakness": self.weakness, "quantifiers": list(self.quantifiers),
                "refs": self.refs}


@dataclass(frozen=True)
class ComparedTheme:
    """A theme with its cells, one per partnership it touches (in partnership order)."""

    id: str
    label: str
    seeded: bool
    cells: tuple[Cell, ...]
    description: str = ""
    terms: tuple[str, ...] = ()
    representatives: tuple[Quote, ...] = ()

    @property
    def partnerships(self) -> tuple[str, ...]:
        return tuple(c.partnership for c in self.cells)

    @property
    def strength_partnerships(self) -> tuple[str, ...]:
        return tuple(c.partnership for c in self.cells if c.strength)

    @property
    def weakness_partnerships(self) -> tuple[str, ...]:
        return tuple(c.partnership for c in self.cells if c.weakness)

    @property
    def findings(self) -> int:
        return sum(len(c.quotes) for c in self.cells)

    def cell(self, partnership: str) -> Cell | None:
        return next((c for c in self.cells if c.partnership == partnership), None)

    def as_dict(self) -> dict:
        return {"id": self.id, "label": self.label, "seeded": self.seeded,
                "strength_partnerships": list(self.strength_partnerships),
                "weakness_partnerships": list(self.weakness_partnerships),
                "cells": {c.partnership: c.as_dict() for c in self.cells}}


@dataclass(frozen=True)
class ReportSource:
    """One compared report: where it came from and which partnership it speaks for."""

    path: str
    report: str
    partnership: str
    year: str
    #: where the partnership name came from: "manifest", "text" or "file name"
    named_by: str
    findings: int


@dataclass(frozen=True)
class Comparison:
    """The partnership x theme matrix; themes ranked by how many partnerships they touch."""

    partnerships: tuple[str, ...]
    themes: tuple[ComparedTheme, ...]
    reports: tuple[ReportSource, ...]
    quotes: tuple[Quote, ...]
    min_partnerships: int = 1
    skipped: tuple[tuple[str, str], ...] = ()
    warnings: tuple[str, ...] = ()
    #: counts and timings of the run (not part of any view, so views stay byte-identical)
    stats: dict = field(default_factory=dict)

    @property
    def unassigned(self) -> tuple[Quote, ...]:
        return tuple(q for q in self.quotes if not q.themes)

    def recurring_strengths(self) -> list[ComparedTheme]:
        """Themes with strengths in at least min_partnerships partnerships, most widely shared first."""
        return _recurring(self.themes, "strength", self.min_partnerships)

    def recurring_improvements(self) -> list[ComparedTheme]:
        """Themes with areas for improvement in at least min_partnerships partnerships, most shared first."""
        return _recurring(self.themes, "weakness", self.min_partnerships)

    def as_dict(self) -> dict:
        """The JSON contract of `nlpfind compare --format json`."""
        return {"partnerships": list(self.partnerships), "themes": [t.as_dict() for t in self.themes]}


def _recurring(themes: Sequence[ComparedTheme], side: str, minimum: int) -> list[ComparedTheme]:
    def who(t: ComparedTheme) -> tuple[str, ...]:
        return t.strength_partnerships if side == "strength" else t.weakness_partnerships

    def count(t: ComparedTheme) -> int:
        return sum(getattr(c, side) for c in t.cells)

    picked = [t for t in themes if len(who(t)) >= max(1, minimum)]
    return sorted(picked, key=lambda t: (-len(who(t)), -count(t), t.id))


# -- partnership names --------------------------------------------------------------------------
_NAME = r"(?P<name>(?:the\s+)?[A-Z][\w'’.&-]*(?:[ \t]+(?:and|of|&|na|h-|[A-Z][\w'’.&-]*))*)"
_TITLE_PATTERNS = tuple(re.compile(p + r"\s+in\s+" + _NAME) for p in (
    r"(?i:at\s+risk\s+of\s+harm)",
    r"(?i:services\s+(?:for|to\s+protect)\s+children(?:\s+and\s+young\s+people)?)",
    r"(?i:children's\s+services)",
    r"(?i:protection\s+of\s+children(?:\s+and\s+young\s+people)?)",
    r"(?i:children\s+and\s+young\s+people(?:\s+growing\s+up)?)",
    r"(?i:joint\s+inspection\s+of\s+[\w\s,'-]{0,80}?)",
))
_NAME_TAIL = re.compile(r"(?:[ \t]+(?:and|of|&|the|Community|Planning|Partnership|Council|Area|Report|"
                        r"Prepared|Published|Joint|Inspection|Care|Inspectorate|January|February|March|April|May|June|July|"
                        r"August|September|October|November|December)\b\.?)+$")
_NOT_NAMES = {"january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
              "november", "december", "scotland", "partnership", "this", "our", "their", "its"}
_SMALL_WORDS = {"and", "of", "the", "upon", "na", "on"}
_FILE_NOISE = {"services", "service", "children", "child", "report", "inspection", "joint", "carh", "cyp",
               "young", "people", "risk", "harm", "final", "draft", "summary", "progress", "review"}


def partnership_from_text(text: str, limit: int = TITLE_CHARS) -> str | None:
    """The partnership named in a report's title ("... at risk of harm in North Ayrshire")."""
    head = text[:limit].replace("’", "'")
    found: dict[str, list] = {}
    for rank, pattern in enumerate(_TITLE_PATTERNS):
        for m in pattern.finditer(head):
            name = re.sub(r"^the\s+", "", _NAME_TAIL.sub("", m.group("name")).strip(" .,'&-"))
            if name and name[0].isupper() and len(name) <= 60 and name.split()[0].lower() not in _NOT_NAMES:
                entry = found.setdefault(partnership_key(name), [0, rank, m.start(), name])
                entry[0] += 1
    if not found:
        return None

    def score(key: str) -> int:  # a name also counts the mentions of its own first words ("Perth" +)
        return sum(e[0] for k, e in found.items() if k == key or key.startswith(k + " "))

    # the name stated most often wins; then the more specific pattern, then the earlier mention
    best = min(found, key=lambda k: (-score(k), found[k][1], found[k][2], k))
    return found[best][3]


def partnership_from_filename(path: str | Path) -> str:
    """A readable partnership name from a file name: north-ayrshire-2022.txt -> North Ayrshire."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", Path(str(path)).stem) if w]
    kept: list[str] = []
    for w in words:
        if w.lower() in _FILE_NOISE and kept:
            break
        if not w.isdigit() and w.lower() not in _FILE_NOISE:
            kept.append(w)
    kept = kept or [w for w in words if not w.isdigit()] or words or ["report"]
    return " ".join(w.lower() if i and w.lower() in _SMALL_WORDS else w[:1].upper() + w[1:].lower()
                    for i, w in enumerate(kept))


def partnership_key(name: str) -> str:
    """Names that compare equal resolve to one partnership (case, spacing and 'the' ignored)."""
    name = re.sub(r"^the\s+", "", " ".join(name.split()).casefold())
    return name.replace("&", "and")


def _year_from(path: str | Path) -> str:
    m = re.search(r"(?<!\d)(19|20)\d\d(?!\d)", Path(str(path)).name)
    return m.group(0) if m else ""


# -- manifest -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ManifestRow:
    file: str
    partnership: str
    year: str


def read_manifest(path: str | Path) -> tuple[ManifestRow, ...]:
    """Rows of a partnership manifest CSV: columns file, partnership (or area) and optionally year."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: manifest not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read manifest ({exc})") from None
    reader = csv.DictReader(text.splitlines())
    cols = [c.strip().lower() for c in (reader.fieldnames or [])]
    name_col = "partnership" if "partnership" in cols else "area" if "area" in cols else None
    if "file" not in cols or name_col is None:
        raise InputError(f"{path}: manifest needs columns file and partnership (and optionally year); "
                         f"found {', '.join(cols) or 'none'}")
    rows, seen = [], set()
    for n, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if isinstance(v, str)}
        file = row.get("file", "")
        if not file:
            continue
        if file in seen:
            raise InputError(f"{path}:{n}: file {file!r} listed twice")
        seen.add(file)
        if not row.get(name_col):
            raise InputError(f"{path}:{n}: empty {name_col} for {file!r}")
        rows.append(ManifestRow(file, " ".join(row[name_col].split()), row.get("year", "")))
    return tuple(rows)


def _match_manifest(rows: Sequence[ManifestRow], manifest: Path, paths: Sequence[Path]) -> dict[Path, ManifestRow]:
    """Manifest row per input path (by path relative to the manifest, else by file name).

    Rows naming files that neither exist nor match an input are an error.
    """
    by_path = {p.resolve(): p for p in paths}
    by_name: dict[str, list[Path]] = {}
    for p in paths:
        by_name.setdefault(p.name, []).append(p)
    out: dict[Path, ManifestRow] = {}
    missing = []
    for row in rows:
        target = (manifest.parent / row.file).resolve()
        if target in by_path:
            out[by_path[target]] = row
        elif len(by_name.get(Path(row.file).name, [])) == 1:
            out.setdefault(by_name[Path(row.file).name][0], row)
        elif not target.exists():
            missing.append(row.file)
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise InputError(f"{manifest}: names files that do not exist: {', '.join(missing[:5])}{more}")
    return out


# -- the comparison ------------------------------------------------------------------------------
def report_paths(paths: Sequence[str | Path] = (), directory: str | Path | None = None) -> list[Path]:
    """Report files from explicit paths plus the report files (by extension) in `directory`."""
    out = [Path(str(p)) for p in paths]
    if directory is not None:
        d = Path(directory)
        if not d.is_dir():
            raise InputError(f"{d}: not a directory")
        out += sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in REPORT_SUFFIXES)
    return out


@dataclass
class _Read:
    path: Path
    report: str
    text: str
    findings: list[ComparedFinding]


@fewer_collections()
def on_accelerator(classifier: Classifier) -> bool:
    """Whether the classifier's encoders (its polarity model's too) run on a GPU ($NLPFIND_DEVICE)."""
    return any(m.uses_embeddings() and getattr(m.embedder(), "device", "cpu") != "cpu" for m in classifier.model.parts())


def compare_reports(paths: Sequence[str | Path], classifier: Classifier | None = None,
                    manifest: str | Path | None = None, min_partnerships: int = 1, on_error: str = "skip",
                    cache_dir: str | Path | None = None, progress: Callable[[str], None] | None = None, *,
                    embedder: TextEmbedder | None = None, model: str | Path | None = None, merge: bool = False,
                    use_cache: bool = True, theme_settings: ThemeSettings | None = None,
                    warn: Callable[[str], None] | None = None, workers: int | None = None) -> Comparison:
    """Classify the reports and build the partnership x theme comparison.

    `on_error` "skip" leaves an unreadable report out (with a warning naming it), "stop" raises.
    Two reports naming the same partnership raise InputError unless `merge`. `embedder` embeds
    findings for theme assignment and discovery (default: the model's embedding model); its
    vectors, the classifier's, each report's classified findings and the theme assignment are cached on
    disk by content hash under `cache_dir` (see nlpfind.findings_cache). `workers` processes classify the reports
    (default: one per CPU; 1 classifies in this process); output does not depend on it.
    """
    from .classify import Classifier
    from .read import read_document

    say = progress or (lambda _m: None)
    if on_error not in ON_ERROR:
        raise InputError(f"on_error must be one of {', '.join(ON_ERROR)}, got {on_error!r}")
    if min_partnerships < 1:
        raise InputError(f"--min-partnerships must be at least 1, got {min_partnerships}")
    files = [Path(str(p)) for p in paths]
    if len(files) < 2:
        raise InputError(f"compare needs at least two reports; got {len(files)}"
                         + (f" ({files[0]})" if files else ""))
    seen: dict[Path, Path] = {}
    for p in files:
        if str(p) == "-":
            raise InputError("compare reads report files; stdin ('-') is not supported")
        key = p.resolve()
        if key in seen:
            raise InputError(f"{p}: report given twice")
        seen[key] = p
    files = sorted(files, key=lambda p: (str(p.resolve()), str(p)))
    rows = _match_manifest(read_manifest(manifest), Path(manifest), files) if manifest is not None else {}

    warned: list[str] = []

    def warning(message: str) -> None:
        warned.append(message)
        if warn is not None:
            warn(message)
        else:
            warnings.warn(message, stacklevel=3)

    docs = []
    skipped: list[tuple[str, str]] = []
    for path in files:  # read everything first: a bad report stops the run before any classifying
        try:
            docs.append((path, read_document(path)))
        except InputError as exc:
            if on_error == "stop":
                raise InputError(f"{exc} (stopped: pass --on-error skip to compare the other reports)") from None
            skipped.append((str(path), str(exc)))
            warning(f"skipped {path}: {exc}")
    if len(docs) < 2:
        why = f"; skipped {', '.join(p for p, _ in skipped)}" if skipped else ""
        raise InputError(f"compare needs at least two readable reports; got {len(docs)}{why}")

    reads: list[_Read] = []
    used_ids: set[str] = set()
    for path, doc in docs:
        rid = doc.report_id if doc.report_id not in used_ids else _unique_report_id(path, used_ids)
        used_ids.add(rid)
        reads.append(_Read(path, rid, doc.text[:TITLE_CHARS], []))
    _name_partnerships(reads, rows, merge)  # two reports for one partnership stop here, before any classifying

    if classifier is None:
        say("loading the model")
        classifier = Classifier(model)
    from .cache import cache_dir as default_cache_dir

    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    caches: dict[str, Callable[[Sequence[str]], np.ndarray]] = {}

    def cached(emb) -> Callable[[Sequence[str]], np.ndarray]:
        if not use_cache or not hasattr(emb, "key"):
            return emb.encode
        from .embed import EmbeddingCache

        return caches.setdefault(emb.key, EmbeddingCache(root / "embeddings", emb).encode)

    if classifier.model.uses_embeddings() and classifier.embeddings is None:
        classifier = copy.copy(classifier)
        classifier.embeddings = cached(classifier.model.embedder())
    polarity = classifier.model.polarity_model
    if polarity is not None and polarity.uses_embeddings() and classifier.polarity_embeddings is None:
        classifier = copy.copy(classifier)
        classifier.polarity_embeddings = cached(polarity.embedder())

    from .findings_cache import FindingsCache
    from .parallel import classify_reports, default_workers, uses_pool

    found_cache = FindingsCache(root / "findings", classifier) if use_cache else None
    t_start = time.perf_counter()
    missing = []
    for read, (path, doc) in zip(reads, docs):
        hit = found_cache.get(doc.text, read.report) if found_cache else None
        if hit is None:
            missing.append((read, path, doc))
        read.findings = hit or []
    if len(missing) < len(reads):
        say(f"{len(reads) - len(missing)} of {len(reads)} reports classified before (cache)")
    workers = default_workers() if workers is None else workers
    if on_accelerator(classifier):
        workers = 1  # CUDA cannot be used in forked workers, and one process keeps the GPU busy
    if uses_pool(len(missing), workers):
        say(f"classifying {len(missing)} reports on {workers} processes")
    results = classify_reports([(doc.text, read.report) for read, _, doc in missing], classifier, workers)
    try:  # results first in zip and closed after: an unfinished generator kept the workers (and their models) alive
        for k, (findings, (read, path, doc)) in enumerate(zip(results, missing), start=1):
            say(f"classified {path.name} ({k}/{len(missing)})")
            read.findings = findings
            if found_cache:
                found_cache.put(doc.text, read.report, findings)
    finally:
        results.close()
    for read, (path, _doc) in zip(reads, docs):
        if not read.findings:
            warning(f"{path}: no findings (strengths or areas for improvement) found")
    sources = _name_partnerships(reads, rows, merge)
    partnerships = tuple(sorted({s.partnership for s in sources}, key=lambda s: (s.casefold(), s)))
    by_report = {s.report: s for s in sources}

    # Ordered by (report, start, end); report ids are unique, so sorting reports, then each one's
    # findings (already in reading order: the sort only checks), is the same order, found faster.
    findings = [(r.report, f) for r in sorted(reads, key=lambda r: r.report)
                for f in sorted(r.findings, key=itemgetter(0, 1))]  # (start, end)
    texts = [f.plain for _, f in findings]  # as the classifier read them: no markup
    disc = embedder if embedder is not None else classifier.model.embedder()
    encode = cached(disc)
    vectors = getattr(disc, "key", None)  # names the vectors the themes are assigned on, for the theme cache
    if embedder is None and getattr(disc, "layers", ()):
        # Themes are matched and discovered on the model's own sentence vector (topic similarity, what the model was
        # trained for); the middle layers the classifier also reads keep wording that blurs topics (on the summaries
        # corpus, 9 discovered themes fell to 1). The own vector is inside the layered one when the last layer is.
        layered, last = encode, disc.own_vector_block()
        if last is None:
            from .embed import get_embedder

            plain = get_embedder(classifier.model.embedding_model)
            encode, vectors = cached(plain), getattr(plain, "key", None)
        else:
            def encode(texts: Sequence[str]) -> np.ndarray:
                return np.ascontiguousarray(layered(texts)[:, last] * np.float32(np.sqrt(len(disc.layers))))

            vectors = f"{disc.key} own vector"
    seeded = classifier.framework.themes
    predicted = [f.themes for _, f in findings]
    theme_cache = key = assignment = None
    if use_cache and vectors is not None:  # a warm run needs neither the vectors nor the clustering
        from .findings_cache import AssignmentCache

        theme_cache = AssignmentCache(root / "themes")
        key = theme_cache.key(texts, predicted, seeded, theme_settings or ThemeSettings(), vectors)
        assignment = theme_cache.get(key, len(texts))
    t_embed = time.perf_counter()
    if assignment is None:
        say(f"embedding {len(texts)} findings")
        emb = encode(texts) if texts else np.zeros((0, 1), dtype=np.float32)
        seeded_emb = encode([theme_text(t) for t in seeded])
    t_themes = time.perf_counter()
    if assignment is None:
        say("assigning and discovering themes")
        assignment = assign_themes(texts, predicted, emb, seeded, seeded_emb, theme_settings)
        if theme_cache is not None:
            theme_cache.put(key, assignment)
    t_done = time.perf_counter()

    order = {t.term: i for i, t in enumerate(classifier.framework.quantifiers)}
    quotes = tuple(Quote(report, f.start, f.end, f.text, f.polarity, by_report[report].partnership, f.quantifiers,
                         themes) for (report, f), themes in zip(findings, assignment.assignments))
    by_theme: dict[str, list[Quote]] = {}
    for q in quotes:
        for t in q.themes:
            by_theme.setdefault(t, []).append(q)
    themes = []
    for info in assignment.themes:
        members = by_theme.get(info.id, [])
        if not members:
            continue
        by_partnership: dict[str, list[Quote]] = {}
        for q in members:
            by_partnership.setdefault(q.partnership, []).append(q)
        cells = []
        for p in partnerships:
            qs = tuple(by_partnership.get(p, ()))
            if not qs:
                continue
            strength = sum(q.polarity in ("strength", "mixed") for q in qs)
            weakness = sum(q.polarity in ("weakness", "mixed") for q in qs)
            terms = sorted({t for q in qs for _, _, t in q.quantifiers}, key=lambda t: (order.get(t, len(order)), t))
            cells.append(Cell(p, strength, weakness, tuple(terms), qs))
        reps = tuple(quotes[i] for i in info.representatives)
        themes.append(ComparedTheme(info.id, info.label, info.seeded, tuple(cells), info.description,
                                    info.terms, reps))
    themes = [t for t in themes if len(t.cells) >= min_partnerships]
    themes.sort(key=lambda t: (-len(t.cells), -t.findings, not t.seeded, t.id))
    stats = {"reports": len(reads), "findings": len(quotes),
             "unassigned": sum(1 for q in quotes if not q.themes),
             "by_source": {k: assignment.sources.count(k) for k in ("model", "similarity", "discovered", "none")},
             "discovered_themes": sum(1 for t in assignment.themes if not t.seeded),
             "seconds": {"classify": round(t_embed - t_start, 3), "embed": round(t_themes - t_embed, 3),
                         "themes": round(t_done - t_themes, 3)}}
    return Comparison(partnerships, tuple(themes), tuple(sources), quotes, min_partnerships, tuple(skipped),
                      tuple(warned), stats)


def _unique_report_id(path: Path, used: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", f"{path.parent.name}-{path.stem}".lower()).strip("-") or "report"
    rid, i = base, 2
    while rid in used:
        rid, i = f"{base}-{i}", i + 1
    return rid


def _name_partnerships(reads: Sequence[_Read], rows: dict[Path, ManifestRow], merge: bool) -> list[ReportSource]:
    out = []
    for r in reads:
        row = rows.get(r.path)
        if row is not None:
            name, by, year = row.partnership, "manifest", row.year or _year_from(r.path)
        else:
            found = partnership_from_text(r.text)
            name, by = (found, "text") if found else (partnership_from_filename(r.path), "file name")
            year = _year_from(r.path)
        out.append(ReportSource(str(r.path), r.report, name, year, by, len(r.findings)))
    groups: dict[str, list[ReportSource]] = {}
    for s in out:
        groups.setdefault(partnership_key(s.partnership), []).append(s)
    clashes = [g for g in groups.values() if len(g) > 1]
    if clashes and not merge:
        g = clashes[0]
        more = f" ({len(clashes) - 1} more partnership(s) named twice)" if len(clashes) > 1 else ""
        raise InputError(f"{', '.join(s.path for s in g)} all resolve to partnership {g[0].partnership!r}{more}; "
                         "name them apart in a manifest (file,partnership,year) or pass --merge to combine them")
    canonical = {k: g[0].partnership for k, g in groups.items()}
    return [ReportSource(s.path, s.report, canonical[partnership_key(s.partnership)], s.year, s.named_by, s.findings)
            for s in out]


__all__ = ["Cell", "ComparedFinding", "ComparedTheme", "Comparison", "NlpfindError", "Quote", "ReportSource", "compare_reports",
           "partnership_from_filename", "partnership_from_text", "read_manifest", "report_paths"]
