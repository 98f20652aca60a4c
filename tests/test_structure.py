"""Layout (nlpfind.structure) and sentences (nlpfind.segment) with exact offsets."""

from __future__ import annotations

import re

import pytest
from conftest import EXAMPLE, SHARED, needs_shared
from reportdocs import PAGED_SENTENCES, PAGED_TEXT, PAGES, RUNNING_HEADER

from nlpfind.read import read_document
from nlpfind.segment import segment
from nlpfind.structure import find_artefacts, parse_blocks, split_lines

STATEMENT_1 = ("Statement 1: Children and young people are safer because risks are identified early and "
               "responded to effectively")


@pytest.fixture(scope="module")
def paged(framework):
    return segment(PAGED_TEXT, framework)


def _check_offsets(source, sentences):
    assert sentences
    for s in sentences:
        assert source[s.start:s.end] == s.text
        assert s.text == s.text.strip()
        assert sum(ch.isalpha() for ch in s.clean) >= 2
        assert s.clean == s.clean.strip() and "  " not in s.clean and "\n" not in s.clean
    assert [s.index for s in sentences] == list(range(len(sentences)))
    assert all(a.end <= b.start for a, b in zip(sentences, sentences[1:]))


def test_paged_report_file_reads_back_unchanged(paged_report, framework):
    doc = read_document(paged_report)
    assert doc.text == PAGED_TEXT and doc.text.count("\f") == len(PAGES) - 1
    assert [s.clean for s in segment(doc.text, framework)] == [c for c, _ in PAGED_SENTENCES]


def test_exact_offsets_on_the_paged_report(paged):
    _check_offsets(PAGED_TEXT, paged)


def test_the_paged_report_gives_exactly_its_sentences(paged):
    assert [(s.clean, s.statement_section) for s in paged] == PAGED_SENTENCES


def test_headings_title_contents_and_page_numbers_are_not_sentences(paged):
    cleans = [s.clean for s in paged]
    joined = "\n".join(cleans)
    assert not any(c.startswith(("Joint inspection", "Report published", "Contents", "Introduction",
                                 "Key messages", "Statement ", "Recognising", "Assessment and planning",
                                 "Involvement in decisions", "Leadership and governance", "Conclusion"))
                   for c in cleans)
    assert RUNNING_HEADER not in joined
    assert "\t" not in joined and "........" not in joined
    for s in paged:
        assert not re.fullmatch(r"\d+", s.clean)
        assert not re.search(r"\b[1-5]$", s.text)  # no page number glued to a sentence end


def test_page_artefacts_found(framework):
    lines = split_lines(PAGED_TEXT)
    assert max(ln.page for ln in lines) == len(PAGES) - 1
    artefacts = {lines[i].text for i in find_artefacts(lines)}
    assert artefacts == {RUNNING_HEADER, "1", "2", "3", "4", "5"}


def test_block_kinds(framework):
    blocks = parse_blocks(PAGED_TEXT, framework)
    text = {b.kind: [] for b in blocks}
    for b in blocks:
        text[b.kind].append(PAGED_TEXT[b.start:b.end])
    assert text["title"][0].startswith("Joint inspection of services")
    assert len(text["contents"]) == 7
    assert "Recognising and responding to concerns" in text["heading"]
    assert STATEMENT_1 in text["heading"]
    assert len(text["list_item"]) == 4


def test_list_items_are_sentences_without_their_markers(paged):
    items = [s for s in paged if s.kind == "list_item"]
    assert [s.clean for s in items] == [c for c, _ in PAGED_SENTENCES[2:6]]
    markers = [PAGED_TEXT[PAGED_TEXT.rfind("\n", 0, s.start) + 1:s.start] for s in items]
    assert markers == ["1. ", "2. ", "- ", "• "]
    for s in items:
        assert s.text[0].isupper()


def test_sentence_broken_by_a_page_break_is_one_sentence(paged):
    s = next(s for s in paged if s.clean.startswith("The quality of chronologies"))
    assert s.clean.endswith("had not been started at all.")
    assert "\f" in s.text and RUNNING_HEADER in s.text  # the source span crosses the page furniture
    assert RUNNING_HEADER not in s.clean and " 3 " not in s.clean


def test_sentence_broken_by_blank_lines_is_one_sentence(paged):
    s = next(s for s in paged if s.clean.startswith("Plans were reviewed regularly"))
    assert "\n\n\n" in s.text
    assert s.clean.endswith("a few reviews were postponed without a clear reason.")


def test_hyphenated_line_end_is_rejoined_in_clean(paged):
    s = next(s for s in paged if "referral process" in s.clean)
    assert "well understood by managers" in s.clean
    assert "under-\nstood" in s.text
    # a real hyphen inside a line is kept
    assert any("Self-evaluation" in x.clean for x in paged)
    assert any("Inter-agency" in x.clean for x in paged)


def test_section_paths(paged):
    by_start = {s.clean.split(",")[0][:30]: s for s in paged}
    intro = by_start["This inspection took place bet"]
    assert intro.section == ("Introduction",) and intro.statement_section is None
    key = next(s for s in paged if s.kind == "list_item")
    assert key.section == ("Key messages",)
    first = by_start["In almost all of the records w"]
    assert first.section == (STATEMENT_1, "Recognising and responding to concerns")
    assert first.section_label == f"{STATEMENT_1} > Recognising and responding to concerns"
    assert first.statement_section == "1"
    last = paged[-1]
    assert last.section == ("Conclusion",) and last.statement_section is None


def test_to_source_maps_clean_offsets_into_the_text(paged):
    for s in paged:
        for word in ("understood", "started", "postponed", "Chronologies"):
            at = s.clean.find(word)
            if at < 0:
                continue
            start = s.to_source(at)
            assert PAGED_TEXT[start:start + 4] == word[:4]
    s = next(s for s in paged if "understood" in s.clean)
    at = s.clean.find("understood")
    assert PAGED_TEXT[s.to_source(at):s.to_source(at + len("understood") - 1) + 1] == "under-\nstood"


def test_crlf_text_gives_the_same_sentences(framework):
    source = PAGED_TEXT.replace("\n", "\r\n")
    sents = segment(source, framework)
    _check_offsets(source, sents)
    assert [(s.clean, s.statement_section) for s in sents] == PAGED_SENTENCES


def test_abbreviations_do_not_split_sentences(framework):
    source = ("Findings\n\nStaff used tools, e.g. the neglect toolkit, with most families. "
              "Dr. Reid chaired the review on 3 May. Plans were clear.\n")
    sents = segment(source, framework)
    assert [s.clean for s in sents] == [
        "Staff used tools, e.g. the neglect toolkit, with most families.",
        "Dr. Reid chaired the review on 3 May.",
        "Plans were clear.",
    ]


def test_abbreviation_after_a_long_sentence_start_does_not_split(framework):
    # Only the end of the text before a split is searched for an abbreviation: a long one still works.
    source = ("Findings\n\nOver a long and busy year the partnership read the records and plans of approx. "
              "Forty children. Most were well supported.\n")
    assert [s.clean for s in segment(source, framework)] == [
        "Over a long and busy year the partnership read the records and plans of approx. Forty children.",
        "Most were well supported.",
    ]


def test_split_lines_offsets_pages_and_line_ends():
    text = "Title\r\n\nFirst line\fSecond page\r\nlast\n"
    lines = split_lines(text)
    assert [(ln.text, ln.page) for ln in lines] == [("Title", 0), ("", 0), ("First line", 0), ("Second page", 1),
                                                     ("last", 1), ("", 1)]
    assert all(text[ln.start:ln.end] == ln.text for ln in lines)
    assert [(ln.start, ln.end, ln.text, ln.page) for ln in split_lines("")] == [(0, 0, "", 0)]


def test_link_words_and_contents_lines_are_read_at_the_line_end():
    from nlpfind.structure import _ends_with_link_word, _is_contents_line

    long = "Staff worked with families across the area over many months " * 5
    assert _ends_with_link_word(long + "and") and _ends_with_link_word(long + "in Which")
    assert not _ends_with_link_word(long + "brand") and not _ends_with_link_word(long + "theatre")
    assert not _ends_with_link_word("and then")
    assert _is_contents_line("Introduction ........ 3") and _is_contents_line("Key messages\t12 ")
    assert not _is_contents_line("Most of the 12 plans were reviewed in 3") and not _is_contents_line("Contents")


def test_markdown_markup_is_removed_from_clean(framework):
    source = "## Key messages\n\nStaff were **very** confident, as the [survey](https://example.org/s) showed.\n"
    sents = segment(source, framework)
    assert [s.clean for s in sents] == ["Staff were very confident, as the survey showed."]
    _check_offsets(source, sents)


# -- the example report shipped in the repository -------------------------------------------------
def test_example_report(framework):
    source = read_document(EXAMPLE).text
    sents = segment(source, framework)
    _check_offsets(source, sents)
    cleans = [s.clean for s in sents]
    assert not any(c.startswith(("Contents", "Introduction\t", "Statement ", "Key messages", "Strengths"))
                   for c in cleans)
    assert "Conclusion" not in cleans and "2" not in cleans
    assert ("Work to reduce risk to older young people in the community was less effective than work to "
            "address neglect within the family.") in cleans
    assert "The partnership should improve the quality of chronologies." in cleans  # a numbered list item
    by_statement = {s.statement_section for s in sents}
    assert by_statement == {None, "1", "2", "3", "4"}
    s = next(s for s in sents if s.clean.startswith("In the majority of records we read"))
    assert s.statement_section == "2" and s.section[-1] == "Assessment and planning"


def test_example_title_page_gives_no_sentence(framework):
    source = read_document(EXAMPLE).text
    first_heading = source.index("\nContents\n")
    assert [s.clean for s in segment(source, framework) if s.start < first_heading] == []


# -- lines mode -------------------------------------------------------------------------------------
FINDINGS = [
    "Most staff were confident about recognising neglect.",
    "  Chronologies were not consistently up to date.  ",
    "",
    "In almost all records, risk assessments were of a good quality. They were reviewed.",
    "\t- Leaders should improve self-evaluation",
]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_lines_mode_is_one_sentence_per_line(framework, newline):
    source = newline.join(FINDINGS) + newline
    sents = segment(source, framework, lines=True)
    assert len(sents) == sum(1 for f in FINDINGS if f.strip())
    assert [s.text for s in sents] == [f.strip() for f in FINDINGS if f.strip()]
    for s in sents:
        assert source[s.start:s.end] == s.text
        assert s.kind == "line" and s.section == ()
    assert [s.index for s in sents] == list(range(len(sents)))


def test_lines_mode_keeps_heading_like_lines(framework):
    source = "Statement 2\nKey messages\nPlans were good.\n"
    assert [s.clean for s in segment(source, framework, lines=True)] == ["Statement 2", "Key messages",
                                                                          "Plans were good."]


# -- a real report, when the shared corpus is present -----------------------------------------------
@needs_shared
def test_shared_reports_segment_with_exact_offsets(framework):
    files = sorted((SHARED / "reports").glob("*.txt"))[:3]
    if not files:
        pytest.skip(f"no .txt reports under {SHARED / 'reports'}")
    for path in files:
        source = read_document(path).text
        sents = segment(source, framework)
        _check_offsets(source, sents)
        assert not any(re.fullmatch(r"(?:page\s*)?\d+", s.clean, re.I) for s in sents)
        assert any(s.statement_section for s in sents), path


def _statement_sections(text, framework):
    return [(b.statement, text[b.start:b.end].split()[0]) for b in parse_blocks(text, framework)
            if b.kind == "paragraph"]


_HEADED_BODY = """Glenarden joint inspection report

{h1}

Staff knew how to recognise and report a concern about a child.

{h4}

Leaders had a shared vision for services to children at risk of harm.
"""


TITLE = "the statement's own title, from the framework"  # a report's wording, so not written out here


@pytest.mark.parametrize("h1, h4", [
    ("Statement 1: Children in Glenarden are safer", "Statement 4: Leaders in Glenarden work together"),
    ("Statement one: Children and young people are safer", "STATEMENT FOUR - Collaborative leadership"),
    # the title alone, in full or shortened, as some reports head the section
    (TITLE, TITLE),
    ("Children and young people are safer because risks are identified early",
     "Collaborative leadership, planning and operational management ensure high standards of service"),
])
def test_a_statement_section_opens_under_each_way_reports_head_it(framework, h1, h4):
    h1 = framework.statements[0].title if h1 is TITLE else h1
    h4 = framework.statements[3].title if h4 is TITLE else h4
    text = _HEADED_BODY.format(h1=h1, h4=h4)
    assert _statement_sections(text, framework) == [("1", "Staff"), ("4", "Leaders")]


def test_a_sentence_or_list_that_names_the_statements_opens_no_section(framework):
    text = _HEADED_BODY.format(
        h1="Partners should ensure children and young people are safer because risks are identified early.",
        h4="We looked at whether:\n\n1. Children and young people are safer because risks are identified early\n"
           "2. Collaborative leadership, planning and operational management ensure high standards")
    assert {statement for statement, _ in _statement_sections(text, framework)} == {None}


def test_a_short_line_with_a_web_address_is_no_heading_and_no_sentence(framework):
    """A glossary entry with a link keeps the glossary's section for the entries after it."""
    text = ("Glenarden joint inspection report\n\nAppendix 2: Terms we use\n\n"
            "Family group conferencing is a meeting at which a family plans with staff how to keep a child safe.\n\n"
            "Local practice guidance <https://www.example.org/glenarden/practice-guidance/>\n\n"
            "Team around the child is the group of staff who support one child and meet to review the plan.\n\n"
            "Website: www.example.org\n")
    blocks = parse_blocks(text, framework)
    kinds = {text[b.start:b.end]: b.kind for b in blocks}
    assert kinds["Local practice guidance <https://www.example.org/glenarden/practice-guidance/>"] == "label"
    assert kinds["Website: www.example.org"] == "label"
    last_entry = next(b for b in blocks if text[b.start:b.end].startswith("Team around the child"))
    assert last_entry.kind == "paragraph" and last_entry.section == ("Appendix 2: Terms we use",)
    assert not any("example.org" in s.text for s in segment(text, framework))


def test_a_short_subheading_that_shares_a_titles_words_is_no_statement(framework):
    # "children", "young", "people" open statements 1 and 2 alike; too few words to tell which
    assert framework.statement_for_heading("Children and young people") is None
    assert framework.statement_for_heading("Children and young people's lives") is None
    assert framework.statement_for_heading(
        "Children and young people's lives improve with planning, support and nurturing relationships") == "2"


_COLUMN = """Glenarden joint inspection report

Statement 1: Children in Glenarden are safer because staff
notice harm early, share what they know at once,
and act together with police and health colleagues to
keep each child safe from further harm at home.

The rate of inter-agency referral discussions held in Glenarden was
21.3 per thousand children, higher than the rate in the year before.
Concerns about unborn babies were shared early and discussed with NHS
Glenarden midwives and social workers at a meeting held every week.

Key messages
Staff knew children well and were confident in recognising harm.
"""


def test_a_line_that_fills_the_column_runs_on_into_the_next(framework):
    """Wrapped PDF text: a full-width line before a line opening with a number or a name is not a heading."""
    sentences = segment(_COLUMN, framework)
    assert [s.clean.split()[:3] for s in sentences] == [
        ["The", "rate", "of"], ["Concerns", "about", "unborn"], ["Staff", "knew", "children"]]
    assert {s.statement_section for s in sentences} == {"1"}  # a heading wrapped over four lines opens statement 1
    assert sentences[-1].section[-1] == "Key messages"  # a short line above a paragraph is still a heading


_PAGE_BROKEN = (
    "Glenarden joint inspection report\n\n"
    "Staff across the partnership knew children well and recorded their views in plans, and the\n"
    "partnership's multi-agency screening hub reviewed every concern about a child within a\n"
    "day, which the rate of referral discussions per thousand children (then 21.3, against 0\n"
    "– 15 the year before) showed clearly to the chief officers group and the child protection\n"
    "\n3\f"
    "Glenarden joint inspection report\n\n"
    "(CPC) committee, who read a [summary of these\nfindings](https://example.org/x) each month.\n"
    "\n4\f"
    "Glenarden joint inspection report\n\n"
    "Leaders agreed a shared vision.\n"
    "\n5\f"
    "Glenarden joint inspection report\n\n"
    "We met:\n- staff from health\n- social workers\n"
)


def test_a_sentence_runs_on_across_a_page_break_a_wrapped_dash_and_a_wrapped_link(framework):
    cleans = [s.clean for s in segment(_PAGE_BROKEN, framework)]
    assert cleans[0].startswith("Staff across the partnership") and cleans[0].endswith(
        "(then 21.3, against 0 – 15 the year before) showed clearly to the chief officers group and the child "
        "protection (CPC) committee, who read a summary of these findings each month.")
    assert cleans[1:] == ["Leaders agreed a shared vision.", "staff from health", "social workers"]


@pytest.mark.parametrize("text", [
    "Staff were confident. Plans were reviewed!  Were they? Yes... and then (some) more.",
    "“Quoted.” Next one. Ellipsis … then more?! And a final word",
    "No end punctuation at all",
    ". . . Leading dots. Then words.",
    "Numbers 1. 2. 3. and e.g. abbreviations; U.K. style. (Brackets.) [Square.] End.",
    "",
    " ",
    "Ends with a mark. ",
    "A word_with_underscores. ___ then __init__. Next.",
    "Half-way. 10km. Well-being! Don't stop. “Yes.” (No.)",
    "Odd white space.\nNext line.  Two spaces. Tab\there.\xa0And a no-break space.",
    " Leading space. Then more.",
    "Marks in other scripts。 Next one！ And ‼ then words",
])
def test_sentence_boundaries_follow_spacys_sentencizer(text):
    """nlpfind applies the sentencizer's rule to tokens it gets chunk by chunk (or, for text with other white
    space than single spaces, from the tokenizer whole); the spans are the sentencizer's own."""
    from nlpfind import segment

    nlp = segment.sentence_pipeline()
    expected = [(s.start_char, s.start_char + len(s.text.rstrip())) for s in nlp(text).sents]
    segment._CHUNK_KINDS.clear()
    assert segment._raw_sentence_spans(text) == expected
    assert segment._raw_sentence_spans(text) == expected  # again, from the remembered chunks


def test_sentence_boundaries_after_the_chunk_memory_is_cleared(monkeypatch):
    from nlpfind import segment

    text = "Staff were confident. Plans were reviewed! Were they? Yes... and then (some) more."
    want = segment._raw_sentence_spans(text)
    segment._CHUNK_KINDS.clear()
    monkeypatch.setattr(segment, "_MAX_CHUNKS", 2)
    assert segment._raw_sentence_spans(text) == want
    assert len(segment._CHUNK_KINDS) <= 3  # cleared along the way, at every third new chunk
