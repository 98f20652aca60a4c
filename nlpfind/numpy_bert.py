"""A BERT sentence encoder (MiniLM) in numpy: the same vectors as sentence-transformers, without torch.

Importing sentence-transformers (transformers, torch) made a cold `nlpfind classify` take 8.6 s
instead of 5.9 s on a 2-core machine (eval/BENCH.md). A BERT encoder with mean pooling is six matrix
products per layer; numpy's BLAS runs them as fast as torch does on a CPU. Only what the packaged all-MiniLM-L6-v2
uses is supported (BERT, absolute positions, GELU, mean pooling, L2 normalisation); `supports`
says whether a folder fits, and anything else goes through sentence-transformers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from .errors import ModelError

_POOLING = "1_Pooling/config.json"


def supports(folder: Path) -> bool:
    """True when `folder` is a sentence-transformers BERT model this encoder reproduces exactly."""
    try:
        config = json.loads((folder / "config.json").read_text())
        modules = json.loads((folder / "modules.json").read_text())
        pooling = json.loads((folder / _POOLING).read_text())
    except (OSError, ValueError):
        return False
    kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules if isinstance(m, dict)]
    mean_only = pooling.get("pooling_mode_mean_tokens") and not any(
        pooling.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens"))
    return (config.get("model_type") == "bert" and config.get("hidden_act") == "gelu"
            and config.get("position_embedding_type", "absolute") == "absolute"
            and kinds == ["Transformer", "Pooling", "Normalize"] and [m.get("path") for m in modules][1] == "1_Pooling"
            and bool(mean_only) and (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file())


def _load(path: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    try:
        return load_file(str(path))
    except Exception as exc:  # safetensors raises several types for damaged files
        raise ModelError(f"{path}: cannot read weights ({str(exc).strip()[:200] or type(exc).__name__})") from None


class NumpyBertEncoder:
    """Mean-pooled, L2-normalised BERT sentence vectors computed with numpy (float32).

    `pool_layers` (1-based, e.g. (3, 4, 6)) gives instead the mean of each listed layer's token
    states, each L2-normalised, side by side (see `layer_vectors`); () is the model's own vector.
    """

    def __init__(self, folder: Path, overlay: Path | None = None, batch_size: int = 16,
                 pool_layers: Sequence[int] = ()) -> None:
        from tokenizers import Tokenizer

        config = json.loads((folder / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.hidden = int(config["hidden_size"])
        self.pool_layers = tuple(pool_layers)
        bad = [n for n in self.pool_layers if not 1 <= n <= self.layers]
        if bad:
            raise ModelError(f"{folder}: embedding layer {bad[0]} does not exist (the model has layers 1-{self.layers})")
        self.dimension = self.hidden * max(1, len(self.pool_layers))
        self.batch_size = batch_size
        try:
            st_config = json.loads((folder / "sentence_bert_config.json").read_text())
        except (OSError, ValueError):
            st_config = {}
        max_length = min(int(st_config.get("max_seq_length") or 512), int(config.get("max_position_embeddings", 512)))
        self.lowercase = bool(st_config.get("do_lower_case", False))
        weights = _load(folder / "model.safetensors")
        if overlay is not None:
            layers = _load(overlay)
            strange = [k for k in layers if k not in weights or layers[k].shape != weights[k].shape]
            if strange or not layers:
                raise ModelError(f"{overlay}: weights do not fit the base model ({', '.join(strange[:3]) or 'none'})")
            weights.update(layers)
        self.w = {k.removeprefix("bert."): np.ascontiguousarray(v, dtype=np.float32) for k, v in weights.items()}
        missing = [k for k in self._needed() if k not in self.w]
        if missing:
            raise ModelError(f"{folder}: BERT weights missing {missing[0]}")
        try:
            self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as exc:  # tokenizers raises a bare Exception for unreadable files
            raise ModelError(f"{folder / 'tokenizer.json'}: cannot read tokenizer ({str(exc)[:200]})") from None
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length)

    def _needed(self) -> list[str]:
        names = ["embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                 "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias"]
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            names += [p + s + ".weight" for s in ("attention.self.query", "attention.self.key", "attention.self.value",
                                                  "attention.output.dense", "intermediate.dense", "output.dense")]
        return names

    def _norm(self, x: np.ndarray, prefix: str) -> np.ndarray:
        mean = x.mean(axis=-1, keepdims=True)
        x = x - mean
        var = np.mean(x * x, axis=-1, keepdims=True)
        return x / np.sqrt(var + self.eps) * self.w[prefix + ".weight"] + self.w[prefix + ".bias"]

    @staticmethod
    def _gelu(x: np.ndarray) -> np.ndarray:
        """Exact (erf) GELU, as BERT's "gelu", to within 4e-7: Abramowitz & Stegun 7.1.26 for erf,
        in place in float32 (three times faster than scipy's erf, which was half the encoder's time)."""
        z = np.abs(x) * np.float32(0.7071067811865476)
        t = z * np.float32(0.3275911)
        t += 1.0
        np.reciprocal(t, out=t)
        tail = t * np.float32(1.061405429)  # tail = 1 - erf(|z|) after the lines below
        for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
            tail += np.float32(c)
            tail *= t
        np.multiply(z, z, out=z)
        np.negative(z, out=z)
        np.exp(z, out=z)
        tail *= z
        tail *= np.float32(0.5)
        tail *= x  # 0.5 x (1 - erf(|z|)): GELU for x < 0, and x minus GELU for x >= 0
        return np.where(x >= 0, x - tail, tail)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        weights = mask[:, :, None].astype(np.float32)
        pooled_layers: dict[int, np.ndarray] = {}  # layer number -> unit mean
        for n, states in self.layer_states(ids, mask, max(self.pool_layers, default=self.layers)):
            if n in self.pool_layers:
                pooled_layers[n] = _mean_unit(states, weights)
        if not self.pool_layers:
            return _mean_unit(states, weights)
        return layer_vectors([pooled_layers[n] for n in self.pool_layers])

    def layer_states(self, ids: np.ndarray, mask: np.ndarray, last: int) -> Iterator[tuple[int, np.ndarray]]:
        """(layer number from 1, token states: batch x length x hidden) of each encoder layer up to `last`; later
        layers are not computed."""
        w = self.w
        batch, length = ids.shape
        x = self._norm(self._embed(ids), "embeddings.LayerNorm").reshape(batch * length, -1)
        head_dim = self.hidden // self.heads
        scale = np.float32(1.0 / np.sqrt(head_dim))
        bias = np.where(mask, np.float32(0.0), np.finfo(np.float32).min)[:, None, None, :].astype(np.float32)
        for i in range(last):
            p = f"encoder.layer.{i}."

            def dense(h: np.ndarray, name: str, p: str = p) -> np.ndarray:
                # (out, in) weights as stored; BLAS reads the transposed view without a copy.
                return h @ w[p + name + ".weight"].T + w[p + name + ".bias"]

            def split(h: np.ndarray) -> np.ndarray:
                return h.reshape(batch, length, self.heads, head_dim).transpose(0, 2, 1, 3)

            q = split(dense(x, "attention.self.query"))
            k = split(dense(x, "attention.self.key"))
            v = split(dense(x, "attention.self.value"))
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch * length, self.hidden)
            x = self._norm(dense(context, "attention.output.dense") + x, p + "attention.output.LayerNorm")
            x = self._norm(dense(self._gelu(dense(x, "intermediate.dense")), "output.dense") + x, p + "output.LayerNorm")
            yield i + 1, x.reshape(batch, length, self.hidden)

    def _embed(self, ids: np.ndarray) -> np.ndarray:
        """Word + position + token-type embeddings of a batch of token ids (batch x length x hidden)."""
        w = self.w
        return (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:ids.shape[1]]
                + w["embeddings.token_type_embeddings.weight"][0])

    def _parallel_batches(self) -> int:
        """How many batches to encode side by side."""
        return _threads()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for `texts`, one row each (batched by length so little is padding)."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        cleaned = [str(t).strip() for t in texts]
        if self.lowercase:
            cleaned = [t.lower() for t in cleaned]
        encodings = [e.ids for e in self.tokenizer.encode_batch(cleaned)]
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i]))
        batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]

        def run(chosen: list[int]) -> None:
            length = max(len(encodings[i]) for i in chosen)
            ids = np.zeros((len(chosen), length), dtype=np.int64)
            mask = np.zeros((len(chosen), length), dtype=bool)
            for row, i in enumerate(chosen):
                ids[row, :len(encodings[i])] = encodings[i]
                mask[row, :len(encodings[i])] = True
            out[chosen] = self._forward(ids, mask)

        threads = min(self._parallel_batches(), len(batches))
        if threads < 2:
            for chosen in batches:
                run(chosen)
            return out
        # Batches side by side in threads, each with a one-thread BLAS: numpy's element-wise steps
        # (GELU, softmax, layer norm) are single-threaded, so this keeps every core busy (about 1.3x).
        from concurrent.futures import ThreadPoolExecutor

        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1), ThreadPoolExecutor(threads) as pool:
            list(pool.map(run, batches))
        return out


def _mean_unit(states: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mean of the unmasked token states of each row, L2-normalised."""
    pooled = (states * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def layer_vectors(pooled: Sequence[np.ndarray]) -> np.ndarray:
    """Unit mean vectors of several layers side by side, scaled so the whole has unit length.

    Middle layers keep more of a sentence's wording ("not yet", "did not always") than the last,
    which sentence-transformers trained for topic similarity: beside it they lifted grouped-CV
    strength/weakness F1 by 2-4 points (eval/RESULTS.md).
    """
    return (np.concatenate(pooled, axis=1) / np.float32(np.sqrt(len(pooled)))).astype(np.float32)


def _threads() -> int:
    """Threads to encode with: $OMP_NUM_THREADS where set (compare's workers set it to their share
    of the cores), else the cores this process may use."""
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "")))
    except ValueError:
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
