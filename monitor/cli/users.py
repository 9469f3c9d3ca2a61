"""`wom user add|list|set|remove|import-email-to`: the people who sign in, are assigned work and are told
of alerts. A password comes from WOM_USER_PASSWORD or a hidden prompt, never from an argument (which
would land in the shell history and the process list)."""

from __future__ import annotations

import enum
import os
from datetime import time
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text
from sqlmodel import Session

from monitor.cli.context import console, err_console, literal, open_database, state, wom_command
from monitor.errors import UserError
from monitor.read.users import UserOut, list_users
from monitor.service.users import (
    add_user,
    import_email_recipients,
    remove_user,
    set_password,
    set_user,
    user_id_for,
)
from monitor.storage.models import utcnow

__all__ = ["PASSWORD_ENV", "register"]

PASSWORD_ENV = "WOM_USER_PASSWORD"  # noqa: S105 (the variable's name, not a password)
user_app = typer.Typer(
    help="Add, list, change and remove users: who signs in, is assigned work and is told of alerts.",
    no_args_is_help=True,
)


class RoleChoice(enum.StrEnum):
    viewer = "viewer"
    manager = "manager"
    admin = "admin"


class LanguageChoice(enum.StrEnum):
    nl = "nl"
    en = "en"


class SeverityChoice(enum.StrEnum):
    info = "info"
    warning = "warning"
    critical = "critical"


class DeliveryChoice(enum.StrEnum):
    immediate = "immediate"
    digest_only = "digest_only"


Name = Annotated[str, typer.Argument(help="The login name (stored lowercase).")]
Email = Annotated[str | None, typer.Option(help="Where notifications go.")]
Role = Annotated[
    RoleChoice | None,
    typer.Option(help="viewer reads; manager also answers and assigns; admin also manages users."),
]
DisplayName = Annotated[str | None, typer.Option(help="The name people know the user by.")]
Language = Annotated[LanguageChoice | None, typer.Option(help="Language of e-mails and digests.")]
Timezone = Annotated[str | None, typer.Option(help="IANA time zone, e.g. Europe/Amsterdam.")]
Brands = Annotated[
    list[str] | None,
    typer.Option("--brand", help="A brand the user follows (repeat for more; none: every brand)."),
]
AlertKinds = Annotated[
    list[str] | None,
    typer.Option("--alert-kind", help="An alert kind to be told of (repeat for more; none: every kind)."),
]
MinSeverity = Annotated[SeverityChoice | None, typer.Option(help="Least severity to be told of.")]
Delivery = Annotated[
    DeliveryChoice | None, typer.Option(help="E-mail each alert at once, or only in the daily digest.")
]
DigestHour = Annotated[int | None, typer.Option(help="Local hour of the daily digest, 0-23.")]
QuietHours = Annotated[
    str | None,
    typer.Option(help="Local times with no immediate e-mail, START-END, e.g. 22:00-07:00."),
]
AskPassword = Annotated[
    bool,
    typer.Option(
        "--password", help=literal(f"Set a password: from ${PASSWORD_ENV}, else asked for (hidden).")
    ),
]


def _quiet_hours(value: str) -> tuple[time, time] | None:
    if value.strip().lower() in ("", "none", "off"):
        return None
    start, sep, end = value.partition("-")
    try:
        if not sep:
            raise ValueError(value)
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        raise UserError(
            "invalid_value",
            f"'quiet_hours' is {value!r}; give START-END in local time, e.g. 22:00-07:00, or 'off'",
            field="quiet_hours",
        ) from None


def _password() -> str:
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    entered: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return entered


def _changes(**options: Any) -> dict[str, Any]:
    """The service's fields from the options given (None: not given)."""
    changes: dict[str, Any] = {}
    for field, value in options.items():
        if value is None:
            continue
        if field == "quiet_hours":
            changes[field] = _quiet_hours(value)
        elif isinstance(value, enum.Enum):
            changes[field] = value.value
        else:
            changes[field] = value
    return changes


def _print_users(users: list[UserOut]) -> None:
    table = Table(
        "id", "name", "display name", "e-mail", "role", "lang", "time zone", "brands", "alerts", "active"
    )
    for user in users:
        prefs = user.preferences
        kinds = ", ".join(prefs.alert_kinds) or "all"
        alerts = f"{kinds} ≥ {prefs.min_severity}, {prefs.delivery}, digest {prefs.digest_hour}:00"
        if prefs.quiet_hours is not None:
            alerts += f", quiet {prefs.quiet_hours.start:%H:%M}-{prefs.quiet_hours.end:%H:%M}"
        table.add_row(
            str(user.id),
            user.name,
            Text(user.display_name),
            Text(user.email),
            user.role,
            user.language,
            user.timezone,
            Text(", ".join(user.brands) or "all"),
            alerts,
            "yes" if user.active else "no",
        )
    console.print(table)


@user_app.command("add")
@wom_command
def add(
    name: Name,
    email: Annotated[str, typer.Option(help="Where notifications go.")],
    role: Annotated[
        RoleChoice,
        typer.Option(help="viewer reads; manager also answers and assigns; admin also manages users."),
    ] = RoleChoice.viewer,
    display_name: DisplayName = None,
    language: Language = None,
    timezone: Timezone = None,
    brand: Brands = None,
    alert_kind: AlertKinds = None,
    min_severity: MinSeverity = None,
    delivery: Delivery = None,
    digest_hour: DigestHour = None,
    quiet_hours: QuietHours = None,
    password: AskPassword = False,
) -> None:
    """Add a user (defaults: every brand, critical alerts at once, digest at 8:00, UTC, English)."""
    engine = open_database(state.settings())
    fields = _changes(
        display_name=display_name,
        language=language,
        timezone=timezone,
        brands=brand or None,
        alert_kinds=alert_kind or None,
        min_severity=min_severity,
        delivery=delivery,
        digest_hour=digest_hour,
        quiet_hours=quiet_hours,
    )
    secret = _password() if password else None
    with engine.begin() as conn:
        user_id = add_user(
            conn, name=name, email=email, role=role.value, password=secret, now=utcnow(), **fields
        )
    console.print(f"added user {user_id} ({name.strip().lower()}), role {role.value}")


@user_app.command("list")
@wom_command
def list_command() -> None:
    """Every user with role, language, time zone, brands and alert preferences; never a password."""
    engine = open_database(state.settings())
    with Session(engine) as session:
        users = list_users(session)
    if not users:
        console.print("no users yet; add one with `wom user add NAME --email ADDRESS --role admin`")
        return
    _print_users(users)


@user_app.command("set")
@wom_command
def set_command(
    name: Name,
    rename: Annotated[str | None, typer.Option(help="A new login name.")] = None,
    email: Email = None,
    role: Role = None,
    display_name: DisplayName = None,
    language: Language = None,
    timezone: Timezone = None,
    brand: Brands = None,
    all_brands: Annotated[bool, typer.Option(help="Follow every brand (clears --brand).")] = False,
    alert_kind: AlertKinds = None,
    all_alert_kinds: Annotated[
        bool, typer.Option(help="Be told of every kind (clears --alert-kind).")
    ] = False,
    min_severity: MinSeverity = None,
    delivery: Delivery = None,
    digest_hour: DigestHour = None,
    quiet_hours: QuietHours = None,
    active: Annotated[
        bool | None, typer.Option("--active/--inactive", help="An inactive user signs in to nothing.")
    ] = None,
    password: AskPassword = False,
    no_password: Annotated[bool, typer.Option(help="Remove the user's password.")] = False,
) -> None:
    """Change what is given; everything else stays."""
    engine = open_database(state.settings())
    changes = _changes(
        name=rename,
        email=email,
        role=role,
        display_name=display_name,
        language=language,
        timezone=timezone,
        brands=[] if all_brands else (brand or None),
        alert_kinds=[] if all_alert_kinds else (alert_kind or None),
        min_severity=min_severity,
        delivery=delivery,
        digest_hour=digest_hour,
        quiet_hours=quiet_hours,
        active=active,
    )
    if not changes and not password and not no_password:
        raise UserError("invalid_value", "nothing to change; give an option, see `wom user set --help`")
    secret = _password() if password else None
    with engine.begin() as conn:
        user_id = user_id_for(conn, name)
        if changes:
            set_user(conn, user_id, changes)
        if password or no_password:
            set_password(conn, user_id, secret)
    console.print(f"changed user {user_id} ({(rename or name).strip().lower()})")


@user_app.command("remove")
@wom_command
def remove(
    name: Name,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a user; the API keys that belong to them are revoked."""
    engine = open_database(state.settings())
    if not yes:
        typer.confirm(f"remove user {name!r} and revoke their API keys?", abort=True)
    with engine.begin() as conn:
        user_id = user_id_for(conn, name)
        revoked = remove_user(conn, user_id, now=utcnow())
    console.print(f"removed user {user_id} ({name.strip().lower()}); revoked {revoked} API key(s)")


@user_app.command(
    "import-email-to",
    help=literal(
        "Make a viewer user for each address of [alerts] email_to that no user has yet "
        "(run once when upgrading; then manage recipients with `wom user`)."
    ),
)
@wom_command
def import_email_to() -> None:
    settings = state.settings()
    engine = open_database(settings)
    if not settings.alerts.email_to:
        console.print("[alerts] email_to is empty: no users to make")
        return
    with engine.begin() as conn:
        made, skipped = import_email_recipients(conn, settings.alerts.email_to, now=utcnow())
    for user_name, address in made:
        console.print(Text(f"added viewer {user_name} <{address}>"))
    for address in skipped:
        err_console.print(Text(f"skipped {address}: a user already has it"))
    console.print(
        f"{len(made)} user(s) added; set their language, time zone and alerts with `wom user set`",
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
