"""Done-when checks on the real reports in ../shared/corpus (skipped where it is absent)."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys

import pytest
from conftest import REPO, SHARED, needs_shared

from nlpfind.read import read_document

pytestmark = needs_shared
NA = SHARED / "reports" / "north-ayrshire-2022.txt"
OFSTED = SHARED / "ofsted-ilacs"


@pytest.fixture(scope="module")
def na_jsonl():
    """`nlpfind classify <North Ayrshire> --format jsonl`, exactly as a user runs it (default model)."""
    proc = subprocess.run([sys.executable, "-m", "nlpfind.cli", "classify", str(NA), "--format", "jsonl"],
                          capture_output=True, text=True, cwd=REPO, check=True)
    return [json.loads(line) for line in proc.stdout.splitlines()]


@pytest.fixture(scope="module")
def na_labels():
    lines = (REPO / "corpus" / "labels" / "north-ayrshire-2022.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


@pytest.mark.slow
def test_every_sentence_with_exact_offsets(na_jsonl, na_labels):
    source = read_document(NA).text
    assert [r["index"] for r in na_jsonl] == list(range(len(na_jsonl)))
    keys = {"report", "index", "start", "end", "text", "section", "statement", "statement_scores", "polarity",
            "polarity_scores", "quantifiers", "themes"}
    for r in na_jsonl:
        assert keys <= set(r)
        assert r["text"] == source[r["start"]:r["end"]]
        for q in r["quantifiers"]:
            assert r["start"] <= q["start"] < q["end"] <= r["end"]
            assert source[q["start"]:q["end"]] == q["text"]
    out = {(r["start"], r["end"]) for r in na_jsonl}
    # Every sentence an annotator labelled as a finding (read, not guessed) is in the output, whole.
    findings = [lab for lab in na_labels if lab["polarity"] != "neutral" or lab["statement"] != "none"]
    assert findings and all((lab["start"], lab["end"]) in out for lab in findings)
    assert sum((lab["start"], lab["end"]) in out for lab in na_labels) >= len(na_labels) - 2


@pytest.mark.slow
def test_no_page_break_splits_and_no_headings(na_jsonl):
    source = read_document(NA).text
    # Paragraphs broken by a page break ("... The child" / "protection committee had ...") come out
    # as one sentence spanning the blank lines.
    spanning = [r for r in na_jsonl if "\n\n" in r["text"]]
    assert len(spanning) >= 3
    assert all(r["text"].split("\n\n")[1][:1].islower() for r in spanning)
    for r in na_jsonl:
        first = r["text"].lstrip()
        assert not first[:1].islower() or r["section"].endswith(("phases:", "were:", "based on:")) or \
            source[:r["start"]].rstrip().endswith(("-", "•"))
    headings = [ln.strip() for ln in source.splitlines()
                if re.match(r"^(Statement \d:|Key messages$|Contents$|Introduction$|Conclusion$|Appendix \d:)", ln.strip(), re.I)]
    texts = {r["text"].strip() for r in na_jsonl}
    assert headings and not any(h in texts for h in headings)
    assert not any(re.search(r"\t\d+\s*$", r["text"]) for r in na_jsonl)  # contents lines


def test_quantifiers_match_the_labels(tagger, na_labels):
    source = read_document(NA).text
    exact = 0
    for lab in na_labels:
        gold = sorted((q["term"], q["low"], q["high"]) for q in lab["quantifiers"])
        sentence = " ".join(source[lab["start"]:lab["end"]].replace("**", "").split())
        pred = sorted((t, lo, hi) for _, _, t, lo, hi in tagger.find(sentence))
        exact += gold == pred
    assert exact / len(na_labels) >= 0.97, f"{exact}/{len(na_labels)}"


def test_quantifiers_match_the_labels_of_every_scottish_sentence(tagger, framework):
    """All 1,221 Scottish labelled sentences (news releases and summaries as well as the report), not only
    North Ayrshire: the scale's wordings vary between sources."""
    from nlpfind.corpus import load_corpus

    corpus = load_corpus(None, framework, None)
    home = {r.report for r in corpus.reports if (r.framework or framework.id) == framework.id}
    sentences = [s for s in corpus.sentences if s.report in home]
    exact = sum(sorted(q[2:] for q in s.quantifiers)
                == sorted(q[2:] for q in tagger.find(" ".join(s.text.replace("**", "").split())))
                for s in sentences)
    assert len(sentences) > 1000 and exact / len(sentences) >= 0.985, f"{exact}/{len(sentences)}"


@pytest.fixture(scope="module")
def fast_ilacs():
    from nlpfind.classify import Classifier

    return Classifier(REPO / "models" / "fast", "ilacs")


def test_ofsted_sample_classifies_without_running_headers(fast_ilacs):
    from nlpfind.classify import classify_file

    files = sorted(OFSTED.glob("*.pdf"))[::20]
    assert len(files) >= 6
    for path in files:
        report = classify_file(path, fast_ilacs)
        assert len(report.findings) > 50, path
        header = re.compile(r"Inspection of .{0,80}children.s (social care )?services", re.I)
        for f in report.findings:
            assert not header.search(f.text), (path.name, f.text[:120])
            assert not re.search(r"\b\d{1,2} \w+ to \d{1,2} \w+ \d{4} \d+\b", f.text), (path.name, f.text[:120])
        assert set(report.metadata["grades"]) >= {"overall", "leaders", "help-protection", "children-in-care"}


def test_grade_extraction_agrees_with_inspectors_grades():
    from nlpfind.config import load_framework
    from nlpfind.structure import extract_grades

    fw = load_framework("ilacs")
    columns = {"overall": "overall_effectiveness", "leaders": "impact_of_leaders",
               "help-protection": "help_and_protection", "children-in-care": "children_in_care",
               "care-leavers": "care_leavers"}
    agree = total = 0
    for row in csv.DictReader(open(OFSTED / "grades.csv", encoding="utf-8")):
        got = extract_grades(read_document(OFSTED / row["file"]).text, fw)
        for key, col in columns.items():
            want = row[col].strip().lower()
            if want not in ("outstanding", "good", "requires improvement", "inadequate"):
                continue  # not judged in that inspection (or a malformed cell)
            want = "requires improvement to be good" if want == "requires improvement" else want
            total += 1
            agree += got.get(key) == want
    assert total > 400 and agree / total >= 0.98, f"{agree}/{total}"


@pytest.mark.parametrize("width, page_lines", [(70, 50), (90, 45), (120, 40)])
def test_the_report_as_wrapped_pdf_text_gives_the_same_sentences(framework, width, page_lines):
    """North Ayrshire's text has a line per paragraph; a PDF's text has lines wrapped at the column, pages
    with running headers and page numbers, and sentences broken across pages. Made that way, it must give
    the same sentences in the same statements' sections. (Subheadings may differ: a heading that is a long
    web address wraps into text. Words are not broken at hyphens: rejoining "multi-" and "agency" cannot be
    told from "protec-" and "tion" without a dictionary.)"""
    import textwrap

    from nlpfind.segment import segment

    text = read_document(NA).text
    lines = [part for line in text.split("\n")
             for part in (textwrap.wrap(line, width, break_on_hyphens=False) if len(line) > width else [line])]
    pages = [lines[i:i + page_lines] for i in range(0, len(lines), page_lines)]
    header = "North Ayrshire: joint inspection report (page header)"
    paged = "\f".join("\n".join([header, "", *page, "", str(n)]) for n, page in enumerate(pages, 1))
    as_read = [(s.clean, s.statement_section, s.in_finding_section) for s in segment(text, framework)]
    assert [(s.clean, s.statement_section, s.in_finding_section) for s in segment(paged, framework)] == as_read
