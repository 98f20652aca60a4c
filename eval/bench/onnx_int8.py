"""MiniLM through onnxruntime, float32 and int8: speed, fidelity and grouped-CV accuracy (issue 5's "ONNX int8").

    python eval/bench/onnx_int8.py          # about 10 minutes on 2 cores; writes the "onnx" section of eval/BENCH.md

The float32 graph is nlpfind's own (`nlpfind.onnx_bert.build_graph`, the default backend since 2026-11-28);
the int8 graphs are that graph through onnxruntime's dynamic quantisation (weights int8 per tensor or per
output channel, activations quantised on the fly). Each encoder embeds the 3,221 labelled sentences with
the default model's layers (3, 4, 6); speed is the median of 3 passes after a warm-up, in this process, on
every core. Accuracy is `nlpfind evaluate`'s grouped cross-validation of nlpfind on each encoder's vectors
(`eval/vector_variants.py`), the same folds for all. Nothing here asserts: every number goes to BENCH.md.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "eval"))
sys.path.insert(0, str(ROOT))


def _rate(encode, texts: list[str]) -> float:
    encode(texts[:64])
    times = []
    for _ in range(3):
        start = time.perf_counter()
        encode(texts)
        times.append(time.perf_counter() - start)
    return len(texts) / statistics.median(times)


def main() -> None:
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from vector_variants import default_setup, score_vectors

    from nlpfind.embed import resolve_model_path
    from nlpfind.evaluate import update_results_file
    from nlpfind.numpy_bert import NumpyBertEncoder, _threads
    from nlpfind.onnx_bert import OnnxBertEncoder, build_graph
    from nlpfind.train import description_texts

    config, framework, corpus, texts, numpy_vectors, numpy_descriptions = default_setup()
    layers = tuple(config.embedding_layers)
    path = resolve_model_path("minilm")
    numpy_encoder = NumpyBertEncoder(path, pool_layers=layers)
    descriptions = description_texts(framework)
    rows = [("numpy (float32)", _rate(numpy_encoder.encode, texts), numpy_vectors, numpy_descriptions, None)]
    onnx_encoder = OnnxBertEncoder(path, pool_layers=layers)
    with tempfile.TemporaryDirectory() as tmp:
        graph = Path(tmp) / "fp32.onnx"
        graph.write_bytes(build_graph(numpy_encoder).SerializeToString())
        variants = [("onnxruntime float32", graph)]
        for name, per_channel in (("onnxruntime int8, per tensor", False), ("onnxruntime int8, per channel", True)):
            out = Path(tmp) / f"int8-{per_channel}.onnx"
            quantize_dynamic(graph, out, weight_type=QuantType.QInt8, per_channel=per_channel)
            variants.append((name, out))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = _threads()
        options.log_severity_level = 3
        for name, file in variants:
            onnx_encoder.session = onnxruntime.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])
            rate = _rate(onnx_encoder.encode, texts)
            rows.append((name, rate, onnx_encoder.encode(texts), onnx_encoder.encode(descriptions),
                         file.stat().st_size / 1e6))
            print(f"{name}: {rate:.0f} sentences/s", flush=True)
    lines = ["## MiniLM through onnxruntime, float32 and int8", "",
             "Command: `python eval/bench/onnx_int8.py`; " + f"{_threads()} threads; onnxruntime {onnxruntime.__version__}; "
             f"{len(texts)} labelled sentences, MiniLM layers {', '.join(map(str, layers))}.", "",
             "Grouped CV (`nlpfind evaluate`'s folds, nlpfind's recipe on each encoder's vectors): statement / strength / "
             "weakness / themes, Scottish partnerships held out (carh), North Ayrshire, Ofsted.", "",
             "| encoder | sentences/s | x numpy | graph MB (without the 47 MB word table) | cosine to numpy, min / mean "
             "| carh | North Ayrshire | Ofsted |", "|---|---|---|---|---|---|---|---|"]
    base = rows[0][1]
    for name, rate, vectors, descs, size in rows:
        print(f"scoring {name} ...", flush=True)
        scored = score_vectors(name, config, corpus, vectors, descs).split(" | ")[1:]
        cos = (vectors * numpy_vectors).sum(1) / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(numpy_vectors, axis=1))
        cells = [s.split(": ", 1)[1] for s in scored]
        size_cell = "-" if size is None else f"{size:.1f}"
        lines.append(f"| {name} | {rate:.0f} | {rate / base:.2f}x | {size_cell} | {cos.min():.4f} / {cos.mean():.4f} | "
                     + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    lines.append("")
    update_results_file(ROOT / "eval" / "BENCH.md", "onnx", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
