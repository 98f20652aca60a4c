"""Reassemble the fine-tuned encoder from finetune.py's parts into a sentence-transformers folder.

    python eval/finetune/join_final.py PARTS_DIR OUT_DIR

OUT_DIR gets the packaged MiniLM's configuration and tokenizer files and the fine-tuned weights
(float16 safetensors); `embedding_model = "OUT_DIR"` in a train config then uses it.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main(parts: Path, out: Path) -> None:
    from safetensors.numpy import load_file, save_file

    from nlpfind.embed import resolve_model_path

    blocks: dict[str, list[tuple[int, np.ndarray]]] = {}
    state: dict[str, np.ndarray] = {}
    for f in sorted(parts.glob("final.part*.safetensors")):
        for key, arr in load_file(str(f)).items():
            m = re.fullmatch(r"(.+)::rows(\d+)", key)
            if m:
                blocks.setdefault(m.group(1), []).append((int(m.group(2)), arr))
            else:
                state[key] = arr
    for key, rows in blocks.items():
        state[key] = np.concatenate([a for _, a in sorted(rows, key=lambda r: r[0])])
    src = resolve_model_path("minilm")
    packaged = load_file(str(src / "model.safetensors"))
    for key, arr in packaged.items():  # weights kept frozen in fine-tuning (embeddings) are the packaged ones
        state.setdefault(key, arr.astype(np.float16))
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(src, out, ignore=shutil.ignore_patterns("model.safetensors", "README.md", "data_config.json",
                                                           ".gitattributes"))
    save_file(state, str(out / "model.safetensors"))
    print(f"{out}: {len(state)} tensors")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
