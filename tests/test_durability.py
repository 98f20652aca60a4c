"""Issue 6, part 4: durability. A killed `train` leaves the previous model loadable; an interrupted
`label` keeps every answer given; two `compare` runs sharing one embedding cache do not corrupt it.

The kills are real: a `python -m nlpfind.cli`-style process receives SIGKILL. To kill a save at an
exact point, the process runs nlpfind.cli.main() with one hook that holds (sleeps) at that point;
the hook only waits, it changes nothing nlpfind does.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from reliability_helpers import (
    REPO,
    HashEmbedder,
    cache_worker,
    copy_model,
    report_text,
    run_cli,
    tree_digest,
    write_corpus,
    write_fast_config,
)
from typer.testing import CliRunner

from nlpfind.cli import app

pytestmark = [pytest.mark.skipif(sys.platform == "win32", reason="uses POSIX signals"),
              pytest.mark.usefixtures("isolated_env")]


def _findings(model, text: str) -> list[dict]:
    from nlpfind.classify import Classifier, FindingModel

    loaded = model if isinstance(model, FindingModel) else FindingModel.from_disk(model)
    return [f.as_dict() for f in Classifier(loaded).classify_text(text, "glenbrae")]


# -- train killed during the save ----------------------------------------------------------------------
HOLD_SCRIPT = r"""
import os, sys, time
from pathlib import Path

ready, stage, args = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]


def hold():
    ready.write_text(stage)
    time.sleep(600)


if stage == "writing":  # weights written into the temporary folder, JSON files not yet
    import safetensors.numpy as stn

    real_save = stn.save_file

    def save_then_hold(*a, **k):
        real_save(*a, **k)
        hold()

    stn.save_file = save_then_hold
else:  # "before-swap": before the first rename; "mid-swap": between the two renames
    real_replace, calls = os.replace, []

    def replace(src, dst, **kw):
        if ".tmp-" in str(src) or str(dst).endswith(".previous"):
            calls.append(str(src))
            if (stage, len(calls)) in (("before-swap", 1), ("mid-swap", 2)):
                hold()
        return real_replace(src, dst, **kw)

    os.replace = replace
sys.argv = ["nlpfind", *args]
from nlpfind.cli import main

main()
"""


def killed_tmpdir(tmp_path: Path) -> dict[str, str]:
    """TMPDIR for a process the test kills: its temporary folders (train's encoder folder), which a SIGKILL leaves
    behind, go with the test's own folder rather than piling up in the system's /tmp."""
    folder = tmp_path / "process-tmp"
    folder.mkdir(exist_ok=True)
    return {"TMPDIR": str(folder)}


def kill_train_at(stage: str, tmp_path: Path, info: dict, target: Path) -> None:
    """Run `nlpfind train ... --out target` in a process and SIGKILL it when it reaches `stage`."""
    ready = tmp_path / f"ready-{stage}"
    ready.unlink(missing_ok=True)
    args = ["train", "--corpus", str(info["corpus"]), "--reports", str(info["reports"]), "--config",
            str(info["config"]), "--out", str(target)]
    env = {**os.environ, "NLPFIND_CACHE": str(tmp_path / "cache"), **killed_tmpdir(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-c", HOLD_SCRIPT, str(ready), stage, *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while not ready.exists():
            if proc.poll() is not None:
                out, err = proc.communicate()
                pytest.fail(f"train ended (exit {proc.returncode}) before reaching {stage}: {err.decode()[-2000:]}")
            assert time.monotonic() < deadline, "train did not reach the save"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


@pytest.fixture
def training(tmp_path, tiny_model):
    info = write_corpus(tmp_path / "c")
    info["config"] = write_fast_config(tmp_path / "fast.toml")
    target = copy_model(tiny_model, tmp_path / "models" / "trained")
    return info, target


@pytest.mark.parametrize("stage", ["writing", "before-swap", "mid-swap"])
def test_train_killed_during_the_save_keeps_the_previous_model(tmp_path, tiny_model, training, stage):
    info, target = training
    text = report_text("glenbrae")
    before = tree_digest(target)
    expected = _findings(tiny_model, text)
    kill_train_at(stage, tmp_path, info, target)

    backup = target.with_name(target.name + ".previous")
    if stage == "mid-swap":  # the old folder is renamed aside, the new one not yet in place
        assert not target.exists() and tree_digest(backup) == before
    else:
        assert tree_digest(target) == before and not backup.exists()
    # the previous model loads and predicts exactly as before, from the library and from the CLI
    assert _findings(target, text) == expected
    report = tmp_path / "glenbrae.txt"
    report.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["classify", str(report), "--model", str(target), "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["polarity"] for line in result.stdout.splitlines()] == [f["polarity"] for f in expected]

    # the next train replaces it cleanly
    result = CliRunner().invoke(app, ["train", "--corpus", str(info["corpus"]), "--reports", str(info["reports"]),
                                      "--config", str(info["config"]), "--out", str(target)])
    assert result.exit_code == 0, result.output
    from nlpfind.classify import FindingModel

    assert FindingModel.from_disk(target).meta["training_reports"] == 2
    assert not backup.exists()


def test_two_interrupted_saves_in_a_row_keep_a_model(tmp_path, tiny_model, training):
    from nlpfind.classify import FindingModel

    info, target = training
    text = report_text("glenbrae")
    expected = _findings(tiny_model, text)
    kill_train_at("mid-swap", tmp_path, info, target)
    kill_train_at("before-swap", tmp_path, info, target)
    model = FindingModel.from_disk(target)  # the previous model, or the new one: either is a model
    assert _findings(model, text) in (expected, _findings(train_fresh(tmp_path, info), text))


def train_fresh(tmp_path: Path, info: dict) -> Path:
    out = tmp_path / "models" / "fresh"
    result = CliRunner().invoke(app, ["train", "--corpus", str(info["corpus"]), "--reports", str(info["reports"]),
                                      "--config", str(info["config"]), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_train_killed_at_a_random_moment_leaves_a_loadable_model(tmp_path, tiny_model, training):
    """Without any hook: SIGKILL as soon as the temporary model folder appears. Whether the kill lands
    inside the save or just after it, the model folder loads as the old model or the new one."""
    from nlpfind.classify import FindingModel

    info, target = training
    text = report_text("glenbrae")
    old = _findings(tiny_model, text)
    new = _findings(train_fresh(tmp_path, info), text)
    proc = subprocess.Popen([sys.executable, "-m", "nlpfind.cli", "train", "--corpus", str(info["corpus"]),
                             "--reports", str(info["reports"]), "--config", str(info["config"]), "--out", str(target)],
                            cwd=REPO, env={**os.environ, **killed_tmpdir(tmp_path)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while proc.poll() is None and time.monotonic() < deadline:
            if any(p.name.startswith(f".{target.name}.tmp-") for p in target.parent.iterdir()):
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.0005)
    finally:
        proc.wait(timeout=120)
    assert _findings(FindingModel.from_disk(target), text) in (old, new)


# -- label interrupted -----------------------------------------------------------------------------------
def _report(tmp_path: Path) -> Path:
    path = tmp_path / "glenbrae.txt"
    path.write_text(report_text("glenbrae"), encoding="utf-8")
    return path


def _label_records(corpus: Path) -> list[dict]:
    path = corpus / "labels" / "glenbrae.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _check_records(records: list[dict], report: Path) -> None:
    from nlpfind.corpus import sentence_hash
    from nlpfind.read import read_document

    text = read_document(report).text
    for r in records:
        assert r["report"] == "glenbrae" and r["sha1"] == sentence_hash(text[r["start"]:r["end"]])


class _Prompts:
    """Reads a label process's stdout (a pipe) and counts the '> ' prompts it has printed."""

    def __init__(self, proc) -> None:
        self.proc, self.buf = proc, b""

    def wait_for(self, n: int, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while self.buf.count(b"\n> ") < n:
            assert time.monotonic() < deadline, f"waited for prompt {n}: {self.buf[-500:]!r}"
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise AssertionError(f"label ended early: {self.buf[-1000:]!r} {self.proc.stderr.read()!r}")
                self.buf += chunk


def _blocked_in_read(pid: int) -> None:
    """Wait until the process sits in its read of stdin, as it does when a person presses Ctrl-C.

    A signal that lands between printing the prompt and entering read() is handled only when the
    read returns (CPython checks for signals between bytecodes), so a test that signals the instant
    the prompt appears would wait for input that never comes.
    """
    deadline = time.monotonic() + 10
    time.sleep(0.2)
    while time.monotonic() < deadline:
        try:
            if "read" in Path(f"/proc/{pid}/wchan").read_text():
                return
        except OSError:  # no /proc (not Linux): the pause above has to do
            return
        time.sleep(0.05)


def _default_sigint() -> None:
    """A process started in the background may inherit an ignored SIGINT; a user's terminal delivers it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


ANSWERS = [("2w", ("2", "weakness")), ("n", ("none", "neutral")), ("4s", ("4", "strength"))]


@pytest.mark.parametrize("how", ["SIGKILL", "SIGINT"])
def test_label_interrupted_keeps_every_answer(tmp_path, tiny_model, how):
    """Three answers typed, the fourth question on screen, then the process is killed or interrupted."""
    report = _report(tmp_path)
    corpus = tmp_path / "corpus"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NLPFIND_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "nlpfind.cli", "label", str(report), "--corpus", str(corpus),
                             "--model", str(tiny_model), "--annotator", "tester"], cwd=REPO, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=_default_sigint)
    prompts = _Prompts(proc)
    try:
        for n, (typed, _labels) in enumerate(ANSWERS, start=1):
            prompts.wait_for(n)
            proc.stdin.write(typed.encode() + b"\n")
            proc.stdin.flush()
        prompts.wait_for(len(ANSWERS) + 1)  # the answers were taken: the next question is asked
        _blocked_in_read(proc.pid)
        os.kill(proc.pid, signal.SIGKILL if how == "SIGKILL" else signal.SIGINT)
        proc.wait(timeout=60)
        err = proc.stderr.read().decode("utf-8", "replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            pipe.close()
    records = _label_records(corpus)
    assert [(r["statement"], r["polarity"]) for r in records] == [labels for _t, labels in ANSWERS]
    _check_records(records, report)
    if how == "SIGINT":
        assert proc.returncode == 130, err
        assert "Traceback" not in err
        assert err.strip().splitlines() == [f"stopped; 3 answers saved to {corpus / 'labels' / 'glenbrae.jsonl'}"]
    else:
        assert proc.returncode == -signal.SIGKILL


def test_label_keyboard_interrupt_in_process_and_resume(tmp_path, tiny_model):
    from nlpfind.label import LabelSession, run_terminal_loop

    report = _report(tmp_path)
    corpus = tmp_path / "corpus"
    session = LabelSession.start(str(report), corpus, tiny_model, annotator="tester")
    total = len(session.items)
    typed = iter(["2w", "", "t chronologies", "zz", "1m"])  # "zz" is not understood: asked again, not saved

    def fake_input(prompt: str) -> str:
        try:
            return next(typed)
        except StopIteration:
            raise KeyboardInterrupt from None

    with pytest.raises(KeyboardInterrupt):
        run_terminal_loop(session, input_fn=fake_input, echo=lambda _m: None)
    records = _label_records(corpus)
    assert session.answered == len(records) == 4
    assert [(r["statement"], r["polarity"]) for r in records][::3] == [("2", "weakness"), ("1", "mixed")]
    assert records[2]["themes"] == ["chronologies"]
    _check_records(records, report)
    again = LabelSession.start(str(report), corpus, tiny_model, annotator="tester")
    assert len(again.items) == total - 4
    answered = {(r["start"], r["end"]) for r in records}
    assert not answered & {(it.sentence.start, it.sentence.end) for it in again.items}


def test_label_end_of_input_in_the_cli(tmp_path, tiny_model):
    report = _report(tmp_path)
    corpus = tmp_path / "corpus"
    result = CliRunner().invoke(app, ["label", str(report), "--corpus", str(corpus), "--model", str(tiny_model)],
                                input="2s\nn\n")
    assert result.exit_code == 130, result.output
    assert "stopped; 2 answers saved" in result.stderr
    assert [(r["statement"], r["polarity"]) for r in _label_records(corpus)] == [("2", "strength"), ("none", "neutral")]


# -- two compare runs sharing one embedding cache --------------------------------------------------
def _shard_check(root: Path) -> int:
    """Every shard of every embedding cache under `root` loads (no pickle) and matches its key list."""
    shards = 0
    for keys in sorted(root.rglob("*.keys")):
        arr = np.load(keys.with_suffix(".npy"), allow_pickle=False)
        names = keys.read_text().split()
        assert arr.ndim == 2 and arr.shape[0] == len(names) == len(set(names)), keys
        assert np.isfinite(arr).all()
        shards += 1
    leftovers = [p.name for p in root.rglob("*") if ".tmp" in p.name]
    assert leftovers == []
    return shards


def _compare_inputs(tmp_path: Path) -> list[str]:
    d = tmp_path / "reports"
    d.mkdir(exist_ok=True)
    for key in ("glenbrae", "ardmuir", "kinloch"):
        (d / f"{key}-2024.txt").write_text(report_text(key), encoding="utf-8")
    return [str(p) for p in sorted(d.glob("*.txt"))]


def test_two_compare_processes_share_one_cache(tmp_path, tiny_model):
    paths = _compare_inputs(tmp_path)
    shared, clean = tmp_path / "shared-cache", tmp_path / "clean-cache"
    args = [sys.executable, "-m", "nlpfind.cli", "compare", *paths, "--model", str(tiny_model), "--format", "json"]
    procs = [subprocess.Popen(args, cwd=REPO, env={**os.environ, "NLPFIND_CACHE": str(shared)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_out, err) in zip(procs, outs):
        assert p.returncode == 0, err.decode()[-2000:]
    single = run_cli(["compare", *paths, "--model", str(tiny_model), "--format", "json"],
                     env={"NLPFIND_CACHE": str(clean)})
    assert single.returncode == 0, single.stderr
    assert outs[0][0].decode() == outs[1][0].decode() == single.stdout
    assert json.loads(single.stdout)["partnerships"] == ["Ardmuir", "Glenbrae", "Kinloch"]
    assert _shard_check(shared) >= 1 and _shard_check(clean) >= 1
    again = run_cli(["compare", *paths, "--model", str(tiny_model), "--format", "json"],
                    env={"NLPFIND_CACHE": str(shared)})
    assert again.returncode == 0 and again.stdout == single.stdout


def test_many_processes_hammering_one_cache(tmp_path):
    """Four processes encode overlapping random batches through one cache folder, 15 rounds each."""
    pool = [f"Finding {i}: staff in team {i % 7} reviewed {i % 11} plans on time." for i in range(150)]
    directory = str(tmp_path / "cache")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as workers:
        results = workers.map(cache_worker, [(directory, seed, 15, pool) for seed in range(4)])
    assert results == [True] * 4
    assert _shard_check(tmp_path / "cache") >= 1
    from nlpfind.embed import EmbeddingCache

    emb = HashEmbedder()
    assert np.array_equal(EmbeddingCache(directory, emb).encode(pool), emb.encode(pool))


def test_damaged_cache_shard_is_one_clear_error(tmp_path, tiny_model):
    paths = _compare_inputs(tmp_path)
    cache = tmp_path / "cache"
    runner = CliRunner()
    args = ["compare", *paths, "--model", str(tiny_model), "--format", "json"]
    first = runner.invoke(app, args, env={"NLPFIND_CACHE": str(cache)})
    assert first.exit_code == 0, first.output
    shard = sorted(cache.rglob("*.npy"))[0]
    shard.write_bytes(shard.read_bytes()[:100])
    # The same comparison again reuses the cached theme assignment and reads no vectors: the damage does not matter
    again = runner.invoke(app, args, env={"NLPFIND_CACHE": str(cache)})
    assert again.exit_code == 0 and again.stdout == first.stdout
    shutil.rmtree(cache / "themes")  # now the vectors must be read
    result = runner.invoke(app, args, env={"NLPFIND_CACHE": str(cache)})
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and str(shard) in lines[0] and "damaged cache file" in lines[0]
