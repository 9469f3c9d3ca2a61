"""One exception tree: every public exception wom defines is a WomError (issue 14)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import monitor
from monitor.errors import WomError

_SKIP_PACKAGES = ("monitor.storage.migrations",)


def _modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(monitor.__path__, "monitor."):
        if not info.name.startswith(_SKIP_PACKAGES) and not info.name.endswith("__main__"):
            names.append(info.name)
    return names


def test_every_public_exception_of_wom_is_a_wom_error() -> None:
    outside: list[str] = []
    for name in _modules():
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == name
                and not attr.startswith("_")
                and not issubclass(value, WomError)
            ):
                outside.append(f"{name}.{attr}")
    assert outside == []


def test_old_import_paths_name_the_same_classes() -> None:
    from monitor.alerts.email import DeliveryError
    from monitor.collectors.base import CollectorError, RateLimitedError, TransientError
    from monitor.collectors.outbound import BlockedURLError
    from monitor.errors import BlockedURLError as TreeBlockedURLError
    from monitor.errors import CollectorError as TreeCollectorError
    from monitor.errors import DeliveryError as TreeDeliveryError
    from monitor.errors import RecordError as TreeRecordError
    from monitor.records import RecordError

    assert (CollectorError, RecordError, BlockedURLError, DeliveryError) == (
        TreeCollectorError,
        TreeRecordError,
        TreeBlockedURLError,
        TreeDeliveryError,
    )
    assert issubclass(TransientError, CollectorError) and issubclass(RateLimitedError, CollectorError)
    # callers that catch ValueError for bad input keep working
    assert issubclass(RecordError, ValueError) and issubclass(BlockedURLError, ValueError)
