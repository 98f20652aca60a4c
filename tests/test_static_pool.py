"""The static model's faster pooling gives model2vec's own vectors, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import EXAMPLE, REPO

from nlpfind import static_pool
from nlpfind.static_pool import TokenMeanPool

# Characters where a whitespace split and BERT's normaliser disagree or that tokenizers treat specially.
ODD = ["\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\u2028", "\u200b", "\u3000", "\t", "\n", "\x00", "\ufffd",
       "e\u0301", "\u0301", "中文", "😀", "ﬁ", "İ", "ß", "—", "“", "\ufeff", "[UNK]", "[CLS]"]


@pytest.fixture(scope="module")
def static_model():
    from model2vec import StaticModel

    return StaticModel.from_pretrained(str(REPO / "models" / "static-minilm"))


def texts_to_try() -> list[str]:
    lines = [line for line in EXAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = list(lines)
    for k, line in enumerate(lines):  # the fixture's lines with odd characters inside and between words
        words = line.split()
        odd = ODD[k % len(ODD)]
        texts.append(odd.join(words))
        texts.append(" ".join(words[:3]) + odd + " ".join(words[3:]))
    texts += ["", " ", "\x0c", "a" * 300, "word " * 700, "x" * 5000, "é" * 120, "In most records we read, "
              "chronologies were\x0cadequate.", "zzqxj qqqq"]
    texts += ["ab" + chr(c) + "cd e" + chr(c) + " " + chr(c) for c in range(0, 0x3100, 7)]
    return texts


def model2vec_vectors(model, texts: list[str]) -> np.ndarray:
    return np.asarray(model.encode(texts, show_progress_bar=False, use_multiprocessing=False), dtype=np.float32)


def test_same_vectors_as_model2vec(static_model):
    pool = TokenMeanPool(static_model)
    assert pool.by_chunk and TokenMeanPool.supports(static_model)
    texts = texts_to_try()
    got = pool.encode(texts)
    want = model2vec_vectors(static_model, texts)
    differ = [texts[k][:60] for k in np.nonzero((got != want).any(axis=1))[0]]
    assert not differ, f"{len(differ)} texts pool differently from model2vec, e.g. {differ[:3]}"
    # The second pass is served from remembered chunks: still the same.
    assert np.array_equal(pool.encode(texts[::-1]), want[::-1])


def test_same_vectors_when_the_chunk_memory_is_cleared_and_in_small_batches(static_model, monkeypatch):
    monkeypatch.setattr(static_pool, "MAX_CHUNKS", 10)
    monkeypatch.setattr(static_pool, "BATCH", 7)
    pool = TokenMeanPool(static_model)
    texts = texts_to_try()[:200]
    assert np.array_equal(pool.encode(texts), model2vec_vectors(static_model, texts))
    pool.encode(texts)
    assert len(pool.chunks) < 200  # cleared along the way


def test_a_tokenizer_without_bert_splitting_is_tokenized_whole():
    from model2vec import StaticModel
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"[UNK]": 0, "a": 1, "b": 2, "a b": 3, "c": 4}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Punctuation()  # keeps spaces inside words
    rng = np.random.default_rng(0)
    model = StaticModel(rng.normal(size=(len(vocab), 8)).astype(np.float32), tokenizer, normalize=True)
    pool = TokenMeanPool(model)
    assert not pool.by_chunk
    texts = ["a b", "a b.c", "c", "", "b,a b"]
    assert np.array_equal(pool.encode(texts), model2vec_vectors(model, texts))


def test_weighted_or_mapped_models_are_left_to_model2vec(static_model):
    class Weighted:
        weights = np.ones(3)
        token_mapping = None
        embedding = static_model.embedding

    assert not TokenMeanPool.supports(Weighted)


def test_static_embedder_uses_the_pool():
    from nlpfind.embed import StaticEmbedder

    embedder = StaticEmbedder()
    vectors = embedder.encode(["Most children were seen alone.", ""])
    assert isinstance(embedder._pool, TokenMeanPool)
    assert vectors.dtype == np.float32 and np.allclose(np.linalg.norm(vectors[0]), 1.0, atol=1e-6)
    assert not vectors[1].any()
    assert embedder.encode(["", " "]).shape == (2, vectors.shape[1])  # no token in the whole batch


def test_a_text_tokenized_whole_leaves_no_chunks_behind(static_model):
    pool = TokenMeanPool(static_model)
    texts = ["chronologies\x0cwere adequate", "most records"]
    assert np.array_equal(pool.encode(texts), model2vec_vectors(static_model, texts))
    assert set(pool.chunks) == {"most", "records"}
