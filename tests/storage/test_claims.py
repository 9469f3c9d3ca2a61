import os
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.records import AuthorRecord, MentionRecord
from monitor.storage.claims import claim_mentions, finish_claim, release_claim, release_dead_claims
from monitor.storage.mentions import store_mentions
from monitor.storage.models import Mention, utcnow
from monitor.storage.tables import table_of


def _seed(engine: Engine, count: int) -> None:
    now = utcnow()
    store_mentions(
        engine,
        [
            MentionRecord(
                source="x",
                external_id=str(i),
                text=f"acme {i}",
                created_at=now,
                author=AuthorRecord(handle=f"u{i}"),
            )
            for i in range(count)
        ],
    )


def test_two_workers_claim_disjoint_batches(engine: Engine) -> None:
    _seed(engine, 10)
    first = claim_mentions(engine, stage="match", worker="a", limit=6, lease=timedelta(minutes=5))
    second = claim_mentions(engine, stage="match", worker="b", limit=6, lease=timedelta(minutes=5))
    assert len(first) == 6 and len(second) == 4
    assert not set(first) & set(second)
    assert claim_mentions(engine, stage="match", worker="c", limit=6, lease=timedelta(minutes=5)) == []


def test_a_stage_waits_for_the_stage_before_it(engine: Engine) -> None:
    _seed(engine, 3)
    assert claim_mentions(engine, stage="classify", worker="a", limit=10, lease=timedelta(minutes=5)) == []
    ids = claim_mentions(engine, stage="match", worker="a", limit=10, lease=timedelta(minutes=5))
    with engine.begin() as conn:
        assert finish_claim(conn, stage="match", worker="a", mention_ids=ids) == set(ids)
    assert claim_mentions(engine, stage="classify", worker="a", limit=10, lease=timedelta(minutes=5)) == ids


def test_an_expired_lease_is_taken_over_and_the_late_worker_writes_nothing(engine: Engine) -> None:
    _seed(engine, 4)
    start = utcnow()
    slow = claim_mentions(
        engine, stage="match", worker="slow", limit=10, lease=timedelta(seconds=30), now=start
    )
    later = start + timedelta(seconds=31)
    taken = claim_mentions(
        engine, stage="match", worker="fast", limit=10, lease=timedelta(seconds=30), now=later
    )
    assert taken == slow
    with engine.begin() as conn:
        assert finish_claim(conn, stage="match", worker="slow", mention_ids=slow) == set()
        assert finish_claim(conn, stage="match", worker="fast", mention_ids=taken) == set(taken)
    with engine.connect() as conn:
        pending = conn.execute(
            sa.select(sa.func.count()).where(table_of(Mention).c.matched_at.is_(None))
        ).scalar_one()
    assert pending == 0


def test_released_rows_can_be_claimed_again_at_once(engine: Engine) -> None:
    _seed(engine, 2)
    ids = claim_mentions(engine, stage="match", worker="a", limit=10, lease=timedelta(hours=1))
    release_claim(engine, worker="a", mention_ids=ids)
    assert claim_mentions(engine, stage="match", worker="b", limit=10, lease=timedelta(hours=1)) == ids


def test_claims_of_dead_workers_on_this_host_are_released(engine: Engine) -> None:
    import socket
    import subprocess
    import sys

    _seed(engine, 6)
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(gone.stdout)
    host = socket.gethostname()
    claim_mentions(engine, stage="match", worker=f"{host}:{dead_pid}:aa", limit=2, lease=timedelta(hours=1))
    claim_mentions(
        engine, stage="match", worker=f"{host}:{os.getpid()}:bb", limit=2, lease=timedelta(hours=1)
    )
    claim_mentions(
        engine, stage="match", worker=f"elsewhere:{dead_pid}:cc", limit=2, lease=timedelta(hours=1)
    )
    assert release_dead_claims(engine, hostname=host) == 2
    with engine.connect() as conn:
        owners = (
            conn.execute(
                sa.select(table_of(Mention).c.claimed_by)
                .where(table_of(Mention).c.claimed_by.is_not(None))
                .distinct()
            )
            .scalars()
            .all()
        )
    assert sorted(owners) == sorted([f"{host}:{os.getpid()}:bb", f"elsewhere:{dead_pid}:cc"])
