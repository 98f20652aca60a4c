"""Read a report from .txt (any common encoding), .pdf, .docx, .html or stdin into text."""

from __future__ import annotations

import codecs
import html.parser
import io
import re
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

MAX_BYTES = 50 * 1024 * 1024
PAGE_BREAK = "\f"


@dataclass(frozen=True)
class Document:
    """A report as read: `text` is what every offset nlpfind reports points into."""

    report_id: str
    path: str
    text: str
    format: str
    encoding: str = "utf-8"


def report_id_for(path: str | Path) -> str:
    """A stable id from a file name: lower-case stem, runs of other characters as '-'."""
    stem = Path(str(path)).stem if str(path) != "-" else "stdin"
    return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "report"


def read_document(path: str | Path, *, max_bytes: int = MAX_BYTES) -> Document:
    """Read `path` ('-' for stdin), choosing the reader by extension and content."""
    name = str(path)
    if name == "-":
        data = sys.stdin.buffer.read(max_bytes + 1)
        return _from_bytes(data, "<stdin>", "stdin", max_bytes)
    p = Path(name)
    if not p.exists():
        raise InputError(f"{name}: no such file")
    if p.is_dir():
        raise InputError(f"{name}: is a directory, not a report file")
    try:
        size = p.stat().st_size
        if size > max_bytes:
            raise InputError(
                f"{name}: file is {_size(size)}, over the {_size(max_bytes)} limit; split it or pass a smaller report"
            )
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror})") from None
    return _from_bytes(data, name, report_id_for(p), max_bytes, suffix=p.suffix.lower())


def _from_bytes(data: bytes, name: str, rid: str, max_bytes: int, suffix: str = "") -> Document:
    if len(data) > max_bytes:
        raise InputError(f"{name}: input is over the {_size(max_bytes)} limit")
    if data.startswith(b"%PDF") or suffix == ".pdf":
        return Document(rid, name, _read_pdf(data, name), "pdf")
    if data.startswith(b"PK\x03\x04") or suffix == ".docx":
        return Document(rid, name, _read_docx(data, name), "docx")
    text, encoding = decode_text(data, name)
    if suffix in (".html", ".htm") or re.match(r"\s*(<!doctype html|<html)", text[:200], re.I):
        visible = html_to_text(text)
        if not visible.strip():
            raise InputError(f"{name}: HTML page has no visible text")
        return Document(rid, name, visible, "html", encoding)
    if not text.strip():
        raise InputError(f"{name}: file is empty or holds only whitespace")
    return Document(rid, name, text, "txt", encoding)


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """Decode bytes by BOM, then strict UTF-8, then cp1252; refuse binary data."""
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16"), (codecs.BOM_UTF32_LE, "utf-32")):
        if data.startswith(bom) and not (enc == "utf-16" and data.startswith(codecs.BOM_UTF32_LE)):
            try:
                return data.decode(enc), enc
            except UnicodeDecodeError as exc:
                raise InputError(f"{name}: invalid {enc} text at byte {exc.start}") from None
    if not data.strip():
        raise InputError(f"{name}: file is empty or holds only whitespace")
    if data.startswith(bytes.fromhex("d0cf11e0a1b11ae1")):
        raise InputError(f"{name}: an old binary Office file (.doc/.xls); save it as .docx, .pdf or .txt")
    if b"\x00" in data:
        # UTF-16 without a BOM has a NUL in every other byte of ASCII text.
        if len(data) % 2 == 0 and (data[1::2].count(0) > 0.4 * len(data) / 2 or
                                   data[0::2].count(0) > 0.4 * len(data) / 2):
            enc = "utf-16-le" if data[1::2].count(0) > data[0::2].count(0) else "utf-16-be"
            try:
                text = data.decode(enc)
            except UnicodeDecodeError:
                text = ""
            if text.strip() and not _mostly_controls(text):
                return text, enc
        raise InputError(f"{name}: binary data (NUL bytes); expected a text, PDF, DOCX or HTML report")
    try:
        text = data.decode("utf-8")
        enc = "utf-8"
    except UnicodeDecodeError:
        text, enc = _decode_not_utf8(data)
    if _mostly_controls(text):
        raise InputError(f"{name}: binary data (control bytes); expected a text, PDF, DOCX or HTML report")
    return text, enc


def _decode_not_utf8(data: bytes) -> tuple[str, str]:
    """UTF-8 with a few stray bytes stays UTF-8 (each stray byte becomes U+FFFD, and the encoding
    says so); otherwise cp1252 (Windows "smart quotes"), else latin-1, which decodes anything."""
    replaced = data.decode("utf-8", errors="replace")
    bad = replaced.count("\ufffd") - data.count("\ufffd".encode())
    multibyte = sum(1 for ch in replaced if ord(ch) > 127 and ch != "\ufffd")
    if multibyte and bad <= max(3, len(data) // 1000):
        return replaced, f"utf-8 ({bad} invalid byte{'s' if bad != 1 else ''} replaced with U+FFFD)"
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


# C0 controls other than \t \n \v \f \r, the private use area, and the two non-characters
_CONTROL_OR_PRIVATE = re.compile("[\x00-\x08\x0e-\x1f\ue000-\uf8ff\ufffe\uffff]")


def _mostly_controls(text: str) -> bool:
    """True when the text has more control or unassigned characters than any prose would."""
    sample = text[:20000]
    bad = len(_CONTROL_OR_PRIVATE.findall(sample))
    return bad > max(8, 0.01 * len(sample))


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def _read_pdf(data: bytes, name: str) -> str:
    try:
        import pypdfium2 as pdfium
    except ImportError:  # pragma: no cover - installed with nlpfind
        raise InputError(f"{name}: reading PDF needs pypdfium2 (pip install pypdfium2)") from None
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        msg = str(exc)
        if "password" in msg.lower():
            raise InputError(f"{name}: PDF is encrypted; save an unprotected copy") from None
        raise InputError(f"{name}: PDF is damaged or not a PDF ({msg})") from None
    pages = []
    try:
        for i in range(len(pdf)):
            page = pdf[i]
            textpage = page.get_textpage()
            pages.append(_page_text(textpage))
            textpage.close()
            page.close()
    except pdfium.PdfiumError as exc:
        raise InputError(f"{name}: PDF is damaged ({exc})") from None
    finally:
        pdf.close()
    text = PAGE_BREAK.join(_drop_page_furniture(pages))
    if len(re.sub(r"\s", "", text)) < 20:
        raise InputError(f"{name}: PDF has no text layer (a scan?); run OCR on it first")
    return text


def _page_text(textpage) -> str:
    """A page's text, one line per printed line, with a blank line where the vertical gap
    between two lines is clearly wider than the page's usual line spacing (a paragraph or
    heading boundary, which plain text extraction loses)."""
    # pdfium marks a hyphen that may break a word with U+FFFE (or STX); it is a hyphen in print.
    raw = textpage.get_text_range().replace("\ufffe", "-").replace("\x02", "-")
    n = textpage.count_chars()
    lines: list[tuple[str, float | None]] = []
    start = 0
    for m in re.finditer(r"\r\n|\n|\r", raw + "\n"):
        seg = raw[start:m.start()]
        centre = None
        if len(raw) == n:  # character boxes align with the text only when nothing was inserted
            ys = []
            for k in range(start, min(m.start(), n)):
                if not raw[k].isspace():
                    left, bottom, right, top = textpage.get_charbox(k)
                    ys.append((bottom + top) / 2)
            if ys:
                ys.sort()
                centre = ys[len(ys) // 2]
        lines.append((seg, centre))
        start = m.end()
    if lines and lines[-1][0] == "" and not raw.endswith(("\n", "\r")):
        lines.pop()
    gaps = [abs(b[1] - a[1]) for a, b in zip(lines, lines[1:]) if a[1] is not None and b[1] is not None
            and a[0].strip() and b[0].strip()]
    gaps = [g for g in gaps if g > 0.5]
    usual = sorted(gaps)[len(gaps) // 2] if gaps else None
    out: list[str] = []
    prev = None
    for seg, centre in lines:
        if (usual and prev is not None and centre is not None and seg.strip() and out and out[-1].strip()
                and abs(centre - prev) > 1.45 * usual):
            out.append("")
        out.append(seg)
        if centre is not None:
            prev = centre
    return "\n".join(out)


def _drop_page_furniture(pages: list[str]) -> list[str]:
    """Remove running headers, footers and page numbers from a PDF's pages.

    A line counts as page furniture when it is one of the first or last three lines of a page
    and the same line (digits aside) appears so on at least 30% of the pages (3 at least), or
    when it holds only a page number. For a PDF, the text nlpfind reads (and every offset it
    reports) is the text layer without this furniture, so no sentence can contain a header.
    """
    from .structure import furniture_lines

    return furniture_lines(pages)


def _read_docx(data: bytes, name: str) -> str:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = set(zf.namelist())
    except zipfile.BadZipFile:
        raise InputError(f"{name}: not a valid .docx (not a zip archive)") from None
    except (NotImplementedError, ValueError, OSError, EOFError) as exc:  # damaged headers: "zip file version 6.4"
        raise InputError(f"{name}: damaged .docx (zip archive unreadable: {str(exc)[:80] or type(exc).__name__})") from None
    if "word/document.xml" not in names:
        raise InputError(f"{name}: not a Word document (zip has no word/document.xml)")
    try:
        import docx
    except ImportError:  # pragma: no cover
        raise InputError(f"{name}: reading DOCX needs python-docx") from None
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises many types for broken parts
        raise InputError(f"{name}: damaged .docx ({type(exc).__name__})") from None
    lines = []
    for para in document.paragraphs:
        text = para.text.strip()
        if not text:
            continue
        style = (para.style.name or "").lower() if para.style is not None else ""
        if "list" in style and not re.match(r"^([-•*]|\d+[.)])\s", text):
            text = ("1. " if "number" in style else "- ") + text
        lines.append(text)
    text = "\n\n".join(lines)
    if not text.strip():
        raise InputError(f"{name}: .docx holds no text")
    return text


class _HTMLText(html.parser.HTMLParser):
    BLOCK = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section",
             "article", "header", "footer", "ul", "ol", "table", "blockquote", "title"}
    SKIP = {"script", "style", "noscript", "template"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skip += 1
        elif tag in self.BLOCK:
            self.parts.append("\n\n")
            if tag == "li":
                self.parts.append("- ")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(markup: str) -> str:
    """Visible text of an HTML page with block elements as paragraphs."""
    parser = _HTMLText()
    parser.feed(markup)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t]*\n[ \t]*", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
