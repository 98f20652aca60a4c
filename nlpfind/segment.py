"""Sentences with spaCy, with exact offsets into the text as read.

Each paragraph or list item is cleaned (line breaks joined, hyphenation and markup removed)
with a character map back to the source, split by spaCy's rule-based sentencizer, and every
sentence is mapped back to its exact source span.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from .config import Framework
from .structure import Block, parse_blocks

_MARKUP = re.compile(r"\*\*|__|\]\([^)\s]*\)|\[(?=[^\]\n]{1,200}\]\()")
_MIN_LETTERS = 2


@dataclass(frozen=True)
class Sentence:
    """One sentence: `text == source[start:end]`; `clean` is what models read."""

    index: int
    start: int
    end: int
    text: str
    clean: str
    section: tuple[str, ...] = ()
    statement_section: str | None = None
    kind: str = "paragraph"
    in_finding_section: bool = True
    runs: tuple[tuple[int, int], ...] = ((0, 0),)

    def to_source(self, clean_offset: int) -> int:
        """Map an offset in `clean` to an absolute offset in the source text."""
        keys = [r[0] for r in self.runs]
        i = max(0, bisect.bisect_right(keys, clean_offset) - 1)
        c0, s0 = self.runs[i]
        return s0 + (clean_offset - c0)

    @property
    def section_label(self) -> str:
        return " > ".join(self.section)


class _Builder:
    """Accumulates clean text with, for each clean character, its source offset."""

    def __init__(self) -> None:
        self.chars: list[str] = []
        self.src: list[int] = []

    def add(self, source: str, start: int, end: int) -> None:
        pos = start
        for m in _MARKUP.finditer(source, start, end):
            self._copy(source, pos, m.start())
            pos = m.end()
        self._copy(source, pos, end)

    def _copy(self, source: str, a: int, b: int) -> None:
        for i in range(a, b):
            ch = source[i]
            if ch in "\r\n\t\f\v\u00a0" or ch.isspace():
                ch = " "
                if self.chars and self.chars[-1] == " ":
                    continue
            self.chars.append(ch)
            self.src.append(i)

    def join(self, source: str, next_start: int) -> None:
        """Join the next piece: drop a line-end hyphen before a lower-case letter."""
        if (len(self.chars) >= 2 and self.chars[-1] == "-" and self.chars[-2].isalpha()
                and next_start < len(source) and source[next_start].islower()):
            self.chars.pop()
            self.src.pop()
            return
        if self.chars and self.chars[-1] != " ":
            self.chars.append(" ")
            self.src.append(self.src[-1] + 1)

    @property
    def text(self) -> str:
        return "".join(self.chars)


@lru_cache(maxsize=1)
def sentence_pipeline():
    """A blank English spaCy pipeline with the rule-based sentencizer."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


def _clean_block(source: str, block: Block) -> _Builder:
    b = _Builder()
    for j, (s, e) in enumerate(block.pieces):
        if j:
            b.join(source, s)
        b.add(source, s, e)
    return b


def _runs(src: list[int], a: int, b: int) -> tuple[tuple[int, int], ...]:
    runs = [(0, src[a])]
    for k in range(a + 1, b):
        if src[k] != src[k - 1] + 1:
            runs.append((k - a, src[k]))
    return tuple(runs)


def _make(source: str, builder: _Builder, a: int, b: int, index: int, block: Block | None,
          kind: str) -> Sentence | None:
    text = builder.text
    while a < b and text[a] == " ":
        a += 1
    while b > a and text[b - 1] == " ":
        b -= 1
    clean = text[a:b]
    if sum(ch.isalpha() for ch in clean) < _MIN_LETTERS:
        return None
    start, end = builder.src[a], builder.src[b - 1] + 1
    return Sentence(
        index=index,
        start=start,
        end=end,
        text=source[start:end],
        clean=clean,
        section=block.section if block else (),
        statement_section=block.statement if block else None,
        kind=kind,
        in_finding_section=block.in_finding_section if block else True,
        runs=_runs(builder.src, a, b),
    )


def segment(source: str, framework: Framework, *, lines: bool = False) -> list[Sentence]:
    """Split `source` into sentences; with `lines`, each non-empty line is one sentence."""
    return list(iter_sentences(source, framework, lines=lines))


def iter_sentences(source: str, framework: Framework, *, lines: bool = False) -> Iterator[Sentence]:
    if lines:
        index = 0
        for m in re.finditer(r"[^\r\n]+", source):
            b = _Builder()
            b.add(source, m.start(), m.end())
            if not b.chars:
                continue
            sent = _make(source, b, 0, len(b.chars), index, None, "line")
            if sent:
                yield sent
                index += 1
        return
    blocks = [bl for bl in parse_blocks(source, framework) if bl.kind in ("paragraph", "list_item")]
    builders = [_clean_block(source, bl) for bl in blocks]
    nlp = sentence_pipeline()
    index = 0
    for block, builder, doc in zip(blocks, builders, _pipe(nlp, (bd.text for bd in builders))):
        for sent in _sentence_spans(doc):
            s = _make(source, builder, sent[0], sent[1], index, block, block.kind)
            if s:
                yield s
                index += 1


def _pipe(nlp, texts: Iterable[str]):
    return nlp.pipe(texts, batch_size=256)


_NO_SPLIT_AFTER = re.compile(r"(?:\b(?:e\.g|i\.e|etc|c|approx|no|vs|cf|st|dr|mr|mrs|ms|prof)\.|\b[A-Z]\.)$", re.I)


def _sentence_spans(doc) -> list[tuple[int, int]]:
    """Sentence character spans, re-joining splits after abbreviations and initials."""
    spans: list[list[int]] = []
    text = doc.text
    for sent in doc.sents:
        a, b = sent.start_char, sent.end_char
        # A closing quote or bracket the sentencizer left at the start belongs to the previous.
        while spans and a < b and text[a] in "”’)":
            a += 1
            spans[-1][1] = a
        while a < b and text[a] == " ":
            a += 1
        if a >= b:
            continue
        if spans:
            prev_text = doc.text[spans[-1][0]:spans[-1][1]].rstrip()
            nxt = doc.text[a:b].lstrip()
            if _NO_SPLIT_AFTER.search(prev_text) or (nxt[:1].islower()):
                spans[-1][1] = b
                continue
        spans.append([a, b])
    return [(a, b) for a, b in spans]
