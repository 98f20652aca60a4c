"""The fine-tuned encoder (models/tuned/polarity/encoder, "minilm-tuned") and the model built on it (models/tuned)."""

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
    model = Classifier(copy).model
    assert model.embedding_model == "minilm" and model.polarity_model.embedding_model == str(copy / "polarity" / "encoder")


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


def _always_weakness(model):
    """Make a model's polarity head answer 'weakness' for every sentence."""
    import numpy as np

    head = model.polarity_head
    head.coef_ = np.zeros_like(head.coef_)
    head.intercept_ = np.where(head.classes_ == "weakness", 50.0, 0.0).astype(np.float32)
    return model


def test_a_model_with_a_polarity_model_round_trips(tmp_path):
    """models/tuned's shape: polarity from a second model (its own encoder), statement and themes from the first."""
    from reliability_helpers import train_tiny_model

    from nlpfind.classify import POLARITY_DIR, FindingModel
    from nlpfind.features import SentenceInput

    inputs = [SentenceInput("Most plans were reviewed on time and were of a good quality.", "Statement 2", "2"),
              SentenceInput("Leaders had a clear vision.", "Statement 4", "4")]
    plain = train_tiny_model()
    plain.to_disk(tmp_path / "plain")
    plain = FindingModel.from_disk(tmp_path / "plain")
    hybrid = train_tiny_model()
    hybrid.polarity_model = _always_weakness(train_tiny_model())
    hybrid.to_disk(tmp_path / "hybrid")
    assert sorted(p.name for p in (tmp_path / "hybrid" / POLARITY_DIR).iterdir()) == \
        ["featurizer.json", "meta.json", "weights.safetensors"]
    assert (tmp_path / "hybrid" / POLARITY_DIR).stat().st_mode & 0o777 == 0o755
    loaded = FindingModel.from_disk(tmp_path / "hybrid")
    ours, theirs = loaded.predict(inputs), plain.predict(inputs)
    assert [p["polarity"] for p in ours] == ["weakness", "weakness"] != [p["polarity"] for p in theirs]
    assert [(p["statement"], p["statement_scores"], p["themes"]) for p in ours] == \
        [(p["statement"], p["statement_scores"], p["themes"]) for p in theirs]
    assert loaded.meta["fingerprint"] != plain.meta["fingerprint"]
    # The polarity model's files are part of what the model is: caches of its findings must see a change.
    weights = tmp_path / "hybrid" / POLARITY_DIR / "weights.safetensors"
    before = loaded.meta["fingerprint"]
    changed = train_tiny_model()
    changed.to_disk(tmp_path / "other")
    weights.write_bytes((tmp_path / "other" / "weights.safetensors").read_bytes())
    assert FindingModel.from_disk(tmp_path / "hybrid").meta["fingerprint"] != before


def test_averaged_polarity_is_the_mean_of_both_models_decided_by_their_mean_thresholds(tmp_path):
    """`polarity_average`: the polarity probabilities are the mean of the model's own polarity head's and its polarity
    model's, and the strength / weakness thresholds the mean of the two models' own; saved and loaded as such."""
    import numpy as np
    from reliability_helpers import train_tiny_model

    from nlpfind.classify import FindingModel, decide_polarity
    from nlpfind.features import SentenceInput

    inputs = [SentenceInput("Most plans were reviewed on time and were of a good quality.", "Statement 2", "2"),
              SentenceInput("Chronologies were weak in a few records.", "Statement 1", "1"),
              SentenceInput("The inspection took place in May.", "", None)]
    own = train_tiny_model(polarity_thresholds=True)
    other = _always_weakness(train_tiny_model(polarity_thresholds=True))
    other.meta["polarity_thresholds"] = {"strength": 0.2, "weakness": 0.6}
    hybrid = train_tiny_model(polarity_thresholds=True)
    hybrid.polarity_model = other
    assert hybrid.polarity_thresholds == other.meta["polarity_thresholds"]  # without averaging the polarity model decides
    hybrid.meta["polarity_average"] = True
    mine = own.meta["polarity_thresholds"]
    assert hybrid.polarity_thresholds == {side: (mine[side] + other.meta["polarity_thresholds"][side]) / 2
                                          for side in ("strength", "weakness")}
    hybrid.to_disk(tmp_path / "hybrid")
    loaded = FindingModel.from_disk(tmp_path / "hybrid")
    assert loaded.averages_polarity and loaded.polarity_thresholds == hybrid.polarity_thresholds
    got = loaded.predict(inputs)
    alone, weak = own.predict(inputs), other.predict(inputs)
    for g, a, w in zip(got, alone, weak):
        for c in g["polarity_scores"]:
            assert np.isclose(g["polarity_scores"][c], (a["polarity_scores"][c] + w["polarity_scores"][c]) / 2, atol=2e-4)
        assert (g["statement"], g["themes"]) == (a["statement"], a["themes"])  # statement and themes stay its own
    classes = list(got[0]["polarity_scores"])
    mean = np.array([[(a["polarity_scores"][c] + w["polarity_scores"][c]) / 2 for c in classes]
                     for a, w in zip(alone, weak)])
    assert [p["polarity"] for p in got] == decide_polarity(mean, classes, hybrid.polarity_thresholds)
    assert [p["polarity"] for p in alone] != [p["polarity"] for p in got]  # the always-weakness vote moved some


@pytest.mark.parametrize("value, with_polarity_model", [("yes", True), (True, False)])
def test_a_bad_polarity_average_is_a_model_error(tmp_path, value, with_polarity_model):
    import json

    from reliability_helpers import train_tiny_model

    from nlpfind.classify import FindingModel
    from nlpfind.errors import ModelError

    model = train_tiny_model()
    if with_polarity_model:
        model.polarity_model = train_tiny_model()
    model.to_disk(tmp_path / "m")
    meta_path = tmp_path / "m" / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta_path.write_text(json.dumps({**meta, "polarity_average": value}), encoding="utf-8")
    with pytest.raises(ModelError, match="polarity_average expected true") as info:
        FindingModel.from_disk(tmp_path / "m")
    assert str(meta_path) in str(info.value) and "\n" not in str(info.value)


def test_fit_model_chooses_both_models_thresholds_when_polarity_is_averaged():
    """Without averaging the polarity model alone decides, so the main model chooses no thresholds; with it, both do."""
    from reliability_helpers import train_tiny_model

    from nlpfind.config import TrainConfig
    from nlpfind.train import polarity_config

    config = TrainConfig(polarity_embedding_model="minilm-tuned", polarity_thresholds=True, polarity_average=True)
    assert not polarity_config(config).polarity_average and polarity_config(config).polarity_thresholds
    averaged = train_tiny_model(polarity_thresholds=True, polarity_embedding_model="minilm", polarity_average=True)
    assert averaged.meta["polarity_average"] and set(averaged.meta["polarity_thresholds"]) == {"strength", "weakness"}
    alone = train_tiny_model(polarity_thresholds=True, polarity_embedding_model="minilm")
    assert "polarity_thresholds" not in alone.meta and "polarity_average" not in alone.meta


def test_a_missing_polarity_model_is_a_model_error(tmp_path):
    import shutil as sh

    from reliability_helpers import train_tiny_model

    from nlpfind.classify import POLARITY_DIR, FindingModel
    from nlpfind.errors import ModelError

    hybrid = train_tiny_model()
    hybrid.polarity_model = train_tiny_model()
    hybrid.to_disk(tmp_path / "hybrid")
    sh.rmtree(tmp_path / "hybrid" / POLARITY_DIR)
    with pytest.raises(ModelError, match="polarity model"):
        FindingModel.from_disk(tmp_path / "hybrid")


def test_evaluate_takes_the_polarity_model_per_fold_embeddings(tmp_path, monkeypatch):
    """configs/train-tuned.toml's shape under cross-validation: the polarity model reads each fold's fine-tuned
    vectors (fold_polarity_embeddings); without them evaluate refuses, as for any encoder that saw the corpus."""
    from dataclasses import replace

    import numpy as np
    from reliability_helpers import write_corpus

    from nlpfind import embed
    from nlpfind.config import load_framework, load_train_config
    from nlpfind.corpus import load_corpus
    from nlpfind.errors import ConfigError
    from nlpfind.evaluate import evaluate
    from nlpfind.train import description_texts

    def no_model(name):
        raise AssertionError(f"an embedding model was loaded: {name}")

    monkeypatch.setattr(embed, "get_embedder", no_model)
    info = write_corpus(tmp_path / "c", keys=("glenbrae", "ardmuir", "kinloch"))
    config = replace(load_train_config(None), polarity_embedding_model="minilm-tuned")
    framework = load_framework(config.framework)
    corpus = load_corpus(info["corpus"], framework, [info["reports"]])
    rng = np.random.default_rng(0)
    asked: dict[str, list[int]] = {"packaged": [], "tuned": []}

    def vectors(kind: str):
        def per_fold(k: int):
            asked[kind].append(k)
            return (rng.normal(size=(len(corpus.sentences), 8)).astype(np.float32),
                    rng.normal(size=(len(description_texts(framework)), 8)).astype(np.float32))
        return per_fold

    with pytest.raises(ConfigError, match="minilm-tuned"):
        evaluate(config=config, corpus=corpus, folds=3, systems=("nlpfind",), fold_embeddings=vectors("packaged"))
    result = evaluate(config=config, corpus=corpus, folds=3, systems=("nlpfind",), fold_embeddings=vectors("packaged"),
                      fold_polarity_embeddings=vectors("tuned"))
    assert result.systems[0].name == "nlpfind"
    assert asked == {"packaged": [0, 1, 2], "tuned": [0, 1, 2]}


@pytest.mark.slow
def test_train_builds_the_polarity_model_on_its_own_encoder(tmp_path, isolated_env):
    from reliability_helpers import write_corpus

    from nlpfind.classify import POLARITY_DIR, Classifier, classify_file
    from nlpfind.train import train

    info = write_corpus(tmp_path / "c", keys=("glenbrae", "ardmuir", "kinloch"))
    config = tmp_path / "hybrid.toml"
    config.write_text('[train]\nembedding_model = "static"\npolarity_embedding_model = "minilm"\n', encoding="utf-8")
    train(info["corpus"], [info["reports"]], tmp_path / "model", config, cross_validate=False)
    assert (tmp_path / "model" / POLARITY_DIR / "meta.json").is_file()
    classifier = Classifier(tmp_path / "model")
    assert classifier.model.polarity_model.embedding_model == "minilm"
    # theme terms are for the theme head, which is the main model's: the polarity model does not match them again
    assert classifier.model.featurizer.theme_only_columns > 0
    assert classifier.model.polarity_model.featurizer.theme_only_columns == 0
    assert classify_file(EXAMPLE, classifier).findings


def test_compare_keeps_the_polarity_model_vectors_in_the_embedding_cache(tmp_path, isolated_env):
    """compare caches the polarity model's vectors like the main model's (under the polarity encoder's key)."""
    from reliability_helpers import train_tiny_model, write_corpus

    from nlpfind.classify import Classifier
    from nlpfind.compare import compare_reports
    from nlpfind.embed import STATIC_DIR, get_embedder

    encoder = tmp_path / "polarity-encoder"  # a copy: its own cache key, apart from the main model's "static"
    shutil.copytree(STATIC_DIR, encoder)
    hybrid = train_tiny_model()
    hybrid.polarity_model = train_tiny_model(embedded=str(encoder))
    hybrid.to_disk(tmp_path / "hybrid")
    paths = sorted(write_corpus(tmp_path / "c", keys=("glenbrae", "ardmuir"))["reports"].glob("*.txt"))
    cached = compare_reports(paths, Classifier(tmp_path / "hybrid"), cache_dir=tmp_path / "cache", workers=1)
    folder = tmp_path / "cache" / "embeddings" / get_embedder(str(encoder)).key.replace(":", "-")
    assert any(folder.glob("*.npy"))
    uncached = compare_reports(paths, Classifier(tmp_path / "hybrid"), use_cache=False, workers=1)
    assert cached.as_dict() == uncached.as_dict()
