"""A model with a first pass (`first_pass` in the train config): the first pass classifies every sentence, and the
model embeds and classifies again only the sentences the first pass is unsure of."""

from __future__ import annotations

import json

import pytest
from conftest import REPO
from reliability_helpers import FAST_CONFIG, FINDINGS, report_text, train_tiny_model, write_corpus
from test_reliability import assert_one_line_error, invoke


@pytest.fixture(scope="module")
def parts():
    """(first pass without embeddings, second model on the static embeddings, the inputs they were fitted on)."""
    from nlpfind.classify import sentence_input
    from nlpfind.config import load_framework
    from nlpfind.quantify import QuantifierTagger
    from nlpfind.segment import segment

    fw = load_framework("carh")
    tagger = QuantifierTagger(fw)
    inputs = [sentence_input(s, tagger.tag(s), fw) for key in FINDINGS for s in segment(report_text(key), fw)]
    return train_tiny_model(), train_tiny_model(embedded="static"), inputs


def cascade(parts, confidence: float):
    from dataclasses import replace

    first, second, _ = parts
    return replace(second, first_pass=first, meta={**second.meta, "first_pass_confidence": confidence})


class CountingEncoder:
    """The static embedder's vectors, remembering which texts it was asked for."""

    def __init__(self) -> None:
        from nlpfind.embed import get_embedder

        self.embedder = get_embedder("static")
        self.texts: list[str] = []

    def __call__(self, texts):
        self.texts += list(texts)
        return self.embedder.encode(texts)


def test_only_the_unsure_sentences_are_embedded_and_classified_again(parts):
    from nlpfind.classify import unsure_rows

    first, second, inputs = parts
    kept = first.predict(inputs)
    unsure = unsure_rows(kept, 0.7)
    assert 0 < len(unsure) < len(inputs)  # the test needs both kinds
    encode = CountingEncoder()
    preds = cascade(parts, 0.7).classify(inputs, encode)
    assert encode.texts == [inputs[i].text for i in unsure]
    again = second.predict([inputs[i] for i in unsure], encode.embedder.encode([inputs[i].text for i in unsure]))
    by_row = {r: {**p, "decided_by": "model"} for r, p in zip(unsure, again)}
    for r, pred in enumerate(preds):
        assert pred == by_row.get(r, {**kept[r], "decided_by": "first pass"})
    for r in set(range(len(inputs))) - set(unsure):  # kept: both probabilities reach the confidence
        assert min(max(kept[r]["statement_scores"].values()), max(kept[r]["polarity_scores"].values())) >= 0.7


def test_without_scores_a_first_pass_still_picks_the_unsure_and_decides_the_same(parts):
    first, second, inputs = parts
    model = cascade(parts, 0.7)
    with_scores = model.classify(inputs, CountingEncoder())
    encode = CountingEncoder()
    without = model.classify(inputs, encode, scores=False)
    assert encode.texts and len(encode.texts) < len(inputs)  # the first pass's own scores still chose
    empty = {"statement_scores": {}, "polarity_scores": {}, "theme_scores": {}}
    assert without == [{**p, **empty} for p in with_scores]


def test_confidence_bounds_give_either_model(parts):
    first, second, inputs = parts
    encode = CountingEncoder()
    def without_origin(preds):
        assert {p.pop("decided_by") for p in preds} in ({"first pass"}, {"model"})
        return preds

    assert without_origin(cascade(parts, 0.01).classify(inputs, encode)) == first.predict(inputs)
    assert encode.texts == []
    assert without_origin(cascade(parts, 0.9999).classify(inputs, encode)) == second.predict(
        inputs, encode.embedder.encode([i.text for i in inputs]))


def test_first_pass_round_trip(parts, tmp_path):
    from nlpfind.classify import FIRST_PASS_DIR, FindingModel

    model = cascade(parts, 0.7)
    model.to_disk(tmp_path / "m")
    assert (tmp_path / "m" / FIRST_PASS_DIR / "weights.safetensors").is_file()
    loaded = FindingModel.from_disk(tmp_path / "m")
    assert loaded.first_pass is not None and loaded.meta["first_pass_confidence"] == 0.7
    inputs = parts[2]
    assert loaded.classify(inputs) == model.classify(inputs)
    parts[1].to_disk(tmp_path / "plain")
    assert FindingModel.from_disk(tmp_path / "plain").meta["fingerprint"] != loaded.meta["fingerprint"]
    assert [m.embedding_model for m in loaded.parts()] == ["static", "static"]


@pytest.mark.parametrize("edit, words", [({"first_pass_confidence": 1.5}, "first_pass_confidence"),
                                         ({"first_pass": "elsewhere"}, "first pass")])
def test_damaged_first_pass_is_a_model_error(parts, tmp_path, edit, words):
    from nlpfind.classify import FindingModel
    from nlpfind.errors import ModelError

    cascade(parts, 0.7).to_disk(tmp_path / "m")
    meta = tmp_path / "m" / "meta.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), **edit}), encoding="utf-8")
    with pytest.raises(ModelError, match=words):
        FindingModel.from_disk(tmp_path / "m")


def write_configs(tmp_path, first_pass: str = "first.toml", confidence: float = 0.7):
    (tmp_path / "first.toml").write_text(FAST_CONFIG, encoding="utf-8")
    config = tmp_path / "cascade.toml"
    config.write_text(FAST_CONFIG.replace("embedding_weight = 0.0", "embedding_weight = 1.0")
                      + f'first_pass = "{first_pass}"\nfirst_pass_confidence = {confidence}\n', encoding="utf-8")
    return config


def test_config_resolves_the_first_pass(tmp_path):
    from nlpfind.config import load_train_config

    config = load_train_config(write_configs(tmp_path))
    assert config.first_pass == str((tmp_path / "first.toml").resolve())
    assert config.first_pass_config.embedding_weight == 0.0
    assert load_train_config().first_pass == ""  # train.toml: MiniLM alone
    shipped = load_train_config(REPO / "configs" / "train-balanced.toml")
    assert shipped.first_pass == "train-fast.toml" and shipped.first_pass_config.embedding_model == "static"


@pytest.mark.parametrize("setup, words", [
    (lambda p: write_configs(p, first_pass="frist.toml"), 'did you mean "first.toml"'),
    (lambda p: write_configs(p, confidence=1.0), "first_pass_confidence"),
    (lambda p: (write_configs(p), (p / "first.toml").write_text(FAST_CONFIG + 'first_pass = "cascade.toml"\n'))[0],
     "first pass of its own"),
    (lambda p: (write_configs(p), (p / "first.toml").write_text(FAST_CONFIG.replace('"carh"', '"ilacs"')))[0],
     "framework"),
    (lambda p: (write_configs(p), (p / "first.toml").write_text(FAST_CONFIG + "polarity_finetune_layers = 2\n"))[0],
     "polarity model of its own"),
])
def test_bad_first_pass_settings_are_one_line(tmp_path, setup, words):
    config = setup(tmp_path)
    out = tmp_path / "model"
    result = invoke(["train", "--config", config, "--out", out])
    assert_one_line_error(result, config.name, words=words)
    assert not out.exists()


def test_train_classify_and_evaluate_with_a_first_pass(tmp_path, isolated_env):
    from nlpfind.classify import FindingModel

    data = write_corpus(tmp_path)
    config = write_configs(tmp_path)
    out = tmp_path / "model"
    result = invoke(["train", "--config", config, "--corpus", data["corpus"], "--reports", data["reports"], "--out", out])
    assert result.exit_code == 0, result.output
    model = FindingModel.from_disk(out)
    assert model.first_pass is not None and model.first_pass.featurizer.embedding_weight == 0.0
    assert "first pass" in (out / "README.md").read_text()
    result = invoke(["classify", data["files"]["glenbrae"], "--model", out, "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    decided = report["metadata"]["decided_by"]
    assert set(decided) == {"first pass", "model"} and sum(decided.values()) == len(report["sentences"])
    result = invoke(["compare", *data["files"].values(), "--model", out, "--format", "json", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["themes"]
    results = tmp_path / "RESULTS.md"
    result = invoke(["evaluate", "--config", config, "--corpus", data["corpus"], "--reports", data["reports"],
                     "--results", results, "--format", "json"])
    assert result.exit_code == 0, result.output
    deferred = json.loads(result.stdout)["nlpfind"]["deferred"]
    assert 0 <= deferred <= 1
    text = results.read_text()
    assert "first pass" in text
    # several configs' sections sit in one RESULTS.md: each heading names what it evaluated
    assert f"## Sentence models: grouped cross-validation by partnership (`{config}`)" in text


def test_unsure_rows_reads_both_heads():
    from nlpfind.classify import unsure_rows

    preds = [{"statement_scores": {"1": 0.9, "none": 0.1}, "polarity_scores": {"strength": 0.95, "neutral": 0.05}},
             {"statement_scores": {"1": 0.9, "none": 0.1}, "polarity_scores": {"strength": 0.55, "neutral": 0.45}},
             {"statement_scores": {"1": 0.5, "none": 0.5}, "polarity_scores": {"strength": 0.95, "neutral": 0.05}}]
    assert unsure_rows(preds, 0.7) == [1, 2]
    assert unsure_rows(preds, 0.5) == []
    assert unsure_rows(preds, 0.96) == [0, 1, 2]


def test_cross_validation_merges_the_two_models_as_classify_does(tmp_path):
    """evaluate's first-pass run equals the first pass's held-out predictions where it is sure and the second
    model's elsewhere, on the same folds (checked against two plain runs kept with keep_predictions)."""
    from nlpfind.config import load_framework, load_train_config
    from nlpfind.corpus import load_corpus
    from nlpfind.evaluate import evaluate

    data = write_corpus(tmp_path / "c", keys=("glenbrae", "ardmuir", "kinloch"))
    config = load_train_config(write_configs(tmp_path, confidence=0.6))
    corpus = load_corpus(data["corpus"], load_framework(config.framework), [data["reports"]])

    def run(cfg):
        return evaluate(config=cfg, corpus=corpus, folds=3, systems=("nlpfind",), keep_predictions=True).system("nlpfind")

    from dataclasses import replace

    from nlpfind.classify import unsure_rows

    both, first, second = run(config), run(config.first_pass_config), run(replace(config, first_pass=""))
    unsure = set(unsure_rows(first.predictions, 0.6))
    assert both.deferred == len(unsure) / len(corpus.sentences) and 0 < both.deferred < 1
    assert len(both.predictions) == len(corpus.sentences)
    for i, pred in enumerate(both.predictions):
        assert pred["decided_by"] == ("model" if i in unsure else "first pass")
        assert {k: v for k, v in pred.items() if k != "decided_by"} == (second.predictions[i] if i in unsure
                                                                       else first.predictions[i])
    assert first.deferred is None and second.deferred is None


def test_evaluating_another_model_keeps_the_default_s_results_section():
    from pathlib import Path

    from nlpfind.cli import results_section

    default = ("sentence-models", None)  # the default's heading names nothing
    assert results_section(None, None) == results_section(REPO / "models" / "default", None) == default
    assert results_section(REPO / "models" / "balanced", None) == ("sentence-models-balanced", "balanced")
    fast = Path("configs/train-fast.toml")
    assert results_section(None, fast) == ("sentence-models-train-fast", str(fast))


def test_report_metadata_counts_the_decisions_of_each_model(parts):
    from conftest import EXAMPLE

    from nlpfind.classify import Classifier, classify_file

    plain = classify_file(EXAMPLE, Classifier(parts[1]))
    assert "decided_by" not in plain.metadata
    both = classify_file(EXAMPLE, Classifier(cascade(parts, 0.7)))
    decided = both.metadata["decided_by"]
    assert decided["first pass"] > 0 and decided["model"] > 0
    assert decided["first pass"] + decided["model"] == len(both.findings)


def test_each_finding_says_which_model_decided_it_in_every_format(parts, tmp_path):
    """Per sentence `decided_by` (json, jsonl and csv), matching the report's counts; a single model's output has no
    such field or column."""
    import csv
    import io
    from collections import Counter

    from conftest import EXAMPLE

    from nlpfind.classify import Classifier, classify_file
    from nlpfind.render import CSV_COLUMNS, to_csv, to_json, to_jsonl

    both = classify_file(EXAMPLE, Classifier(cascade(parts, 0.7)))
    assert Counter(f.decided_by for f in both.findings) == both.metadata["decided_by"]
    rows = [json.loads(line) for line in to_jsonl(both).splitlines()]
    assert [r["decided_by"] for r in rows] == [f.decided_by for f in both.findings]
    assert [s["decided_by"] for s in json.loads(to_json(both))["sentences"]] == [f.decided_by for f in both.findings]
    table = list(csv.reader(io.StringIO(to_csv(both))))
    assert tuple(table[0]) == CSV_COLUMNS + ("decided_by",)
    assert [r[-1] for r in table[1:]] == [f.decided_by for f in both.findings]

    plain = classify_file(EXAMPLE, Classifier(parts[1]))
    assert all("decided_by" not in json.loads(line) for line in to_jsonl(plain).splitlines())
    assert tuple(next(csv.reader(io.StringIO(to_csv(plain))))) == CSV_COLUMNS
