"""monitor/source_settings.py: the collector settings and facts the config and the status report read."""

from __future__ import annotations

import pytest

from monitor.collectors.registry import load_spec
from monitor.source_settings import SOURCE_CREDENTIALS, SOURCE_NAMES


@pytest.mark.parametrize("source", SOURCE_NAMES)
def test_each_source_needs_the_variables_the_status_report_asks_for(source: str) -> None:
    # the status report reads SOURCE_CREDENTIALS so that the API process loads no collector module
    assert load_spec(source).credentials == SOURCE_CREDENTIALS[source]


def test_every_source_is_listed_once() -> None:
    assert sorted(SOURCE_CREDENTIALS) == sorted(SOURCE_NAMES)
