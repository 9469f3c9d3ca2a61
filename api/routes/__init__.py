"""One module per resource under /api/v1; each exposes `router` and the query functions behind it."""
