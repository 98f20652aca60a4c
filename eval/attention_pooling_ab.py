"""A/B: polarity read from MiniLM's token states pooled by a learned attention, instead of their mean.

    python eval/attention_pooling_ab.py [--variant replace|beside] [--heads 1] [--epochs 15] [--lr 0.005]

The default model's sentence vector is the mean of MiniLM's token states (layers 3, 4 and 6). Here, in each fold
of `nlpfind evaluate`'s grouped CV and on that fold's training sentences only, a small torch model learns where to
look: attention weights over a sentence's (frozen) token states, scored by a learned vector per head, and a linear
polarity layer on the pooled vector (cross-entropy, balanced class weights, home sentences 3x, as the heads).
The fold's polarity model then reads the attention-pooled vectors (`replace`) or the mean and the attention-pooled
vectors side by side (`beside`); statement and themes stay on the mean. Prints one row per run, the control
(the mean alone, through the same polarity-model path) first. Needs torch (installed with sentence-transformers).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "eval"))

from vector_variants import KEYS, SUBSETS, default_setup  # noqa: E402

from nlpfind.evaluate import evaluate  # noqa: E402


def token_states(texts: list[str], layers: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(sentences x tokens x (hidden x layers) states, padded; sentences x tokens mask) of the packaged MiniLM."""
    from nlpfind.embed import resolve_model_path
    from nlpfind.numpy_bert import NumpyBertEncoder

    encoder = NumpyBertEncoder(resolve_model_path("minilm"), pool_layers=layers)
    cleaned = [t.strip().lower() if encoder.lowercase else t.strip() for t in texts]
    ids = [e.ids for e in encoder.tokenizer.encode_batch(cleaned)]
    lengths = np.array([len(i) for i in ids])
    states = np.zeros((len(texts), lengths.max(), encoder.hidden * len(layers)), np.float32)
    mask = np.arange(lengths.max())[None, :] < lengths[:, None]
    order = np.argsort(lengths)
    for b in range(0, len(order), 32):
        chosen = order[b:b + 32]
        width = lengths[chosen].max()
        batch = np.zeros((len(chosen), width), np.int64)
        for row, i in enumerate(chosen):
            batch[row, :lengths[i]] = ids[i]
        wanted = {n: s for n, s in encoder.layer_states(batch, mask[chosen, :width], max(layers)) if n in layers}
        states[chosen, :width] = np.concatenate([wanted[n] for n in layers], axis=2)
    return states, mask


def attention_pool(states, mask, scorer, layers: int):
    """Per head, the attention-weighted sum of the token states, each layer's block scaled to unit length, the
    whole divided so it has unit length (as the mean-pooled vector)."""
    import torch

    scores = (states @ scorer).masked_fill(~mask[:, :, None], float("-inf"))  # batch x tokens x heads
    pooled = torch.einsum("bth,btd->bhd", torch.softmax(scores, dim=1), states)
    blocks = pooled.reshape(len(states), scorer.shape[1], layers, -1)
    blocks = blocks / blocks.norm(dim=3, keepdim=True)
    return blocks.reshape(len(states), -1) / np.sqrt(layers * scorer.shape[1])


def learn_scorer(states, mask, y, weights, train_idx, args, layers: int):
    import torch

    torch.manual_seed(0)
    scorer = torch.zeros(states.shape[2], args.heads, requires_grad=True)  # zeros: the mean, to start
    linear = torch.nn.Linear(states.shape[2] * args.heads, int(y.max()) + 1)
    optimiser = torch.optim.Adam([scorer, *linear.parameters()], lr=args.lr)
    idx = torch.from_numpy(train_idx)
    for _ in range(args.epochs):
        for b in idx[torch.randperm(len(idx))].split(128):
            logits = linear(attention_pool(states[b], mask[b], scorer, layers))
            loss = (torch.nn.functional.cross_entropy(logits, y[b], reduction="none") * weights[b]).mean()
            loss = loss + args.weight_decay * (linear.weight ** 2).sum()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return scorer.detach()


def main() -> None:
    import torch
    from sklearn.model_selection import GroupKFold

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=("replace", "beside"), default="beside")
    parser.add_argument("--heads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--lr", type=float, default=0.005)
    parser.add_argument("--weight-decay", type=float, default=1e-3)
    args = parser.parse_args()
    config, framework, corpus, texts, sent, desc = default_setup()
    layers = tuple(config.embedding_layers)
    states, mask = token_states(texts, layers)
    states_t, mask_t = torch.from_numpy(states), torch.from_numpy(mask)
    sents = corpus.sentences
    classes = sorted({s.polarity for s in sents})
    y = np.array([classes.index(s.polarity) for s in sents])
    by_report = {r.report: (r.framework or framework.id) for r in corpus.reports}
    home = np.array([by_report.get(s.report, framework.id) == framework.id for s in sents])
    splits = list(GroupKFold(n_splits=5).split(texts, groups=[s.partnership for s in sents]))  # evaluate's folds

    def pad(vectors: np.ndarray) -> np.ndarray:
        return np.concatenate([desc, np.zeros((len(desc), vectors.shape[1] - desc.shape[1]), np.float32)], axis=1)

    def row(name: str, fold_vectors: dict[int, np.ndarray]) -> str:
        # the polarity model path of configs/train-tuned.toml, on these vectors; statement and themes on the mean
        result = evaluate(config=replace(config, polarity_embedding_model="static"), corpus=corpus, systems=("nlpfind",),
                          fold_polarity_embeddings=lambda k: (fold_vectors[k], pad(fold_vectors[k])))
        subsets = result.system("nlpfind").subsets
        return " | ".join([name] + [f"{sub}: " + " / ".join(f"{subsets[sub][k]:.3f}" for k in KEYS)
                                    for sub in SUBSETS if sub in subsets])

    print(row("mean (control)", {k: sent for k in range(len(splits))}), flush=True)
    t0 = time.time()
    vectors = {}
    for k, (train_idx, _) in enumerate(splits):
        counts = np.bincount(y[train_idx], minlength=len(classes))
        weights = np.where(home, config.home_weight, 1.0) * (len(train_idx) / (len(classes) * np.maximum(counts, 1)))[y]
        scorer = learn_scorer(states_t, mask_t, torch.from_numpy(y), torch.tensor(weights, dtype=torch.float32),
                              train_idx, args, len(layers))
        with torch.no_grad():
            pooled = torch.cat([attention_pool(states_t[b:b + 256], mask_t[b:b + 256], scorer, len(layers))
                                for b in range(0, len(texts), 256)]).numpy()
        vectors[k] = np.concatenate([sent, pooled], axis=1) / np.sqrt(2) if args.variant == "beside" else pooled
    name = (f"attention ({args.variant}, {args.heads} head(s), {args.epochs} epochs, lr {args.lr}; "
            f"learned in {time.time() - t0:.0f} s)")
    print(row(name, vectors), flush=True)


if __name__ == "__main__":
    main()
