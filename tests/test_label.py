"""Labelling answers and inter-annotator agreement."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from nlpfind.cli import app
from nlpfind.errors import CorpusError
from nlpfind.label import HELP, Item, agreement, parse_answer
from nlpfind.segment import Sentence


@pytest.fixture
def item():
    s = Sentence(index=0, start=10, end=60, text="Most plans were reviewed on time by managers.",
                 clean="Most plans were reviewed on time by managers.")
    return Item(s, "2", "strength", ("assessment-planning",), (), 0.4)


@pytest.mark.parametrize("typed, expected", [
    ("", ("2", "strength", ("assessment-planning",))),
    ("   ", ("2", "strength", ("assessment-planning",))),
    ("a", ("2", "strength", ("assessment-planning",))),
    ("y", ("2", "strength", ("assessment-planning",))),
    ("2w", ("2", "weakness", ("assessment-planning",))),
    ("4s", ("4", "strength", ("assessment-planning",))),
    ("1m", ("1", "mixed", ("assessment-planning",))),
    ("3u", ("3", "neutral", ("assessment-planning",))),
    (" 3W ", ("3", "weakness", ("assessment-planning",))),
    ("ns", ("none", "strength", ("assessment-planning",))),
    ("n", ("none", "neutral", ())),
    ("t chronologies advocacy", ("2", "strength", ("chronologies", "advocacy"))),
    ("t chronologies,advocacy", ("2", "strength", ("chronologies", "advocacy"))),
    ("T Chronologies", ("2", "strength", ("chronologies",))),
    ("t", ("2", "strength", ())),
    ("k", "skip"), ("skip", "skip"), ("q", "quit"), ("quit", "quit"), ("?", "help"), ("h", "help"),
    ("help", "help"),
])
def test_parse_answer(item, framework, typed, expected):
    assert parse_answer(typed, item, framework) == expected


@pytest.mark.parametrize("typed", ["5w", "2x", "2", "w", "22w", "yes please", "statement 2"])
def test_parse_answer_not_understood(item, framework, typed):
    result = parse_answer(typed, item, framework)
    assert isinstance(result, str) and result.startswith("not understood")
    assert HELP in result


def test_parse_answer_unknown_theme(item, framework):
    result = parse_answer("t chronologies cronologies", item, framework)
    assert isinstance(result, str) and "unknown theme(s) cronologies" in result
    assert "chronologies" in result.split("known:")[1]


def test_a_polarity_decided_against_the_most_likely_class_is_asked_early():
    from types import SimpleNamespace

    from nlpfind.label import prefill_certainty

    scores = {"strength": 0.3, "weakness": 0.05, "mixed": 0.05, "neutral": 0.6}
    by_threshold = SimpleNamespace(statement="2", statement_scores={"2": 0.9, "none": 0.1}, polarity="strength",
                                   polarity_scores=scores)
    most_likely = SimpleNamespace(statement="2", statement_scores={"2": 0.9, "none": 0.1}, polarity="neutral",
                                  polarity_scores=scores)
    assert prefill_certainty(by_threshold) == pytest.approx(0.27)
    assert prefill_certainty(most_likely) == pytest.approx(0.54)


# -- agreement --------------------------------------------------------------------------------------
def _line(start, statement, polarity, themes=(), report="kilbrannan-2025", sha1=None):
    obj = {"report": report, "start": start, "end": start + 40, "statement": statement, "polarity": polarity,
           "themes": list(themes), "quantifiers": [], "sha1": sha1 or f"{start:016x}"}
    return json.dumps(obj)


ROWS = [(0, "1", "strength", ["chronologies"]), (50, "1", "weakness", []), (100, "2", "strength", ["advocacy"]),
        (150, "2", "neutral", []), (200, "none", "neutral", []), (250, "3", "mixed", ["advocacy"]),
        (300, "4", "weakness", ["chronologies"]), (350, "4", "strength", [])]


def _write(path, rows):
    path.write_text("\n".join(_line(*r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_identical_files_agree_perfectly(tmp_path):
    a = _write(tmp_path / "a.jsonl", ROWS)
    b = _write(tmp_path / "b.jsonl", list(reversed(ROWS)))  # order does not matter
    result = agreement(a, b)
    assert result["sentences"] == len(ROWS)
    assert result["hash_checked"] is True
    for name in ("statement", "polarity", "polarity:strength", "polarity:weakness", "theme:chronologies",
                 "theme:advocacy"):
        assert result["labels"][name] == {"kappa": 1.0, "agreement": 1.0, "interval": (1.0, 1.0)}, name


def test_differing_files_agree_less(tmp_path):
    changed = list(ROWS)
    changed[1] = (50, "2", "strength", [])
    changed[3] = (150, "2", "weakness", ["chronologies"])
    changed[6] = (300, "4", "weakness", [])
    a = _write(tmp_path / "a.jsonl", ROWS)
    b = _write(tmp_path / "b.jsonl", changed)
    result = agreement(a, b)["labels"]
    assert result["statement"]["agreement"] == pytest.approx(7 / 8)
    assert result["polarity"]["agreement"] == pytest.approx(6 / 8)
    for name in ("statement", "polarity", "theme:chronologies"):
        assert result[name]["kappa"] < 1.0
    assert result["theme:advocacy"]["kappa"] == 1.0


def test_kappa_interval_holds_kappa_and_narrows_with_more_sentences():
    """The interval comes from resampling sentences: it holds the kappa of the whole set, and the same disagreement
    rate over four times the sentences gives a narrower interval."""
    import numpy as np
    from sklearn.metrics import cohen_kappa_score

    from nlpfind.evaluate import bootstrap_weights
    from nlpfind.label import kappa_interval

    rng = np.random.default_rng(5)
    widths = []
    for n in (100, 400):
        x = list(rng.choice(["1", "2", "3", "none"], n))
        y = [v if rng.random() < 0.8 else str(rng.choice(["1", "2", "3", "none"])) for v in x]
        lo, hi = kappa_interval(x, y, bootstrap_weights([str(i) for i in range(n)])[0])
        assert -1 <= lo < cohen_kappa_score(x, y) < hi <= 1
        widths.append(hi - lo)
    assert widths[1] < 0.7 * widths[0]


def test_agreement_uses_only_shared_sentences(tmp_path):
    a = _write(tmp_path / "a.jsonl", ROWS)
    b = _write(tmp_path / "b.jsonl", ROWS[:5] + [(900, "1", "strength", [])])
    assert agreement(a, b)["sentences"] == 5


def test_kappa_is_none_when_only_one_label_is_used(tmp_path):
    rows = [(0, "1", "strength", []), (50, "1", "strength", [])]
    result = agreement(_write(tmp_path / "a.jsonl", rows), _write(tmp_path / "b.jsonl", rows))
    assert result["labels"]["statement"] == {"kappa": None, "agreement": 1.0, "interval": None}


def test_no_shared_sentences(tmp_path):
    a = _write(tmp_path / "a.jsonl", ROWS[:4])
    b = _write(tmp_path / "b.jsonl", ROWS[4:])
    with pytest.raises(CorpusError, match="share no sentences") as info:
        agreement(a, b)
    assert str(a) in str(info.value) and str(b) in str(info.value)


def test_same_offsets_in_another_report_are_not_shared(tmp_path):
    a = _write(tmp_path / "a.jsonl", ROWS[:2])
    b = tmp_path / "b.jsonl"
    b.write_text("\n".join(_line(s, st, p, t, report="other-report") for s, st, p, t in ROWS[:2]) + "\n")
    with pytest.raises(CorpusError, match="share no sentences"):
        agreement(a, b)


def test_different_text_hash_is_refused(tmp_path):
    a = _write(tmp_path / "a.jsonl", ROWS[:2])
    b = tmp_path / "b.jsonl"
    b.write_text(_line(0, "1", "strength", sha1="ffffffffffffffff") + "\n" + _line(50, "1", "weakness") + "\n")
    with pytest.raises(CorpusError, match="different text hash"):
        agreement(a, b)


def test_bad_label_line(tmp_path):
    a = _write(tmp_path / "a.jsonl", ROWS)
    b = tmp_path / "b.jsonl"
    b.write_text(_line(0, "1", "strength") + "\n" + '{"report": "x", "start": 1}\n')
    with pytest.raises(CorpusError, match=f"{b}:2:"):
        agreement(a, b)


def test_agreement_command(tmp_path):
    a = _write(tmp_path / "a.jsonl", ROWS)
    b = _write(tmp_path / "b.jsonl", ROWS)
    result = CliRunner().invoke(app, ["agreement", str(a), str(b), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["labels"]["statement"]["kappa"] == 1.0
    table = CliRunner().invoke(app, ["agreement", str(a), str(b)])
    assert table.exit_code == 0 and "8 shared sentences" in table.stdout
    assert "(1.00 to 1.00)" in table.stdout


def test_parse_answer_accepts_long_statement_ids():
    from nlpfind.config import load_framework
    from nlpfind.label import Item, parse_answer
    from nlpfind.segment import Sentence

    fw = load_framework("ilacs")
    item = Item(Sentence(0, 0, 5, "Plans", "Plans"), "none", "neutral", (), (), 0.5)
    assert parse_answer("leaders w", item, fw) == ("leaders", "weakness", ())
    assert parse_answer("help-protections", item, fw) == ("help-protection", "strength", ())
    assert parse_answer("nm", item, fw) == ("none", "mixed", ())
    assert isinstance(parse_answer("leaders x", item, fw), str)  # not understood: an error message
