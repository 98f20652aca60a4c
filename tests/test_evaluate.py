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
