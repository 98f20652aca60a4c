"""nlpfind.read: encodings, formats, stdin, and one clear InputError for every bad input."""

from __future__ import annotations

import codecs
import io
import re
import sys
import zipfile

import pytest
from reportdocs import write_docx, write_rectangle_pdf, write_text_pdf

from nlpfind.errors import InputError, NlpfindError
from nlpfind.read import PAGE_BREAK, decode_text, html_to_text, read_document, report_id_for

# Typographic characters that differ between encodings: curly quotes, an apostrophe, a dash, é.
SMART = "The partnership’s “Safe and Together” approach was well established – café staff said so.\n"
LATIN1 = "Staff at the Dùn Èideann café described the plan as «clear» and «realistic».\n"
PDF_LINES = [
    "Staff shared concerns about children promptly and recorded their decisions.",
    "Leaders had a clear vision for keeping children and young people safe from harm.",
]


def _write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- encodings ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, data",
    [
        ("utf8.txt", SMART.encode("utf-8")),
        ("utf8-bom.txt", codecs.BOM_UTF8 + SMART.encode("utf-8")),
        ("utf16le-bom.txt", codecs.BOM_UTF16_LE + SMART.encode("utf-16-le")),
        ("utf16be-bom.txt", codecs.BOM_UTF16_BE + SMART.encode("utf-16-be")),
        ("utf16le-nobom.txt", SMART.encode("utf-16-le")),
        ("cp1252.txt", SMART.encode("cp1252")),
    ],
)
def test_text_encodings_decode_to_the_same_text(tmp_path, name, data):
    doc = read_document(_write(tmp_path, name, data))
    assert doc.text == SMART  # no BOM character left, quotes and dash intact
    assert doc.format == "txt"
    assert "\ufeff" not in doc.text


def test_cp1252_smart_quotes_survive(tmp_path):
    doc = read_document(_write(tmp_path, "quotes.txt", SMART.encode("cp1252")))
    for ch in "“”’–é":
        assert ch in doc.text
    assert doc.encoding == "cp1252"


def test_utf8_is_preferred_over_cp1252(tmp_path):
    doc = read_document(_write(tmp_path, "u.txt", SMART.encode("utf-8")))
    assert doc.encoding == "utf-8"
    assert "â€" not in doc.text  # the mojibake a wrong cp1252 decode would give


def test_latin1_text(tmp_path):
    doc = read_document(_write(tmp_path, "latin1.txt", LATIN1.encode("latin-1")))
    assert doc.text == LATIN1


def test_invalid_utf8_bytes_do_not_fail_and_keep_the_text(tmp_path):
    data = b"Staff were confident \x81\x8d about the process.\nPlans were clear.\n"
    doc = read_document(_write(tmp_path, "odd.txt", data))
    assert doc.text.startswith("Staff were confident ")
    assert doc.text.endswith("about the process.\nPlans were clear.\n")
    assert len(doc.text) == len(data)  # one character per byte: offsets stay meaningful
    assert doc.encoding in ("cp1252", "latin-1")


def test_invalid_utf16_after_bom_is_an_input_error(tmp_path):
    path = _write(tmp_path, "bad16.txt", codecs.BOM_UTF16_LE + b"S\x00t\x00\x00\xd8")
    with pytest.raises(InputError, match=re.escape(str(path))):
        read_document(path)


def test_decode_text_reports_the_encoding():
    assert decode_text(codecs.BOM_UTF8 + b"abc", "x")[1] == "utf-8-sig"
    assert decode_text(b"plain ascii", "x") == ("plain ascii", "utf-8")


# -- bad inputs: each an InputError naming the file -----------------------------------------------
def _bad_inputs(tmp_path):
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        zf.writestr("minutes/notes.txt", "Notes of the chief officers group meeting.")
    cut = write_text_pdf(tmp_path / "whole.pdf", PDF_LINES, pages=3).read_bytes()
    # A central directory claiming a zip version Python cannot read (the fuzzer found zipfile then raises
    # NotImplementedError, not BadZipFile).
    wbuf = io.BytesIO()
    with zipfile.ZipFile(wbuf, "w") as zf:
        zf.writestr("word/document.xml", "<w:document/>")
    central = wbuf.getvalue().index(b"PK\x01\x02")
    future = bytearray(wbuf.getvalue())
    future[central + 6] = 64  # "version needed to extract": 6.4
    return {
        "missing": (tmp_path / "no-such-report.txt", "no such file"),
        "directory": (tmp_path, "directory"),
        "empty": (_write(tmp_path, "empty.txt", b""), "empty"),
        "whitespace": (_write(tmp_path, "blank.txt", b" \n\t\r\n   \n"), "empty"),
        "nul bytes": (_write(tmp_path, "image.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4), "binary"),
        "control bytes": (_write(tmp_path, "ctrl.txt", bytes(range(1, 9)) * 200), "binary"),
        "docx not a zip": (_write(tmp_path, "letter.docx", b"Dear colleague, this is not a Word file."), "zip"),
        "docx zip of something else": (_write(tmp_path, "minutes.docx", zbuf.getvalue()), "word/document.xml"),
        "docx zip version unknown": (_write(tmp_path, "future.docx", bytes(future)), "damaged"),
        "pdf no text layer": (write_rectangle_pdf(tmp_path / "scan.pdf"), "OCR"),
        "pdf encrypted": (write_text_pdf(tmp_path / "locked.pdf", PDF_LINES, encrypt="secret-password"),
                          "encrypted"),
        "pdf truncated": (_write(tmp_path, "cut.pdf", cut[: len(cut) // 2]), "damaged"),
        "pdf suffix, not a pdf": (_write(tmp_path, "fake.pdf", b"This was saved as text with the wrong name."),
                                  "PDF"),
    }


BAD = ["missing", "directory", "empty", "whitespace", "nul bytes", "control bytes", "docx not a zip",
       "docx zip of something else", "docx zip version unknown", "pdf no text layer", "pdf encrypted", "pdf truncated",
       "pdf suffix, not a pdf"]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_input_error_naming_the_file(tmp_path, case):
    path, words = _bad_inputs(tmp_path)[case]
    with pytest.raises(InputError) as info:
        read_document(path)
    message = str(info.value)
    assert str(path) in message
    assert words.lower() in message.lower()
    assert "\n" not in message
    assert isinstance(info.value, NlpfindError)


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.99])
def test_truncated_pdf_at_any_point_is_an_input_error(tmp_path, fraction):
    data = write_text_pdf(tmp_path / "whole.pdf", PDF_LINES, pages=3).read_bytes()
    path = _write(tmp_path, "cut.pdf", data[: int(len(data) * fraction)])
    with pytest.raises(InputError, match=re.escape(str(path))):
        read_document(path)


def test_pdf_without_text_says_to_run_ocr(tmp_path):
    path = write_rectangle_pdf(tmp_path / "scan.pdf")
    with pytest.raises(InputError, match="OCR"):
        read_document(path)


# An old Word 97-2003 .doc (OLE2 compound file: signature, then a header full of NUL bytes), and
# a raster image of black pixels. Both have NULs in every other byte, which decode_text takes
# for BOM-less UTF-16, and returns without the control-character check.
OLE_DOC = bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504) + b"\x01\x00\xfe\xff" * 200
BLACK_BMP = b"BM" + bytes(2000)


@pytest.mark.parametrize("name, data", [("old-report.doc", OLE_DOC), ("scan.bmp", BLACK_BMP)])
def test_binary_with_aligned_nul_bytes_is_refused(tmp_path, name, data):
    path = _write(tmp_path, name, data)
    with pytest.raises(InputError, match=re.escape(str(path))):
        read_document(path)


def test_size_over_the_limit(tmp_path):
    path = _write(tmp_path, "big.txt", b"Plans were reviewed on time.\n" * 100)
    with pytest.raises(InputError, match=re.escape(str(path)) + ".*limit"):
        read_document(path, max_bytes=1000)
    assert read_document(path, max_bytes=100_000).text.count("\n") == 100


def test_size_message_shows_that_the_file_exceeds_the_limit(tmp_path):
    path = _write(tmp_path, "big.txt", b"x" * 1_200_000)
    with pytest.raises(InputError) as info:
        read_document(path, max_bytes=1_000_000)
    sizes = re.findall(r"(\d+(?:\.\d+)?) ?([kKMG]?B)", str(info.value))
    assert len(sizes) == 2 and sizes[0] != sizes[1], str(info.value)


# -- formats ---------------------------------------------------------------------------------------
def test_pdf_text_layer_with_page_breaks(tmp_path):
    doc = read_document(write_text_pdf(tmp_path / "three.pdf", PDF_LINES, pages=3))
    assert doc.format == "pdf"
    assert doc.text.count(PAGE_BREAK) == 2
    for page in doc.text.split(PAGE_BREAK):
        assert [ln.strip() for ln in page.strip().splitlines()] == PDF_LINES


def test_pdf_detected_by_content_without_suffix(tmp_path):
    data = write_text_pdf(tmp_path / "a.pdf", PDF_LINES).read_bytes()
    doc = read_document(_write(tmp_path, "download.bin", data))
    assert doc.format == "pdf" and PDF_LINES[0] in doc.text


def test_docx_paragraphs_and_list_markers(tmp_path):
    blocks = [("title", "Kilbrannan inspection"), ("heading", "Key messages"),
              ("number", "Staff shared worries quickly."), ("bullet", "Plans were reviewed on time."),
              ("para", "Leaders knew their services well.")]
    doc = read_document(write_docx(tmp_path / "r.docx", blocks))
    assert doc.format == "docx"
    assert doc.text.split("\n\n") == ["Kilbrannan inspection", "Key messages", "1. Staff shared worries quickly.",
                                      "- Plans were reviewed on time.", "Leaders knew their services well."]


HTML = """<!DOCTYPE html>
<html><head><title>Kilbrannan inspection</title>
<style>p { color: #333 } .hidden { display: none }</style>
<script>var tracking = "do not show this";</script></head>
<body><h1>Key messages</h1>
<p>Staff shared worries
   about children quickly &amp; recorded them.</p><div>Leaders had a <b>clear</b> vision.</div>
<ul><li>Chronologies needed work.</li><li>Plans were reviewed.</li></ul>
<noscript>Enable scripts</noscript></body></html>"""


def test_html_blocks_become_paragraphs_and_scripts_are_dropped(tmp_path):
    doc = read_document(_write(tmp_path, "page.html", HTML.encode("utf-8")))
    assert doc.format == "html"
    paragraphs = doc.text.strip().split("\n\n")
    assert paragraphs == ["Kilbrannan inspection", "Key messages",
                          "Staff shared worries about children quickly & recorded them.",
                          "Leaders had a clear vision.", "- Chronologies needed work.", "- Plans were reviewed."]
    for hidden in ("tracking", "color", "Enable scripts", "<"):
        assert hidden not in doc.text


def test_html_detected_by_content(tmp_path):
    doc = read_document(_write(tmp_path, "saved-page.txt", HTML.encode("utf-8")))
    assert doc.format == "html" and "do not show" not in doc.text


def test_html_without_visible_text_is_an_input_error(tmp_path):
    path = _write(tmp_path, "blank.html", b"<html><head><script>var a = 1;</script></head><body> </body></html>")
    with pytest.raises(InputError, match=re.escape(str(path))):
        read_document(path)


def test_html_to_text_nested_skip():
    text = html_to_text("<p>One.</p><style>a{}</style><p>Two.</p><script>x</script>")
    assert text.split("\n\n") == ["One.", "Two.\n"]


# -- stdin -----------------------------------------------------------------------------------------
class _Stdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


def test_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", _Stdin(SMART.encode("cp1252")))
    doc = read_document("-")
    assert doc.text == SMART
    assert doc.report_id == "stdin" and doc.path == "<stdin>"


def test_stdin_empty_is_an_input_error(monkeypatch):
    monkeypatch.setattr(sys, "stdin", _Stdin(b""))
    with pytest.raises(InputError, match="<stdin>"):
        read_document("-")


def test_stdin_over_the_limit(monkeypatch):
    monkeypatch.setattr(sys, "stdin", _Stdin(b"a" * 500))
    with pytest.raises(InputError, match="<stdin>.*limit"):
        read_document("-", max_bytes=100)


def test_stdin_pdf(monkeypatch, tmp_path):
    data = write_text_pdf(tmp_path / "a.pdf", PDF_LINES).read_bytes()
    monkeypatch.setattr(sys, "stdin", _Stdin(data))
    doc = read_document("-")
    assert doc.format == "pdf" and PDF_LINES[1] in doc.text


def test_report_id_for():
    assert report_id_for("reports/North Ayrshire (2022).PDF") == "north-ayrshire-2022"
    assert report_id_for("-") == "stdin"
    assert report_id_for("___.txt") == "report"
