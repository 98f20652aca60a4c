"""Shared fixtures for the nlpfind tests.

Fixture reports are invented (see reportdocs.py). Tests that need the third-party report corpus
under ../shared/corpus are marked `needs_shared` and skip when it is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "example-report.txt"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "corpus"

needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(),
    reason=f"needs the shared report corpus at {SHARED} (third-party texts kept outside the repository)",
)


@pytest.fixture(scope="session")
def framework():
    from nlpfind.config import load_framework

    return load_framework()


@pytest.fixture(scope="session")
def tagger(framework):
    from nlpfind.quantify import QuantifierTagger

    return QuantifierTagger(framework)


@pytest.fixture(scope="module")
def classifier():
    """The default model (MiniLM embeddings), loaded once per module. Use only in slow tests."""
    from nlpfind.classify import Classifier

    return Classifier()


@pytest.fixture
def paged_report(tmp_path) -> Path:
    """The invented paged report (form feeds, page numbers, running header) as a .txt file."""
    from reportdocs import PAGED_TEXT

    path = tmp_path / "kilbrannan-paged.txt"
    path.write_text(PAGED_TEXT, encoding="utf-8")
    return path


@pytest.fixture
def isolated_env(monkeypatch, tmp_path):
    """No report folders, debug mode or caches from the environment; the embedding cache lives in tmp_path."""
    monkeypatch.delenv("NLPFIND_REPORTS", raising=False)
    monkeypatch.delenv("NLPFIND_DEBUG", raising=False)
    monkeypatch.setenv("NLPFIND_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A small model with no embeddings (see reliability_helpers), saved once per module."""
    from reliability_helpers import train_tiny_model

    path = tmp_path_factory.mktemp("tiny") / "tiny-model"
    train_tiny_model().to_disk(path)
    return path
