"""Classify many reports on several CPU cores (compare over a programme of reports).

Workers are forked from this process once the model is loaded, so they share it and start in
milliseconds, and no user script is re-imported (as a spawned worker would do with a script that
lacks an `if __name__ == "__main__":` guard). Fork is the Linux default that PyTorch's own data
loaders rely on; elsewhere (macOS, Windows) reports are classified here, one after another. The
embedding cache is shared on disk (it locks). Results come back in input order, so output does
not depend on the number of workers.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator, Sequence

from .classify import Classifier
from .compare import FINDING_POLARITIES, ComparedFinding
from .gc_tuning import fewer_collections

#: below this many uncached reports per worker, a pool does not pay
MIN_REPORTS_PER_WORKER = 4

_worker: Classifier | None = None
_limits: object = None


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
    """Each worker gets its share of the cores. numpy's BLAS, and torch where it is loaded (spaCy's thinc
    imports it, except under nlpfind's command line), are loaded already, so their thread pools are limited
    directly; the variables cover libraries loaded later. Left at the parent's count, each worker's BLAS
    threads spun waiting for work and two workers on two cores ran no faster than one process (fast model);
    MiniLM workers ran slower."""
    from threadpoolctl import threadpool_limits

    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    global _limits
    _limits = threadpool_limits(limits=threads)  # kept: the limit lasts while the object lives
    torch = sys.modules.get("torch")  # None too where a process blocked torch (sys.modules["torch"] = None)
    if torch is not None:
        torch.set_num_threads(threads)


@fewer_collections()  # segmenting as well as classifying makes many small objects
def report_findings(classifier: Classifier, text: str, report: str) -> list[ComparedFinding]:
    """The findings (strength, weakness, mixed) of one report's text as compare reads them, with the themes over
    the model's threshold only: compare gives a finding with none the closest seeded theme only when it is close
    enough, and gathers the rest into discovered themes, which a forced most-likely theme would leave empty.
    Reduced here, in the worker, and made without scores: the parent would drop them."""
    return [ComparedFinding.of(f) for f in classifier.classify_text(text, report, top_theme=False, scores=False)
            if f.polarity in FINDING_POLARITIES]


def _classify(job: tuple[str, str]) -> list[ComparedFinding]:
    assert _worker is not None
    return report_findings(_worker, *job)


def uses_pool(reports: int, workers: int) -> bool:
    """Whether classify_reports forks workers for this many reports: only where it pays and is safe."""
    return workers > 1 and reports >= MIN_REPORTS_PER_WORKER * workers and pool_possible()


def classify_reports(jobs: Sequence[tuple[str, str]], classifier: Classifier,
                     workers: int) -> Iterator[list[ComparedFinding]]:
    """Findings of each (text, report id) job, in order: from `workers` forked processes where
    uses_pool says so, else here, one report after another. The workers live until the iterator
    is exhausted or closed: run it to its end, or close() it."""
    if not uses_pool(len(jobs), workers):
        for text, report in jobs:
            yield report_findings(classifier, text, report)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # a forked HF tokenizer must not use its thread pool
    global _worker
    _worker = classifier  # inherited by the forked workers
    # Objects alive now (the loaded models) go to the collector's permanent generation, as the gc
    # docs advise before fork: the workers' collections then skip them, and do not touch (and so
    # copy) the pages they share with this process.
    gc.collect()
    gc.freeze()
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=_init,
                                 initargs=(max(1, default_workers() // workers),)) as pool:
            yield from pool.map(_classify, jobs, chunksize=2)
    finally:
        _worker = None
        gc.unfreeze()
