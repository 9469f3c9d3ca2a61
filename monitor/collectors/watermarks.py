"""A time watermark for sources read newest first without a `since` parameter (Google Play, Trustpilot).

It is the newest creation time stored plus the ids stored at exactly that time: an item that shares that
time but arrives later is still collected, and nothing older is read again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.records import MentionRecord

__all__ = ["TimeWatermark"]


@dataclass(frozen=True, slots=True)
class TimeWatermark:
    time: datetime | None = None
    ids: frozenset[str] = frozenset()

    @classmethod
    def load(cls, saved: Any) -> TimeWatermark:
        """From a cursor's `{"watermark": iso, "ids": [...]}`; empty when absent or unreadable (read again)."""
        if not isinstance(saved, Mapping):
            return cls()
        try:
            time = datetime.fromisoformat(str(saved["watermark"]))
        except (KeyError, ValueError):
            return cls()
        if time.tzinfo is None:
            return cls()
        ids = saved.get("ids")
        return cls(time, frozenset(str(i) for i in ids) if isinstance(ids, list) else frozenset())

    def covers(self, record: MentionRecord) -> bool:
        """True when `record` is at or before the watermark, i.e. stored by an earlier run."""
        if self.time is None:
            return False
        return record.created_at < self.time or (
            record.created_at == self.time and record.external_id in self.ids
        )

    def advanced(self, records: Iterable[MentionRecord]) -> TimeWatermark:
        """The watermark once `records` are stored."""
        newest, ids = self.time, set(self.ids)
        for record in records:
            if newest is None or record.created_at > newest:
                newest, ids = record.created_at, {record.external_id}
            elif record.created_at == newest:
                ids.add(record.external_id)
        return TimeWatermark(newest, frozenset(ids))

    def dump(self) -> dict[str, Any]:
        if self.time is None:
            return {}
        return {"watermark": self.time.isoformat(), "ids": sorted(self.ids)}
