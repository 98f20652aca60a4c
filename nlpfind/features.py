"""Features for the sentence models: word n-grams, section, quantifiers, embeddings and
similarity to the framework's statement and theme descriptions.

The featurizer's learned state (vocabularies, idf weights, description embeddings) is plain arrays
and JSON so that models persist without pickle. `SentenceFeatures` fits and transforms with numpy and
scipy alone, so a loaded model never imports scikit-learn; training uses it as the scikit-learn
transformer `nlpfind.estimators.SentenceFeaturizer`.
"""

from __future__ import annotations

import inspect
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat

import numpy as np
from scipy import sparse

QUANT_TERMS = ("all", "almost all", "most", "majority", "less than half", "significant minority",
               "a few", "none", "percentage", "fraction", "count")
_TOKEN = re.compile(r"(?u)\b\w[\w'-]*\b")


@dataclass(frozen=True)
class SentenceInput:
    """What the models see of one sentence."""

    text: str
    section: str = ""
    statement_section: str | None = None
    in_finding_section: bool = True
    quantifier_terms: tuple[str, ...] = ()
    section_polarity: str | None = None


def analyze(text: str, ngram_max: int = 2) -> list[str]:
    """Lower-cased word n-grams (1..ngram_max), the same at training and at inference."""
    words = _TOKEN.findall(text.lower())
    grams = list(words)
    for n in range(2, ngram_max + 1):
        grams.extend(map(" ".join, zip(*(words[k:] for k in range(n)))))
    return grams


def tfidf(docs: Sequence[str], vocab: dict[str, int], idf: np.ndarray, ngram_max: int) -> sparse.csr_matrix:
    """Sublinear tf-idf, L2-normalised rows, over a fixed vocabulary."""
    get = vocab.get
    ids: list[int] = []  # every n-gram's column, -1 outside the vocabulary, document after document
    lengths = []
    for doc in docs:
        grams = analyze(doc, ngram_max)
        ids.extend(map(get, grams, repeat(-1)))
        lengths.append(len(grams))
    # Counted in numpy, (row, column) pairs sorted as CSR wants them: a Counter and a sort per row were a third
    # of this function's time.
    width = max(1, len(vocab))
    cols_all = np.asarray(ids, dtype=np.int64)
    keys = np.repeat(np.arange(len(docs), dtype=np.int64), lengths) * width + cols_all
    keys, counts = np.unique(keys[cols_all >= 0], return_counts=True)
    cols = keys % width
    starts = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys // width, minlength=len(docs)), out=starts[1:])
    # Weights and norms for all rows at once: per-row numpy calls were most of this function's time.
    vals = ((1.0 + np.log(counts.astype(np.float64))) * idf[cols].astype(np.float64)).astype(np.float32)
    lengths = np.diff(starts)
    squares = np.zeros(len(docs), dtype=np.float32)
    nonempty = lengths > 0
    if vals.size:
        squares[nonempty] = np.add.reduceat(vals * vals, starts[:-1][nonempty])
    norms = np.sqrt(squares)
    norms[norms == 0] = 1.0
    vals /= np.repeat(norms, lengths)
    return sparse.csr_matrix((vals, cols.astype(np.int32), starts), shape=(len(docs), len(vocab)))


def learn_vocab(docs: Sequence[str], ngram_max: int, min_df: int, max_features: int) -> tuple[dict[str, int], np.ndarray]:
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(set(analyze(doc, ngram_max)))
    terms = [t for t, c in df.items() if c >= min_df]
    terms.sort(key=lambda t: (-df[t], t))
    terms = sorted(terms[:max_features])
    n = len(docs)
    idf = np.array([math.log((1 + n) / (1 + df[t])) + 1.0 for t in terms], dtype=np.float32)
    return {t: i for i, t in enumerate(terms)}, idf


# Both match lower-cased text: without re.I, Python's re runs the cue alternations 4x faster.
_NEGATION = re.compile(r"\b(?:not|no|never|nor|without|lack of)\s+(?:\w+\s+)?$")
_CUE_CACHE: dict[tuple, re.Pattern] = {}


def _cue_pattern(cues: tuple[str, ...]) -> re.Pattern:
    key = tuple(cues)
    if key not in _CUE_CACHE:
        # Written as a trie: the same matches as the longest-first alternation (the cues that match at one place
        # are prefixes of each other, and both try the longest first), found about three times faster.
        _CUE_CACHE[key] = re.compile(rf"\b(?:{_trie_regex(sorted({c.lower() for c in cues}))})\b")
    return _CUE_CACHE[key]


def cue_counts(texts: Sequence[str], strength: tuple[str, ...], weakness: tuple[str, ...]) -> np.ndarray:
    """Per text: [strength cues, weakness cues, negated strength cues, any strength, any weakness],
    log-scaled. A strength cue after a negation ("not effective") counts as a weakness."""
    out = np.zeros((len(texts), 5), dtype=np.float32)
    sp, wp = _cue_pattern(strength) if strength else None, _cue_pattern(weakness) if weakness else None
    for r, text in enumerate(texts):
        text = text.lower()
        s = w = neg = 0
        if sp is not None:
            for m in sp.finditer(text):
                if _NEGATION.search(text[max(0, m.start() - 30):m.start()]):
                    neg += 1
                else:
                    s += 1
        if wp is not None:
            w = len(wp.findall(text))
        out[r] = [math.log1p(s), math.log1p(w + neg), math.log1p(neg), float(s > 0), float(w + neg > 0)]
    return out


_TERM_CACHE: dict[tuple, tuple[re.Pattern, dict[str, tuple[int, ...]]]] = {}


def _trie_regex(terms: Sequence[str]) -> str:
    """A regular expression matching exactly `terms`, longest first, written as a trie ("ch(?:ild|ronolog)"): a plain
    alternation of 300 terms made the regex engine try each at every position (22 us a sentence; the trie, 6)."""
    trie: dict = {}
    for term in terms:
        node = trie
        for ch in term:
            node = node.setdefault(ch, {})
        node[""] = {}  # a term ends here

    def emit(node: dict) -> str:
        branches = [re.escape(ch) + emit(node[ch]) for ch in sorted(k for k in node if k)]
        if not branches:
            return ""
        group = branches[0] if len(branches) == 1 and len(branches[0]) == 1 else f"(?:{'|'.join(branches)})"
        return group + "?" if "" in node else group  # ends here too: the longer match first, then this one

    return emit(trie)


def _term_matcher(terms_by_theme: tuple[tuple[str, ...], ...]) -> tuple[re.Pattern, dict[str, tuple[int, ...]]]:
    """One pattern for every theme's terms (longest first, at the start of a word) and, per term, its themes."""
    if terms_by_theme not in _TERM_CACHE:
        owners: dict[str, list[int]] = {}
        for k, terms in enumerate(terms_by_theme):
            for term in terms:
                owners.setdefault(term.lower(), []).append(k)
        _TERM_CACHE[terms_by_theme] = re.compile(rf"\b(?:{_trie_regex(list(owners))})"), {t: tuple(v) for t, v in owners.items()}
    return _TERM_CACHE[terms_by_theme]


def theme_term_hits(texts: Sequence[str], terms_by_theme: Sequence[Sequence[str]]) -> np.ndarray:
    """1.0 where a text holds one of a theme's terms (column k: theme k), matched at the start of a word in any
    case ("chronolog" finds "Chronologies"). One scan per text: the fast path reads thousands a second."""
    out = np.zeros((len(texts), len(terms_by_theme)), dtype=np.float32)
    if not any(terms_by_theme):
        return out
    pattern, owners = _term_matcher(tuple(tuple(t) for t in terms_by_theme))
    for r, text in enumerate(texts):
        for m in pattern.finditer(text.lower()):
            out[r, owners[m.group()]] = 1.0
    return out


class SentenceFeatures:
    """Turns (SentenceInput, embedding) pairs into one sparse feature matrix.

    `X` is a tuple (inputs, embeddings); embeddings may be None when `embedding_weight` is 0.
    Description embeddings (statements, themes) are given at fit time. The theme-term indicators come
    last, `theme_only_columns` wide: only the theme head reads them (see nlpfind.train.fit_model).
    """

    def __init__(self, ngram_max: int = 2, min_df: int = 2, max_features: int = 30000,
                 ngram_weight: float = 1.0, embedding_weight: float = 1.0, section_weight: float = 1.0,
                 quantifier_weight: float = 0.5, similarity_weight: float = 1.0,
                 cue_weight: float = 0.5, strength_cues: tuple[str, ...] = (),
                 weakness_cues: tuple[str, ...] = (),
                 statement_ids: tuple[str, ...] = ("1", "2", "3", "4"),
                 description_embeddings: np.ndarray | None = None, theme_term_weight: float = 0.0,
                 theme_terms: tuple[tuple[str, ...], ...] = ()) -> None:
        self.ngram_max = ngram_max
        self.min_df = min_df
        self.max_features = max_features
        self.ngram_weight = ngram_weight
        self.embedding_weight = embedding_weight
        self.section_weight = section_weight
        self.quantifier_weight = quantifier_weight
        self.similarity_weight = similarity_weight
        self.cue_weight = cue_weight
        self.strength_cues = strength_cues
        self.weakness_cues = weakness_cues
        self.statement_ids = statement_ids
        self.description_embeddings = description_embeddings
        self.theme_term_weight = theme_term_weight
        self.theme_terms = theme_terms

    @property
    def theme_only_columns(self) -> int:
        """How many columns at the end of the features are theme-term indicators (0 when off)."""
        return len(self.theme_terms) if self.theme_term_weight and any(self.theme_terms) else 0

    def get_params(self, deep: bool = True) -> dict:
        """The constructor's arguments by name (the scikit-learn convention; `deep` is accepted and ignored)."""
        return {name: getattr(self, name) for name in inspect.signature(SentenceFeatures.__init__).parameters
                if name != "self"}

    def fit(self, X, y=None):
        inputs, embeddings = X
        texts = [i.text for i in inputs]
        self.embedding_dim_ = int(np.shape(embeddings)[1]) if embeddings is not None else 0
        self.vocab_, self.idf_ = learn_vocab(texts, self.ngram_max, self.min_df, self.max_features)
        self.section_vocab_, self.section_idf_ = learn_vocab([i.section for i in inputs], 1, 2, 2000)
        return self

    def transform(self, X):
        inputs, embeddings = X
        blocks = []
        if self.ngram_weight:
            blocks.append(self.ngram_weight * tfidf([i.text for i in inputs], self.vocab_, self.idf_, self.ngram_max))
        if self.section_weight:
            # Sentences share a handful of section paths: compute each once.
            unique = sorted({i.section for i in inputs})
            rows = {sec: k for k, sec in enumerate(unique)}
            sec = tfidf(unique, self.section_vocab_, self.section_idf_, 1)[[rows[i.section] for i in inputs]]
            onehot = np.zeros((len(inputs), len(self.statement_ids) + 3), dtype=np.float32)
            for r, i in enumerate(inputs):
                if i.statement_section in self.statement_ids:
                    onehot[r, self.statement_ids.index(i.statement_section)] = 1.0
                onehot[r, -3] = 1.0 if i.section else 0.0
                onehot[r, -2] = 0.0 if i.in_finding_section else 1.0
                onehot[r, -1] = 1.0 if not i.section else 0.0
            blocks.append(self.section_weight * sparse.hstack([sec, sparse.csr_matrix(onehot)]))
        if self.quantifier_weight:
            q = np.zeros((len(inputs), len(QUANT_TERMS) + 1), dtype=np.float32)
            for r, i in enumerate(inputs):
                for t in i.quantifier_terms:
                    if t in QUANT_TERMS:
                        q[r, QUANT_TERMS.index(t)] = 1.0
                q[r, -1] = 1.0 if i.quantifier_terms else 0.0
            blocks.append(sparse.csr_matrix(self.quantifier_weight * q))
        if self.cue_weight and (self.strength_cues or self.weakness_cues):
            blocks.append(sparse.csr_matrix(self.cue_weight * cue_counts(
                [i.text for i in inputs], self.strength_cues, self.weakness_cues)))
        if self.embedding_weight and embeddings is not None:
            blocks.append(sparse.csr_matrix(self.embedding_weight * np.asarray(embeddings, dtype=np.float32)))
        if self.similarity_weight and embeddings is not None and self.description_embeddings is not None:
            sims = np.asarray(embeddings, dtype=np.float32) @ self.description_embeddings.T
            blocks.append(sparse.csr_matrix(self.similarity_weight * sims))
        if self.theme_only_columns:  # last, so the statement and polarity heads can leave them out
            blocks.append(sparse.csr_matrix(self.theme_term_weight * theme_term_hits([i.text for i in inputs],
                                                                                     self.theme_terms)))
        return sparse.hstack(blocks, format="csr", dtype=np.float32)

    # -- persistence (JSON + arrays) --------------------------------------------------------
    def state(self) -> tuple[dict, dict[str, np.ndarray]]:
        params = self.get_params()
        params.pop("description_embeddings")
        params["statement_ids"] = list(self.statement_ids)
        params["strength_cues"] = list(self.strength_cues)
        params["weakness_cues"] = list(self.weakness_cues)
        params["theme_terms"] = [list(t) for t in self.theme_terms]
        meta = {"params": params, "vocab": sorted(self.vocab_, key=self.vocab_.get),
                "section_vocab": sorted(self.section_vocab_, key=self.section_vocab_.get)}
        arrays = {"idf": self.idf_, "section_idf": self.section_idf_}
        if self.description_embeddings is not None:
            arrays["description_embeddings"] = np.asarray(self.description_embeddings, dtype=np.float32)
        elif getattr(self, "embedding_dim_", 0):  # nothing else says how wide the embedding block is
            meta["embedding_dim"] = self.embedding_dim_
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> SentenceFeatures:
        params = dict(meta["params"])
        for key in ("statement_ids", "strength_cues", "weakness_cues"):
            params[key] = tuple(params.get(key, ()))
        params["theme_terms"] = tuple(tuple(t) for t in params.get("theme_terms", ()))
        obj = cls(**params, description_embeddings=arrays.get("description_embeddings"))
        obj.vocab_ = {t: i for i, t in enumerate(meta["vocab"])}
        obj.section_vocab_ = {t: i for i, t in enumerate(meta["section_vocab"])}
        obj.idf_ = np.asarray(arrays["idf"], dtype=np.float32)
        described = obj.description_embeddings
        obj.embedding_dim_ = int(meta.get("embedding_dim") or (described.shape[1] if described is not None else 0))
        obj.section_idf_ = np.asarray(arrays["section_idf"], dtype=np.float32)
        if len(obj.idf_) != len(obj.vocab_) or len(obj.section_idf_) != len(obj.section_vocab_):
            raise ValueError("vocabulary and idf arrays differ in length")
        return obj
