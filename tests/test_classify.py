"""The classify pipeline and model folders."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import EXAMPLE, REPO
from reportdocs import PAGED_SENTENCES, PAGED_TEXT

from nlpfind.classify import DEFAULT_MODEL_DIR, MODEL_FILES, FindingModel, classify_file
from nlpfind.errors import ModelError
from nlpfind.read import read_document
from nlpfind.segment import segment


@pytest.fixture
def model_copy(tmp_path):
    path = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, path)
    return path


def test_shipped_model_has_its_files():
    for name in MODEL_FILES:
        assert (DEFAULT_MODEL_DIR / name).is_file()
    assert not list(DEFAULT_MODEL_DIR.glob("*.pkl")) and not list(DEFAULT_MODEL_DIR.glob("*.pickle"))


def test_missing_model_folder(tmp_path):
    with pytest.raises(ModelError, match="model folder not found"):
        FindingModel.from_disk(tmp_path / "nowhere")


@pytest.mark.parametrize("name", MODEL_FILES)
def test_incomplete_model_folder(model_copy, name):
    (model_copy / name).unlink()
    with pytest.raises(ModelError, match=f"missing {name}"):
        FindingModel.from_disk(model_copy)


def test_damaged_meta_json(model_copy):
    (model_copy / "meta.json").write_text('{"format_version": 1,', encoding="utf-8")
    with pytest.raises(ModelError, match="meta.json: damaged JSON"):
        FindingModel.from_disk(model_copy)


def test_other_format_version(model_copy):
    meta = json.loads((model_copy / "meta.json").read_text(encoding="utf-8"))
    meta["format_version"] = 99
    (model_copy / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelError, match="retrain"):
        FindingModel.from_disk(model_copy)


def test_damaged_weights(model_copy):
    data = (model_copy / "weights.safetensors").read_bytes()
    (model_copy / "weights.safetensors").write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelError, match="weights"):
        FindingModel.from_disk(model_copy)


@pytest.mark.slow
def test_model_round_trip(tmp_path):
    import numpy as np

    from nlpfind.features import SentenceInput

    model = FindingModel.from_disk(DEFAULT_MODEL_DIR)
    model.to_disk(tmp_path / "copy")
    again = FindingModel.from_disk(tmp_path / "copy")
    inputs = [SentenceInput("Most plans were reviewed on time.", "Statement 2 > Planning", "2", True, ("most",))]
    width = model.featurizer.description_embeddings.shape[1] if model.featurizer.description_embeddings is not None \
        else 384
    emb = np.full((1, width), 0.05, dtype=np.float32)
    assert again.predict(inputs, emb) == model.predict(inputs, emb)


@pytest.mark.slow
def test_classify_text_on_the_paged_report(classifier):
    findings = list(classifier.classify_text(PAGED_TEXT, "kilbrannan"))
    sentences = segment(PAGED_TEXT, classifier.framework)
    assert len(sentences) == len(PAGED_SENTENCES)
    assert [(f.index, f.start, f.end, f.section) for f in findings] == [
        (s.index, s.start, s.end, s.section_label) for s in sentences]
    for f in findings:
        assert PAGED_TEXT[f.start:f.end] == f.text
        assert f.statement in ("1", "2", "3", "4", "none")
        assert f.polarity in f.polarity_scores and f.statement in f.statement_scores
        assert set(f.themes) <= set(classifier.framework.theme_ids)
        for q in f.quantifiers:
            assert " ".join(PAGED_TEXT[q.start:q.end].split()) == q.text
    first = findings[6]
    assert first.section.startswith("Statement 1:")
    assert [q.term for q in first.quantifiers] == ["almost all"]


@pytest.mark.slow
def test_classify_file_on_the_example(classifier):
    report = classify_file(EXAMPLE, classifier)
    source = read_document(EXAMPLE).text
    assert report.report == "example-report" and report.framework == "carh"
    assert report.metadata["format"] == "txt" and report.metadata["characters"] == len(source)
    assert all(source[f.start:f.end] == f.text for f in report.findings)
    # a clearly evaluative finding in each direction
    by_text = {f.text: f for f in report.findings}
    weak = by_text["The partnership should improve the quality of chronologies."]
    assert weak.polarity in ("weakness", "mixed")
    summary = report.summary()
    assert sum(sum(row[p] for p in ("strength", "weakness", "mixed", "neutral")) for row in summary.values()) == len(
        report.findings)


@pytest.mark.slow
def test_classification_is_deterministic(classifier):
    a = [f.as_dict() for f in classifier.classify_text(PAGED_TEXT, "k")]
    b = [f.as_dict() for f in classifier.classify_text(PAGED_TEXT, "k", batch_size=3)]
    assert a == b


@pytest.mark.slow
def test_lines_mode(classifier):
    text = "Most staff were confident.\n\nChronologies were weak in a few cases.\n"
    findings = list(classifier.classify_text(text, "lines", lines=True))
    assert [f.text for f in findings] == ["Most staff were confident.", "Chronologies were weak in a few cases."]
    assert [[q.term for q in f.quantifiers] for f in findings] == [["most"], ["a few"]]


def test_cue_counts_ignore_case():
    # Cues match lower-cased text (faster than re.I): capitals and negations in capitals still count.
    import math

    from nlpfind.features import cue_counts

    strength, weakness = ("effective", "well planned"), ("weak", "not always")
    rows = cue_counts(["Plans were EFFECTIVE and Well Planned.", "Plans were NOT Effective; WEAK.", "Nothing here."],
                      strength, weakness)
    one, two = math.log1p(1), math.log1p(2)
    assert rows[0].tolist() == pytest.approx([two, 0, 0, 1, 0])
    assert rows[1].tolist() == pytest.approx([0, two, one, 0, 1])  # "not effective" is a weakness
    assert rows[2].tolist() == [0, 0, 0, 0, 0]


def test_theme_terms_match_at_the_start_of_a_word_in_any_case():
    from nlpfind.features import theme_term_hits

    terms = (("chronolog", "cumulative harm"), ("IRD", "joint investigat"), ("advoca",), ())
    rows = theme_term_hits(["Chronologies were weak; IRDs were timely.", "A third IRD-like word: thIRD, bird.",
                            "Joint investigative interviews and advocates.", "Nothing here.", ""], terms)
    assert rows.tolist() == [[1, 1, 0, 0], [0, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert not theme_term_hits(["Chronologies."], ((), ())).any()
    # terms that are prefixes of one another: the longest that fits wins at each word, as in a plain alternation
    nested = (("plan",), ("plans",), ("planning",), ("a",), ("ab", "abc d"))
    assert theme_term_hits(["Plans and planning.", "Plan ahead; abc d; abc e."], nested).tolist() == [
        [0, 1, 1, 1, 0], [1, 0, 0, 1, 1]]


def test_theme_terms_reach_the_theme_head_only_and_survive_save_and_load(tmp_path):
    """The statement and polarity heads are fitted without the term columns (zero weights there): measured, the
    terms cost them F1 when they read them; the theme head reads them."""
    import numpy as np
    from reliability_helpers import train_tiny_model

    from nlpfind.features import SentenceInput

    model = train_tiny_model(theme_term_weight=1.0)
    fz = model.featurizer
    n = len(model.theme_ids)
    assert fz.theme_only_columns == n and fz.theme_terms[model.theme_ids.index("chronologies")][0] == "chronolog"
    inputs = [SentenceInput("Chronologies were not yet of a good enough quality.", "Statement 2", "2", True),
              SentenceInput("Most plans were reviewed on time.", "Statement 2", "2", True, ("most",))]
    X = fz.transform((inputs, None))
    assert X[0, X.shape[1] - n + model.theme_ids.index("chronologies")] == 1.0
    plain = train_tiny_model()  # weight 0 (the default): no term columns, and the same statement and polarity heads
    assert plain.featurizer.theme_only_columns == 0
    for head, same in ((model.statement_head, plain.statement_head), (model.polarity_head, plain.polarity_head)):
        assert not head.coef_[:, -n:].any() and np.array_equal(head.coef_[:, :-n], same.coef_)
    assert np.abs(model.theme_head.coef_[:, -n:]).sum() > 0
    model.to_disk(tmp_path / "model")
    again = FindingModel.from_disk(tmp_path / "model")
    assert again.featurizer.theme_terms == fz.theme_terms and again.featurizer.theme_term_weight == 1.0
    assert again.predict(inputs) == model.predict(inputs)


def test_tfidf_rows_are_sublinear_idf_weighted_and_unit_length():
    import math

    import numpy as np

    from nlpfind.features import tfidf

    vocab = {"chronologies": 0, "were": 1, "weak": 2, "chronologies were": 3}
    idf = np.array([2.0, 1.0, 3.0, 4.0], dtype=np.float32)
    docs = ["Chronologies were weak, weak, weak.", "", "Nothing in the vocabulary.", "Were"]
    m = tfidf(docs, vocab, idf, 2).toarray()
    raw = np.array([2.0, 1.0, (1 + math.log(3)) * 3.0, 4.0])
    assert np.allclose(m[0], raw / np.linalg.norm(raw), atol=1e-6)
    assert not m[1].any() and not m[2].any()  # empty rows stay zero, no division by zero
    assert np.allclose(m[3], [0, 1, 0, 0])
    assert m.dtype == np.float32 and m.shape == (4, 4)


def test_apply_prior_weights_each_hinted_row_and_renormalises():
    import numpy as np

    from nlpfind.classify import apply_prior

    classes = np.array(["mixed", "neutral", "strength", "weakness"])
    proba = np.array([[0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25], [0.4, 0.3, 0.2, 0.1]], dtype=np.float32)
    out = apply_prior(proba, classes, ["strength", None, "weakness"], 4.0)
    expected = proba.astype(np.float64)
    expected[0, 2] *= 4.0
    expected[2, 3] *= 4.0
    expected[2, 0] *= 2.0  # a weakness hint also favours "mixed", by the square root
    expected /= expected.sum(axis=1, keepdims=True)
    assert out.dtype == np.float32 and np.allclose(out, expected, atol=1e-6)
    assert np.array_equal(out[1], proba[1])  # no hint: unchanged
    assert apply_prior(proba, classes, [None, None, None], 4.0) is proba
    assert apply_prior(proba, classes, ["unknown", None, None], 4.0).tolist() == proba.tolist()


def test_classify_text_collects_less_only_while_it_works():
    # Segmenting and classifying run with a raised collector threshold, but the caller's code
    # between findings runs with its own setting.
    import gc

    from nlpfind.classify import Classifier

    classifier = Classifier(REPO / "models" / "fast")  # static embeddings: quick to load
    before = gc.get_threshold()
    seen = [gc.get_threshold() for _ in classifier.classify_text(PAGED_TEXT, "paged", batch_size=3)]
    assert len(seen) == len(PAGED_SENTENCES) and set(seen) == {before}
    assert gc.get_threshold() == before


def test_classify_text_without_scores_gives_the_same_findings_with_empty_scores():
    from dataclasses import replace

    from nlpfind.classify import Classifier

    classifier = Classifier(REPO / "models" / "fast")
    full = list(classifier.classify_text(PAGED_TEXT, "paged"))
    lean = list(classifier.classify_text(PAGED_TEXT, "paged", scores=False))
    assert any(f.theme_scores for f in full) and all(f.statement_scores and f.polarity_scores for f in full)
    assert lean == [replace(f, statement_scores={}, polarity_scores={}, theme_scores={}) for f in full]


def test_a_model_on_embeddings_without_description_similarity_round_trips(tmp_path):
    """similarity_weight 0 leaves no description vectors to tell the embedding width: the featurizer records it."""
    from reliability_helpers import train_tiny_model

    from nlpfind.features import SentenceInput

    model = train_tiny_model(embedded="static")
    assert model.featurizer.description_embeddings is None and model.featurizer.embedding_dim_ == 256
    model.to_disk(tmp_path / "model")
    again = FindingModel.from_disk(tmp_path / "model")
    inputs = [SentenceInput("Most plans were reviewed on time.", "Statement 2", "2", True, ("most",))]
    assert again.predict(inputs) == model.predict(inputs)


@pytest.mark.slow
def test_a_model_on_pooled_layers_keeps_them_through_save_and_load(tmp_path):
    """The layers are part of what the model is: a loaded copy embeds with the same layers and predicts the same."""
    from reliability_helpers import train_tiny_model

    from nlpfind.features import SentenceInput

    model = train_tiny_model(embedded="minilm", layers=(3, 4, 6))
    assert model.featurizer.embedding_dim_ == 3 * 384 and model.embedder().layers == (3, 4, 6)
    model.to_disk(tmp_path / "model")
    assert json.loads((tmp_path / "model" / "meta.json").read_text())["embedding_layers"] == [3, 4, 6]
    again = FindingModel.from_disk(tmp_path / "model")
    assert again.embedding_layers == (3, 4, 6) and again.embedder().key == model.embedder().key
    inputs = [SentenceInput("Most plans were reviewed on time.", "Statement 2", "2", True, ("most",)),
              SentenceInput("Chronologies were not yet of a good enough quality.", "Statement 2", "2", True)]
    assert again.predict(inputs) == model.predict(inputs)


def test_sentence_vectors_of_the_wrong_width_are_refused_by_name(tmp_path):
    """Vectors from another embedder (e.g. MiniLM's own 384 for a model on layers 3, 4 and 6) fail with one line."""
    import numpy as np
    from reliability_helpers import train_tiny_model

    from nlpfind.features import SentenceInput

    model = train_tiny_model(embedded="static")
    inputs = [SentenceInput("Most plans were reviewed on time.", "Statement 2", "2", True, ("most",))]
    with pytest.raises(ModelError, match="given sentence vectors are 384 wide; the model reads 256-wide vectors of static"):
        model.predict(inputs, np.zeros((1, 384), dtype=np.float32))
    assert model.predict(inputs, model.embedder().encode([i.text for i in inputs])) == model.predict(inputs)


def test_a_model_whose_meta_names_bad_layers_is_refused(model_copy):
    from nlpfind.errors import ModelError

    meta = json.loads((model_copy / "meta.json").read_text())
    meta["embedding_layers"] = "3,4"
    (model_copy / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="embedding_layers expected a list of layer numbers, got '3,4'; retrain"):
        FindingModel.from_disk(model_copy)


def test_a_predicted_finding_gets_its_most_likely_theme_when_none_reaches_the_threshold(tmp_path):
    from reliability_helpers import train_tiny_model

    from nlpfind.features import SentenceInput

    model = train_tiny_model()
    assert model.meta["top_theme_for_findings"] is True  # the TrainConfig default
    model.theme_head.threshold = 1.0  # no probability reaches it: only the fallback tags
    inputs = [SentenceInput("Most plans were reviewed on time and chronologies were good.", "Statement 2", "2", True,
                            ("most",)),
              SentenceInput("The inspection took place in May.", "", None, False)]
    preds = model.predict(inputs)
    assert [p["statement"] for p in preds] == ["2", "none"]
    X = model.features(inputs)
    top = model.theme_ids[int(model.theme_head.predict_proba(X)[0].argmax())]
    assert [p["themes"] for p in preds] == [(top,), ()]
    assert list(preds[0]["theme_scores"]) == [top] and preds[0]["theme_scores"][top] < 1.0 and preds[1]["theme_scores"] == {}
    model.to_disk(tmp_path / "model")
    again = FindingModel.from_disk(tmp_path / "model")
    assert again.meta["top_theme_for_findings"] is True
    model.meta["top_theme_for_findings"] = False
    assert [p["themes"] for p in model.predict(inputs)] == [(), ()]


def test_statement_given_theme_is_each_themes_weighted_share_per_statement_smoothed():
    from nlpfind.train import statement_given_theme

    given = statement_given_theme(["1", "1", "2", "none"], [["a"], ["a", "b"], ["a"], []], ["a", "b", "c"],
                                  ["1", "2", "none"], np.array([1.0, 1.0, 3.0, 1.0]))
    assert given["a"] == pytest.approx({"1": 2.5 / 6.5, "2": 3.5 / 6.5, "none": 0.5 / 6.5}, abs=1e-6)
    assert given["b"] == pytest.approx({"1": 1.5 / 2.5, "2": 0.5 / 2.5, "none": 0.5 / 2.5}, abs=1e-6)
    assert given["c"] == pytest.approx({"1": 1 / 3, "2": 1 / 3, "none": 1 / 3}, abs=1e-6)  # never seen: rules out nothing


def test_a_theme_that_does_not_go_with_the_predicted_statement_is_left_off(tmp_path):
    from reliability_helpers import train_tiny_model

    from nlpfind.config import TrainConfig
    from nlpfind.features import SentenceInput
    from nlpfind.train import model_card

    assert "theme_statement_floor" not in train_tiny_model().meta  # off unless asked
    model = train_tiny_model(theme_statement_floor=0.05)
    assert model.meta["theme_statement_floor"] == 0.05
    assert set(model.meta["statement_given_theme"]) == set(model.theme_ids)
    model.theme_head.threshold = 1e-6  # every theme reaches it: only the rule leaves any off
    classes = [str(c) for c in model.statement_head.classes_]
    safer, planning = model.theme_ids[0], model.theme_ids[1]
    model.meta["statement_given_theme"][safer] = {c: float(c == "1") for c in classes}  # seen under statement 1 only
    model.meta["statement_given_theme"][planning] = {c: float(c == "2") for c in classes}
    inputs = [SentenceInput("Most plans were reviewed on time and chronologies were good.", "Statement 2", "2", True,
                            ("most",))]
    [pred] = model.predict(inputs)
    assert pred["statement"] == "2" and planning in pred["themes"] and safer not in pred["themes"]
    assert len(pred["themes"]) == len(model.theme_ids) - 1
    model.to_disk(tmp_path / "model")
    again = FindingModel.from_disk(tmp_path / "model")
    assert again.meta["statement_given_theme"][safer]["1"] == 1.0 and again.predict(inputs) == [pred]
    assert "theme is left off a sentence" in model_card(model.meta, TrainConfig())
    assert "theme is left off" not in model_card(train_tiny_model().meta, TrainConfig())
    model.theme_head.threshold = 1.0  # none reaches it: the top-theme fallback picks among the allowed themes only
    top = model.theme_ids[int(model.theme_head.predict_proba(model.features(inputs))[0].argmax())]
    allowed = next(t for t in model.theme_ids if t != top)
    model.meta["statement_given_theme"] = {t: {c: float(c == "1") for c in classes} for t in model.theme_ids}
    model.meta["statement_given_theme"][allowed] = {c: float(c == "2") for c in classes}
    assert model.predict(inputs)[0]["themes"] == (allowed,)
    del model.meta["theme_statement_floor"]  # without the rule: the most likely theme of all
    assert model.predict(inputs)[0]["themes"] == (top,)
    meta = json.loads((tmp_path / "model" / "meta.json").read_text())
    meta["statement_given_theme"].pop(safer)
    (tmp_path / "model" / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="meta.json: statement_given_theme expected, for each theme"):
        FindingModel.from_disk(tmp_path / "model")
    meta["theme_statement_floor"] = 1.5
    (tmp_path / "model" / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="theme_statement_floor expected a number in \\[0, 1\\), got 1.5"):
        FindingModel.from_disk(tmp_path / "model")


def test_polarity_is_the_most_likely_class_or_decided_by_the_two_thresholds():
    import numpy as np

    from nlpfind.classify import decide_polarity

    classes = ["mixed", "neutral", "strength", "weakness"]  # the heads' (sorted) class order
    proba = np.array([[0.10, 0.50, 0.35, 0.05],   # strength + mixed 0.45, weakness + mixed 0.15
                      [0.00, 0.60, 0.10, 0.30],   # 0.10 / 0.30
                      [0.30, 0.10, 0.30, 0.30],   # 0.60 / 0.60, mixed the most likely
                      [0.05, 0.30, 0.40, 0.25],   # 0.45 / 0.30: both reached, strength the more likely
                      [0.00, 0.90, 0.05, 0.05]])  # 0.05 / 0.05
    assert decide_polarity(proba, classes, None) == ["neutral", "neutral", "mixed", "strength", "neutral"]
    assert decide_polarity(proba, classes, {"strength": 0.4, "weakness": 0.3}) == [
        "strength", "weakness", "mixed", "strength", "neutral"]
    assert decide_polarity(proba, classes, {"strength": 0.5, "weakness": 0.3}) == [
        "neutral", "weakness", "mixed", "weakness", "neutral"]
    assert decide_polarity(proba[:, [1, 2, 3]], classes[1:], {"strength": 0.4, "weakness": 0.3}) == [
        "neutral", "weakness", "weakness", "strength", "neutral"]  # a head that never saw "mixed": P(mixed) is 0


def test_polarity_thresholds_are_chosen_by_grouped_inner_cv_saved_and_checked_on_load(tmp_path):
    from reliability_helpers import train_tiny_model

    from nlpfind.classify import decide_polarity
    from nlpfind.features import SentenceInput
    from nlpfind.train import THRESHOLD_GRID

    plain = train_tiny_model()
    assert "polarity_thresholds" not in plain.meta and plain.polarity_thresholds is None  # off unless asked
    model = train_tiny_model(polarity_thresholds=True)
    thresholds = model.meta["polarity_thresholds"]
    assert model.polarity_thresholds == thresholds
    plain.polarity_model = model  # a model whose polarity model decides (models/tuned's layout) uses its thresholds
    assert plain.polarity_thresholds == thresholds
    plain.polarity_model = None
    assert set(thresholds) == {"strength", "weakness"} and all(t in THRESHOLD_GRID for t in thresholds.values())
    inputs = [SentenceInput("Most plans were reviewed on time and chronologies were good.", "Statement 2", "2", True,
                            ("most",)),
              SentenceInput("Too few chronologies were of good quality.", "Statement 1", "1", True, ("too few",))]
    preds = model.predict(inputs)
    scores = np.array([[p["polarity_scores"][c] for c in model.polarity_head.classes_] for p in preds])
    assert [p["polarity"] for p in preds] == decide_polarity(scores, list(model.polarity_head.classes_), thresholds)
    model.to_disk(tmp_path / "model")
    again = FindingModel.from_disk(tmp_path / "model")
    assert again.meta["polarity_thresholds"] == thresholds and again.predict(inputs) == preds
    meta = json.loads((tmp_path / "model" / "meta.json").read_text())
    meta["polarity_thresholds"] = {"strength": 1.5, "weakness": 0.4}
    (tmp_path / "model" / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match=r"meta.json: polarity_thresholds expected .* got \{'strength': 1.5"):
        FindingModel.from_disk(tmp_path / "model")


def test_polarity_thresholds_need_two_groups_and_examples_of_each_side():
    from nlpfind.config import TrainConfig
    from nlpfind.train import choose_polarity_thresholds

    rng = np.random.default_rng(0)
    y = np.array(["strength", "weakness", "mixed", "neutral"] * 20, dtype=object)
    X = np.eye(4)[np.array([0, 1, 2, 3] * 20)] + rng.normal(0, 0.3, (80, 4))
    hints = [None] * 80
    groups = [f"p{k % 4}" for k in range(80)]
    config = TrainConfig()
    chosen = choose_polarity_thresholds(X, y, hints, config, None, None, groups)
    assert set(chosen) == {"strength", "weakness"} and all(0 < t < 1 for t in chosen.values())
    assert choose_polarity_thresholds(X, y, hints, config, None, None, ["one"] * 80) is None
    no_weakness = np.where(np.isin(y, ["weakness", "mixed"]), "neutral", y)
    assert choose_polarity_thresholds(X, no_weakness, hints, config, None, None, groups) is None


def test_a_model_saved_without_the_top_theme_setting_tags_by_threshold_alone(model_copy):
    meta = json.loads((model_copy / "meta.json").read_text())
    meta.pop("top_theme_for_findings", None)
    (model_copy / "meta.json").write_text(json.dumps(meta))
    assert not FindingModel.from_disk(model_copy).meta.get("top_theme_for_findings", False)


def test_top_theme_can_be_turned_off_per_call(tmp_path):
    """compare asks for the themes over the threshold only (its own leftovers make discovered themes)."""
    from reliability_helpers import train_tiny_model

    from nlpfind.classify import Classifier
    from nlpfind.parallel import report_findings

    model = train_tiny_model()
    model.theme_head.threshold = 1.0  # only the fallback can tag
    classifier = Classifier(model)
    text = "Statement 2\n\nMost plans were reviewed on time and chronologies were good.\n"
    [default] = classifier.classify_text(text, "r")
    [plain] = classifier.classify_text(text, "r", top_theme=False)
    assert default.statement != "none" and len(default.themes) == 1 and plain.themes == ()
    asked = []
    classify_text = classifier.classify_text
    classifier.classify_text = lambda *a, **k: asked.append(k.get("top_theme")) or classify_text(*a, **k)
    report_findings(classifier, text, "r")
    assert asked == [False]


def test_classifying_with_a_loaded_model_never_imports_scikit_learn():
    """Training fits scikit-learn estimators (nlpfind.estimators); a loaded model predicts with numpy, so a
    classify or a warm compare does not pay scikit-learn's second of import time."""
    import subprocess
    import sys

    code = ("import sys; from nlpfind.classify import Classifier; "
            "found = list(Classifier(sys.argv[1]).classify_text('Most staff were confident. Chronologies were weak.')); "
            "print(len(found), 'sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(REPO / "models" / "fast")], capture_output=True, text=True,
                         cwd=REPO, check=True, timeout=300)
    assert out.stdout.split() == ["2", "False"], out.stdout + out.stderr


def test_the_estimators_are_scikit_learn_estimators_of_the_inference_classes():
    from sklearn.base import clone

    from nlpfind.classify import LinearScores, MultiLabelScores
    from nlpfind.estimators import LinearHead, MultiLabelHead, SentenceFeaturizer
    from nlpfind.features import SentenceFeatures

    head = clone(LinearHead(C=2.0))
    assert head.get_params() == {"C": 2.0, "class_weight": "balanced", "random_state": 0}
    assert isinstance(head, LinearScores) and isinstance(MultiLabelHead(labels=("a",)), MultiLabelScores)
    featurizer = clone(SentenceFeaturizer(theme_term_weight=0.5))
    assert isinstance(featurizer, SentenceFeatures) and featurizer.get_params()["theme_term_weight"] == 0.5
    assert featurizer.get_params() == SentenceFeatures(theme_term_weight=0.5).get_params()
