"""Train the statement, polarity and theme models from a labelled corpus."""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .cache import cache_dir
from .classify import ENCODER_DIR, FindingModel, library_versions
from .config import POLARITIES, Framework, TrainConfig, load_framework, load_train_config
from .corpus import Corpus, LabelledSentence, load_corpus
from .estimators import LinearHead, MultiLabelHead, SentenceFeaturizer
from .features import SentenceInput


def inputs_for(sentences: Sequence[LabelledSentence], framework: Framework) -> list[SentenceInput]:
    """Model inputs; quantifiers come from the tagger, as they will at inference."""
    from .quantify import QuantifierTagger

    tagger = QuantifierTagger(framework)
    found = tagger.find_many([s.clean for s in sentences])
    return [SentenceInput(s.clean, framework.without_grades(s.section), s.statement_section, s.in_finding_section,
                          tuple(f[2] for f in fs), framework.section_polarity(s.section))
            for s, fs in zip(sentences, found)]


def embed_texts(texts: Sequence[str], model_name: str, use_cache: bool = True, layers: Sequence[int] = ()) -> np.ndarray:
    from .embed import EmbeddingCache, get_embedder

    embedder = get_embedder(model_name, layers)
    if use_cache:
        return EmbeddingCache(cache_dir() / "embeddings", embedder).encode(list(texts))
    return embedder.encode(list(texts))


def description_texts(framework: Framework) -> list[str]:
    return ([f"{s.title}. {s.description}" for s in framework.statements]
            + [f"{t.name}. {t.description}" for t in framework.themes])


def make_featurizer(config: TrainConfig, framework: Framework, desc: np.ndarray | None) -> SentenceFeaturizer:
    return SentenceFeaturizer(
        ngram_weight=config.ngram_weight, embedding_weight=config.embedding_weight,
        section_weight=config.section_weight, quantifier_weight=config.quantifier_weight,
        similarity_weight=config.similarity_weight if desc is not None else 0.0,
        cue_weight=config.cue_weight, strength_cues=framework.strength_cues, weakness_cues=framework.weakness_cues,
        statement_ids=framework.statement_ids, description_embeddings=desc,
        theme_term_weight=config.theme_term_weight, theme_terms=framework.theme_terms)


def fit_model(inputs: Sequence[SentenceInput], embeddings: np.ndarray | None, statements: Sequence[str],
              polarities: Sequence[str], themes: Sequence[Sequence[str]], framework: Framework,
              config: TrainConfig, desc: np.ndarray | None, home: Sequence[bool] | None = None,
              groups: Sequence[str] | None = None) -> FindingModel:
    """Fit featurizer and heads on already-embedded inputs.

    `home` marks sentences from reports of the model's own framework; they weigh `home_weight`
    times as much as sentences borrowed from other frameworks' reports (e.g. Ofsted). `groups` (each
    sentence's partnership) keeps a partnership's sentences together in the inner cross-validation that
    chooses the polarity thresholds (`polarity_thresholds` in the config).
    """
    featurizer = make_featurizer(config, framework, desc)
    X = featurizer.fit_transform((list(inputs), embeddings))
    cw = None if config.class_weight == "none" else "balanced"
    sw = None if home is None else np.where(np.asarray(home, dtype=bool), config.home_weight, 1.0)
    # The theme-term indicators are for the theme head: measured, they cost statement and weakness F1 when the
    # other heads read them too. Those heads are fitted without the columns, which then get zero weights.
    own = featurizer.theme_only_columns
    X_other = X[:, :X.shape[1] - own] if own else X
    st = LinearHead(C=config.C_statement, class_weight=cw, random_state=config.seed).fit(X_other, list(statements), sw)
    po = LinearHead(C=config.C_polarity, class_weight=cw, random_state=config.seed).fit(X_other, list(polarities), sw)
    for head in (st, po) if own else ():
        head.coef_ = np.hstack([head.coef_, np.zeros((head.coef_.shape[0], own), dtype=np.float32)])
    th = MultiLabelHead(labels=framework.theme_ids, C=config.C_themes, threshold=config.theme_threshold,
                        random_state=config.seed).fit(X, [list(t) for t in themes], sw)
    meta = {"section_prior": config.section_prior, "section_polarity_prior": config.section_polarity_prior,
            "top_theme_for_findings": config.top_theme_for_findings}
    if config.theme_statement_floor:
        meta["theme_statement_floor"] = config.theme_statement_floor
        meta["statement_given_theme"] = statement_given_theme(statements, themes, framework.theme_ids,
                                                              [str(c) for c in st.classes_], sw)
    if config.polarity_average:
        meta["polarity_average"] = True
    # With a polarity model, that model decides with its own thresholds, unless the two models' votes are averaged
    if config.polarity_thresholds and (not config.separate_polarity or config.polarity_average):
        hints = [i.section_polarity for i in inputs]
        thresholds = choose_polarity_thresholds(X_other, polarities, hints, config, sw, home, groups)
        if thresholds:
            meta["polarity_thresholds"] = thresholds
    return FindingModel(framework.id, framework.statement_labels, framework.theme_ids, featurizer, st, po, th,
                        config.embedding_model, meta, embedding_layers=tuple(config.embedding_layers))


def statement_given_theme(statements: Sequence[str], themes: Sequence[Sequence[str]], theme_ids: Sequence[str],
                          statement_classes: Sequence[str], sample_weight: np.ndarray | None = None
                          ) -> dict[str, dict[str, float]]:
    """Per theme, the share of its (weighted) training sentences under each statement class, with half a sentence
    added to every class so that a theme seen a few times rules nothing out: P(statement | theme)."""
    weights = np.ones(len(statements)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    counts = {t: dict.fromkeys(statement_classes, 0.5) for t in theme_ids}
    for statement, tagged, w in zip(statements, themes, weights):
        for t in tagged:
            if t in counts and statement in counts[t]:
                counts[t][statement] += float(w)
    return {t: {c: round(n / sum(row.values()), 6) for c, n in row.items()} for t, row in counts.items()}


THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.025), 3)


def choose_polarity_thresholds(X, polarities: Sequence[str], hints: Sequence[str | None], config: TrainConfig,
                               sample_weight: np.ndarray | None, home: Sequence[bool] | None,
                               groups: Sequence[str] | None, folds: int = 5) -> dict[str, float] | None:
    """The thresholds on P(strength) + P(mixed) and P(weakness) + P(mixed) that give the best F1 of each binary
    decision (the way strength and weakness are scored) on held-out predictions of an inner cross-validation
    (grouped by `groups` when given), over home-framework sentences where there are any. None where too few
    groups or no positive example leave nothing to choose from.

    Why: the polarity head is fitted with balanced class weights for four classes; the most likely class is not
    the F1-best decision for "is this a strength (or mixed)?", and on held-out partnerships the head leans to
    neutral for findings worded unlike its training sentences."""
    from sklearn.model_selection import GroupKFold, KFold

    from .classify import apply_prior

    y = np.asarray(polarities, dtype=object)
    n_groups = len(set(groups)) if groups is not None else len(y)
    k = min(folds, n_groups)
    if k < 2:
        return None
    splits = (GroupKFold(n_splits=k).split(y, groups=list(groups)) if groups is not None
              else KFold(n_splits=k, shuffle=True, random_state=config.seed).split(y))
    cw = None if config.class_weight == "none" else "balanced"
    proba = np.zeros((len(y), len(POLARITIES)))
    for tr, te in splits:
        if len(set(y[tr])) < 2:
            return None
        head = LinearHead(C=config.C_polarity, class_weight=cw, random_state=config.seed).fit(
            X[tr], list(y[tr]), None if sample_weight is None else sample_weight[tr])
        p = apply_prior(head.predict_proba(X[te]), head.classes_, [hints[i] for i in te], config.section_polarity_prior)
        for j, c in enumerate(head.classes_):
            proba[te, POLARITIES.index(str(c))] = p[:, j]
    rows = np.asarray(home, dtype=bool) if home is not None and any(home) else np.ones(len(y), dtype=bool)
    mixed = proba[:, POLARITIES.index("mixed")]
    out = {}
    for side in ("strength", "weakness"):
        truth = np.isin(y[rows], [side, "mixed"])
        if not truth.any():
            return None
        score = (proba[:, POLARITIES.index(side)] + mixed)[rows]
        picked = score[:, None] >= THRESHOLD_GRID[None, :]
        tp = (picked & truth[:, None]).sum(0)
        f1 = 2 * tp / np.maximum(picked.sum(0) + truth.sum(), 1)
        # ties: the threshold nearest 0.5, the plain decision
        best = max(range(len(THRESHOLD_GRID)), key=lambda n: (f1[n], -abs(THRESHOLD_GRID[n] - 0.5)))
        out[side] = float(THRESHOLD_GRID[best])
    return out


@dataclass(frozen=True)
class TrainResult:
    path: str
    sentences: int
    reports: int
    data_hash: str
    label_counts: dict


def train(corpus_dir: str | Path | None = None, report_dirs: Sequence[str | Path] | None = None,
          out: str | Path | None = None, config_path: str | Path | None = None,
          progress: Callable[[str], None] | None = None, metrics: dict | None = None,
          cross_validate: bool = True) -> TrainResult:
    """Train on the corpus and save the model atomically to `out`.

    With `cross_validate`, the model card also records grouped cross-validation metrics of this
    configuration on this corpus (partnerships held out), so every saved model says how well it did.
    """
    from .classify import DEFAULT_MODEL_DIR

    say = progress or (lambda _msg: None)
    config = load_train_config(config_path)
    framework = load_framework(config.framework)
    say("loading corpus")
    corpus = load_corpus(corpus_dir, framework, report_dirs)
    from .embed import is_tuned_encoder

    if config.finetune_settings is not None and cross_validate and metrics is None:
        cross_validate = False  # each fold would fine-tune its own encoder: minutes a fold on a CPU
        metrics = {"note": "not cross-validated by `nlpfind train`: the encoder is fine-tuned afresh in every fold "
                           "(minutes a fold on a CPU); run `nlpfind evaluate --config` with this config"}
        say("not cross-validating: with a fine-tuned encoder that is `nlpfind evaluate --config` (minutes a fold)")
    if any(is_tuned_encoder(m) for m in (config.embedding_model, config.polarity_embedding_model) if m):
        cross_validate = False  # the encoder saw every labelled sentence: CV here would overstate (see evaluate)
        if metrics is None:
            metrics = {"note": "not cross-validated here: the encoder was fine-tuned on this corpus; results with the "
                               "encoder fine-tuned per fold: eval/finetune/evaluate_tuned.py, eval/RESULTS.md "
                               "(section tuned)"}
    if cross_validate and metrics is None and len({s.partnership for s in corpus.sentences}) >= 2:
        from .evaluate import evaluate

        say("cross-validating (grouped by partnership) for the model card")
        result = evaluate(systems=("nlpfind",), config=config, corpus=corpus)
        system = result.systems[0]
        metrics = {f"{sub}:{k}": round(v, 4) for sub, m in system.subsets.items() for k, v in m.items()}
        metrics["folds"] = result.folds
    counts = label_counts(corpus)
    out = Path(out) if out else DEFAULT_MODEL_DIR
    # a fine-tuned encoder is written here first, then copied into the model folder by its atomic save
    with tempfile.TemporaryDirectory(prefix="nlpfind-encoder-") as work:
        model = train_on(corpus, framework, config, say, Path(work))
        model.meta.update({
            "training_data_hash": corpus.data_hash, "training_sentences": len(corpus),
            "training_reports": len(corpus.reports), "label_counts": counts,
            "train_config": {k: v for k, v in config.__dict__.items() if k != "extra"},
            "library_versions": library_versions(), "metrics": metrics or {},
        })
        say(f"saving to {out}")
        model.to_disk(out, extra_files={"README.md": model_card(model.meta, config, model.polarity_thresholds)})
        from .embed import forget_embedder

        for part in model.parts():
            forget_embedder(part.embedding_model)
    return TrainResult(str(out), len(corpus), len(corpus.reports), corpus.data_hash, counts)


def train_on(corpus: Corpus, framework: Framework, config: TrainConfig,
             say: Callable[[str], None] = lambda _m: None, work: Path | None = None) -> FindingModel:
    """Fit the model (and its polarity model and first pass, where the config has them) on the whole corpus.
    A config that fine-tunes the polarity model's encoder writes the encoder into `work`, which must then outlive
    the model's use (the returned polarity model reads its encoder from there until saved)."""
    sents = corpus.sentences
    say(f"tagging quantifiers in {len(sents)} sentences")
    inputs = inputs_for(sents, framework)
    emb = desc = None
    if config.embedding_weight or config.similarity_weight:
        say(f"embedding {len(sents)} sentences with {config.embedding_model}")
        emb = embed_texts([i.text for i in inputs], config.embedding_model, layers=config.embedding_layers)
        desc = (embed_texts(description_texts(framework), config.embedding_model, layers=config.embedding_layers)
                if config.similarity_weight else None)
    say("fitting statement, polarity and theme heads")
    model = fit_model(inputs, emb, [s.statement for s in sents], [s.polarity for s in sents],
                      [s.themes for s in sents], framework, config, desc, home_mask(corpus, framework),
                      [s.partnership for s in sents])
    if config.finetune_settings is not None:
        if work is None:
            raise ValueError("train_on: a config that fine-tunes the encoder needs a work folder")
        encoder = finetune_for(inputs, [s.polarity for s in sents], [s.themes for s in sents], framework, config,
                               home_mask(corpus, framework), work / "encoder", say)
        say("training the polarity model on the fine-tuned encoder")
        model.polarity_model = train_on(corpus, framework, replace(polarity_config(config), embedding_model=str(encoder)),
                                        say)
        model.polarity_model.meta["encoder"] = ENCODER_DIR
    elif config.separate_polarity:
        say(f"training the polarity model on {config.polarity_embedding_model}")
        model.polarity_model = train_on(corpus, framework, polarity_config(config), say)
    if config.first_pass:
        say(f"training the first pass ({config.first_pass})")
        model.first_pass = train_on(corpus, framework, config.first_pass_config, say)
        model.meta["first_pass_confidence"] = config.first_pass_confidence
    return model


def finetune_for(inputs: Sequence[SentenceInput], polarities: Sequence[str], themes: Sequence[Sequence[str]],
                 framework: Framework, config: TrainConfig, home: Sequence[bool], out: Path,
                 say: Callable[[str], None] = lambda _m: None) -> Path:
    """Fine-tune the polarity model's encoder on these sentences (home-framework ones weighted as in the heads) into
    `out`, saying how far it has got once an epoch."""
    from .finetune import BATCH, finetune_encoder

    settings = config.finetune_settings
    per_epoch = max(1, -(-len(inputs) // BATCH))
    say(f"fine-tuning the top {settings.layers} layers of MiniLM on {len(inputs)} sentences ({settings.epochs} epochs)")

    def progress(step: int, steps: int) -> None:
        if step % per_epoch == 0 or step == steps:
            say(f"fine-tuning: epoch {min(settings.epochs, -(-step // per_epoch))}/{settings.epochs} done")

    weights = np.where(np.asarray(home, dtype=bool), config.home_weight, 1.0)
    return finetune_encoder([i.text for i in inputs], polarities, themes, framework.theme_ids, weights, settings, out,
                            progress)


def polarity_config(config: TrainConfig) -> TrainConfig:
    """The settings of a model's polarity model: the same, on the polarity embedding model's own vector (the
    fine-tuned encoder was tuned, and cross-validated, on its mean-pooled last layer), without theme terms (only
    its polarity head is used, and the terms are for theme heads: matching them there was work done twice)."""
    return replace(config, embedding_model=config.polarity_embedding_model, polarity_embedding_model="",
                   embedding_layers=(), theme_term_weight=0.0, polarity_average=False, polarity_finetune_layers=0)


def home_mask(corpus: Corpus, framework: Framework) -> list[bool]:
    """True for sentences from reports of `framework` (the manifest's framework column)."""
    by_report = {r.report: (r.framework or framework.id) for r in corpus.reports}
    return [by_report.get(s.report, framework.id) == framework.id for s in corpus.sentences]


def label_counts(corpus: Corpus) -> dict:
    return {
        "statement": dict(sorted(Counter(s.statement for s in corpus.sentences).items())),
        "polarity": dict(sorted(Counter(s.polarity for s in corpus.sentences).items())),
        "themes": dict(sorted(Counter(t for s in corpus.sentences for t in s.themes).items())),
    }


def model_card(meta: dict, config: TrainConfig, polarity_thresholds: dict | None = None) -> str:
    tuned = config.finetune_settings
    polarity_encoder = (f"MiniLM with its top {tuned.layers} layers fine-tuned on the training sentences by `nlpfind "
                        f"train`, {tuned.epochs} epochs at learning rate {tuned.learning_rate}, polarity and theme losses; "
                        f"in `polarity/encoder/`" if tuned else f"`{config.polarity_embedding_model}`")
    lines = [
        "# nlpfind model card", "",
        f"- framework: `{meta.get('framework', config.framework)}`",
        f"- embedding model: `{config.embedding_model}` (loaded locally, never downloaded)"
        + (f"; layers {', '.join(map(str, config.embedding_layers))} mean-pooled side by side"
           if config.embedding_layers else ""),
        *([f"- polarity: decided by the model in `polarity/`, on {polarity_encoder}; statement and "
           "themes by this one"] if config.separate_polarity and not config.polarity_average else []),
        *([f"- polarity: the mean of this model's polarity probabilities and those of the model in `polarity/` (on "
           f"{polarity_encoder}), decided by the mean of the two models' thresholds; statement and "
           "themes by this one"] if config.polarity_average else []),
        *([f"- first pass: the model in `first-pass/` (`{config.first_pass}`, on "
           f"`{config.first_pass_config.embedding_model}`) classifies every sentence; this model classifies again "
           f"those whose statement or polarity probability is under {config.first_pass_confidence}"]
          if config.first_pass else []),
        *([f"- polarity: mixed where most likely; else strength where P(strength) + P(mixed) reaches "
           f"{round(t['strength'], 4)}, weakness where P(weakness) + P(mixed) reaches {round(t['weakness'], 4)} (the "
           "more likely where both do), else "
           "neutral (thresholds chosen for F1 by grouped inner cross-validation)"]
          if (t := polarity_thresholds) else []),
        *([f"- themes: a theme is left off a sentence where the sum over statements of P(statement) x "
           f"P(statement | theme) (`statement_given_theme` in `meta.json`, from the training labels) is under "
           f"{meta['theme_statement_floor']}"] if "theme_statement_floor" in meta else []),
        f"- training data hash: `{meta.get('training_data_hash')}` ({meta.get('training_sentences')} sentences, "
        f"{meta.get('training_reports')} reports)",
        f"- label counts: `{json.dumps(meta.get('label_counts'), sort_keys=True)}`",
        f"- library versions: `{json.dumps(meta.get('library_versions'), sort_keys=True)}`", "",
        "## Metrics (grouped cross-validation by partnership)", "",
    ]
    metrics = meta.get("metrics") or {}
    if metrics:
        lines += [f"- {k}: {v}" for k, v in sorted(metrics.items())]
    else:
        lines.append("- not measured for this model; run `nlpfind evaluate`")
    lines += ["", "Files: `meta.json`, `featurizer.json` (vocabularies), `weights.safetensors` (arrays)"
              + ("; `polarity/encoder/encoder-layers.safetensors` (the fine-tuned layers)" if tuned else "")
              + ". No pickle.", ""]
    return "\n".join(lines)


def with_overrides(config: TrainConfig, **kw) -> TrainConfig:
    return replace(config, **kw)
