"""`wom authors show|suggest|merge|split|forget|export`: authors as people across platforms, and privacy."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from monitor.authors.export import author_export, export_json
from monitor.authors.forget import forget_author
from monitor.authors.merge import merge_authors, split_author
from monitor.authors.suggest import merge_suggestions
from monitor.cli.context import console, err_console, open_database, state, wom_command
from monitor.errors import WomError
from monitor.read.authors import AuthorOverview, author_overview, recent_mentions
from monitor.storage.db import read_only

__all__ = ["register"]

authors_app = typer.Typer(
    help="Authors as people across platforms: show, merge, split; forget and export one person's data.",
    no_args_is_help=True,
)
AuthorId = Annotated[int, typer.Argument(min=1, help="The author id (`wom authors suggest`, the API).")]


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _print_overview(overview: AuthorOverview) -> None:
    # every value that comes from a platform is printed as plain text, never as rich markup
    console.print(Text(f"author {overview.id}: {overview.display_name}", style="bold"))
    identities = Table("identity", "source", "handle", "name", "reach", title="identities")
    for identity in overview.identities:
        reach = "" if identity.reach is None else f"{identity.reach:,} {identity.reach_kind}"
        identities.add_row(
            str(identity.id), identity.source, Text(identity.handle), Text(identity.name), reach
        )
    console.print(identities)
    brands = Table(
        "brand",
        "segment",
        "ambassador",
        "detractor",
        "+",
        "=",
        "-",
        "complaints",
        "last mention",
        title="brands",
    )
    for profile in overview.brands:
        brands.add_row(
            Text(profile.brand),
            profile.segment,
            f"{profile.ambassador_score:.2f}",
            f"{profile.detractor_score:.2f}",
            str(profile.positive),
            str(profile.neutral),
            str(profile.negative),
            str(profile.complaints),
            _when(profile.last_mention_at),
        )
    console.print(brands)
    if overview.segment_history:
        history = Table("when", "brand", "from", "to", "mention", title="segment history")
        for change in overview.segment_history:
            history.add_row(
                _when(change.changed_at),
                Text(change.brand),
                change.from_segment,
                change.to_segment,
                str(change.mention_id or ""),
            )
        console.print(history)


@authors_app.command("show")
@wom_command
def show(
    author_id: AuthorId,
    mentions: Annotated[int, typer.Option(min=0, max=200, help="How many recent mentions to list.")] = 10,
) -> None:
    """An author's identities, per-brand stats and segment history, and its most recent mentions."""
    engine = read_only(open_database(state.settings()))
    with engine.connect() as conn:
        overview = author_overview(conn, author_id)
        recent = recent_mentions(conn, author_id, limit=mentions)
    _print_overview(overview)
    if recent:
        timeline = Table("mention", "when", "source", "sentiment", "intent", "text", title="recent mentions")
        for mention in recent:
            timeline.add_row(
                str(mention.id),
                _when(mention.created_at),
                mention.source,
                mention.sentiment or "",
                mention.intent or "",
                Text(mention.text[:200]),
            )
        console.print(timeline)


@authors_app.command("suggest")
@wom_command
def suggest(
    limit: Annotated[int, typer.Option(min=1, help="At most this many suggestions.")] = 50,
) -> None:
    """Authors with the same handle on different platforms. Only suggestions: nothing is merged."""
    engine = read_only(open_database(state.settings()))
    with engine.connect() as conn:
        suggestions = merge_suggestions(conn, limit=limit)
    if not suggestions:
        console.print("no merge suggestions: no handle is held by different authors on different platforms")
        return
    table = Table("handle", "authors", "identities", "to merge them")
    for suggestion in suggestions:
        identities = ", ".join(f"{i.author_id}: {i.source} {i.handle}" for i in suggestion.identities)
        command = "; ".join(f"wom authors merge {suggestion.into} {other}" for other in suggestion.others)
        authors = ", ".join(map(str, (suggestion.into, *suggestion.others)))
        table.add_row(Text(suggestion.handle), authors, Text(identities), command)
    console.print(table)
    console.print("nothing was merged; the same handle can be two people, so check before you merge")


@authors_app.command("merge")
@wom_command
def merge(
    into: Annotated[int, typer.Argument(min=1, help="The author that stays.")],
    other: Annotated[int, typer.Argument(min=1, help="The author whose identities move to INTO; it goes.")],
) -> None:
    """Merge author OTHER into author INTO: one person across platforms; stats are recomputed."""
    settings = state.settings()
    engine = open_database(settings)
    with engine.begin() as conn:
        result = merge_authors(conn, into=into, merged=other, settings=settings)
    console.print(
        f"merged author {result.merged_author_id} into {result.author_id}: "
        f"{result.identities_moved} identities moved, {result.profiles} brand profiles recomputed"
    )


@authors_app.command("split")
@wom_command
def split(
    author_id: AuthorId,
    identity: Annotated[
        list[int],
        typer.Option(min=1, help="An identity id to move to a new author (repeat for more; see `show`)."),
    ],
) -> None:
    """Move the given identities of an author to a new author; stats of both are recomputed."""
    settings = state.settings()
    engine = open_database(settings)
    with engine.begin() as conn:
        result = split_author(conn, author_id=author_id, identity_ids=identity, settings=settings)
    console.print(
        f"split {result.identities_moved} identities off author {result.author_id} "
        f"into new author {result.new_author_id}; {result.profiles} brand profiles recomputed"
    )


@authors_app.command("forget")
@wom_command
def forget(
    author_id: AuthorId,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a person: identities, mentions and all derived data; only tombstones stay, so collectors
    and imports do not bring them back. This cannot be undone (export first if they asked for a copy)."""
    settings = state.settings()
    engine = open_database(settings)
    with engine.connect() as conn:
        overview = author_overview(conn, author_id)
    if not yes:
        if not sys.stdin.isatty():
            raise WomError(f"forgetting author {author_id} cannot be undone; add --yes to confirm")
        _print_overview(overview)
        typer.confirm(f"Erase author {author_id} and all of its data for good?", abort=True)
    with engine.begin() as conn:
        result = forget_author(conn, author_id)
    erased = result.erased
    console.print(
        f"forgot author {author_id}: {result.identities} identities (tombstoned), {erased.mentions} mentions, "
        f"{erased.classifications} classifications, {erased.labels} labels, {erased.alerts} alerts, "
        f"{erased.deliveries} deliveries, {result.profiles} brand profiles"
    )


@authors_app.command("export")
@wom_command
def export(
    author_id: AuthorId,
    out: Annotated[
        Path | None, typer.Option("--out", dir_okay=False, help="Write to this file (default: stdout).")
    ] = None,
) -> None:
    """One person's data as JSON: identities, mentions with classifications and labels, stats, alerts."""
    engine = read_only(open_database(state.settings()))
    with engine.connect() as conn:
        data = export_json(author_export(conn, author_id))
    if out is None:
        sys.stdout.buffer.write(data + b"\n")
        sys.stdout.buffer.flush()
        return
    try:
        out.write_bytes(data + b"\n")
    except OSError as e:
        raise WomError(f"cannot write {out}: {e.strerror}; check the path and its permissions") from e
    err_console.print(f"wrote author {author_id}'s data to {out!s} ({len(data):,} bytes)")


def register(app: typer.Typer) -> None:
    app.add_typer(authors_app, name="authors")
