"""Cross-validate a tuned config (a polarity model on the fine-tuned encoder) as `nlpfind evaluate` would, with the
encoder fine-tuned per fold by finetune.py, beside the default config in the same folds.

    python eval/finetune/evaluate_tuned.py RUN_DIR [RUN_DIR ...] [--config configs/train-tuned.toml] [--write]

Each fold's polarity model reads the vectors of the encoder fine-tuned on that fold's training sentences only
(RUN_DIR, from `finetune.py ... --no-final`), made beforehand, so several runs (seeds, recipes, a GPU's) can be
compared on the same folds with paired gaps. Since 2026-12-07 `nlpfind evaluate --config configs/train-tuned.toml`
fine-tunes per fold itself (`polarity_finetune_layers`); this script stays for runs made outside nlpfind. Prints
statement / strength / weakness / themes per subset (the home framework, each whole home report, the other
frameworks) for the default config and for the tuned config on each run; --write puts the table into
eval/RESULTS.md (section `tuned`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "eval" / "finetune"))
sys.path.insert(0, str(ROOT / "eval"))

from evaluate_finetuned import load_run, publish  # noqa: E402
from fast_gap import KEYS, gap_rows  # noqa: E402

from nlpfind.config import load_framework, load_train_config  # noqa: E402
from nlpfind.corpus import load_corpus  # noqa: E402
from nlpfind.evaluate import evaluate  # noqa: E402


def row(name: str, subsets: dict) -> str:
    cells = [" / ".join(f"{subsets[sub][k]:.3f}" for k in KEYS) for sub in subsets if sub != "all"]
    return f"| {name} | " + " | ".join(cells) + " |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", type=Path, nargs="+")
    ap.add_argument("--config", type=Path, default=ROOT / "configs" / "train-tuned.toml")
    ap.add_argument("--write", action="store_true", help="put the table into eval/RESULTS.md (section `tuned`)")
    args = ap.parse_args()
    tuned_config = load_train_config(args.config)
    if not tuned_config.separate_polarity:
        raise SystemExit(f"{args.config}: has no polarity model on another encoder (polarity_embedding_model)")
    default = load_train_config(None)
    framework = load_framework(default.framework)
    corpus = load_corpus(None, framework)
    t0 = time.time()
    base_result = evaluate(config=default, corpus=corpus, systems=("nlpfind",))
    base = base_result.system("nlpfind").subsets
    gap_subsets = [k for k in base_result.subset_sizes if k != "all"]
    gaps = []
    config_name = args.config.relative_to(ROOT) if args.config.resolve().is_relative_to(ROOT) else args.config
    lines = [f"## `{config_name}` cross-validated with the encoder fine-tuned per fold", "",
             f"`python eval/finetune/evaluate_tuned.py {' '.join('RUN' for _ in args.runs)} --config {config_name}` on "
             f"corpus `{corpus.data_hash}`, the folds of `nlpfind evaluate`. In each fold the polarity model reads the "
             "vectors of the encoder fine-tuned on that fold's training sentences only (`finetune.py ... --no-final`); "
             "everything else is fitted as `nlpfind evaluate` fits it. Cells: statement macro-F1 / strength F1 / "
             "weakness F1 / themes micro-F1.", "",
             "| system | " + " | ".join(sub for sub in base if sub != "all") + " |",
             "|---|" + "---|" * (len(base) - 1), row("nlpfind, configs/train.toml (packaged MiniLM)", base)]
    print("\n".join(lines), file=sys.stderr, flush=True)  # progress; publish() prints the section
    runs = []
    for run in args.runs:
        meta, fold_embeddings, _ = load_run(run, corpus.data_hash)
        tuned_result = evaluate(config=tuned_config, corpus=corpus, systems=("nlpfind",),
                                fold_polarity_embeddings=fold_embeddings).system("nlpfind")
        tuned = tuned_result.subsets
        gaps += [f"| run {len(runs) + 1}, {r[2:]}" for r in gap_rows(corpus, framework.id, base_result.system("nlpfind"),
                                                                      tuned_result, gap_subsets)]
        lines.append(row(f"nlpfind, `{config_name}`, encoder fine-tuned per fold: run {len(runs) + 1}", tuned))
        print(lines[-1], file=sys.stderr, flush=True)
        settings = {k: meta.get(k) for k in ("epochs", "tasks", "train_top", "encoder_lr", "seed", "device", "torch")}
        runs.append(f"run {len(runs) + 1}: {json.dumps(settings)}, seconds per fold "
                    + ", ".join(str(x["seconds"]) for x in meta["log"]))
    lines += ["", f"Paired gaps, `{config_name}` minus `configs/train.toml`, with 95% intervals by a paired bootstrap "
              "of partnerships (of sentences, for a whole report), as `eval/fast_gap.py` computes them:", "",
              "| run, subset | resampled | " + " | ".join(KEYS) + " |", "|---|---|" + "---|" * len(KEYS), *gaps,
              "", "Runs (finetune.py settings): " + "; ".join(runs) + ".", ""]
    publish(lines, t0, "tuned", args.write)


if __name__ == "__main__":
    main()
