"""Is a fine-tuned encoder's polarity loss on a whole report one of ranking or of the decision threshold?

    python eval/finetune/polarity_calibration.py RUN_DIR [RUN_DIR ...]

Each RUN_DIR is finetune.py's output (per-fold fine-tuned vectors). In `nlpfind evaluate`'s grouped folds it
keeps every sentence's held-out P(strength) + P(mixed) and P(weakness) + P(mixed): from nlpfind as shipped
(packaged MiniLM), from nlpfind with polarity read from each run's fine-tuned vectors, and from the mean of
the two (both heads fitted as usual; their probabilities averaged, as an ensemble would). For the home
framework's sentences and for each whole home report it prints, per side: average precision (no threshold),
F1 as the models decide (their own per-fold thresholds; the mean row decides by the plain argmax of the
averaged classes), and F1 at one threshold used in every fold, swept.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from evaluate_finetuned import load_arrays  # noqa: E402

from nlpfind.config import load_framework, load_train_config  # noqa: E402
from nlpfind.corpus import load_corpus  # noqa: E402
from nlpfind.evaluate import WHOLE_REPORT_MIN, evaluate  # noqa: E402

SIDES = ("strength", "weakness")
SWEEP = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)


def side_scores(preds) -> dict[str, np.ndarray]:
    """Each sentence's P(side) + P(mixed), per side, from FindingModel.predict's dicts."""
    return {side: np.array([p["polarity_scores"].get(side, 0.0) + p["polarity_scores"].get("mixed", 0.0) for p in preds])
            for side in SIDES}


def decided(preds) -> dict[str, np.ndarray]:
    """Whether each sentence was decided a strength (or mixed) / a weakness (or mixed)."""
    labels = np.array([p["polarity"] for p in preds], dtype=object)
    return {side: np.isin(labels, [side, "mixed"]) for side in SIDES}


def averaged(a, b) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The mean of two systems' polarity probabilities: its side scores and its argmax decisions."""
    classes = ("strength", "weakness", "mixed", "neutral")
    mean = np.array([[(pa["polarity_scores"].get(c, 0.0) + pb["polarity_scores"].get(c, 0.0)) / 2 for c in classes]
                     for pa, pb in zip(a, b)])
    scores = {side: mean[:, classes.index(side)] + mean[:, classes.index("mixed")] for side in SIDES}
    best = np.array(classes, dtype=object)[mean.argmax(axis=1)]
    return scores, {side: np.isin(best, [side, "mixed"]) for side in SIDES}


def main(runs: list[Path]) -> None:
    from sklearn.metrics import average_precision_score, f1_score

    config = load_train_config(None)
    framework = load_framework(config.framework)
    corpus = load_corpus(None, framework)
    sents = corpus.sentences
    by_report = {r.report: (r.framework or framework.id) for r in corpus.reports}
    home = np.array([by_report.get(s.report, framework.id) == framework.id for s in sents])
    sizes = Counter(s.report for s, h in zip(sents, home) if h)
    subsets = {framework.id: home}
    subsets.update({w: np.array([s.report == w for s in sents]) for w, n in sorted(sizes.items()) if n >= WHOLE_REPORT_MIN})
    gold = np.array([s.polarity for s in sents], dtype=object)
    truth = {side: np.isin(gold, [side, "mixed"]) for side in SIDES}

    packaged = evaluate(config=config, corpus=corpus, systems=("nlpfind",), keep_predictions=True).system("nlpfind").predictions
    systems = {"nlpfind (packaged MiniLM)": (side_scores(packaged), decided(packaged))}
    for run in runs:
        meta = json.loads((run / "predictions.json").read_text())
        if meta["data_hash"] != corpus.data_hash:
            raise SystemExit(f"{run}: made from corpus {meta['data_hash']}, the corpus is now {corpus.data_hash}")
        arrays = load_arrays(run, meta.get("save_layers") or [])

        def fold_embeddings(k: int, arrays=arrays):
            return arrays[f"fold{k}"].astype(np.float32), arrays[f"desc{k}"].astype(np.float32)

        tuned = evaluate(config=replace(config, polarity_embedding_model="minilm-tuned"), corpus=corpus, systems=("nlpfind",),
                         fold_polarity_embeddings=fold_embeddings, keep_predictions=True).system("nlpfind").predictions
        systems[f"polarity on {run.name}"] = (side_scores(tuned), decided(tuned))
        systems[f"mean of packaged and {run.name}"] = averaged(packaged, tuned)

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
