"""Prepare the fine-tuning experiment for a GPU machine (run here, on the CPU).

    python eval/finetune/export.py            # writes .gpu/ (git-ignored)

.gpu/data.jsonl holds every labelled sentence (text as the models read it, labels, the fold it
is tested in under `nlpfind evaluate`'s GroupKFold, whether it is a home-framework sentence), and
.gpu/minilm/ a float16 copy of the packaged all-MiniLM-L6-v2 (the device has no internet). The
sentences are third-party text: .gpu/ is never committed.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from nlpfind.config import load_framework, load_train_config  # noqa: E402
from nlpfind.corpus import load_corpus  # noqa: E402
from nlpfind.embed import resolve_model_path  # noqa: E402
from nlpfind.train import description_texts, inputs_for  # noqa: E402

FOLDS = 5


def main() -> None:
    from safetensors.numpy import load_file, save_file
    from sklearn.model_selection import GroupKFold

    out = ROOT / ".gpu"
    out.mkdir(exist_ok=True)
    config = load_train_config(None)
    framework = load_framework(config.framework)
    corpus = load_corpus(None, framework)
    sents = corpus.sentences
    inputs = inputs_for(sents, framework)
    groups = np.array([s.partnership for s in sents])
    fold_of = np.full(len(sents), -1)
    for k, (_, test) in enumerate(GroupKFold(n_splits=FOLDS).split(inputs, groups=groups)):
        fold_of[test] = k
    by_report = {r.report: (r.framework or framework.id) for r in corpus.reports}
    with (out / "data.jsonl").open("w", encoding="utf-8") as fh:
        for s, i, k in zip(sents, inputs, fold_of):
            fh.write(json.dumps({"text": i.text, "statement": s.statement, "polarity": s.polarity,
                                 "themes": list(s.themes), "fold": int(k),
                                 "domain": by_report.get(s.report, framework.id)}, ensure_ascii=False) + "\n")
    meta = {"statements": list(framework.statement_labels), "themes": list(framework.theme_ids),
            "home": framework.id, "home_weight": config.home_weight, "folds": FOLDS,
            "descriptions": description_texts(framework), "data_hash": corpus.data_hash}
    (out / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    src = resolve_model_path("minilm")
    dst = out / "minilm"
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("model.safetensors", "README.md", "data_config.json"))
    arrays = {k: v.astype(np.float16) for k, v in load_file(str(src / "model.safetensors")).items()}
    save_file(arrays, str(dst / "model.safetensors"))
    print(f"{len(sents)} sentences, folds {np.bincount(fold_of).tolist()}, corpus {corpus.data_hash}")


if __name__ == "__main__":
    main()
