"""A real SMTP server per test (aiosmtpd on 127.0.0.1, port 0) and the recorder of what it accepted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.alerts.smtp_server import LoopbackController, Recorder


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def smtp_server(recorder: Recorder) -> Iterator[LoopbackController]:
    controller = LoopbackController(recorder, hostname="127.0.0.1", port=0)
    controller.start()
    yield controller
    controller.stop()
