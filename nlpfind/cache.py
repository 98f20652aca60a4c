"""Where nlpfind keeps its caches, how much they hold, and clearing them.

Three caches live under one folder (`~/.cache/nlpfind`, or `$NLPFIND_CACHE`): sentence embeddings
(`embeddings/<model key>/`, see `embed.EmbeddingCache`), classified findings per report
(`findings/`) and compare's theme assignments (`themes/`; both in `findings_cache`). All are keyed by
content, so stale entries are never served,
but they are never pruned either: a new model or nlpfind version adds entries beside the old ones.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

KINDS = ("embeddings", "findings", "themes")


def cache_dir() -> Path:
    """The cache folder: $NLPFIND_CACHE, or ~/.cache/nlpfind."""
    return Path(os.environ.get("NLPFIND_CACHE") or Path.home() / ".cache" / "nlpfind")


@dataclass(frozen=True)
class CacheEntry:
    """One cache: `kind` is 'embeddings' (one entry per embedding model), 'findings' or 'themes'."""

    kind: str
    name: str
    files: int
    bytes: int

    def as_dict(self) -> dict:
        return {"kind": self.kind, "name": self.name, "files": self.files, "bytes": self.bytes}


def _checked(root: Path | None) -> Path:
    root = cache_dir() if root is None else Path(root)
    if root.exists() and not root.is_dir():
        raise InputError(f"{root}: the cache location is a file, not a folder (set NLPFIND_CACHE to a folder)")
    return root


def _size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def cache_usage(root: Path | None = None) -> list[CacheEntry]:
    """What each cache under `root` holds; an absent cache is simply not listed."""
    root = _checked(root)
    entries = []
    embeddings = root / "embeddings"
    if embeddings.is_dir():
        for folder in sorted(p for p in embeddings.iterdir() if p.is_dir()):
            entries.append(CacheEntry("embeddings", folder.name, *_size(folder)))
    for kind in KINDS[1:]:
        if (root / kind).is_dir():
            entries.append(CacheEntry(kind, "all models", *_size(root / kind)))
    return entries


def clear_cache(root: Path | None = None) -> list[CacheEntry]:
    """Delete nlpfind's caches under `root` (only its own `embeddings/`, `findings/` and `themes/` folders:
    anything else in a shared folder stays) and return what was there."""
    root = _checked(root)
    removed = cache_usage(root)
    for kind in KINDS:
        folder = root / kind
        if folder.is_dir():
            # Renamed first, then deleted: a run that starts meanwhile sees an empty cache, never half of one.
            doomed = folder.with_name(f".{kind}.deleting.{os.getpid()}")
            folder.rename(doomed)
            shutil.rmtree(doomed, ignore_errors=True)
    return removed
