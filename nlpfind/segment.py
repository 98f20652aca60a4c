"""Sentences with spaCy, with exact offsets into the text as read.

Each paragraph or list item is cleaned (line breaks joined, hyphenation and markup removed)
with a character map back to the source, split by spaCy's rule-based sentencizer, and every
sentence is mapped back to its exact source span.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from .config import Framework
from .structure import Block, parse_blocks

_LINK_TEXT_MAX = 200
_MARKUP = re.compile(rf"\*\*|__|\]\([^)\s]*\)|\[(?=[^\]]{{1,{_LINK_TEXT_MAX}}}\]\()")
_MIN_LETTERS = 2
_IRREGULAR_WS = re.compile(r"\s{2,}|[^\S ]")


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
    """Accumulates clean text and a map back to the source, stored as runs.

    Each run says "clean offsets from here on map to source offsets from there on", so the
    map costs one entry per piece of text rather than one per character.
    """

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.starts: list[int] = []  # clean offset where each run begins
        self.srcs: list[int] = []  # source offset of that clean offset
        self.length = 0
        self.tail = ""  # the last two clean characters
        self._text: str | None = None

    def _emit(self, text: str, src: int) -> None:
        if not (self.starts and self.srcs[-1] + (self.length - self.starts[-1]) == src):
            self.starts.append(self.length)
            self.srcs.append(src)
        self.parts.append(text)
        self.length += len(text)
        self.tail = (self.tail + text)[-2:]
        self._text = None

    def add(self, source: str, start: int, end: int) -> None:
        pos = start
        # A link's text may wrap onto the next line, so the search looks a little past this piece's end.
        for m in _MARKUP.finditer(source, start, min(len(source), end + _LINK_TEXT_MAX + 2)):
            if m.end() > end:
                break
            self._copy(source, pos, m.start())
            pos = m.end()
        self._copy(source, pos, end)

    def _copy(self, source: str, a: int, b: int) -> None:
        # Text with single plain spaces maps one-to-one: copy it as one run; collapse the rest.
        pos = a
        for m in _IRREGULAR_WS.finditer(source, a, b):
            self._chunk(source, pos, m.start())
            if self.length and self.tail[-1:] != " ":
                self._emit(" ", m.start())
            pos = m.end()
        self._chunk(source, pos, b)

    def _chunk(self, source: str, a: int, b: int) -> None:
        if a < b and source[a] == " " and (not self.length or self.tail[-1:] == " "):
            a += 1
        if a < b:
            self._emit(source[a:b], a)

    def join(self, source: str, next_start: int) -> None:
        """Join the next piece: drop a line-end hyphen before a lower-case letter."""
        if (self.length >= 2 and self.tail[-1] == "-" and self.tail[0].isalpha()
                and next_start < len(source) and source[next_start].islower()):
            self.parts[-1] = self.parts[-1][:-1]
            self.length -= 1
            if self.starts and self.starts[-1] >= self.length:
                self.starts.pop()
                self.srcs.pop()
            self.tail = self.text[-2:]
            return
        if self.length and self.tail[-1] != " ":
            self._emit(" ", self.src_at(self.length - 1) + 1)

    def src_at(self, i: int) -> int:
        k = bisect.bisect_right(self.starts, i) - 1
        return self.srcs[k] + (i - self.starts[k])

    def runs_between(self, a: int, b: int) -> tuple[tuple[int, int], ...]:
        """The runs covering clean offsets [a, b), relative to a."""
        k = bisect.bisect_right(self.starts, a)
        runs = [(0, self.src_at(a))]
        while k < len(self.starts) and self.starts[k] < b:
            runs.append((self.starts[k] - a, self.srcs[k]))
            k += 1
        return tuple(runs)

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = "".join(self.parts)
        return self._text


def plain_text(text: str) -> str:
    """`text` as people read it: markup (**bold**, [link](url)) removed and white space collapsed."""
    return " ".join(_MARKUP.sub("", text).split())


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


def _has_letters(text: str, n: int) -> bool:
    """At least `n` letters in `text` (stops at the n-th: sentences usually start with letters)."""
    for ch in text:
        if ch.isalpha():
            n -= 1
            if n <= 0:
                return True
    return n <= 0


def _make(source: str, builder: _Builder, a: int, b: int, index: int, block: Block | None,
          kind: str, min_letters: int = _MIN_LETTERS) -> Sentence | None:
    text = builder.text
    while a < b and text[a] == " ":
        a += 1
    while b > a and text[b - 1] == " ":
        b -= 1
    clean = text[a:b]
    if not clean or not _has_letters(clean, min_letters):
        return None
    start, end = builder.src_at(a), builder.src_at(b - 1) + 1
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
        runs=builder.runs_between(a, b),
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
            if not b.length:
                continue
            # Every non-empty line is a sentence, so output index n is the n-th non-empty line.
            sent = _make(source, b, 0, b.length, index, None, "line", min_letters=0)
            if sent:
                yield sent
                index += 1
        return
    blocks = [bl for bl in parse_blocks(source, framework) if bl.kind in ("paragraph", "list_item")]
    builders = [_clean_block(source, bl) for bl in blocks]
    index = 0
    for block, builder in zip(blocks, builders):
        for sent in _sentence_spans(builder.text):
            s = _make(source, builder, sent[0], sent[1], index, block, block.kind)
            if s:
                yield s
                index += 1


_NO_SPLIT_AFTER = re.compile(r"(?:\b(?:e\.g|i\.e|etc|c|approx|no|vs|cf|st|dr|mr|mrs|ms|prof)\.|\b[A-Z]\.)$", re.I)
# Enough of a sentence's end for _NO_SPLIT_AFTER: "approx.", the character before it (for \b) and
# a final newline (which `$` allows). re.search would try the end-anchored pattern at every position.
_NO_SPLIT_TAIL = len("approx.") + 2


@lru_cache(maxsize=1)
def _punct_ids() -> frozenset[int]:
    from spacy.pipeline.sentencizer import Sentencizer

    strings = sentence_pipeline().vocab.strings
    return frozenset(strings.add(ch) for ch in Sentencizer.default_punct_chars)


# What the sentencizer's rule reads of a token: an ordinary token (which starts a sentence after an
# end mark), an end mark (a token that is one of its punctuation characters) or other punctuation.
_WORD, _END, _PUNCT = 0, 1, 2
#: per space-separated chunk of text: (offset, kind) of its tokens, or None for ordinary tokens only
_CHUNK_KINDS: dict[str, tuple[tuple[int, int], ...] | None] = {}
_MAX_CHUNKS = 500_000


def _token_kinds(doc) -> list[tuple[int, int]]:
    """(character offset, kind) of every token of a spaCy doc, read from its token arrays: building
    Token objects dominated the time of segmenting large reports."""
    from spacy.attrs import IDX, IS_PUNCT, ORTH

    if len(doc) == 0:
        return []
    punct = _punct_ids()
    return [(idx, _END if orth in punct else _PUNCT if is_punct else _WORD)
            for orth, idx, is_punct in doc.to_array([ORTH, IDX, IS_PUNCT]).tolist()]


def _chunk_kinds(chunk: str) -> tuple[tuple[int, int], ...] | None:
    """The token kinds of a chunk (tokenized on its own, as spaCy does), remembered."""
    if len(_CHUNK_KINDS) > _MAX_CHUNKS:
        _CHUNK_KINDS.clear()
    found = tuple(_token_kinds(sentence_pipeline().tokenizer(chunk)))
    kinds = _CHUNK_KINDS[chunk] = None if all(kind == _WORD for _, kind in found) else found
    return kinds


def _sentence_starts(text: str) -> list[int] | None:
    """Where the sentencizer's rule starts sentences in `text` (None: `text` has no tokens).

    spaCy's tokenizer splits at spaces first and tokenizes each piece on its own (its cache is keyed by
    the piece), so text whose only white space is single spaces gets its tokens chunk by chunk, each
    distinct chunk tokenized once and remembered: report text repeats its words, and tokenizing whole
    blocks was most of segmenting's time. Other text goes through the tokenizer whole.
    """
    if _IRREGULAR_WS.search(text) or text.startswith(" "):
        return _starts_of(_token_kinds(sentence_pipeline().tokenizer(text)))
    starts, seen_end, pos, known = [0], False, 0, _CHUNK_KINDS
    for chunk in text.split(" "):  # the rule of _starts_of, chunk by chunk
        if chunk:
            kinds = known.get(chunk, ())
            if kinds == ():
                kinds = _chunk_kinds(chunk)
            if kinds is None:  # ordinary tokens only: the first is all the rule reads
                if seen_end:
                    starts.append(pos)
                    seen_end = False
            else:
                for offset, kind in kinds:
                    if kind == _END:
                        seen_end = True
                    elif seen_end and kind == _WORD:
                        starts.append(pos + offset)
                        seen_end = False
        pos += len(chunk) + 1
    return starts if text.strip(" ") else None


def _starts_of(tokens: list[tuple[int, int]]) -> list[int] | None:
    """The sentencizer's rule: a sentence ends after an end mark, once an ordinary token follows."""
    if not tokens:
        return None
    starts, seen_end = [0], False
    for idx, kind in tokens:
        if kind == _END:
            seen_end = True
        elif seen_end and kind == _WORD:
            starts.append(idx)
            seen_end = False
    return starts


def _raw_sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans in characters by spaCy's sentencizer rule: a sentence ends after a token in its
    punctuation list, once a token that is not punctuation follows."""
    chars = _sentence_starts(text)
    if chars is None:
        return []
    spans = []
    for a, b in zip(chars, chars[1:] + [len(text)]):
        while b > a and text[b - 1].isspace():
            b -= 1
        spans.append((a, b))
    return spans


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence character spans, re-joining splits after abbreviations and initials."""
    spans: list[list[int]] = []
    for a, b in _raw_sentence_spans(text):
        # A closing quote or bracket the sentencizer left at the start belongs to the previous.
        while spans and a < b and text[a] in "”’)":
            a += 1
            spans[-1][1] = a
        while a < b and text[a] == " ":
            a += 1
        if a >= b:
            continue
        if spans:
            prev_text = text[spans[-1][0]:spans[-1][1]].rstrip()
            nxt = text[a:b].lstrip()
            if _NO_SPLIT_AFTER.search(prev_text[-_NO_SPLIT_TAIL:]) or (nxt[:1].islower()):
                spans[-1][1] = b
                continue
        spans.append([a, b])
    return [(a, b) for a, b in spans]
