"""Which MiniLM layers make the best sentence vector for nlpfind's heads? Grouped CV of the default recipe.

Each variant replaces the default model's sentence vector (the mean of the last layer's token states)
with the unit means of other layers, side by side and scaled to unit length (what `embedding_layers`
in configs/train.toml gives), or averaged into one 384-d vector. Everything else is `nlpfind evaluate`
with configs/train.toml: the same folds, features and heads. One encoder pass embeds every layer.

Usage: python eval/layer_pooling.py [VARIANT ...]   (default: all; names below)
Prints Scottish (carh), North Ayrshire and Ofsted (ilacs) metrics per variant; results and the
choice are in eval/RESULTS.md ("targets missed ... what was tried").
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "eval"))

from vector_variants import score_vectors  # noqa: E402

from nlpfind.config import load_framework, load_train_config  # noqa: E402
from nlpfind.corpus import load_corpus  # noqa: E402
from nlpfind.train import description_texts, embed_texts, inputs_for  # noqa: E402

ALL = (1, 2, 3, 4, 5, 6)
#: name -> (how, layers): "side" = unit means side by side (embedding_layers), "avg" = their mean
VARIANTS = {
    "last": ("side", (6,)),
    "6+1": ("side", (6, 1)), "6+2": ("side", (6, 2)), "6+3": ("side", (6, 3)), "6+4": ("side", (6, 4)),
    "6+2+4": ("side", (6, 2, 4)), "6+3+4": ("side", (6, 3, 4)), "all": ("side", ALL),
    "avg 1-6": ("avg", ALL), "avg 2-6": ("avg", (2, 3, 4, 5, 6)), "avg 3,4,6": ("avg", (3, 4, 6)),
}


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def main(names: list[str]) -> None:
    config = replace(load_train_config(), embedding_layers=())
    framework = load_framework(config.framework)
    corpus = load_corpus(None, framework)
    texts = [i.text for i in inputs_for(corpus.sentences, framework)]
    # every layer's unit mean, side by side and scaled by 1/sqrt(6): block k is layer k+1's unit mean / sqrt(6)
    sent, desc = (embed_texts(t, "minilm", layers=ALL) for t in (texts, description_texts(framework)))

    def pooled(x: np.ndarray, how: str, layers: tuple[int, ...]) -> np.ndarray:
        blocks = [unit(x[:, (n - 1) * 384:n * 384]) for n in layers]
        return unit(sum(blocks)) if how == "avg" else unit(np.concatenate(blocks, axis=1))

    for name in names:
        how, layers = VARIANTS[name]
        print(score_vectors(name, config, corpus, pooled(sent, how, layers), pooled(desc, how, layers)), flush=True)


if __name__ == "__main__":
    unknown = [a for a in sys.argv[1:] if a not in VARIANTS]
    if unknown:
        sys.exit(f"unknown variant {unknown[0]!r}; choose from: {', '.join(VARIANTS)}")
    main(sys.argv[1:] or list(VARIANTS))
