"""Classify many reports on several CPU cores (compare over a programme of reports).

Workers are forked from this process once the model is loaded, so they share it and start in
milliseconds, and no user script is re-imported (as a spawned worker would do with a script that
lacks an `if __name__ == "__main__":` guard). Fork is the Linux default that PyTorch's own data
loaders rely on; elsewhere (macOS, Windows) reports are classified here, one after another. The
embedding cache is shared on disk (it locks). Results come back in input order, so output does
not depend on the number of workers.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

from .classify import Classifier, Finding
from .compare import FINDING_POLARITIES

#: below this many uncached reports per worker, a pool does not pay
MIN_REPORTS_PER_WORKER = 4

_worker: Classifier | None = None


def default_workers() -> int:
    """One worker per CPU this process may use, at most 8."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(8, cpus))


def pool_possible() -> bool:
    """Forked workers are used on Linux only (fork is unsafe on macOS and absent on Windows)."""
    return sys.platform.startswith("linux")


def _init(threads: int) -> None:
    """Each worker gets its share of the cores: torch is usually imported already (spaCy's thinc
    imports it), so its thread count is set directly; the variables cover libraries loaded later.
    (Left at the parent's count, two MiniLM workers on two cores ran slower than one process.)"""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def _classify(job: tuple[str, str]) -> list[Finding]:
    text, report = job
    assert _worker is not None
    return [f for f in _worker.classify_text(text, report) if f.polarity in FINDING_POLARITIES]


def classify_reports(jobs: Sequence[tuple[str, str]], classifier: Classifier, workers: int,
                     done: Callable[[int], None] | None = None) -> list[list[Finding]] | None:
    """Findings of each (text, report id) job, in order, from `workers` forked processes; None when a
    pool would not pay (few reports, one worker) or is not safe here (see pool_possible)."""
    if workers <= 1 or len(jobs) < MIN_REPORTS_PER_WORKER * workers or not pool_possible():
        return None
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # a forked HF tokenizer must not use its thread pool
    global _worker
    _worker = classifier  # inherited by the forked workers
    out: list[list[Finding]] = []
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=_init,
                                 initargs=(max(1, default_workers() // workers),)) as pool:
            for findings in pool.map(_classify, jobs, chunksize=2):
                out.append(findings)
                if done:
                    done(len(out))
    finally:
        _worker = None
    return out
