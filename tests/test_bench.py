"""Each benchmark runs on a tiny input, so it keeps working (figures are not asserted)."""

from pathlib import Path

import pytest

from benchmarks.import_speed import measure


def test_import_speed_benchmark_runs(tmp_path: Path) -> None:
    results = measure(300, None, tmp_path)
    assert [r["backend"] for r in results] == ["sqlite"]
    assert results[0]["reimport_new"] == 0.0
    assert results[0]["import_lines_per_s"] > 0


def test_classify_speed_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch", reason="the naive baseline runs transformers on torch")
    from benchmarks.classify_speed import main

    assert main(["--texts", "24", "--naive-texts", "4", "--threads", "1"]) == 0
    output = capsys.readouterr().out
    for label in ("wom int8 (default)", "wom fp32 (ONNX)", "naive pipeline, 1 text/call"):
        assert label in output
