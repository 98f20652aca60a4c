"""Decision rules tried on the held-out predictions of `nlpfind evaluate`'s folds, without refitting anything.

    python eval/decoding_rules.py [--config configs/train.toml]

Cross-validates the config once on `nlpfind evaluate`'s grouped folds, keeping each sentence's held-out
probabilities (statement, polarity, and all theme probabilities), then re-decides them by each rule below and
scores every rule on the home framework's sentences, on each whole home report and on the other frameworks':

- themes: a second theme where its probability reaches a share of the top one's; no themes on sentences
  predicted neutral or very likely statement `none`; and, as an upper bound on what any threshold rule can do
  with these probabilities, each sentence's true number of themes taken from the top of its ranking;
- statement: the statement among 1-4 re-weighted by the statements its likely themes go with
  (P(statement | theme) counted on the other partnerships' labels); `none` and a statement swapped where the
  polarity head disagrees (a likely finding predicted `none`, a likely neutral predicted a statement);
- polarity: each report's class prior re-estimated from its own sentences by EM (Saerens et al. 2002; the heads
  are fitted with balanced class weights, so their training prior is uniform), then decided by the two thresholds;
  and the strength threshold swept, to show how far the best one differs between a whole report and news text.

Rules that re-decide polarity use one pair of thresholds for every fold (`--thresholds`, the shipped model's),
so their row "polarity: thresholds as shipped" is their baseline, not the per-fold first row.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nlpfind.classify as classify_module  # noqa: E402
from nlpfind.classify import decide_polarity  # noqa: E402
from nlpfind.config import load_framework, load_train_config  # noqa: E402
from nlpfind.corpus import load_corpus  # noqa: E402
from nlpfind.evaluate import WHOLE_REPORT_MIN, evaluate, score  # noqa: E402

KEYS = ("statement_macro_f1", "strength_f1", "weakness_f1", "themes_micro_f1")
POLARITY = ("strength", "weakness", "mixed", "neutral")


def keep_theme_probabilities() -> None:
    """Make FindingModel.predict also return every theme's probability (`theme_proba`): evaluate keeps only the
    tagged themes' scores."""
    predict = classify_module.FindingModel.predict

    def predict_keeping(self, inputs, embeddings=None, polarity_embeddings=None, *, top_theme=None):
        out = predict(self, inputs, embeddings, polarity_embeddings, top_theme=top_theme)
        if out:
            proba = self.theme_head.predict_proba(self.features(inputs, embeddings))
            for pred, row in zip(out, proba):
                pred["theme_proba"] = row
        return out

    classify_module.FindingModel.predict = predict_keeping


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/train.toml")
    parser.add_argument("--thresholds", nargs=2, type=float, default=None, metavar=("STRENGTH", "WEAKNESS"),
                        help="polarity thresholds for the rules that re-decide polarity (default: models/default's)")
    args = parser.parse_args()
    config = load_train_config(ROOT / args.config)
    framework = load_framework(config.framework)
    corpus = load_corpus(None, framework)
    shipped_thresholds = classify_module.FindingModel.from_disk(ROOT / "models" / "default").polarity_thresholds
    thresholds = tuple(args.thresholds or (shipped_thresholds["strength"], shipped_thresholds["weakness"]))
    keep_theme_probabilities()
    preds = evaluate(config=config, corpus=corpus, systems=("nlpfind",), keep_predictions=True).system("nlpfind").predictions
    sents = corpus.sentences
    themes = list(framework.theme_ids)
    framework_of = {r.report: (r.framework or framework.id) for r in corpus.reports}
    home = np.array([framework_of.get(s.report, framework.id) == framework.id for s in sents])
    sizes = Counter(s.report for s, h in zip(sents, home) if h)
    whole = sorted(r for r, n in sizes.items() if n >= WHOLE_REPORT_MIN)
    subsets = {framework.id: home, **{w: np.array([s.report == w for s in sents]) for w in whole},
               "other frameworks": ~home}
    subsets = {k: v for k, v in subsets.items() if v.any()}
    theme_p = np.array([p["theme_proba"] for p in preds])
    s_classes = list(preds[0]["statement_scores"])
    stmt_p = np.array([[p["statement_scores"][c] for c in s_classes] for p in preds])
    pol_p = np.array([[p["polarity_scores"][c] for c in POLARITY] for p in preds])

    def metrics(statements, polarities, tagged, mask) -> str:
        idx = np.flatnonzero(mask)
        m, _, _ = score([sents[i].statement for i in idx], [statements[i] for i in idx],
                        [sents[i].polarity for i in idx], [polarities[i] for i in idx],
                        [tuple(sents[i].themes) for i in idx], [tuple(tagged[i]) for i in idx], framework)
        return " / ".join(f"{m[k]:.3f}" for k in KEYS)

    base_s = [p["statement"] for p in preds]
    base_p = [p["polarity"] for p in preds]
    base_t = [tuple(p["themes"]) for p in preds]
    rows: list[tuple[str, list, list, list]] = [("as evaluated (per-fold polarity thresholds)", base_s, base_p, base_t)]

    # -- themes ---------------------------------------------------------------------------------------
    for share, floor in ((0.5, 0.4), (0.7, 0.2)):
        tagged = []
        for r, t in enumerate(base_t):
            extra = {themes[k] for k in np.flatnonzero((theme_p[r] >= floor) & (theme_p[r] >= share * theme_p[r].max()))}
            tagged.append(tuple(sorted(set(t) | extra)) if t else t)
        rows.append((f"themes: a second theme at >= {share} x the top one's probability and >= {floor}", base_s, base_p,
                     tagged))
    rows.append(("themes: none on a sentence predicted neutral", base_s, base_p,
                 [() if p == "neutral" else t for p, t in zip(base_p, base_t)]))
    none_col = s_classes.index("none")
    rows.append(("themes: none where P(statement none) > 0.8", base_s, base_p,
                 [() if stmt_p[r, none_col] > 0.8 else t for r, t in enumerate(base_t)]))
    rows.append(("themes: upper bound, each sentence's true number of themes from the top of its ranking", base_s,
                 base_p, [tuple(themes[k] for k in np.argsort(-theme_p[r])[:len(s.themes)]) for r, s in enumerate(sents)]))

    # -- statement ------------------------------------------------------------------------------------
    home_weight = float(config.home_weight)
    counts: dict[str, np.ndarray] = defaultdict(lambda: np.zeros((len(themes), len(s_classes))))
    for s, h in zip(sents, home):
        for t in s.themes:
            counts[s.partnership][themes.index(t), s_classes.index(s.statement)] += home_weight if h else 1.0
    total = sum(counts.values())
    statement_cols = [k for k, c in enumerate(s_classes) if c != "none"]
    for alpha in (0.25, 0.5):
        chosen = []
        for r, s in enumerate(sents):
            if base_s[r] == "none":
                chosen.append("none")
                continue
            table = total - counts[s.partnership] + 0.5  # this partnership's own labels left out, as in its fold
            table /= table.sum(axis=1, keepdims=True)
            mix = theme_p[r] @ table / max(theme_p[r].sum(), 1e-9)
            w = stmt_p[r, statement_cols] * mix[statement_cols] ** alpha
            chosen.append(s_classes[statement_cols[int(w.argmax())]])
        rows.append((f"statement: 1-4 re-weighted by the statements of the likely themes, power {alpha}", chosen,
                     base_p, base_t))
    swapped = []
    for r in range(len(sents)):
        neutral = pol_p[r, POLARITY.index("neutral")]
        best = statement_cols[int(stmt_p[r, statement_cols].argmax())]
        if base_s[r] != "none" and neutral > 0.7 and stmt_p[r, none_col] > 0.3:
            swapped.append("none")
        elif base_s[r] == "none" and neutral < 0.3 and stmt_p[r, best] > 0.3:
            swapped.append(s_classes[best])
        else:
            swapped.append(base_s[r])
    rows.append(("statement: none <-> best statement where the polarity head disagrees (P(neutral) > 0.7 or < 0.3)",
                 swapped, base_p, base_t))

    # -- polarity -------------------------------------------------------------------------------------
    def decide(proba: np.ndarray, t_s: float, t_w: float) -> list[str]:
        return decide_polarity(proba, list(POLARITY), {"strength": t_s, "weakness": t_w})

    shipped = decide(pol_p, *thresholds)
    rows.append((f"polarity: thresholds as shipped ({thresholds[0]}, {thresholds[1]}) in every fold", base_s,
                 shipped, base_t))
    by_report: dict[str, list[int]] = defaultdict(list)
    for r, s in enumerate(sents):
        by_report[s.report].append(r)
    for damp in (1.0, 0.5):
        adjusted = pol_p.copy()
        for idx in by_report.values():
            if not home[idx[0]] or len(idx) < 10:
                continue
            prior0 = np.full(len(POLARITY), 1 / len(POLARITY))
            prior = prior0.copy()
            for _ in range(50):
                q = pol_p[idx] * (prior / prior0)
                prior = (q / q.sum(axis=1, keepdims=True)).mean(axis=0)
            prior = damp * prior + (1 - damp) * prior0
            q = pol_p[idx] * (prior / prior0)
            adjusted[idx] = q / q.sum(axis=1, keepdims=True)
        rows.append((f"polarity: each home report's class prior by EM ({damp:g} of the way), shipped thresholds",
                     base_s, decide(adjusted, *thresholds), base_t))
    for t_s in (0.2, 0.4):
        rows.append((f"polarity: strength threshold {t_s} (weakness {thresholds[1]}) in every fold", base_s,
                     decide(pol_p, t_s, thresholds[1]), base_t))

    print(f"Held-out predictions of `{args.config}` on `nlpfind evaluate`'s folds; corpus `{corpus.data_hash}`. "
          "Each cell: statement / strength / weakness / themes.\n")
    print("| rule | " + " | ".join(subsets) + " |")
    print("|---|" + "---|" * len(subsets))
    for name, st, po, th in rows:
        print(f"| {name} | " + " | ".join(metrics(st, po, th, m) for m in subsets.values()) + " |")


if __name__ == "__main__":
    main()
