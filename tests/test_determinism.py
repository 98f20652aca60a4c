"""Issue 6, part 5: classify and compare give byte-identical output across runs and PYTHONHASHSEED values.

Three processes, one per PYTHONHASHSEED (0, 12345, and Python's random seed), start together; each
runs every classify format and every compare format (twice: with a cold and then a warm embedding
cache; the 12345 process gives the reports in reverse order) and saves each stdout. Every output must
be byte-identical across the three processes and the two runs. The shipped MiniLM model is checked
the same way in a slow test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import EXAMPLE
from reliability_helpers import REPO, report_text

SEEDS = ("0", "12345", "random")


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> list[str]:
    d = tmp_path_factory.mktemp("reports")
    for key in ("glenbrae", "ardmuir", "kinloch"):
        (d / f"{key}-2024.txt").write_text(report_text(key), encoding="utf-8")
    return [str(p) for p in sorted(d.glob("*.txt"))]


def run_side_by_side(jobs: list[tuple[str, list[str], dict]], timeout: int = 600) -> dict[str, bytes]:
    """Start every (name, argv, env) at once; return each one's stdout (bytes, as written)."""
    procs = {}
    for name, args, extra in jobs:
        env = {**os.environ, **extra}
        env.pop("NLPFIND_DEBUG", None)
        if env.get("PYTHONHASHSEED") == "random":
            env.pop("PYTHONHASHSEED")  # Python picks a random seed
        procs[name] = subprocess.Popen([sys.executable, *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE)
    outs = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, f"{name}: {err.decode('utf-8', 'replace')[-2000:]}"
        outs[name] = out
    return outs


# One process per hash seed runs every command of the CLI app in turn and saves each stdout to a file.
DRIVER = r"""
import json, sys
from pathlib import Path
from typer.testing import CliRunner
from nlpfind.cli import app

out, jobs = Path(sys.argv[1]), json.loads(sys.argv[2])
out.mkdir(parents=True)
for name, args in jobs:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (name, result.output, result.exception)
    (out / name).write_bytes(result.stdout_bytes)
"""
CLASSIFY_FORMATS = ("jsonl", "json", "csv", "table")
COMPARE_FORMATS = ("json", "csv", "html")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory, tiny_model, reports) -> dict[str, dict[str, bytes]]:
    """seed -> output name -> bytes, from three processes (PYTHONHASHSEED 0, 12345 and random)."""
    root = tmp_path_factory.mktemp("runs")
    report = root / "glenbrae.txt"
    report.write_text(report_text("glenbrae"), encoding="utf-8")
    runs = []
    for seed in SEEDS:
        order = reports if seed != "12345" else list(reversed(reports))  # argument order must not matter
        jobs = [(f"classify.{fmt}", ["classify", str(report), "--model", str(tiny_model), "--format", fmt])
                for fmt in CLASSIFY_FORMATS]
        for run in ("cold", "warm"):  # the second compare reads the embedding cache the first one wrote
            jobs += [(f"compare.{fmt}.{run}", ["compare", *order, "--model", str(tiny_model), "--format", fmt])
                     for fmt in COMPARE_FORMATS]
        runs.append((seed, ["-c", DRIVER, str(root / seed), json.dumps(jobs)],
                     {"PYTHONHASHSEED": seed, "NLPFIND_CACHE": str(root / f"cache-{seed}")}))
    run_side_by_side(runs)
    return {seed: {p.name: p.read_bytes() for p in (root / seed).iterdir()} for seed in SEEDS}


@pytest.mark.parametrize("fmt", CLASSIFY_FORMATS)
def test_classify_identical_across_hash_seeds(outputs, fmt):
    runs = {seed: outputs[seed][f"classify.{fmt}"] for seed in SEEDS}
    assert len(set(runs.values())) == 1, f"classify --format {fmt} differs between hash seeds"
    assert runs["0"].strip()


@pytest.mark.parametrize("fmt", COMPARE_FORMATS)
def test_compare_identical_across_hash_seeds_and_runs(outputs, fmt):
    runs = {f"{seed}.{run}": outputs[seed][f"compare.{fmt}.{run}"] for seed in SEEDS for run in ("cold", "warm")}
    assert len(set(runs.values())) == 1, f"compare --format {fmt} differs between {sorted(runs)}"
    assert runs["0.cold"].strip()


def test_classify_identical_in_one_process(tiny_model):
    from nlpfind.classify import Classifier

    text = report_text("ardmuir")
    a = [f.as_dict() for f in Classifier(tiny_model).classify_text(text, "a")]
    b = [f.as_dict() for f in Classifier(tiny_model).classify_text(text, "a", batch_size=2)]
    assert a == b and a


@pytest.mark.slow
def test_classify_default_model_identical_across_hash_seeds():
    """The shipped model (MiniLM embeddings) on the example report."""
    jobs = [(seed, ["-m", "nlpfind.cli", "classify", str(EXAMPLE), "--format", "jsonl"], {"PYTHONHASHSEED": seed})
            for seed in ("0", "12345")]
    outs = run_side_by_side(jobs)
    assert outs["0"] == outs["12345"] and outs["0"].count(b"\n") > 20
