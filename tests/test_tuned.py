"""The fine-tuned encoder (models/minilm-tuned) and the model built on it (models/tuned)."""

from __future__ import annotations

import shutil

import pytest
from conftest import EXAMPLE, REPO
from test_reliability import assert_one_line_error, invoke


def test_tuned_encoder_names():
    from nlpfind.embed import TUNED_DIR, is_tuned_encoder

    assert is_tuned_encoder("minilm-tuned") and is_tuned_encoder(str(TUNED_DIR))
    assert not is_tuned_encoder("minilm") and not is_tuned_encoder("static")


def test_evaluate_refuses_a_tuned_encoder(tmp_path):
    """Cross-validating an encoder that saw every labelled sentence would overstate: one clear line."""
    config = tmp_path / "tuned.toml"
    config.write_text('[train]\nembedding_model = "minilm-tuned"\n', encoding="utf-8")
    results = tmp_path / "RESULTS.md"
    result = invoke(["evaluate", "--config", config, "--results", results])
    assert_one_line_error(result, config.name, words="fine-tuned")
    assert not results.exists()


def test_damaged_tuned_encoder_is_a_model_error(tmp_path):
    from nlpfind.embed import TUNED_WEIGHTS, get_embedder
    from nlpfind.errors import ModelError

    folder = tmp_path / "tuned"
    folder.mkdir()
    (folder / TUNED_WEIGHTS).write_bytes(b"not safetensors")
    with pytest.raises(ModelError, match=TUNED_WEIGHTS):
        get_embedder(str(folder)).encode(["One sentence."])


@pytest.mark.slow
def test_tuned_encoder_overlays_the_packaged_minilm():
    import numpy as np

    from nlpfind.embed import Embedder, get_embedder

    tuned, packaged = get_embedder("minilm-tuned"), Embedder("minilm")
    texts = ["Chronologies were weak in most records.", "Leaders had a clear and shared vision."]
    a, b = tuned.encode(texts), packaged.encode(texts)
    assert a.shape == b.shape == (2, 384)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)
    assert not np.allclose(a, b, atol=1e-2)  # the layers were replaced
    assert tuned.key != packaged.key  # the cache keeps their vectors apart
    emb = tuned.model[0].auto_model.embeddings.word_embeddings.weight
    ref = packaged.model[0].auto_model.embeddings.word_embeddings.weight
    assert bool((emb == ref).all())  # the word embeddings are the packaged ones


@pytest.mark.slow
def test_tuned_model_classifies_the_example(tmp_path):
    from nlpfind.classify import Classifier, classify_file

    report = classify_file(EXAMPLE, Classifier(REPO / "models" / "tuned"))
    pols = {f.polarity for f in report.findings}
    assert {"strength", "weakness"} <= pols
    copy = tmp_path / "tuned"
    shutil.copytree(REPO / "models" / "tuned", copy)
    assert Classifier(copy).model.meta["embedding_model"] == "minilm-tuned"


def test_evaluate_uses_the_per_fold_embeddings_and_embeds_nothing(tmp_path, monkeypatch):
    """eval/finetune's hook: each fold's systems read that fold's (sentence, description) vectors; no
    embedding model is loaded."""
    import numpy as np
    from reliability_helpers import write_corpus

    from nlpfind import embed
    from nlpfind.config import load_framework, load_train_config
    from nlpfind.corpus import load_corpus
    from nlpfind.evaluate import evaluate
    from nlpfind.train import description_texts

    def no_model(name):
        raise AssertionError(f"an embedding model was loaded: {name}")

    monkeypatch.setattr(embed, "get_embedder", no_model)
    info = write_corpus(tmp_path / "c", keys=("glenbrae", "ardmuir", "kinloch"))
    config = load_train_config(None)
    framework = load_framework(config.framework)
    corpus = load_corpus(info["corpus"], framework, [info["reports"]])
    rng = np.random.default_rng(0)
    asked: list[int] = []

    def fold_embeddings(k: int):
        asked.append(k)
        return (rng.normal(size=(len(corpus.sentences), 8)).astype(np.float32),
                rng.normal(size=(len(description_texts(framework)), 8)).astype(np.float32))

    result = evaluate(config=config, corpus=corpus, folds=3, systems=("minilm-lr", "nlpfind"),
                      fold_embeddings=fold_embeddings)
    assert {s.name for s in result.systems} == {"minilm-lr", "nlpfind"}
    assert sorted(set(asked)) == [0, 1, 2] and len(asked) == 6  # every fold, for each system
