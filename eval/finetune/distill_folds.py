"""Static models distilled from MiniLM fine-tuned per fold (GPU machine): the fast path's cross-validation.

    python eval/finetune/distill_folds.py --data .gpu --out OUT [--recipes b=polarity,themes a=statement,polarity,themes]
        [--final-layers b] [--final-static a] [--deadline 420]

For each recipe NAME=LOSSES and each fold of export.py's data, MiniLM is fine-tuned on the other
folds only (finetune.py's `train`, word embeddings frozen), every vocabulary token is run through it
as model2vec's distillation does (the sequences export_static.py captured), post-processed as
model2vec does (static_from_encoder.py), and every sentence and description is embedded with that
static table: OUT/static_NAME.npz holds `fold{k}` and `desc{k}`, so a test fold is embedded by a
static model whose teacher never saw it. OUT/static_base.npz holds the same for the packaged MiniLM
(the reference: the shipped static model, made the same way on this machine). --final-layers NAME
saves that recipe's encoder fine-tuned on all sentences (layers, float16, as finetune.py's final
parts: `package_encoder.py`); --final-static NAME saves that recipe's final static table
(OUT/final_static_NAME.safetensors). Each result is written as soon as it is made; work that would
start after --deadline seconds is skipped (the GPU lease is short).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from finetune import load, save_layers, targets, train  # noqa: E402
from static_from_encoder import post_process, sentence_vectors, token_table  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path(".gpu"))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--recipes", nargs="+", default=["b=polarity,themes", "a=statement,polarity,themes"])
    ap.add_argument("--final-layers", nargs="*", default=["b"])
    ap.add_argument("--final-static", nargs="*", default=["a"])
    ap.add_argument("--deadline", type=float, default=420.0)
    ap.add_argument("--quick", action="store_true", help="2 steps per fit, 2 folds, 600 tokens (a CPU smoke test)")
    args = ap.parse_args()
    start = time.time()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    rows, meta = load(args.data)
    ids = json.loads((args.data / "static_ids.json").read_text())
    seqs = ids["token_ids"][:600] if args.quick else ids["token_ids"]
    n_rows = len(seqs)
    text_ids = [[i for i in t if i < n_rows] for t in ids["texts"]]
    desc_ids = [[i for i in t if i < n_rows] for t in ids["descriptions"]]
    texts = [r["text"] for r in rows]
    y_s, y_p, y_t, w = targets(rows, meta)
    fold = np.array([r["fold"] for r in rows])
    args.out.mkdir(parents=True, exist_ok=True)
    log: list[dict] = []

    def record(**entry) -> None:
        log.append({**entry, "elapsed": round(time.time() - start, 1)})
        print(log[-1], flush=True)
        (args.out / "log.json").write_text(json.dumps({"log": log, "data_hash": meta["data_hash"],
                                                       "epochs": args.epochs, "recipes": args.recipes,
                                                       "device": torch.cuda.get_device_name() if device == "cuda"
                                                       else "cpu", "torch": torch.__version__}, indent=1))

    def static_of(auto_model) -> np.ndarray:
        return post_process(token_table(auto_model, seqs, device)).astype(np.float16)

    from sentence_transformers import SentenceTransformer

    base = SentenceTransformer(str(args.data / "minilm"), device=device)
    base.float()
    table = static_of(base[0].auto_model)
    np.savez_compressed(args.out / "static_base.npz", base=sentence_vectors(table, text_ids).astype(np.float16),
                        desc=sentence_vectors(table, desc_ids).astype(np.float16))
    record(step="base")
    del base
    folds = range(2 if args.quick else meta["folds"])
    for recipe in args.recipes:
        name, tasks = recipe.split("=")
        tasks = tuple(tasks.split(","))
        arrays = {}
        for k in folds:
            if time.time() - start > args.deadline:
                record(step=f"{name} fold {k}", skipped="deadline")
                break
            tr = np.flatnonzero(fold != k)
            model, _ = train(args.data / "minilm", [texts[i] for i in tr], y_s[tr], y_p[tr], y_t[tr], w[tr],
                             args.epochs, device, seed=k, max_steps=2 if args.quick else None, tasks=tasks,
                             freeze_embeddings=True)
            table = static_of(model[0].auto_model)
            arrays[f"fold{k}"] = sentence_vectors(table, text_ids).astype(np.float16)
            arrays[f"desc{k}"] = sentence_vectors(table, desc_ids).astype(np.float16)
            np.savez_compressed(args.out / f"static_{name}.npz", **arrays)
            record(step=f"{name} fold {k}", tasks=list(tasks))
        if name not in args.final_layers + args.final_static:
            continue
        if time.time() - start > args.deadline:
            record(step=f"{name} final", skipped="deadline")
            continue
        model, _ = train(args.data / "minilm", texts, y_s, y_p, y_t, w, args.epochs, device, seed=0,
                         max_steps=2 if args.quick else None, tasks=tasks, freeze_embeddings=True)
        if name in args.final_layers:
            save_layers(model, args.out, f"final_{name}", freeze_embeddings=True)
        if name in args.final_static:
            from safetensors.numpy import save_file

            save_file({"embeddings": static_of(model[0].auto_model)}, str(args.out / f"final_static_{name}.safetensors"))
        record(step=f"{name} final", tasks=list(tasks))


if __name__ == "__main__":
    main()
