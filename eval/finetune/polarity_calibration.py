"""Is a fine-tuned encoder's polarity loss on a whole report one of ranking or of the decision threshold?

    python eval/finetune/polarity_calibration.py RUN_DIR [RUN_DIR ...]

Each RUN_DIR is finetune.py's output (per-fold fine-tuned vectors). In `nlpfind evaluate`'s grouped folds it
keeps every sentence's held-out P(strength) + P(mixed) and P(weakness) + P(mixed): from nlpfind as shipped
(packaged MiniLM), from nlpfind with polarity read from each run's fine-tuned vectors, and from the mean of
the two (both heads fitted as usual; their probabilities averaged, as an ensemble would). For the home
framework's sentences and for each whole home report it prints, per side: average precision (no threshold),
F1 as the models decide (their own per-fold thresholds; the mean row decides by the plain argmax of the
averaged classes, and again as the model with `polarity_average` decides: by the mean of the two models'
thresholds, each chosen as `nlpfind train` chooses them), and F1 at one threshold used in every fold, swept.
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
from nlpfind.config import load_framework, load_train_config  # noqa: E402
from nlpfind.corpus import load_corpus  # noqa: E402
from nlpfind.evaluate import WHOLE_REPORT_MIN, evaluate  # noqa: E402

SIDES = ("strength", "weakness")
SWEEP = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)


def side_scores(preds) -> dict[str, np.ndarray]:
    """Each sentence's P(side) + P(mixed), per side, from FindingModel.predict's dicts."""
    return {side: np.array([p["polarity_scores"].get(side, 0.0) + p["polarity_scores"].get("mixed", 0.0) for p in preds])
            for side in SIDES}


def decided(labels) -> dict[str, np.ndarray]:
    """Whether each polarity label is a strength (or mixed) / a weakness (or mixed)."""
    labels = np.asarray(labels, dtype=object)
    return {side: np.isin(labels, [side, "mixed"]) for side in SIDES}


def argmax_calls(preds) -> dict[str, np.ndarray]:
    """`decided` for each sentence's most likely polarity class (no thresholds)."""
    return decided([max(p["polarity_scores"], key=p["polarity_scores"].get) for p in preds])


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

    packaged = evaluate(config=config, corpus=corpus, systems=("nlpfind",), keep_predictions=True).system("nlpfind").predictions
    systems = {"nlpfind (packaged MiniLM)": (side_scores(packaged), decided([p["polarity"] for p in packaged]))}
    for run in runs:
        _, fold_embeddings, _ = load_run(run, corpus.data_hash)
        tuned_config = replace(config, polarity_embedding_model="minilm-tuned")
        for name, cfg in ((f"polarity on {run.name}", tuned_config),
                          (f"mean of packaged and {run.name}", replace(tuned_config, polarity_average=True))):
            preds = evaluate(config=cfg, corpus=corpus, systems=("nlpfind",), fold_polarity_embeddings=fold_embeddings,
                             keep_predictions=True).system("nlpfind").predictions
            if cfg.polarity_average:  # the library's average; its scores are the mean of the two models'
                systems[f"{name}, argmax"] = (side_scores(preds), argmax_calls(preds))
                name += ", the two models' thresholds averaged"
            systems[name] = (side_scores(preds), decided([p["polarity"] for p in preds]))

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
