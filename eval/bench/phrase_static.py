"""Does the fast path gain from MiniLM's vectors of whole phrases? (issue 5; measured, not shipped)

A static model holds one vector per token, so "not yet" is the mean of "not" and "yet". Here every
word 1-3 gram that occurs in at least --min-df unlabelled Ofsted report sentences is embedded by
MiniLM as a phrase, and a sentence's phrase vector is the tf-idf-weighted sum of its grams' vectors
(unit length). The fast recipe (`configs/train-fast.toml`) is then cross-validated with the static
vector alone, or with the phrase vector appended (weight --weight), inside `nlpfind evaluate`'s
grouped folds. No Scottish text is used to build the phrase table, and no labels.

Usage: python eval/bench/phrase_static.py [--min-df 5] [--min-n 1] [--weight 1.0] [--work DIR]
Prints the Scottish (carh) and Ofsted (ilacs) metrics of the static baseline and the phrase variant.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tune_static import ROOT, gather_sentences  # noqa: E402

NGRAM_MAX = 3


def phrase_table(work: Path, min_df: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Grams with document frequency >= min_df in the Ofsted sentences, their MiniLM vectors and idf (cached)."""
    from nlpfind.features import analyze

    files = [work / f"{name}_{min_df}.{ext}" for name, ext in (("grams", "json"), ("vectors", "npy"), ("idf", "npy"))]
    if all(f.is_file() for f in files):
        return json.loads(files[0].read_text()), np.load(files[1]), np.load(files[2])
    sentences = gather_sentences([ROOT.parent / "shared" / "corpus" / "ofsted-ilacs"], work / "sentences.json")
    df = Counter()
    for s in sentences:
        df.update(set(analyze(s, NGRAM_MAX)))
    grams = sorted(g for g, c in df.items() if c >= min_df)
    from nlpfind.embed import get_embedder

    vectors = get_embedder("minilm").encode(grams).astype(np.float32)
    idf = (np.log((1 + len(sentences)) / (1 + np.array([df[g] for g in grams]))) + 1).astype(np.float32)
    files[0].write_text(json.dumps(grams))
    np.save(files[1], vectors)
    np.save(files[2], idf)
    return grams, vectors, idf


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--min-df", type=int, default=5)
    ap.add_argument("--min-n", type=int, default=1, help="shortest gram in the phrase vector (2: phrases only)")
    ap.add_argument("--weight", type=float, default=1.0, help="weight of the appended phrase vector")
    ap.add_argument("--work", type=Path, default=Path("/tmp/nlpfind-phrase-static"))
    args = ap.parse_args()
    args.work.mkdir(exist_ok=True)

    from nlpfind.config import load_framework, load_train_config
    from nlpfind.corpus import load_corpus
    from nlpfind.evaluate import evaluate
    from nlpfind.features import tfidf
    from nlpfind.train import description_texts, embed_texts, inputs_for

    grams, vectors, idf = phrase_table(args.work, args.min_df)
    keep = [k for k, g in enumerate(grams) if g.count(" ") + 1 >= args.min_n]
    vocab = {grams[k]: j for j, k in enumerate(keep)}
    vectors, idf = vectors[keep], idf[keep]
    print(f"{len(keep)} grams ({args.min_n}-{NGRAM_MAX} words, in >= {args.min_df} Ofsted sentences)", flush=True)

    def phrase_vectors(texts: list[str]) -> np.ndarray:
        v = np.asarray(tfidf(texts, vocab, idf, NGRAM_MAX) @ vectors, dtype=np.float32)
        norms = np.linalg.norm(v, axis=1, keepdims=True)
        return v / np.where(norms == 0, 1, norms)

    config_path = ROOT / "configs" / "train-fast.toml"
    config = load_train_config(config_path)
    framework = load_framework(config.framework)
    corpus = load_corpus(None, framework, None)
    texts = [i.text for i in inputs_for(corpus.sentences, framework)]
    descriptions = description_texts(framework)
    static = embed_texts(texts, config.embedding_model), embed_texts(descriptions, config.embedding_model)
    appended = (np.hstack([static[0], args.weight * phrase_vectors(texts)]).astype(np.float32),
                np.hstack([static[1], args.weight * phrase_vectors(descriptions)]).astype(np.float32))
    for name, (emb, desc) in (("static", static), ("static + phrases", appended)):
        result = evaluate(config=config, corpus=corpus, systems=("nlpfind",),
                          fold_embeddings=lambda _fold, e=emb, d=desc: (e, d)).system("nlpfind")
        row = " ".join(f"{k} {v:.3f}" for k, v in sorted(result.subsets["carh"].items()))
        ofsted = " ".join(f"{k} {v:.3f}" for k, v in sorted(result.subsets["ilacs"].items()))
        print(f"{name}: carh {row} | ilacs {ofsted}", flush=True)


if __name__ == "__main__":
    main()
