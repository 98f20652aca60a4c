"""$NLPFIND_DEVICE: embedding on a GPU through sentence-transformers, and one-line errors where there is none."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import EXAMPLE
from test_reliability import assert_one_line_error, invoke


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def test_the_device_setting_is_checked(monkeypatch):
    from nlpfind.embed import DEVICE_ENV, Embedder
    from nlpfind.errors import ModelError

    assert Embedder("minilm").device == "cpu"
    monkeypatch.setenv(DEVICE_ENV, "cuda:1")
    assert Embedder("minilm").device == "cuda:1"
    # A GPU device never uses the numpy or onnxruntime encoder (CPU code), and asking for both is refused.
    assert Embedder("minilm").torchless_encoder is None
    for backend in ("numpy", "onnx"):
        with pytest.raises(ModelError, match=f"{backend} embedding backend runs on the CPU only"):
            Embedder("minilm", backend=backend)
    for wrong in ("gpu", "cuda:x", "CUDA"):
        with pytest.raises(ModelError, match="expected cpu, cuda, cuda:N or mps"):
            Embedder("minilm", device=wrong)


@pytest.mark.parametrize("variable, value, words", [
    ("NLPFIND_EMBED_BACKEND", "gpu", "backend"),
    ("NLPFIND_DEVICE", "gpu", "device"),
    # torch's own error for a missing device is a multi-line traceback; nlpfind says it in one line
    pytest.param("NLPFIND_DEVICE", "a CUDA device torch cannot see", "CUDA device", marks=pytest.mark.slow),
])
def test_a_wrong_embedding_setting_is_one_line(monkeypatch, tmp_path, variable, value, words):
    if value.startswith("a CUDA device"):
        value = "cuda:99" if _cuda() else "cuda"
    monkeypatch.setenv(variable, value)
    monkeypatch.setattr("nlpfind.embed._EMBEDDERS", {})
    result = invoke(["classify", EXAMPLE, "--out", tmp_path / "out.jsonl"])
    assert_one_line_error(result, variable, words=words)
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.slow
def test_gpu_vectors_match_the_cpu_ones():
    """Run where a GPU is (the lent device machine); skipped elsewhere."""
    if not _cuda():
        pytest.skip("no CUDA device here: this test runs on a GPU machine")
    from nlpfind.embed import Embedder

    texts = ["Chronologies were weak in most of the records we read.", "Leaders had a clear, shared vision.", "",
             "A very long sentence " + "about the same plan " * 100 + "ends here."]
    gpu = Embedder("minilm", device="cuda").encode(texts)
    cpu = Embedder("minilm").encode(texts)
    assert gpu.dtype == np.float32 and gpu.shape == cpu.shape
    assert np.abs(gpu - cpu).max() < 1e-3


def test_compare_classifies_in_one_process_when_embedding_on_a_gpu(monkeypatch):
    """CUDA cannot run in forked workers: on a GPU, compare keeps to one process."""
    from conftest import REPO

    from nlpfind.classify import Classifier
    from nlpfind.compare import on_accelerator

    monkeypatch.setattr("nlpfind.embed._EMBEDDERS", {})
    assert not on_accelerator(Classifier(REPO / "models" / "tuned"))
    monkeypatch.setenv("NLPFIND_DEVICE", "cuda")
    monkeypatch.setattr("nlpfind.embed._EMBEDDERS", {})
    assert on_accelerator(Classifier(REPO / "models" / "default"))
    assert on_accelerator(Classifier(REPO / "models" / "tuned"))
    assert not on_accelerator(Classifier(REPO / "models" / "fast"))  # static vectors: a lookup on the CPU
