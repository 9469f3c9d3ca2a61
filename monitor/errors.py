"""The one exception tree of wom.

WomError
├── ConfigError            a config key has a bad value; names key, value and fix
├── StorageError           the database cannot be reached or upgraded
├── ImportFileError        an import file cannot be read at all (bad lines are reported, not raised)
├── ClassifierError        a model cannot be loaded or run
├── SchedulerLockError     another process holds the scheduler lock
├── DeliveryError          an alert could not be delivered (monitor.alerts.email; .permanent says if a retry helps)
├── ApiKeyError            an API key cannot be made or revoked as asked (unknown role, brand, id or prefix)
├── AuthorError            an author cannot be merged, split or forgotten as asked; .code names the case
│   └── UnknownAuthorError no author has that id
└── RangeTooLongError      a series asked for more buckets than one answer holds (monitor.read.series)
"""

from __future__ import annotations

__all__ = [
    "ApiKeyError",
    "AuthorError",
    "ClassifierError",
    "ConfigError",
    "ImportFileError",
    "RangeTooLongError",
    "SchedulerLockError",
    "StorageError",
    "UnknownAuthorError",
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


class ApiKeyError(WomError):
    pass


class AuthorError(WomError):
    """`code` is a stable name for the case (the API answers with it), e.g. `same_author`."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class UnknownAuthorError(AuthorError):
    def __init__(self, author_id: int) -> None:
        self.author_id = author_id
        super().__init__(
            "unknown_author",
            f"there is no author {author_id} (it may have been merged into another or forgotten); "
            "look the id up again: author_id in /api/v1/mentions or the rankings, or `wom authors suggest`",
        )


class RangeTooLongError(WomError):
    """The range asked for spans more buckets than a series holds; the message says how to shorten it."""
