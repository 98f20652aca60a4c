"""One report saved as .txt, .pdf and .docx gives the same sentences."""

from __future__ import annotations

import pytest
from reportdocs import BLOCKS, RUNNING_HEADER, blocks_to_txt, write_docx, write_pdf

from nlpfind.read import PAGE_BREAK, read_document
from nlpfind.segment import segment


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    d = tmp_path_factory.mktemp("formats")
    (d / "kilbrannan.txt").write_text(blocks_to_txt(), encoding="utf-8")
    write_pdf(d / "kilbrannan.pdf")
    write_docx(d / "kilbrannan.docx")
    return d


def _sentences(path, framework):
    doc = read_document(path)
    return doc, segment(doc.text, framework)


def test_txt_sentences_are_the_reports_sentences(saved, framework):
    _, sents = _sentences(saved / "kilbrannan.txt", framework)
    cleans = [s.clean for s in sents]
    # the title and every heading are left out; every paragraph and list item is there
    for kind, text in BLOCKS:
        if kind in ("title", "heading", "subheading"):
            assert text not in " ".join(cleans)
    assert cleans[0] == "This joint inspection took place between April and June 2025."
    assert cleans[-1] == ("We are confident that partners in Kilbrannan have the capacity to make the "
                          "improvements that are needed.")
    assert "Staff across services were quick to recognise and share worries about children." in cleans
    assert len(cleans) == 22


def test_the_pdf_is_what_the_test_claims(saved):
    """Guard for the next tests: several pages, wrapped lines, header and page numbers on each page
    in the PDF itself; the reader drops that page furniture from the text it returns."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(saved / "kilbrannan.pdf"))
    raw = [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    assert len(raw) >= 4
    for n, page in enumerate(raw, start=1):
        assert RUNNING_HEADER in page and f"Page {n}" in page
    doc = read_document(saved / "kilbrannan.pdf")
    pages = doc.text.split(PAGE_BREAK)
    assert len(pages) == len(raw)
    assert RUNNING_HEADER not in doc.text and not any(f"Page {n}" in page for n, page in enumerate(pages, 1))
    # a page ends in the middle of a sentence
    assert any(not page.rstrip().endswith(".") for page in pages[:-1])
    longest = max((t for k, t in BLOCKS if k == "para"), key=len)
    assert longest.split()[0] in doc.text and longest[:200] not in doc.text  # wrapped over lines


def test_docx_gives_the_same_sentences_as_txt(saved, framework):
    _, txt = _sentences(saved / "kilbrannan.txt", framework)
    _, docx = _sentences(saved / "kilbrannan.docx", framework)
    assert [s.clean for s in docx] == [s.clean for s in txt]
    assert [s.statement_section for s in docx] == [s.statement_section for s in txt]


# The PDF reader keeps the vertical gaps between blocks (from pdfium's character boxes) and the
# layout step finds headings printed directly above a paragraph, so the PDF reads like the .txt.
def test_pdf_gives_the_same_sentences_as_txt(saved, framework):
    _, txt = _sentences(saved / "kilbrannan.txt", framework)
    _, pdf = _sentences(saved / "kilbrannan.pdf", framework)
    assert [s.clean for s in pdf] == [s.clean for s in txt]


def test_pdf_sentences_are_in_the_same_statement_sections(saved, framework):
    _, txt = _sentences(saved / "kilbrannan.txt", framework)
    _, pdf = _sentences(saved / "kilbrannan.pdf", framework)
    by_text = {s.clean: s.statement_section for s in txt}
    common = [s for s in pdf if s.clean in by_text]
    assert len(common) >= len(txt) - 3
    assert [(s.clean, s.statement_section) for s in common] == [(s.clean, by_text[s.clean]) for s in common]


def test_wrapped_paged_text_with_block_gaps_matches_txt(framework):
    """What a PDF reader that kept block gaps would give: wrapped lines, header, footer, page breaks."""
    import textwrap

    pages, number = [[]], 0
    for kind, text in BLOCKS:
        if kind == "newpage":
            pages.append([])
            continue
        if kind == "number":
            number += 1
            text = f"{number}. {text}"
        elif kind == "bullet":
            text = "• " + text
        for k, part in enumerate(text.split("\f")):
            if k:
                pages.append([])
            pages[-1].append("\n".join(textwrap.wrap(" ".join(part.split()), 95)))
    source = PAGE_BREAK.join(f"{RUNNING_HEADER}\n" + "\n\n".join(p) + f"\nPage {n}\n"
                             for n, p in enumerate(pages, start=1))
    assert len(pages) >= 4 and source.count("\n") > 60
    txt = segment(blocks_to_txt(), framework)
    wrapped = segment(source, framework)
    assert [(s.clean, s.statement_section) for s in wrapped] == [(s.clean, s.statement_section) for s in txt]
    assert all(source[s.start:s.end] == s.text for s in wrapped)


def test_pdf_sentences_have_exact_offsets_and_no_page_furniture(saved, framework):
    doc, pdf = _sentences(saved / "kilbrannan.pdf", framework)
    assert pdf
    for s in pdf:
        assert doc.text[s.start:s.end] == s.text
        assert RUNNING_HEADER not in s.clean
        assert "Page " not in s.clean
    broken = ("A few staff in adult services were less sure about how to share their concerns about children "
              "whose parents were using their service, and the partnership had begun to address this.")
    assert broken in [s.clean for s in pdf]
