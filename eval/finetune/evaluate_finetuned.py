"""Score encoders fine-tuned per fold (finetune.py's output) inside nlpfind's grouped CV.

    python eval/finetune/evaluate_finetuned.py RUN_DIR [RUN_DIR ...] [--write]

Each RUN_DIR holds fold_embeddings.npz and predictions.json from a run of finetune.py (GPU or CPU) on
the data export.py wrote. One run, same folds: the usual systems (packaged MiniLM), then minilm-lr and
nlpfind with each run's per-fold fine-tuned embeddings, and nlpfind with polarity read from them (alone,
as their layers side by side, and beside the packaged encoder's vector). A table per framework, then one
per whole home report (the domain new reports come from).
--write puts the table into eval/RESULTS.md (section `finetune`).
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from nlpfind.config import load_framework, load_train_config  # noqa: E402
from nlpfind.corpus import load_corpus  # noqa: E402
from nlpfind.evaluate import evaluate, update_results_file  # noqa: E402
from nlpfind.train import description_texts, embed_texts, inputs_for  # noqa: E402

KEYS = ("strength_f1", "weakness_f1", "statement_macro_f1", "themes_micro_f1")


def main(runs: list[Path], write: bool) -> None:
    config = load_train_config(None)
    framework = load_framework(config.framework)
    corpus = load_corpus(None, framework)
    sents = corpus.sentences
    by_report = {r.report: (r.framework or framework.id) for r in corpus.reports}
    dom = [by_report.get(s.report, framework.id) for s in sents]
    t0 = time.time()
    base = evaluate(config=config, corpus=corpus)
    rows = [(f"{s.name} (packaged MiniLM)", s.subsets) for s in base.systems]
    notes = []
    packaged = None  # the packaged encoder's vectors as nlpfind reads them, for the side-by-side row
    for run in runs:
        meta, fold_embeddings, fold_layer_embeddings = load_run(run, corpus.data_hash)
        tasks = meta.get("tasks") or ["statement", "polarity", "themes"]  # runs before --tasks trained all three
        tag = "+".join(tasks)
        tag += ", word embeddings frozen" if meta.get("frozen_embeddings") else ""
        if meta.get("train_layers"):
            tag += f", heads on layers {', '.join(map(str, meta['train_layers']))}"
        tuned = evaluate(config=config, corpus=corpus, systems=("minilm-lr", "nlpfind"),
                         fold_embeddings=fold_embeddings)
        rows += [(f"{s.name} (fine-tuned per fold: {tag})", s.subsets) for s in tuned.systems]
        hybrid = evaluate(config=replace(config, polarity_embedding_model="minilm-tuned"), corpus=corpus,
                          systems=("nlpfind",), fold_polarity_embeddings=fold_embeddings)
        rows.append((f"nlpfind, polarity on the fine-tuned encoder, statement and themes on the packaged one "
                     f"(fine-tuned per fold: {tag})", hybrid.systems[0].subsets))
        if meta.get("save_layers"):
            layers = ", ".join(map(str, meta["save_layers"]))
            layered = evaluate(config=replace(config, polarity_embedding_model="minilm-tuned"), corpus=corpus,
                               systems=("nlpfind",), fold_polarity_embeddings=fold_layer_embeddings)
            rows.append((f"nlpfind, polarity on the fine-tuned encoder's layers {layers} side by side, statement and "
                         f"themes on the packaged one (fine-tuned per fold: {tag})", layered.systems[0].subsets))
        if packaged is None:
            layers_of = tuple(config.embedding_layers)
            packaged = (embed_texts([i.text for i in inputs_for(sents, framework)], config.embedding_model,
                                    layers=layers_of),
                        embed_texts(description_texts(framework), config.embedding_model, layers=layers_of))

        def beside_packaged(k: int, fold_embeddings=fold_embeddings, packaged=packaged):
            # Both halves unit length, the whole scaled back to unit length: neither encoder outweighs the other.
            tuned_s, tuned_d = fold_embeddings(k)
            return tuple(np.hstack([a, b]) / np.sqrt(2) for a, b in zip(packaged, (tuned_s, tuned_d)))

        beside = evaluate(config=replace(config, polarity_embedding_model="minilm-tuned"), corpus=corpus,
                          systems=("nlpfind",), fold_polarity_embeddings=beside_packaged)
        rows.append((f"nlpfind, polarity on the packaged encoder's vector and the fine-tuned one side by side, statement "
                     f"and themes on the packaged one (fine-tuned per fold: {tag})", beside.systems[0].subsets))
        notes.append(f"`--epochs {meta.get('epochs')} --tasks {','.join(tasks)}"
                     f"{' --freeze-embeddings' if meta.get('frozen_embeddings') else ''}"
                     + "".join(f" --{flag.replace('_', '-')} {','.join(map(str, meta[flag]))}"
                               for flag in ("save_layers", "train_layers") if meta.get(flag))
                     + "".join(f" --{flag.replace('_', '-')} {meta[flag]}" for flag in ("train_top", "encoder_lr")
                               if meta.get(flag))
                     + (f" --seed {meta['seed']}" if meta.get("seed") else "")
                     + f"` on {meta.get('device')} "
                     f"(torch {meta.get('torch')}), seconds per fold "
                     + ", ".join(str(x["seconds"]) for x in meta["log"]))
    lines = ["## Fine-tuning the encoder (GPU), inside the same grouped cross-validation", "",
             "Commands: `python eval/finetune/export.py`; on the lent GPU: `python eval/finetune/finetune.py --data "
             ".gpu --out RUN ...` (runs below); here: `python eval/finetune/evaluate_finetuned.py RUN... --write`.", "",
             "Runs: " + "; ".join(notes) + ".", "",
             f"Corpus `{corpus.data_hash}`, {len(sents)} sentences, {base.folds} folds grouped by partnership (the "
             "folds of `nlpfind evaluate`). In each fold the encoder was fine-tuned on the training folds only (the "
             "named losses on the mean-pooled embedding; home-framework sentences weighted as in train.toml), then "
             "embedded every sentence; nlpfind's own features and heads were then fitted as usual on those "
             "embeddings, so no test sentence reached the encoder or the heads. The third row of each run is the "
             "`models/tuned` recipe until 2026-12-07 (since then its polarity averages this head with the packaged "
             "one's: section `tuned`): polarity from heads on that fold's fine-tuned embeddings, statement and "
             "themes from heads on the packaged MiniLM's; a run with --save-layers adds a fourth, the same with "
             "polarity read from the fine-tuned encoder's layers side by side.", ""]
    lines += domain_tables(rows, {d: dom.count(d) for d in sorted(set(dom))})
    whole = Counter(s.report for s in sents)
    lines += domain_tables(rows, {k: whole[k[len("report "):]] for k in base.systems[-1].subsets if k.startswith("report ")})
    publish(lines, t0, "finetune", write)


def load_run(run: Path, data_hash: str) -> tuple[dict, Callable, Callable]:
    """A finetune.py run's notes and its per-fold (sentence, description) vectors, plain and layered, as
    `evaluate`'s fold_embeddings callables; a run made from another corpus stops the script."""
    meta = json.loads((run / "predictions.json").read_text())
    if meta["data_hash"] != data_hash:
        raise SystemExit(f"{run}: made from corpus {meta['data_hash']}, the corpus is now {data_hash}")
    arrays = load_arrays(run, meta.get("save_layers") or [])

    def fold_embeddings(k: int) -> tuple[np.ndarray, np.ndarray]:
        return arrays[f"fold{k}"].astype(np.float32), arrays[f"desc{k}"].astype(np.float32)

    def fold_layer_embeddings(k: int) -> tuple[np.ndarray, np.ndarray]:
        return arrays[f"fold{k}_layers"].astype(np.float32), arrays[f"desc{k}_layers"].astype(np.float32)

    return meta, fold_embeddings, fold_layer_embeddings


def load_arrays(run: Path, layers: list[int]) -> dict[str, np.ndarray]:
    """finetune.py's per-fold vectors (one npz, or parts); where a run saved only layered vectors, the plain
    ones are their last layer's block (unit length again; MiniLM has 6 layers)."""
    arrays: dict[str, np.ndarray] = {}
    for path in sorted(run.glob("fold_embeddings*.npz")):
        with np.load(path) as npz:
            arrays.update({k: npz[k] for k in npz.files})
    if layers and 6 in layers:
        width = next(v for k, v in arrays.items() if k.endswith("_layers")).shape[1] // len(layers)
        block = slice(layers.index(6) * width, (layers.index(6) + 1) * width)
        for key in [k for k in arrays if k.endswith("_layers")]:
            plain = arrays[key][:, block].astype(np.float32)
            arrays.setdefault(key[:-len("_layers")], plain / np.linalg.norm(plain, axis=1, keepdims=True))
    return arrays


def domain_tables(rows: list[tuple[str, dict]], domains: dict[str, int]) -> list[str]:
    """One markdown table per framework's sentences (name -> count): a row per (system, subsets)."""
    lines = []
    for d, count in domains.items():
        lines += [f"**{d}** sentences ({count}):", "", "| system | " + " | ".join(KEYS) + " |",
                  "|---|" + "---|" * len(KEYS)]
        lines += [f"| {name} | " + " | ".join(f"{subs[d][k]:.3f}" for k in KEYS) + " |" for name, subs in rows if d in subs]
        lines.append("")
    return lines


def publish(lines: list[str], t0: float, section: str, write: bool) -> None:
    """Print the section (with the CPU time it took) and, with `write`, put it into eval/RESULTS.md."""
    lines.append(f"({time.time() - t0:.0f} s on the CPU here.)")
    text = "\n".join(lines) + "\n"
    print(text)
    if write:
        update_results_file(ROOT / "eval" / "RESULTS.md", section, text)


if __name__ == "__main__":
    main([Path(a) for a in sys.argv[1:] if not a.startswith("--")], "--write" in sys.argv[1:])
