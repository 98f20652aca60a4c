"""Evaluate `nlpfind compare` against BERTopic on the partnership summaries plus the North Ayrshire report.

    .venv/bin/python eval/compare_eval.py [--shared ../shared] [--results eval/RESULTS.md]

Both systems see the same finding sentences (strengths, weaknesses and mixed findings that the shipped
model finds) and the same all-MiniLM-L6-v2 vectors; BERTopic runs with default settings. The script
also repeats both on a small corpus (ten summaries) and writes its section of eval/RESULTS.md between
`<!-- begin:compare -->` and `<!-- end:compare -->`. RESULTS.md quotes no report text: themes are named
by taxonomy names or by their 2-4 key terms.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NOT_PARTNERSHIPS = ("-", "Scotland")  # methodology and grading-scale files in the summaries folder


def partnership_files(summaries: Path) -> tuple[list[Path], list[str]]:
    """Summary files whose manifest area is a partnership; the names of those left out."""
    rows = list(csv.DictReader((summaries / "manifest.csv").read_text(encoding="utf-8-sig").splitlines()))
    area = {r["file"]: r["area"].strip() for r in rows}
    keep, dropped = [], []
    for p in sorted(summaries.glob("*.txt")):
        a = area.get(p.name, "")
        if not a or a.startswith(NOT_PARTNERSHIPS):
            dropped.append(p.name)
        else:
            keep.append(p)
    return keep, dropped


def run_bertopic(texts: list[str], embeddings, partnerships: list[str], repeats: int = 1) -> dict:
    """BERTopic with default settings on precomputed embeddings (same model passed for its own use)."""
    out: dict = {"ok": False}
    try:
        import bertopic
        from bertopic import BERTopic
    except ImportError as exc:
        out["error"] = f"not installed ({exc}); install with .venv/bin/pip install -e '.[eval]'"
        return out
    from nlpfind.embed import get_embedder

    out["version"] = bertopic.__version__
    times = []
    for _ in range(repeats):  # the first fit in a process also compiles UMAP's numba code
        t0 = time.perf_counter()
        try:
            model = BERTopic(embedding_model=get_embedder("minilm").model)
            topics, _ = model.fit_transform(texts, embeddings=embeddings)
        except Exception as exc:  # BERTopic/UMAP/HDBSCAN fail in several ways on small inputs
            out["seconds"] = time.perf_counter() - t0
            out["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            out["trace"] = traceback.format_exc(limit=2)
            return out
        times.append(time.perf_counter() - t0)
    out["seconds"], out["times"] = times[-1], times
    counts = Counter(int(t) for t in topics)
    out.update(ok=True, topics=len([t for t in counts if t != -1]), outliers=counts.get(-1, 0), findings=len(texts))
    rows = []
    for tid in sorted(t for t in counts if t != -1):
        words = [w for w, _ in (model.get_topic(tid) or [])][:4]
        touched = len({p for p, t in zip(partnerships, topics) if t == tid})
        rows.append((tid, counts[tid], touched, ", ".join(words)))
    out["rows"] = sorted(rows, key=lambda r: (-r[2], -r[1], r[0]))
    return out


def run_nlpfind(paths: list[Path], manifest: Path | None, cache: Path, classifier) -> tuple[object, float]:
    from nlpfind.compare import compare_reports

    t0 = time.perf_counter()
    c = compare_reports(paths, classifier, manifest=manifest, cache_dir=cache, merge=True, warn=lambda m: None)
    return c, time.perf_counter() - t0


def summarise(c, seconds: float, warm: float | None) -> dict:
    s = c.stats
    return {"partnerships": len(c.partnerships), "reports": s["reports"], "findings": s["findings"],
            "themes": len(c.themes), "discovered": sum(not t.seeded for t in c.themes),
            "unassigned": s["unassigned"], "seconds": seconds, "warm": warm, "by_source": s["by_source"]}


def markdown(command: str, runs: dict[str, dict], dropped: list[str], c) -> str:
    def pct(a: int, b: int) -> str:
        return f"{100 * a / b:.1f}%" if b else "n/a"

    full = runs["full"]
    lines = ["## nlpfind compare: recurring themes, against BERTopic", "",
             f"Made by `{command}`. Both systems get the same finding sentences (the strengths, areas for "
             "improvement and mixed findings that `models/default` tags) and the same all-MiniLM-L6-v2 vectors; "
             "BERTopic runs with default settings (UMAP + HDBSCAN, unseeded, so its numbers vary a little "
             "between runs). Times are wall-clock seconds on this machine's CPU (2 cores): nlpfind's theme step "
             "(assignment + discovery) next to BERTopic's fit on the same vectors, and the whole `compare` run "
             "(read, classify, embed, themes) with an empty embedding cache and again with it filled; the first cold "
             "run also loads MiniLM. BERTopic's first fit in the process also compiles UMAP's numba code, so on the "
             "full corpus it is fitted twice and both times are shown (topics and outliers are from the second fit).",
             "",
             f"Corpus: `shared/corpus/summaries/*.txt` whose manifest area is a partnership ({full['n_files']} files; "
             f"{len(dropped)} methodology and grading-scale files with area `-` or `Scotland` left out), named by the "
             "summaries' `manifest.csv` (file, area, year), plus `reports/north-ayrshire-2022.txt`; reports naming "
             "the same partnership are merged (`merge=True`). The small corpora are the first ten and the first two of "
             "those summaries (by file name).",
             "",
             "| corpus | system | findings | themes | of which new | findings unassigned | time (s) |",
             "|---|---|---|---|---|---|---|"]
    names = {"full": "summaries + North Ayrshire", "small": "10 summaries", "two": "2 summaries"}
    for key, run in runs.items():
        name = names[key]
        n = run["nlpfind"]
        lines.append(f"| {name} ({n['partnerships']} partnerships) | nlpfind | {n['findings']} | {n['themes']} | "
                     f"{n['discovered']} | {n['unassigned']} ({pct(n['unassigned'], n['findings'])}) | "
                     f"themes {run['theme_step']:.2f}; compare {n['seconds']:.1f} cold, {n['warm']:.1f} cached |")
        b = run["bertopic"]
        if b.get("ok"):
            fit = " then ".join(f"{t:.2f}" for t in b["times"])
            lines.append(f"| | BERTopic {b['version']} | {b['findings']} | {b['topics']} | {b['topics']} | "
                         f"{b['outliers']} ({pct(b['outliers'], b['findings'])}) | fit {fit} |")
        else:
            error = str(b.get("error", "")).replace("|", "/")
            lines.append(f"| | BERTopic | {n['findings']} | failed: {error} | | | |")
    src = full["nlpfind"]["by_source"]
    lines += ["", f"nlpfind's themes on the full corpus: {src['model']} findings took the model's seeded themes, "
              f"{src['similarity']} the closest seeded theme by similarity, {src['discovered']} went to discovered "
              f"themes and {src['none']} stayed unassigned.", ""]
    for title, themes, side in (("Recurring areas for improvement (nlpfind)", c.recurring_improvements(), "weakness"),
                                ("Recurring strengths (nlpfind)", c.recurring_strengths(), "strength")):
        lines += [f"### {title}", "", "| # | theme | kind | partnerships | findings |", "|---|---|---|---|---|"]
        for i, t in enumerate(themes[:12], start=1):
            who = t.weakness_partnerships if side == "weakness" else t.strength_partnerships
            lines.append(f"| {i} | {t.label} | {'seeded' if t.seeded else 'discovered'} | {len(who)} | "
                         f"{sum(getattr(x, side) for x in t.cells)} |")
        lines.append("")
    new = [t for t in c.themes if not t.seeded]
    if new:
        lines += ["### Discovered themes (nlpfind; key terms, representative findings by report and offsets)", ""]
        for t in new:
            refs = ", ".join(f"{q.report}:{q.start}-{q.end}" for q in t.representatives)
            lines.append(f"- {t.label} ({len(t.cells)} partnerships, {t.findings} findings): {refs}")
        lines.append("")
    b = full["bertopic"]
    if b.get("ok"):
        lines += ["### BERTopic topics on the full corpus (top words, partnerships touched)", "",
                  "| topic | findings | partnerships | top words |", "|---|---|---|---|"]
        lines += [f"| {tid} | {n} | {p} | {w} |" for tid, n, p, w in b["rows"][:15]]
        if len(b["rows"]) > 15:
            lines.append(f"| … | | | {len(b['rows']) - 15} more topics |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--results", type=Path, default=ROOT / "eval" / "RESULTS.md")
    args = ap.parse_args()
    from nlpfind.classify import Classifier
    from nlpfind.embed import EmbeddingCache, get_embedder
    from nlpfind.evaluate import update_results_file

    summaries = args.shared / "corpus" / "summaries"
    na = args.shared / "corpus" / "reports" / "north-ayrshire-2022.txt"
    files, dropped = partnership_files(summaries)
    classifier = Classifier()
    out: dict[str, dict] = {}
    comparison = None
    for name, paths in (("full", files + [na]), ("small", files[:10]), ("two", files[:2])):
        cache = Path(tempfile.mkdtemp(prefix="nlpfind-compare-eval-"))
        try:
            c, cold = run_nlpfind(paths, summaries / "manifest.csv", cache, classifier)
            _, warm = run_nlpfind(paths, summaries / "manifest.csv", cache, classifier)
            texts = [" ".join(q.text.split()) for q in c.quotes]
            emb = EmbeddingCache(cache / "embeddings", get_embedder("minilm")).encode(texts)
            out[name] = {"nlpfind": summarise(c, cold, warm), "theme_step": c.stats["seconds"]["themes"],
                         "bertopic": run_bertopic(texts, emb, [q.partnership for q in c.quotes],
                                                 repeats=2 if name == "full" else 1),
                         "n_files": len(files)}
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        if name == "full":
            comparison = c
        n, b = out[name]["nlpfind"], out[name]["bertopic"]
        print(f"{name}: nlpfind {n['themes']} themes ({n['discovered']} new), {n['unassigned']}/{n['findings']} "
              f"unassigned, {n['seconds']:.1f}s cold / {n['warm']:.1f}s cached; BERTopic "
              + (f"{b['topics']} topics, {b['outliers']}/{b['findings']} outliers, {b['seconds']:.1f}s"
                 if b.get("ok") else f"failed: {b.get('error')}"))
    command = ".venv/bin/python eval/compare_eval.py" + "".join(f" {a}" for a in sys.argv[1:])
    update_results_file(args.results, "compare", markdown(command, out, dropped, comparison))
    print(f"written to {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
