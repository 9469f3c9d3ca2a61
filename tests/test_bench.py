"""Each benchmark runs on a tiny input, so it keeps working (figures are not asserted)."""

from pathlib import Path

import pytest

from benchmarks.import_speed import measure
from tests.conftest import shared_path


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


def test_collect_replay_benchmark_runs_every_source(capsys: pytest.CaptureFixture[str]) -> None:
    shared_path("fixtures")
    from benchmarks.collect_replay import SOURCES, main

    (result,) = main(["--brands", "1", "--postgres", ""])
    assert sorted(result["runs"]) == sorted(SOURCES)
    for source, run in result["runs"].items():
        assert (source, run["status"], run["error"]) == (source, "succeeded", "")
        assert run["items_new"] > 0, source
    assert "items/s" in capsys.readouterr().out


def test_ranking_quality_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    data = shared_path("data")
    from benchmarks.ranking_quality import main

    tiny = ["--ambassadors", "3", "--detractors", "3", "--turning", "1", "--occasional", "10"]
    outcomes = main(["--data", str(data), *tiny, "--one-offs", "30", "--days", "60"])
    assert sorted(outcomes) == sorted(
        ["wom, e5", "alternative, e5", "wom, gold labels", "alternative, gold labels"]
    )
    for outcome in outcomes.values():
        assert sorted(outcome.turn_days) == ["turning_0"]
        assert all(0.0 <= value <= 1.0 for value in (*outcome.precision.values(), *outcome.recall.values()))
    gold = outcomes["wom, gold labels"]
    assert not [a for a in gold.top["ambassador"] if a.role in ("own_account", "giveaway", "bot")]
    output = capsys.readouterr().out
    for label in ("ambassadors precision@10", "detractors recall@10", "turn to at-risk alarm, days (each)"):
        assert label in output


def test_api_load_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.api_load import main

    world = ["--mentions", "600", "--authors", "120", "--postgres", ""]
    (result,) = main([*world, "--seconds", "0.3", "--clients", "2", "--page-clients", "1"])
    assert result["label"] == "sqlite" and result["pairs"] > 0
    assert all(endpoint.latencies and endpoint.errors == 0 for endpoint in result["endpoints"])
    out = capsys.readouterr().out
    assert "worst API p95" in out and "worst page p95" in out
    assert any(endpoint.name.startswith("page /inbox") for endpoint in result["endpoints"])
    # each page is judged at --page-clients and reported, unjudged, at --clients
    pages = [e for e in result["endpoints"] if e.name.startswith("page /settings/users")]
    assert [(e.clients, e.judged) for e in pages] == [(1, True), (2, False)]


def test_spike_detection_benchmark_runs() -> None:
    from benchmarks.spike_detection import compare

    result = compare([7], days=42)
    assert sorted(result) == ["new", "old"]
    for metrics in result.values():
        assert 0.0 <= metrics["recall"] <= 1.0
        assert metrics["false_alarms_per_brand_month"] >= 0.0
