"""nlpfind compare: partnerships, themes, matrix, views, determinism, cache reuse, bad input, HTML in Chromium.

Every report here is invented for these tests. The classifier is a small FindingModel trained on the
fixture sentences without embeddings, and theme discovery uses a hashed bag-of-words embedder, so the
tests run in seconds; the test that loads MiniLM is marked slow.
"""

from __future__ import annotations

import csv
import hashlib
import inspect
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from nlpfind.errors import InputError, NlpfindError

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent

# -- invented findings: text -> (statement, polarity, themes) ---------------------------------------
F = {
    "chron_weak": ("Chronologies were of variable quality and did not show how concerns had built up over time.",
                   "2", "weakness", ("chronologies",)),
    "chron_weak2": ("Less than half of the chronologies we read were up to date and useful to staff.",
                    "2", "weakness", ("chronologies",)),
    "chron_strong": ("Almost all chronologies we read were detailed and helped staff to see cumulative concerns.",
                     "2", "strength", ("chronologies",)),
    "mh_weak": ("Children waited too long for specialist mental health support from CAMHS.",
                "2", "weakness", ("mental-health",)),
    "mh_weak2": ("Waiting times for mental health services remained long and a few young people had no support "
                 "while they waited.", "2", "weakness", ("mental-health",)),
    "mh_strong": ("Most young people with emotional wellbeing needs were seen quickly by the mental health team.",
                  "2", "strength", ("mental-health",)),
    "views_weak": ("Children's views did not yet shape the planning and design of services.",
                   "3", "weakness", ("strategic-voice",)),
    "views_weak2": ("The partnership had more to do to make sure the views of children influenced service planning.",
                    "3", "weakness", ("strategic-voice",)),
    "views_strong": ("The views of children and families were used well to shape the design of new services.",
                     "3", "strength", ("strategic-voice",)),
    "ird_strong": ("Inter-agency referral discussions were timely and almost all led to clear decisions about safety.",
                   "1", "strength", ("ird-investigation",)),
    "ird_strong2": ("The majority of inter-agency referral discussions were of a good standard.",
                    "1", "strength", ("ird-investigation",)),
    "lead_strong": ("Leaders shared a clear vision and were ambitious for children at risk of harm.",
                    "4", "strength", ("leadership-vision",)),
    "lead_mixed": ("While leaders had a clear vision, they could not yet show the difference services made to "
                   "outcomes.", "4", "mixed", ("leadership-vision", "outcome-measurement")),
    "outcome_weak": ("The partnership could not yet evidence improved outcomes for children at risk of harm.",
                     "4", "weakness", ("outcome-measurement",)),
    "ooh_weak1": ("Out-of-hours social work cover at weekends was stretched and families waited for a response.",
                  "1", "weakness", ()),
    "ooh_weak2": ("At weekends the out-of-hours social work cover was stretched, so families waited for a response.",
                  "1", "weakness", ()),
    "ooh_weak3": ("Families waited at weekends because out-of-hours social work cover was stretched.",
                  "1", "weakness", ()),
    "neutral1": ("We read the records of 60 children and young people.", "none", "neutral", ()),
    "neutral2": ("The inspection took place between March and May.", "none", "neutral", ()),
    "neutral3": ("This report sets out what we found.", "none", "neutral", ()),
}
HEADINGS = {
    "1": "Statement 1: Children and young people are safer because risks are identified early and "
         "responded to effectively",
    "2": "Statement 2: Children and young people's lives improve through high quality planning and support",
    "3": "Statement 3: Children, young people and families are meaningfully involved",
    "4": "Statement 4: Collaborative leadership, planning and operational management",
}


def report_text(place: str, keys: list[str], title: str | None = None) -> str:
    """An invented report for `place` holding the findings `keys`, grouped under statement headings."""
    title = title or ("Report of a joint inspection of services for young people and children at risk of harm "
                      f"in {place}")
    parts = [title, "", "Introduction", "", f"{F['neutral1'][0]} {F['neutral2'][0]} {F['neutral3'][0]}", ""]
    for sid in ("1", "2", "3", "4"):
        sents = [F[k][0] for k in keys if F[k][1] == sid]
        if sents:
            parts += [HEADINGS[sid], "", " ".join(sents), ""]
    return "\n".join(parts) + "\n"


REPORTS = {
    "glenmoray-2023.txt": ("Glenmoray", ["chron_weak", "mh_weak", "views_weak", "ird_strong", "lead_strong",
                                         "ooh_weak1"]),
    "eastbrook-2022.txt": ("Eastbrook and Fairhaven", ["chron_weak2", "mh_weak2", "views_strong", "ird_strong2",
                                                       "lead_mixed", "ooh_weak2"]),
    "kilbannock-2024.txt": ("Kilbannock", ["chron_strong", "mh_strong", "views_weak2", "outcome_weak",
                                           "ooh_weak3"]),
}
EXTRA = ("strathcarrow-2024.txt", "Strathcarrow", ["chron_weak", "mh_weak2", "lead_strong", "ird_strong"])


_STOP = frozenset("a an and are as at be by for from had has have in into is it of on or so that the their "
                  "they this to was were we with".split())


# -- test doubles ----------------------------------------------------------------------------------
class FakeEmbedder:
    """Deterministic hashed bag of content words, L2-normalised; counts what it embeds."""

    key = "fake-bow-256"
    dim = 256

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts):
        texts = list(texts)
        self.calls.append(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for r, t in enumerate(texts):
            for w in re.findall(r"[a-z][a-z'-]+", t.lower()):
                if w in _STOP:
                    continue
                h = int(hashlib.md5(w.encode()).hexdigest(), 16)
                out[r, h % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)

    @property
    def embedded(self) -> list[str]:
        return [t for call in self.calls for t in call]


def train_test_model():
    """A FindingModel trained on the fixture reports' own sentences, no embeddings."""
    from nlpfind.classify import sentence_input
    from nlpfind.config import TrainConfig, load_framework
    from nlpfind.quantify import QuantifierTagger
    from nlpfind.segment import segment
    from nlpfind.train import fit_model

    fw = load_framework("carh")
    tagger = QuantifierTagger(fw)
    labels = {" ".join(v[0].split()): v[1:] for v in F.values()}
    takes_framework = "framework" in inspect.signature(sentence_input).parameters  # the signature has grown
    inputs, st, po, th = [], [], [], []
    texts = [report_text(p, k) for p, k in REPORTS.values()] + [report_text(EXTRA[1], EXTRA[2])]
    for text in texts:
        for s in segment(text, fw):
            lab = labels.get(" ".join(s.clean.split()), ("none", "neutral", ()))
            quants = QuantifierTagger.to_source(s, tagger.find(s.clean))
            inputs.append(sentence_input(s, quants, fw) if takes_framework else sentence_input(s, quants))
            st.append(lab[0])
            po.append(lab[1])
            th.append(lab[2])
    config = TrainConfig(embedding_weight=0, similarity_weight=0, embedding_model="static")
    return fit_model(inputs, None, st, po, th, fw, config, None)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "compare-test-model"
    train_test_model().to_disk(path)
    return path


@pytest.fixture(scope="module")
def classifier(model_dir):
    from nlpfind.classify import Classifier

    return Classifier(model_dir)


@pytest.fixture()
def reports(tmp_path):
    d = tmp_path / "reports"
    d.mkdir()
    for name, (place, keys) in REPORTS.items():
        (d / name).write_text(report_text(place, keys), encoding="utf-8")
    return d


def run(paths, classifier, tmp_path, **kw):
    from nlpfind.compare import compare_reports

    kw.setdefault("embedder", FakeEmbedder())
    kw.setdefault("cache_dir", tmp_path / "cache")
    return compare_reports(sorted(paths), classifier, **kw)


def all_reports(d: Path) -> list[Path]:
    return sorted(d.glob("*.txt"))


# -- partnership names -----------------------------------------------------------------------------
@pytest.mark.parametrize("text,name", [
    ("Report of a joint inspection of services for young people and children at risk of harm in Glenmoray\n\n"
     "Prepared by the Care Inspectorate", "Glenmoray"),
    ("Services for children and young people in Eastbrook and Fairhaven\nMarch 2016", "Eastbrook and Fairhaven"),
    ("A joint inspection of services for young people and children in the Kilbannock Council area found",
     "Kilbannock"),
    ("Services for children and young people in Port\nServices for children and young people in Port Ellan "
     "April 2018\nServices for children and young people in Port Ellan", "Port Ellan"),
    ("Nothing here names a place.", None),
])
def test_partnership_from_text(text, name):
    from nlpfind.compare import partnership_from_text

    assert partnership_from_text(text) == name


def test_partnership_from_filename():
    from nlpfind.compare import partnership_from_filename

    assert partnership_from_filename("north-ayrshire-2022.txt") == "North Ayrshire"
    assert partnership_from_filename("/x/perth-and-kinross-services-for-children-2018.pdf") == "Perth and Kinross"


def test_partnership_detection_in_compare(reports, classifier, tmp_path):
    (reports / "untitled-glen-2021.txt").write_text(
        "Findings\n\n" + F["chron_weak"][0] + " " + F["mh_weak"][0] + "\n", encoding="utf-8")
    c = run(all_reports(reports), classifier, tmp_path)
    assert c.partnerships == ("Eastbrook and Fairhaven", "Glenmoray", "Kilbannock", "Untitled Glen")
    named = {Path(r.path).name: (r.partnership, r.named_by, r.year) for r in c.reports}
    assert named["glenmoray-2023.txt"] == ("Glenmoray", "text", "2023")
    assert named["untitled-glen-2021.txt"] == ("Untitled Glen", "file name", "2021")


def test_manifest_overrides_names(reports, classifier, tmp_path):
    m = tmp_path / "manifest.csv"
    m.write_text("file,partnership,year\nreports/glenmoray-2023.txt,Glenmoray and Isles,2019\n"
                 "kilbannock-2024.txt,Kilbannock City,2020\n", encoding="utf-8")
    c = run(all_reports(reports), classifier, tmp_path, manifest=m)
    assert c.partnerships == ("Eastbrook and Fairhaven", "Glenmoray and Isles", "Kilbannock City")
    by = {Path(r.path).name: r for r in c.reports}
    assert (by["glenmoray-2023.txt"].named_by, by["glenmoray-2023.txt"].year) == ("manifest", "2019")
    assert by["eastbrook-2022.txt"].named_by == "text"
    # the summaries' layout: an 'area' column instead of 'partnership'
    m.write_text("file,area,year\neastbrook-2022.txt,Fairhaven,2022\n", encoding="utf-8")
    c = run(all_reports(reports), classifier, tmp_path, manifest=m)
    assert "Fairhaven" in c.partnerships


# -- the matrix and the JSON contract ----------------------------------------------------------------
def test_json_contract(reports, classifier, tmp_path):
    from nlpfind.compare_render import to_json

    c = run(all_reports(reports), classifier, tmp_path)
    data = json.loads(to_json(c))
    assert list(data) == ["partnerships", "themes"]
    assert data["partnerships"] == ["Eastbrook and Fairhaven", "Glenmoray", "Kilbannock"]
    assert data["themes"]
    touched = []
    for t in data["themes"]:
        assert list(t) == ["id", "label", "seeded", "strength_partnerships", "weakness_partnerships", "cells"]
        assert isinstance(t["seeded"], bool) and t["label"]
        assert set(t["cells"]) <= set(data["partnerships"])
        for p, cell in t["cells"].items():
            assert list(cell) == ["strength", "weakness", "quantifiers", "refs"]
            assert cell["strength"] + cell["weakness"] >= 1
            assert all(list(r) == ["report", "start", "end"] for r in cell["refs"])
            assert (p in t["strength_partnerships"]) == (cell["strength"] > 0)
            assert (p in t["weakness_partnerships"]) == (cell["weakness"] > 0)
        touched.append(len(t["cells"]))
    assert touched == sorted(touched, reverse=True)
    ids = [t["id"] for t in data["themes"]]
    assert len(ids) == len(set(ids))
    labels = [t["label"] for t in data["themes"]]
    assert len(labels) == len(set(labels))
    # overlapping findings recur: chronologies and mental health in all three partnerships
    by_id = {t["id"]: t for t in data["themes"]}
    assert len(by_id["chronologies"]["cells"]) == 3
    assert set(by_id["chronologies"]["weakness_partnerships"]) == {"Glenmoray", "Eastbrook and Fairhaven"}
    assert by_id["chronologies"]["strength_partnerships"] == ["Kilbannock"]
    assert "almost all" in by_id["chronologies"]["cells"]["Kilbannock"]["quantifiers"]
    assert "less than half" in by_id["chronologies"]["cells"]["Eastbrook and Fairhaven"]["quantifiers"]
    # a mixed finding counts on both sides
    lead = by_id["leadership-vision"]["cells"]["Eastbrook and Fairhaven"]
    assert lead["strength"] == 1 and lead["weakness"] == 1


def test_discovers_leftover_theme(reports, classifier, tmp_path):
    c = run(all_reports(reports), classifier, tmp_path)
    found = [t for t in c.themes if not t.seeded]
    assert found, "the out-of-hours findings fit no seeded theme and should make a discovered theme"
    ooh = next(t for t in found if re.search(r"weekend|out-of-hours|stretched|cover", t.label))
    assert 1 <= len(ooh.label.split()) <= 4 + 2  # 2-4 words plus separators
    assert ooh.id.startswith("new-")
    assert len(ooh.cells) == 3
    assert ooh.representatives and all("weekend" in q.text for q in ooh.representatives)
    assert set(c.recurring_improvements()[0].weakness_partnerships) == set(c.partnerships)


def test_refs_slice_the_source_exactly(reports, classifier, tmp_path):
    from nlpfind.read import read_document

    c = run(all_reports(reports), classifier, tmp_path)
    sources = {r.report: read_document(r.path).text for r in c.reports}
    n = 0
    for t in c.themes:
        for cell in t.cells:
            for q, ref in zip(cell.quotes, cell.refs):
                assert sources[ref["report"]][ref["start"]:ref["end"]] == q.text
                for a, b, _term in q.quantifiers:
                    assert q.text[a:b].strip()
                n += 1
    assert n >= 10


def test_views_csv_and_table(reports, classifier, tmp_path):
    from nlpfind.compare_render import CSV_COLUMNS, to_csv, to_table

    c = run(all_reports(reports), classifier, tmp_path)
    rows = list(csv.DictReader(to_csv(c).splitlines()))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == sum(len(t.cells) for t in c.themes)
    assert {r["partnership"] for r in rows} == set(c.partnerships)
    assert all(int(r["net"]) == int(r["strength"]) - int(r["weakness"]) for r in rows)
    table = to_table(c, color=False)
    assert "Recurring areas for improvement" in table and "Recurring strengths" in table
    assert "\x1b[" not in table
    assert "Chronologies" in table


def test_min_partnerships_filters_themes(reports, classifier, tmp_path):
    c = run(all_reports(reports), classifier, tmp_path, min_partnerships=3)
    assert c.themes and all(len(t.cells) >= 3 for t in c.themes)
    assert all(len(t.weakness_partnerships) >= 3 for t in c.recurring_improvements())


# -- determinism and the embedding cache ------------------------------------------------------------
def test_same_inputs_byte_identical(reports, classifier, tmp_path):
    from nlpfind.compare_render import to_csv, to_html, to_json

    a = run(all_reports(reports), classifier, tmp_path, cache_dir=tmp_path / "c1")
    b = run(list(reversed(all_reports(reports))), classifier, tmp_path, cache_dir=tmp_path / "c2")
    for view in (to_json, to_csv, to_html):
        assert view(a) == view(b)


_SUBPROCESS = """
import sys
sys.path.insert(0, {here!r})
from test_compare import FakeEmbedder
from nlpfind.compare import compare_reports
from nlpfind.compare_render import to_json, to_html
c = compare_reports({paths!r}, model={model!r}, cache_dir={cache!r}, embedder=FakeEmbedder())
sys.stdout.write(to_json(c) + to_html(c))
"""


def test_byte_identical_across_hash_seeds(reports, model_dir, tmp_path):
    outs = []
    for seed in ("1", "4242"):
        code = _SUBPROCESS.format(here=str(HERE), paths=[str(p) for p in all_reports(reports)], model=str(model_dir),
                                  cache=str(tmp_path / f"cache{seed}"))
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        outs.append(proc.stdout)
    assert outs[0] == outs[1] and '"partnerships"' in outs[0]


def test_cache_reuse_embeds_only_the_new_report(reports, classifier, tmp_path):
    first = FakeEmbedder()
    c1 = run(all_reports(reports), classifier, tmp_path, embedder=first)
    assert first.embedded
    name, place, keys = EXTRA
    (reports / name).write_text(report_text(place, keys) + F["lead_mixed"][0].replace("vision", "plan") + "\n",
                                encoding="utf-8")
    second = FakeEmbedder()
    c2 = run(all_reports(reports), classifier, tmp_path, embedder=second)
    old = {" ".join(q.text.split()) for q in c1.quotes}
    new = {" ".join(q.text.split()) for q in c2.quotes if q.report == "strathcarrow-2024"}
    assert second.embedded, "the new report's new sentences must be embedded"
    assert set(second.embedded) == new - old
    assert len(second.embedded) == len(set(second.embedded))
    third = FakeEmbedder()
    c3 = run(all_reports(reports), classifier, tmp_path, embedder=third)
    assert third.embedded == [] and c3.as_dict() == c2.as_dict()


def _count_classified(monkeypatch) -> list[str]:
    from nlpfind.classify import Classifier

    seen: list[str] = []
    real = Classifier.classify_text

    def counting(self, text, report="report", **kw):
        seen.append(report)
        return real(self, text, report, **kw)

    monkeypatch.setattr(Classifier, "classify_text", counting)
    return seen


def test_findings_cache_skips_classifying_unchanged_reports(reports, classifier, tmp_path, monkeypatch):
    from nlpfind.compare_render import to_json

    c1 = run(all_reports(reports), classifier, tmp_path)
    seen = _count_classified(monkeypatch)
    c2 = run(all_reports(reports), classifier, tmp_path)
    assert seen == [] and to_json(c2) == to_json(c1)
    name, place, keys = EXTRA
    (reports / name).write_text(report_text(place, keys), encoding="utf-8")
    (reports / "glenmoray-2023.txt").write_text(
        (reports / "glenmoray-2023.txt").read_text(encoding="utf-8") + "\nStaff supervision was rarely recorded.\n",
        encoding="utf-8")
    run(all_reports(reports), classifier, tmp_path)
    assert sorted(seen) == ["glenmoray-2023", "strathcarrow-2024"]  # the changed and the new report only


def test_findings_cache_damaged_entry_is_classified_again(reports, classifier, tmp_path, monkeypatch):
    from nlpfind.compare_render import to_json

    c1 = run(all_reports(reports), classifier, tmp_path)
    entries = sorted((tmp_path / "cache" / "findings").rglob("*.json"))
    assert len(entries) == len(all_reports(reports))
    entries[0].write_text('{"version": 1, "findings": [[1, 2', encoding="utf-8")
    seen = _count_classified(monkeypatch)
    c2 = run(all_reports(reports), classifier, tmp_path)
    assert len(seen) == 1 and to_json(c2) == to_json(c1)
    json.loads(entries[0].read_text(encoding="utf-8"))  # rewritten whole


def test_findings_cache_entry_keeps_what_compare_reads(classifier, tmp_path):
    """An entry gives back each finding as it was put: its text from the report's text between its offsets (the entry
    does not repeat it), markup-free text where it differs, quantifier offsets, themes; another text or report id is
    a miss."""
    from nlpfind.compare import ComparedFinding
    from nlpfind.findings_cache import FindingsCache

    first, second = "In **most** records, plans were [SMART](x).", "Few young people had a say."
    source = f"Statement 2\n\n{first} {second}\n"
    a, b = source.index(first), source.index(second)
    found = [ComparedFinding(a, a + len(first), first, "In most records, plans were SMART.", "strength",
                             ((a + 3, a + 11, "most"),), ("plans", "chronology")),
             ComparedFinding(b, b + len(second), second, second, "weakness", (), ())]
    cache = FindingsCache(tmp_path, classifier)
    cache.put(source, "glenmoray-2023", found)
    assert cache.get(source, "glenmoray-2023") == found
    (entry,) = tmp_path.rglob("*.json")
    assert second not in entry.read_text(encoding="utf-8")
    assert cache.get(source + "!", "glenmoray-2023") is None
    assert cache.get(source, "strathcarrow-2024") is None


def test_theme_assignment_cache_is_reused_and_missed_on_any_change(reports, classifier, tmp_path, monkeypatch):
    """Comparing the same reports again reuses the clustering; other settings, other findings or a damaged entry
    assign themes again (and a damaged entry is rewritten whole)."""
    from nlpfind import compare as cmp
    from nlpfind.compare_render import to_json
    from nlpfind.themes import ThemeSettings

    c1 = run(all_reports(reports), classifier, tmp_path)
    entries = sorted((tmp_path / "cache" / "themes").rglob("*.json"))
    assert len(entries) == 1 and any(not t.seeded for t in c1.themes)  # discovered themes went through the cache
    calls: list[int] = []
    real = cmp.assign_themes
    monkeypatch.setattr(cmp, "assign_themes", lambda *a, **k: calls.append(1) or real(*a, **k))
    c2 = run(all_reports(reports), classifier, tmp_path)
    assert calls == [] and to_json(c2) == to_json(c1)
    run(all_reports(reports), classifier, tmp_path, theme_settings=ThemeSettings(similarity_threshold=0.9))
    assert calls == [1]
    run(all_reports(reports)[1:], classifier, tmp_path)
    assert calls == [1, 1]
    entries[0].write_text('{"version": 2, "themes": [[', encoding="utf-8")
    c3 = run(all_reports(reports), classifier, tmp_path)
    assert calls == [1, 1, 1] and to_json(c3) == to_json(c1)
    json.loads(entries[0].read_text(encoding="utf-8"))
    run(all_reports(reports), classifier, tmp_path, cache_dir=tmp_path / "off", use_cache=False)
    assert calls == [1, 1, 1, 1] and not (tmp_path / "off").exists()


def test_findings_cache_is_keyed_by_model_and_off_with_no_cache(reports, classifier, tmp_path, monkeypatch):
    from nlpfind.classify import Classifier
    from nlpfind.findings_cache import classifier_fingerprint

    model_dir = Path(classifier.model.meta["path"])
    other = tmp_path / "other-model"
    shutil.copytree(model_dir, other)
    meta = json.loads((other / "meta.json").read_text())
    meta["theme_threshold"] = 0.99
    (other / "meta.json").write_text(json.dumps(meta))
    assert classifier_fingerprint(Classifier(other)) != classifier_fingerprint(classifier)
    assert classifier_fingerprint(Classifier(model_dir)) == classifier_fingerprint(classifier)
    run(all_reports(reports), classifier, tmp_path)
    seen = _count_classified(monkeypatch)
    run(all_reports(reports), Classifier(other), tmp_path)
    assert len(seen) == len(all_reports(reports))
    run(all_reports(reports), classifier, tmp_path, cache_dir=tmp_path / "off", use_cache=False)
    assert not (tmp_path / "off").exists()


WORKERS_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[3])
from pathlib import Path
from test_compare import FakeEmbedder
from nlpfind.classify import Classifier
from nlpfind.compare import compare_reports
from nlpfind.compare_render import to_json
from nlpfind.parallel import pool_possible
paths = sorted(Path(sys.argv[1]).glob("*.txt"))
out = {"pool_possible": pool_possible()}
import multiprocessing
for workers in (1, 2):
    said, alive = [], []

    def progress(message):
        said.append(message)
        if message.startswith("embedding"):  # classifying is over: its workers must be gone
            alive.append(len(multiprocessing.active_children()))

    c = compare_reports(paths, Classifier(sys.argv[2]), embedder=FakeEmbedder(), use_cache=False, workers=workers,
                        progress=progress)
    out[workers] = {"json": to_json(c), "pooled": any(m.endswith(" reports on 2 processes") for m in said),
                    "workers_alive_after_classifying": alive}
print(json.dumps(out))
"""


def test_workers_give_the_same_comparison(model_dir, tmp_path):
    """Eight reports on two forked workers: the same output as one process, and the pool really ran
    (in a fresh process, so that the fork copies nothing of this test session)."""
    from nlpfind.parallel import MIN_REPORTS_PER_WORKER

    d = tmp_path / "many"
    d.mkdir()
    keys = list(F)
    places = ["Auchenbrae", "Ballinluig", "Corriemore", "Dalnaspie", "Ederline", "Fionnphort", "Glenbuckie",
              "Hallbrae"]
    for k, place in enumerate(places):
        (d / f"{place.lower()}-2024.txt").write_text(report_text(place, keys[k::3]), encoding="utf-8")
    assert len(places) >= 2 * MIN_REPORTS_PER_WORKER
    proc = subprocess.run([sys.executable, "-c", WORKERS_SCRIPT, str(d), str(model_dir), str(Path(__file__).parent)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if sys.platform.startswith("linux"):
        assert out["pool_possible"] and out["2"]["pooled"] and not out["1"]["pooled"]
    assert out["2"]["json"] == out["1"]["json"]
    assert out["2"]["workers_alive_after_classifying"] == [0]  # not kept (with their models) to the end


# -- small corpora ---------------------------------------------------------------------------------
def test_two_reports_give_themes(reports, classifier, tmp_path):
    paths = [reports / "glenmoray-2023.txt", reports / "eastbrook-2022.txt"]
    c = run(paths, classifier, tmp_path)
    assert len(c.partnerships) == 2
    shared = [t for t in c.themes if len(t.cells) == 2]
    assert len(shared) >= 3
    assert c.stats["unassigned"] <= c.stats["findings"] // 4


def test_ten_short_summaries_give_themes(classifier, tmp_path):
    d = tmp_path / "summaries"
    d.mkdir()
    keys = list(F)
    places = ["Auchenbrae", "Ballinluig", "Corriemore", "Dalnaspie", "Ederline", "Fionnphort", "Glenbuckie",
              "Hallbrae", "Invercassley", "Kinlochard"]
    for i, place in enumerate(places):
        pick = [keys[(i + j * 3) % 17] for j in range(3)]
        text = (f"A joint inspection of services for children and young people in {place} was published today.\n\n"
                + " ".join(F[k][0] for k in pick) + "\n")
        (d / f"{place.lower()}.txt").write_text(text, encoding="utf-8")
    c = run(sorted(d.glob("*.txt")), classifier, tmp_path)
    assert len(c.partnerships) == 10
    assert len(c.themes) >= 5
    assert any(len(t.cells) >= 3 for t in c.themes)
    assert c.stats["unassigned"] / c.stats["findings"] < 0.25


def test_assign_themes_tiny_inputs():
    from nlpfind.config import Theme
    from nlpfind.themes import assign_themes

    emb = FakeEmbedder()
    seeded = (Theme("chronologies", "Chronologies", "Completion and quality of chronologies"),)
    texts = ["Out-of-hours cover at weekends was stretched.", "At weekends out-of-hours cover was stretched."]
    a = assign_themes(texts, [(), ()], emb.encode(texts), seeded, emb.encode(["Chronologies. Completion"]))
    assert a.sources == ("discovered", "discovered")
    new = [t for t in a.themes if not t.seeded]
    assert len(new) == 1 and a.assignments == ((new[0].id,), (new[0].id,))
    assert new[0].label and new[0].representatives
    one = assign_themes(texts[:1], [()], emb.encode(texts[:1]), seeded, emb.encode(["Chronologies"]))
    assert one.assignments == ((),)  # a single leftover finding makes no theme
    none = assign_themes([], [], np.zeros((0, 4)), seeded, emb.encode(["Chronologies"]))
    assert none.assignments == ()


def test_clustering_scores_are_scikit_learns_to_the_last_bit():
    """Theme discovery picks the number of clusters by silhouette on cosine distances, computed in numpy: the same
    numbers as scikit-learn's, so the same themes, without importing it."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from sklearn.metrics import silhouette_score as sk_silhouette
    from sklearn.metrics.pairwise import cosine_distances as sk_cosine_distances

    from nlpfind.themes import _normalise, cosine_distances, silhouette_score

    rng = np.random.default_rng(7)
    centres = rng.normal(size=(5, 32))
    x = _normalise(centres[rng.integers(0, 5, 120)] + rng.normal(scale=0.8, size=(120, 32)))
    distances = cosine_distances(x)
    assert np.array_equal(distances, sk_cosine_distances(x))
    tree = linkage(x, method="ward")
    for k in range(2, 12):
        labels = fcluster(tree, t=k, criterion="maxclust")
        assert silhouette_score(distances, labels) == float(sk_silhouette(distances, labels, metric="precomputed"))
    singletons = np.array([0, 0, 1, 2, 2, 2] + [3] * 114)  # a cluster of one scores 0, as in scikit-learn
    assert silhouette_score(distances, singletons) == float(sk_silhouette(distances, singletons, metric="precomputed"))
    with pytest.raises(ValueError, match="2 to 119 labels"):
        silhouette_score(distances, np.zeros(120, dtype=int))


def test_theme_discovery_does_not_import_scikit_learn():
    """A cold compare with the default settings clusters and labels themes without scikit-learn (2 s of import);
    the stop words are still scikit-learn's list."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from nlpfind.themes import DOMAIN_STOP_WORDS, stop_words

    assert stop_words() == frozenset(ENGLISH_STOP_WORDS) | DOMAIN_STOP_WORDS
    code = ("import sys, numpy as np; from nlpfind.themes import ThemeSettings, discover; "
            "rng = np.random.default_rng(0); c = rng.normal(size=(3, 16)); lab = rng.integers(0, 3, 60); "
            "v = c[lab] + rng.normal(scale=0.2, size=(60, 16)); v /= np.linalg.norm(v, axis=1, keepdims=True); "
            "words = ['chronologies were late', 'advocacy was offered', 'plans were reviewed']; "
            "texts = [words[k] + ' in the records of the area' for k in lab]; "
            "found = discover(texts, v, list(range(60)), ThemeSettings()); "
            "print(len(found), 'sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                         timeout=300)
    assert out.stdout.split() == ["3", "False"], out.stdout + out.stderr


def test_discover_takes_one_vector_per_member():
    from nlpfind.themes import ThemeSettings, discover

    texts = ["a", "b", "c"]
    with pytest.raises(ValueError, match="one vector each"):
        discover(texts, np.ones((3, 4)), [0, 2], ThemeSettings())
    with pytest.raises(ValueError, match="ascending"):
        discover(texts, np.ones((2, 4)), [2, 0], ThemeSettings())


# -- bad input ---------------------------------------------------------------------------------------
def test_fewer_than_two_reports(reports, classifier, tmp_path):
    with pytest.raises(InputError, match="at least two reports; got 1"):
        run([reports / "glenmoray-2023.txt"], classifier, tmp_path)
    with pytest.raises(InputError, match="at least two reports; got 0"):
        run([], classifier, tmp_path)


def test_unreadable_report_skip_or_stop(reports, classifier, tmp_path):
    bad = reports / "broken.txt"
    bad.write_bytes(b"\x00\x01\x02binary\x00" * 50)
    seen: list[str] = []
    c = run(all_reports(reports), classifier, tmp_path, warn=seen.append)
    assert len(c.partnerships) == 3
    assert [Path(p).name for p, _ in c.skipped] == ["broken.txt"]
    assert len(seen) == 1 and "broken.txt" in seen[0]
    with pytest.warns(UserWarning, match="broken.txt"):
        run(all_reports(reports), classifier, tmp_path)
    with pytest.raises(InputError, match="broken.txt.*stopped"):
        run(all_reports(reports), classifier, tmp_path, on_error="stop")
    with pytest.raises(InputError, match="at least two readable reports; got 1; skipped .*broken.txt"):
        run([bad, reports / "glenmoray-2023.txt"], classifier, tmp_path, warn=seen.append)
    with pytest.raises(InputError, match="no such file"):
        run([reports / "missing.txt", reports / "glenmoray-2023.txt", reports / "kilbannock-2024.txt"], classifier,
            tmp_path, on_error="stop")


def test_duplicate_partnership(reports, classifier, tmp_path):
    (reports / "glenmoray-2019.txt").write_text(report_text("Glenmoray", ["mh_strong", "chron_strong"]),
                                                encoding="utf-8")
    with pytest.raises(InputError, match="glenmoray-20.*glenmoray-20.*'Glenmoray'.*--merge"):
        run(all_reports(reports), classifier, tmp_path)
    c = run(all_reports(reports), classifier, tmp_path, merge=True)
    assert c.partnerships == ("Eastbrook and Fairhaven", "Glenmoray", "Kilbannock")
    chron = next(t for t in c.themes if t.id == "chronologies")
    cell = chron.cell("Glenmoray")
    assert cell.strength >= 1 and cell.weakness >= 1
    assert {q.report for q in cell.quotes} == {"glenmoray-2019", "glenmoray-2023"}


def test_manifest_naming_missing_files(reports, classifier, tmp_path):
    m = tmp_path / "manifest.csv"
    m.write_text("file,partnership,year\nglenmoray-2023.txt,Glenmoray,2023\nnot-there.txt,Nowhere,2020\n",
                 encoding="utf-8")
    with pytest.raises(InputError, match="not-there.txt"):
        run(all_reports(reports), classifier, tmp_path, manifest=m)
    m.write_text("name,place\nx,y\n", encoding="utf-8")
    with pytest.raises(InputError, match="columns file and partnership"):
        run(all_reports(reports), classifier, tmp_path, manifest=m)
    with pytest.raises(InputError, match="manifest not found"):
        run(all_reports(reports), classifier, tmp_path, manifest=tmp_path / "nope.csv")


def test_other_bad_arguments(reports, classifier, tmp_path):
    paths = all_reports(reports)
    with pytest.raises(InputError, match="given twice"):
        run(paths + [paths[0]], classifier, tmp_path)
    with pytest.raises(InputError, match="on_error"):
        run(paths, classifier, tmp_path, on_error="ignore")
    with pytest.raises(InputError, match="at least 1"):
        run(paths, classifier, tmp_path, min_partnerships=0)
    assert issubclass(InputError, NlpfindError)


# -- CLI --------------------------------------------------------------------------------------------
def cli_app():
    import typer

    from nlpfind.cli_compare import register

    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @app.callback()
    def main() -> None:
        """nlpfind (test app)."""

    register(app)
    return app


def invoke(args, env=None):
    from typer.testing import CliRunner

    return CliRunner().invoke(cli_app(), args, env=env)


def test_cli_imports_stay_light():
    code = ("import sys, nlpfind.cli_compare; heavy = [m for m in ('torch', 'sentence_transformers', 'sklearn', "
            "'spacy', 'rich', 'nlpfind.compare', 'numpy') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_compare_formats_and_errors(reports, model_dir, tmp_path):
    env = {"NLPFIND_CACHE": str(tmp_path / "cache")}
    out = tmp_path / "out" / "compare.json"
    r = invoke(["compare", "--dir", str(reports), "--model", str(model_dir), "--out", str(out)], env)
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["partnerships"] == ["Eastbrook and Fairhaven", "Glenmoray", "Kilbannock"]
    html_out = tmp_path / "out" / "compare.html"
    r = invoke(["compare", *map(str, all_reports(reports)), "--model", str(model_dir), "--out", str(html_out)], env)
    assert r.exit_code == 0 and html_out.read_text(encoding="utf-8").startswith("<!doctype html>")
    r = invoke(["compare", "--dir", str(reports), "--model", str(model_dir), "--format", "csv"], env)
    assert r.exit_code == 0 and r.stdout.startswith("rank,theme_id")
    r = invoke(["compare", "--dir", str(reports), "--model", str(model_dir), "--format", "table",
                "--min-partnerships", "3"], env)
    assert r.exit_code == 0 and "Recurring strengths" in r.stdout
    # bad input: one line on stderr, exit 2, nothing written
    r = invoke(["compare", str(reports / "glenmoray-2023.txt"), "--model", str(model_dir)], env)
    assert r.exit_code == 2 and r.stderr.count("\n") == 1 and "at least two reports" in r.stderr
    r = invoke(["compare", "--model", str(model_dir)], env)
    assert r.exit_code == 2 and "at least two report files" in r.stderr
    (reports / "broken.txt").write_bytes(b"\x00\x01binary\x00" * 40)
    stopped = tmp_path / "out" / "stopped.json"
    r = invoke(["compare", "--dir", str(reports), "--model", str(model_dir), "--on-error", "stop", "--out",
                str(stopped)], env)
    assert r.exit_code == 2 and "broken.txt" in r.stderr and not stopped.exists()
    assert not list(stopped.parent.glob(".stopped*"))
    r = invoke(["compare", "--dir", str(reports), "--model", str(model_dir), "--out", str(stopped)], env)
    assert r.exit_code == 0 and "warning: skipped" in r.stderr and "broken.txt" in r.stderr and stopped.exists()
    (reports / "broken.txt").unlink()
    (reports / "glen-again.txt").write_text(report_text("Glenmoray", ["mh_strong"]), encoding="utf-8")
    r = invoke(["compare", "--dir", str(reports), "--model", str(model_dir)], env)
    assert r.exit_code == 2 and "'Glenmoray'" in r.stderr and r.stderr.count("\n") == 1
    r = invoke(["compare", "--dir", str(reports), "--model", str(model_dir), "--merge", "-f", "json"], env)
    assert r.exit_code == 0 and json.loads(r.stdout)["partnerships"][1] == "Glenmoray"
    m = tmp_path / "m.csv"
    m.write_text("file,partnership,year\nghost.txt,Ghost,2020\n", encoding="utf-8")
    r = invoke(["compare", "--dir", str(reports), "--model", str(model_dir), "--manifest", str(m), "--merge"], env)
    assert r.exit_code == 2 and "ghost.txt" in r.stderr


# -- the HTML report in headless Chromium ---------------------------------------------------------------
def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


needs_chromium = pytest.mark.skipif(_chromium() is None, reason="Chromium is not installed "
                                    "(apt-get install -y chromium; scripts/setup.sh does this where apt works)")


def _chromium_run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'chromium-profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """A tiny PNG decoder (8-bit RGB/RGBA, non-interlaced): width, height and rows of raw pixel bytes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and colour in (2, 6) and chunk[12] == 0
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + n
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, [bytes(r[i:i + 3]) for r in rows[::7] for i in range(0, stride, bpp * 7)]


@pytest.fixture()
def html_report(reports, classifier, tmp_path):
    from nlpfind.compare_render import to_html

    c = run(all_reports(reports), classifier, tmp_path)
    page = tmp_path / "compare.html"
    page.write_text(to_html(c), encoding="utf-8")
    return c, page


def test_html_is_self_contained(html_report):
    _c, page = html_report
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"<(script|img|iframe)[^>]*\ssrc=|<link[^>]*href=|@import|url\(\s*['\"]?https?:", text)
    assert "http://" not in text and "https://" not in text


@needs_chromium
def test_html_screenshot_is_not_blank(html_report, tmp_path):
    _c, page = html_report
    shot = tmp_path / "shot.png"
    proc = _chromium_run([f"--screenshot={shot}", "--window-size=1400,900", page.as_uri()], tmp_path)
    assert shot.is_file() and shot.stat().st_size > 5000, proc.stderr[-2000:]
    data = shot.read_bytes()
    try:
        from PIL import Image

        with Image.open(shot) as im:
            small = im.convert("RGB").resize((280, 180)).tobytes()
        colours = {small[i:i + 3] for i in range(0, len(small), 3)}
    except ImportError:
        _w, _h, pixels = png_pixels(data)
        colours = set(pixels)
    assert len(colours) >= 20, f"screenshot looks blank ({len(colours)} colours)"
    # the heatmap's green and red cells are visible
    assert any(g > r + 40 and g > b for r, g, b in colours)  # bytes iterate as ints
    assert any(r > g + 60 and r > b + 60 for r, g, b in colours)


@needs_chromium
def test_html_click_shows_quotes(html_report, tmp_path):
    c, page = html_report
    theme = next(t for t in c.themes if t.id == "chronologies")
    cell = theme.cell("Kilbannock")
    url = page.as_uri() + "#cell=chronologies/Kilbannock"
    proc = _chromium_run(["--dump-dom", "--virtual-time-budget=5000", url], tmp_path)
    dom = proc.stdout
    assert "<aside id=\"panel\"" in dom, proc.stderr[-2000:]
    panel = dom[dom.index("<aside id=\"panel\""):]
    panel = panel[:panel.index("</aside>")]
    assert " hidden" not in panel.split(">", 1)[0]
    assert "Kilbannock — Chronologies" in panel
    quote = " ".join(cell.quotes[0].text.split())
    assert quote.split(" almost all ")[-1][:40] in " ".join(re.sub(r"<[^>]+>", "", panel).split())
    assert '<mark class="quant" title="almost all">Almost all</mark>' in panel
    assert 'class="c sel"' in dom or "sel" in dom


def test_png_decoder_roundtrip():
    """The fallback decoder reads a PNG written by hand (2x1 RGB, filter 0)."""
    raw = b"\x00" + bytes([255, 0, 0, 0, 255, 0])

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 1, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    w, h, pixels = png_pixels(png)
    assert (w, h) == (2, 1) and pixels[0] == bytes([255, 0, 0])


# -- with the shipped model and MiniLM ------------------------------------------------------------------
@pytest.mark.slow
def test_compare_with_default_model(reports, tmp_path):
    from nlpfind.compare import compare_reports
    from nlpfind.compare_render import to_json

    c = compare_reports(all_reports(reports), cache_dir=tmp_path / "cache")
    assert c.partnerships == ("Eastbrook and Fairhaven", "Glenmoray", "Kilbannock")
    assert c.themes and any(len(t.cells) == 3 for t in c.themes)
    again = compare_reports(all_reports(reports), cache_dir=tmp_path / "cache")
    assert to_json(again) == to_json(c)


@pytest.mark.slow
def test_themes_are_matched_on_the_models_own_vector(reports, tmp_path, monkeypatch):
    """The default model classifies on MiniLM layers 3, 4 and 6; compare matches and discovers themes on the model's own
    (last-layer) vector, read out of the layered one without a second encoder pass."""
    import numpy as np

    from nlpfind import compare
    from nlpfind.classify import Classifier
    from nlpfind.embed import Embedder, get_embedder

    assert 6 in Classifier().model.embedding_layers  # what this test is about
    seen = {}
    real = compare.assign_themes

    def spy(texts, given, emb, seeded, seeded_emb, settings):
        seen.update(texts=list(texts), emb=emb, seeded_emb=seeded_emb, seeded=seeded)
        return real(texts, given, emb, seeded, seeded_emb, settings)

    monkeypatch.setattr(compare, "assign_themes", spy)
    encoded: list[int] = []
    real_encode = Embedder.encode
    monkeypatch.setattr(Embedder, "encode", lambda self, texts: encoded.append(len(self.layers)) or real_encode(self, texts))
    compare.compare_reports(all_reports(reports), cache_dir=tmp_path / "cache")
    assert seen["texts"] and set(encoded) == {3}  # one (layered) encoder, no second pass
    own = get_embedder("minilm")
    assert np.abs(seen["emb"] - own.encode(seen["texts"])).max() < 1e-5
    assert np.abs(seen["seeded_emb"] - own.encode([compare.theme_text(t) for t in seen["seeded"]])).max() < 1e-5


@pytest.mark.slow
def test_default_model_cache_embeds_only_the_new_report(reports, tmp_path, monkeypatch):
    """With MiniLM (classifier and discovery share the cache), adding a report embeds only its sentences."""
    from nlpfind.compare import compare_reports
    from nlpfind.embed import Embedder

    compare_reports(all_reports(reports), cache_dir=tmp_path / "cache")
    seen: list[str] = []
    real = Embedder.encode

    def counting(self, texts):
        seen.extend(texts)
        return real(self, texts)

    monkeypatch.setattr(Embedder, "encode", counting)
    name, place, keys = EXTRA
    text = report_text(place, keys) + "Transport to family contact was arranged quickly and flexibly.\n"
    (reports / name).write_text(text, encoding="utf-8")
    c = compare_reports(all_reports(reports), cache_dir=tmp_path / "cache")
    assert "Strathcarrow" in c.partnerships
    flat = " ".join(text.split())
    assert seen and all(" ".join(t.split()) in flat for t in seen), seen
    assert any("Transport to family contact" in t for t in seen)
    assert not any(F["ooh_weak1"][0] in t for t in seen)  # in an old report only
