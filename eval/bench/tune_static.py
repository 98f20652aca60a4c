"""Tune the static embedding model on inspection-report text (tokenlearn-style distillation).

model2vec's distillation (`distill_static.py`) gives each token the vector MiniLM gives that token
alone. Here the token vectors are then fitted so that the mean over a sentence's tokens reproduces
MiniLM's vector for the whole sentence, on sentences of real inspection reports: the static model
learns how MiniLM reads this domain's sentences, not single tokens. No labels are used.

Stages (each cached in --work, so a rerun picks up where it stopped):
  1. sentences: every sentence nlpfind segments from the reports under --reports (PDF/txt);
  2. targets: MiniLM's (the packaged all-MiniLM-L6-v2) unit vectors for them;
  3. fit: token vectors (initialised from --init, mapped to the targets' PCA space by least squares)
     trained with a cosine loss, early-stopped on 5% held-out sentences; saved as a model2vec folder.

Usage: python eval/bench/tune_static.py --reports ../shared/corpus/ofsted-ilacs --out models/static-minilm
Runs offline; needs torch (installed with nlpfind) and `tokenizers`.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[2]


def gather_sentences(report_dirs: list[Path], out: Path) -> list[str]:
    """Stage 1: the model-facing text of every sentence of every report (deduplicated, in order)."""
    if out.is_file():
        return json.loads(out.read_text())
    from nlpfind.config import load_framework
    from nlpfind.read import read_document
    from nlpfind.segment import segment

    seen: dict[str, None] = {}
    for folder in report_dirs:
        framework = load_framework("ilacs" if "ofsted" in folder.name else "carh")
        for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in (".pdf", ".txt")):
            document = read_document(path)
            for sentence in segment(document.text, framework):
                seen.setdefault(sentence.clean, None)
    sentences = list(seen)
    out.write_text(json.dumps(sentences))
    return sentences


def minilm_targets(sentences: list[str], out: Path, batch: int = 256) -> np.ndarray:
    """Stage 2: MiniLM's unit vectors for the sentences, saved in chunks so an interrupted run resumes."""
    if out.is_file():
        return np.load(out)
    from nlpfind.embed import get_embedder

    embedder = get_embedder("minilm")
    chunk_dir = out.with_suffix(".parts")
    chunk_dir.mkdir(exist_ok=True)
    step = 4096
    parts = []
    started = time.time()
    for i in range(0, len(sentences), step):
        part = chunk_dir / f"{i:08d}.npy"
        if not part.is_file():
            np.save(part, embedder.encode(sentences[i:i + step]).astype(np.float32))
        parts.append(np.load(part))
        print(f"targets {min(i + step, len(sentences))}/{len(sentences)} ({time.time() - started:.0f} s)", flush=True)
    targets = np.concatenate(parts)
    np.save(out, targets)
    return targets


def fit(sentences: list[str], targets: np.ndarray, init: Path, out: Path, *, dims: int, epochs: int,
        lr: float, seed: int) -> dict:
    """Stage 3: fit token vectors so each sentence's mean token vector matches its MiniLM vector."""
    import torch
    from model2vec import StaticModel

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    base = StaticModel.from_pretrained(str(init))
    ids = [np.asarray(t[:512], dtype=np.int64) for t in base.tokenize(sentences)]
    keep = np.array([len(t) > 0 for t in ids])
    ids = [t for t, k in zip(ids, keep) if k]
    targets = targets[keep]

    # Targets in their own PCA space of `dims` dimensions (what the tuned model outputs).
    mean = targets.mean(axis=0)
    _, _, vt = np.linalg.svd(targets - mean, full_matrices=False)
    components = vt[:dims]
    target_low = (targets - mean) @ components.T
    target_low = target_low / np.linalg.norm(target_low, axis=1, keepdims=True)

    # Initial token vectors: the distilled ones, mapped into the target space by least squares on
    # the sentence means (so training starts from the plain static model's reading).
    base_vectors = np.asarray(base.embedding, dtype=np.float32)
    base_means = np.stack([base_vectors[t].mean(axis=0) for t in ids])
    mapping, *_ = np.linalg.lstsq(base_means, target_low, rcond=None)
    start_vectors = (base_vectors @ mapping).astype(np.float32)

    order = rng.permutation(len(ids))
    n_val = max(1, len(ids) // 20)
    val_idx, train_idx = order[:n_val], order[n_val:]

    embedding = torch.nn.EmbeddingBag.from_pretrained(torch.from_numpy(start_vectors), freeze=False, mode="mean")
    optimiser = torch.optim.Adam(embedding.parameters(), lr=lr)
    target_t = torch.from_numpy(target_low.astype(np.float32))

    def batches(index: np.ndarray, size: int):
        for j in range(0, len(index), size):
            chosen = index[j:j + size]
            flat = np.concatenate([ids[k] for k in chosen])
            offsets = np.cumsum([0] + [len(ids[k]) for k in chosen[:-1]])
            yield torch.from_numpy(flat), torch.from_numpy(offsets), target_t[chosen]

    def val_loss() -> float:
        with torch.no_grad():
            losses = [(1 - torch.nn.functional.cosine_similarity(embedding(x, o), y)).sum().item()
                      for x, o, y in batches(val_idx, 4096)]
        return sum(losses) / len(val_idx)

    history = [{"epoch": 0, "val_cosine_loss": val_loss()}]
    best = (history[0]["val_cosine_loss"], embedding.weight.detach().clone())
    for epoch in range(1, epochs + 1):
        for x, o, y in batches(rng.permutation(train_idx), 256):
            optimiser.zero_grad()
            loss = (1 - torch.nn.functional.cosine_similarity(embedding(x, o), y)).mean()
            loss.backward()
            optimiser.step()
        history.append({"epoch": epoch, "val_cosine_loss": val_loss()})
        print(f"epoch {epoch}: held-out cosine loss {history[-1]['val_cosine_loss']:.4f}", flush=True)
        if history[-1]["val_cosine_loss"] < best[0]:
            best = (history[-1]["val_cosine_loss"], embedding.weight.detach().clone())
        elif epoch - min(history, key=lambda h: h["val_cosine_loss"])["epoch"] >= 2:
            break

    tuned = StaticModel(vectors=best[1].numpy().astype(np.float32), tokenizer=base.tokenizer,
                        config=dict(base.config, apply_pca=dims, tuned_on_sentences=len(ids)), normalize=True)
    tuned.save_pretrained(str(out))
    return {"sentences": len(ids), "held_out": int(n_val), "dims": dims, "history": history}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=Path, nargs="+", default=[ROOT.parent / "shared/corpus/ofsted-ilacs"])
    parser.add_argument("--init", type=Path, default=ROOT / "models/static-minilm")
    parser.add_argument("--out", type=Path, default=ROOT / "models/static-minilm")
    parser.add_argument("--work", type=Path, default=Path("/tmp/nlpfind-tune-static"))
    parser.add_argument("--dims", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stage", choices=("sentences", "targets", "fit"), default="fit")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    tag = "-".join(sorted(p.name for p in args.reports))
    sentences = gather_sentences(args.reports, args.work / f"sentences-{tag}.json")
    print(f"{len(sentences)} sentences from {', '.join(map(str, args.reports))}", flush=True)
    if args.stage == "sentences":
        return
    targets = minilm_targets(sentences, args.work / f"targets-{tag}.npy")
    if args.stage == "targets":
        return
    report = fit(sentences, targets, args.init, args.out, dims=args.dims, epochs=args.epochs, lr=args.lr, seed=args.seed)
    (args.out / "tuning.json").write_text(json.dumps(dict(report, reports=[str(p) for p in args.reports]), indent=1))
    print(f"saved to {args.out}")


if __name__ == "__main__":
    main()
