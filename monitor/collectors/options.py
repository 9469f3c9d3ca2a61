"""The collector settings, for the collectors: they live in monitor.source_settings, which the config
loader and the status report import without loading any collector module."""

from monitor.source_settings import *  # noqa: F403
from monitor.source_settings import __all__ as __all__
