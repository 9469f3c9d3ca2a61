"""The dashboard in headless Chromium, as a person uses it: sign in, switch language, read the overview and
the status page on a 390 px phone and a 1280 px desktop, check them with axe-core, and open /docs with no
internet.

The Content-Security-Policy is enforced here (not bypassed as in the XSS battery), so a violation shows as
a console error. Screenshots go to $SCREENSHOT_DIR when set, else to the test's tmp dir.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.engine import Engine

from tests.api.conftest import build_app, seed
from tests.api.inbox_seed import seed_inbox
from tests.dashboards.signin_helpers import PASSWORD, make_user
from tests.security.chromium import launch_chromium
from tests.security.xss_world import serve_in_thread

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

WIDTHS = (390, 1280)
# each page the screenshots show, and the address it is opened at
PAGES = (
    ("overview", "/?brand=Acme&period=30"),
    ("inbox", "/inbox"),
    ("mentions", "/mentions?brand=Acme"),
    ("ambassadors", "/ambassadors?brand=Acme"),
    ("detractors", "/detractors?brand=Acme"),
    ("author", "/authors/2"),
    ("alerts", "/alerts"),
    ("sources", "/sources"),
    ("settings", "/settings"),
    ("settings-keys", "/settings/keys"),
    ("settings-users", "/settings/users"),
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch_chromium() as launched:
        yield launched


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def base(sqlite_engine: Engine) -> Iterator[str]:
    seed_inbox(sqlite_engine, seed(sqlite_engine))
    make_user(sqlite_engine, "ada", role="admin", timezone="Europe/Amsterdam")
    with serve_in_thread(build_app(sqlite_engine)) as url:
        yield url


class _Watch:
    """Console errors (CSP violations among them) and requests that left wom's own address."""

    def __init__(self, context: BrowserContext, base: str) -> None:
        self.errors: list[str] = []
        self.outside: list[str] = []

        def route(route: object) -> None:
            request = route.request  # type: ignore[attr-defined]
            if request.url.startswith(base) or request.url.startswith("data:"):
                route.continue_()  # type: ignore[attr-defined]
            else:
                self.outside.append(request.url)
                route.abort()  # type: ignore[attr-defined]

        context.route("**/*", route)

    def page(self, context: BrowserContext) -> Page:
        page = context.new_page()
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        return page


def _page_width(page: Page) -> int:
    return int(page.evaluate("() => document.documentElement.scrollWidth"))


def test_sign_in_switch_language_and_read_every_page(browser: Browser, base: str, screenshots: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    watch = _Watch(context, base)
    page = watch.page(context)
    page.goto(f"{base}/?brand=Acme&period=7")
    assert page.url == f"{base}/signin?next=%2F%3Fbrand%3DAcme%26period%3D7"
    page.fill("#name", "ada")
    page.fill("#password", PASSWORD)
    page.click("form[action='/signin'] button")
    page.wait_for_load_state("load")
    assert page.url == f"{base}/?brand=Acme&period=7"
    assert page.inner_text("h1") == "Overview Acme"
    assert page.eval_on_selector("#period", "s => s.value") == "7"

    page.click("button[name=language][value=nl]")
    page.wait_for_load_state("load")
    assert page.url == f"{base}/?brand=Acme&period=7"
    assert page.get_attribute("html", "lang") == "nl"
    assert page.inner_text("nav").split() == [
        "Overzicht",
        "Inbox",
        "Vermeldingen",
        "Ambassadeurs",
        "Criticasters",
        "Meldingen",
        "Bronnen",
        "Instellingen",
    ]
    assert page.inner_text("h1") == "Overzicht Acme"

    widths = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for name, path in PAGES:
            for language in ("nl", "en"):
                if page.get_attribute("html", "lang") != language:
                    page.click(f"button[name=language][value={language}]")
                    page.wait_for_load_state("load")
                page.goto(base + path)
                widths[f"{name}-{language}-{width}"] = _page_width(page)
                page.screenshot(path=screenshots / f"{name}-{language}-{width}.png", full_page=True)
                page.screenshot(path=screenshots / f"{name}-{language}-{width}-top.png")
    # nothing is wider than the screen: no sideways scrolling on a phone
    assert widths == {key: int(key.rsplit("-", 1)[1]) for key in widths}

    page.click("form.signout button")
    page.wait_for_load_state("load")
    assert page.url == f"{base}/signin"
    page.goto(base + "/sources")
    assert page.url.startswith(f"{base}/signin")
    assert watch.errors == [] and watch.outside == []


def _sign_in(page: Page, base: str, path: str) -> None:
    page.goto(base + path)
    page.fill("#name", "ada")
    page.fill("#password", PASSWORD)
    page.click("form[action='/signin'] button")
    page.wait_for_load_state("load")
    assert page.url == base + path


def _focused_item(page: Page) -> str | None:
    return page.evaluate("() => document.activeElement && document.activeElement.id") or None


def test_work_an_inbox_item_with_the_keyboard_and_its_forms(
    browser: Browser, base: str, screenshots: Path
) -> None:
    """j and k move through the list (static/inbox.js, allowed by the CSP); acknowledge, then resolve the
    first item and see it move: its state, then out of the list of what is still to do."""
    context = browser.new_context(viewport={"width": 390, "height": 900}, locale="en-GB")
    watch = _Watch(context, base)
    page = watch.page(context)
    _sign_in(page, base, "/inbox")
    ids = page.eval_on_selector_all("article.item", "els => els.map(e => e.id)")
    assert len(ids) == 5
    page.keyboard.press("j")
    assert _focused_item(page) == ids[0]
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert _focused_item(page) == ids[2]
    page.keyboard.press("k")
    assert _focused_item(page) == ids[1]
    page.screenshot(path=screenshots / "inbox-keys-390-top.png")

    first = f"#{ids[0]}"
    page.click(f"{first} form[action$='/ack'] button")
    page.wait_for_load_state("load")
    assert page.inner_text(f"{first} .state") == "acknowledged"
    page.click(f"{first} details.more summary")  # assigning is among the folded actions
    page.select_option(f"{first} select[name=assignee]", label="ada")
    page.click(f"{first} form[action$='/assign'] button")
    page.wait_for_load_state("load")
    assert "assigned to ada" in page.inner_text(f"{first} .meta")
    page.click(f"{first} form[action$='/resolve'] button")
    page.wait_for_load_state("load")
    assert page.eval_on_selector_all("article.item", "els => els.map(e => e.id)") == ids[1:]
    page.goto(f"{base}/inbox?status=resolved")
    assert page.eval_on_selector_all("article.item", "els => els.map(e => e.id)") == ids[:1]
    assert watch.errors == [] and watch.outside == []


def test_settings_a_refused_zone_and_a_new_key(browser: Browser, base: str, screenshots: Path) -> None:
    """A time zone that is none is refused next to its field; a new key is shown once in its box, and the
    page after it has only the key's prefix. Screenshots of both at 390 px, in Dutch."""
    context = browser.new_context(viewport={"width": 390, "height": 900}, locale="nl-NL")
    watch = _Watch(context, base)
    page = watch.page(context)
    _sign_in(page, base, "/settings")
    if page.get_attribute("html", "lang") != "nl":
        page.click("button[name=language][value=nl]")
        page.wait_for_load_state("load")
    page.fill("#timezone", "Amsterdam")
    page.click("form[action='/settings/preferences'] button[type=submit]")
    page.wait_for_load_state("load")
    problem = page.inner_text("#prefs-timezone-problem")
    assert "Dat is geen tijdzone" in problem
    assert page.get_attribute("#timezone", "aria-invalid") == "true"
    page.locator("#timezone").scroll_into_view_if_needed()
    page.screenshot(path=screenshots / "settings-refused-zone-nl-390-top.png")
    page.fill("#timezone", "Europe/Amsterdam")
    page.click("form[action='/settings/preferences'] button[type=submit]")
    page.wait_for_load_state("load")
    assert page.inner_text("p.notice.done") == "Opgeslagen"

    page.goto(base + "/settings/keys")
    page.fill("#key-label", "rapport <script>")
    page.click("form[action='/settings/keys'] button[type=submit]")
    page.wait_for_load_state("load")
    key = page.inner_text("#new-key")
    assert key.startswith("wom_") and len(key) > 40
    page.screenshot(path=screenshots / "settings-new-key-nl-390.png", full_page=True)
    page.goto(base + "/settings/keys")
    assert page.locator("#new-key").count() == 0 and key not in page.content()
    assert page.locator(f"code:text-is('{key[:12]}…')").count() == 2  # mine, and among every key
    # the one console error is the browser noting the refused form's 422 (no CSP violation, no script)
    assert len(watch.errors) == 1 and "status of 422" in watch.errors[0], watch.errors
    assert watch.outside == []
    context.close()


def test_docs_work_without_the_internet(browser: Browser, base: str, screenshots: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    watch = _Watch(context, base)
    page = watch.page(context)
    page.goto(f"{base}/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    paths = page.eval_on_selector_all(".opblock-summary-path", "els => els.map(e => e.textContent)")
    assert "/api/v1/mentions" in [p.replace("\u200b", "") for p in paths]
    page.screenshot(path=screenshots / "docs-1280.png")
    assert watch.errors == [] and watch.outside == []


AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe-core" / "axe.min.js"
_AXE_RUN = """
async () => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21aa"]}});
  const serious = result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => `${v.id} (${v.impact}): ${v.nodes.map(n => n.target.join(" ")).join(", ")}`);
  return {serious: serious, passed: result.passes.length};
}
"""


def test_no_serious_accessibility_violations(browser: Browser, base: str) -> None:
    """axe-core (tests/vendor) on the sign-in page, the overview and the status page, in both languages,
    at both widths. The CSP is bypassed here only so that axe's script can be added to the page."""
    found: dict[str, list[str]] = {}

    def check(page: Page, where: str) -> None:
        page.add_script_tag(path=AXE)
        result = page.evaluate(_AXE_RUN)
        assert result["passed"] > 10, where  # axe ran its rules over the page
        found[where] = result["serious"]

    for width in WIDTHS:
        for language in ("en", "nl"):
            context = browser.new_context(
                viewport={"width": width, "height": 900}, bypass_csp=True, locale=language
            )
            page = context.new_page()
            page.goto(f"{base}/signin")
            assert page.get_attribute("html", "lang") == language  # from the browser's language
            check(page, f"signin-{language}-{width}")
            page.fill("#name", "ada")
            page.fill("#password", PASSWORD)
            page.click("form[action='/signin'] button")
            page.wait_for_load_state("load")
            if page.get_attribute("html", "lang") != language:  # the user's own language wins; switch
                page.click(f"button[name=language][value={language}]")
                page.wait_for_load_state("load")
            for name, path in PAGES:
                page.goto(base + path)
                check(page, f"{name}-{language}-{width}")
            context.close()
    assert {where: problems for where, problems in found.items() if problems} == {}


@pytest.fixture
def sources_base(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The seeded world with sources in every state (tests.dashboards.test_sources_page) and its inbox."""
    from tests.dashboards.test_sources_page import CREDENTIALS, source_settings, source_world

    for name in CREDENTIALS:
        monkeypatch.setenv(name, "set")
    seed_inbox(sqlite_engine, source_world(sqlite_engine))
    make_user(sqlite_engine, "ada", role="admin", timezone="Europe/Amsterdam")
    with serve_in_thread(build_app(sqlite_engine, source_settings())) as url:
        yield url


_NAV_FITS = """
() => {
  const doc = document.documentElement;
  const links = [...document.querySelectorAll("nav.nav a")].map(a => {
    const box = a.getBoundingClientRect();
    return {text: a.innerText, left: box.left, right: box.right, top: box.top, width: box.width};
  });
  return {scroll: doc.scrollWidth, client: doc.clientWidth, view: window.innerWidth, links: links};
}
"""


def test_the_nav_sources_and_inbox_on_a_phone_and_a_desktop(
    browser: Browser, sources_base: str, screenshots: Path
) -> None:
    """Every nav item is on screen at 390 px (the list wraps, nothing scrolls sideways) in both languages;
    /sources and /inbox are screenshot at 390 and 1280 px, and axe finds nothing serious on them."""
    found: dict[str, list[str]] = {}
    for width in WIDTHS:
        for language in ("en", "nl"):
            context = browser.new_context(
                viewport={"width": width, "height": 900}, bypass_csp=True, locale=language
            )
            page = context.new_page()
            _sign_in(page, sources_base, "/sources")
            if page.get_attribute("html", "lang") != language:
                page.click(f"button[name=language][value={language}]")
                page.wait_for_load_state("load")
            fits = page.evaluate(_NAV_FITS)
            where = f"{language}-{width}"
            assert fits["scroll"] <= fits["client"], where
            assert len(fits["links"]) >= 7, fits["links"]  # overview to sources, and settings
            for link in fits["links"]:
                assert link["width"] > 0 and link["left"] >= 0 and link["right"] <= fits["view"], (
                    where,
                    link,
                )
            if width == 390:  # two lines of links: the last one sits below the first
                assert fits["links"][-1]["top"] > fits["links"][0]["top"], where
            for name in ("sources", "inbox"):
                page.goto(f"{sources_base}/{name}")
                assert page.get_attribute("html", "lang") == language
                assert _page_width(page) == width, f"{name}-{where}"
                page.screenshot(path=screenshots / f"{name}-states-{where}.png", full_page=True)
                page.screenshot(path=screenshots / f"{name}-states-{where}-top.png")
                if name == "inbox":  # the folded actions of the first item, opened
                    page.click("article.item details.more summary")
                    more = page.locator("article.item details.more").first
                    assert more.locator("form.suppress").count() == 2
                    more.screenshot(path=screenshots / f"inbox-more-actions-{where}.png")
                page.add_script_tag(path=AXE)
                result = page.evaluate(_AXE_RUN)
                assert result["passed"] > 10, f"{name}-{where}"
                found[f"{name}-{where}"] = result["serious"]
            context.close()
    assert {where: problems for where, problems in found.items() if problems} == {}
