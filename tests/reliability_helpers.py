"""Shared pieces for the reliability tests (issue 6): invented reports, a tiny corpus, a tiny model.

Every sentence here was written for these tests (invented partnerships Glenbrae, Ardmuir and Kinloch);
none is taken from a published report. The tiny model is trained without embeddings
(embedding_weight=0, similarity_weight=0), so nothing here loads MiniLM.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# (text, statement, polarity, themes) for each finding; a report lays them out under statement headings.
FINDINGS = {
    "glenbrae": [
        ("In almost all of the records we read, staff recognised worries about harm and acted on them quickly.",
         "1", "strength", ["recognition-response"]),
        ("Inter-agency referral discussions in Glenbrae were held promptly and most led to clear safety decisions.",
         "1", "strength", ["ird-investigation"]),
        ("Chronologies were out of date in a significant minority of the records we read.",
         "2", "weakness", ["chronologies"]),
        ("Most children’s plans were reviewed on time and set out who would do what by when.",
         "2", "strength", ["assessment-planning"]),
        ("Less than half of the young people we met felt that their views had changed decisions about them.",
         "3", "weakness", ["child-participation"]),
        ("Leaders in Glenbrae shared a clear vision and were ambitious for children at risk of harm.",
         "4", "strength", ["leadership-vision"]),
        ("The partnership could not yet show the difference its improvement work had made to outcomes.",
         "4", "weakness", ["outcome-measurement"]),
    ],
    "ardmuir": [
        ("Staff across services were quick to share concerns about children, and a few were unsure of the procedure.",
         "1", "mixed", ["recognition-response", "staff-learning"]),
        ("The majority of inter-agency referral discussions were of a good standard.",
         "1", "strength", ["ird-investigation"]),
        ("Chronologies were detailed and helped staff to see how concerns had built up over time.",
         "2", "strength", ["chronologies"]),
        ("Children waited too long for specialist mental health support in Ardmuir.",
         "2", "weakness", ["mental-health"]),
        ("Independent advocacy was offered to almost all children at child protection meetings.",
         "3", "strength", ["advocacy"]),
        ("Self-evaluation was not yet embedded across all services.",
         "4", "weakness", ["quality-assurance"]),
        ("The chief officers group did not receive regular reports on child protection activity.",
         "4", "weakness", ["governance-oversight"]),
    ],
    "kinloch": [
        ("Most health visitors shared concerns about unborn babies early and recorded their reasons.",
         "1", "strength", ["recognition-response"]),
        ("A few children’s plans had no clear timescales, and reviews were sometimes postponed.",
         "2", "weakness", ["assessment-planning"]),
        ("Parents told us that staff listened to them and explained decisions clearly.",
         "3", "strength", ["family-involvement"]),
        ("Leaders in Kinloch used data well to check the quality of child protection work.",
         "4", "strength", ["quality-assurance"]),
    ],
}
NEUTRAL = ["We read the records of forty children and young people.",
           "The inspection took place between February and April.",
           "Staff described the “Safe and Together” approach – introduced two years ago – as helpful."]
HEADINGS = {
    "1": "Statement 1: Children and young people are safer because risks are identified early and "
         "responded to effectively",
    "2": "Statement 2: Children and young people's lives improve through high quality planning and support",
    "3": "Statement 3: Children, young people and families are meaningfully involved in decisions",
    "4": "Statement 4: Collaborative strategic leadership ensures high standards of service delivery",
}
PLACES = {"glenbrae": "Glenbrae", "ardmuir": "Ardmuir", "kinloch": "Kinloch"}


def report_text(key: str) -> str:
    """An invented report for partnership `key` ("glenbrae" or "ardmuir")."""
    place = PLACES[key]
    parts = [f"Joint inspection of services for young people and children at risk of harm in {place}", "",
             "Introduction", "", " ".join(NEUTRAL), ""]
    for sid in ("1", "2", "3", "4"):
        sents = [f[0] for f in FINDINGS[key] if f[1] == sid]
        if sents:
            parts += [HEADINGS[sid], "", " ".join(sents), ""]
    parts += ["Conclusion", "", f"We are confident that partners in {place} can make the improvements needed.", ""]
    return "\n".join(parts)


def ascii_fold(text: str) -> str:
    """Typographic quotes and dashes as ASCII."""
    return text.translate(str.maketrans({"’": "'", "“": '"', "”": '"', "–": "-"}))


def _key(text: str) -> str:
    return " ".join(ascii_fold(text).split())


def label_lines(key: str, text: str) -> list[dict]:
    """Label records (offsets + hash into `text`, the report as read) for every finding and neutral sentence."""
    from nlpfind.config import load_framework
    from nlpfind.corpus import label_record
    from nlpfind.quantify import QuantifierTagger
    from nlpfind.segment import segment

    fw = load_framework("carh")
    tagger = QuantifierTagger(fw)
    labels = {_key(t): (st, pol, th) for t, st, pol, th in FINDINGS[key]}
    out = []
    for s in segment(text, fw):
        st, pol, th = labels.get(_key(s.clean), ("none", "neutral", []))
        quants = [q.as_dict() for q in tagger.tag(s)]
        out.append(label_record(key, s, st, pol, th, quants, annotator="reliability-test"))
    assert sum(1 for r in out if r["statement"] != "none") == len(FINDINGS[key]), "fixture sentences not found"
    return out


def write_corpus(root: Path, keys=("glenbrae", "ardmuir"), encodings: dict | None = None) -> dict:
    """A corpus folder (manifest.csv + labels/) with its reports in `root/reports`.

    `encodings` maps a key to (file name, bytes-encoder) to store that report in another encoding;
    the labels always point into the text as nlpfind reads it.
    """
    import json

    from nlpfind.read import read_document

    reports = root / "reports"
    corpus = root / "corpus"
    (corpus / "labels").mkdir(parents=True, exist_ok=True)
    reports.mkdir(parents=True, exist_ok=True)
    rows = ["report,file,partnership,year,programme,url"]
    files = {}
    for key in keys:
        name, encode = (encodings or {}).get(key, (f"{key}.txt", lambda t: t.encode("utf-8")))
        path = reports / name
        path.write_bytes(encode(report_text(key)))
        files[key] = path
        rows.append(f"{key},{name},{PLACES[key]},2024,CARH,")
        text = read_document(path).text
        with open(corpus / "labels" / f"{key}.jsonl", "w", encoding="utf-8") as fh:
            for rec in label_lines(key, text):
                fh.write(json.dumps(rec, sort_keys=True) + "\n")
    (corpus / "manifest.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return {"corpus": corpus, "reports": reports, "files": files}


FAST_CONFIG = """[train]
framework = "carh"
embedding_model = "static"
embedding_weight = 0.0
similarity_weight = 0.0
"""


def write_fast_config(path: Path) -> Path:
    path.write_text(FAST_CONFIG, encoding="utf-8")
    return path


def train_tiny_model(embedded: str | None = None, layers: tuple[int, ...] = (), theme_term_weight: float = 0.0,
                     polarity_thresholds: bool = False, theme_statement_floor: float = 0.0, **settings):
    """A FindingModel fitted on the invented reports' sentences, without embeddings (seconds, no MiniLM);
    `embedded`: with the embeddings of that model (a static model's folder is fast), of its `layers`;
    `polarity_thresholds`: with strength and weakness thresholds chosen by CV grouped by report;
    `theme_statement_floor`: with the rule that leaves off themes that do not go with the predicted statement;
    `settings`: other TrainConfig values."""
    from nlpfind.classify import sentence_input
    from nlpfind.config import TrainConfig, load_framework
    from nlpfind.quantify import QuantifierTagger
    from nlpfind.segment import segment
    from nlpfind.train import fit_model

    fw = load_framework("carh")
    tagger = QuantifierTagger(fw)
    inputs, st, po, th, groups = [], [], [], [], []
    for key in FINDINGS:
        labels = {" ".join(t.split()): (s, p, h) for t, s, p, h in FINDINGS[key]}
        for s in segment(report_text(key), fw):
            lab = labels.get(" ".join(s.clean.split()), ("none", "neutral", []))
            inputs.append(sentence_input(s, tagger.tag(s), fw))
            st.append(lab[0])
            po.append(lab[1])
            th.append(lab[2])
            groups.append(key)
    if embedded:
        from nlpfind.embed import get_embedder

        config = TrainConfig(embedding_weight=1.0, similarity_weight=0, embedding_model=embedded, embedding_layers=layers)
        return fit_model(inputs, get_embedder(embedded, layers).encode([i.text for i in inputs]), st, po, th, fw, config,
                         None)
    config = TrainConfig(embedding_weight=0, similarity_weight=0, embedding_model="static",
                         theme_term_weight=theme_term_weight, polarity_thresholds=polarity_thresholds,
                         theme_statement_floor=theme_statement_floor, **settings)
    return fit_model(inputs, None, st, po, th, fw, config, None, groups=groups)


def tree_digest(path: Path) -> dict[str, str]:
    """sha256 of every file under `path` (relative names), to show a folder is unchanged."""
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(path).rglob("*")) if p.is_file()}


def copy_model(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def run_cli(args: list[str], *, env: dict | None = None, timeout: int = 300, input: bytes | None = None,
            cwd: Path = REPO) -> subprocess.CompletedProcess:
    """`python -m nlpfind.cli ARGS` in a real process (bytes in, text out)."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("NLPFIND_DEBUG", None)
    proc = subprocess.run([sys.executable, "-m", "nlpfind.cli", *args], capture_output=True, env=full_env,
                          timeout=timeout, input=input, cwd=cwd)
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode("utf-8", "replace"),
                                       proc.stderr.decode("utf-8", "replace"))


class HashEmbedder:
    """Deterministic 64-dimensional vectors from a text's hash (no model): stands in for an embedder."""

    key = "reliability-hash-64"
    dim = 64

    def encode(self, texts):
        import numpy as np

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for r, t in enumerate(texts):
            digest = hashlib.sha256(t.encode("utf-8")).digest() * 2
            out[r] = np.frombuffer(digest, dtype=np.uint8)[: self.dim].astype(np.float32) / 255.0
        return out


def cache_worker(args) -> bool:
    """In a separate process: encode overlapping batches through one shared EmbeddingCache folder and
    check every vector against the embedder itself. Returns True when all matched."""
    import random

    import numpy as np

    from nlpfind.embed import EmbeddingCache

    directory, seed, rounds, pool = args
    rng = random.Random(seed)
    embedder = HashEmbedder()
    for _ in range(rounds):
        texts = rng.sample(pool, rng.randint(1, 40))
        cache = EmbeddingCache(directory, embedder)  # a fresh cache object: reads what others wrote
        got = cache.encode(texts)
        if not np.array_equal(got, embedder.encode(texts)):
            return False
    return True
