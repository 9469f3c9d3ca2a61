"""`wom apikey create|list|revoke`: the keys that open the API and the dashboard."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from monitor.cli.context import console, err_console, open_database, state, wom_command
from monitor.storage.api_keys import create_api_key, list_api_keys, revoke_api_key

__all__ = ["register"]

apikey_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


class RoleChoice(enum.StrEnum):
    viewer = "viewer"
    manager = "manager"
    admin = "admin"


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


@apikey_app.command("create")
@wom_command
def create(
    role: Annotated[
        RoleChoice,
        typer.Option(
            help="viewer reads; manager also writes mentions, labels and authors; admin also forgets."
        ),
    ],
    brand: Annotated[
        str | None,
        typer.Option(help="Limit the key to this brand and its competitors (default: all brands)."),
    ] = None,
    label: Annotated[str, typer.Option(help="A note for people: who or what uses the key.")] = "",
    user: Annotated[
        str | None,
        typer.Option(help="The user the key belongs to: the API records its actions as that user."),
    ] = None,
) -> None:
    """Make a key. It is printed once, alone on stdout; wom keeps only its SHA-256 digest."""
    engine = open_database(state.settings())
    made = create_api_key(engine, role=role.value, brand=brand, label=label, user=user)
    scope = f"brand {made.info.brand} and its competitors" if made.info.brand else "every brand"
    owner = "" if made.info.user is None else f", of user {made.info.user.name}"
    err_console.print(
        f"API key {made.info.id} ({made.info.prefix}…), role {made.info.role}, {scope}{owner}. "
        "Store it now: it is not shown again. Send it as 'Authorization: Bearer KEY'.",
        soft_wrap=True,
    )
    typer.echo(made.key)


@apikey_app.command("list")
@wom_command
def list_keys() -> None:
    """Every key with its prefix, role, brand, label and use; never the key itself."""
    keys = list_api_keys(open_database(state.settings()))
    if not keys:
        console.print("no API keys yet; make one with `wom apikey create --role viewer`")
        return
    table = Table("id", "prefix", "role", "brand", "user", "label", "created", "last used", "revoked")
    for key in keys:
        table.add_row(
            str(key.id),
            key.prefix,
            key.role,
            key.brand or "all",
            "" if key.user is None else key.user.name,
            key.label,
            _when(key.created_at),
            _when(key.last_used_at),
            _when(key.revoked_at),
        )
    console.print(table)


@apikey_app.command("revoke")
@wom_command
def revoke(
    prefix_or_id: Annotated[str, typer.Argument(help="The id or prefix `wom apikey list` shows.")],
) -> None:
    """Revoke a key: the next request with it gets 401."""
    key = revoke_api_key(open_database(state.settings()), prefix_or_id)
    console.print(f"revoked API key {key.id} ({key.prefix}…) at {_when(key.revoked_at)}")


def register(app: typer.Typer) -> None:
    app.add_typer(apikey_app, name="apikey")
