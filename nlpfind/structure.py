"""Find a report's layout: title, contents, sections, headings, paragraphs and list items.

Extraction artefacts are repaired here: page numbers and running headers are dropped, a
paragraph broken by a page break or blank lines is joined again, and words hyphenated at a
line end are rejoined. Every block keeps exact offsets into the text as read.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from .config import Framework

TERMINAL = ".!?"
_CLOSERS = "\"'”’)]*_ "
_LIST_MARK = re.compile(
    r"^[ \t]*(?:(?:[-•*▪◦●–‣·◼■□➢►]|\(?\d{1,2}[.)]|\(?[a-hj-z][.)]|\((?:i|ii|iii|iv|v|vi|vii|viii|ix|x)\))[ \t]+(?=\S)"
    r"|\d{1,3}\.(?=[A-Z][a-z]))"
)
_PAGE_NUMBER = re.compile(r"^\s*(?:page\s*)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?\s*$", re.I)
_CONTENTS_LINE = re.compile(r"(?:\t+|\s{2,}|\.{3,}\s*|…+\s*)\d{1,3}\s*$")
_DASH_ON = re.compile(r"^[ \t]*[-–—][ \t]+[a-z0-9]")
_MD_HEADING = re.compile(r"^\s*#{1,6}\s+\S")
_INNER_STOP = re.compile(r"[.!?][\"'”’)]*\s+[A-Z]")  # a sentence ends inside the line
_FIELD_LINE = re.compile(r"^[A-Z][^:.!?]{1,30}:\s+\S")
_KEY_MESSAGES = re.compile(r"^key messages\b", re.I)
_URL = re.compile(r"\b(?:https?://|www\.)\S", re.I)
_LINK_WORDS = re.compile(r"\b(?:and|or|of|the|a|an|to|in|for|with|by|on|at|from|as|that|which|their|its)$", re.I)
# Enough of a text's end for _LINK_WORDS: its longest word, the character before it (for \b) and
# a final newline (which `$` allows).
_LINK_TAIL = len("which") + 2
# Wrapped text: a line at least this share of the block's longest line fills its column (when the
# longest is at least _MIN_COLUMN characters: short lines are lists of labels, not a column of prose).
_FULL_LINE, _MIN_COLUMN = 0.9, 60


@dataclass(frozen=True)
class Line:
    start: int
    end: int  # exclusive, without the newline
    text: str
    page: int


@dataclass(frozen=True)
class Block:
    """A unit of layout. `pieces` are the source spans whose text, joined, is the block."""

    kind: str  # title | heading | label | contents | paragraph | list_item
    pieces: tuple[tuple[int, int], ...]
    section: tuple[str, ...] = ()
    statement: str | None = None
    in_finding_section: bool = True

    @property
    def start(self) -> int:
        return self.pieces[0][0]

    @property
    def end(self) -> int:
        return self.pieces[-1][1]


def split_lines(text: str) -> list[Line]:
    """Lines with offsets; form feeds (page breaks) also end lines and count pages."""
    lines, pos = [], 0
    for page, page_text in enumerate(text.split("\f")):
        for raw in page_text.split("\n"):
            line = raw.rstrip("\r")
            lines.append(Line(pos, pos + len(line), line, page))
            pos += len(raw) + 1  # the line and its newline or form feed
    return lines


def _norm_repeated(s: str) -> str:
    return re.sub(r"\d+", "#", s.strip().lower())


def find_artefacts(lines: list[Line]) -> set[int]:
    """Indices of lines that are page numbers or running headers/footers."""
    out = {i for i, ln in enumerate(lines) if _PAGE_NUMBER.match(ln.text) and ln.text.strip()}
    pages = max((ln.page for ln in lines), default=0) + 1
    page_texts: dict[int, list[str]] = {}
    if pages >= 3:
        for ln in lines:
            page_texts.setdefault(ln.page, []).append(ln.text)
    if pages >= 3 and len({tuple(t) for t in page_texts.values()}) > 1:  # identical pages: content, not furniture
        by_page: dict[int, list[int]] = {}
        for i, ln in enumerate(lines):
            if ln.text.strip():
                by_page.setdefault(ln.page, []).append(i)
        edge_counts: Counter[str] = Counter()
        edges: dict[int, str] = {}
        for idx in by_page.values():
            seen = set()
            for i in idx[:3] + idx[-3:]:
                key = _norm_repeated(lines[i].text)
                edges[i] = key
                if key not in seen:
                    edge_counts[key] += 1
                    seen.add(key)
        need = max(3, int(0.3 * pages))
        for i, key in edges.items():
            if edge_counts[key] >= need and len(key) < 150:
                out.add(i)
    return out


def furniture_lines(pages: list[str]) -> list[str]:
    """The pages with running headers/footers and page-number lines removed (see find_artefacts)."""
    text = "\f".join(pages)
    lines = split_lines(text)
    drop = find_artefacts(lines)
    if not drop:
        return pages
    out_pages: list[list[str]] = [[] for _ in pages]
    for i, ln in enumerate(lines):
        if i not in drop:
            out_pages[ln.page].append(ln.text)
    return ["\n".join(p) for p in out_pages]


def _ends_with_link_word(s: str) -> bool:
    """Whether `s` ends with a word that links to more ("... and", "... of the")."""
    # re.search tries the end-anchored pattern at every position: on a paragraph, search its tail only.
    return _LINK_WORDS.search(s[-_LINK_TAIL:]) is not None


def _is_contents_line(s: str) -> bool:
    """A contents entry: text, then tabs, spaces, dots or an ellipsis, then a page number."""
    # Only a line ending in a digit can match: checking that first spares searching every other line.
    return s.rstrip()[-1:].isdecimal() and _CONTENTS_LINE.search(s) is not None


def _ends_sentence(s: str) -> bool:
    s = s.rstrip(_CLOSERS)
    return bool(s) and s[-1] in TERMINAL


def _is_heading_text(s: str, max_words: int = 18) -> bool:
    t = s.strip().strip("*_ ")
    if t.endswith("?") and len(t.split()) <= 8 and "\n" not in s.strip():
        return True  # "What happens next?"
    if not t or _ends_sentence(t) or len(t) > 250:
        return False
    words = t.split()
    if t.endswith(":") and len(words) > 5:
        return False  # a lead-in sentence to a list
    return len(words) <= max_words and not t.endswith(",") and not _ends_with_link_word(t)


def _raw_blocks(lines: list[Line], artefacts: set[int]) -> list[tuple[str, list[Line]]]:
    """Group lines into raw blocks (list items, markdown headings, runs of text lines)."""
    blocks: list[tuple[str, list[Line]]] = []
    current: list[Line] = []
    kind = "text"

    def flush() -> None:
        nonlocal current, kind
        if current:
            blocks.append((kind, current))
        current, kind = [], "text"

    prev_page = 0
    for i, ln in enumerate(lines):
        if i in artefacts:
            continue
        if ln.page != prev_page:
            flush()
            prev_page = ln.page
        if not ln.text.strip():
            flush()
            continue
        if _MD_HEADING.match(ln.text):
            flush()
            blocks.append(("heading", [ln]))
            continue
        if _is_contents_line(ln.text) and len(ln.text.split()) <= 40:
            flush()
            blocks.append(("contents", [ln]))
            continue
        if _LIST_MARK.match(ln.text) and not _dash_runs_on(current, kind, ln):
            flush()
            kind = "list_item"
            current = [ln]
            continue
        if current and kind == "text" and len(current) >= 1 and _heading_inside(current, ln):
            # A short line ending no sentence, followed by a capitalised line: a heading
            # printed directly above its paragraph (common in PDF text).
            head = current
            current = []
            blocks.append(("text", head))
        current.append(ln)
    flush()
    return blocks


def _dash_runs_on(current: list[Line], kind: str, line: Line) -> bool:
    """A dash that wrapping put at the start of a line ("... of the 0" / "– 15yr population)"), not a bullet:
    it follows a line of running text that fills its column and ends no sentence or lead-in, and the text
    after the dash opens in lower case or a digit."""
    if kind != "text" or not current or not _DASH_ON.match(line.text):
        return False
    before = current[-1].text.rstrip()
    return _fills_column(current[-1], current) and not _ends_sentence(before) and not before.endswith(":")


def _heading_inside(current: list[Line], nxt: Line) -> bool:
    if len(current) != 1:
        return False
    first = current[0].text.strip()
    return (_is_heading_text(first) and len(first.split()) <= 12 and nxt.text.strip()[:1].isupper()
            and len(first) < 0.6 * max(len(nxt.text.strip()), 1))


def _split_wrapped(lines: list[Line], grades: tuple[str, ...],
                   headings: tuple[re.Pattern, ...] = ()) -> list[list[Line]]:
    """Split a block of wrapped lines (PDF text) around headings printed inside it.

    After a line that ends a sentence, a run of at most two lines that ends no sentence and is
    followed by a capitalised or list-marked line is a heading; so is a short line that ends
    with a grade word ("Overall effectiveness Good").
    """
    if len(lines) < 2:
        return [lines]
    grade_re = (re.compile(r"(?:^|\s)(?:" + "|".join(re.escape(g) for g in sorted(grades, key=len, reverse=True))
                           + r")\s*$", re.I) if grades else None)
    out: list[list[Line]] = []
    current: list[Line] = []
    boundary = 0  # index in `current` just after the last sentence end
    i, n = 0, len(lines)

    def is_grade_line(ln: Line) -> bool:
        return grade_re is not None and bool(grade_re.search(ln.text)) and len(ln.text.split()) <= 8

    # A line that fills the column was wrapped: its text goes on in the next line, so it ends no heading
    # ("... investigations was" / "20.4, this was higher ...", "... working with" / "Police Scotland ...").
    column = _column(lines)  # once: a PDF page without blank lines is one block of many runs

    def fills_column(ln: Line) -> bool:
        return _fills_column(ln, lines, column)

    while i < n:
        stripped = lines[i].text.strip()
        if _is_field(stripped) or (len(stripped.split()) <= 4 and not _ends_sentence(stripped)
                                   and any(h.search(stripped) for h in headings)):
            if current:
                out.append(current)
            out.append([lines[i]])  # a known section heading printed inside running text
            current, boundary = [], 0
            i += 1
            continue
        if is_grade_line(lines[i]) and not _ends_sentence(lines[i].text):
            # A row of a judgement table, or "Overall effectiveness Good": a heading.
            only_grade = grade_re is not None and bool(grade_re.fullmatch(" " + stripped))
            cut = max(boundary, len(current) - (2 if only_grade else 1))
            head = current[cut:] + [lines[i]]
            if current[:cut]:
                out.append(current[:cut])
            out.append(head)
            current, boundary = [], 0
            i += 1
            continue
        at_start = not current or _ends_sentence(current[-1].text)
        if at_start:
            run = []
            j = i
            while (j < n and len(run) < 3 and not _ends_sentence(lines[j].text) and not is_grade_line(lines[j])
                   and not _INNER_STOP.search(lines[j].text)):
                run.append(lines[j])
                j += 1
            if len(run) >= 2:
                first, second = run[0].text.strip(), run[1].text.strip()
                if (len(first.split()) <= 8 and len(first) < 0.6 * len(second) and second[:1].isupper()
                        and first[:1].isupper() and not _ends_with_link_word(first) and not first.endswith(",")):
                    run, j = run[:1], i + 1  # a short heading line above a paragraph's first line
            words = sum(len(x.text.split()) for x in run)
            nxt = lines[j].text.strip() if j < n else ""
            last_short = j == n and len(run) == 1 and len(run[0].text.split()) <= 6 and run[0].text.strip()[:1].isupper()
            if (run and len(run) <= 2 and words <= 24 and (j < n or last_short) and not (j < n and is_grade_line(lines[j]))
                    and not (j < n and fills_column(run[-1]))
                    and (last_short or nxt[:1].isupper() or nxt[:1].isdigit() or _LIST_MARK.match(nxt) is not None)
                    and not run[-1].text.rstrip().endswith(",") and not _ends_with_link_word(run[-1].text.strip())):
                if current:
                    out.append(current)
                out.append(run)
                current, boundary = [], 0
                i = j
                continue
        current.append(lines[i])
        if _ends_sentence(lines[i].text):
            boundary = len(current)
        i += 1
    if current:
        out.append(current)
    return out


def _column(block: list[Line]) -> int:
    return max(len(ln.text.rstrip()) for ln in block)


def _fills_column(line: Line, block: list[Line], column: int | None = None) -> bool:
    """Whether `line` is as wide as the block's widest line (its `column`): wrapped text, which goes on in the
    next line."""
    column = _column(block) if column is None else column
    return column >= _MIN_COLUMN and len(line.text.rstrip()) >= _FULL_LINE * column


def _is_field(text: str) -> bool:
    """A 'Key: value' line such as 'Inspection dates: 3 to 14 May 2021' (not prose)."""
    return bool(_FIELD_LINE.match(text)) and not _ends_sentence(text) and len(text.split()) <= 15


def _block_text(lines: list[Line]) -> str:
    return " ".join(ln.text.strip() for ln in lines)


def parse_blocks(text: str, framework: Framework) -> list[Block]:
    """Split `text` into classified blocks, each with its section path."""
    lines = split_lines(text)
    artefacts = find_artefacts(lines)
    raw = _raw_blocks(lines, artefacts)
    grades = tuple(g.grade for g in framework.evaluation_scale)
    top_res = tuple(re.compile(p, re.I) for p in framework.top_level_sections)
    split: list[tuple[str, list[Line]]] = []
    for kind, lns in raw:
        if kind in ("text", "list_item") and len(lns) > 1:
            parts = _split_wrapped(lns, grades, top_res)
            split.append((kind, parts[0]))
            split.extend(("text", part) for part in parts[1:])
        else:
            split.append((kind, lns))
    raw = _merge_broken(split)

    blocks: list[Block] = []
    level1: str | None = None
    level2: str | None = None
    statement: str | None = None
    in_contents = False
    contents_lines = 0
    seen_body = False
    nonfinding_res = [re.compile(p, re.I) for p in framework.not_finding_sections]
    finding_sections: dict[tuple[str, ...], bool] = {}  # a report has few section paths and many blocks

    for kind, lns in raw:
        joined = _block_text(lns)
        label = joined.strip().lstrip("#").strip().strip("*_ ").strip()
        if kind in ("text", "label") and len(label.split()) <= 40 and (
                len(lns) <= 5 or not _ends_sentence(label)) and framework.statement_for_heading(label) is not None:
            kind = "heading"
        if kind == "text":
            if len(lns) > 1 and all(len(ln.text.split()) <= 6 and not _ends_sentence(ln.text)
                                    for ln in lns):
                kind = "label"  # an address or a column of short labels, not prose
            elif re.fullmatch(r"[^:]{1,40}:", label) and len(label.split()) <= 5:
                kind = "label"
            elif (len(lns) <= 3 and len(label.split()) <= 40
                  and framework.statement_for_heading(label) is not None):
                kind = "heading"
            elif (not seen_body and level1 is None and len(label.split()) <= 40 and not _ends_sentence(label)
                  and not label.endswith(":")):
                kind = "heading"  # front matter before any section: title, subtitle, date
            elif _is_heading_text(joined, 12) or (
                    len(lns) == 1 and "," not in joined and _is_heading_text(joined, 30)):
                # "Guidance <https://...>", "Website: www...": a reference line, not a heading that would name
                # the section of the glossary entries after it
                kind = "label" if _URL.search(label) else "heading"
            else:
                kind = "paragraph"
        if kind == "contents":
            in_contents = True
            contents_lines += 1
        elif kind == "heading":
            head = re.sub(r"\s+", " ", label)
            sid = framework.statement_for_heading(head)
            if in_contents and head.lower().startswith("contents"):
                pass
            elif sid is not None:
                level1, level2, statement = head, None, sid
                in_contents = False
            elif head.lower() == "contents" or re.match(r"^(table of )?contents\b", head, re.I):
                level1, level2, statement, in_contents = head, None, None, True
            elif _KEY_MESSAGES.match(head) and statement is not None:
                level2 = head
            elif any(r.search(head) for r in top_res):
                level1, level2, statement = head, None, None
                in_contents = False
            elif not seen_body and level1 is None:
                kind = "title"
            elif in_contents and contents_lines:
                # A heading without a page number after the contents list: the body has begun.
                level1, level2, statement, in_contents = head, None, None, False
            else:
                level2 = head
                in_contents = False if level1 and not level1.lower().startswith("contents") else in_contents
        else:
            if kind in ("paragraph", "list_item"):
                if in_contents and contents_lines and _ends_sentence(joined):
                    in_contents = False  # prose: the contents list is over
                if in_contents:
                    kind = "contents"
                else:
                    seen_body = True
        section = tuple(s for s in (level1, level2) if s)
        finding = finding_sections.get(section)
        if finding is None:
            finding = finding_sections[section] = not any(r.search(s) for r in nonfinding_res for s in section)
        pieces = tuple(_pieces(lns, kind))
        if pieces:
            blocks.append(Block(kind, pieces, section, statement, finding))
    return blocks


def _pieces(lns: list[Line], kind: str) -> list[tuple[int, int]]:
    out = []
    for j, ln in enumerate(lns):
        start, end = ln.start, ln.end
        if j == 0 and kind == "list_item":
            m = _LIST_MARK.match(ln.text)
            if m:
                start += m.end()
        if j == 0 and kind in ("heading", "title"):
            m = re.match(r"\s*#{1,6}\s+", ln.text)
            if m:
                start += m.end()
        seg = ln.text[start - ln.start: end - ln.start]
        lead = len(seg) - len(seg.lstrip())
        trail = len(seg) - len(seg.rstrip())
        if end - trail > start + lead:
            out.append((start + lead, end - trail))
    return out


def _merge_broken(raw: list[tuple[str, list[Line]]]) -> list[tuple[str, list[Line]]]:
    """Join text blocks split by a page break or stray blank lines mid-sentence."""
    out: list[tuple[str, list[Line]]] = []
    for kind, lns in raw:
        if out and kind == "text" and out[-1][0] in ("text", "list_item"):
            prev_kind, prev = out[-1]
            prev_text = _block_text(prev).strip()
            cur = _block_text(lns).strip()
            starts_lower = cur[:1].islower()
            prev_open = not _ends_sentence(prev_text) and not prev_text.endswith(":")
            # Across a page break, a paragraph whose last line fills its column goes on in the next page.
            long_prev = prev_text.endswith(",") or _ends_with_link_word(prev_text) or (
                prev_kind == "text" and len(prev) >= 2 and prev[-1].page != lns[0].page and _fills_column(prev[-1], prev))
            if prev_open and (starts_lower or (long_prev and prev_kind == "text"
                                               and not _is_heading_text(cur))):
                if prev_kind == "list_item" and not starts_lower and not long_prev:
                    out.append((kind, lns))
                    continue
                out[-1] = (prev_kind, prev + lns)
                continue
        out.append((kind, lns))
    return out


def extract_grades(text: str, framework: Framework) -> dict[str, str]:
    """Grades stated in judgement headings ("...: good", "Overall effectiveness Good").

    Keys are statement ids plus "overall"; values are grades from the framework's evaluation
    scale (lower case). Headings in the body win over the summary table on the first page.
    """
    scale = sorted((g.grade for g in framework.evaluation_scale), key=len, reverse=True)
    if not scale:
        return {}
    grade_re = re.compile(r"[:\s]\s*(" + "|".join(re.escape(g) for g in scale) + r")\s*$", re.I)
    found: dict[str, str] = {}
    pending: str | None = None  # a judgement heading whose grade is printed on the next line
    for block in parse_blocks(text, framework):
        if block.kind not in ("heading", "label", "title"):
            pending = None
            continue
        head = " ".join(" ".join(text[a:b] for a, b in block.pieces).split())
        m = grade_re.search(" " + head)
        if not m:
            sid = framework.statement_for_heading(head)
            pending = sid if sid is not None else ("overall" if re.match(r"overall effectiveness", head, re.I)
                                                   else None)
            continue
        if pending is not None and m.start() == 0:
            found[pending] = _norm_grade(m.group(1))
            pending = None
            continue
        pending = None
        grade = _norm_grade(m.group(1))
        sid = framework.statement_for_heading(head)
        key = sid if sid is not None else ("overall" if re.match(r"overall effectiveness", head, re.I) else None)
        if key is not None:
            found[key] = grade  # later (body) headings override the first-page table
    return found


def _norm_grade(grade: str) -> str:
    grade = " ".join(grade.lower().split())
    return "requires improvement to be good" if grade == "requires improvement" else grade
