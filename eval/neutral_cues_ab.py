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

import math
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nlpfind.features as features  # noqa: E402

sys.path.insert(0, str(ROOT / "eval"))
from error_sources import NOT_A_PARTNERSHIP, config_and_corpus, held_out, subset_metrics  # noqa: E402

#: phrases of definitions, method and attribution (written from the guide's description of neutral sentences)
NEUTRAL_CUES = ("means", "is applied", "will apply", "describes", "defined as", "refers to", "we will", "will be",
                "aims to", "aim to", "how good is", "how well", "quality indicator", "quality indicators",
                "evaluation of", "said", "says", "commented", "added", "chief executive", "councillor",
                "spokesperson", "spokesman", "spokeswoman")
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
    preds, home = held_out(corpus, config, framework)
    sents = corpus.sentences
    keep = {"Scottish": home,
            "partnership documents": [h and s.partnership not in NOT_A_PARTNERSHIP for h, s in zip(home, sents)],
            "north-ayrshire-2022": [s.report == "north-ayrshire-2022" for s in sents]}
    out = {}
    for name, mask in keep.items():
        idx = [i for i, k in enumerate(mask) if k]
        if idx:
            out[name] = subset_metrics(sents, preds, idx, framework)
    return out


def main() -> None:
    _, config, framework, corpus = config_and_corpus(__doc__)
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
