"""`nlpfind cache`: what the caches hold, clearing them, and a cache location that is not a folder."""

from __future__ import annotations

import json

from test_reliability import assert_one_line_error, invoke


def _fill(root):
    model = root / "embeddings" / "abc-minilm"
    model.mkdir(parents=True)
    (model / "000.npy").write_bytes(b"x" * 1000)
    (model / "000.keys").write_text("k\n")
    (root / "findings" / "ab").mkdir(parents=True)
    (root / "findings" / "ab" / "abcd.json").write_text("[]")
    (root / "themes" / "cd").mkdir(parents=True)
    (root / "themes" / "cd" / "cdef.json").write_text("{}")
    (root / "notes.txt").write_text("the user's own file")


def test_cache_lists_each_model_the_findings_and_the_themes(tmp_path, monkeypatch):
    monkeypatch.setenv("NLPFIND_CACHE", str(tmp_path))
    _fill(tmp_path)
    result = invoke(["cache", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["folder"] == str(tmp_path) and data["cleared"] is False
    assert data["caches"] == [{"kind": "embeddings", "name": "abc-minilm", "files": 2, "bytes": 1002},
                              {"kind": "findings", "name": "all models", "files": 1, "bytes": 2},
                              {"kind": "themes", "name": "all models", "files": 1, "bytes": 2}]
    table = invoke(["cache"])
    assert "abc-minilm" in table.stdout and "total 0.0 MB" in table.stdout
    assert invoke(["cache", "-f", "csv"]).stdout.splitlines()[0] == "kind,name,files,bytes"


def test_clear_removes_only_nlpfinds_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("NLPFIND_CACHE", str(tmp_path))
    _fill(tmp_path)
    result = invoke(["cache", "--clear", "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["kind"] for line in result.stdout.splitlines()] == ["embeddings", "findings", "themes"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    assert invoke(["cache", "--format", "json"]).stdout.count('"kind"') == 0


def test_an_absent_cache_is_empty_not_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("NLPFIND_CACHE", str(tmp_path / "never-made"))
    result = invoke(["cache", "--clear"])
    assert result.exit_code == 0 and "cleared 0.0 MB" in result.stdout
    assert not (tmp_path / "never-made").exists()


def test_a_cache_location_that_is_a_file_is_one_line(tmp_path, monkeypatch):
    path = tmp_path / "cache.txt"
    path.write_text("not a folder")
    monkeypatch.setenv("NLPFIND_CACHE", str(path))
    assert_one_line_error(invoke(["cache"]), str(path), words="not a folder")
    assert path.read_text() == "not a folder"
