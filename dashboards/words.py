"""The stored values a page shows as words (sentiments, intents, segments, states, roles, counted rows):
each value's English text, translated by the catalogue like any other message. A value missing here is
shown as stored, with spaces for underscores."""

from __future__ import annotations

__all__ = ["COUNTED", "N_", "WORDS"]


def N_(message: str) -> str:
    return message


WORDS: dict[str, str] = {
    # sentiment
    "positive": N_("positive"),
    "neutral": N_("neutral"),
    "negative": N_("negative"),
    # intent
    "complaint": N_("complaint"),
    "question": N_("question"),
    "praise": N_("praise"),
    "other": N_("other"),
    # segment
    "ambassador": N_("ambassador"),
    "fan": N_("fan"),
    "occasional": N_("occasional"),
    "critic": N_("critic"),
    "detractor": N_("detractor"),
    # alert severity and kind
    "info": N_("info"),
    "warning": N_("warning"),
    "critical": N_("critical"),
    "complaint_to_answer": N_("complaint to answer"),
    "influential_negative": N_("influential negative"),
    "negative_spike": N_("negative spike"),
    "ambassador_at_risk": N_("ambassador at risk"),
    "new_ambassador": N_("new ambassador"),
    "detractor_emerging": N_("emerging detractor"),
    "review_rating_drop": N_("review rating drop"),
    "first_response_missed": N_("first response missed"),
    "source_down": N_("source down"),
    "source_silent": N_("source silent"),
    "new_detractor": N_("new detractor"),
    "influential_detractor": N_("influential detractor"),
    # role
    "viewer": N_("viewer"),
    "manager": N_("manager"),
    "admin": N_("admin"),
    # a source's state
    "ok": N_("ok"),
    "disabled": N_("disabled"),
    "backing_off": N_("backing off"),
    "silent": N_("silent"),
    "failing": N_("failing"),
    "never_run": N_("never run"),
    # a job run's status
    "running": N_("running"),
    "succeeded": N_("succeeded"),
    "failed": N_("failed"),
    "stale": N_("stale"),
    # an inbox item's state, the dashboard's inbox views, and a dismissal's reason
    "open": N_("open"),
    "acknowledged": N_("acknowledged"),
    "answered": N_("answered"),
    "resolved": N_("resolved"),
    "dismissed": N_("dismissed"),
    "withdrawn": N_("withdrawn"),
    "to_do": N_("still to do"),
    "all": N_("all"),
    "not_relevant": N_("not relevant"),
    "spam": N_("spam"),
    "bot": N_("bot"),
    "handled_elsewhere": N_("handled elsewhere"),
    # who wrote a mention of an inbox item's conversation
    "author": N_("customer"),
    "own": N_("our reply"),
}

# the stored rows the status page counts, by table, and what it calls them
COUNTED: dict[str, str] = {
    "brand": N_("Brands"),
    "mention": N_("Mentions"),
    "classification": N_("Classified mentions"),
    "mentionlabel": N_("Corrected labels"),
    "author": N_("Authors"),
    "alert": N_("Alerts"),
    "inboxitem": N_("Inbox items"),
    "user": N_("Users"),
    "jobrun": N_("Job runs"),
}
