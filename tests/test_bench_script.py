"""eval/bench/bench.py's reading of a BERTopic run the timeout stopped (the benchmark itself is not a test)."""

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "eval" / "bench" / "bench.py"


def _bench_module():
    spec = importlib.util.spec_from_file_location("nlpfind_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_stopped_fit_gives_the_least_time_it_ran():
    bench = _bench_module()
    stderr = ("Batches: 100%\n" + json.dumps({"prep_s": 130.0, "findings": 214000}) + "\nnumba warning\n").encode()
    assert bench._fit_lower_bound(stderr, 900) == {"findings": 214000, "fit_at_least_s": 770.0}


def test_a_run_stopped_before_the_fit_gives_no_bound():
    bench = _bench_module()
    assert bench._fit_lower_bound(b"Batches: 40%\n", 900) == {}
    assert bench._fit_lower_bound(None, 900) == {}
