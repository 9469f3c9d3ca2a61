"""Each benchmark runs on a tiny input, so it keeps working (figures are not asserted)."""

from pathlib import Path

from benchmarks.import_speed import measure


def test_import_speed_benchmark_runs(tmp_path: Path) -> None:
    results = measure(300, None, tmp_path)
    assert [r["backend"] for r in results] == ["sqlite"]
    assert results[0]["reimport_new"] == 0.0
    assert results[0]["import_lines_per_s"] > 0
