"""Fault injection for crash tests: `WOM_FAULT=<point>` kills the process at that named point.

Off unless the variable is set; the kill -9 tests use it to stop at exactly the dangerous moments
(../shared/RELIABILITY.md I-2).
"""

from __future__ import annotations

import os
import signal

__all__ = ["fault_point"]


def fault_point(name: str) -> None:
    if os.environ.get("WOM_FAULT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
