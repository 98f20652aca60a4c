"""Score encoders fine-tuned per fold (finetune.py's output) inside nlpfind's grouped CV.

    python eval/finetune/evaluate_finetuned.py RUN_DIR [--write]

RUN_DIR holds fold_embeddings.npz and predictions.json from a GPU run of finetune.py on the data
export.py wrote. One run, same folds: the usual systems (packaged MiniLM), then minilm-lr and
nlpfind with each fold's fine-tuned embeddings, and the fine-tuned network's own heads.
--write puts the table into eval/RESULTS.md (section `finetune`).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from nlpfind.config import load_framework, load_train_config  # noqa: E402
from nlpfind.corpus import load_corpus  # noqa: E402
from nlpfind.evaluate import evaluate, score, update_results_file  # noqa: E402

KEYS = ("strength_f1", "weakness_f1", "statement_macro_f1", "themes_micro_f1")


def main(run: Path, write: bool) -> None:
    config = load_train_config(None)
    framework = load_framework(config.framework)
    corpus = load_corpus(None, framework)
    run_meta = json.loads((run / "predictions.json").read_text())
    if run_meta["data_hash"] != corpus.data_hash:
        raise SystemExit(f"{run}: made from corpus {run_meta['data_hash']}, the corpus is now {corpus.data_hash}")
    arrays = np.load(run / "fold_embeddings.npz")

    def fold_embeddings(k: int):
        return arrays[f"fold{k}"].astype(np.float32), arrays[f"desc{k}"].astype(np.float32)

    t0 = time.time()
    base = evaluate(config=config, corpus=corpus)
    tuned = evaluate(config=config, corpus=corpus, systems=("minilm-lr", "nlpfind"), fold_embeddings=fold_embeddings)
    rows = [(f"{s.name} (packaged MiniLM)", s.subsets) for s in base.systems]
    rows += [(f"{s.name} (fine-tuned per fold)", s.subsets) for s in tuned.systems]
    sents = corpus.sentences
    by_report = {r.report: (r.framework or framework.id) for r in corpus.reports}
    dom = [by_report.get(s.report, framework.id) for s in sents]
    P = run_meta["predictions"]
    heads = {}
    for d in sorted(set(dom)):
        idx = [i for i, x in enumerate(dom) if x == d]
        heads[d] = score([sents[i].statement for i in idx], [P["statement"][i] for i in idx],
                         [sents[i].polarity for i in idx], [P["polarity"][i] for i in idx],
                         [list(sents[i].themes) for i in idx], [P["themes"][i] for i in idx], framework)[0]
    rows.append(("fine-tuned network's own heads (sentence text only)", heads))
    lines = ["## Fine-tuning the encoder (GPU), inside the same grouped cross-validation", "",
             f"Commands: `python eval/finetune/export.py`; on the lent GPU ({run_meta.get('device')}, torch "
             f"{run_meta.get('torch')}): `python eval/finetune/finetune.py --data .gpu --out RUN --epochs "
             f"{run_meta.get('epochs')}`; here: `python eval/finetune/evaluate_finetuned.py RUN --write`.", "",
             f"Corpus `{corpus.data_hash}`, {len(sents)} sentences, {base.folds} folds grouped by partnership. In each "
             "fold the encoder was fine-tuned (statement, polarity and theme heads, one summed loss) on the training "
             "folds only, then embedded every sentence; nlpfind's own features and heads were then fitted as usual "
             "on those embeddings. GPU seconds per fold: "
             + ", ".join(str(x["seconds"]) for x in run_meta["log"]) + ".", ""]
    for d in ("carh", "ilacs"):
        lines += [f"**{d}** sentences:", "", "| system | " + " | ".join(KEYS) + " |", "|---|" + "---|" * len(KEYS)]
        for name, subs in rows:
            if d in subs:
                lines.append(f"| {name} | " + " | ".join(f"{subs[d][k]:.3f}" for k in KEYS) + " |")
        lines.append("")
    lines.append(f"({time.time() - t0:.0f} s on the CPU here.)")
    text = "\n".join(lines) + "\n"
    print(text)
    if write:
        update_results_file(ROOT / "eval" / "RESULTS.md", "finetune", text)


if __name__ == "__main__":
    main(Path(sys.argv[1]), "--write" in sys.argv[2:])
