"""Classify many reports on several CPU cores (compare over a programme of reports).

Each worker is a fresh process (spawn: no state shared with a parent that may hold threads)
that loads the model once from its folder and classifies whole reports; the embedding cache is
shared on disk (it locks). Results come back in input order, so output does not depend on the
number of workers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from .classify import Classifier, Finding

#: below this many reports per worker, starting workers costs more than it saves
MIN_REPORTS_PER_WORKER = 4
FINDING_POLARITIES = ("strength", "weakness", "mixed")

_worker: Classifier | None = None


def default_workers() -> int:
    """One worker per CPU this process may use, at most 8."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(8, cpus))


def _init(model_path: str, framework: str, cache_root: str | None, threads: int) -> None:
    # Before torch is imported: each worker gets its share of the cores, not all of them.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    global _worker
    _worker = Classifier(model_path, framework)
    if _worker.model.uses_embeddings() and cache_root is not None:
        from pathlib import Path

        from .embed import EmbeddingCache

        embedder = _worker.model.embedder()
        if hasattr(embedder, "key"):
            _worker.embeddings = EmbeddingCache(Path(cache_root) / "embeddings", embedder).encode


def _classify(job: tuple[str, str]) -> list[Finding]:
    text, report = job
    assert _worker is not None
    return [f for f in _worker.classify_text(text, report) if f.polarity in FINDING_POLARITIES]


def classify_reports(jobs: Sequence[tuple[str, str]], classifier: Classifier, workers: int,
                     cache_root: str | None, done: Callable[[int], None] | None = None) -> list[list[Finding]] | None:
    """Findings of each (text, report id) job, in order, from `workers` processes; None when a pool
    would not pay (few reports, one worker) or cannot be used (a model built in memory)."""
    model_path = classifier.model.meta.get("path")
    if workers <= 1 or len(jobs) < MIN_REPORTS_PER_WORKER * workers or not model_path:
        return None
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    threads = max(1, default_workers() // workers)
    framework = classifier.framework.path or classifier.framework.id
    out: list[list[Finding]] = []
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init,
                             initargs=(model_path, framework, cache_root, threads)) as pool:
        for findings in pool.map(_classify, jobs, chunksize=2):
            out.append(findings)
            if done:
                done(len(out))
    return out
