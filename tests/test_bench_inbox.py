"""benchmarks/inbox_quality.py runs on the demo sample with the gold classifier (no model), so it keeps
working; its figures are printed, not asserted."""

import pytest

from benchmarks.inbox_quality import main


def test_inbox_quality_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    (outcome,) = main(["--world", "demo", "--classifier", "gold"])
    assert (outcome.mentions, outcome.to_answer) == (392, 142)
    assert outcome.items > 0 and outcome.queue > 0
    assert all(0.0 <= v <= 1.0 for v in (outcome.precision, outcome.recall, outcome.queue_precision))
    output = capsys.readouterr().out
    for label in ("wom inbox items", "every complaint/question", "mentions to answer in no item"):
        assert label in output
