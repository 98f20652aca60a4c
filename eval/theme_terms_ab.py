"""Do a theme's own key terms help the theme heads? Grouped CV of the default recipe with term features.

Rare themes with a distinctive vocabulary (chronologies, IRDs, advocacy, domestic abuse) scored F1 0 to 0.3:
a handful of training sentences per fold, and a tf-idf weight for "chronologies" too small to lift the
head over its threshold. Each variant appends one indicator per theme (any of the theme's terms in the
sentence, matched at the start of a word in any case: nlpfind.features.theme_term_hits) at a weight;
everything else is `nlpfind evaluate` with configs/train.toml: the same folds, features and heads.
Appended to the sentence vector, the indicators reach every head; what the models ship
(`theme_term_weight` in the train configs) gives them to the theme head only, which `nlpfind evaluate`
measures.

Usage: python eval/theme_terms_ab.py [WEIGHT ...] [--terms=FILE]   (default: 0 0.5 1 2; configs/themes.toml)
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "eval"))

from vector_variants import default_setup, score_vectors  # noqa: E402

from nlpfind.features import theme_term_hits  # noqa: E402


def main(weights: list[float], terms_file: Path) -> None:
    config, framework, corpus, texts, sent, desc = default_setup()
    terms = {t["id"]: t.get("terms", []) for t in tomllib.loads(terms_file.read_text())["themes"]}
    m = theme_term_hits(texts, [terms.get(theme, []) for theme in framework.theme_ids])
    print(f"{int((m.sum(1) > 0).sum())} / {len(texts)} sentences match a theme term", flush=True)
    for w in weights:
        x = np.concatenate([sent, w * m], axis=1) if w else sent
        print(score_vectors(f"weight {w}", config, corpus, x, desc), flush=True)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    terms_file = next((Path(a.split("=", 1)[1]) for a in sys.argv[1:] if a.startswith("--terms=")),
                      ROOT / "configs" / "themes.toml")
    main([float(a) for a in args] or [0.0, 0.5, 1.0, 2.0], terms_file)
