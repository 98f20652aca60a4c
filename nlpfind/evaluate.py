"""Grouped cross-validation (no partnership in both train and test) against baselines."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .config import Framework, TrainConfig, load_framework, load_train_config
from .corpus import Corpus, load_corpus
from .train import description_texts, embed_texts, fit_model, inputs_for

#: a home-framework report with at least this many labelled sentences gets its own subset row (a whole report,
#: not a news release quoting one)
WHOLE_REPORT_MIN = 100
TARGETS = {"strength_f1": 0.90, "weakness_f1": 0.90, "statement_macro_f1": 0.80, "themes_micro_f1": 0.70}


@dataclass(frozen=True)
class SystemResult:
    name: str
    description: str
    metrics: dict
    per_label: dict
    confusion: dict
    subsets: dict  # subset name -> metrics (e.g. each framework's reports, and all)
    #: subset name -> metric -> (low, high): 95% bootstrap interval (`bootstrap_metrics`, `interval`)
    intervals: dict = field(default_factory=dict)
    #: other system -> metric -> (difference, low, high): this system minus that one on the primary subset, with
    #: the 95% interval of the paired bootstrap (the same resamples for both); filled for the last system only
    versus: dict = field(default_factory=dict)
    #: per sentence (corpus order), the `metric_counts` of its held-out prediction: for paired comparisons of runs
    counts: np.ndarray | None = field(default=None, repr=False, compare=False)
    #: with a first pass (`first_pass` in the config): the share of sentences it left to the model, else None
    deferred: float | None = None
    #: with `keep_predictions`: each sentence's held-out prediction (FindingModel.predict's dict), corpus order
    predictions: tuple | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class EvaluationResult:
    systems: tuple[SystemResult, ...]
    folds: int
    sentences: int
    partnerships: int
    data_hash: str
    primary: str = "all"
    subset_sizes: dict | None = None
    #: subset name -> what its bootstrap resamples ("partnerships" or "sentences") and how many there are
    interval_units: dict = field(default_factory=dict)

    def system(self, name: str) -> SystemResult:
        return next(s for s in self.systems if s.name == name)


def _binary(pols: Sequence[str], side: str) -> np.ndarray:
    return np.array([p == side or p == "mixed" for p in pols], dtype=int)


def score(statements_true, statements_pred, pol_true, pol_pred, themes_true, themes_pred,
          framework: Framework) -> tuple[dict, dict, dict]:
    from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support
    from sklearn.preprocessing import MultiLabelBinarizer

    ids = list(framework.statement_ids)
    metrics = {
        "statement_macro_f1": float(f1_score(statements_true, statements_pred, labels=ids, average="macro",
                                             zero_division=0)),
        "strength_f1": float(f1_score(_binary(pol_true, "strength"), _binary(pol_pred, "strength"), zero_division=0)),
        "weakness_f1": float(f1_score(_binary(pol_true, "weakness"), _binary(pol_pred, "weakness"), zero_division=0)),
    }
    mlb = MultiLabelBinarizer(classes=list(framework.theme_ids))
    yt, yp = mlb.fit_transform(themes_true), mlb.transform(themes_pred)
    metrics["themes_micro_f1"] = float(f1_score(yt, yp, average="micro", zero_division=0))
    per_label: dict = {}
    for name, true, pred, labels in (("statement", statements_true, statements_pred, list(framework.statement_labels)),
                                     ("polarity", pol_true, pol_pred, ["strength", "weakness", "mixed", "neutral"])):
        p, r, f, s = precision_recall_fscore_support(true, pred, labels=labels, zero_division=0)
        per_label[name] = {lab: {"precision": float(p[k]), "recall": float(r[k]), "f1": float(f[k]),
                                 "support": int(s[k])} for k, lab in enumerate(labels)}
    p, r, f, s = precision_recall_fscore_support(yt, yp, zero_division=0)
    per_label["themes"] = {t: {"precision": float(p[k]), "recall": float(r[k]), "f1": float(f[k]),
                               "support": int(s[k])} for k, t in enumerate(framework.theme_ids)}
    confusion = {
        "statement": {"labels": list(framework.statement_labels),
                      "matrix": confusion_matrix(statements_true, statements_pred,
                                                 labels=list(framework.statement_labels)).tolist()},
        "polarity": {"labels": ["strength", "weakness", "mixed", "neutral"],
                     "matrix": confusion_matrix(pol_true, pol_pred,
                                                labels=["strength", "weakness", "mixed", "neutral"]).tolist()},
    }
    return metrics, per_label, confusion


#: resamples of the bootstrap behind each metric's interval, and its seed (the intervals are reproducible)
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0
#: a subset with at least this many partnerships is resampled by partnership, fewer (a whole report) by sentence
MIN_CLUSTERS = 5


def metric_counts(statements_true, statements_pred, pol_true, pol_pred, themes_true, themes_pred,
                  framework: Framework) -> np.ndarray:
    """Per sentence, the counts every headline metric is made of, one row each: true positives, false positives
    and false negatives of strength, of weakness, of each statement (1-4), and of themes (summed over themes).

    Sums of rows give the metrics of any set of sentences (`metrics_from_counts`), so a bootstrap resample costs a
    matrix product, not a re-scoring."""
    rows = []
    for side in ("strength", "weakness"):
        t, p = _binary(pol_true, side).astype(bool), _binary(pol_pred, side).astype(bool)
        rows += [t & p, ~t & p, t & ~p]
    st, sp = np.asarray(statements_true, dtype=object), np.asarray(statements_pred, dtype=object)
    for sid in framework.statement_ids:
        t, p = st == sid, sp == sid
        rows += [t & p, ~t & p, t & ~p]
    tt = [set(x) for x in themes_true]
    tp_ = [set(x) for x in themes_pred]
    rows += [np.array([len(a & b) for a, b in zip(tt, tp_)]), np.array([len(b - a) for a, b in zip(tt, tp_)]),
             np.array([len(a - b) for a, b in zip(tt, tp_)])]
    return np.stack([np.asarray(r, dtype=float) for r in rows], axis=1)


def _f1(tp, fp, fn):
    denominator = 2 * tp + fp + fn
    return np.divide(2 * tp, denominator, out=np.zeros_like(denominator, dtype=float), where=denominator > 0)


def metrics_from_counts(counts: np.ndarray) -> dict[str, np.ndarray]:
    """The four headline metrics from summed `metric_counts` rows (shape (..., K)); F1 is 0 where undefined, as
    scikit-learn's zero_division=0.

    Statement macro-F1 averages over the statements that have sentences in the set (scikit-learn's, given the four
    labels, would count an absent one as 0): the same wherever all four occur (every subset of corpus/), but a
    resample can miss one (28 of the 33 Scottish statement-3 sentences are North Ayrshire's), and a zero there
    would measure the resample, not the model."""
    c = np.asarray(counts, dtype=float)
    n_statements = (c.shape[-1] - 9) // 3
    per_statement = np.stack([_f1(*(c[..., 6 + 3 * k + j] for j in range(3))) for k in range(n_statements)], axis=-1)
    present = np.stack([c[..., 6 + 3 * k] + c[..., 8 + 3 * k] > 0 for k in range(n_statements)], axis=-1)
    statement = np.divide((per_statement * present).sum(axis=-1), present.sum(axis=-1),
                          out=np.zeros(per_statement.shape[:-1]), where=present.sum(axis=-1) > 0)
    return {"strength_f1": _f1(c[..., 0], c[..., 1], c[..., 2]), "weakness_f1": _f1(c[..., 3], c[..., 4], c[..., 5]),
            "statement_macro_f1": statement, "themes_micro_f1": _f1(c[..., -3], c[..., -2], c[..., -1])}


def bootstrap_weights(units: Sequence[str], resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
                      ) -> tuple[np.ndarray, np.ndarray]:
    """How many times each unit is drawn in each resample (units drawn with replacement, as many as there are),
    and each sentence's unit index. The same units and seed give the same draws: paired comparisons."""
    names, index = np.unique(np.asarray(units, dtype=object).astype(str), return_inverse=True)
    draws = np.random.default_rng(seed).integers(0, len(names), size=(resamples, len(names)))
    weights = np.zeros((resamples, len(names)))
    np.add.at(weights, (np.repeat(np.arange(resamples), len(names)), draws.ravel()), 1.0)
    return weights, index


def bootstrap_metrics(counts: np.ndarray, weights: np.ndarray, index: np.ndarray) -> dict[str, np.ndarray]:
    """Each headline metric on each resample: the sentences' counts summed per unit, weighted by the draws."""
    per_unit = np.zeros((weights.shape[1], counts.shape[1]))
    np.add.at(per_unit, index, counts)
    return metrics_from_counts(weights @ per_unit)


def interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The percentile interval of bootstrap values (resamples where the metric is undefined, NaN, left out)."""
    lo, hi = np.nanpercentile(values, [50 * (1 - level), 100 - 50 * (1 - level)])
    return float(lo), float(hi)


# Baselines are plain classifiers: no section priors, no top-theme or theme-statement rule and no theme terms (the
# heads and threshold alone decide, on their own features).
PLAIN = {"section_prior": 1.0, "section_polarity_prior": 1.0, "top_theme_for_findings": False, "theme_term_weight": 0.0,
         "polarity_thresholds": False, "theme_statement_floor": 0.0}

SYSTEMS = {
    "majority": "majority class (most frequent statement and polarity; no themes)",
    "tfidf-lr": "TF-IDF word 1-2 grams + logistic regression",
    "minilm-lr": "MiniLM sentence embeddings + logistic regression (SetFit-style head, no fine-tuning)",
    "nlpfind": "nlpfind: n-grams + embeddings + section + quantifiers + description similarity",
}


def evaluate(corpus_dir=None, report_dirs=None, config_path=None, folds: int = 5,
             systems: Sequence[str] = tuple(SYSTEMS), progress: Callable[[str], None] | None = None,
             config: TrainConfig | None = None, corpus: Corpus | None = None,
             fold_embeddings: Callable[[int], tuple[np.ndarray, np.ndarray]] | None = None,
             fold_polarity_embeddings: Callable[[int], tuple[np.ndarray, np.ndarray]] | None = None,
             keep_predictions: bool = False) -> EvaluationResult:
    """Cross-validate each system with folds grouped by partnership.

    `fold_embeddings(k)` (optional) gives the (sentence, description) embeddings to use in fold k
    instead of the configured model's, for encoders fine-tuned per fold on the training folds only
    (eval/finetune); it applies to the systems that use embeddings (minilm-lr, nlpfind).
    `fold_polarity_embeddings(k)` does the same for the polarity model of a config with a
    `polarity_embedding_model` (nlpfind's polarity decided on a fine-tuned encoder's embeddings).
    `keep_predictions` keeps each system's held-out predictions with their scores (SystemResult.predictions).
    A config with a `first_pass` is cross-validated as it classifies: both models fitted on each fold, the first
    pass's predictions kept where it is sure (SystemResult.deferred: the share it was not).

    Metrics are reported for every sentence and for each framework's reports separately (the
    manifest's `framework` column; empty means the corpus framework); `metrics` holds the
    corpus framework's subset, the domain the targets are set for.
    """
    from sklearn.model_selection import GroupKFold

    say = progress or (lambda _m: None)
    config = config or load_train_config(config_path)
    from .embed import is_tuned_encoder

    if ((is_tuned_encoder(config.embedding_model) and fold_embeddings is None)
            or (config.polarity_embedding_model and is_tuned_encoder(config.polarity_embedding_model)
                and fold_polarity_embeddings is None)):
        from .errors import ConfigError

        tuned_name = config.embedding_model if is_tuned_encoder(config.embedding_model) else config.polarity_embedding_model
        raise ConfigError(f"{config_path or 'the train config'}: embedding model "
                          f"{tuned_name!r} was "
                          "fine-tuned on the labelled corpus, so cross-validating it here would score sentences its "
                          "encoder already saw; "
                          "set polarity_finetune_layers instead of naming the encoder, and evaluate fine-tunes one "
                          "per fold (as configs/train-tuned.toml does)")
    framework = load_framework(config.framework)
    corpus = corpus or load_corpus(corpus_dir, framework, report_dirs)
    sents = corpus.sentences
    groups = np.array([s.partnership for s in sents])
    n_groups = len(set(groups))
    if n_groups < 2:
        from .errors import CorpusError

        raise CorpusError(f"{corpus.files[0] if corpus.files else 'corpus'}: grouped cross-validation needs labelled "
                          f"sentences from at least 2 partnerships; found {n_groups}. Label another report first")
    folds = max(2, min(folds, n_groups))
    say(f"{len(sents)} sentences from {n_groups} partnerships; {folds} grouped folds")
    inputs = inputs_for(sents, framework)
    statements = np.array([s.statement for s in sents])
    pols = np.array([s.polarity for s in sents])
    themes = [tuple(s.themes) for s in sents]
    by_report = {r.report: (r.framework or framework.id) for r in corpus.reports}
    domain = np.array([by_report.get(s.report, framework.id) for s in sents])
    subsets = {"all": np.ones(len(sents), dtype=bool)}
    for d in sorted(set(domain)):
        subsets[d] = domain == d
    primary = framework.id if framework.id in subsets else "all"
    home = domain == framework.id
    # Whole reports of the home framework also get their own row: a full report's findings read unlike the
    # news releases and summaries that make up most of the home sentences, and new reports will be full ones.
    sizes = Counter(s.report for s, h in zip(sents, home) if h)
    for report in sorted(r for r, n in sizes.items() if n >= WHOLE_REPORT_MIN):
        subsets[f"report {report}"] = np.array([s.report == report for s in sents])
    need_minilm = any(s in ("minilm-lr",) for s in systems) or config.embedding_model == "minilm"
    emb_cache: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    def embeddings(name: str, fold: int, layers: tuple[int, ...] = (), per_fold: bool = True):
        if fold_embeddings is not None and per_fold:  # encoders fine-tuned per fold replace the named model
            return fold_embeddings(fold)
        if (name, layers) not in emb_cache:
            say(f"embedding with {name}" + (f" (layers {', '.join(map(str, layers))})" if layers else ""))
            emb_cache[name, layers] = (embed_texts([i.text for i in inputs], name, layers=layers),
                                       embed_texts(description_texts(framework), name, layers=layers))
        return emb_cache[name, layers]

    if need_minilm and fold_embeddings is None:
        embeddings("minilm", 0)
    splits = list(GroupKFold(n_splits=folds).split(inputs, groups=groups))
    if config.finetune_settings is not None and fold_polarity_embeddings is None:
        fold_polarity_embeddings = _fold_finetuning(inputs, pols, themes, framework, config, home, splits, say)
    # Intervals: a partnership's sentences were held out together, so a subset of many partnerships is resampled by
    # partnership (a cluster bootstrap); a whole report, one partnership, by sentence. One draw per subset for all
    # systems, so differences between systems are paired.
    draws = {}
    units: dict[str, tuple[str, int]] = {}
    for sub, mask in subsets.items():
        idx = np.flatnonzero(mask)
        by_partnership = len(set(groups[idx])) >= MIN_CLUSTERS
        unit_of = groups[idx] if by_partnership else np.array([str(i) for i in idx], dtype=object)
        draws[sub] = bootstrap_weights(unit_of)
        units[sub] = ("partnerships" if by_partnership else "sentences", draws[sub][0].shape[1])
    boot: dict[str, dict[str, np.ndarray]] = {}  # system -> metric -> values over the primary subset's resamples
    results = []
    for name in systems:
        say(f"cross-validating {name}")
        pred_s = np.empty(len(sents), dtype=object)
        pred_p = np.empty(len(sents), dtype=object)
        pred_t: list = [()] * len(sents)
        deferred = 0
        kept_preds: list = [None] * len(sents)
        for fold, (train_idx, test_idx) in enumerate(splits):
            if name == "majority":
                pred_s[test_idx] = Counter(statements[train_idx]).most_common(1)[0][0]
                pred_p[test_idx] = Counter(pols[train_idx]).most_common(1)[0][0]
                continue
            if name == "tfidf-lr":
                cfg = replace(config, embedding_weight=0.0, section_weight=0.0, quantifier_weight=0.0,
                              similarity_weight=0.0, cue_weight=0.0, ngram_weight=1.0, **PLAIN)
                emb = desc = None
            elif name == "minilm-lr":
                cfg = replace(config, embedding_model="minilm", embedding_layers=(), ngram_weight=0.0, section_weight=0.0,
                              quantifier_weight=0.0, similarity_weight=0.0, cue_weight=0.0, embedding_weight=1.0,
                              **PLAIN)
                emb, _ = embeddings("minilm", fold)
                desc = None
            else:
                cfg = config
                emb, desc = (embeddings(cfg.embedding_model, fold, tuple(cfg.embedding_layers))
                             if cfg.embedding_weight or cfg.similarity_weight else (None, None))
                if not cfg.similarity_weight:
                    desc = None
            tr = [inputs[i] for i in train_idx]
            te = [inputs[i] for i in test_idx]
            model = fit_model(tr, None if emb is None else emb[train_idx], statements[train_idx],
                              pols[train_idx], [themes[i] for i in train_idx], framework, cfg, desc,
                              list(home[train_idx]) if name == "nlpfind" else None, list(groups[train_idx]))
            if name == "nlpfind" and cfg.separate_polarity:
                from .train import polarity_config

                pcfg = polarity_config(cfg)
                p_emb, p_desc = (fold_polarity_embeddings(fold) if fold_polarity_embeddings is not None
                                 else embeddings(pcfg.embedding_model, fold, tuple(pcfg.embedding_layers)))
                model.polarity_model = fit_model(tr, p_emb[train_idx], statements[train_idx], pols[train_idx],
                                                 [themes[i] for i in train_idx], framework, pcfg,
                                                 p_desc if pcfg.similarity_weight else None, list(home[train_idx]),
                                                 list(groups[train_idx]))
                p_test = p_emb[test_idx]
            else:
                p_test = None
            if name == "nlpfind" and cfg.first_pass:  # as classify does: the first pass, then this model where unsure
                fcfg = cfg.first_pass_config
                f_emb, f_desc = (embeddings(fcfg.embedding_model, fold, tuple(fcfg.embedding_layers), per_fold=False)
                                 if fcfg.embedding_weight or fcfg.similarity_weight else (None, None))
                model.first_pass = fit_model(tr, None if f_emb is None else f_emb[train_idx], statements[train_idx],
                                             pols[train_idx], [themes[i] for i in train_idx], framework, fcfg,
                                             f_desc if fcfg.similarity_weight else None, list(home[train_idx]),
                                             list(groups[train_idx]))
                model.meta["first_pass_confidence"] = cfg.first_pass_confidence
                preds = model.classify(te, None if emb is None else _lookup(te, emb[test_idx]),
                                       None if p_test is None else _lookup(te, p_test),
                                       first_embeddings=None if f_emb is None else f_emb[test_idx])
                deferred += sum(p["decided_by"] == "model" for p in preds)
            else:
                preds = model.predict(te, None if emb is None else emb[test_idx], p_test)
            for k, i in enumerate(test_idx):
                pred_s[i], pred_p[i], pred_t[i] = preds[k]["statement"], preds[k]["polarity"], preds[k]["themes"]
                kept_preds[i] = preds[k]
        per_subset, intervals = {}, {}
        counts = metric_counts(statements, pred_s, pols, pred_p, themes, pred_t, framework)
        for sub, mask in subsets.items():
            idx = np.flatnonzero(mask)
            per_subset[sub] = score(list(statements[idx]), list(pred_s[idx]), list(pols[idx]), list(pred_p[idx]),
                                    [themes[i] for i in idx], [pred_t[i] for i in idx], framework)
            values = bootstrap_metrics(counts[idx], *draws[sub])
            intervals[sub] = {k: interval(v) for k, v in values.items()}
            if sub == primary:
                boot[name] = values
        metrics, per_label, confusion = per_subset[primary]
        results.append(SystemResult(name, SYSTEMS.get(name, name), metrics, per_label, confusion,
                                    {k: v[0] for k, v in per_subset.items()}, intervals, counts=counts,
                                    deferred=deferred / len(sents) if name == "nlpfind" and config.first_pass else None,
                                    predictions=tuple(kept_preds) if keep_predictions and name != "majority" else None))
    if len(results) > 1:  # the last system (nlpfind) against each baseline, on the same resamples
        last = results[-1]
        versus = {other.name: {k: (last.metrics[k] - other.metrics[k], *interval(boot[last.name][k] - boot[other.name][k]))
                               for k in TARGETS} for other in results[:-1]}
        results[-1] = replace(last, versus=versus)
    return EvaluationResult(tuple(results), folds, len(sents), n_groups, corpus.data_hash, primary,
                            {k: int(v.sum()) for k, v in subsets.items()}, units)


def _fold_finetuning(inputs: Sequence, polarities: np.ndarray, themes: Sequence, framework, config: TrainConfig,
                     home: np.ndarray, splits: Sequence, say: Callable[[str], None]
                     ) -> Callable[[int], tuple[np.ndarray, np.ndarray]]:
    """For a config that fine-tunes the polarity model's encoder: fold k's (sentence, description) vectors from an
    encoder fine-tuned on fold k's training sentences only, so no held-out sentence reaches the encoder."""
    import tempfile

    from .embed import forget_embedder
    from .train import finetune_for

    def fold_vectors(fold: int) -> tuple[np.ndarray, np.ndarray]:
        train_idx = splits[fold][0]
        with tempfile.TemporaryDirectory(prefix="nlpfind-encoder-") as work:
            say(f"fold {fold + 1}/{len(splits)}: fine-tuning the encoder on its {len(train_idx)} training sentences")
            encoder = str(finetune_for([inputs[i] for i in train_idx], list(polarities[train_idx]),
                                       [themes[i] for i in train_idx], framework, config, list(home[train_idx]),
                                       Path(work) / "encoder", say))
            vectors = (embed_texts([i.text for i in inputs], encoder), embed_texts(description_texts(framework), encoder))
            forget_embedder(encoder)
        return vectors

    return fold_vectors


def _lookup(inputs: Sequence, vectors: np.ndarray) -> Callable[[list[str]], np.ndarray]:
    """An encoder that answers from vectors already made for `inputs` (a text's vector depends on its text alone)."""
    by_text = {i.text: v for i, v in zip(inputs, vectors)}
    return lambda texts: np.stack([by_text[t] for t in texts]) if texts else vectors[:0]


def results_markdown(result: EvaluationResult, command: str, config: TrainConfig, title: str | None = None,
                     measured: str | None = None) -> str:
    """The RESULTS.md section of an evaluation; `title` names what was evaluated when it is not the default model
    (so several sections can be told apart), `measured` is the date it was run."""
    keys = ("strength_f1", "weakness_f1", "statement_macro_f1", "themes_micro_f1")
    lines = [
        "## Sentence models: grouped cross-validation by partnership" + (f" (`{title}`)" if title else ""), "",
        f"Command: `{command}`" + (f" (run {measured})" if measured else ""), "",
        f"{result.sentences} labelled sentences, {result.partnerships} partnerships, {result.folds} folds "
        f"(GroupKFold: no partnership in both train and test); corpus hash `{result.data_hash}`; "
        f"embedding model `{config.embedding_model}`"
        + (f" (layers {', '.join(map(str, config.embedding_layers))} mean-pooled side by side; the minilm-lr "
           "baseline uses the model's own vector)" if config.embedding_layers else "") + ".", "",
        "| system | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys),
    ]
    lines[-2:-2] = [f"Headline metrics are on the `{result.primary}` sentences ({(result.subset_sizes or {}).get(result.primary)}"
                    f" sentences), the domain the targets are set for; every sentence was predicted by a model that "
                    "never saw its partnership.", ""]
    deferred = result.systems[-1].deferred
    if deferred is not None:
        lines[-2:-2] = [f"nlpfind has a first pass (`{config.first_pass}`, on `{config.first_pass_config.embedding_model}`): "
                        f"its findings stand except where its statement or polarity probability is under "
                        f"{config.first_pass_confidence}; it left {deferred:.1%} of the sentences to the "
                        f"`{config.embedding_model}` model.", ""]
    for s in result.systems:
        lines.append(f"| {s.name} | " + " | ".join(f"{s.metrics[k]:.3f}" for k in keys) + " |")
    lines.append("| target | " + " | ".join(f"{TARGETS[k]:.2f}" for k in keys) + " |")
    unit, n_units = (result.interval_units or {}).get(result.primary, (None, 0))
    if unit and all(s.intervals for s in result.systems):
        lines += ["", f"95% intervals (bootstrap: the {n_units} {unit} of the `{result.primary}` sentences drawn with "
                  f"replacement, {BOOTSTRAP_RESAMPLES:,} resamples, seed {BOOTSTRAP_SEED}"
                  + ("; a partnership's sentences are drawn together, as they were held out together" if unit ==
                     "partnerships" else "") + "):", "",
                  "| system | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
        for s in result.systems:
            lines.append(f"| {s.name} | " + " | ".join(_span(s.intervals[result.primary][k]) for k in keys) + " |")
    lines += ["", "By subset (sentences of each framework's reports, of each whole home-framework report, and all):", "",
              "| system | subset | n | " + " | ".join(keys) + " |", "|---|---|---|" + "---|" * len(keys)]
    for s in result.systems:
        for sub, m in s.subsets.items():
            lines.append(f"| {s.name} | {sub} | {(result.subset_sizes or {}).get(sub)} | "
                         + " | ".join(f"{m[k]:.3f}" for k in keys) + " |")
    best = result.systems[-1]
    if best.intervals:
        lines += ["", f"95% intervals of `{best.name}` by subset (resampling partnerships where a subset has at least "
                  f"{MIN_CLUSTERS}, else sentences: a whole report is one partnership):", "",
                  "| subset | resampled | " + " | ".join(keys) + " |", "|---|---|" + "---|" * len(keys)]
        for sub, spans in best.intervals.items():
            unit, n_units = (result.interval_units or {}).get(sub, ("", 0))
            lines.append(f"| {sub} | {n_units} {unit} | " + " | ".join(_span(spans[k]) for k in keys) + " |")
    lines += ["", f"Target check for `{best.name}`:", ""]
    for k in keys:
        v, t = best.metrics[k], TARGETS[k]
        span = best.intervals.get(result.primary, {}).get(k)
        others = [s for s in result.systems if s.name != best.name]
        versus = ""
        if others:
            top = max(others, key=lambda s: s.metrics[k])
            versus = (f"; {'beats' if v > top.metrics[k] else 'does not beat'} the best baseline "
                      f"({top.name}, {top.metrics[k]:.3f})")
            if top.name in best.versus:
                diff, lo, hi = best.versus[top.name][k]
                versus += f" by {diff:+.3f} (paired 95% interval {_span((lo, hi), signed=True)})"
        lines.append(f"- {k}: {v:.3f}" + (f" (95% interval {_span(span)})" if span else "")
                     + f" vs target {t:.2f} ({'met' if v >= t else f'missed by {t - v:.3f}'}){versus}")
    lines += ["", f"Per-label results for `{best.name}`:", ""]
    for head in ("statement", "polarity"):
        lines += [f"| {head} | precision | recall | F1 | support |", "|---|---|---|---|---|"]
        for lab, m in best.per_label[head].items():
            lines.append(f"| {lab} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |")
        conf = best.confusion[head]
        lines += ["", f"Confusion matrix ({head}; rows true, columns predicted: {', '.join(conf['labels'])}):", "",
                  "```"] + [" ".join(f"{v:4d}" for v in row) for row in conf["matrix"]] + ["```", ""]
    lines += ["| theme | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for lab, m in best.per_label["themes"].items():
        lines.append(f"| {lab} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |")
    return "\n".join(lines) + "\n"


def _span(bounds: tuple[float, float], signed: bool = False) -> str:
    lo, hi = bounds
    return f"{lo:+.3f} to {hi:+.3f}" if signed else f"{lo:.3f}-{hi:.3f}"


def update_results_file(path, section_id: str, markdown: str) -> None:
    """Replace (or add) one marked section of eval/RESULTS.md, leaving the rest as it was."""
    import os
    from pathlib import Path

    path = Path(path)
    begin, end = f"<!-- begin:{section_id} -->", f"<!-- end:{section_id} -->"
    old = path.read_text(encoding="utf-8") if path.is_file() else "# nlpfind evaluation results\n\n"
    block = f"{begin}\n{markdown}{end}\n"
    if begin in old and end in old:
        new = old[:old.index(begin)] + block + old[old.index(end) + len(end) + 1:]
    else:
        new = old.rstrip("\n") + "\n\n" + block
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, path)
