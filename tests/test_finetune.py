"""Fine-tuning the polarity model's encoder inside `nlpfind train` and `nlpfind evaluate` (polarity_finetune_layers).

The runs here are tiny (one layer, one epoch, the invented reports' sentences: a few optimiser steps), so they
check the plumbing, not what fine-tuning gains; eval/RESULTS.md has that.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from reliability_helpers import FAST_CONFIG, write_corpus
from test_reliability import assert_one_line_error, invoke

TEXTS = ["Chronologies were weak in most records we read.", "Leaders had a clear and shared vision for children.",
         "Inspectors read the records of a sample of children."]
#: the main model on the static vectors (fast); the polarity model on MiniLM with its top layer fine-tuned
FINETUNE_CONFIG = FAST_CONFIG.replace("embedding_weight = 0.0", "embedding_weight = 1.0") + (
    "polarity_finetune_layers = 1\npolarity_finetune_epochs = 1\npolarity_average = true\n")


def tiny_overlay(folder, layers: int = 1):
    from nlpfind.finetune import FinetuneSettings, finetune_encoder

    return finetune_encoder(TEXTS, ["weakness", "strength", "neutral"], [["chronologies"], ["leadership"], []],
                            ("chronologies", "leadership"), [3.0, 3.0, 1.0], FinetuneSettings(layers, 1, 1e-3), folder)


def test_finetune_writes_the_trained_layers_only(tmp_path):
    from safetensors.numpy import load_file

    from nlpfind.embed import TUNED_WEIGHTS

    folder = tiny_overlay(tmp_path / "encoder", layers=2)
    keys = set(load_file(str(folder / TUNED_WEIGHTS)))
    assert keys and {k.split(".")[2] for k in keys} == {"4", "5"}  # MiniLM's layers 5 and 6 (numbered from 0)
    assert not any(k.startswith("embeddings.") for k in keys)
    card = json.loads((folder / "encoder.json").read_text())
    assert card["epochs"] == 1 and card["sentences"] == 3 and "top 2" in card["trained_layers"]


def test_a_partial_overlay_gives_the_same_vectors_on_every_backend(tmp_path):
    """Layers left out of the overlay keep the packaged weights in numpy, onnx and torch alike."""
    from nlpfind.embed import Embedder

    folder = tiny_overlay(tmp_path / "encoder")
    vectors = {b: Embedder("minilm", tuned=folder, backend=b).encode(TEXTS) for b in ("numpy", "sentence-transformers")}
    packaged = Embedder("minilm", backend="numpy").encode(TEXTS)
    assert np.allclose(vectors["numpy"], vectors["sentence-transformers"], atol=1e-4)
    assert not np.allclose(vectors["numpy"], packaged, atol=1e-4)  # the top layer moved


def test_too_many_layers_is_a_model_error(tmp_path):
    from nlpfind.errors import ModelError

    with pytest.raises(ModelError, match="set polarity_finetune_layers to 1-6"):
        tiny_overlay(tmp_path / "encoder", layers=7)


def test_train_fine_tunes_saves_and_reloads_the_encoder(tmp_path, isolated_env):
    from nlpfind.classify import Classifier, FindingModel, classify_file
    from nlpfind.embed import TUNED_WEIGHTS
    from nlpfind.train import train

    data = write_corpus(tmp_path)
    config = tmp_path / "tuned.toml"
    config.write_text(FINETUNE_CONFIG, encoding="utf-8")
    out = tmp_path / "model"
    said: list[str] = []
    train(data["corpus"], [data["reports"]], out, config, progress=said.append)
    assert "fine-tuning: epoch 1/1 done" in said
    assert (out / "polarity" / "encoder" / TUNED_WEIGHTS).is_file()
    meta = json.loads((out / "polarity" / "meta.json").read_text())
    assert meta["embedding_model"] == meta["encoder"] == "encoder"  # relative: the folder can move
    assert "top 1 layers fine-tuned" in (out / "README.md").read_text()
    assert "not cross-validated by `nlpfind train`" in (out / "meta.json").read_text()
    moved = tmp_path / "moved"
    out.rename(moved)
    model = FindingModel.from_disk(moved)
    assert model.polarity_model.embedding_model == str(moved / "polarity" / "encoder")
    report = classify_file(data["files"]["glenbrae"], Classifier(model))
    assert {f.polarity for f in report.findings} <= {"strength", "weakness", "mixed", "neutral"}
    resaved = tmp_path / "resaved"
    model.to_disk(resaved)  # a loaded model saves its encoder too
    assert (resaved / "polarity" / "encoder" / TUNED_WEIGHTS).read_bytes() == \
        (moved / "polarity" / "encoder" / TUNED_WEIGHTS).read_bytes()


def test_a_model_without_its_encoder_is_one_line(tmp_path, isolated_env):
    from nlpfind.embed import TUNED_WEIGHTS

    data = write_corpus(tmp_path)
    config = tmp_path / "tuned.toml"
    config.write_text(FINETUNE_CONFIG, encoding="utf-8")
    out = tmp_path / "model"
    assert invoke(["train", "--config", config, "--corpus", data["corpus"], "--reports", data["reports"],
                   "--out", out]).exit_code == 0
    (out / "polarity" / "encoder" / TUNED_WEIGHTS).unlink()
    result = invoke(["classify", data["files"]["glenbrae"], "--model", out])
    assert_one_line_error(result, "encoder", words="retrain")


def test_evaluate_fine_tunes_in_every_fold_on_its_training_sentences_only(tmp_path, isolated_env, monkeypatch):
    """No held-out sentence may reach the encoder that embeds it."""
    import nlpfind.finetune as finetune
    from nlpfind.config import load_train_config
    from nlpfind.evaluate import evaluate

    seen: list[set[str]] = []
    real = finetune.finetune_encoder

    def recording(texts, *args, **kwargs):
        seen.append(set(texts))
        return real(texts, *args, **kwargs)

    monkeypatch.setattr(finetune, "finetune_encoder", recording)
    data = write_corpus(tmp_path, keys=("glenbrae", "ardmuir"))
    config = tmp_path / "tuned.toml"
    config.write_text(FINETUNE_CONFIG, encoding="utf-8")
    result = evaluate(data["corpus"], [data["reports"]], config=load_train_config(config), folds=2,
                      systems=("nlpfind",), keep_predictions=True)
    assert len(seen) == 2  # one encoder per fold
    predictions = result.systems[0].predictions
    assert all(p is not None for p in predictions)
    from nlpfind.config import load_framework
    from nlpfind.corpus import load_corpus

    sentences = load_corpus(data["corpus"], load_framework("carh"), [data["reports"]]).sentences
    by_partnership: dict[str, set[str]] = {}
    for s in sentences:
        by_partnership.setdefault(s.partnership, set()).add(s.clean)
    own = {p: texts - set().union(*(t for q, t in by_partnership.items() if q != p)) for p, texts in by_partnership.items()}
    assert all(own.values())
    for texts in seen:  # each fold's encoder saw one partnership's own sentences and none of the other's
        assert sorted(bool(texts & held) for held in own.values()) == [False, True]


def test_a_folder_retrained_in_place_is_loaded_afresh(tmp_path):
    """Retraining a model into the same folder must not reuse the encoder loaded from its old layers."""
    import os

    from nlpfind.embed import TUNED_WEIGHTS, get_embedder

    folder = tiny_overlay(tmp_path / "encoder")
    first = get_embedder(str(folder)).encode(TEXTS)
    weights = folder / TUNED_WEIGHTS
    from safetensors.numpy import load_file, save_file

    save_file({k: v * 0.5 for k, v in load_file(str(weights)).items()}, str(weights))
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))
    assert not np.allclose(get_embedder(str(folder)).encode(TEXTS), first, atol=1e-3)


def test_a_bad_fine_tuning_setting_is_one_line_and_writes_no_model(tmp_path):
    data = write_corpus(tmp_path)
    config = tmp_path / "tuned.toml"
    config.write_text(FINETUNE_CONFIG.replace("polarity_finetune_layers = 1", "polarity_finetune_layers = 9"),
                      encoding="utf-8")
    out = tmp_path / "model"
    result = invoke(["train", "--config", config, "--corpus", data["corpus"], "--reports", data["reports"], "--out", out])
    assert_one_line_error(result, config.name, words="polarity_finetune_layers")
    assert not out.exists()
