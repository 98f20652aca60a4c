"""Does letting the heads weigh the sentence vector differently per framework help? Grouped CV, "EasyAdapt".

Most training sentences are Ofsted's (2,000 of 3,221) and the targets are on Scottish ones. The default recipe
fits one weight vector for both, Scottish sentences counted 3x (`home_weight`). Feature augmentation (Daume III,
"Frustratingly easy domain adaptation", 2007) gives the heads the sentence vector three times: once shared, once
for home-framework (Scottish) sentences only, once for the others only (zeros elsewhere). With the heads' L2
penalty, a weight moves into a framework's own copy only where the frameworks really differ; a Scottish sentence is
read by the shared and the Scottish copies. Everything else is `nlpfind evaluate` with configs/train.toml: the same
folds, features and heads (the framework of a sentence to classify is known: `classify --framework`).

Usage: python eval/domain_adapt_ab.py [VARIANT ...]   (default: all; names below)
Prints Scottish (carh), North Ayrshire and Ofsted (ilacs) metrics per variant; results are in
eval/RESULTS.md ("targets missed ... what was tried").
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "eval"))

from vector_variants import default_setup, score_vectors  # noqa: E402

from nlpfind.train import home_mask  # noqa: E402

#: name -> (weight of the home-only copy, weight of the other-frameworks-only copy); (0, 0) is the default recipe
#: through the same path. "others only" keeps no Scottish copy: Ofsted's own patterns can go to its copy, and a
#: Scottish sentence is read by the shared weights alone (the Scottish copy can fit the news prose of the few
#: Scottish training partnerships).
VARIANTS = {"none": (0.0, 0.0), "easyadapt 1": (1.0, 1.0), "easyadapt 0.5": (0.5, 0.5), "others only 1": (0.0, 1.0)}


def main(names: list[str]) -> None:
    config, framework, corpus, _texts, sent, desc = default_setup()
    home = np.array(home_mask(corpus, framework), dtype=np.float32)[:, None]
    print(f"{int(home.sum())} home-framework sentences of {len(home)}", flush=True)
    for name in names:
        w_home, w_other = VARIANTS[name]
        blocks = [sent] + ([w_home * sent * home] if w_home else []) + ([w_other * sent * (1 - home)] if w_other else [])
        x = np.concatenate(blocks, axis=1)
        print(score_vectors(name, config, corpus, x.astype(np.float32), desc), flush=True)


if __name__ == "__main__":
    unknown = [a for a in sys.argv[1:] if a not in VARIANTS]
    if unknown:
        sys.exit(f"unknown variant {unknown[0]!r}; choose from: {', '.join(VARIANTS)}")
    main(sys.argv[1:] or list(VARIANTS))
