"""compare across the Ofsted ILACS authorities: recurring areas for improvement by theme and grade band.

Usage: python eval/ofsted_compare.py [--pdfs DIR] [--model models/fast] [--html OUT.html]
Writes the "ofsted-compare" section of eval/RESULTS.md. The HTML heatmap (129 authorities) quotes the
reports, which are third-party text, so it is written outside the repository (default: a temp file).
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nlpfind.classify import Classifier  # noqa: E402
from nlpfind.compare import compare_reports  # noqa: E402
from nlpfind.compare_render import to_html  # noqa: E402
from nlpfind.evaluate import update_results_file  # noqa: E402

BANDS = {"outstanding": "good or better", "good": "good or better", "requires improvement": "RI or inadequate",
         "requires improvement to be good": "RI or inadequate", "inadequate": "RI or inadequate"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pdfs", type=Path, default=ROOT.parent / "shared" / "corpus" / "ofsted-ilacs")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "fast")
    parser.add_argument("--html", type=Path, default=Path(tempfile.gettempdir()) / "nlpfind-ofsted-compare.html")
    args = parser.parse_args()
    rows = list(csv.DictReader(open(args.pdfs / "grades.csv", encoding="utf-8")))
    band = {r["local_authority"].title(): BANDS.get(r["overall_effectiveness"].strip().lower()) for r in rows}
    manifest = Path(tempfile.mkdtemp()) / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "partnership", "year"])
        for r in rows:
            w.writerow([r["file"], r["local_authority"].title(), r["publication_date"][:4]])
    paths = sorted(p for p in args.pdfs.glob("*.pdf"))
    t0 = time.time()
    comparison = compare_reports(paths, Classifier(args.model, "ilacs"), manifest=manifest, merge=True)
    elapsed = time.time() - t0
    args.html.write_text(to_html(comparison), encoding="utf-8")
    shown_model = args.model.relative_to(ROOT) if args.model.is_relative_to(ROOT) else args.model
    n_band = {b: sum(1 for p in comparison.partnerships if band.get(p) == b) for b in set(BANDS.values())}
    lines = ["## compare across the Ofsted ILACS authorities, by grade band", "",
             f"Command: `python eval/ofsted_compare.py --model {shown_model}`"
             f" ({len(paths)} PDFs, {len(comparison.partnerships)} authorities, {elapsed:.0f} s; "
             f"{len(comparison.quotes)} findings). The HTML heatmap quotes the reports, so it is written "
             "outside the repository (`--html`).", "",
             "Share of authorities in each overall-grade band with at least one area for improvement "
             f"(weakness or mixed finding) on the theme; {n_band.get('good or better', 0)} authorities graded "
             f"good or outstanding, {n_band.get('RI or inadequate', 0)} requires improvement or inadequate. "
             "Ranked by the RI/inadequate share.", "",
             "| theme | kind | RI or inadequate | good or better | difference |", "|---|---|---|---|---|"]
    scored = []
    for theme in comparison.themes:
        weak = set(theme.weakness_partnerships)
        share = {b: (sum(1 for p in weak if band.get(p) == b) / n_band[b]) if n_band.get(b) else 0.0
                 for b in n_band}
        scored.append((share.get("RI or inadequate", 0), share.get("good or better", 0), theme))
    scored.sort(key=lambda s: (-s[0], s[2].id))
    for ri, good, theme in scored[:20]:
        lines.append(f"| {theme.label} | {'seeded' if theme.seeded else 'discovered'} | {ri:.0%} | {good:.0%} | "
                     f"{ri - good:+.0%} |")
    lines += [""]
    update_results_file(ROOT / "eval" / "RESULTS.md", "ofsted-compare", "\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"HTML: {args.html}", file=sys.stderr)


if __name__ == "__main__":
    main()
