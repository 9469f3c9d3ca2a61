"""benchmarks/inbox_quality.py runs on the demo sample with the gold classifier (no model), so it keeps
working; its figures are printed, not asserted. The hour-by-hour replay of alerts and e-mails runs on the
demo's last days: the routing it drives keeps every hour under the cap, and acknowledging stops reminders."""

import tempfile
from datetime import timedelta
from pathlib import Path

import pytest

from benchmarks.inbox_quality import (
    CAMPAIGN_POSTS,
    MANAGER,
    OWNER,
    GoldClassifier,
    World,
    _error_line,
    campaign_mentions,
    deliveries,
    demo_world,
    main,
)


def test_inbox_quality_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    (outcome,) = main(["--world", "demo", "--classifier", "gold", "--no-deliveries"])
    assert (outcome.mentions, outcome.to_answer) == (392, 142)
    assert outcome.items > 0 and outcome.queue > 0
    assert all(0.0 <= v <= 1.0 for v in (outcome.precision, outcome.recall, outcome.queue_precision))
    output = capsys.readouterr().out
    for label in ("wom inbox items", "every complaint/question", "mentions to answer in no item"):
        assert label in output
    assert "wrong items and missed mentions" not in output


def test_show_errors_lists_each_wrong_item_and_missed_mention(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--world", "demo", "--classifier", "gold", "--no-deliveries", "--show-errors"])
    assert "demo (392 mentions, 6 weeks), gold: wrong items and missed mentions" in capsys.readouterr().out
    mention = next(m for m in demo_world().mentions if m.story == "comparison" and m.kind == "neutral")
    line = _error_line("wrong item", mention, ("neutral", "question", 0.981))
    assert line.startswith("wrong item comparison/neutral")
    assert "model neutral/question 0.98" in line
    assert line.endswith(" ".join(str(mention.record["text"]).split()))


def test_the_replay_counts_the_outbox_per_recipient_within_the_cap() -> None:
    demo = demo_world()
    campaign = campaign_mentions(demo.end)
    assert len(campaign) == CAMPAIGN_POSTS
    assert {m.kind for m in campaign} <= {"praise", "neutral"}
    last_days = [m for m in demo.mentions if m.created_at >= demo.end - timedelta(days=4)]
    world = World("demo, last 4 days", last_days, demo.end)
    with tempfile.TemporaryDirectory() as tmp:
        runs = [
            deliveries(world, lambda: GoldClassifier(last_days), Path(tmp) / f"{n}.db", ack_after=ack)
            for n, ack in enumerate((None, timedelta(hours=1)))
        ]
    ignored, acknowledged = runs
    assert sum(ignored.alerts_per_day) > 0
    for run in runs:
        assert run.days == len(run.per_day[OWNER]) == len(run.alerts_per_day)
        assert all(hourly <= run.cap for hourly in run.max_per_hour.values())
        # the owner gets critical alerts only, the manager every one
        assert sum(run.per_day[OWNER]) <= sum(run.per_day[MANAGER])
    assert ignored.reminders[MANAGER] > acknowledged.reminders[MANAGER]
