"""Score static models distilled from per-fold fine-tuned MiniLM (distill_folds.py's output) in nlpfind's grouped CV.

    python eval/finetune/evaluate_static_folds.py RUN_DIR [--write]

One run, the folds of `nlpfind evaluate`, the fast recipe (configs/train-fast.toml) throughout:
the shipped static model; the same distillation made on the GPU machine from the packaged MiniLM
(a check that the distillation there is model2vec's); then, per recipe in RUN_DIR, every head on
the fold's static model, and polarity alone on it with statement and themes on the shipped one.
--write puts the table into eval/RESULTS.md (section `static-finetune`).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from nlpfind.config import load_framework, load_train_config  # noqa: E402
from nlpfind.corpus import load_corpus  # noqa: E402
from nlpfind.evaluate import evaluate  # noqa: E402
from nlpfind.train import embed_texts, inputs_for  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluate_finetuned import KEYS, domain_tables, publish  # noqa: E402

FAST = ROOT / "configs" / "train-fast.toml"


def main(run: Path, write: bool) -> None:
    config = load_train_config(FAST)
    framework = load_framework(config.framework)
    corpus = load_corpus(None, framework)
    log = json.loads((run / "log.json").read_text())
    if log["data_hash"] != corpus.data_hash:
        raise SystemExit(f"{run}: made from corpus {log['data_hash']}, the corpus is now {corpus.data_hash}")
    t0 = time.time()
    shipped = embed_texts([i.text for i in inputs_for(corpus.sentences, framework)], "static")
    base = np.load(run / "static_base.npz")
    cos = (shipped * base["base"].astype(np.float32)).sum(1)
    rows = []

    result_sizes: dict[str, int] = {}

    def add(label: str, result) -> None:
        rows.append((label, result.systems[0].subsets))
        result_sizes.update(result.subset_sizes or {})
        print(label, {k: round(v, 3) for k, v in result.systems[0].subsets[result.primary].items() if k in KEYS},
              flush=True)

    add("fast recipe, shipped static model", evaluate(config=config, corpus=corpus, systems=("nlpfind",)))
    add("fast recipe, the same distillation made on the GPU machine from the packaged MiniLM (float16 copy)",
        evaluate(config=config, corpus=corpus, systems=("nlpfind",),
                 fold_embeddings=lambda k: (base["base"].astype(np.float32), base["desc"].astype(np.float32))))
    recipes = {r.split("=")[0]: r.split("=")[1] for r in log["recipes"]}
    loaded = {name: np.load(run / f"static_{name}.npz") for name in recipes if (run / f"static_{name}.npz").is_file()}

    def folds_of(arrays):
        return lambda k: (arrays[f"fold{k}"].astype(np.float32), arrays[f"desc{k}"].astype(np.float32))

    for name, arrays in loaded.items():
        tag = f"static distilled from MiniLM fine-tuned per fold ({recipes[name].replace(',', ' + ')} losses)"
        add(f"fast recipe, every head on the {tag}",
            evaluate(config=config, corpus=corpus, systems=("nlpfind",), fold_embeddings=folds_of(arrays)))
        add(f"fast recipe, polarity on the {tag}, statement and themes on the shipped static model",
            evaluate(config=replace(config, polarity_embedding_model=f"static-tuned-{name}"), corpus=corpus,
                     systems=("nlpfind",), fold_polarity_embeddings=folds_of(arrays)))
    for stat in loaded:
        for pol in loaded:
            if stat != pol:
                add(f"fast recipe, statement and themes on static from recipe {stat} ({recipes[stat]}), polarity on "
                    f"static from recipe {pol} ({recipes[pol]}), both per fold",
                    evaluate(config=replace(config, polarity_embedding_model=f"static-tuned-{pol}"), corpus=corpus,
                             systems=("nlpfind",), fold_embeddings=folds_of(loaded[stat]),
                             fold_polarity_embeddings=folds_of(loaded[pol])))
    lines = ["## Static models distilled from fine-tuned MiniLM (issue 5's fast path), same grouped CV", "",
             f"Commands: `python eval/finetune/export.py`; `python eval/finetune/export_static.py`; on the lent GPU "
             f"({log['device']}, torch {log['torch']}): `python eval/finetune/distill_folds.py --data .gpu --out RUN` "
             f"({log['log'][-1]['elapsed']:.0f} s); here: `python eval/finetune/evaluate_static_folds.py RUN --write`.",
             "", f"Corpus `{corpus.data_hash}`. In each fold MiniLM was fine-tuned on the training folds only (word "
             "embeddings frozen), distilled to a static table the way model2vec does (every vocabulary token alone "
             "through the encoder, mean-pooled, PCA to 256, SIF weights), and the fold's sentences embedded with that "
             "table; the fast recipe's heads were then fitted as usual. The GPU machine's distillation of the packaged "
             f"MiniLM agrees with the shipped static model (sentence cosine min {cos.min():.4f}, mean {cos.mean():.5f}).",
             ""]
    lines += domain_tables(rows, {d: n for d, n in sorted(result_sizes.items()) if d != "all"})
    publish(lines, t0, "static-finetune", write)


if __name__ == "__main__":
    main(Path(sys.argv[1]), "--write" in sys.argv[2:])
