"""nlpfind evaluate's subsets: each framework's sentences, and each whole home-framework report."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace


def test_a_whole_home_report_gets_its_own_subset_row(tmp_path, monkeypatch):
    import numpy as np
    from reliability_helpers import write_corpus

    from nlpfind import evaluate as ev
    from nlpfind.config import load_framework, load_train_config
    from nlpfind.corpus import load_corpus
    from nlpfind.train import description_texts

    info = write_corpus(tmp_path / "c", keys=("glenbrae", "ardmuir", "kinloch"))
    config = load_train_config(None)
    framework = load_framework(config.framework)
    corpus = load_corpus(info["corpus"], framework, [info["reports"]])
    sizes = Counter(s.report for s in corpus.sentences)
    n = max(sizes.values())
    rng = np.random.default_rng(0)
    vectors = (rng.normal(size=(len(corpus.sentences), 8)).astype(np.float32),
               rng.normal(size=(len(description_texts(framework)), 8)).astype(np.float32))

    def whole_report_rows(minimum: int):
        monkeypatch.setattr(ev, "WHOLE_REPORT_MIN", minimum)
        result = ev.evaluate(config=config, corpus=corpus, folds=3, systems=("nlpfind",),
                             fold_embeddings=lambda _k: vectors)
        return result, [k for k in result.subset_sizes if k.startswith("report ")]

    result, rows = whole_report_rows(n)
    assert rows == [f"report {r}" for r in sorted(r for r, k in sizes.items() if k == n)] and rows
    assert all(result.subset_sizes[row] == n for row in rows)
    assert set(result.system("nlpfind").subsets[rows[0]]) == set(ev.TARGETS)
    assert f"| nlpfind | {rows[0]} | {n} |" in ev.results_markdown(result, "nlpfind evaluate", config)
    assert whole_report_rows(n + 1)[1] == []


def test_baselines_are_fitted_without_nlpfind_s_own_rules(tmp_path, monkeypatch):
    """tfidf-lr is TF-IDF + logistic regression alone: no theme terms, section priors, top-theme rule or polarity
    thresholds (issue 3's baselines), whatever the config gives nlpfind."""
    from reliability_helpers import write_corpus

    from nlpfind import evaluate as ev
    from nlpfind.config import load_framework, load_train_config
    from nlpfind.corpus import load_corpus

    info = write_corpus(tmp_path / "c", keys=("glenbrae", "ardmuir", "kinloch"))
    config = load_train_config(None)
    assert config.theme_term_weight > 0 and config.section_prior > 1 and config.polarity_thresholds
    corpus = load_corpus(info["corpus"], load_framework(config.framework), [info["reports"]])
    seen = []
    fit = ev.fit_model

    def spy(*args, **kwargs):
        seen.append((args[6], fit(*args, **kwargs)))
        return seen[-1][1]

    monkeypatch.setattr(ev, "fit_model", spy)
    ev.evaluate(config=replace(config, embedding_weight=0.0, similarity_weight=0.0), corpus=corpus, folds=3,
                systems=("tfidf-lr",))
    cfg, model = seen[0]
    assert (cfg.theme_term_weight, cfg.section_prior, cfg.top_theme_for_findings) == (0.0, 1.0, False)
    assert model.featurizer.theme_only_columns == 0
    assert not cfg.polarity_thresholds and "polarity_thresholds" not in model.meta


def _random_predictions(n: int, seed: int):
    import numpy as np

    rng = np.random.default_rng(seed)
    statements = ["1", "2", "3", "4", "none"]
    polarities = ["strength", "weakness", "mixed", "neutral"]
    themes = ["chronologies", "advocacy", "mental-health"]

    def draw_themes():
        return [tuple(t for t in themes if rng.random() < 0.3) for _ in range(n)]

    return (list(rng.choice(statements, n)), list(rng.choice(statements, n)), list(rng.choice(polarities, n)),
            list(rng.choice(polarities, n)), draw_themes(), draw_themes())


def test_metric_counts_give_the_scores_of_score():
    """The bootstrap sums per-sentence counts instead of re-scoring: the sums must give `score`'s numbers, on
    the whole set and on a subset (a resample is a weighted subset)."""
    import numpy as np
    import pytest

    from nlpfind import evaluate as ev
    from nlpfind.config import load_framework

    framework = load_framework("carh")
    preds = _random_predictions(400, seed=1)
    counts = ev.metric_counts(*preds, framework)
    for rows in (np.arange(400), np.arange(0, 400, 7)):
        expected = ev.score(*([x[i] for i in rows] for x in preds), framework)[0]
        got = ev.metrics_from_counts(counts[rows].sum(axis=0))
        assert set(got) == set(expected)
        for key, value in expected.items():
            assert float(got[key]) == pytest.approx(value, abs=1e-12), key


def test_bootstrap_resamples_whole_units_reproducibly():
    import numpy as np

    from nlpfind import evaluate as ev

    units = ["a"] * 5 + ["b"] * 3 + ["c"] * 4
    weights, index = ev.bootstrap_weights(units, resamples=200, seed=3)
    assert weights.shape == (200, 3) and (weights.sum(axis=1) == 3).all()
    assert list(index) == [0] * 5 + [1] * 3 + [2] * 4
    again, _ = ev.bootstrap_weights(units, resamples=200, seed=3)
    assert (again == weights).all()  # the same draws for every system: paired differences
    assert not (ev.bootstrap_weights(units, resamples=200, seed=4)[0] == weights).all()
    # a unit drawn twice counts its sentences twice
    counts = np.eye(12)[:, :1].repeat(21, axis=1)  # sentence 0 (unit a) has a count of one in every column
    summed = weights @ np.vstack([counts[index == k].sum(axis=0) for k in range(3)])
    assert (summed[:, 0] == weights[:, 0]).all()


def test_intervals_hold_the_estimate_and_widen_when_errors_cluster():
    """Errors that come by partnership (two partnerships' polarities all wrong) make the metric vary more between
    resamples of partnerships than between resamples of sentences: the reason the headline resamples partnerships."""

    from nlpfind import evaluate as ev
    from nlpfind.config import load_framework

    framework = load_framework("carh")
    st_true, _, pol_true, _, th_true, _ = _random_predictions(600, seed=2)
    unit = [str(i // 100) for i in range(600)]  # six partnerships of 100 sentences
    flip = {"strength": "neutral", "weakness": "neutral", "mixed": "neutral", "neutral": "strength"}
    wrong = [u in ("0", "1") for u in unit]  # two partnerships' polarities all wrong, the rest all right
    pol_pred = [flip[p] if w else p for p, w in zip(pol_true, wrong)]
    counts = ev.metric_counts(st_true, st_true, pol_true, pol_pred, th_true, th_true, framework)
    point = ev.metrics_from_counts(counts.sum(axis=0))
    by_sentence = ev.bootstrap_metrics(counts, *ev.bootstrap_weights([str(i) for i in range(600)]))
    by_unit = ev.bootstrap_metrics(counts, *ev.bootstrap_weights(unit))
    for key in ("strength_f1", "weakness_f1"):
        lo, hi = ev.interval(by_sentence[key])
        ulo, uhi = ev.interval(by_unit[key])
        assert lo < float(point[key]) < hi and ulo < float(point[key]) < uhi
        assert uhi - ulo > 2 * (hi - lo)
    for key in ("statement_macro_f1", "themes_micro_f1"):  # predicted perfectly: no spread at all
        assert ev.interval(by_unit[key]) == (1.0, 1.0)


def test_evaluate_reports_intervals_and_paired_differences(tmp_path):
    import numpy as np
    from reliability_helpers import write_corpus

    from nlpfind import evaluate as ev
    from nlpfind.config import load_framework, load_train_config
    from nlpfind.corpus import load_corpus
    from nlpfind.train import description_texts

    info = write_corpus(tmp_path / "c", keys=("glenbrae", "ardmuir", "kinloch"))
    config = load_train_config(None)
    framework = load_framework(config.framework)
    corpus = load_corpus(info["corpus"], framework, [info["reports"]])
    rng = np.random.default_rng(0)
    vectors = (rng.normal(size=(len(corpus.sentences), 8)).astype(np.float32),
               rng.normal(size=(len(description_texts(framework)), 8)).astype(np.float32))
    result = ev.evaluate(config=config, corpus=corpus, folds=3, systems=("majority", "nlpfind"),
                         fold_embeddings=lambda _k: vectors)
    nlpfind, majority = result.system("nlpfind"), result.system("majority")
    assert set(nlpfind.intervals) == set(result.subset_sizes) == set(result.interval_units)
    # three partnerships: too few to resample by partnership, so sentences are resampled
    assert result.interval_units[result.primary] == ("sentences", result.subset_sizes[result.primary])
    for key in ev.TARGETS:
        lo, hi = nlpfind.intervals[result.primary][key]
        assert 0.0 <= lo <= hi <= 1.0
        diff, dlo, dhi = nlpfind.versus["majority"][key]
        assert diff == nlpfind.metrics[key] - majority.metrics[key] and dlo <= dhi
    assert majority.versus == {}
    text = ev.results_markdown(result, "nlpfind evaluate", config)
    assert "95% intervals (bootstrap" in text and "paired 95% interval" in text


def test_statement_macro_f1_of_a_resample_averages_the_statements_it_has():
    """A resample without any statement-3 sentence (possible when one partnership holds most of them) averages
    the other three, not a zero for statement 3; where all four occur it is scikit-learn's macro-F1."""
    import pytest

    from nlpfind import evaluate as ev
    from nlpfind.config import load_framework

    framework = load_framework("carh")
    truth = ["1", "1", "2", "4", "none", "2"]
    pred = ["1", "2", "2", "4", "none", "2"]
    pol, themes = ["neutral"] * 6, [()] * 6
    counts = ev.metric_counts(truth, pred, pol, pol, themes, themes, framework)
    got = float(ev.metrics_from_counts(counts.sum(axis=0))["statement_macro_f1"])
    assert got == pytest.approx((2 / 3 + 0.8 + 1.0) / 3)
    sklearn_four = ev.score(truth, pred, pol, pol, themes, themes, framework)[0]["statement_macro_f1"]
    assert sklearn_four == pytest.approx((2 / 3 + 0.8 + 1.0 + 0.0) / 4)
