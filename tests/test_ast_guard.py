"""tests/ast_guard.py: the lock that keeps two threads out of `ast.parse` at once on Python 3.11."""

from __future__ import annotations

import ast
import threading

import pytest

from tests.ast_guard import AFFECTED, one_parse_at_a_time


def test_a_parse_on_another_thread_waits_for_the_lock_and_then_parses() -> None:
    with one_parse_at_a_time() as lock:
        parsed: list[ast.Module] = []
        worker = threading.Thread(target=lambda: parsed.append(ast.parse("x = 1")))
        with lock:
            worker.start()
            worker.join(timeout=0.5)
            assert worker.is_alive() and parsed == []  # still waiting on the lock held here
            assert isinstance(ast.parse("y = 2"), ast.Module)  # the holder itself may parse (re-entrant)
        worker.join(timeout=10)
        assert not worker.is_alive()
        assert ast.dump(parsed[0]) == ast.dump(ast.parse("x = 1"))


def test_the_original_parse_comes_back_when_the_context_closes() -> None:
    before = ast.parse
    with one_parse_at_a_time():
        assert ast.parse is not before
    assert ast.parse is before


@pytest.mark.skipif(not AFFECTED, reason="Python 3.12 and later keep the AST depth per parse")
def test_the_whole_test_session_parses_behind_the_lock() -> None:
    assert ast.parse.__qualname__ == "one_parse_at_a_time.<locals>.parse"
