"""Capture what model2vec's distillation feeds the encoder, for distill_folds.py on the GPU (run here).

    python eval/finetune/export_static.py      # after export.py; writes .gpu/static_ids.json

Runs model2vec's `distill` on the packaged MiniLM once, recording the token id sequences it encodes
and the pooled outputs; checks that `static_from_encoder.post_process` of those outputs gives
model2vec's table and that this table is the shipped models/static-minilm; records each labelled
sentence's and each description's token rows under the static model's tokenizer, and checks that the
mean of those rows is what nlpfind's static embedder returns.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from static_from_encoder import post_process, sentence_vectors, token_table  # noqa: E402


def main() -> None:
    import model2vec.distill.distillation as dist
    from model2vec import StaticModel

    from nlpfind.embed import STATIC_DIR, StaticEmbedder, resolve_model_path

    data = ROOT / ".gpu"
    rows = [json.loads(line) for line in (data / "data.jsonl").open(encoding="utf-8")]
    meta = json.loads((data / "meta.json").read_text(encoding="utf-8"))
    captured = {}
    original = dist.create_embeddings

    def recording(model, tokenized, **kwargs):
        captured["token_ids"] = [list(map(int, t)) for t in tokenized]
        # model2vec hands the encoder a copy whose word-embedding rows are reordered to its own token
        # ids: record each row so the ids can be mapped back to the packaged model's
        captured["rows"] = model.get_input_embeddings().weight.detach().numpy().copy()
        captured["raw"] = original(model=model, tokenized=tokenized, **kwargs)
        return captured["raw"]

    dist.create_embeddings = recording
    made = dist.distill(model_name=str(resolve_model_path("minilm")), pca_dims=256)
    mine = post_process(captured["raw"])
    theirs = np.asarray(made.embedding, dtype=np.float64)
    print("post_process vs model2vec: max abs diff", float(np.abs(mine - theirs).max()),
          "of max", float(np.abs(theirs).max()))
    shipped = StaticModel.from_pretrained(str(STATIC_DIR))
    print("model2vec now vs models/static-minilm: max abs diff",
          float(np.abs(np.asarray(shipped.embedding, np.float64) - theirs).max()))
    texts = [r["text"] for r in rows]
    text_ids = shipped.tokenize(texts)
    desc_ids = shipped.tokenize(meta["descriptions"])
    ours = sentence_vectors(np.asarray(shipped.embedding), text_ids)
    nlp = StaticEmbedder().encode(texts)
    print("mean of rows vs nlpfind's static embedder: min cosine", float((ours * nlp).sum(1).min()))
    from transformers import AutoModel

    packaged = AutoModel.from_pretrained(str(resolve_model_path("minilm")))
    old_of = {row.tobytes(): i for i, row in enumerate(packaged.get_input_embeddings().weight.detach().numpy())}
    new_rows = captured["rows"]
    seqs = [[old_of[new_rows[i].tobytes()] for i in seq] for seq in captured["token_ids"]]
    moved = sum(a != b for seq, old in zip(captured["token_ids"], seqs) for a, b in zip(seq, old))
    again = token_table(packaged, seqs, "cpu")
    print(f"{moved} token ids mapped back to the packaged model's; its pooled outputs vs model2vec's: max abs diff",
          float(np.abs(again - captured["raw"]).max()))
    print(f"{len(seqs)} token sequences, lengths {sorted(set(map(len, seqs)))}")
    (data / "static_ids.json").write_text(json.dumps({"token_ids": seqs, "texts": text_ids,
                                                      "descriptions": desc_ids}), encoding="utf-8")


if __name__ == "__main__":
    main()
