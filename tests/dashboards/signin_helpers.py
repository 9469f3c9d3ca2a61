"""Signing in to the dashboard as a browser does: users made through the user service, the sign-in form
read for its token, the session cookie kept by the client."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from api.deps import get_now
from monitor.service.users import add_user
from tests.api.conftest import NOW, KeylessClient

__all__ = ["BROWSER", "PASSWORD", "browser", "form_token", "make_user", "now_is", "sign_in"]

PASSWORD = "correct horse battery staple"
BROWSER = {"Accept": "text/html,application/xhtml+xml"}


def make_user(engine: Engine, name: str, *, role: str, language: str = "en", timezone: str = "UTC") -> int:
    with engine.begin() as conn:
        return add_user(
            conn,
            name=name,
            email=f"{name}@acme.example",
            role=role,
            password=PASSWORD,
            now=NOW,
            language=language,
            timezone=timezone,
        )


def browser(app: FastAPI, **kwargs: object) -> KeylessClient:
    """A client that sends no key, accepts HTML and does not follow redirects (so tests see them)."""
    client = KeylessClient(app, follow_redirects=False, **kwargs)  # type: ignore[arg-type]
    client.headers.update(BROWSER)
    return client


def form_token(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]*)"', html)
    assert found is not None, html[:500]
    return found.group(1)


def sign_in(client: KeylessClient, name: str, password: str = PASSWORD, *, next_page: str = "/") -> Any:
    """GET the sign-in form, POST it; returns the POST's response."""
    form = client.get("/signin")
    assert form.status_code == 200
    return client.post(
        "/signin",
        data={"csrf": form_token(form.text), "name": name, "password": password, "next": next_page},
    )


def now_is(app: FastAPI, when: datetime) -> None:
    """Set the app's clock."""
    app.dependency_overrides[get_now] = lambda: when
