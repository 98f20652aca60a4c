"""Experiment: fine-tune the static model's token vectors on the labels, per cross-validation fold.

In each fold of `nlpfind evaluate`'s grouped cross-validation, the token vectors of
`models/static-minilm` are trained (mean of token vectors, L2-normalised, linear heads; Adam) on the
training folds only, with the named losses (polarity, statement, themes; class-balanced,
home-framework sentences weighted as in the config); every sentence and description is then embedded
with that fold's vectors and nlpfind's features and heads are fitted as usual (configs/train-fast.toml).
`epochs=0` scores the untuned vectors through the same path. Result: eval/RESULTS.md (sentence-model notes).

Usage: python eval/bench/tune_static_supervised.py epochs=3 lr=1e-3 tasks=polarity[,statement,themes]
(about 4 minutes on 2 cores; needs torch, which sentence-transformers brings)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> None:
    import torch
    import torch.nn.functional as F
    from model2vec import StaticModel
    from sklearn.model_selection import GroupKFold

    from nlpfind.config import load_framework, load_train_config
    from nlpfind.corpus import load_corpus
    from nlpfind.evaluate import evaluate
    from nlpfind.train import description_texts, home_mask, inputs_for

    args = dict(a.split("=", 1) for a in sys.argv[1:])
    epochs, lr, tasks = int(args.get("epochs", 3)), float(args.get("lr", 1e-3)), args.get("tasks", "polarity").split(",")
    batch = int(args.get("batch", 32))
    torch.manual_seed(0)
    config = load_train_config(ROOT / "configs" / "train-fast.toml")
    framework = load_framework(config.framework)
    corpus = load_corpus(None, framework, None)
    sents = corpus.sentences
    inputs = inputs_for(sents, framework)
    static = StaticModel.from_pretrained(str(ROOT / "models" / "static-minilm"))
    base = torch.tensor(np.asarray(static.embedding, dtype=np.float32))
    ids, desc_ids = static.tokenize([i.text for i in inputs]), static.tokenize(description_texts(framework))
    weight = torch.tensor(np.where(home_mask(corpus, framework), config.home_weight, 1.0), dtype=torch.float32)
    polarities, statements, themes = ["strength", "weakness", "mixed", "neutral"], list(framework.statement_labels), \
        list(framework.theme_ids)
    y = {"polarity": torch.tensor([polarities.index(s.polarity) for s in sents]),
         "statement": torch.tensor([statements.index(s.statement) for s in sents])}
    y_themes = torch.zeros(len(sents), len(themes))
    for i, s in enumerate(sents):
        for t in s.themes:
            y_themes[i, themes.index(t)] = 1.0

    def bag(rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        flat, offsets = [], []
        for r in rows:
            offsets.append(len(flat))
            flat.extend(r or [0])
        return torch.tensor(flat), torch.tensor(offsets)

    def vectors(table: torch.Tensor, rows: list[list[int]]) -> torch.Tensor:
        flat, offsets = bag(rows)
        return F.normalize(F.embedding_bag(flat, table, offsets, mode="mean"), dim=1)

    def tune(train_idx: np.ndarray) -> torch.Tensor:
        table = torch.nn.Parameter(base.clone())
        heads = torch.nn.ModuleDict({"polarity": torch.nn.Linear(base.shape[1], len(polarities)),
                                     "statement": torch.nn.Linear(base.shape[1], len(statements)),
                                     "themes": torch.nn.Linear(base.shape[1], len(themes))})
        optimiser = torch.optim.Adam([{"params": [table], "lr": lr}, {"params": heads.parameters(), "lr": 1e-2}])
        balanced = {k: len(train_idx) / (len(v.unique()) * torch.bincount(v[train_idx], minlength=int(v.max()) + 1)
                                          .float().clamp(min=1)) for k, v in y.items()}
        rng = np.random.default_rng(0)
        for _ in range(epochs):
            order = rng.permutation(train_idx)
            for start in range(0, len(order), batch):
                idx = order[start:start + batch]
                v = vectors(table, [ids[i] for i in idx]) * 10.0  # a temperature: unit vectors, small logits
                w = weight[idx]
                loss = torch.zeros(())
                for task in ("polarity", "statement"):
                    if task in tasks:
                        per = F.cross_entropy(heads[task](v), y[task][idx], weight=balanced[task], reduction="none")
                        loss = loss + (per * w).sum() / w.sum()
                if "themes" in tasks:
                    per = F.binary_cross_entropy_with_logits(heads["themes"](v), y_themes[idx], reduction="none").sum(1)
                    loss = loss + (per * w).sum() / w.sum() / 4
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        return table.detach()

    splits = list(GroupKFold(n_splits=5).split(inputs, groups=[s.partnership for s in sents]))
    per_fold: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    started = time.time()

    def fold_embeddings(fold: int) -> tuple[np.ndarray, np.ndarray]:
        if fold not in per_fold:
            table = tune(splits[fold][0]) if epochs else base
            per_fold[fold] = (vectors(table, ids).numpy(), vectors(table, desc_ids).numpy())
            print(f"[{time.time() - started:.0f}s] fold {fold} embedded", flush=True)
        return per_fold[fold]

    result = evaluate(systems=("nlpfind",), config=config, corpus=corpus, fold_embeddings=fold_embeddings).systems[0]
    for subset in ("carh", "ilacs"):
        m = result.subsets[subset]
        print(subset, {k: round(m[k], 3) for k in ("statement_macro_f1", "strength_f1", "weakness_f1", "themes_micro_f1")},
              args, flush=True)


if __name__ == "__main__":
    main()
