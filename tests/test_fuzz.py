"""Issue 6, part 2: fuzzing the reader, segmenter, quantifier tagger and classifier with hypothesis.

Arbitrary unicode (control characters, right-to-left marks, emoji, combining marks, line and
paragraph separators, markup) and report-like token soup go through read.decode_text (as bytes),
segment.segment, quantify.QuantifierTagger and Classifier.classify_text with a tiny model trained
without embeddings. Properties: nothing raises except the documented InputError of the reader;
every sentence's `text == source[start:end]`; sentences are in order and do not overlap; every
non-space character of a sentence's clean text maps back to the same character of the source;
quantifier offsets lie inside their sentence and slice the text they name.
"""

from __future__ import annotations

import codecs
import io
import math
import zipfile

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from reliability_helpers import report_text, train_tiny_model
from reportdocs import write_docx, write_text_pdf

from nlpfind.errors import InputError
from nlpfind.read import decode_text, read_document
from nlpfind.segment import segment

FUZZ = settings(max_examples=2000, deadline=None, database=None, derandomize=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SMALL = settings(max_examples=300, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Pieces of text that exercise the layout, sentence and quantifier rules, and the awkward characters.
TOKENS = [
    "Most", "most", "almost all", "Almost all", "the majority of", "less than half", "a few", "few", "none of the",
    "all", "nearly all", "a significant minority", "half of the", "two thirds", "just under 54%", "99 per cent",
    "three records were", "children", "records", "staff", "plans", "were", "was", "not", "reviewed", "we read",
    "Statement 2:", "Statement 1: Children are safer", "Key messages", "Areas for improvement", "Strengths",
    "Contents", "Introduction\t2", "Page 3", "1.", "2)", "- ", "• ", "(iv) ", "**", "__", "[", "](http://x)", "#",
    ". ", ".", "!", "?", "; ", ", ", ":", "’", "”)", "“", "e.g.", "Mr.", "i.e.", "etc.", "...", "…", "-", "–",
    " ", "  ", "\t", "\n", "\n\n", "\r\n", "\r", "\f", "\v", "\x0b", "\x1c", "\x1d", "\x1e", "\x85", "\u2028",
    "\u2029", "\u00a0", "\u200b", "\u200d", "\u200e", "\u200f", "\u202e", "\u2066", "\ufeff", "\x00", "\x07",
    "\x1b[31m", "👩‍👧‍👦", "🙂", "e\u0301", "\u0627\u0644\u0623\u0637\u0641\u0627\u0644", "שָׁלוֹם", "ß", "İ",
    "ﬁ", "Ⅻ", "①", "２０２４", "\U0001d400", "\U0010fffd", "\ufffd", "\ufffe",
]
_ANY_CHAR = st.characters(exclude_categories=("Cs",))  # every code point a str can encode as UTF-8
WORDS = ["staff", "children", "records", "plans", "were", "reviewed", "chronologies", "weak", "good", "leaders",
         "shared", "concerns", "promptly", "families", "involved", "not", "always", "in", "of", "the", "we", "read"]
_ODD = st.one_of(st.sampled_from(TOKENS), st.text(alphabet=_ANY_CHAR, min_size=1, max_size=6))
_SENTENCE = st.tuples(
    st.lists(st.one_of(st.sampled_from(WORDS), st.sampled_from(WORDS), _ODD), min_size=2, max_size=16),
    st.sampled_from([".", ". ", "!", "?", "", ".”", ";", ":"]),
).map(lambda p: " ".join(p[0]) + p[1])
_REPORTISH = st.tuples(
    st.lists(st.tuples(_SENTENCE, st.sampled_from([" ", "  ", "\n", "\n\n", "\r\n", "\f", "\u2028", "\x85",
                                                   "\n\n- ", "\n\n2. ", "\n\nStatement 3:\n\n", " **"])),
             min_size=1, max_size=10),
).map(lambda p: "".join(a + b for a, b in p[0]))
_SOUP = st.lists(st.sampled_from(TOKENS), max_size=120).map("".join)
_RANDOM = st.text(alphabet=_ANY_CHAR, max_size=300)
_MIXED = st.lists(st.one_of(st.sampled_from(TOKENS), st.text(alphabet=_ANY_CHAR, max_size=8)), max_size=100).map(
    "".join)
TEXTS = st.one_of(_REPORTISH, _SOUP, _RANDOM, _MIXED, _REPORTISH)


@pytest.fixture(scope="module")
def fw():
    from nlpfind.config import load_framework

    return load_framework("carh")


@pytest.fixture(scope="module")
def tagger(fw):
    from nlpfind.quantify import QuantifierTagger

    return QuantifierTagger(fw)


@pytest.fixture(scope="module")
def clf():
    from nlpfind.classify import Classifier

    return Classifier(train_tiny_model())


# -- the properties ------------------------------------------------------------------------------------
def check_decode(text: str) -> None:
    """Bytes as a user's file holds them: UTF-8, UTF-16 with a BOM; only InputError may be raised."""
    try:
        got, enc = decode_text(text.encode("utf-8"), "fuzz.txt")
    except InputError as exc:
        assert "fuzz.txt" in str(exc) and "\n" not in str(exc)
    else:
        assert isinstance(got, str)
        if enc == "utf-8":
            assert got == text
        if "\x00" not in text and not text.startswith("\ufeff"):
            assert got == text, f"valid UTF-8 decoded as {enc}"
    data16 = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    if text.startswith("\x00"):  # FF FE 00 00 is also the UTF-32 BOM: ambiguous, an InputError is fine
        try:
            decode_text(data16, "fuzz.txt")
        except InputError:
            pass
        return
    assert decode_text(data16, "fuzz.txt") == (text, "utf-16")


def check_sentences(source: str, sents) -> None:
    prev_end = 0
    for i, s in enumerate(sents):
        assert s.index == i
        assert 0 <= s.start < s.end <= len(source)
        assert s.text == source[s.start:s.end]
        assert s.start >= prev_end, "sentences overlap or go backwards"
        prev_end = s.end
        assert s.clean and s.clean == s.clean.strip(" ")
        for k, ch in enumerate(s.clean):
            if ch != " ":
                j = s.to_source(k)
                assert s.start <= j < s.end and source[j] == ch, f"clean[{k}]={ch!r} maps to {j}"


def check_quantifiers(source: str, sents, tagger, terms) -> None:
    from nlpfind.quantify import QuantifierTagger

    found_all = tagger.find_many([s.clean for s in sents])
    for s, found in zip(sents, found_all):
        assert found == tagger.find(s.clean)
        last = 0
        for a, b, term, low, high in found:
            assert last <= a < b <= len(s.clean), (a, b, s.clean)
            last = b
            assert term in terms
            assert (low is None) == (high is None) and (low is None or 0 <= low <= high <= 100)
        for q in QuantifierTagger.to_source(s, found):
            assert s.start <= q.start < q.end <= s.end
            assert q.text and source[q.start] == q.text[0] and source[q.end - 1] == q.text[-1]


def check_findings(source: str, sents, findings, clf) -> None:
    assert [(f.index, f.start, f.end, f.text) for f in findings] == [(s.index, s.start, s.end, s.text) for s in sents]
    statements = {str(c) for c in clf.model.statement_head.classes_}
    polarities = {str(c) for c in clf.model.polarity_head.classes_}
    for f in findings:
        assert source[f.start:f.end] == f.text
        assert f.statement in statements and f.polarity in polarities
        for scores in (f.statement_scores, f.polarity_scores):
            assert all(math.isfinite(v) and 0 <= v <= 1 for v in scores.values())
            assert abs(sum(scores.values()) - 1) < 0.01
        assert set(f.themes) <= set(clf.framework.theme_ids)
        for q in f.quantifiers:
            assert f.start <= q.start < q.end <= f.end


def check_pipeline(text: str, fw, tagger, clf) -> None:
    check_decode(text)
    terms = {q.term for q in fw.quantifiers} | {"percentage", "fraction", "count"}
    for a, b, term, _low, _high in tagger.find(text):  # raw text, not cleaned
        assert 0 <= a < b <= len(text) and term in terms
    for lines in (False, True):
        sents = segment(text, fw, lines=lines)
        check_sentences(text, sents)
        check_quantifiers(text, sents, tagger, terms)
        check_findings(text, sents, list(clf.classify_text(text, "fuzz", lines=lines, batch_size=7)), clf)


# -- the fuzz tests ------------------------------------------------------------------------------------
@pytest.mark.fuzz
@FUZZ
@given(text=TEXTS)
@example(text="")
@example(text="\u202eMost records were reviewed.\u202c\u200f Less than half\u2028of plans were.\x85A few.")
@example(text="**Statement 2:** [Most](http://x) records__ were**\n\n- almost all\n\n\f\f3\n")
@example(text="In the majority of records we read, chronologies were adequate.\r\n\r\n" * 3)
@example(text="\ufeffStatement 1\n\nMost staff were confident. 👩‍👧‍👦 A few were not.")
def test_pipeline_never_breaks_offsets(fw, tagger, clf, text):
    """At least 2,000 examples through decode, segment, tagger and classifier."""
    check_pipeline(text, fw, tagger, clf)


@pytest.mark.fuzz
@pytest.mark.parametrize("name, text", [
    ("letters", "abcdefghij" * 10_000),
    ("words glued together", "almostallrecordswerereviewed" * 3_600),
    ("quantifiers glued together", ("99%" + "x" * 17) * 5_000),
    ("full stops without spaces", ("Mostplanswerereviewed." * 4_600)[:100_000]),
    ("emoji", "👩‍👧‍👦" * 20_000),
    ("right-to-left and combining marks", ("\u200fא\u0301" * 33_334)[:100_000]),
    ("report line then a long run", report_text("glenbrae") + "x" * 100_000),
])
def test_100k_character_line_without_spaces(fw, tagger, clf, name, text):
    assert len(text) >= 100_000
    check_pipeline(text, fw, tagger, clf)


def _read_or_one_error(path) -> None:
    """A document with text, or one InputError line naming the file; nothing else."""
    try:
        doc = read_document(path)
    except InputError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
    else:
        assert doc.text.strip()


@pytest.mark.fuzz
@SMALL
@given(data=st.one_of(
    st.binary(max_size=400),
    st.binary(max_size=200).map(lambda b: b"%PDF-1.4\n" + b),
    st.binary(max_size=200).map(lambda b: b"PK\x03\x04" + b),
    st.binary(max_size=200).map(lambda b: codecs.BOM_UTF16_LE + b),
    st.binary(max_size=200).map(lambda b: codecs.BOM_UTF8 + b),
    st.binary(max_size=200).map(lambda b: b"<!doctype html><p>" + b),
), suffix=st.sampled_from([".txt", ".pdf", ".docx", ".html", ""]))
def test_read_document_arbitrary_bytes(tmp_path_factory, data, suffix):
    """Any bytes under any report suffix: a document or one InputError naming the file, nothing else."""
    path = tmp_path_factory.getbasetemp() / f"fuzz-report{suffix}"
    path.write_bytes(data)
    _read_or_one_error(path)


def _mutations(seed: bytes):
    """A valid file cut short, or with a run of bytes overwritten."""
    return st.one_of(
        st.integers(0, len(seed)).map(lambda n: seed[:n]),
        st.tuples(st.integers(0, len(seed) - 1), st.binary(min_size=1, max_size=64)).map(
            lambda p: seed[:p[0]] + p[1] + seed[p[0] + len(p[1]):]),
    )


@pytest.fixture(scope="module")
def pdf_seed(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("seed") / "seed.pdf"
    return write_text_pdf(path, ["Most staff shared concerns about children promptly.",
                                 "A few chronologies were out of date."], pages=2).read_bytes()


@pytest.fixture(scope="module")
def docx_seed(tmp_path_factory) -> bytes:
    return write_docx(tmp_path_factory.mktemp("seed") / "seed.docx").read_bytes()


@pytest.mark.fuzz
@SMALL
@given(data=st.data())
def test_damaged_pdf_and_docx(tmp_path_factory, pdf_seed, docx_seed, data):
    seed, suffix = data.draw(st.sampled_from([(pdf_seed, ".pdf"), (docx_seed, ".docx")]))
    damaged = data.draw(_mutations(seed))
    path = tmp_path_factory.getbasetemp() / f"damaged{suffix}"
    path.write_bytes(damaged)
    _read_or_one_error(path)


@pytest.mark.fuzz
@SMALL
@given(xml=st.one_of(st.binary(max_size=300), st.text(max_size=200).map(lambda t: (
    '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    f"<w:body><w:p><w:r><w:t>{t}</w:t></w:r></w:p></w:body></w:document>").encode())))
def test_docx_with_arbitrary_document_xml(tmp_path_factory, docx_seed, xml):
    """A real .docx whose word/document.xml is replaced: python-docx's many error types become InputError."""
    src = zipfile.ZipFile(io.BytesIO(docx_seed))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for item in src.infolist():
            out.writestr(item, xml if item.filename == "word/document.xml" else src.read(item))
    path = tmp_path_factory.getbasetemp() / "odd-xml.docx"
    path.write_bytes(buf.getvalue())
    try:
        read_document(path)
    except InputError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
