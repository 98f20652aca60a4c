"""How sure the first pass must be to keep its finding: `first_pass_confidence`, swept on the grouped CV.

    python eval/first_pass_sweep.py [--first configs/train-fast.toml] [--second configs/train.toml]

Cross-validates both configs once on `nlpfind evaluate`'s folds, keeping each sentence's held-out prediction,
then for each threshold keeps the first pass's prediction where its most likely statement and polarity both
reach it (`nlpfind.classify.unsure_rows`, what a model with a first pass does) and takes the second model's
elsewhere. Prints, per threshold, the share of sentences sent on and the scores (statement / strength / weakness
/ themes) on the home framework's sentences and on each whole home report. The speed column is an estimate from
the last bench's warm rates (`--rates FIRST SECOND`, sentences/s): 1 / (1/first + share x (1/second - 1/first)).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nlpfind.classify import unsure_rows  # noqa: E402
from nlpfind.config import load_framework, load_train_config  # noqa: E402
from nlpfind.corpus import load_corpus  # noqa: E402
from nlpfind.evaluate import WHOLE_REPORT_MIN, evaluate, score  # noqa: E402

KEYS = ("statement_macro_f1", "strength_f1", "weakness_f1", "themes_micro_f1")
THRESHOLDS = (0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", default="configs/train-fast.toml")
    parser.add_argument("--second", default="configs/train.toml")
    parser.add_argument("--rates", nargs=2, type=float, default=(6858.0, 507.0), metavar=("FIRST", "SECOND"))
    args = parser.parse_args()
    first_config, second_config = load_train_config(ROOT / args.first), load_train_config(ROOT / args.second)
    framework = load_framework(second_config.framework)
    corpus = load_corpus(None, framework)
    runs = [evaluate(config=c, corpus=corpus, systems=("nlpfind",), keep_predictions=True).system("nlpfind").predictions
            for c in (first_config, second_config)]
    first, second = runs
    sents = corpus.sentences
    framework_of = {r.report: (r.framework or framework.id) for r in corpus.reports}
    home = np.array([framework_of.get(s.report, framework.id) == framework.id for s in sents])
    sizes = Counter(s.report for s, h in zip(sents, home) if h)
    whole = sorted(r for r, n in sizes.items() if n >= WHOLE_REPORT_MIN)  # evaluate's whole-report subsets
    subsets = {framework.id: home, **{w: np.array([s.report == w for s in sents]) for w in whole}}

    def metrics(preds, mask) -> str:
        idx = np.flatnonzero(mask)
        m, _, _ = score([sents[i].statement for i in idx], [preds[i]["statement"] for i in idx],
                        [sents[i].polarity for i in idx], [preds[i]["polarity"] for i in idx],
                        [tuple(sents[i].themes) for i in idx], [preds[i]["themes"] for i in idx], framework)
        return " / ".join(f"{m[k]:.3f}" for k in KEYS)

    fast, slow = args.rates
    print("| first_pass_confidence | sent on | est. sentences/s | " + " | ".join(subsets) + " |")
    print("|---|---|---|" + "---|" * len(subsets))
    print(f"| (first pass alone) | 0% | {fast:.0f} | " + " | ".join(metrics(first, m) for m in subsets.values()) + " |")
    for t in THRESHOLDS:
        unsure = set(unsure_rows(first, t))
        merged = [second[i] if i in unsure else first[i] for i in range(len(sents))]
        share = len(unsure) / len(sents)
        rate = 1 / (1 / fast + share * (1 / slow - 1 / fast))
        print(f"| {t} | {share:.0%} | {rate:.0f} | " + " | ".join(metrics(merged, m) for m in subsets.values()) + " |")
    print(f"| (second model alone) | 100% | {slow:.0f} | " + " | ".join(metrics(second, m) for m in subsets.values()) + " |")


if __name__ == "__main__":
    main()
