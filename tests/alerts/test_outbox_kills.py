"""kill -9 in and out of the send window for routed messages, a user's e-mail and a signed webhook
(../shared/RELIABILITY.md B-2/D-2 and B-3/D-3): `wom process` in a child process dies at a fault point; the
only duplicates come from the send window and carry the same Message-ID / webhook-id; nothing is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from monitor.alerts.delivery import DeliveryResult, deliver_pending
from monitor.config import Settings, load_settings
from monitor.storage.models import utcnow
from tests.alerts.http_receiver import Receiver, serve_receiver
from tests.alerts.outbox_world import SECRET, SECRET_ENV, SENDER, brand_ids, make_user, rows, store_alert
from tests.alerts.smtp_server import LoopbackController, Recorder

CONFIG = """
[database]
url = "{url}"

[alerts]
repeat_hours = 0

[smtp]
host = "127.0.0.1"
port = {smtp_port}
sender = "{sender}"
starttls = false

[collectors]
allow_private_hosts = ["127.0.0.1:{hook_port}"]

[[webhooks]]
name = "ops"
kind = "standard"
url = "{hook_url}"
secret_env = "{secret_env}"

[[brands]]
name = "Acme"
keywords = ["acme"]
"""


def _world(tmp_path: Path, url: str, smtp_port: int, hook: Receiver) -> tuple[Path, Settings]:
    config = tmp_path / "wom.toml"
    config.write_text(
        CONFIG.format(
            url=url,
            smtp_port=smtp_port,
            sender=SENDER,
            hook_port=hook.port,
            hook_url=hook.url,
            secret_env=SECRET_ENV,
        ),
        encoding="utf-8",
    )
    return config, load_settings(config)


def _process(config: Path, *, fault: str | None = None) -> int:
    env = {key: value for key, value in os.environ.items() if not key.startswith("WOM_")}
    env[SECRET_ENV] = SECRET
    if fault:
        env["WOM_FAULT"] = fault
    done = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "--config", str(config), "process", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode in (0, -signal.SIGKILL), done.stdout + done.stderr
    return done.returncode


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "copies"),
    [("delivery.after_send_before_mark", 2), ("delivery.after_claim_before_send", 1)],
)
def test_a_kill_duplicates_only_inside_the_send_window_with_the_same_ids(
    engine: Engine,
    database_url: str,
    tmp_path: Path,
    smtp_server: LoopbackController,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
    fault: str,
    copies: int,
) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    with serve_receiver() as hook:
        config, settings = _world(tmp_path, database_url, smtp_server.port, hook)
        acme = brand_ids(engine, settings)["Acme"]
        make_user(engine, "ann", now=utcnow())
        alert = store_alert(
            engine, brand_id=acme, kind="complaint_to_answer", title="lost order", at=utcnow()
        )

        for _ in range(2):  # each run routes, claims the next message, and dies at the fault point
            assert _process(config, fault=fault) == -signal.SIGKILL
        assert _process(config) == 0  # the leases still hold: nothing is sent again yet
        sent_before_lease = len(recorder.envelopes) + len(hook.requests)
        assert sent_before_lease == (2 if copies == 2 else 0)

        after_lease = utcnow() + timedelta(minutes=6)
        assert deliver_pending(engine, settings, now=lambda: after_lease) == DeliveryResult(sent=2)

    message_ids = Counter(str(m["Message-ID"]) for m in recorder.messages())
    webhook_ids = Counter(r.headers["webhook-id"] for r in hook.requests)
    stored = {r["channel"]: r["message_id"] for r in rows(engine, alert_id=alert)}
    assert message_ids == Counter({stored["email"]: copies})  # lost 0; a copy only from the send window
    assert webhook_ids == Counter({stored["webhook"]: copies})  # ... with the same id as the first
    assert {(r["status"], r["attempts"]) for r in rows(engine)} == {("sent", 2)}
