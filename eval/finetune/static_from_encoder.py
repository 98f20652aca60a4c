"""Static token vectors from a (fine-tuned) MiniLM, the way model2vec distils them, without model2vec.

model2vec's `distill` feeds every vocabulary token alone through the encoder ([CLS] token [SEP]),
mean-pools the output, weights each row by SIF over a Zipf estimate of its rank and reduces it with
PCA. The GPU machine has torch but not model2vec (nor skeletoken), so `eval/finetune/distill_folds.py`
runs the token id sequences that `export_static.py` captured from model2vec here through each
fold's encoder and post-processes them with `post_process`, checked against model2vec's own output
by `export_static.py`.
"""

from __future__ import annotations

import numpy as np


def sif_weights(n: int, coefficient: float = 1e-4) -> np.ndarray:
    """SIF weight of each row, its rank standing in for its frequency (Zipf)."""
    inv_rank = 1.0 / np.arange(2, n + 2)
    return coefficient / (coefficient + inv_rank / inv_rank.sum())


def pca(x: np.ndarray, dims: int) -> np.ndarray:
    """Principal components of x (float64 covariance eigendecomposition), each sign fixed so that
    the largest-magnitude score is positive, as model2vec fixes it."""
    xc = x - x.mean(axis=0)
    vals, vecs = np.linalg.eigh((xc.T @ xc) / (len(x) - 1))
    components = vecs[:, ::-1][:, :dims].T
    scores = xc @ components.T
    signs = np.sign(scores[np.argmax(np.abs(scores), axis=0), np.arange(scores.shape[1])])
    return scores * signs


def post_process(raw: np.ndarray, dims: int = 256, sif: float = 1e-4) -> np.ndarray:
    """model2vec's post-processing of the pooled token outputs: PCA, then SIF weights."""
    return pca(raw.astype(np.float64), dims) * sif_weights(len(raw), sif)[:, None]


def sentence_vectors(table: np.ndarray, ids: list[list[int]]) -> np.ndarray:
    """Unit-length mean of each text's token rows (model2vec's encode with normalize=True)."""
    out = np.zeros((len(ids), table.shape[1]), dtype=np.float32)
    for i, row in enumerate(ids):
        if row:
            out[i] = table[row].astype(np.float32).mean(axis=0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1.0, norms)


def token_table(auto_model, token_ids: list[list[int]], device: str, batch: int = 1024) -> np.ndarray:
    """Mean-pooled last hidden states of each token id sequence (float32), model2vec's MEAN pooling."""
    import torch
    from torch.nn.utils.rnn import pad_sequence

    auto_model = auto_model.to(device).eval()
    order = np.argsort([len(t) for t in token_ids], kind="stable")
    out = np.zeros((len(token_ids), auto_model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for b in range(0, len(order), batch):
            idx = order[b:b + batch]
            seqs = [torch.tensor(token_ids[i], dtype=torch.long) for i in idx]
            ids = pad_sequence(seqs, batch_first=True, padding_value=0).to(device)
            lengths = torch.tensor([len(s) for s in seqs], device=device)
            mask = (torch.arange(ids.shape[1], device=device)[None, :] < lengths[:, None]).long()
            hidden = auto_model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).last_hidden_state
            hidden = hidden.float()
            m = mask.float() / mask.sum(1, keepdim=True).float()
            out[idx] = torch.bmm(m[:, None, :], hidden).squeeze(1).cpu().numpy()
    return out
