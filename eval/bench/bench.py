"""Benchmarks for nlpfind (speed and memory), written to eval/BENCH.md.

    python eval/bench/bench.py            # everything (several minutes; the 1,000-report compare dominates)
    python eval/bench/bench.py --quick    # 10 and 100 reports only, fewer repeats

Measures, on this machine:
- classify: cold whole-process wall time on the North Ayrshire report (median of >= 5 runs) for the default
  (MiniLM), the fast (static), the balanced (fast first, MiniLM where it is unsure) and the tuned model (polarity
  also from a fine-tuned MiniLM: two encoder passes), against
  `python -c "import numpy, sklearn, spacy"`; warm sentences/s in-process, on that report and on five Ofsted
  reports no model was trained on (the balanced model's speed depends on how sure its first pass is, and it is
  sure of most sentences of a report it was trained on); peak RSS;
- compare: 10, 100 and 1,000 reports made by resampling sentences of the real texts in ../shared/corpus
  (written to a temporary folder, never to the repository), cold (empty embedding cache) and warm; wall
  time, peak RSS and the fitted growth exponent of time against sentences;
- BERTopic (default settings, the same findings and the same embeddings) on the largest corpus.
Timings are not tests: nothing here asserts; every number, met or not, goes to BENCH.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "corpus"
REPORT = SHARED / "reports" / "north-ayrshire-2022.txt"
PY = sys.executable
TIME = shutil.which("time") or "/usr/bin/time"
sys.path.insert(0, str(ROOT))


def _tree_rss_kb(root: int) -> int:
    """Summed VmRSS of `root` and all its descendants (from /proc; 0 for processes gone meanwhile)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    parents[int(entry)] = int(fh.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    total = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/status") as fh:
                total += next((int(line.split()[1]) for line in fh if line.startswith("VmRSS:")), 0)
        except OSError:
            pass
    return total


def run_timed(cmd: list[str], env: dict | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (MB) of one command: the largest sum over its process tree (worker
    processes count), sampled every 0.1 s, or GNU time's peak of the largest process if that is higher."""
    wall, rss, _ = run_timed_output(cmd, env)
    return wall, rss


def run_timed_output(cmd: list[str], env: dict | None = None, cwd: Path | None = None) -> tuple[float, int, str]:
    """run_timed, also returning the command's stdout."""
    import threading

    t0 = time.perf_counter()
    proc = subprocess.Popen([TIME, "-f", "%M", *cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=cwd)
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss_kb(proc.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {err[-2000:]}")
    rss_kb = max(int(err.strip().splitlines()[-1]), peak[0])
    return wall, rss_kb // 1024, out


def machine() -> dict:
    import importlib.metadata as md

    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = {}
    for pkg in ("nlpfind", "numpy", "scikit-learn", "spacy", "onnxruntime", "torch", "sentence-transformers", "model2vec",
                "bertopic"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = "not installed"
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem, 1), "python": platform.python_version(),
            "platform": platform.platform(), "versions": versions}


UNSEEN_REPORTS = 5
# (row name, model folder, embedding backend): the default model runs MiniLM through onnxruntime; the
# numpy and sentence-transformers rows are the same model and vectors the ways it ran before, for comparison.
CLASSIFY_RUNS = (("default", "default", "auto"), ("default via numpy", "default", "numpy"),
                 ("default via sentence-transformers", "default", "sentence-transformers"), ("fast", "fast", "auto"),
                 ("balanced", "balanced", "auto"), ("tuned", "tuned", "auto"))


def unseen_text(n: int = UNSEEN_REPORTS) -> str:
    """The text of the first `n` Ofsted PDFs with no labelled sentence in corpus/ (no model was trained on them)."""
    import csv

    from nlpfind.read import read_document

    with (ROOT / "corpus" / "manifest.csv").open(encoding="utf-8") as fh:
        labelled = {row["report"] for row in csv.DictReader(fh)}
    paths = [p for p in sorted((SHARED / "ofsted-ilacs").glob("*.pdf")) if p.stem not in labelled][:n]
    return "\n\n".join(read_document(p).text for p in paths)


def warm_rate(clf, text: str, copies: int) -> tuple[float, int]:
    """Median sentences/s of three in-process classifications of `copies` copies of `text`, and the sentences."""
    big = "\n\n".join([text] * copies)
    rates = []
    for _ in range(3):
        t0 = time.perf_counter()
        n = sum(1 for _ in clf.classify_text(big))
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates), n


def bench_classify(repeats: int) -> dict:
    from nlpfind.classify import Classifier
    from nlpfind.read import read_document

    out: dict = {}
    base = [run_timed([PY, "-c", "import numpy, sklearn, spacy"]) for _ in range(repeats)]
    out["import_baseline_s"] = statistics.median(w for w, _ in base)
    from nlpfind import embed

    text = read_document(REPORT).text
    unseen = unseen_text()
    for name, folder, backend in CLASSIFY_RUNS:
        model = ROOT / "models" / folder
        env = dict(os.environ, **{embed.BACKEND_ENV: backend})
        runs = [run_timed([PY, "-m", "nlpfind.cli", "classify", str(REPORT), "--format", "jsonl", "--model", str(model),
                           "--out", os.devnull], env) for _ in range(repeats)]
        clf = Classifier(model)
        if clf.model.uses_embeddings() and clf.model.embedding_model == embed.DEFAULT_MODEL:
            clf.embeddings = embed.Embedder(embed.DEFAULT_MODEL, backend=backend,  # this row's backend
                                            layers=clf.model.embedding_layers).encode
        list(clf.classify_text(text))  # warm up: load models, caches
        rate, n = warm_rate(clf, text, {"fast": 20, "balanced": 6}.get(name, 2))
        unseen_rate, unseen_n = warm_rate(clf, unseen, 4 if name == "fast" else 1)
        out[name] = {"cold_median_s": statistics.median(w for w, _ in runs), "cold_runs_s": [round(w, 2) for w, _ in runs],
                     "peak_rss_mb": max(r for _, r in runs), "warm_sentences_per_s": rate, "warm_sentences": n,
                     "unseen_sentences_per_s": unseen_rate, "unseen_sentences": unseen_n}
    return out


def sentence_pool() -> list[str]:
    from nlpfind.config import load_framework
    from nlpfind.read import read_document
    from nlpfind.segment import segment

    fw = load_framework()
    pool = []
    for path in [REPORT, *sorted((SHARED / "summaries").glob("*.txt"))]:
        pool += [s.clean for s in segment(read_document(path).text, fw) if len(s.clean.split()) >= 6]
    return pool


def make_corpus(folder: Path, n_reports: int, pool: list[str], seed: int = 0, per_report: int = 280) -> int:
    """Write n synthetic reports of resampled real sentences, laid out like a report; return sentence count."""
    from nlpfind.config import load_framework

    rng = random.Random(seed)
    fw = load_framework()
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    for r in range(n_reports):
        name = "".join(chr(ord("a") + (r // 26 ** k) % 26) for k in range(3)).title()
        parts = [f"Report of a joint inspection of services for young people and children at risk of harm in "
                 f"Bench {name}", "", "Key messages", ""]
        sents = rng.choices(pool, k=per_report)
        total += len(sents)
        chunks = [sents[i:i + 5] for i in range(0, len(sents), 5)]
        for k, chunk in enumerate(chunks):
            if k % (len(chunks) // 4 + 1) == 0:
                st = fw.statements[min(3, k // (len(chunks) // 4 + 1))]
                parts += [f"Statement {st.id}: {st.title}", ""]
            parts += [" ".join(chunk), ""]
        (folder / f"benchshire-{r:04d}.txt").write_text("\n".join(parts), encoding="utf-8")
    # Resampled sentences name real places; the manifest says which partnership each report is.
    with (folder.parent / f"{folder.name}-manifest.csv").open("w", encoding="utf-8") as fh:
        fh.write("file,partnership,year\n")
        for r in range(n_reports):
            name = "".join(chr(ord("a") + (r // 26 ** k) % 26) for k in range(3)).title()
            fh.write(f"benchshire-{r:04d}.txt,Bench {name},2025\n")
    return total


def bench_compare(sizes: list[int], pool: list[str], work: Path) -> dict:
    out = {}
    for n in sizes:
        corpus = work / f"corpus-{n}"
        sentences = make_corpus(corpus, n, pool)
        cache = work / f"cache-{n}"
        env = dict(os.environ, NLPFIND_CACHE=str(cache))
        cmd = [PY, "-m", "nlpfind.cli", "compare", "--dir", str(corpus), "--manifest",
               str(work / f"corpus-{n}-manifest.csv"), "--format", "json", "--model",
               str(ROOT / "models" / "fast"), "--out", str(work / f"compare-{n}.json")]
        cold = run_timed(cmd, env)
        warm = run_timed(cmd, env)
        out[n] = {"sentences": sentences, "cold_s": cold[0], "cold_rss_mb": cold[1], "warm_s": warm[0],
                  "warm_rss_mb": warm[1]}
        print(f"compare {n} reports: cold {cold[0]:.1f}s, warm {warm[0]:.1f}s", file=sys.stderr, flush=True)
    return out


def growth_exponent(points: list[tuple[int, float]]) -> float:
    import numpy as np

    x = np.log([p[0] for p in points])
    y = np.log([p[1] for p in points])
    return float(np.polyfit(x, y, 1)[0])


def bench_bertopic(corpus: Path, cache: Path, timeout_s: int) -> dict:
    """BERTopic with default settings on the findings nlpfind tags in `corpus`, with the same vectors."""
    code = f"""
import json, sys, time
START = time.perf_counter()
sys.path.insert(0, {str(ROOT)!r})
from pathlib import Path
from nlpfind.classify import Classifier, classify_file
from nlpfind.embed import EmbeddingCache, get_embedder
clf = Classifier({str(ROOT / 'models' / 'fast')!r})
cache = EmbeddingCache(Path({str(cache)!r}) / "embeddings", clf.model.embedder())
clf.embeddings = cache.encode
docs = []
for p in sorted(Path({str(corpus)!r}).glob("*.txt")):
    docs += [f.text for f in classify_file(p, clf).findings if f.polarity != "neutral"]
emb = cache.encode(docs)
from bertopic import BERTopic
# Said before the fit, so that a run stopped by the timeout still bounds the fit's time from below.
print(json.dumps({{"prep_s": time.perf_counter() - START, "findings": len(docs)}}), file=sys.stderr, flush=True)
t0 = time.perf_counter()
topics, _ = BERTopic().fit_transform(docs, embeddings=emb)
dt = time.perf_counter() - t0
print(json.dumps({{"findings": len(docs), "fit_s": dt, "topics": len(set(topics) - {{-1}}),
                  "outliers": sum(t == -1 for t in topics)}}))
"""
    try:
        proc = subprocess.run([PY, "-c", code], capture_output=True, text=True, timeout=timeout_s,
                              env=dict(os.environ, NLPFIND_CACHE=str(cache)))
    except subprocess.TimeoutExpired as stopped:
        return {"error": f"did not finish within {timeout_s} s", **_fit_lower_bound(stopped.stderr, timeout_s)}
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _fit_lower_bound(stderr: bytes | str | None, timeout_s: int) -> dict:
    """From a stopped BERTopic run's stderr: its findings and the least time its fit ran ({} if it never began)."""
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr or ""
    for line in reversed(text.splitlines()):
        if line.startswith('{"prep_s"'):
            prep = json.loads(line)
            return {"findings": prep["findings"], "fit_at_least_s": timeout_s - prep["prep_s"]}
    return {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10 and 100 reports only; 3 repeats")
    parser.add_argument("--bertopic-timeout", type=int, default=900)
    args = parser.parse_args()
    if not REPORT.is_file():
        sys.exit(f"bench needs {REPORT} (the shared corpus); it is not here")
    repeats = 3 if args.quick else 5
    sizes = [10, 100] if args.quick else [10, 100, 1000]
    info = machine()
    print("classify…", file=sys.stderr, flush=True)
    cls = bench_classify(repeats)
    work = Path(tempfile.mkdtemp(prefix="nlpfind-bench-"))
    try:
        pool = sentence_pool()
        comp = bench_compare(sizes, pool, work)
        largest = max(sizes)
        print("BERTopic…", file=sys.stderr, flush=True)
        bt = bench_bertopic(work / f"corpus-{largest}", work / f"cache-{largest}", args.bertopic_timeout)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    cold_exp = growth_exponent([(comp[n]["sentences"], comp[n]["cold_s"]) for n in sizes])
    warm_exp = growth_exponent([(comp[n]["sentences"], comp[n]["warm_s"]) for n in sizes])
    write_markdown(info, cls, comp, cold_exp, warm_exp, bt, sizes, " ".join(["python eval/bench/bench.py", *sys.argv[1:]]))


def pair_exponent(comp: dict, sizes: list[int]) -> float:
    """Growth exponent between the two largest runs (cold)."""
    a, b = comp[sizes[-2]], comp[sizes[-1]]
    return math.log(b["cold_s"] / a["cold_s"]) / math.log(b["sentences"] / a["sentences"])


def write_markdown(info, cls, comp, cold_exp, warm_exp, bt, sizes, command) -> None:
    base = cls["import_baseline_s"]
    largest = max(sizes)
    lines = [
        "# nlpfind benchmarks", "",
        "## Programme-scale benchmarks (issue 5)", "",
        f"Command: `{command}` (run from the repository root; needs ../shared/corpus).", "",
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB; Python {info['python']}; "
        f"{info['platform']}.", "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()) + ".", "",
        "### classify (North Ayrshire report, 280 sentences)", "",
        f"Baseline `python -c \"import numpy, sklearn, spacy\"`: median {base:.2f} s.", "",
        f"Warm rates: in-process, on the North Ayrshire report (which every model was trained on) and on the text of "
        f"{UNSEEN_REPORTS} Ofsted reports none was trained on ({cls['default']['unseen_sentences']} sentences). "
        "The balanced model classifies again with MiniLM the sentences its first pass is unsure of, and it is sure of "
        "almost all of a report it was trained on: its unseen rate is the one to read.", "",
        "| model | cold median (s) | cold / baseline | cold runs (s) | peak RSS (MB) | warm sentences/s | "
        "warm sentences/s, unseen reports |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, _, _ in CLASSIFY_RUNS:
        c = cls[name]
        lines.append(f"| {name} | {c['cold_median_s']:.2f} | {c['cold_median_s'] / base:.2f}x | "
                     f"{', '.join(map(str, c['cold_runs_s']))} | {c['peak_rss_mb']} | {c['warm_sentences_per_s']:.0f} | "
                     f"{c['unseen_sentences_per_s']:.0f} |")
    lines += ["", "### compare (synthetic reports of resampled real sentences, fast model)", "",
              "| reports | sentences | cold (s) | cold peak RSS (MB) | warm cache (s) | warm peak RSS (MB) |",
              "|---|---|---|---|---|---|"]
    for n in sizes:
        c = comp[n]
        lines.append(f"| {n} | {c['sentences']} | {c['cold_s']:.1f} | {c['cold_rss_mb']} | {c['warm_s']:.1f} | "
                     f"{c['warm_rss_mb']} |")
    lines += ["", f"Growth exponent of time against sentences (log-log fit over {', '.join(map(str, sizes))} reports): "
              f"cold {cold_exp:.2f}, warm {warm_exp:.2f}. The smallest run is dominated by start-up (model "
              "loading); between the two largest runs the exponent is "
              f"{pair_exponent(comp, sizes):.2f}"
              " (cold). A warm run finds every report's classified findings, every sentence embedding and the "
              "theme assignment in the cache (keyed by content, model and code), so it reads, looks up and renders "
              "only. compare "
              "classifies on one worker process per CPU; peak RSS sums the whole process tree.", ""]
    if "fit_at_least_s" in bt:
        lines.append(f"BERTopic (default settings, same findings and embeddings) on {largest} reports: "
                     f"{bt['error']}; its fit on {bt['findings']} findings ran at least {bt['fit_at_least_s']:.0f} s "
                     f"before it was stopped, so nlpfind's whole cold compare ({comp[largest]['cold_s']:.1f} s) was "
                     f"at least {bt['fit_at_least_s'] / comp[largest]['cold_s']:.1f}x faster than BERTopic's fit "
                     "alone (a lower bound; `--bertopic-timeout` gives it longer).")
    elif "error" in bt:
        lines.append(f"BERTopic (default settings, same findings and embeddings) on {largest} reports: {bt['error']}.")
    else:
        lines.append(f"BERTopic (default settings, same findings and embeddings) on {largest} reports: fit "
                     f"{bt['fit_s']:.1f} s on {bt['findings']} findings, {bt['topics']} topics, {bt['outliers']} "
                     f"outliers; nlpfind's whole cold compare took {comp[largest]['cold_s']:.1f} s "
                     f"({bt['fit_s'] / comp[largest]['cold_s']:.1f}x faster than BERTopic's fit alone).")
    d, f = cls["default"], cls["fast"]
    lines += ["", "### Targets (issue 5)", "",
              f"- warm classify >= 5,000 sentences/s with the default model: default (MiniLM through onnxruntime) "
              f"{d['warm_sentences_per_s']:.0f}/s (in numpy {cls['default via numpy']['warm_sentences_per_s']:.0f}/s), "
              f"fast (static) {f['warm_sentences_per_s']:.0f}/s; on unseen reports default "
              f"{d['unseen_sentences_per_s']:.0f}/s, fast {f['unseen_sentences_per_s']:.0f}/s, balanced (the fast model "
              f"first, MiniLM for the sentences it is unsure of) {cls['balanced']['unseen_sentences_per_s']:.0f}/s, tuned "
              f"(two MiniLM passes: packaged and fine-tuned) {cls['tuned']['unseen_sentences_per_s']:.0f}/s.",
              f"- cold classify <= 2x the import baseline: default {d['cold_median_s'] / base:.2f}x "
              f"({cls['default via numpy']['cold_median_s'] / base:.2f}x in numpy, "
              f"{cls['default via sentence-transformers']['cold_median_s'] / base:.2f}x through sentence-transformers), "
              f"fast {f['cold_median_s'] / base:.2f}x, balanced {cls['balanced']['cold_median_s'] / base:.2f}x, "
              f"tuned {cls['tuned']['cold_median_s'] / base:.2f}x.",
              "- compare of 1,000 reports <= 60 s cold and <= 10 s warm, peak RSS <= 2 GB, growth exponent <= 1.1: "
              + (f"cold {comp[1000]['cold_s']:.1f} s, warm {comp[1000]['warm_s']:.1f} s, peak RSS "
                 f"{max(comp[1000]['cold_rss_mb'], comp[1000]['warm_rss_mb'])} MB, exponent {cold_exp:.2f}."
                 if 1000 in comp else "not run (--quick)."),
              "- compare >= 10x faster than BERTopic on the same corpus: see above (whole compare against "
              "BERTopic's fit alone).", ""]
    text = "\n".join(lines[2:]) + "\n"
    from nlpfind.evaluate import update_results_file

    path = ROOT / "eval" / "BENCH.md"
    if not path.is_file():
        path.write_text("# nlpfind benchmarks\n\n", encoding="utf-8")
    update_results_file(path, "synthetic", text)  # the other sections (bench_ofsted.py) stay
    print(text)


if __name__ == "__main__":
    main()
