"""Evaluative quantifiers ("almost all", "the majority", "just under half", "54%", "two records").

Rule-based with spaCy's PhraseMatcher (the scale's wordings, from the framework file) and
Matcher (percentages, fractions, counts), then filters that reject the traps: superlatives
("most vulnerable"), actor lists ("all partners", "all four bodies"), goals ("ensure all
children"), "most recent", sample sizes and population statistics.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .config import Framework

NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}
FRACTIONS = {"half": 50, "third": 33, "thirds": 67, "quarter": 25, "quarters": 75}
EVIDENCE_NOUNS = {
    "record", "records", "case", "cases", "file", "files", "child", "children", "young",
    "people", "person", "family", "families", "parent", "parents", "carer", "carers",
    "respondent", "respondents", "staff", "assessment", "assessments", "plan", "plans",
    "chronology", "chronologies", "review", "reviews", "investigation", "investigations",
    "meeting", "meetings", "conference", "conferences", "instance", "instances",
    "examples", "responses", "adults", "adult", "those", "practitioners", "workers", "ones",
    "applicable", "relevant", "them", "areas", "services", "partnerships", "authorities",
    "councils", "reports", "inspections", "schools", "settings", "homes", "leavers",
    "pupils", "learners", "babies", "girls", "boys", "iRDs", "irds", "referrals", "decisions",
}
ACTOR_NOUNS = {
    "partners", "partner", "agencies", "bodies", "organisations", "organizations", "sectors",
    "stakeholders", "levels", "members", "leaders", "officers", "quality", "indicators",
    "councils", "services", "ages", "aspects", "types", "kinds", "forms", "times", "areas",
    "those", "involved", "concerned", "available", "other", "others", "along", "round",
}
GOAL_WORDS = {
    "ensure", "ensuring", "ensures", "ensured", "sure", "should", "must", "need", "needs",
    "aim", "aims", "aiming", "for", "to", "will", "would", "could", "commitment", "committed",
    "help", "enable", "enabling", "allow", "want", "wants", "ambition", "priority", "every",
    "keep", "protect", "support", "give", "make", "provide", "reach", "meet",
}
SUPERLATIVE_NEXT = {
    "recent", "likely", "important", "vulnerable", "deprived", "significant", "effective",
    "common", "appropriate", "needed", "needy", "at", "prevalent", "serious", "difficult",
    "frequent", "frequently", "often", "relevant", "useful", "helpful", "valuable", "urgent",
    "pressing", "complex", "challenging", "disadvantaged", "excluded", "isolated", "notable",
    "affected", "popular", "successful", "concerning", "critical", "acute", "severe",
}
TIME_NOUNS = {"week", "weeks", "month", "months", "day", "days", "year", "years", "hours",
              "minutes", "times", "occasions", "term", "session", "sessions"}
SAMPLING_WORDS = {"read", "reviewed", "sample", "sampled", "received", "met", "spoke", "surveyed",
                  "interviewed", "visited", "examined", "audited", "considered", "over", "across",
                  "for", "with", "from", "between", "involving", "including"}
POPULATION_CUES = re.compile(
    r"\b(population|data zones?|deprived|poverty|national average|scottish average|rate of|"
    r"increase[ds]?|decrease[ds]?|per 1,?000|per 10,?000|registrations?|budget|funding|aged?)\b",
    re.I,
)
_POPULATION_LOW = re.compile(POPULATION_CUES.pattern)
_ADJ_SUFFIX = re.compile(r"(ed|ive|able|ible|ant|ent|al|ful|ous|ic|ly|est|ing|ary|ish)$")
_MODIFIERS = {
    "just under": "nearly", "slightly under": "nearly", "almost": "nearly", "nearly": "nearly",
    "just below": "nearly", "under": "under", "less than": "under", "fewer than": "under",
    "below": "under", "over": "over", "more than": "over", "above": "over",
    "just over": "just over", "slightly over": "just over", "slightly more than": "just over",
    "around": "about", "about": "about", "approximately": "about", "roughly": "about",
}


@dataclass(frozen=True)
class Quantifier:
    """A quantifier found in a sentence; `start`/`end` are offsets into the source text."""

    text: str
    term: str
    low: int | None
    high: int | None
    start: int
    end: int

    def as_dict(self) -> dict:
        return {"text": self.text, "term": self.term, "low": self.low, "high": self.high,
                "start": self.start, "end": self.end}


def band_for(value: int, modifier: str | None) -> tuple[int, int]:
    """The band a number (percent) implies with its modifier ("over", "just under", ...)."""
    kind = _MODIFIERS.get(modifier or "", None)
    if kind == "nearly":
        return max(0, value - 5), max(0, value - 1)
    if kind == "under":
        return 0, max(0, value - 1)
    if kind == "over":
        return min(100, value + 1), 100
    if kind == "just over":
        return min(100, value + 1), min(100, value + 5)
    if kind == "about":
        return max(0, value - 5), min(100, value + 5)
    return value, value


_MOD_RE = (r"(?:(?:just|slightly)\s+(?:under|below|over|more\s+than)|almost|nearly|under|less\s+than|fewer\s+than"
           r"|below|over|more\s+than|above|around|about|approximately|roughly)")
_PERCENT = re.compile(rf"\b(?:(?P<mod>{_MOD_RE})\s+)?(?P<num>\d{{1,3}}(?:\.\d+)?)\s?(?:%|per\s?cent\b)", re.I)
_FRACTION = re.compile(
    rf"\b(?:(?P<mod>{_MOD_RE})\s+)?(?P<frac>half|(?:a|one)[\s-]+(?:third|quarter)|two[\s-]+thirds|three[\s-]+quarters)\b",
    re.I,
)
_WORD_NUMBERS = "|".join(NUMBER_WORDS)
_COUNT = re.compile(
    rf"\b(?P<num>{_WORD_NUMBERS}|\d{{1,2}})\s+"
    r"(?P<noun>records?|cases?|files?|children|child|young\s+people|famil(?:y|ies)|plans?|"
    r"assessments?|chronologies|chronology|reviews?|investigations?)\b",
    re.I,
)
# "12 of the 40 records", "three out of five cases": a proportion of evidence units, with the band it implies.
_NUMBER = rf"\d{{1,3}}|{_WORD_NUMBERS}"
_RATIO = re.compile(
    rf"\b(?P<part>{_NUMBER})\s+(?:out\s+)?of\s+(?:the\s+|our\s+|these\s+|those\s+)?(?P<whole>{_NUMBER})\s+(?P<noun>[a-z]+)\b",
    re.I,
)
# The same patterns without re.I, for lower-cased text of unchanged length: Python's re tries
# every alternative at every word boundary, and case-folding each comparison made that 4x slower.
_PERCENT_LOW, _FRACTION_LOW, _COUNT_LOW, _RATIO_LOW = (re.compile(p.pattern)
                                                      for p in (_PERCENT, _FRACTION, _COUNT, _RATIO))
# Cheap tests that rule those searches out for most sentences: a percentage has a digit, and in
# lower-cased text a fraction has one of these words.
_DIGIT = re.compile(r"\d")
_FRACTION_WORDS = ("half", "third", "quarter")


class QuantifierTagger:
    """Finds evaluative quantifiers in sentences, from a framework's quantifier scale."""

    def __init__(self, framework: Framework) -> None:
        from spacy.matcher import PhraseMatcher

        from .segment import sentence_pipeline

        self.framework = framework
        self.nlp = sentence_pipeline()
        self.matcher = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        self.terms = {q.term: q for q in framework.quantifiers}
        for q in framework.quantifiers:
            phrases = set()
            for p in q.phrases:
                phrases.add(p.lower())
                if not p.lower().startswith(("the ", "a ")):
                    phrases.add("the " + p.lower())
            self.matcher.add(q.term, [self.nlp.make_doc(p) for p in sorted(phrases)])
        # A phrase matches only where its last word is a token, so last words are enough; first words ("a",
        # "the") let nine sentences in ten through, last words about a third.
        words = sorted({p.lower().split()[-1] for q in framework.quantifiers for p in q.phrases})
        self._prefilter = re.compile(
            r"\d|%|per\s?cent|\b(?:half|third|thirds|quarter|quarters|one|two|three|four|five|six|seven|eight|nine|"
            r"ten|eleven|twelve|" + "|".join(re.escape(w) for w in words) + r")\b")  # on lower-cased text

    def find(self, text: str) -> list[tuple[int, int, str, int | None, int | None]]:
        """Quantifiers in `text` as (start, end, term, low, high) with offsets into `text`."""
        return self.find_many([text])[0]

    def find_many(self, texts: Iterable[str]) -> list[list[tuple[int, int, str, int | None, int | None]]]:
        texts = list(texts)
        out: list[list] = [[] for _ in texts]
        # Only sentences with a candidate word need tokenizing and matching.
        todo = [k for k, t in enumerate(texts) if self._prefilter.search(t.lower())]
        for k, doc in zip(todo, self.nlp.tokenizer.pipe((texts[k] for k in todo), batch_size=512)):
            out[k] = self._find(doc, texts[k])
        return out

    def tag(self, sentence) -> tuple[Quantifier, ...]:
        """Quantifiers of a segmented sentence with offsets into its source text."""
        return self.to_source(sentence, self.find(sentence.clean))

    @staticmethod
    def to_source(sentence, found) -> tuple[Quantifier, ...]:
        out = []
        for a, b, term, low, high in found:
            start, end = sentence.to_source(a), sentence.to_source(b - 1) + 1
            out.append(Quantifier(sentence.clean[a:b], term, low, high, start, end))
        return tuple(out)

    # -- rules -------------------------------------------------------------------------------
    def _find(self, doc, text: str) -> list[tuple[int, int, str, int | None, int | None]]:
        # `text` is the doc's text, passed in: Doc.text rebuilds it from every token.
        cands: list[tuple[int, int, str, int | None, int | None, int]] = []
        folded = text.lower()
        if len(folded) == len(text):  # offsets carry over (true unless a rare letter lower-cases to two)
            percent, fraction, count, ratio = _PERCENT_LOW, _FRACTION_LOW, _COUNT_LOW, _RATIO_LOW
            population_cues = _POPULATION_LOW
            may_have_fraction = any(w in folded for w in _FRACTION_WORDS)
        else:  # re.I matches more than lower-case letters ("ı" for "i"): search to be sure
            folded, percent, fraction, count, ratio = text, _PERCENT, _FRACTION, _COUNT, _RATIO
            population_cues = POPULATION_CUES
            may_have_fraction = True
        population: bool | None = None  # looked up at the first percentage (most sentences have none)
        for m in percent.finditer(folded) if _DIGIT.search(folded) else ():
            if population is None:
                population = bool(population_cues.search(folded))
            if population or _followed_by_population(text, m.end()):
                continue
            value = round(float(m.group("num")))
            if value > 100:
                continue
            low, high = band_for(value, _norm_mod(m.group("mod")))
            cands.append((m.start(), m.end(), "percentage", low, high, 3))
        for m in fraction.finditer(folded) if may_have_fraction else ():
            frac = re.split(r"[\s-]+", m.group("frac").lower())[-1]
            mod = _norm_mod(m.group("mod"))
            if frac == "half" and mod in (None,) and not _half_is_proportion(text, m):
                continue
            if _TIME_AFTER.match(text, m.end()):
                continue
            value = FRACTIONS[frac]
            if frac == "half" and mod in ("less than", "fewer than", "under", "below"):
                continue  # "less than half" is a scale term, found by the phrase matcher
            if frac == "half" and mod in ("over", "more than"):
                continue  # "over half" -> majority, a scale term
            low, high = band_for(value, mod)
            cands.append((m.start(), m.end(), "fraction", low, high, 2))
        for m in count.finditer(folded):
            if _count_is_evaluative(text, m):
                cands.append((m.start(), m.end(), "count", None, None, 1))
        for m in ratio.finditer(folded) if "of" in folded else ():
            share = _ratio_share(text, m)
            if share is not None:
                cands.append((m.start(), m.end("whole"), "fraction", share, share, 3))
        for match_id, s, e in self.matcher(doc):
            term = self.nlp.vocab.strings[match_id]
            if not self._keep(doc, s, e, term):
                continue
            q = self.terms[term]
            span = doc[s:e]
            cands.append((span.start_char, span.end_char, term, q.low, q.high, 2))
        return _resolve(cands)

    def _keep(self, doc, s: int, e: int, term: str) -> bool:
        words = [t.lower_ for t in doc[s:e]]
        head = words[-1]
        nxt = doc[e].lower_ if e < len(doc) else ""
        nxt2 = doc[e + 1].lower_ if e + 1 < len(doc) else ""
        prev = [t.lower_ for t in doc[max(0, s - 5):s]]
        if head == "most":
            if (prev and prev[-1] in ("the", "at")) or words[0] == "the":
                return False  # "the most vulnerable", "at most"
            if nxt in ("of",):
                return True
            if not nxt or not doc[e].is_alpha:
                return bool(prev and prev[-1] == "in")
            if nxt in SUPERLATIVE_NEXT or nxt2 in ("than",):
                return False
            if nxt in EVIDENCE_NOUNS or nxt in ("cases", "records"):
                return True
            return not _ADJ_SUFFIX.search(nxt)
        if head in ("all", "always"):
            if head == "always":
                return not (prev and prev[-1] in ("not", "n't", "always"))
            if words[0] != "all" and len(words) > 1:
                return True  # "almost all", "nearly all"
            if prev and prev[-1] in ("at", "not", "of", "above", "after", "by"):
                return False  # "at all", "above all"
            if _negated(prev):
                return False  # "not confident that all children", "not recorded in all cases": the guide's "not always"
            if nxt.isdigit() or nxt in NUMBER_WORDS or nxt in ACTOR_NOUNS:
                return False
            if prev and prev[-1] == "in":
                if not nxt or not doc[e].is_alpha:
                    return False  # "In all, we read 40 records": in total
                return any(t.lower_ in EVIDENCE_NOUNS for t in doc[e:e + 5])
            if any(w in GOAL_WORDS for w in prev[-3:]):
                return False
            window = [t.lower_ for t in doc[e:e + 5]]
            return any(w in EVIDENCE_NOUNS for w in window)
        if head == "every":
            # Only every record/case/child...: "every effort", "almost every key stage" are not proportions of
            # evidence units, and "not recorded in every case" is "not always" (the guide: not tagged).
            if nxt not in EVIDENCE_NOUNS or _negated(prev):
                return False
            return len(words) > 1 or (prev[-1:] == ["in"])  # "almost every child"; "in every record", not a goal
        if head in ("no", "none", "never", "any"):
            if head == "any":  # "hardly any", "not any": a count of evidence units must follow
                return len(words) > 1 and (nxt == "of" or nxt in EVIDENCE_NOUNS)
            if head == "none":
                return nxt == "of" or not nxt or not doc[e].is_alpha
            if head == "never":
                return False if prev and prev[-1] in ("had", "has", "have") else True
            if head == "no":
                window = [t.lower_ for t in doc[e:e + 2]]
                return bool(prev and prev[-1] == "in") and any(w in EVIDENCE_NOUNS for w in window)
            return False
        if head == "few":
            if nxt in TIME_NOUNS or nxt2 in TIME_NOUNS:
                return False
            if len(words) == 1:
                return bool(prev and prev[-1] in ("very", "only", "relatively")) or (
                    s == 0 or doc[s - 1].is_sent_start) and nxt in EVIDENCE_NOUNS
            return True
        if head in ("some", "many"):
            return nxt not in TIME_NOUNS and nxt not in ("time", "extent", "way", "ways", "point")
        if head == "majority":
            return not (nxt == "of" and nxt2 in ("scotland", "the", "our") and _pop_after(doc, e))
        return True


_TIME_AFTER = re.compile(r"\s+(?:of\s+)?(?:the\s+)?(?:year|month|week|day|term|century|\d{4})\b", re.I)


def _pop_after(doc, e: int) -> bool:
    window = " ".join(t.lower_ for t in doc[e:e + 5])
    return bool(re.search(r"population|residents|scotland's", window))


def _norm_mod(mod: str | None) -> str | None:
    return re.sub(r"\s+", " ", mod.lower()) if mod else None


def _followed_by_population(text: str, end: int) -> bool:
    return bool(re.match(r"\s*(?:of\s+(?:the\s+)?)?(?:population|data zones|residents)", text[end:end + 40], re.I))


def _half_is_proportion(text: str, m: re.Match) -> bool:
    after = text[m.end():m.end() + 30].lower()
    before = text[max(0, m.start() - 20):m.start()].lower()
    if re.match(r"\s+of\s+(?:the|these|those|all|our|them|its|their|children|young|records|cases|staff|respondents)", after):
        return not _TIME_AFTER.match(text, m.end())
    if re.match(r"\s+(?:the|these|those|our)\s+(\w+)", after):
        noun = re.match(r"\s+(?:the|these|those|our)\s+(\w+)", after).group(1)
        return noun in EVIDENCE_NOUNS
    return bool(re.search(r"\b(evaluated|rated|found|in|as)\s+$", before)) or bool(re.match(r"\s+(?:were|was|had|as)\b", after))


def _negated(prev: list[str]) -> bool:
    """A negation among the last four words before a quantifier: "not confident that all", "not in every case"."""
    return any(w in ("not", "n't", "never") for w in prev[-4:])


def _number(word: str) -> int:
    return int(word) if word.isdigit() else NUMBER_WORDS[word.lower()]


def _ratio_share(text: str, m: re.Match) -> int | None:
    """The percentage "part of whole <evidence units>" states, or None where it is not a proportion of
    evidence units ("8 of the 9 quality indicators", a sample read: "we read 12 of the 40 records")."""
    part, whole = _number(m.group("part")), _number(m.group("whole"))
    if not 0 < whole or part > whole or m.group("noun").lower() not in EVIDENCE_NOUNS:
        return None
    before = text[max(0, m.start() - 40):m.start()].lower().split()
    if any(w.strip(",.") in SAMPLING_WORDS for w in before[-3:]) or (before and before[-1] in ("page", "pages", "p.")):
        return None  # a sample read, or a running footer ("Page 1 of 46 Services for children ...")
    return round(100 * part / whole)


def _count_is_evaluative(text: str, m: re.Match) -> bool:
    before = text[max(0, m.start() - 40):m.start()].lower().split()
    if any(w.strip(",.") in SAMPLING_WORDS for w in before[-3:]):
        return False
    if before and before[-1] in ("the", "a", "these", "those", "of", "aged", "age"):
        return False
    after = text[m.end():m.end() + 40].lower()
    return bool(re.match(r"\s*(?:as|were|was|had|did|showed|lacked|contained|did not|were not|rated|evaluated)\b", after))


def _resolve(cands):
    """Keep non-overlapping candidates: longer spans first, then higher priority."""
    chosen: list[tuple[int, int, str, int | None, int | None]] = []
    for a, b, term, low, high, _prio in sorted(cands, key=lambda c: (-(c[1] - c[0]), -c[5], c[0])):
        if all(b <= x[0] or a >= x[1] for x in chosen):
            chosen.append((a, b, term, low, high))
    return sorted(chosen)
