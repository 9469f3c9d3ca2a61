"""The seeded world's inbox, as the real inbox stage leaves it: the Acme complaints and questions of
tests.api.conftest become items (bob's question and complaint three hours apart fold into one)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.config import Settings
from monitor.inbox.stage import update_inbox
from monitor.storage.models import InboxItemMention
from monitor.storage.tables import table_of
from tests.api.conftest import NOW, Seeded

__all__ = ["seed_inbox"]


def seed_inbox(engine: Engine, seeded: Seeded, settings: Settings | None = None) -> dict[str, int]:
    """Place every seeded mention in the inbox (at NOW); fills and returns `seeded.inbox`."""
    by_id = {mention_id: key for key, mention_id in seeded.mentions.items()}
    with engine.begin() as conn:
        update_inbox(conn, mention_ids=sorted(by_id), settings=settings or Settings(), now=NOW)
        links = table_of(InboxItemMention)
        for mention_id, item_id in conn.execute(sa.select(links.c.mention_id, links.c.item_id)):
            seeded.inbox[by_id[mention_id]] = item_id
    return seeded.inbox
