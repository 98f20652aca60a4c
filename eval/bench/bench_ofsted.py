"""Benchmark over the 129 Ofsted ILACS PDFs (issue 7): read, classify and compare, cold and warm.

    python eval/bench/bench_ofsted.py [--models fast default]

Writes the `ofsted` section of eval/BENCH.md. Each measurement runs in a fresh process (wall time
and peak RSS via GNU time); "cold" compare starts from an empty cache, "warm" runs the same
command again over the cache it left. Timings are not tests: nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench import PY, ROOT, SHARED, machine, run_timed_output  # noqa: E402

PDFS = SHARED / "ofsted-ilacs"

READ = """
import json, sys, time
from pathlib import Path
from nlpfind.read import read_document
t0 = time.perf_counter(); chars = 0
paths = sorted(Path(sys.argv[1]).glob("*.pdf"))
for p in paths:
    chars += len(read_document(p).text)
print(json.dumps({"files": len(paths), "chars": chars, "seconds": time.perf_counter() - t0}))
"""

CLASSIFY = """
import json, sys, time
from pathlib import Path
from nlpfind.classify import Classifier, classify_file
paths = sorted(Path(sys.argv[1]).glob("*.pdf"))
clf = Classifier(sys.argv[2], "ilacs")
out = {}
for rnd in ("first", "second"):
    t0 = time.perf_counter(); n = 0
    for p in paths:
        n += len(classify_file(p, clf).findings)
    out[rnd] = {"sentences": n, "seconds": time.perf_counter() - t0}
print(json.dumps(out))
"""

COMPARE = """
import csv, json, sys, tempfile, time
from pathlib import Path
from nlpfind.classify import Classifier
from nlpfind.compare import compare_reports
from nlpfind.compare_render import to_json
pdfs = Path(sys.argv[1])
rows = list(csv.DictReader(open(pdfs / "grades.csv", encoding="utf-8")))
manifest = Path(tempfile.mkdtemp()) / "manifest.csv"
with manifest.open("w", newline="", encoding="utf-8") as fh:
    w = csv.writer(fh); w.writerow(["file", "partnership", "year"])
    for r in rows: w.writerow([r["file"], r["local_authority"].title(), r["publication_date"][:4]])
c = compare_reports(sorted(pdfs.glob("*.pdf")), Classifier(sys.argv[2], "ilacs"), manifest=manifest, merge=True,
                    cache_dir=sys.argv[3])
to_json(c)
print(json.dumps({"findings": len(c.quotes), "themes": len(c.themes), "partnerships": len(c.partnerships),
                  "stages": c.stats["seconds"]}))
"""


def timed(code: str, *args: str) -> tuple[float, int, dict]:
    """Wall seconds, peak RSS of the process tree (MB) and the JSON the snippet prints."""
    wall, rss, out = run_timed_output([PY, "-c", code, *args], cwd=ROOT,
                                      env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(Path.home())})
    return wall, rss, json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["fast", "default"])
    args = parser.parse_args()
    if not PDFS.is_dir():
        sys.exit(f"bench needs {PDFS} (the shared corpus); it is not here")
    info = machine()
    wall, rss, read = timed(READ, str(PDFS))
    print(f"read: {read}", file=sys.stderr, flush=True)
    rows = []
    for name in args.models:
        model = str(ROOT / "models" / name)
        cw, crss, cls = timed(CLASSIFY, str(PDFS), model)
        print(f"classify {name}: {cw:.1f}s {cls}", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory() as cache:
            pw, prss, cold = timed(COMPARE, str(PDFS), model, cache)
            print(f"compare {name} cold: {pw:.1f}s {cold}", file=sys.stderr, flush=True)
            ww, wrss, warm = timed(COMPARE, str(PDFS), model, cache)
            print(f"compare {name} warm: {ww:.1f}s {warm}", file=sys.stderr, flush=True)
        rows.append((name, cw, crss, cls, pw, prss, cold, ww, wrss, warm))
    lines = ["## Ofsted ILACS: the 129 real PDFs (issue 7)", "",
             f"Command: `python eval/bench/bench_ofsted.py{' --models ' + ' '.join(args.models)}`; "
             f"{info['cpu']}, {info['cores']} cores, Python {info['python']}.", "",
             f"Reading (pypdfium2, text + structure): {read['files']} PDFs, {read['chars']:,} characters in "
             f"{read['seconds']:.1f} s in-process ({read['files'] / read['seconds']:.1f} PDFs/s); whole process "
             f"{wall:.1f} s, peak RSS {rss} MB.", "",
             "| model | classify all, whole process (s) | sentences | first run in-process (s) | second run, warm (s) | "
             "warm sentences/s incl. PDF reading | peak RSS (MB) | compare cold (s) | compare warm (s) | "
             "compare peak RSS (MB) | findings | themes |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, cw, crss, cls, pw, prss, cold, ww, wrss, _warm in rows:
        s = cls["second"]
        lines.append(f"| {name} | {cw:.1f} | {s['sentences']} | {cls['first']['seconds']:.1f} | {s['seconds']:.1f} | "
                     f"{s['sentences'] / s['seconds']:.0f} | {crss} | {pw:.1f} | {ww:.1f} | {max(prss, wrss)} | "
                     f"{cold['findings']} | {cold['themes']} |")
    lines += ["", "Compare stage seconds in-process (cold → warm): " + "; ".join(
        f"{r[0]}: classify {r[6]['stages']['classify']} → {r[9]['stages']['classify']}, embed "
        f"{r[6]['stages']['embed']} → {r[9]['stages']['embed']}, themes {r[6]['stages']['themes']} → "
        f"{r[9]['stages']['themes']}" for r in rows) + ". The rest of a warm compare is reading the PDFs "
        "again (about 8 s: extracted text is not cached) and start-up.", ""]
    from nlpfind.evaluate import update_results_file

    update_results_file(ROOT / "eval" / "BENCH.md", "ofsted", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
