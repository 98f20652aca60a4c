"""Does a sentence's neighbourhood help? Grouped CV of the default recipe with context vectors appended.

A finding often leans on the sentence before it ("This was not yet consistent.", "However, ..."): its
statement and theme are the previous sentence's, and a "However" flips its polarity. Each variant appends
to the default model's sentence vector (MiniLM layers 3, 4, 6) the MiniLM vector of the sentence's
neighbours in the report as segmented (labelled or not), at a weight; everything else is `nlpfind
evaluate` with configs/train.toml: the same folds, features and heads. Neighbours are taken within the
same section only (a heading starts a new context).

Usage: python eval/context_ab.py [VARIANT ...]   (default: all; names below)
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

from nlpfind.corpus import (  # noqa: E402
    DEFAULT_CORPUS,
    _framework_for,
    default_report_dirs,
    find_report_file,
    read_manifest,  # noqa: E402
)
from nlpfind.read import read_document  # noqa: E402
from nlpfind.segment import segment  # noqa: E402
from nlpfind.train import embed_texts  # noqa: E402

#: name -> (which neighbours, weight)
VARIANTS = {
    "none": ((), 0.0),
    "prev 0.5": (("prev",), 0.5), "prev 1": (("prev",), 1.0),
    "both 0.5": (("prev", "next"), 0.5), "both 1": (("prev", "next"), 1.0),
    "both sep 0.5": (("prev", "next", "sep"), 0.5),
}


def neighbours(corpus, framework) -> tuple[list[str], list[str]]:
    """The clean text of each labelled sentence's previous and next sentence in its section ('' where none)."""
    manifest = read_manifest(DEFAULT_CORPUS / "manifest.csv")
    dirs = default_report_dirs() + [DEFAULT_CORPUS]
    by_report: dict[str, list] = {}
    for rid in sorted({s.report for s in corpus.sentences}):  # as load_corpus segments them
        src = find_report_file(manifest[rid].file, dirs)
        by_report[rid] = segment(read_document(src).text, _framework_for(manifest[rid].framework, framework, rid))
    prev, nxt = [], []
    for s in corpus.sentences:
        sents = by_report[s.report]
        i = next((k for k, x in enumerate(sents) if x.start <= s.start < x.end or s.start <= x.start < s.end), None)
        p = sents[i - 1] if i is not None and i > 0 and sents[i - 1].section == sents[i].section else None
        n = sents[i + 1] if i is not None and i + 1 < len(sents) and sents[i + 1].section == sents[i].section else None
        prev.append(p.clean if p else "")
        nxt.append(n.clean if n else "")
    return prev, nxt


def main(names: list[str]) -> None:
    config, framework, corpus, _texts, sent, desc = default_setup()
    prev, nxt = neighbours(corpus, framework)
    print(f"{sum(bool(p) for p in prev)} / {len(prev)} sentences have a previous sentence in their section, "
          f"{sum(bool(n) for n in nxt)} a next", flush=True)

    def vectors(ts: list[str]) -> np.ndarray:
        out = np.zeros((len(ts), 384), dtype=np.float32)
        idx = [k for k, t in enumerate(ts) if t]
        out[idx] = embed_texts([ts[k] for k in idx], "minilm")
        return out

    ctx = {"prev": vectors(prev), "next": vectors(nxt)}
    for name in names:
        which, weight = VARIANTS[name]
        blocks = [sent]
        if "sep" in which:
            blocks += [weight * ctx["prev"], weight * ctx["next"]]
        elif which:
            blocks.append(weight * sum(ctx[w] for w in which) / len(which))
        x = np.concatenate(blocks, axis=1)
        print(score_vectors(name, config, corpus, x, desc), flush=True)


if __name__ == "__main__":
    unknown = [a for a in sys.argv[1:] if a not in VARIANTS]
    if unknown:
        sys.exit(f"unknown variant {unknown[0]!r}; choose from: {', '.join(VARIANTS)}")
    main(sys.argv[1:] or list(VARIANTS))
