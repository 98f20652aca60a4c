"""Evaluative quantifiers: the scale's terms, percentages, fractions and counts, and the traps."""

from __future__ import annotations

import pytest

from nlpfind.quantify import band_for
from nlpfind.segment import segment

# (sentence, the quantifier as written, term) for every term of configs/carh.toml and its wordings.
SCALE = [
    ("In all of the records we read, the child's views were recorded.", "all", "all"),
    ("All children had a named worker who knew them well.", "All", "all"),
    ("Staff always visited children within a day of a concern being raised.", "always", "all"),
    ("In almost all of the records we read, risks were assessed well.", "almost all", "almost all"),
    ("Nearly all staff said that they felt confident when a child disclosed harm.", "Nearly all", "almost all"),
    ("Virtually all staff had completed the training.", "Virtually all", "almost all"),
    ("Parents almost always attended the initial meeting.", "almost always", "almost all"),
    ("All but two of the young people had a trusted adult.", "All but two", "almost all"),
    ("Most children had a plan that was reviewed on time.", "Most", "most"),
    ("Most of the records contained a chronology.", "Most", "most"),
    ("Plans were reviewed on time in most cases.", "most", "most"),
    ("Plans were mostly of a good quality.", "mostly", "most"),
    ("The vast majority of staff agreed that training was useful.", "The vast majority", "most"),
    ("In the majority of records, assessments were good.", "the majority", "majority"),
    ("A majority of young people felt safe at home.", "A majority", "majority"),
    ("More than half of the records lacked a chronology.", "More than half", "majority"),
    ("Over half of the staff respondents agreed.", "Over half", "majority"),
    ("Less than half of the plans were reviewed on time.", "Less than half", "less than half"),
    ("Fewer than half of the young people had been offered advocacy.", "Fewer than half", "less than half"),
    ("Under half of the records showed good practice.", "Under half", "less than half"),
    ("In a significant minority of records, chronologies were out of date.", "significant minority",
     "significant minority"),
    ("A few children waited too long for a health assessment.", "A few", "a few"),
    ("Very few plans were specific about outcomes.", "Very few", "a few"),
    ("In a few cases, plans were not reviewed.", "a few", "a few"),
    ("A very small number of children waited too long.", "A very small number", "a few"),
    ("None of the parents we spoke to knew about advocacy.", "None", "none"),
    ("In no cases did staff fail to act on a concern.", "no", "none"),
    ("Staff never left a child without a plan.", "never", "none"),
    ("In every record we read, the child had been seen alone.", "every", "all"),
    ("In almost every case, the referral discussion was held on time.", "almost every", "almost all"),
    ("Nearly every young person we met had a trusted adult.", "Nearly every", "almost all"),
]

# (sentence, the quantifier as written, term, low, high): percentages, fractions and counts.
NUMERIC = [
    ("In 54% of the records, the plan was up to date.", "54%", "percentage", 54, 54),
    ("40 per cent of respondents agreed that leaders were visible.", "40 per cent", "percentage", 40, 40),
    ("Over 70% of respondents agreed that leaders were visible.", "Over 70%", "percentage", 71, 100),
    ("More than 40% of staff agreed.", "More than 40%", "percentage", 41, 100),
    ("Under 30% of the records were up to date.", "Under 30%", "percentage", 0, 29),
    ("Less than 25% of respondents knew about the strategy.", "Less than 25%", "percentage", 0, 24),
    ("Just under 30% of the records had a chronology.", "Just under 30%", "percentage", 25, 29),
    ("Almost 30% of the children had no plan.", "Almost 30%", "percentage", 25, 29),
    ("Nearly 30% of the children had no plan.", "Nearly 30%", "percentage", 25, 29),
    ("Just over 30% of the records had a chronology.", "Just over 30%", "percentage", 31, 35),
    ("Around 40% of staff had completed the training.", "Around 40%", "percentage", 35, 45),
    ("About 30% of the records had a plan.", "About 30%", "percentage", 25, 35),
    ("Approximately 30% of the staff were new.", "Approximately 30%", "percentage", 25, 35),
    ("Half of the records were evaluated as good.", "Half", "fraction", 50, 50),
    ("Just under half of the children had their views recorded.", "Just under half", "fraction", 45, 49),
    ("Almost half of the records were weak.", "Almost half", "fraction", 45, 49),
    ("Just over half of the staff respondents agreed.", "Just over half", "fraction", 51, 55),
    ("Over one third of the staff respondents disagreed.", "Over one third", "fraction", 34, 100),
    ("One third of the records we read were weak.", "One third", "fraction", 33, 33),
    ("A third of the plans were out of date.", "A third", "fraction", 33, 33),
    ("Two thirds of the records we read showed good practice.", "Two thirds", "fraction", 67, 67),
    ("A quarter of the chronologies were up to date.", "A quarter", "fraction", 25, 25),
    ("Three quarters of the young people felt listened to.", "Three quarters", "fraction", 75, 75),
    ("Two-thirds of the records we read showed good practice.", "Two-thirds", "fraction", 67, 67),
    ("Nearly three-quarters of staff felt supported.", "Nearly three-quarters", "fraction", 70, 74),
    ("Over one-third of the plans were out of date.", "Over one-third", "fraction", 34, 100),
    ("In 12 of the 40 records, chronologies were weak.", "12 of the 40", "fraction", 30, 30),
    ("Three out of five young people said they felt safe.", "Three out of five", "fraction", 60, 60),
    ("In 12 of\nthe 40  records, plans were late.", "12 of\nthe 40", "fraction", 30, 30),
    ("Two records were weak.", "Two records", "count", None, None),
    ("Three cases had no risk assessment.", "Three cases", "count", None, None),
    ("One child was not seen within the expected timescale.", "One child", "count", None, None),
    ("Twelve records were of a good quality.", "Twelve records", "count", None, None),
]

FREQUENCY = [
    ("Parents almost always attended the initial meeting.", "almost always", "almost all"),
    ("Carers nearly always felt included in planning.", "nearly always", "almost all"),
    ("Plans were mostly of a good quality.", "mostly", "most"),
    ("Staff always visited children within a day.", "always", "all"),
    ("Staff never left a child without a plan.", "never", "none"),
]

TRAPS = [
    # superlatives
    "Staff supported the most vulnerable children well.",
    "Services were targeted at the most deprived communities.",
    "Children were most likely to be referred by schools.",
    "The most important change was the new referral form.",
    "Support was directed to where it was most needed.",
    "This was the most effective part of the service.",
    "The most common concern was neglect.",
    "Staff were the most experienced in the region.",
    "At most, two workers were involved with each family.",
    "Most recently, the committee met in May.",
    # most recent
    "The most recent audit found improvements.",
    # actor lists
    "All four bodies contributed to the inspection.",
    "All partners signed the new information-sharing protocol.",
    "All agencies attended the referral discussion.",
    "We evaluated all 22 quality indicators.",
    "Staff from all services attended the training.",
    "Staff in all services had received training.",
    # goals
    "Leaders wanted to ensure all children are involved in decisions.",
    "The partnership was committed to a plan for every child.",
    "Leaders must make sure that all young people have a plan.",
    "The strategy aims to give every young person a voice.",
    "The partnership had a clear vision for all its children.",
    "The partnership made sure every child had a plan.",
    # sample sizes
    "We read the records of 60 children.",
    "We read the records of 50 children and young people.",
    "We reviewed 120 plans across the partnership.",
    "We received 892 responses to our staff survey.",
    "We met with two young people who were rated at risk.",
    "We spoke to 45 children and young people and 30 parents.",
    # population and trend statistics
    "Around 16.6% of the population lived in the most deprived areas.",
    "16.6% of the population lived in poverty.",
    "Around 28% of data zones were among the most deprived in Scotland.",
    "Child poverty affected 24% of children in the area.",
    "Registrations increased by 12% over the year.",
    "The majority of Scotland's population lives in cities.",
    # words that are not on the scale
    "Many children told us they felt safe.",
    "Some plans were reviewed late.",
    "A small number of staff were unsure about the process.",
    "A minority of parents felt excluded.",
    "In a minority of cases, plans were late.",
    "Staff did not always record the child's views.",
    "Several young people had more than one worker.",
    "Every child had been seen by a worker.",
    # other idioms
    "It was at all times a priority for leaders.",
    "Above all, children felt listened to.",
    "It had never been easier to get help.",
    "A few weeks later, the plan was reviewed.",
    "For a few days the service closed.",
    "The first half of the year was difficult for the service.",
    "The two services merged in 2023.",
    "There was no evidence of drift in planning.",
    # proportions of things that are not evidence units, samples and page footers
    "Eight of the nine quality indicators were evaluated as good.",
    "We read 12 of the 40 records in the second week.",
    "Page 1 of 46 Services for children and young people in the area.",
    "Every effort was made to keep brothers and sisters together.",
    "Attainment had risen in almost every key stage.",
    "The reason for the decision was not recorded in every case.",
    "The reason for the decision was not recorded in all cases.",
    "Inspectors were not confident that all children were safe.",
]


def _band(framework, term):
    q = next(q for q in framework.quantifiers if q.term == term)
    return q.low, q.high


def test_every_scale_term_has_a_positive_case(framework):
    assert {term for _, _, term in SCALE} == {q.term for q in framework.quantifiers}


@pytest.mark.parametrize("sentence, written, term", SCALE, ids=[s[:40] for s, _, _ in SCALE])
def test_scale_terms(tagger, framework, sentence, written, term):
    found = tagger.find(sentence)
    assert [(sentence[a:b], t, lo, hi) for a, b, t, lo, hi in found] == [(written, term, *_band(framework, term))]


@pytest.mark.parametrize("sentence, written, term, low, high", NUMERIC, ids=[s[:40] for s, *_ in NUMERIC])
def test_percentages_fractions_and_counts(tagger, sentence, written, term, low, high):
    found = tagger.find(sentence)
    assert [(sentence[a:b], t, lo, hi) for a, b, t, lo, hi in found] == [(written, term, low, high)]


@pytest.mark.parametrize("sentence, written, term", FREQUENCY, ids=[s[:40] for s, _, _ in FREQUENCY])
def test_frequency_words(tagger, sentence, written, term):
    assert [(sentence[a:b], t) for a, b, t, _, _ in tagger.find(sentence)] == [(written, term)]


def test_there_are_enough_traps():
    assert len(TRAPS) >= 30 and len(set(TRAPS)) == len(TRAPS)


@pytest.mark.parametrize("sentence", TRAPS, ids=[s[:40] for s in TRAPS])
def test_traps_give_no_quantifier(tagger, sentence):
    assert tagger.find(sentence) == []


def test_several_quantifiers_in_one_sentence(tagger):
    s = ("In the majority of records, plans were clear, but in a few cases chronologies were missing "
         "and 12% of reviews were late.")
    found = tagger.find(s)
    assert [(s[a:b], t) for a, b, t, _, _ in found] == [("the majority", "majority"), ("a few", "a few"),
                                                         ("12%", "percentage")]
    assert all(x[1] <= y[0] for x, y in zip(found, found[1:]))


def test_longest_match_wins(tagger):
    # "almost all" not "all"; "less than half" not a fraction; "the vast majority" not "majority"
    for s, written in [("Almost all plans were reviewed.", "Almost all"),
                       ("Less than half of the plans were reviewed.", "Less than half"),
                       ("The vast majority of plans were reviewed.", "The vast majority")]:
        assert [s[a:b] for a, b, *_ in tagger.find(s)] == [written]


def test_case_insensitive(tagger):
    assert tagger.find("MOST CHILDREN HAD A PLAN.")[0][2] == "most"


def test_the_prefilter_lets_every_scale_phrase_through(tagger, framework):
    """Only sentences the prefilter passes are tokenised for the phrase matcher: no phrase, in any case or
    with "the" before it, may be kept out."""
    for q in framework.quantifiers:
        for phrase in q.phrases:
            for written in (phrase, phrase.upper(), f"the {phrase}"):
                assert tagger._prefilter.search(f"In {written} of records we read.".lower()), written
    assert not tagger._prefilter.search("staff were skilled and knew the families well.")


def test_find_many_equals_find(tagger):
    sentences = [s for s, *_ in SCALE[:10]] + TRAPS[:10]
    assert tagger.find_many(sentences) == [tagger.find(s) for s in sentences]


def test_offsets_slice_the_source_of_a_segmented_sentence(tagger, framework):
    source = ("Statement 2\n\nIn the\nmajority of records we read, assessments were good. Chronologies were\n"
              "up to date in less than\nhalf of the records, and two records were weak.\n")
    sentences = segment(source, framework)
    tags = [q for s in sentences for q in tagger.tag(s)]
    assert [(q.term, q.low, q.high) for q in tags] == [("majority", 50, 74), ("less than half", 15, 49),
                                                        ("count", None, None)]
    for q in tags:
        assert " ".join(source[q.start:q.end].split()) == q.text
    assert source[tags[0].start:tags[0].end] == "the\nmajority"
    assert tags[0].as_dict() == {"text": "the majority", "term": "majority", "low": 50, "high": 74,
                                 "start": tags[0].start, "end": tags[0].end}


@pytest.mark.parametrize("value, modifier, band", [
    (40, None, (40, 40)), (40, "over", (41, 100)), (40, "more than", (41, 100)), (40, "under", (0, 39)),
    (40, "less than", (0, 39)), (40, "just under", (35, 39)), (40, "almost", (35, 39)),
    (40, "just over", (41, 45)), (40, "about", (35, 45)), (98, "about", (93, 100)), (2, "about", (0, 7)),
    (100, "over", (100, 100)), (0, "under", (0, 0)),
])
def test_band_for(value, modifier, band):
    assert band_for(value, modifier) == band


# -- bugs ---------------------------------------------------------------------------------------------
def test_hardly_any_is_a_few(tagger):
    s = "Hardly any of the plans set out clear outcomes for the child."
    assert [(s[a:b], t) for a, b, t, _, _ in tagger.find(s)] == [("Hardly any", "a few")]


def test_in_all_meaning_in_total_is_not_a_quantifier(tagger):
    assert tagger.find("In all, we read 40 records and met 25 families.") == []


def test_half_the_records(tagger):
    s = "Half the plans we read were weak."
    assert [(s[a:b], t, lo, hi) for a, b, t, lo, hi in tagger.find(s)] == [("Half", "fraction", 50, 50)]


@pytest.mark.parametrize("sentence, written, term, low, high", NUMERIC[:8], ids=[s[:40] for s, *_ in NUMERIC[:8]])
def test_upper_case_numeric_quantifiers(tagger, sentence, written, term, low, high):
    # The numeric rules run case-sensitive patterns on lower-cased text (faster than re.I): capitals
    # must still match, with the same offsets.
    found = tagger.find(sentence.upper())
    assert [(sentence.upper()[a:b], t, lo, hi) for a, b, t, lo, hi in found] == [(written.upper(), term, low, high)]


def test_offsets_hold_when_lower_casing_changes_the_length(tagger):
    # "İ".lower() is two characters: offsets into lower-cased text would be off by one after it,
    # so such a sentence is matched on its own text (case-insensitively).
    s = "İnverclyde: in 12% of records, and over half of the plans, two records were weak."
    assert len(s.lower()) != len(s)
    found = tagger.find(s)
    assert [(s[a:b], t) for a, b, t, _, _ in found] == [("12%", "percentage"), ("over half", "majority"),
                                                         ("two records", "count")]
    assert found == tagger.find("I" + s[1:])  # the same as the plain-ASCII sentence
