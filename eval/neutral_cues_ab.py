"""A/B: cue phrases of text that reports no finding (definitions, inspection method, who said what) as features.

`eval/error_sources.py` found that 12 methodology and grading-scale pages, all labelled neutral, draw 34 of the 88
Scottish strength false positives. The cue features count strength and weakness phrases only. This appends
two more columns, the log count of "neutral" phrases and whether there is one, to every sentence's features.
The change is made by wrapping `nlpfind.features.cue_counts` in this process, so the library is unchanged. It
then runs `nlpfind evaluate`'s cross-validation of nlpfind (same folds) with and without them.

Usage: python eval/neutral_cues_ab.py [--config configs/train.toml]
Prints both rows, on all Scottish sentences and on partnership documents only; nothing is written.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nlpfind.features as features  # noqa: E402
from nlpfind.config import load_framework, load_train_config  # noqa: E402
from nlpfind.corpus import load_corpus  # noqa: E402
from nlpfind.evaluate import evaluate, score  # noqa: E402

#: phrases of definitions, method and attribution (written from the guide's description of neutral sentences)
NEUTRAL_CUES = ("means", "is applied", "will apply", "describes", "defined as", "refers to", "we will", "will be",
                "aims to", "aim to", "how good is", "how well", "quality indicator", "quality indicators",
                "evaluation of", "said", "says", "commented", "added", "chief executive", "councillor",
                "spokesperson", "spokesman", "spokeswoman")
NOT_A_PARTNERSHIP = ("-", "Scotland")
KEYS = ("statement_macro_f1", "strength_f1", "weakness_f1", "themes_micro_f1")


def with_neutral_cues(original):
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(c) for c in sorted(NEUTRAL_CUES, key=len, reverse=True)) + r")\b")

    def cue_counts(texts, strength, weakness):
        base = original(texts, strength, weakness)
        extra = np.array([[math.log1p(n), float(n > 0)] for n in (len(pattern.findall(t.lower())) for t in texts)],
                         dtype=np.float32).reshape(len(texts), 2)
        return np.hstack([base, extra])

    return cue_counts


def scores(corpus, config, framework) -> dict[str, dict[str, float]]:
    preds = evaluate(config=config, corpus=corpus, systems=("nlpfind",), keep_predictions=True).system("nlpfind").predictions
    domain = {r.report: (r.framework or framework.id) for r in corpus.reports}
    sents = corpus.sentences
    home = [domain.get(s.report, framework.id) == framework.id for s in sents]
    out = {}
    for name, keep in (("Scottish", home),
                       ("partnership documents", [h and s.partnership not in NOT_A_PARTNERSHIP for h, s in zip(home, sents)])):
        idx = [i for i, k in enumerate(keep) if k]
        out[name], _, _ = score([sents[i].statement for i in idx], [preds[i]["statement"] for i in idx],
                                [sents[i].polarity for i in idx], [preds[i]["polarity"] for i in idx],
                                [tuple(sents[i].themes) for i in idx], [tuple(preds[i]["themes"]) for i in idx], framework)
    report = "north-ayrshire-2022"
    idx = [i for i, s in enumerate(sents) if s.report == report]
    if idx:
        out[report], _, _ = score([sents[i].statement for i in idx], [preds[i]["statement"] for i in idx],
                                  [sents[i].polarity for i in idx], [preds[i]["polarity"] for i in idx],
                                  [tuple(sents[i].themes) for i in idx], [tuple(preds[i]["themes"]) for i in idx], framework)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "train.toml")
    args = parser.parse_args()
    config = load_train_config(args.config)
    framework = load_framework(config.framework)
    corpus = load_corpus(None, framework)
    rows = {"as shipped": scores(corpus, config, framework)}
    features.cue_counts = with_neutral_cues(features.cue_counts)
    rows["+ neutral cues"] = scores(corpus, config, framework)
    print(f"corpus `{corpus.data_hash}`; statement / strength / weakness / themes\n")
    subsets = list(rows["as shipped"])
    print("| features | " + " | ".join(subsets) + " |\n|---|" + "---|" * len(subsets))
    for name, by_subset in rows.items():
        print(f"| {name} | " + " | ".join(" / ".join(f"{by_subset[s][k]:.3f}" for k in KEYS) for s in subsets) + " |")


if __name__ == "__main__":
    main()
