"""Is a fine-tuned encoder's polarity loss on a whole report one of ranking or of the decision threshold?

    python eval/finetune/polarity_calibration.py RUN_DIR [RUN_DIR ...]

Each RUN_DIR is finetune.py's output (per-fold fine-tuned vectors). In `nlpfind evaluate`'s grouped folds it
keeps every sentence's held-out P(strength) + P(mixed) and P(weakness) + P(mixed): from nlpfind as shipped
(packaged MiniLM), from nlpfind with polarity read from each run's fine-tuned vectors, and from the mean of
the two (both heads fitted as usual; their probabilities averaged, as an ensemble would). For the home
framework's sentences and for each whole home report it prints, per side: average precision (no threshold),
F1 as the models decide (their own per-fold thresholds; the mean row decides by the plain argmax of the
averaged classes, and again by the mean of the two models' thresholds in each fold, each chosen as
`nlpfind train` chooses them), and F1 at one threshold used in every fold, swept.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from evaluate_finetuned import load_run  # noqa: E402

import nlpfind.train as train_module  # noqa: E402
from nlpfind.classify import decide_polarity  # noqa: E402
from nlpfind.config import load_framework, load_train_config  # noqa: E402
from nlpfind.corpus import load_corpus  # noqa: E402
from nlpfind.evaluate import WHOLE_REPORT_MIN, evaluate  # noqa: E402

SIDES = ("strength", "weakness")
SWEEP = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)
CLASSES = ("strength", "weakness", "mixed", "neutral")


def side_scores(preds) -> dict[str, np.ndarray]:
    """Each sentence's P(side) + P(mixed), per side, from FindingModel.predict's dicts."""
    return {side: np.array([p["polarity_scores"].get(side, 0.0) + p["polarity_scores"].get("mixed", 0.0) for p in preds])
            for side in SIDES}


def decided(labels) -> dict[str, np.ndarray]:
    """Whether each polarity label is a strength (or mixed) / a weakness (or mixed)."""
    labels = np.asarray(labels, dtype=object)
    return {side: np.isin(labels, [side, "mixed"]) for side in SIDES}


def averaged(a, b, thresholds: list[dict] | None = None, fold_of: np.ndarray | None = None):
    """The mean of two systems' polarity probabilities: its side scores and its decisions, by argmax or, given
    each sentence's fold and the per-fold thresholds, by `decide_polarity` as a model decides."""
    mean = np.array([[(pa["polarity_scores"].get(c, 0.0) + pb["polarity_scores"].get(c, 0.0)) / 2 for c in CLASSES]
                     for pa, pb in zip(a, b)])
    scores = {side: mean[:, CLASSES.index(side)] + mean[:, CLASSES.index("mixed")] for side in SIDES}
    if thresholds is None:
        labels = np.array(CLASSES, dtype=object)[mean.argmax(axis=1)]
    else:
        labels = np.empty(len(mean), dtype=object)
        for k, t in enumerate(thresholds):
            rows = np.flatnonzero(fold_of == k)
            labels[rows] = decide_polarity(mean[rows], CLASSES, t)
    return scores, decided(labels)


def recording_thresholds() -> list[dict]:
    """Make `nlpfind.train` record every polarity threshold pair it chooses (one per fold in an evaluate of
    nlpfind alone), in order."""
    chosen: list[dict] = []
    choose = train_module.choose_polarity_thresholds

    def choose_and_record(*args, **kwargs):
        out = choose(*args, **kwargs)
        chosen.append(out)
        return out

    train_module.choose_polarity_thresholds = choose_and_record
    return chosen


def main(runs: list[Path]) -> None:
    from sklearn.metrics import average_precision_score, f1_score

    config = load_train_config(None)
    framework = load_framework(config.framework)
    corpus = load_corpus(None, framework)
    sents = corpus.sentences
    home = np.array(train_module.home_mask(corpus, framework))
    sizes = Counter(s.report for s, h in zip(sents, home) if h)
    subsets = {framework.id: home}
    subsets.update({w: np.array([s.report == w for s in sents]) for w, n in sorted(sizes.items()) if n >= WHOLE_REPORT_MIN})
    gold = np.array([s.polarity for s in sents], dtype=object)
    truth = {side: np.isin(gold, [side, "mixed"]) for side in SIDES}

    from sklearn.model_selection import GroupKFold

    groups = [s.partnership for s in sents]
    fold_of = np.empty(len(sents), dtype=int)  # evaluate's folds: GroupKFold over partnerships, as there
    for k, (_, test) in enumerate(GroupKFold(n_splits=5).split(np.zeros(len(sents)), groups=groups)):
        fold_of[test] = k
    chosen = recording_thresholds()
    packaged = evaluate(config=config, corpus=corpus, systems=("nlpfind",), keep_predictions=True).system("nlpfind").predictions
    packaged_thresholds = chosen[:]
    systems = {"nlpfind (packaged MiniLM)": (side_scores(packaged), decided([p["polarity"] for p in packaged]))}
    for run in runs:
        _, fold_embeddings, _ = load_run(run, corpus.data_hash)
        chosen.clear()
        tuned = evaluate(config=replace(config, polarity_embedding_model="minilm-tuned"), corpus=corpus, systems=("nlpfind",),
                         fold_polarity_embeddings=fold_embeddings, keep_predictions=True).system("nlpfind").predictions
        if len(chosen) != len(packaged_thresholds) or len(chosen) != fold_of.max() + 1:
            raise SystemExit(f"expected one threshold pair per fold, got {len(packaged_thresholds)} and {len(chosen)}")
        mean_thresholds = [{side: (a[side] + b[side]) / 2 for side in SIDES} for a, b in zip(packaged_thresholds, chosen)]
        systems[f"polarity on {run.name}"] = (side_scores(tuned), decided([p["polarity"] for p in tuned]))
        systems[f"mean of packaged and {run.name}, argmax"] = averaged(packaged, tuned)
        systems[f"mean of packaged and {run.name}, the two models' thresholds averaged"] = averaged(
            packaged, tuned, mean_thresholds, fold_of)
        print(f"thresholds per fold (strength, weakness): packaged {[tuple(t.values()) for t in packaged_thresholds]}, "
              f"{run.name} {[tuple(t.values()) for t in chosen]}")

    for name, (scores, calls) in systems.items():
        print(f"== {name}")
        for sub, rows in subsets.items():
            for side in SIDES:
                y, s = truth[side][rows], scores[side][rows]
                sweep = " ".join(f"{t:.2f}:{f1_score(y, s >= t):.3f}" for t in SWEEP)
                print(f"  {sub} {side}: AP {average_precision_score(y, s):.3f}, F1 as decided "
                      f"{f1_score(y, calls[side][rows]):.3f}; at one threshold {sweep}")


if __name__ == "__main__":
    main([Path(a) for a in sys.argv[1:]])
