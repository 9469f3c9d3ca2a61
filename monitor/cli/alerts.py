"""`wom alerts test --brand NAME`: one test message through every channel (e-mail to the brand's users and
to the `[alerts] email_to` addresses that are no user's, every `[[webhooks]]` entry), each channel's result."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from monitor.cli.context import console, err_console, open_database, state, wom_command
from monitor.errors import UnknownBrandError
from monitor.service.alert_test import send_test_messages
from monitor.storage.models import utcnow

__all__ = ["register"]

alerts_app = typer.Typer(help="Alert delivery: send a test through every channel.", no_args_is_help=True)


@alerts_app.command("test")
@wom_command
def test_channels(
    brand: Annotated[str, typer.Option("--brand", help="The brand the test message is about.")],
) -> None:
    """Send one test message through every channel and show each channel's result."""
    settings = state.settings()
    engine = open_database(settings)
    try:
        results = send_test_messages(engine, settings, brand=brand, now=utcnow())
    except UnknownBrandError as e:
        err_console.print(Text(str(e)))
        raise typer.Exit(2) from e
    if not results:
        console.print(
            "no channel is configured: add users with an e-mail (wom user add), [alerts] email_to or [[webhooks]]"
        )
        raise typer.Exit(1)
    table = Table("channel", "recipient", "result", "error")
    for result in results:
        table.add_row(Text(result.channel), Text(result.recipient), Text(result.status), Text(result.error))
    console.print(table)
    if any(result.status != "sent" for result in results):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
