"""Worker set-up and collector tuning used by classify and compare (their outputs are tested in
test_compare.py: forked workers give the same comparison as one process)."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from nlpfind.gc_tuning import fewer_collections

WORKER_THREADS_SCRIPT = """
import json, os
import numpy  # loads the BLAS library, as the parent of a worker has done before forking
from threadpoolctl import threadpool_info
from nlpfind.parallel import _init
_init(1)
print(json.dumps({"blas": sorted({p["num_threads"] for p in threadpool_info()}),
                  "env": os.environ.get("OPENBLAS_NUM_THREADS")}))
"""


def test_worker_limits_already_loaded_thread_pools():
    # numpy's BLAS is loaded before the fork, so setting variables alone changes nothing: left at the
    # parent's thread count, each worker's BLAS threads spun and two workers ran no faster than one.
    proc = subprocess.run([sys.executable, "-c", WORKER_THREADS_SCRIPT], capture_output=True, text=True,
                          timeout=120, env={"OPENBLAS_NUM_THREADS": "4", "PATH": ""})
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = __import__("json").loads(proc.stdout)
    assert out["blas"] == [1] and out["env"] == "1"


def test_worker_set_up_where_torch_is_blocked():
    # A process may block torch the import system's way (sys.modules["torch"] = None); a worker's set-up then
    # has no torch to limit, and must not fail (it did: None has no set_num_threads, and the pool broke).
    script = WORKER_THREADS_SCRIPT.replace("import json, os", "import json, os, sys\nsys.modules['torch'] = None")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={"OPENBLAS_NUM_THREADS": "4", "PATH": ""})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert __import__("json").loads(proc.stdout)["blas"] == [1]


def test_fewer_collections_restores_the_thresholds():
    before = gc.get_threshold()
    with fewer_collections(123_456):
        assert gc.get_threshold()[0] == max(123_456, before[0])
        assert gc.get_threshold()[1:] == before[1:]
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), fewer_collections(99_999):
        raise RuntimeError("boom")
    assert gc.get_threshold() == before


def test_fewer_collections_as_decorator_keeps_a_higher_setting():
    before = gc.get_threshold()

    @fewer_collections(1_000)
    def inner() -> int:
        return gc.get_threshold()[0]

    try:
        gc.set_threshold(200_000, *before[1:])
        assert inner() == 200_000  # never lowers what the caller chose
        assert gc.get_threshold()[0] == 200_000
    finally:
        gc.set_threshold(*before)
