"""Does a further labelled corpus help? Same grouped folds as `nlpfind evaluate`, with and without it in training.

The extra corpus's sentences (e.g. corpus/ofsted-extra: 600 Ofsted sentences from 24 more authorities) are added
to every fold's training sentences and never tested, so the test sentences and folds are exactly those of the
main corpus: a paired comparison, free of the noise of re-drawn folds (adding partnerships to the corpus re-draws
GroupKFold's folds, which alone moved Scottish weakness F1 by about 0.035 in one run).

Usage: python eval/extra_corpus_ab.py [--extra corpus/ofsted-extra] [--home-weight 3 4 5]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nlpfind.config import load_framework, load_train_config  # noqa: E402
from nlpfind.corpus import load_corpus  # noqa: E402
from nlpfind.evaluate import score  # noqa: E402
from nlpfind.train import description_texts, embed_texts, fit_model, home_mask, inputs_for  # noqa: E402

KEYS = ("statement_macro_f1", "strength_f1", "weakness_f1", "themes_micro_f1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", type=Path, default=ROOT / "corpus" / "ofsted-extra")
    parser.add_argument("--home-weight", type=float, nargs="+", default=None)
    args = parser.parse_args()
    from sklearn.model_selection import GroupKFold

    config = load_train_config()
    framework = load_framework(config.framework)
    main_corpus, extra = load_corpus(None, framework), load_corpus(args.extra, framework)
    sents = main_corpus.sentences + extra.sentences
    home = np.array(home_mask(main_corpus, framework) + home_mask(extra, framework))
    inputs = inputs_for(sents, framework)
    emb = embed_texts([i.text for i in inputs], config.embedding_model, layers=config.embedding_layers)
    desc = embed_texts(description_texts(framework), config.embedding_model, layers=config.embedding_layers)
    statements = np.array([s.statement for s in sents])
    polarities = np.array([s.polarity for s in sents])
    themes = [tuple(s.themes) for s in sents]
    n = len(main_corpus.sentences)
    main_idx, extra_idx = np.arange(n), np.arange(n, len(sents))
    groups = np.array([s.partnership for s in main_corpus.sentences])
    splits = list(GroupKFold(n_splits=5).split(main_idx, groups=groups))
    subsets = {"carh": home[:n], "report north-ayrshire-2022": np.array([s.report == "north-ayrshire-2022"
                                                                         for s in main_corpus.sentences]),
               "ilacs": ~home[:n]}
    runs = [(config.home_weight, False)] + [(w, True) for w in (args.home_weight or [config.home_weight])]
    for weight, add in runs:
        cfg = replace(config, home_weight=weight)
        pred: dict[int, dict] = {}
        for train_idx, test_idx in splits:
            train_idx = np.concatenate([train_idx, extra_idx]) if add else train_idx
            model = fit_model([inputs[i] for i in train_idx], emb[train_idx], statements[train_idx],
                              polarities[train_idx], [themes[i] for i in train_idx], framework, cfg, desc,
                              list(home[train_idx]))
            pred.update(zip(test_idx, model.predict([inputs[i] for i in test_idx], emb[test_idx])))
        for name, mask in subsets.items():
            idx = np.flatnonzero(mask)
            metrics = score(list(statements[idx]), [pred[i]["statement"] for i in idx], list(polarities[idx]),
                            [pred[i]["polarity"] for i in idx], [themes[i] for i in idx],
                            [pred[i]["themes"] for i in idx], framework)[0]
            print(f"{'with' if add else 'without'} {args.extra.name}, home_weight {weight:g} | {name}: "
                  + " / ".join(f"{metrics[k]:.3f}" for k in KEYS), flush=True)


if __name__ == "__main__":
    main()
