"""One `ast.parse` at a time, for CPython before 3.12.

CPython 3.11 keeps the AST constructor's recursion depth in one counter per interpreter (gh-106905, fixed
in later releases): when two threads are inside `ast.parse` at once, one of them may fail with "SystemError:
AST constructor recursion depth mismatch". The tests run parses on several threads: the API under test
builds its OpenAPI schema on starlette's portal thread (`inspect.signature` parses text signatures), served
apps run on their own threads, while hypothesis parses lambda sources on the main thread in the middle of
a draw. A CI run (3da90a5, and again at 5e6079c) lost the schemathesis test to it as a "flaky strategy".
A re-entrant lock around `ast.parse` keeps the parses apart; callers reach it through the module
attribute (`inspect`, `traceback`, hypothesis), so they all pass through the lock.
"""

from __future__ import annotations

import ast
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

AFFECTED = sys.version_info < (3, 12)


@contextmanager
def one_parse_at_a_time() -> Iterator[threading.RLock]:
    """`ast.parse` behind a re-entrant lock while the context is open; yields the lock."""
    lock = threading.RLock()
    original: Callable[..., Any] = ast.parse

    def parse(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(*args, **kwargs)

    ast.parse = parse  # type: ignore[assignment]
    try:
        yield lock
    finally:
        ast.parse = original  # type: ignore[assignment]
