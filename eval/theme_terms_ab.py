"""Do a theme's own key terms help the theme heads? Grouped CV of the default recipe with term features.

Rare themes with a distinctive vocabulary (chronologies, IRDs, advocacy, domestic abuse) scored F1 0 to 0.3:
a handful of training sentences per fold, and a tf-idf weight for "chronologies" too small to lift the
head over its threshold. Each variant appends one indicator per theme (any of the theme's terms in the
sentence, matched at the start of a word, case-insensitive) at a weight; everything else is `nlpfind
evaluate` with configs/train.toml: the same folds, features and heads. Appended to the sentence vector, the
indicators reach every head; what the models ship (`theme_term_weight` in the train configs) gives them to the
theme head only, which `nlpfind evaluate` measures.

Usage: python eval/theme_terms_ab.py [WEIGHT ...] [--terms=FILE]   (default: 0 0.5 1 2; configs/themes.toml)
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nlpfind.config import load_framework, load_train_config  # noqa: E402
from nlpfind.corpus import load_corpus  # noqa: E402
from nlpfind.evaluate import evaluate  # noqa: E402
from nlpfind.train import description_texts, embed_texts, inputs_for  # noqa: E402


def term_matrix(texts: list[str], terms: dict[str, list[str]], ids: tuple[str, ...]) -> np.ndarray:
    out = np.zeros((len(texts), len(ids)), dtype=np.float32)
    for k, theme in enumerate(ids):
        if not terms.get(theme):
            continue
        pattern = re.compile(r"\b(?:" + "|".join(re.escape(t.lower()) for t in terms[theme]) + ")", re.IGNORECASE)
        out[:, k] = [1.0 if pattern.search(t) else 0.0 for t in texts]
    return out


def main(weights: list[float], terms_file: Path) -> None:
    config = load_train_config()
    framework = load_framework(config.framework)
    corpus = load_corpus(None, framework)
    texts = [i.text for i in inputs_for(corpus.sentences, framework)]
    layers = tuple(config.embedding_layers)
    sent = embed_texts(texts, "minilm", layers=layers)
    desc = embed_texts(description_texts(framework), "minilm", layers=layers)
    terms = {t["id"]: t.get("terms", []) for t in tomllib.loads(terms_file.read_text())["themes"]}
    ids = framework.theme_ids
    m = term_matrix(texts, terms, ids)
    print(f"{int((m.sum(1) > 0).sum())} / {len(texts)} sentences match a theme term", flush=True)
    for w in weights:
        x = np.concatenate([sent, w * m], axis=1) if w else sent
        d = np.concatenate([desc, np.zeros((len(desc), x.shape[1] - desc.shape[1]), np.float32)], axis=1)
        result = evaluate(config=config, corpus=corpus, systems=("nlpfind",), fold_embeddings=lambda _f, v=(x, d): v)
        subsets = result.system("nlpfind").subsets
        row = [f"weight {w}"]
        for sub in ("carh", "report north-ayrshire-2022", "ilacs"):
            s = subsets.get(sub)
            if s:
                row.append(f"{sub}: " + " / ".join(f"{s[k]:.3f}" for k in ("statement_macro_f1", "strength_f1",
                                                                                "weakness_f1", "themes_micro_f1")))
        print(" | ".join(row), flush=True)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    terms_file = next((Path(a.split("=", 1)[1]) for a in sys.argv[1:] if a.startswith("--terms=")),
                      ROOT / "configs" / "themes.toml")
    main([float(a) for a in args] or [0.0, 0.5, 1.0, 2.0], terms_file)
