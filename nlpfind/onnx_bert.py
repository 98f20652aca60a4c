"""The numpy BERT encoder's network as an ONNX graph, run by onnxruntime: the same vectors, faster.

numpy runs each matrix product well, but every element-wise step (GELU, softmax, layer norm) is a
separate single-threaded pass over memory; onnxruntime fuses some of them and threads its kernels. On a
2-core machine a whole warm classify with MiniLM ran 2.2x as fast as with `numpy_bert` (507 against 232
sentences/s, eval/BENCH.md), with vectors equal to 1.5e-7. The graph is written from the weights
`numpy_bert` loaded (fine-tuned overlays included), in memory and in about 0.2 s, so there is no
exported file to go stale; the pooling (`numpy_bert.layer_vectors`) is part of the graph.
"""

from __future__ import annotations

import numpy as np

from .errors import ModelError
from .numpy_bert import NumpyBertEncoder, _threads

OPSET = 17  # LayerNormalization is an ONNX operator from 17
# The embedding lookup is done in numpy (an index and two additions): leaving its 47 MB table out of
# the graph halves the time to build and load the graph.
_LOOKUP = ("embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
           "embeddings.token_type_embeddings.weight")


def available() -> bool:
    """Whether onnxruntime and onnx can be imported (without importing them)."""
    from importlib.util import find_spec

    return find_spec("onnxruntime") is not None and find_spec("onnx") is not None


class _Graph:
    """Collects nodes and initialisers with unique names."""

    def __init__(self) -> None:
        from onnx import helper, numpy_helper

        self.nodes: list = []
        self.initializers: list = []
        self._helper, self._numpy_helper = helper, numpy_helper
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, value) -> str:
        name = self.name("c")
        self.initializers.append(self._numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, kind: str, *inputs: str, **attrs) -> str:
        out = self.name(kind.lower())
        self.nodes.append(self._helper.make_node(kind, list(inputs), [out], **attrs))
        return out


def build_graph(encoder: NumpyBertEncoder):
    """The ONNX model of `encoder`'s forward pass and pooling after the embedding lookup: `embeddings`
    (float32, batch x length x hidden: word + position + token type, see `OnnxBertEncoder`) and
    `attention_mask` (int64, batch x length) in, `vectors` (float32, batch x encoder.dimension) out."""
    from onnx import TensorProto, helper

    w, g = encoder.w, _Graph()
    f32 = np.float32
    hidden, heads = encoder.hidden, encoder.heads
    head_dim = hidden // heads
    mask = "attention_mask"

    def layer_norm(x: str, prefix: str) -> str:
        return g.op("LayerNormalization", x, g.const(w[prefix + ".weight"]), g.const(w[prefix + ".bias"]),
                    axis=-1, epsilon=encoder.eps)

    def dense(x: str, name: str) -> str:
        # MatMul reads (in, out): the stored (out, in) weights are transposed once, here
        return g.op("Add", g.op("MatMul", x, g.const(np.ascontiguousarray(w[name + ".weight"].T))),
                    g.const(w[name + ".bias"]))

    # token states as (batch * length) x hidden, as numpy_bert keeps them: the dense layers become Gemms
    x = g.op("Reshape", layer_norm("embeddings", "embeddings.LayerNorm"), g.const(np.array([-1, hidden])))
    maskf = g.op("Cast", mask, to=TensorProto.FLOAT)
    # 0 where a token is real, the lowest float32 where it is padding (as numpy_bert does)
    bias = g.op("Unsqueeze", g.op("Mul", g.op("Sub", g.const(f32(1.0)), maskf), g.const(np.finfo(f32).min)),
                g.const(np.array([1, 2])))
    weights = g.op("Unsqueeze", maskf, g.const(np.array([2])))  # batch x length x 1
    count = g.op("Max", g.op("ReduceSum", weights, g.const(np.array([1])), keepdims=0), g.const(f32(1e-9)))  # batch x 1
    merge_shape = g.const(np.array([-1, hidden]))
    split_shape = g.op("Concat", g.op("Shape", mask), g.const(np.array([heads, head_dim])), axis=0)  # batch, length, heads, dim
    state_shape = g.op("Concat", g.op("Shape", mask), g.const(np.array([hidden])), axis=0)
    scale = g.const(f32(1.0 / np.sqrt(head_dim)))
    last = max(encoder.pool_layers, default=encoder.layers)
    pooled: dict[int, str] = {}

    def unit_mean(states: str) -> str:
        mean = g.op("Div", g.op("ReduceSum", g.op("Mul", states, weights), g.const(np.array([1])), keepdims=0), count)
        norm = g.op("Sqrt", g.op("ReduceSum", g.op("Mul", mean, mean), g.const(np.array([1])), keepdims=1))
        return g.op("Div", mean, g.op("Max", norm, g.const(f32(1e-12))))

    for i in range(last):
        p = f"encoder.layer.{i}."
        q = g.op("Transpose", g.op("Reshape", dense(x, p + "attention.self.query"), split_shape), perm=[0, 2, 1, 3])
        k = g.op("Transpose", g.op("Reshape", dense(x, p + "attention.self.key"), split_shape), perm=[0, 2, 3, 1])
        v = g.op("Transpose", g.op("Reshape", dense(x, p + "attention.self.value"), split_shape), perm=[0, 2, 1, 3])
        scores = g.op("Softmax", g.op("Add", g.op("Mul", g.op("MatMul", q, k), scale), bias), axis=-1)
        context = g.op("Reshape", g.op("Transpose", g.op("MatMul", scores, v), perm=[0, 2, 1, 3]), merge_shape)
        x = layer_norm(g.op("Add", dense(context, p + "attention.output.dense"), x), p + "attention.output.LayerNorm")
        inner = dense(x, p + "intermediate.dense")
        # exact GELU, x (1 + erf(x / sqrt 2)) / 2, written as onnxruntime's fusion into BiasGelu expects it
        erf_plus_one = g.op("Add", g.op("Erf", g.op("Div", inner, g.const(f32(np.sqrt(2))))), g.const(f32(1.0)))
        gelu = g.op("Mul", g.op("Mul", inner, erf_plus_one), g.const(f32(0.5)))
        x = layer_norm(g.op("Add", dense(gelu, p + "output.dense"), x), p + "output.LayerNorm")
        if i + 1 in encoder.pool_layers:
            pooled[i + 1] = unit_mean(g.op("Reshape", x, state_shape))
    if encoder.pool_layers:
        joined = g.op("Concat", *[pooled[n] for n in encoder.pool_layers], axis=1)
        out = g.op("Mul", joined, g.const(f32(1 / np.sqrt(len(encoder.pool_layers)))))
    else:
        out = unit_mean(g.op("Reshape", x, state_shape))
    g.nodes.append(helper.make_node("Identity", [out], ["vectors"]))
    graph = helper.make_graph(
        g.nodes, "nlpfind-bert",
        [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", "length", hidden]),
         helper.make_tensor_value_info(mask, TensorProto.INT64, ["batch", "length"])],
        [helper.make_tensor_value_info("vectors", TensorProto.FLOAT, ["batch", encoder.dimension])],
        g.initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="nlpfind")


class OnnxBertEncoder(NumpyBertEncoder):
    """`NumpyBertEncoder`'s vectors computed by onnxruntime (same arguments, same `encode`)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        try:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = _threads()
            options.inter_op_num_threads = 1
            options.log_severity_level = 3  # warnings about unused initialisers and the like are not the user's
            model = build_graph(self).SerializeToString()
            self.session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnx and onnxruntime (a broken install included) raise their own many types
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            raise ModelError(f"cannot build the onnxruntime encoder ({type(exc).__name__}: {first}); "
                             "set NLPFIND_EMBED_BACKEND=numpy to encode without it") from None
        # onnxruntime holds its own copy of the layers' weights; the lookup tables stay here
        self.w = {k: v for k, v in self.w.items() if k in _LOOKUP}

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.session.run(["vectors"], {"embeddings": self._embed(ids), "attention_mask": mask.astype(np.int64)})[0]

    def _parallel_batches(self) -> int:
        return 1  # onnxruntime threads each batch itself
