"""Experiment: can the fast (static) model learn from the MiniLM model's labels of unlabelled text?

In each fold of `nlpfind evaluate`'s grouped cross-validation: the MiniLM model (configs/train.toml,
the teacher) is fitted on the training folds and labels N unlabelled Ofsted sentences (none of them
in the labelled corpus); the static model (configs/train-fast.toml, the student) is fitted on the
training folds plus those sentences (weight W). Teacher, student and the plain static model are
scored on the test folds. Measured result: eval/RESULTS.md (sentence-model notes).

Usage: python eval/bench/pseudo_label_static.py [N=6000] [W=0.5]   (about 3 minutes on 2 cores)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
STARTED = time.time()


def say(message: str) -> None:
    print(f"[{time.time() - STARTED:.0f}s] {message}", flush=True)


def fit(inputs, emb, statements, polarities, themes, framework, config, desc, weights):
    """nlpfind.train.fit_model with explicit sample weights (the pseudo-labelled sentences get W)."""
    from nlpfind.classify import FindingModel
    from nlpfind.estimators import LinearHead, MultiLabelHead
    from nlpfind.train import make_featurizer

    featurizer = make_featurizer(config, framework, desc)
    X = featurizer.fit_transform((list(inputs), emb))
    heads = [LinearHead(C=c, class_weight="balanced", random_state=config.seed).fit(X, list(y), weights)
             for c, y in ((config.C_statement, statements), (config.C_polarity, polarities))]
    theme_head = MultiLabelHead(labels=framework.theme_ids, C=config.C_themes, threshold=config.theme_threshold,
                                random_state=config.seed).fit(X, [list(t) for t in themes], weights)
    return FindingModel(framework.id, framework.statement_labels, framework.theme_ids, featurizer, *heads, theme_head,
                        config.embedding_model, {"section_prior": config.section_prior,
                                                 "section_polarity_prior": config.section_polarity_prior})


def unlabelled_pool(labelled: set[str], size: int, framework, ilacs) -> list:
    """`size` distinct Ofsted sentences (model inputs) that are not in the labelled corpus."""
    from nlpfind.features import SentenceInput
    from nlpfind.quantify import QuantifierTagger
    from nlpfind.read import read_document
    from nlpfind.segment import segment

    seen: dict[str, object] = {}
    for pdf in sorted((ROOT.parent / "shared/corpus/ofsted-ilacs").glob("*.pdf")):
        for s in segment(read_document(pdf).text, ilacs):
            if s.clean not in labelled:
                seen.setdefault(s.clean, s)
    sentences = list(seen.values())
    chosen = np.random.default_rng(0).choice(len(sentences), size=min(size, len(sentences)), replace=False)
    pool = [sentences[i] for i in sorted(chosen)]
    found = QuantifierTagger(framework).find_many([s.clean for s in pool])
    return [SentenceInput(s.clean, framework.without_grades(s.section), s.statement_section, s.in_finding_section,
                          tuple(f[2] for f in fs), framework.section_polarity(s.section)) for s, fs in zip(pool, found)]


def main() -> None:
    from sklearn.model_selection import GroupKFold

    from nlpfind.config import load_framework, load_train_config
    from nlpfind.corpus import load_corpus
    from nlpfind.evaluate import score
    from nlpfind.train import description_texts, embed_texts, inputs_for

    size = int(sys.argv[1]) if len(sys.argv) > 1 else 6000
    pool_weight = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5
    teacher_cfg = load_train_config(ROOT / "configs/train.toml")
    student_cfg = load_train_config(ROOT / "configs/train-fast.toml")
    framework, ilacs = load_framework("carh"), load_framework("ilacs")
    corpus = load_corpus(None, framework, None)
    sents = corpus.sentences
    inputs = inputs_for(sents, framework)
    texts = [i.text for i in inputs]
    statements = np.array([s.statement for s in sents])
    polarities = np.array([s.polarity for s in sents])
    themes = [tuple(s.themes) for s in sents]
    by_report = {r.report: (r.framework or framework.id) for r in corpus.reports}
    domain = np.array([by_report.get(s.report, framework.id) for s in sents])
    home = domain == framework.id
    emb = {m: (embed_texts(texts, m), embed_texts(description_texts(framework), m)) for m in ("minilm", "static")}
    pool = unlabelled_pool(set(texts), size, framework, ilacs)
    pool_emb = {m: embed_texts([p.text for p in pool], m) for m in ("minilm", "static")}
    say(f"{len(sents)} labelled sentences, {len(pool)} unlabelled")
    preds: dict[str, list] = {k: [None] * len(sents) for k in ("teacher", "student", "static")}
    for fold, (tr, te) in enumerate(GroupKFold(n_splits=5).split(inputs, groups=[s.partnership for s in sents])):
        train_in, test_in = [inputs[i] for i in tr], [inputs[i] for i in te]
        labels = (statements[tr], polarities[tr], [themes[i] for i in tr])
        weights = np.where(home[tr], teacher_cfg.home_weight, 1.0)
        teacher = fit(train_in, emb["minilm"][0][tr], *labels, framework, teacher_cfg, emb["minilm"][1], weights)
        taught = teacher.predict(pool, pool_emb["minilm"])
        static = fit(train_in, emb["static"][0][tr], *labels, framework, student_cfg, emb["static"][1], weights)
        student = fit(train_in + pool, np.vstack([emb["static"][0][tr], pool_emb["static"]]),
                      list(labels[0]) + [p["statement"] for p in taught], list(labels[1]) + [p["polarity"] for p in taught],
                      labels[2] + [p["themes"] for p in taught], framework, student_cfg, emb["static"][1],
                      np.concatenate([weights, np.full(len(pool), pool_weight)]))
        for name, model, vectors in (("teacher", teacher, emb["minilm"][0]), ("student", student, emb["static"][0]),
                                     ("static", static, emb["static"][0])):
            for i, p in zip(te, model.predict(test_in, vectors[te])):
                preds[name][i] = p
        say(f"fold {fold} done")
    for subset in ("carh", "ilacs"):
        idx = np.flatnonzero(domain == subset)
        for name, p in preds.items():
            metrics, _, _ = score(list(statements[idx]), [p[i]["statement"] for i in idx], list(polarities[idx]),
                                  [p[i]["polarity"] for i in idx], [themes[i] for i in idx], [p[i]["themes"] for i in idx],
                                  framework)
            print(subset, name, {k: round(v, 3) for k, v in metrics.items()})


if __name__ == "__main__":
    main()
