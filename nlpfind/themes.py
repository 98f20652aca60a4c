"""Theme assignment (seeded taxonomy) and discovery (new themes among the findings left over).

A finding takes the seeded themes the sentence model predicted for it; a finding with none
takes the seeded theme whose "name. description" embedding is closest, if close enough.
Findings that fit no seeded theme are clustered (Ward agglomerative clustering on normalised
embeddings, i.e. on cosine, the number of clusters chosen by silhouette):
no random state at all, so the same inputs give the same themes. A discovered theme is labelled
with its c-TF-IDF key terms (2-4 words) against all findings as background, and keeps the
findings closest to its centroid as representative quotes. Small inputs (a handful of findings)
still give themes: a leftover group of two similar findings is a theme.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .config import Theme

_WORD = re.compile(r"[a-z][a-z'-]*[a-z]|[a-z]")
#: key terms are weighed against at most this many findings (an even sample of larger sets)
BACKGROUND_LIMIT = 20_000
#: Words that carry no theme in inspection findings, on top of the usual English stop words.
DOMAIN_STOP_WORDS = frozenset({
    "children", "child", "young", "people", "person", "families", "family", "staff", "partnership", "partnerships",
    "partners", "services", "service", "inspection", "inspectors", "report", "found", "saw", "heard", "told",
    "area", "areas", "council", "work", "working", "worked", "good", "well", "effective", "effectively",
    "improve", "improvement", "improved", "improving", "needed", "need", "needs", "strength", "strengths",
    "weakness", "weaknesses", "important", "including", "however", "also", "across", "within",
    "many", "most", "majority", "almost", "nearly", "half", "less", "few", "some", "all", "none", "cases",
    "records", "record", "case", "particularly", "clear", "clearly", "evidence", "able", "made", "make",
    "key", "number", "range", "way", "ways", "time", "level", "levels", "whilst", "while", "still", "yet",
    "risk", "harm", "support", "supported", "supports",
})


def stop_words() -> frozenset[str]:
    """English stop words (scikit-learn's list) plus DOMAIN_STOP_WORDS."""
    return english_stop_words() | DOMAIN_STOP_WORDS


@lru_cache(maxsize=1)
def english_stop_words() -> frozenset[str]:
    """scikit-learn's English stop word list, loaded from its own module file without importing scikit-learn:
    the import took 2 s of a cold compare that otherwise never needs scikit-learn. Where that file is not where
    this version of scikit-learn keeps it, the list is imported the usual way."""
    import importlib.util

    spec = importlib.util.find_spec("sklearn")  # finds the package without running its __init__
    path = Path(spec.origin).parent / "feature_extraction" / "_stop_words.py" if spec and spec.origin else None
    if path is not None and path.is_file():
        module_spec = importlib.util.spec_from_file_location("_nlpfind_sklearn_stop_words", path)
        if module_spec is not None and module_spec.loader is not None:
            module = importlib.util.module_from_spec(module_spec)
            try:
                module_spec.loader.exec_module(module)
                return frozenset(module.ENGLISH_STOP_WORDS)
            except (OSError, SyntaxError, AttributeError, ImportError):  # a changed file: the import below
                pass
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


@dataclass(frozen=True)
class ThemeSettings:
    """Knobs of assignment and discovery; the defaults suit MiniLM sentence embeddings."""

    #: a finding without a predicted theme takes the closest seeded theme at or above this cosine
    similarity_threshold: float = 0.5
    #: smallest group of leftover findings that makes a discovered theme
    min_cluster_size: int = 2
    #: most discovered themes
    max_discovered: int = 12
    #: a discovered cluster's mean cosine to its centroid must reach this, else its findings stay unassigned
    min_cohesion: float = 0.35
    #: the number of clusters is the smallest whose silhouette is this close to the best
    silhouette_slack: float = 0.02
    #: key terms in a discovered theme's label
    label_terms: int = 3
    #: representative quotes kept per discovered theme
    representatives: int = 3
    #: clustering is quadratic in memory; above this many leftover findings, an evenly spread,
    #: deterministic sample is clustered and every finding joins its nearest cluster centroid
    max_cluster_points: int = 2000


@dataclass(frozen=True)
class ThemeInfo:
    """A theme in the output: seeded (from the taxonomy) or discovered (from clustering)."""

    id: str
    label: str
    seeded: bool
    description: str = ""
    terms: tuple[str, ...] = ()
    #: indices (into the findings given to assign_themes) of the quotes closest to the centroid
    representatives: tuple[int, ...] = ()


@dataclass(frozen=True)
class ThemeAssignment:
    """Themes and, per finding (same order as given), the ids of the themes it belongs to."""

    themes: tuple[ThemeInfo, ...]
    assignments: tuple[tuple[str, ...], ...]
    #: how each finding got its themes: "model", "similarity", "discovered" or "none"
    sources: tuple[str, ...]

    @property
    def unassigned(self) -> tuple[int, ...]:
        return tuple(i for i, a in enumerate(self.assignments) if not a)


def _row_norms(x: np.ndarray) -> np.ndarray:
    """Row lengths, 1 where a row is all zeros (linalg.norm's x*x temporary was 0.4 GB at 180k findings)."""
    norms = np.sqrt(np.einsum("ij,ij->i", x, x))
    norms[norms == 0] = 1.0
    return norms


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        x = x.reshape(len(x), -1)
    return x / _row_norms(x)[:, None]


def theme_text(theme: Theme) -> str:
    """What a seeded theme is embedded as: "name. description"."""
    return f"{theme.name.strip()}. {theme.description.strip()}".strip()


def assign_themes(texts: Sequence[str], predicted: Sequence[Sequence[str]], embeddings: np.ndarray,
                  seeded: Sequence[Theme], seeded_embeddings: np.ndarray,
                  settings: ThemeSettings | None = None) -> ThemeAssignment:
    """Seeded themes (model prediction, else similarity) for every finding, then discovery on the rest.

    `texts`, `predicted` and the rows of `embeddings` are per finding, in a fixed order; the
    result depends only on them (no randomness, no hash order).
    """
    settings = settings or ThemeSettings()
    n = len(texts)
    if len(predicted) != n or (n and len(embeddings) != n):
        raise ValueError("texts, predicted themes and embeddings differ in length")
    known = {t.id for t in seeded}
    assignments: list[tuple[str, ...]] = []
    sources: list[str] = []
    # Cosine to the seeded themes in float32, dividing by the norms afterwards: normalising all
    # findings in float64 (0.36 GB at 180k findings) took over a second. Discovery normalises
    # only the findings left over.
    vecs = np.asarray(embeddings, dtype=np.float32).reshape(n, -1) if n else np.zeros((0, 1), dtype=np.float32)
    sims = ((vecs @ _normalise(seeded_embeddings).T.astype(np.float32)) / _row_norms(vecs)[:, None]
            if n and len(seeded) else np.zeros((n, 0)))
    best = sims.argmax(axis=1) if sims.shape[1] else np.zeros(n, dtype=int)
    best_sim = sims[np.arange(n), best] if sims.shape[1] else np.full(n, -np.inf)
    for i in range(n):
        pred = tuple(t for t in dict.fromkeys(predicted[i]) if t in known)
        if pred:
            assignments.append(pred)
            sources.append("model")
        elif best_sim[i] >= settings.similarity_threshold:
            assignments.append((seeded[int(best[i])].id,))
            sources.append("similarity")
        else:
            assignments.append(())
            sources.append("none")
    themes = [ThemeInfo(t.id, t.name.strip(), True, t.description.strip()) for t in seeded]
    leftover = [i for i in range(n) if not assignments[i]]
    taken = {t.label.casefold() for t in themes}
    for members, reps, terms in discover(texts, _normalise(vecs[leftover]), leftover, settings):
        label = _unique_label(terms, settings.label_terms, taken)
        taken.add(label.casefold())
        tid = _unique_id("new-" + _slug(label), {t.id for t in themes})
        themes.append(ThemeInfo(tid, label, False, "", tuple(terms[:settings.label_terms]), tuple(reps)))
        for i in members:
            assignments[i] = (tid,)
            sources[i] = "discovered"
    return ThemeAssignment(tuple(themes), tuple(assignments), tuple(sources))


def discover(texts: Sequence[str], vectors: np.ndarray, members: Sequence[int],
             settings: ThemeSettings) -> list[tuple[list[int], list[int], list[str]]]:
    """Cluster the findings `members` (ascending indices into texts; `vectors` holds their unit-length
    embeddings, row for row); per kept cluster: members, representatives (closest to centroid first)
    and key terms (best first).

    Clusters are ordered by size (largest first), then by their first member.
    """
    members = list(members)
    if members != sorted(members) or len(vectors) != len(members):
        raise ValueError("members must be ascending, with one vector each")
    if len(members) < settings.min_cluster_size:
        return []
    row = {idx: r for r, idx in enumerate(members)}
    labels = cluster(vectors, settings)
    groups: dict[int, list[int]] = {}
    for idx, lab in zip(members, labels):
        groups.setdefault(int(lab), []).append(idx)
    kept: list[tuple[list[int], list[int]]] = []
    for group in groups.values():
        if len(group) < settings.min_cluster_size:
            continue
        vecs = vectors[[row[i] for i in group]]
        centroid = vecs.mean(axis=0)
        norm = float(np.linalg.norm(centroid))
        centroid = centroid / norm if norm else centroid
        cos = vecs @ centroid
        if float(cos.mean()) < settings.min_cohesion:
            continue
        order = sorted(range(len(group)), key=lambda k: (-round(float(cos[k]), 6), group[k]))
        kept.append((group, [group[k] for k in order[:settings.representatives]]))
    kept.sort(key=lambda g: (-len(g[0]), g[0][0]))
    kept = kept[:settings.max_discovered]
    # Term frequencies over all findings, from an even sample past BACKGROUND_LIMIT (counts scaled back):
    # tokenising 180,000 findings took 8 s, and a term's share of the background barely moves.
    step = max(1, math.ceil(len(texts) / BACKGROUND_LIMIT))
    terms = key_terms([[texts[i] for i in g] for g, _ in kept], list(texts[::step]), settings.label_terms + 3,
                      background_weight=float(step))
    return [(g, reps, t) for (g, reps), t in zip(kept, terms)]


def cluster(vectors: np.ndarray, settings: ThemeSettings) -> list[int]:
    """Cluster labels (0..k-1) for vectors: Ward linkage on the normalised vectors (so on cosine), cut at
    the fewest clusters whose silhouette is within `silhouette_slack` of the best (at most one cluster
    per three findings). No randomness: the same vectors in the same order give the same labels."""
    n = len(vectors)
    x = _normalise(vectors)
    if n < 4 or float(np.ptp(x, axis=0).max()) == 0.0:
        return [0] * n
    if n > settings.max_cluster_points:
        sample = np.linspace(0, n - 1, settings.max_cluster_points).round().astype(int)
        sample_labels = np.array(cluster(x[sample], settings))
        k = int(sample_labels.max()) + 1
        centroids = _normalise(np.stack([x[sample][sample_labels == c].mean(axis=0) for c in range(k)]))
        return [int(v) for v in (x @ centroids.T).argmax(axis=1)]
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = linkage(x, method="ward")
    distances = cosine_distances(x)  # once, not again for every k scored
    max_k = max(1, min(settings.max_discovered * 2, n // 3 if n >= 6 else 2, n - 1))
    scored: list[tuple[int, float, list[int]]] = []
    for k in range(2, max_k + 1):
        labels = fcluster(tree, t=k, criterion="maxclust")
        if len(np.unique(labels)) < 2:
            continue
        score = round(silhouette_score(distances, labels), 6)
        scored.append((k, score, [int(v) - 1 for v in labels]))
    if not scored:
        return [0] * n
    best = max(s for _, s, _ in scored)
    if best < 0.05:  # no structure: one group, kept only if cohesive enough
        return [0] * n
    return next(labels for _, s, labels in scored if s >= best - settings.silhouette_slack)


def cosine_distances(x: np.ndarray) -> np.ndarray:
    """1 - cosine similarity between the rows of `x`, clipped to [0, 2], with a zero diagonal: scikit-learn's
    `cosine_distances`, the same operations in the same order (so the same numbers), without importing
    scikit-learn, which took 2 s of a cold compare's serial time."""
    # `cluster` passes unit vectors already; normalising again is what scikit-learn does, and dividing by norms of
    # 1 +- 1e-16 moves the last bits, which the silhouette's rounding to 6 places could turn into another k.
    unit = x / _row_norms(x)[:, None]
    d = unit @ unit.T
    d *= -1
    d += 1
    np.clip(d, 0.0, 2.0, out=d)
    np.fill_diagonal(d, 0.0)
    return d


def silhouette_score(distances: np.ndarray, labels: Sequence[int]) -> float:
    """Mean silhouette of a labelling, from precomputed distances with a zero diagonal: scikit-learn's
    `silhouette_score(..., metric="precomputed")` (per sample, the mean distance to its own cluster's other
    members against the least mean distance to another cluster; 0 for a cluster of one), summed in the same
    order. At least two labels, and fewer labels than samples."""
    _, codes = np.unique(np.asarray(labels), return_inverse=True)
    n = len(codes)
    freqs = np.bincount(codes)
    k = len(freqs)
    if not 2 <= k <= n - 1:
        raise ValueError(f"silhouette needs 2 to {n - 1} labels; got {k}")
    # Each row's distances summed per cluster, every row in one bincount (bins row * k + cluster, filled in
    # index order as a bincount per row fills them), kept in the distances' dtype as scikit-learn keeps them.
    bins = (np.arange(n)[:, None] * k + codes[None, :]).ravel()
    sums = np.bincount(bins, weights=distances.ravel(), minlength=n * k).reshape(n, k).astype(distances.dtype)
    rows = np.arange(n)
    intra = sums[rows, codes]
    sums[rows, codes] = np.inf
    sums /= freqs
    inter = sums.min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        intra = intra / (freqs - 1)[codes]
        samples = (inter - intra) / np.maximum(intra, inter)
    return float(np.mean(np.nan_to_num(samples)))


def tokens(text: str, stop: frozenset[str]) -> list[str]:
    """Unigrams and bigrams (no stop word in either place) of a text, lower-cased."""
    words = _WORD.findall(text.lower().replace("’", "'"))
    words = [w[:-2] if w.endswith("'s") else w for w in words]
    out = [w for w in words if w not in stop and len(w) > 2]
    out += [f"{a} {b}" for a, b in zip(words, words[1:])
            if a not in stop and b not in stop and len(a) > 2 and len(b) > 2]
    return out


_LOWER_WORD = re.compile(r"(?<![A-Za-z'’-])[a-z][A-Za-z'’-]*")
# A capitalised word inside a sentence: after a letter, digit or , ; : (spaces between), or right after , ; :
_INNER_CAPITAL = re.compile(r"(?:(?<=[A-Za-z0-9,;:])\s+|(?<=[0-9,;:]))(?<![A-Za-z'’-])([A-Z][A-Za-z'’-]*)")
# A sentence-initial capitalised word (text start, or after . ( " and the like) followed by another one:
# "North Ayrshire ..." is evidence for "North"; "Staff ..." alone is not
_INITIAL_NAME = re.compile(r"(?:^|(?<=[^A-Za-z0-9,;:\s'’-]))\s*([A-Z][A-Za-z'’-]*) (?=[A-Z])")


def proper_nouns(texts: Sequence[str]) -> frozenset[str]:
    """Lower-cased words that are capitalised wherever they occur inside a sentence (names of people
    and places: they say where a finding comes from, not what it is about). Regexes over all texts at
    once: a word-by-word loop took 10 s on 180,000 findings."""
    joined = "\x00".join(texts)  # NUL: no text's last word runs into the next one's first
    lower = {w.lower().replace("’", "'") for w in _LOWER_WORD.findall(joined)}
    upper = {w.lower().replace("’", "'") for w in _INNER_CAPITAL.findall(joined)}
    upper |= {w.lower().replace("’", "'") for w in _INITIAL_NAME.findall(joined)}
    return frozenset(upper - lower)


def key_terms(clusters: Sequence[Sequence[str]], background: Sequence[str], top: int,
              background_weight: float = 1.0) -> list[list[str]]:
    """c-TF-IDF key terms per cluster: tf in the cluster x log(1 + A / frequency over all findings),
    where A is the average number of words per class; terms in two of the cluster's sentences
    rank first. Chosen terms share no word; a bigram replaces its own words when nearly as common."""
    stop = stop_words() | proper_nouns(background)
    bg = Counter(t for s in background for t in tokens(s, stop))
    if background_weight != 1.0:  # `background` is a sample: scale its counts back to all findings
        bg = Counter({t: c * background_weight for t, c in bg.items()})
    cluster_tokens = [[tokens(s, stop) for s in c] for c in clusters]  # once each: tf and df both read them
    classes = [Counter(t for ts in c for t in ts) for c in cluster_tokens]
    avg = (sum(bg.values()) / max(1, len(classes) + 1)) or 1.0
    out = []
    for texts, tf, toks in zip(clusters, classes, cluster_tokens):
        df = Counter(t for ts in toks for t in dict.fromkeys(ts))
        need = 2 if len(texts) >= 2 else 1
        ranked = sorted(tf, key=lambda t: (df[t] < need, -round(tf[t] * math.log(1 + avg / max(bg[t], tf[t])), 9),
                                           t))
        chosen: list[str] = []
        for term in ranked:
            mine = _stems(term)
            overlap = [c for c in chosen if _stems(c) & mine]
            if not overlap:
                chosen.append(term)
            elif (" " in term and df[term] >= need and all(" " not in c and _stems(c) <= mine for c in overlap)
                  and 2 * df[term] >= max(df[c] for c in overlap)):
                # a bigram nearly as common as its own words replaces them ("quality indicators")
                chosen[chosen.index(overlap[0])] = term
                chosen = [c for c in chosen if c not in overlap[1:]]
            if len(chosen) >= top:
                break
        out.append(chosen)
    return out


def _stems(term: str) -> set[str]:
    return {w[:-1] if len(w) > 3 and w.endswith("s") else w for w in term.split()}


def _unique_label(terms: Sequence[str], n: int, taken: set[str]) -> str:
    """Join the first `n` terms (2-4 words where terms allow); add terms or a number until unique."""
    terms = list(terms) or ["other findings"]
    k = max(1, min(n, len(terms)))
    while k > 1 and sum(len(t.split()) for t in terms[:k]) > 4:
        k -= 1
    label = ", ".join(terms[:k])
    while label.casefold() in taken and k < len(terms):
        k += 1
        label = ", ".join(terms[:k])
    base, i = label, 2
    while label.casefold() in taken:
        label, i = f"{base} ({i})", i + 1
    return label


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48].strip("-") or "theme"


def _unique_id(tid: str, taken: set[str]) -> str:
    out, i = tid, 2
    while out in taken:
        out, i = f"{tid}-{i}", i + 1
    return out
