"""On a GPU machine: MiniLM sentence vectors through `NLPFIND_DEVICE=cuda` against the numpy encoder.

    python eval/finetune/export.py                      # here: writes .gpu/ (git-ignored; sentences + MiniLM)
    python eval/bench/gpu_embed.py --out $OUT/gpu.json  # on the GPU machine, from the repository root
    python eval/bench/gpu_embed.py --write-bench eval/bench/gpu_embed.json   # here: its section of eval/BENCH.md

Only `nlpfind.embed` is imported (the GPU image has torch and sentence-transformers, not spaCy). Prints
and writes: sentences/s on the GPU (after a warm-up, several batch sizes), sentences/s of the numpy
encoder on that machine's CPU cores, and the largest difference between the two sets of vectors.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from nlpfind.embed import Embedder  # noqa: E402


def rate(embedder: Embedder, texts: list[str]) -> tuple[float, np.ndarray]:
    t0 = time.perf_counter()
    vecs = embedder.encode(texts)
    return len(texts) / (time.perf_counter() - t0), vecs


def bench_section(result: dict, source: str) -> str:
    """The eval/BENCH.md section for one result file."""
    gpu = {int(k.split("_")[2]): v for k, v in result.items() if k.endswith("_sentences_per_s") and k.startswith("gpu_")}
    diff = max(v for k, v in result.items() if k.endswith("_max_abs_diff_vs_numpy"))
    return "\n".join([
        "## MiniLM on a GPU (`NLPFIND_DEVICE=cuda`)", "",
        f"Command: `python eval/bench/gpu_embed.py` on a lent {result['device']} (torch {result['torch']}, weights "
        f"{result['gpu_weights_dtype'].removeprefix('torch.')}), {result['sentences']} labelled sentences embedded "
        f"{result.get('copies', 10)} times over after a warm-up; numbers in `{source}`.", "",
        "| batch size | GPU sentences/s |", "|---|---|",
        *[f"| {b} | {v:,.0f} |" for b, v in sorted(gpu.items())], "",
        f"The numpy encoder on that machine's 16 CPU cores: {result['numpy_cpu_sentences_per_s']:,.0f} sentences/s. "
        f"Largest difference between GPU and numpy vectors: {diff:.1e}. The encoder was MiniLM with the fine-tuned "
        "layers of `models/minilm-tuned` (the same architecture and cost as the packaged MiniLM, whose weights did "
        "not fit the device's 64 MiB transfer; its word-embedding rows for these sentences were carried instead). "
        "Embedding alone ran at about 4,700-5,700 sentences/s there, so a whole warm classify with MiniLM would stay "
        "under 5,000 sentences/s on that GPU too (not measured end to end: the GPU image has no spaCy). Where "
        "the cause lies (tokenising and batching on the CPU, float32 kernels) was not profiled.", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / ".gpu" / "minilm"), help="sentence-transformers folder")
    parser.add_argument("--data", default=str(ROOT / ".gpu" / "data.jsonl"), help="JSON lines with a 'text' field")
    parser.add_argument("--copies", type=int, default=10, help="the sentences are embedded this many times over")
    parser.add_argument("--out", help="write the results here as JSON")
    parser.add_argument("--write-bench", metavar="JSON", help="render a result file into eval/BENCH.md and stop")
    args = parser.parse_args()
    if args.write_bench:
        from nlpfind.evaluate import update_results_file

        update_results_file(ROOT / "eval" / "BENCH.md", "gpu",
                            bench_section(json.loads(Path(args.write_bench).read_text()), args.write_bench))
        return
    import torch

    texts = [json.loads(line)["text"] for line in Path(args.data).read_text(encoding="utf-8").splitlines()]
    result: dict = {"sentences": len(texts), "copies": args.copies, "device": torch.cuda.get_device_name(0),
                    "torch": torch.__version__}
    cpu = Embedder(args.model)
    result["numpy_cpu_sentences_per_s"], reference = rate(cpu, texts)
    for batch in (64, 256, 1024):
        gpu = Embedder(args.model, device="cuda", batch_size=batch)
        gpu.encode(texts[:512])  # warm-up: load the model, CUDA kernels
        torch.cuda.synchronize()
        result[f"gpu_batch_{batch}_sentences_per_s"], _ = rate(gpu, texts * args.copies)
        _, vecs = rate(gpu, texts)
        result[f"gpu_batch_{batch}_max_abs_diff_vs_numpy"] = float(np.abs(vecs - reference).max())
        result["gpu_weights_dtype"] = str(next(gpu.model.parameters()).dtype)
    print(json.dumps(result, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
