"""A faster encode for a loaded model2vec model: the same vectors, bit for bit.

model2vec's `StaticModel.encode` runs the Rust tokenizer over every sentence and averages the token rows
bucket by bucket; on report text that is most of a static classify. Here a sentence is split at whitespace
into chunks, and each distinct chunk is tokenized once and remembered: the same words recur across
sentences and reports. The means are one sparse product (a row of token counts per sentence times the
table), which adds a sentence's rows in the order model2vec does, so the float32 sums, and the float16
roundings after them, are identical (`tests/test_static_pool.py` checks it against model2vec).

Chunking is exact only for a BERT normaliser and pre-tokenizer, which split at whitespace before anything
else; other tokenizers, and models with token weights or a vocabulary mapping, keep model2vec's encode.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import numpy as np

#: texts pooled per sparse product: bounds the memory of the token lists of a long call
BATCH = 4096
#: distinct chunks remembered per model before the memory is cleared (one report has about 2,000)
MAX_CHUNKS = 500_000
# Characters Python's str.split() splits at but BERT's normaliser deletes as control characters
# ("a\x0cb" is one word to BERT): a text with one is tokenized whole.
_SPLIT_BUT_DELETED = re.compile("[\x0b\x0c\x1c-\x1f\x85]")


class TokenMeanPool:
    """`encode(texts)` for a loaded `model2vec.StaticModel`, returning what `model.encode` returns."""

    def __init__(self, model) -> None:
        self.model = model
        self.dtype = model.embedding.dtype
        self.table = model.embedding  # kept in its own type: a float32 copy of the whole table was 30 MB
        self.tokenizer = model.tokenizer
        described = json.loads(self.tokenizer.to_str())
        self.by_chunk = ((described.get("normalizer") or {}).get("type") == "BertNormalizer"
                         and (described.get("pre_tokenizer") or {}).get("type") == "BertPreTokenizer")
        self.chunks: dict[str, list[int]] = {}

    @staticmethod
    def supports(model) -> bool:
        """True where this pooling reproduces `model.encode`: a float table, no token weights or mapping."""
        return (model.weights is None and model.token_mapping is None
                and model.embedding.dtype in (np.float16, np.float32))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.table.shape[1]), dtype=np.float32)
        for start in range(0, len(texts), BATCH):
            out[start:start + BATCH] = self._encode_batch(texts[start:start + BATCH])
        return out

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Each text's token ids as model2vec's `tokenize` gives them after its truncation."""
        model = self.model
        if model.max_length is not None:
            cut = model.max_length * model.median_token_length
            texts = [t[:cut] for t in texts]
        if self.by_chunk:
            ids = self._chunked_ids(texts)
        else:
            ids = [e.ids for e in self.tokenizer.encode_batch_fast(list(texts), add_special_tokens=False)]
        limit, unk = model.max_length, model.unk_token_id
        for k, row in enumerate(ids):
            if limit is not None and len(row) > limit:
                row = ids[k] = row[:limit]
            if unk is not None and unk in row:
                ids[k] = [i for i in row if i != unk]
        return ids

    def _chunked_ids(self, texts: Sequence[str]) -> list[list[int]]:
        known = self.chunks
        if len(known) > MAX_CHUNKS:
            known.clear()
        whole = [k for k, t in enumerate(texts) if _SPLIT_BUT_DELETED.search(t)]
        skipped = set(whole)  # tokenized whole below: their chunks are neither tokenized nor remembered
        split = [[] if k in skipped else t.split() for k, t in enumerate(texts)]
        new = list({c for words in split for c in words if c not in known})
        if new:
            # Each chunk alone: at most max_length ids from one chunk can survive the sentence's truncation anyway.
            for chunk, enc in zip(new, self.tokenizer.encode_batch_fast(new, add_special_tokens=False)):
                known[chunk] = enc.ids
        ids: list[list[int]] = []
        for words in split:
            row: list[int] = []
            for c in words:
                row += known[c]
            ids.append(row)
        if whole:
            encoded = self.tokenizer.encode_batch_fast([texts[k] for k in whole], add_special_tokens=False)
            for k, enc in zip(whole, encoded):
                ids[k] = enc.ids
        return ids

    def _encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        from scipy.sparse import csr_matrix

        ids = self.token_ids(texts)
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        indptr = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        flat = np.fromiter((i for row in ids for i in row), dtype=np.int32, count=int(indptr[-1]))
        # Only the rows these texts use, in float32 (exact from float16): a few thousand of the table's 30,000.
        used, columns = np.unique(flat, return_inverse=True)
        rows = np.asarray(self.table[used], dtype=np.float32)
        counts = csr_matrix((np.ones(len(flat), dtype=np.float32), columns.reshape(-1), indptr), shape=(len(ids), len(used)))
        # The product adds each row's entries one after another, as numpy's mean over a bucket's token axis does.
        means = np.asarray(counts @ rows, dtype=np.float32)
        means /= np.maximum(lengths, 1)[:, None].astype(np.float32)
        means = means.astype(self.dtype)  # model2vec keeps its means in the table's type
        if self.model.normalize:
            means32 = means.astype(np.float32)
            means = (means32 / (np.linalg.norm(means32, axis=1, keepdims=True) + 1e-32)).astype(self.dtype)
        return means.astype(np.float32)
