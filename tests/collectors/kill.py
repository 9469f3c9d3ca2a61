"""A kill between fetch and commit (RELIABILITY I-2) inside one process: storing the second page dies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from monitor.collectors import base

__all__ = ["Killed", "kill_second_store"]


class Killed(Exception):
    """Stands for the process dying while the second page is being stored."""


def kill_second_store(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Makes the second `store_page` call raise Killed; returns a function that restores the real one."""
    real_store_page = base.store_page
    calls = {"n": 0}

    def dies_on_second_page(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise Killed("killed between fetch and commit")
        return real_store_page(*args, **kwargs)

    monkeypatch.setattr(base, "store_page", dies_on_second_page)
    return lambda: monkeypatch.setattr(base, "store_page", real_store_page)
