"""Fine-tune all-MiniLM-L6-v2 on the labelled sentences, per cross-validation fold (GPU, or CPU with --train-top).

    python eval/finetune/finetune.py --data .gpu --out OUT [--epochs 8] [--tasks polarity] [--freeze-embeddings]
                                     [--train-top N] [--encoder-lr LR] [--no-final | --final-only]

For each of the folds written by export.py the encoder is fine-tuned on the other folds only
(heads for the losses named by --tasks, of statement, polarity and themes, on the mean-pooled
sentence embedding, one summed loss, home-framework sentences weighted `home_weight`), then every
sentence and every description is embedded with it: OUT/fold_embeddings.npz holds `fold{k}` (sentences) and `desc{k}`
(descriptions) for the fold-k encoder, so a fold's test sentences are embedded by an encoder that
never saw them; with --save-layers also `fold{k}_layers` and `desc{k}_layers`, the vectors nlpfind's
`embedding_layers` makes (each listed layer's unit mean token state, side by side, scaled to unit length).
--train-layers puts the heads on those layers' mean token states side by side during fine-tuning instead
of on the last layer's. OUT/predictions.json holds the fine-tuned heads' own predictions on each test
fold. Finally the encoder is fine-tuned on all sentences and saved as float16 safetensors in
parts of under 16 MB (OUT/final.partN.safetensors); with --freeze-embeddings, `package_encoder.py` makes
them a folder nlpfind loads. --train-top N fine-tunes only the top N transformer layers
(the word embeddings and the layers below frozen), which a CPU can do: about 200 s a fold for the top 2 on this
2-core machine, 4 epochs (eval/RESULTS.md has what it gave). The recipe --tasks polarity,themes --train-top 4
--epochs 6 --encoder-lr 6e-5 (about 5 minutes a fold on 2 cores) is what `nlpfind train` itself runs since
2026-12-07 for a config with `polarity_finetune_layers` (nlpfind/finetune.py, configs/train-tuned.toml); this
script stays for the GPU recipes and the per-fold experiments of eval/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F


def load(data: Path):
    rows = [json.loads(line) for line in (data / "data.jsonl").open(encoding="utf-8")]
    meta = json.loads((data / "meta.json").read_text(encoding="utf-8"))
    return rows, meta


def targets(rows, meta):
    st = {s: k for k, s in enumerate(meta["statements"])}
    po = {p: k for k, p in enumerate(["strength", "weakness", "mixed", "neutral"])}
    th = {t: k for k, t in enumerate(meta["themes"])}
    y_s = torch.tensor([st[r["statement"]] for r in rows])
    y_p = torch.tensor([po[r["polarity"]] for r in rows])
    y_t = torch.zeros(len(rows), len(th))
    for i, r in enumerate(rows):
        for t in r["themes"]:
            y_t[i, th[t]] = 1.0
    w = torch.tensor([meta["home_weight"] if r["domain"] == meta["home"] else 1.0 for r in rows])
    return y_s, y_p, y_t, w


def layer_means(model, feats, layers: tuple[int, ...]):
    """Mean token state of each of `layers` (numbered from 1; 0 is the input embeddings), side by side."""
    states = model[0].auto_model(**{k: v for k, v in feats.items() if k in ("input_ids", "attention_mask", "token_type_ids")},
                                 output_hidden_states=True).hidden_states
    mask = feats["attention_mask"].unsqueeze(-1).float()
    return [(states[n].float() * mask).sum(1) / mask.sum(1).clamp(min=1e-9) for n in layers]


def encode_layers(model, texts, layers: tuple[int, ...], device: str, batch: int = 256) -> np.ndarray:
    """What nlpfind's `embedding_layers` gives: unit means side by side, divided by sqrt(len(layers))."""
    out = []
    for b in range(0, len(texts), batch):
        feats = model.tokenize(texts[b:b + batch])
        feats = {k: v.to(device) for k, v in feats.items() if torch.is_tensor(v)}
        with torch.no_grad():
            means = layer_means(model, feats, layers)
        out.append((torch.cat([F.normalize(m, dim=1) for m in means], 1) / math.sqrt(len(layers))).cpu().numpy())
    return np.concatenate(out).astype(np.float32)


def train(model_dir: Path, texts, y_s, y_p, y_t, w, epochs: int, device: str, seed: int, max_steps: int | None,
          tasks: tuple[str, ...] = ("statement", "polarity", "themes"), freeze_embeddings: bool = False,
          train_layers: tuple[int, ...] = (), train_top: int = 0, encoder_lr: float = 4e-5):
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(seed)
    np.random.seed(seed)
    model = SentenceTransformer(str(model_dir), device=device)
    model.float()
    if freeze_embeddings or train_top:  # word/position embeddings stay the packaged ones: fewer weights to learn and to ship
        for p in model[0].auto_model.embeddings.parameters():
            p.requires_grad_(False)
    if train_top:  # only the top layers learn: no backward pass through the rest, so a CPU can fine-tune
        for layer in model[0].auto_model.encoder.layer[:-train_top]:
            for p in layer.parameters():
                p.requires_grad_(False)
    dim = model.get_sentence_embedding_dimension() * max(1, len(train_layers))
    heads = torch.nn.ModuleDict({"s": torch.nn.Linear(dim, int(y_s.max()) + 1 if len(y_s) else 5),
                                 "p": torch.nn.Linear(dim, 4), "t": torch.nn.Linear(dim, y_t.shape[1])}).to(device)
    # class weights: balanced, as nlpfind's heads
    def balanced(y, n):
        c = torch.bincount(y, minlength=n).float()
        return (len(y) / (n * c.clamp(min=1))).to(device)
    ws, wp = balanced(y_s, heads["s"].out_features), balanced(y_p, 4)
    pos = y_t.sum(0).clamp(min=1)
    wt = ((len(y_t) - pos) / pos).clamp(max=20).sqrt().to(device)
    opt = torch.optim.AdamW([{"params": [p for p in model.parameters() if p.requires_grad], "lr": encoder_lr},
                             {"params": heads.parameters(), "lr": 2e-3}], weight_decay=0.01)
    batch = 32
    steps = epochs * math.ceil(len(texts) / batch)
    if max_steps:
        steps = min(steps, max_steps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, (steps - s) / steps))
    g = torch.Generator().manual_seed(seed)
    step = 0
    model.train()
    while step < steps:
        order = torch.randperm(len(texts), generator=g)
        for b in range(0, len(order), batch):
            idx = order[b:b + batch]
            feats = model.tokenize([texts[i] for i in idx])
            feats = {k: v.to(device) if torch.is_tensor(v) else v for k, v in feats.items()}
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=device == "cuda"):
                emb = (torch.cat(layer_means(model, feats, train_layers), 1) if train_layers
                       else model(feats)["sentence_embedding"])
            emb = emb.float()
            wi = w[idx].to(device)
            loss = emb.sum() * 0.0
            if "statement" in tasks:
                loss = loss + (F.cross_entropy(heads["s"](emb), y_s[idx].to(device), weight=ws, reduction="none") * wi).mean()
            if "polarity" in tasks:
                loss = loss + (F.cross_entropy(heads["p"](emb), y_p[idx].to(device), weight=wp, reduction="none") * wi).mean()
            if "themes" in tasks:
                bce = F.binary_cross_entropy_with_logits(heads["t"](emb), y_t[idx].to(device), pos_weight=wt,
                                                         reduction="none")
                loss = loss + (bce.mean(1) * wi).mean()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(list(model.parameters()) + list(heads.parameters()), 1.0)
            opt.step()
            sched.step()
            step += 1
            if step >= steps:
                break
    model.eval()
    return model, heads


def predict(model, heads, texts, device, train_layers: tuple[int, ...] = ()):
    if train_layers:  # the heads were fitted on the layers' (unnormalised) means side by side
        parts = []
        for b in range(0, len(texts), 256):
            feats = model.tokenize(texts[b:b + 256])
            feats = {k: v.to(device) for k, v in feats.items() if torch.is_tensor(v)}
            with torch.no_grad():
                parts.append(torch.cat(layer_means(model, feats, train_layers), 1))
        emb = torch.cat(parts)
    else:
        emb = model.encode(texts, batch_size=256, convert_to_tensor=True, normalize_embeddings=False, device=device)
    with torch.no_grad():
        emb = emb.float()
        return (heads["s"](emb).argmax(1).cpu().numpy(), heads["p"](emb).argmax(1).cpu().numpy(),
                (torch.sigmoid(heads["t"](emb)) >= 0.5).cpu().numpy())


def save_layers(model, out: Path, prefix: str, freeze_embeddings: bool) -> int:
    """Save the encoder as float16 safetensors in parts of under 16 MB (OUT/PREFIX.partN.safetensors, the
    device's file limit); frozen word embeddings are left out. Returns the number of parts."""
    from safetensors.torch import save_file

    state = {k: v.detach().to("cpu", torch.float16).contiguous() for k, v in model[0].auto_model.state_dict().items()
             if not (freeze_embeddings and k.startswith("embeddings."))}
    pieces = {}
    for key in sorted(state):  # tensors over the 16 MB file limit (the word embeddings) go in row blocks
        rows = max(1, 7_000_000 // max(1, state[key][0].numel() * 2)) if state[key].dim() else 1
        if state[key].numel() * 2 > 15_000_000:
            for r in range(0, state[key].shape[0], rows):
                pieces[f"{key}::rows{r}"] = state[key][r:r + rows].contiguous()
        else:
            pieces[key] = state[key]
    part, size, n = {}, 0, 0
    for key in sorted(pieces):
        nbytes = pieces[key].numel() * 2
        if part and size + nbytes > 15_000_000:
            save_file(part, str(out / f"{prefix}.part{n}.safetensors"))
            part, size, n = {}, 0, n + 1
        part[key] = pieces[key]
        size += nbytes
    save_file(part, str(out / f"{prefix}.part{n}.safetensors"))
    return n + 1


def save_arrays(arrays: dict, out: Path, limit: int = 15_000_000) -> None:
    """OUT/fold_embeddings.npz, or fold_embeddings.partN.npz files of under `limit` bytes each (the device's file
    limit) when the arrays are larger; a run with --save-layers keeps only the layered vectors, since the last
    layer's block of them is the plain vector (scaled by 1/sqrt(len(layers)))."""
    if any(k.endswith("_layers") for k in arrays):
        arrays = {k: v for k, v in arrays.items() if k.endswith("_layers")}
    if sum(v.nbytes for v in arrays.values()) <= limit:
        np.savez_compressed(out / "fold_embeddings.npz", **arrays)
        return
    part, size, n = {}, 0, 0
    for key in sorted(arrays):
        if part and size + arrays[key].nbytes > limit:
            np.savez_compressed(out / f"fold_embeddings.part{n}.npz", **part)
            part, size, n = {}, 0, n + 1
        part[key], size = arrays[key], size + arrays[key].nbytes
    np.savez_compressed(out / f"fold_embeddings.part{n}.npz", **part)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path(".gpu"))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--quick", action="store_true", help="2 steps per fit, 2 folds (a CPU smoke test)")
    ap.add_argument("--no-final", action="store_true")
    ap.add_argument("--final-only", action="store_true",
                    help="skip the per-fold fits: only the final encoder, on every sentence (what models/ ships)")
    ap.add_argument("--tasks", default="statement,polarity,themes", help="losses to train on, comma-separated")
    ap.add_argument("--freeze-embeddings", action="store_true", help="keep the packaged word embeddings (not saved)")
    ap.add_argument("--save-layers", default="", help="also save per-fold vectors of these layers side by side, e.g. 3,4,6")
    ap.add_argument("--train-layers", default="", help="heads on these layers' mean token states while fine-tuning")
    ap.add_argument("--train-top", type=int, default=0,
                    help="fine-tune only the top N transformer layers (the rest and the word embeddings frozen)")
    ap.add_argument("--encoder-lr", type=float, default=4e-5, help="the encoder's learning rate (heads: 2e-3)")
    ap.add_argument("--seed", type=int, default=0, help="added to each fit's seed (fold k fits with seed k + SEED)")
    args = ap.parse_args()
    if args.train_top:  # --train-top freezes the word embeddings too: record and save the run as such
        args.freeze_embeddings = True
    device = "cuda" if torch.cuda.is_available() else "cpu"
    rows, meta = load(args.data)
    tasks = tuple(t.strip() for t in args.tasks.split(",") if t.strip())
    save_layers_ = tuple(int(n) for n in args.save_layers.split(",") if n.strip())
    train_layers = tuple(int(n) for n in args.train_layers.split(",") if n.strip())
    texts = [r["text"] for r in rows]
    y_s, y_p, y_t, w = targets(rows, meta)
    fold = np.array([r["fold"] for r in rows])
    args.out.mkdir(parents=True, exist_ok=True)
    arrays, preds, log = {}, {"statement": [None] * len(rows), "polarity": [None] * len(rows),
                              "themes": [None] * len(rows)}, []
    pol = ["strength", "weakness", "mixed", "neutral"]
    folds = range(0) if args.final_only else range(2 if args.quick else meta["folds"])
    for k in folds:
        t0 = time.time()
        tr = np.flatnonzero(fold != k)
        te = np.flatnonzero(fold == k)
        model, heads = train(args.data / "minilm", [texts[i] for i in tr], y_s[tr], y_p[tr], y_t[tr], w[tr],
                             args.epochs, device, seed=k + args.seed, max_steps=2 if args.quick else None, tasks=tasks,
                             freeze_embeddings=args.freeze_embeddings, train_layers=train_layers,
                             train_top=args.train_top, encoder_lr=args.encoder_lr)
        with torch.no_grad():
            arrays[f"fold{k}"] = model.encode(texts, batch_size=256, normalize_embeddings=True).astype(np.float16)
            arrays[f"desc{k}"] = model.encode(meta["descriptions"], batch_size=256,
                                              normalize_embeddings=True).astype(np.float16)
            if save_layers_:
                arrays[f"fold{k}_layers"] = encode_layers(model, texts, save_layers_, device).astype(np.float16)
                arrays[f"desc{k}_layers"] = encode_layers(model, meta["descriptions"], save_layers_,
                                                          device).astype(np.float16)
            s, p, t = predict(model, heads, [texts[i] for i in te], device, train_layers)
        for j, i in enumerate(te):
            preds["statement"][i] = meta["statements"][s[j]]
            preds["polarity"][i] = pol[p[j]]
            preds["themes"][i] = [meta["themes"][c] for c in np.flatnonzero(t[j])]
        log.append({"fold": k, "train": len(tr), "test": len(te), "seconds": round(time.time() - t0, 1)})
        print(log[-1], flush=True)
    if arrays:
        save_arrays(arrays, args.out)
    (args.out / "predictions.json").write_text(json.dumps({"predictions": preds, "log": log,
                                                           "data_hash": meta["data_hash"], "epochs": args.epochs,
                                                           "tasks": list(tasks), "frozen_embeddings": args.freeze_embeddings,
                                                           "save_layers": list(save_layers_), "train_layers": list(train_layers),
                                                           "train_top": args.train_top, "encoder_lr": args.encoder_lr,
                                                           "seed": args.seed, "final_only": args.final_only,
                                                           "device": torch.cuda.get_device_name() if device == "cuda"
                                                           else "cpu", "torch": torch.__version__}))
    if args.no_final:
        return
    t0 = time.time()
    model, _ = train(args.data / "minilm", texts, y_s, y_p, y_t, w, args.epochs, device, seed=args.seed,
                     max_steps=2 if args.quick else None, tasks=tasks, freeze_embeddings=args.freeze_embeddings,
                     train_layers=train_layers, train_top=args.train_top, encoder_lr=args.encoder_lr)
    n = save_layers(model, args.out, "final", args.freeze_embeddings)
    print({"final_seconds": round(time.time() - t0, 1), "parts": n}, flush=True)


if __name__ == "__main__":
    main()
