"""Where nlpfind's held-out errors on the Scottish sentences come from: partnership documents or the rest.

The Scottish (`carh`) subset that the targets are scored on mixes the documents nlpfind is for (reports,
news releases and summaries about one partnership) with methodology and grading-scale pages that name no
partnership (manifest `partnership` "-" or "Scotland"). The guide labels every sentence of those pages
neutral: they describe inspections and grades, they report no finding. This splits `nlpfind evaluate`'s
held-out predictions (same folds, same config) into the two groups and counts where the strength and
weakness false positives fall. The headline stays on all Scottish sentences, as the targets are set.

Usage: python eval/error_sources.py [--config configs/train.toml]
Prints a markdown table; nothing is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nlpfind.config import load_framework, load_train_config  # noqa: E402
from nlpfind.corpus import load_corpus  # noqa: E402
from nlpfind.evaluate import evaluate, score  # noqa: E402
from nlpfind.train import home_mask  # noqa: E402

#: manifest `partnership` values of documents about no partnership (national pages, grading scales)
NOT_A_PARTNERSHIP = ("-", "Scotland")


def subset_metrics(sents, preds, idx, framework) -> dict[str, float]:
    """`nlpfind evaluate`'s four metrics on the sentences at `idx` (held-out predictions `preds`)."""
    metrics, _, _ = score([sents[i].statement for i in idx], [preds[i]["statement"] for i in idx],
                          [sents[i].polarity for i in idx], [preds[i]["polarity"] for i in idx],
                          [tuple(sents[i].themes) for i in idx], [tuple(preds[i]["themes"]) for i in idx], framework)
    return metrics


def side_counts(gold: np.ndarray, pred: np.ndarray, side: str) -> tuple[int, int, int]:
    """True positives, false positives and false negatives of one binary side (mixed counts for both)."""
    g, p = np.isin(gold, (side, "mixed")), np.isin(pred, (side, "mixed"))
    return int((g & p).sum()), int((~g & p).sum()), int((g & ~p).sum())


def held_out(corpus, config, framework) -> tuple[list[dict], np.ndarray]:
    """nlpfind's held-out predictions in `nlpfind evaluate`'s folds, and which sentences are the framework's own."""
    preds = evaluate(config=config, corpus=corpus, systems=("nlpfind",), keep_predictions=True,
                     progress=lambda m: print(m, file=sys.stderr)).system("nlpfind").predictions
    return preds, np.array(home_mask(corpus, framework))


def config_and_corpus(description: str):
    """The command line's `--config` (default configs/train.toml) read, with its framework and the labelled corpus."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "train.toml")
    args = parser.parse_args()
    config = load_train_config(args.config)
    framework = load_framework(config.framework)
    return args, config, framework, load_corpus(None, framework)


def main() -> None:
    args, config, framework, corpus = config_and_corpus(__doc__)
    preds, home = held_out(corpus, config, framework)
    sents = corpus.sentences
    national = np.array([s.partnership in NOT_A_PARTNERSHIP for s in sents])
    gold_pol = np.array([s.polarity for s in sents])
    pred_pol = np.array([p["polarity"] for p in preds])
    groups = {"all Scottish (the headline)": home, "partnership documents": home & ~national,
              "methodology and grading pages": home & national}
    print(f"`python eval/error_sources.py --config {args.config.relative_to(ROOT) if args.config.is_absolute() else args.config}`"
          f" (corpus `{corpus.data_hash}`)\n")
    print("| sentences | n | documents | gold strength / weakness / mixed | statement_macro_f1 | strength_f1 | "
          "weakness_f1 | themes_micro_f1 | strength FP | weakness FP |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, mask in groups.items():
        idx = np.flatnonzero(mask)
        metrics = subset_metrics(sents, preds, idx, framework)
        gold = [int((gold_pol[idx] == lab).sum()) for lab in ("strength", "weakness", "mixed")]
        counts = {side: side_counts(gold_pol[idx], pred_pol[idx], side) for side in ("strength", "weakness")}
        # An F1 with nothing to find is undefined, not 0: every sentence of the national pages is neutral and "none".
        defined = {"statement_macro_f1": any(sents[i].statement in framework.statement_ids for i in idx),
                   "strength_f1": sum(counts["strength"][::2]) > 0, "weakness_f1": sum(counts["weakness"][::2]) > 0,
                   "themes_micro_f1": any(sents[i].themes for i in idx)}
        docs = len({sents[i].report for i in idx})
        print(f"| {name} | {len(idx)} | {docs} | {' / '.join(map(str, gold))} | "
              + " | ".join(f"{metrics[k]:.3f}" if defined[k] else "n/a" for k in defined)
              + f" | {counts['strength'][1]} | {counts['weakness'][1]} |")


if __name__ == "__main__":
    main()
