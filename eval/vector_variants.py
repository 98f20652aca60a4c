"""Shared by the A/B scripts that swap nlpfind's sentence vectors (layer_pooling, context_ab, theme_terms_ab,
domain_adapt_ab)."""

from __future__ import annotations

import numpy as np

from nlpfind.evaluate import evaluate

SUBSETS = ("carh", "report north-ayrshire-2022", "ilacs")
KEYS = ("statement_macro_f1", "strength_f1", "weakness_f1", "themes_micro_f1")


def score_vectors(name: str, config, corpus, sentences: np.ndarray, descriptions: np.ndarray) -> str:
    """`nlpfind evaluate`'s grouped CV of nlpfind on these vectors (the same in every fold; descriptions padded
    with zeros to the sentences' width, so appended columns add nothing to description similarity): one row,
    statement / strength / weakness / themes per subset."""
    pad = sentences.shape[1] - descriptions.shape[1]
    if pad:
        descriptions = np.concatenate([descriptions, np.zeros((len(descriptions), pad), np.float32)], axis=1)
    vectors = (sentences, descriptions)
    result = evaluate(config=config, corpus=corpus, systems=("nlpfind",), fold_embeddings=lambda _fold: vectors)
    subsets = result.system("nlpfind").subsets
    return " | ".join([name] + [f"{sub}: " + " / ".join(f"{subsets[sub][k]:.3f}" for k in KEYS)
                                for sub in SUBSETS if sub in subsets])


def default_setup(layers: tuple[int, ...] | None = None):
    """configs/train.toml, its framework, the corpus, the models' input texts, and MiniLM vectors of the sentences
    and descriptions (the config's layers unless `layers` is given)."""
    from nlpfind.config import load_framework, load_train_config
    from nlpfind.corpus import load_corpus
    from nlpfind.train import description_texts, embed_texts, inputs_for

    config = load_train_config()
    framework = load_framework(config.framework)
    corpus = load_corpus(None, framework)
    texts = [i.text for i in inputs_for(corpus.sentences, framework)]
    layers = tuple(config.embedding_layers) if layers is None else layers
    sent = embed_texts(texts, "minilm", layers=layers)
    desc = embed_texts(description_texts(framework), "minilm", layers=layers)
    return config, framework, corpus, texts, sent, desc
