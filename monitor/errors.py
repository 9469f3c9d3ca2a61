"""The one exception tree of wom.

WomError
├── ConfigError            a config key has a bad value; names key, value and fix
├── StorageError           the database cannot be reached or upgraded
├── ImportFileError        an import file cannot be read at all (bad lines are reported, not raised)
├── ClassifierError        a model cannot be loaded or run
├── SchedulerLockError     another process holds the scheduler lock
└── DeliveryError          an alert could not be delivered (monitor.alerts.email; .permanent says if a retry helps)
"""

from __future__ import annotations

__all__ = [
    "ClassifierError",
    "ConfigError",
    "ImportFileError",
    "SchedulerLockError",
    "StorageError",
    "WomError",
]


class WomError(Exception):
    """Base of every error wom raises on purpose; its message says what to do."""


class ConfigError(WomError):
    def __init__(self, key: str, value: object, fix: str) -> None:
        self.key = key
        self.value = value
        self.fix = fix
        super().__init__(f"config key '{key}' has a bad value {value!r}: {fix}")


class StorageError(WomError):
    pass


class ImportFileError(WomError):
    pass


class ClassifierError(WomError):
    pass


class SchedulerLockError(WomError):
    pass
