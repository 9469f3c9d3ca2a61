"""The one exception tree of wom: every error raised on purpose is a WomError, and its message says what to do.

WomError
├── ConfigError              a config key has a bad value; names key, value and fix
├── StorageError             the database cannot be reached or upgraded
├── ImportFileError          an import file cannot be read at all (bad lines are reported, not raised)
├── RecordError              one input item is not a valid mention (also a ValueError); names the field
├── BlockedURLError          a URL wom will not fetch (also a ValueError); says how to allow a private host
├── CollectorError           a source failed in a way a retry within this run will not fix
│   ├── TransientError       worth retrying soon: timeout, connection error, 5xx, malformed payload
│   ├── RateLimitedError     the platform said to wait; .retry_at
│   └── MissingCredentialError  the source needs a secret from the environment; .variable
├── ClassifierError          a model cannot be loaded or run
├── CheckpointError          a training checkpoint cannot be continued (unreadable, other data or settings)
├── TrainingStopped          training stopped on request after saving a checkpoint; continue with --resume
├── SchedulerLockError       another process holds the scheduler lock
├── DeliveryError            an alert could not be delivered; .permanent says if a retry helps
├── ApiKeyError              an API key cannot be made or revoked as asked (unknown role, brand, id or prefix)
├── ForbiddenBrandError      an item names a brand outside a brand-scoped caller's brands (the API: 403)
├── UnknownBrandError        no configured brand has that name; names the brands there are
├── UnknownMentionError      no mention has that id (the API: 404)
├── AuthorError              an author cannot be merged, split or forgotten as asked; .code names the case
│   └── UnknownAuthorError   no author has that id
├── InboxError               an inbox item cannot be acted on as asked; .code names the case
│   ├── UnknownInboxItemError  no inbox item has that id (the API: 404)
│   ├── InboxStateError      the action does not fit the item's state, or another change won (409)
│   └── UnknownAssigneeError no active user has that id (the API: 422)
├── AlertError               an alert cannot be acknowledged or resolved as asked; .code names the case
│   ├── UnknownAlertError    no alert has that id
│   └── AlertStateError      the action does not fit the alert's status (open, acknowledged, resolved)
├── UserError                a user cannot be added or changed as asked; .code names the case, .field the value
│   └── UnknownUserError     no user has that id or name
└── RangeTooLongError        a series asked for more buckets than one answer holds (monitor.read.series)

Each module that raises one also re-exports it where callers have always imported it from
(monitor.collectors.base, monitor.records, monitor.collectors.outbound, monitor.alerts.email).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

__all__ = [
    "AlertError",
    "AlertStateError",
    "ApiKeyError",
    "AuthorError",
    "BlockedURLError",
    "CheckpointError",
    "ClassifierError",
    "CollectorError",
    "ConfigError",
    "DeliveryError",
    "ForbiddenBrandError",
    "ImportFileError",
    "InboxError",
    "InboxStateError",
    "MissingCredentialError",
    "RangeTooLongError",
    "RateLimitedError",
    "RecordError",
    "SchedulerLockError",
    "StorageError",
    "TrainingStopped",
    "TransientError",
    "UnknownAlertError",
    "UnknownAssigneeError",
    "UnknownAuthorError",
    "UnknownBrandError",
    "UnknownInboxItemError",
    "UnknownMentionError",
    "UnknownUserError",
    "UserError",
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


class RecordError(WomError, ValueError):
    """One input item is not a valid mention; the message names the field and what is wrong."""


class BlockedURLError(WomError, ValueError):
    """A URL wom will not fetch; the message says why and how an operator allows a private host."""


class CollectorError(WomError):
    """A source failed in a way a retry within this run will not fix; the message names the reason."""


class TransientError(CollectorError):
    """A fault worth retrying soon: timeout, connection error, 5xx, malformed or HTML-for-JSON payload."""


class RateLimitedError(CollectorError):
    """The platform said to wait; `retry_at` is when this source may be asked again."""

    def __init__(self, message: str, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class MissingCredentialError(CollectorError):
    """The source needs a secret from the environment; `variable` names it."""

    def __init__(self, source: str, variable: str) -> None:
        super().__init__(f"{source} is disabled: set the environment variable {variable} to enable it")
        self.variable = variable


class DeliveryError(WomError):
    """An alert could not be delivered. `permanent` says whether retrying the same message can help."""

    def __init__(self, message: str, *, permanent: bool, smtp_code: int | None = None) -> None:
        self.permanent = permanent
        self.smtp_code = smtp_code
        super().__init__(message)


class ForbiddenBrandError(WomError):
    """An item names a brand outside a brand-scoped caller's brands; nothing of the request was stored."""


class UnknownBrandError(WomError):
    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        super().__init__(
            f"no brand is named {name!r}; the brands are: {', '.join(known) or '(none: run wom process or add [[brands]])'}"
        )


class UnknownMentionError(WomError):
    def __init__(self, mention_id: int) -> None:
        self.mention_id = mention_id
        super().__init__(f"there is no mention {mention_id}; take ids from GET /mentions")


class ClassifierError(WomError):
    pass


class CheckpointError(WomError):
    pass


class TrainingStopped(WomError):
    """Not a failure: the run saved a checkpoint at `path` (epoch, step) and stopped as asked."""

    def __init__(self, path: Path, epoch: int, step: int) -> None:
        super().__init__(f"stopped at epoch {epoch} step {step}; checkpoint {path}")
        self.path, self.epoch, self.step = path, epoch, step


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


class UserError(WomError):
    """`code` is a stable name for the case (the API answers with it): `invalid_value` (then `field` names
    the value), `name_taken`, `unknown_user`, `unknown_brand`."""

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        self.code = code
        self.field = field
        super().__init__(message)


class UnknownUserError(UserError):
    def __init__(self, user: int | str) -> None:
        self.user = user
        what = f"id {user}" if isinstance(user, int) else f"the name {user!r}"
        super().__init__("unknown_user", f"there is no user with {what}; `wom user list` shows them")


class RangeTooLongError(WomError):
    """The range asked for spans more buckets than a series holds; the message says how to shorten it."""


class InboxError(WomError):
    """`code` is a stable name for the case (the API answers with it), e.g. `wrong_state`."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class UnknownInboxItemError(InboxError):
    def __init__(self, item_id: int) -> None:
        self.item_id = item_id
        super().__init__(
            "unknown_inbox_item", f"there is no inbox item {item_id}; take ids from GET /api/v1/inbox"
        )


class InboxStateError(InboxError):
    """The action does not fit the item's `state` (code `wrong_state`), or the item changed since it was
    read (code `version_conflict`); either way nothing was changed."""

    def __init__(self, code: str, message: str, *, state: str) -> None:
        self.state = state
        super().__init__(code, message)


class UnknownAssigneeError(InboxError):
    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        super().__init__(
            "unknown_assignee",
            f"there is no active user {user_id} to assign; list them with `wom user list`",
        )


class AlertError(WomError):
    """`code` is a stable name for the case, e.g. `wrong_state`."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class UnknownAlertError(AlertError):
    def __init__(self, alert_id: int) -> None:
        self.alert_id = alert_id
        super().__init__("unknown_alert", f"there is no alert {alert_id}; take ids from GET /api/v1/alerts")


class AlertStateError(AlertError):
    """The action does not fit the alert's `state`, or someone changed it meanwhile; nothing was changed."""

    def __init__(self, alert_id: int, *, action: str, state: str, fits: tuple[str, ...]) -> None:
        self.state = state
        super().__init__(
            "wrong_state",
            f"cannot {action} alert {alert_id}: it is {state}, and {action} fits an alert that is "
            f"{' or '.join(fits)}; reload the page to see what changed",
        )
