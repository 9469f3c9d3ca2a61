"""The dashboard in headless Chromium, as a person uses it: sign in, switch language, read the overview and
the status page on a 390 px phone and a 1280 px desktop, check them with axe-core, and open /docs with no
internet; correct a label and see the rankings move, merge a suggested author, download both rankings as
CSV and read them back; a viewer's and a tokenless form are refused.

The Content-Security-Policy is enforced here (not bypassed as in the XSS battery), so a violation shows as
a console error. Screenshots go to $SCREENSHOT_DIR when set, else to the test's tmp dir.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from dashboards.ranking_pages import CSV_COLUMNS
from monitor.storage.models import Author, AuthorBrandStats, AuthorIdentity
from tests.api.conftest import NOW, Seeded, build_app, seed
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


# a detractor whose name a spreadsheet would run as a formula: the CSV export must defuse it
HOSTILE_NAME = '=HYPERLINK("https://evil.example/", "Mallory")'


def _seed_people_to_merge_and_defuse(engine: Engine, seeded: Seeded) -> None:
    """Bob on reddit as an author of his own (the same handle as bob on x: a merge suggestion on bob's
    page), and Mallory, a detractor of Acme with a formula for a name."""
    with Session(engine) as session:
        for key, display, handle, stats in (
            ("bob2", "", "u/bob", None),
            ("mallory", HOSTILE_NAME, "u/mallory", 0.6),
        ):
            author = Author(display_name=display, forgotten=False, created_at=NOW - timedelta(days=1))
            session.add(author)
            session.flush()
            assert author.id is not None
            seeded.authors[key] = author.id
            session.add(
                AuthorIdentity(
                    author_id=author.id,
                    source="reddit",
                    identity_key=handle,
                    handle=handle,
                    name="",
                    reach=5,
                    reach_kind="followers",
                    updated_at=NOW,
                )
            )
            if stats is not None:
                session.add(
                    AuthorBrandStats(
                        author_id=author.id,
                        brand_id=seeded.brands["Acme"],
                        mentions=2,
                        positive=0,
                        neutral=0,
                        negative=2,
                        reach=5,
                        first_mention_at=NOW - timedelta(days=3),
                        last_mention_at=NOW - timedelta(days=1),
                        ambassador_score=0.0,
                        detractor_score=stats,
                        segment="detractor",
                        score_terms={},
                        evidence=[],
                    )
                )
        session.commit()


@pytest.fixture
def seeded(sqlite_engine: Engine) -> Seeded:
    world = seed(sqlite_engine)
    seed_inbox(sqlite_engine, world)
    _seed_people_to_merge_and_defuse(sqlite_engine, world)
    make_user(sqlite_engine, "ada", role="admin", timezone="Europe/Amsterdam")
    make_user(sqlite_engine, "vera", role="viewer", timezone="Europe/Amsterdam")
    return world


@pytest.fixture
def base(sqlite_engine: Engine, seeded: Seeded) -> Iterator[str]:
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


def _sign_in(page: Page, base: str, path: str, name: str = "ada") -> None:
    page.goto(base + path)
    page.fill("#name", name)
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


def _ranked(page: Page, base: str, path: str) -> list[tuple[str, str, float]]:
    """(rank, name, score) of each author on a ranking page, as the page shows them, best first."""
    page.goto(base + path)
    rows = page.eval_on_selector_all(
        "ol.ranklist > li.author",
        """els => els.map(li => [li.querySelector('.rank').textContent,
                                 li.querySelector('h3').childNodes[1].textContent.trim(),
                                 li.querySelector('p.meta').textContent])""",
    )
    return [
        (rank.rstrip("."), name, float(meta.split(" · ")[0].removeprefix("score ")))
        for rank, name, meta in rows
    ]


def _position(ranked: list[tuple[str, str, float]], name: str) -> tuple[int, float] | None:
    """(rank, score) of `name` on the list, None when it is not on it."""
    return next(((int(rank), score) for rank, who, score in ranked if who == name), None)


def _shoot(page: Page, screenshots: Path, name: str) -> None:
    """`name` at 390 and 1280 px, whole page; nothing may be wider than the screen."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=screenshots / f"{name}-{width}.png", full_page=True)
        assert _page_width(page) == width, f"{name}-{width}"


def test_a_label_correction_moves_the_author_in_both_rankings(
    browser: Browser, base: str, seeded: Seeded, screenshots: Path
) -> None:
    """Carol's praise corrected to negative on the mentions page: her profile is recomputed in the label's
    own transaction (README "Corrections"), so the next look at the rankings shows her lower among the
    ambassadors (below Alice) and new among the detractors (above Alice)."""
    context = browser.new_context(viewport={"width": 390, "height": 900}, locale="en-GB")
    watch = _Watch(context, base)
    page = watch.page(context)
    _sign_in(page, base, "/ambassadors?brand=Acme")
    ambassadors = _ranked(page, base, "/ambassadors?brand=Acme")
    detractors = _ranked(page, base, "/detractors?brand=Acme")
    assert _position(ambassadors, "Carol") == (2, 2.5)
    assert _position(ambassadors, "Alice A.") == (3, 2.0)
    assert _position(detractors, "Carol") is None

    carol = seeded.authors["carol"]
    page.goto(f"{base}/mentions?brand=Acme&author={carol}")
    card = page.locator("article.mention", has_text="Acme support fixed my router in minutes")
    assert card.locator(".label").first.inner_text() == "positive"
    card.locator("details.correct summary").click()
    card.locator("select[name=sentiment]").select_option("negative")
    card.locator("form.label-form button[type=submit]").click()
    page.wait_for_load_state("load")
    assert page.url == f"{base}/mentions?brand=Acme&author={carol}"  # back where the form was
    card = page.locator("article.mention", has_text="Acme support fixed my router in minutes")
    assert card.locator(".label").first.inner_text() == "negative"
    assert card.locator(".corrected").inner_text() == "corrected by user:ada"
    card.scroll_into_view_if_needed()
    page.screenshot(path=screenshots / "mentions-corrected-390-top.png")

    after = _ranked(page, base, "/ambassadors?brand=Acme")
    carol_after = _position(after, "Carol")
    assert carol_after is not None and carol_after[1] < 2.5 and carol_after[0] > 2
    assert _position(after, "Alice A.") == (2, 2.0)  # Alice passes her
    _shoot(page, screenshots, "ambassadors-after-label")
    after = _ranked(page, base, "/detractors?brand=Acme")
    carol_after, alice = _position(after, "Carol"), _position(after, "Alice A.")
    assert carol_after is not None and alice is not None
    assert carol_after[1] > 0 and carol_after[0] < alice[0]
    _shoot(page, screenshots, "detractors-after-label")
    assert watch.errors == [] and watch.outside == []
    context.close()


def test_a_manager_merges_the_suggested_author(
    browser: Browser, base: str, seeded: Seeded, screenshots: Path
) -> None:
    """Bob's page suggests bob on reddit (the same handle); merging it shows both accounts on bob's page,
    and the merged author's page is gone."""
    bob, bob2 = seeded.authors["bob"], seeded.authors["bob2"]
    context = browser.new_context(viewport={"width": 390, "height": 900}, locale="en-GB")
    watch = _Watch(context, base)
    page = watch.page(context)
    _sign_in(page, base, f"/authors/{bob}")
    handles = "els => els.map(e => e.textContent)"
    assert page.eval_on_selector_all("td[data-label=Handle]", handles) == ["@bob"]
    suggestion = page.locator("ul.suggestions li")
    assert suggestion.count() == 1
    assert "Same handle bob: reddit u/bob" in suggestion.inner_text()
    _shoot(page, screenshots, "author-merge-suggested")
    suggestion.locator("button", has_text=f"Merge author {bob2} into this one").click()
    page.wait_for_load_state("load")
    assert page.url == f"{base}/authors/{bob}"
    assert sorted(page.eval_on_selector_all("td[data-label=Handle]", handles)) == ["@bob", "u/bob"]
    assert page.locator("ul.suggestions").count() == 0
    assert page.locator("form[action$='/split']").count() == 2  # either account may be moved off again
    _shoot(page, screenshots, "author-after-merge")
    gone = page.goto(f"{base}/authors/{bob2}")
    assert gone is not None and gone.status == 404
    assert page.inner_text("h1") == "Not found"  # a page, not the API's JSON
    assert f"there is no author {bob2} (it may have been merged" in page.inner_text("main")
    _shoot(page, screenshots, "author-gone")
    # the one console error is the browser noting the merged author's 404
    assert len(watch.errors) == 1 and "status of 404" in watch.errors[0], watch.errors
    assert watch.outside == []
    context.close()


def _download_csv(page: Page, link: str) -> tuple[str, list[list[str]]]:
    """Click `link` and read the downloaded file back: its suggested name and its rows."""
    with page.expect_download() as download:
        page.click(link)
    saved = download.value.path()
    with open(saved, newline="", encoding="utf-8") as f:
        return download.value.suggested_filename, list(csv.reader(f))


def test_both_rankings_download_as_the_csv_the_page_shows(
    browser: Browser, base: str, seeded: Seeded
) -> None:
    """The download link of each ranking gives a CSV with the header and the page's authors in the page's
    order; Mallory's formula of a name is defused with a leading quote, and no cell starts a formula."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    watch = _Watch(context, base)
    page = watch.page(context)
    _sign_in(page, base, "/ambassadors?brand=Acme")
    for ranking in ("ambassadors", "detractors"):
        shown = _ranked(page, base, f"/{ranking}?brand=Acme")
        profiles = page.eval_on_selector_all(
            "ol.ranklist > li.author a[href^='/authors/']", "els => els.map(e => e.getAttribute('href'))"
        )
        name, rows = _download_csv(page, f"a[href^='/{ranking}/export.csv']")
        assert name == f"{ranking}-Acme-2026-11-20.csv"
        assert tuple(rows[0]) == CSV_COLUMNS
        column = {c: i for i, c in enumerate(CSV_COLUMNS)}
        body = rows[1:]
        assert [r[column["rank"]] for r in body] == [rank for rank, _, _ in shown]
        assert [f"/authors/{r[column['author_id']]}" for r in body] == profiles
        assert [float(r[column["score"]]) for r in body] == pytest.approx([s for _, _, s in shown], abs=0.005)
        names = [r[column["name"]] for r in body]
        assert [n.removeprefix("'") for n in names] == [who for _, who, _ in shown]
        assert [cell for row in body for cell in row if cell[:1] in ("=", "+", "-", "@", "\t", "\r")] == []
        if ranking == "detractors":
            assert "'" + HOSTILE_NAME in names  # shown as is on the page, defused in the file
            assert HOSTILE_NAME in [who for _, who, _ in shown]
    assert watch.errors == [] and watch.outside == []
    context.close()


_SUBMIT = """
([action, fields]) => {
  const form = document.createElement("form");
  form.method = "post";
  form.action = action;
  for (const [name, value] of Object.entries(fields)) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    form.append(input);
  }
  document.body.append(form);
  form.submit();
}
"""


def _post_from_page(page: Page, action: str, fields: dict[str, str]) -> int:
    """Submit a form the page does not offer, as someone editing the page would; the answer's status."""
    with page.expect_navigation() as answer:
        page.evaluate(_SUBMIT, [action, fields])
    response = answer.value
    assert response is not None
    return response.status


def test_a_viewer_and_a_form_without_its_token_are_refused(
    browser: Browser, base: str, seeded: Seeded, screenshots: Path
) -> None:
    """A viewer sees no action on the inbox, mentions and author pages, and a form she makes herself with
    her token is refused; a manager's form without the token is refused too. Nothing changes."""
    mention = seeded.mentions["m02"]
    fields = {"sentiment": "positive", "intent": "praise", "next": "/mentions"}
    for who in ("vera", "ada"):
        context = browser.new_context(viewport={"width": 390, "height": 900}, locale="en-GB")
        watch = _Watch(context, base)
        page = watch.page(context)
        _sign_in(page, base, "/mentions?q=billing", name=who)
        token = page.get_attribute("form.signout input[name=csrf]", "value")
        assert token
        if who == "vera":
            assert page.locator("details.correct").count() == 0
            for path in ("/inbox", f"/authors/{seeded.authors['bob']}"):
                page.goto(base + path)
                assert page.locator("main form[method=post]").count() == 0, path
            page.goto(f"{base}/mentions?q=billing")
            status = _post_from_page(page, f"/mentions/{mention}/sentiment", fields | {"csrf": token})
            assert status == 403
            assert "needs the role manager or admin" in page.inner_text("main .notice")
        else:
            assert page.locator("details.correct").count() == 1
            status = _post_from_page(page, f"/mentions/{mention}/sentiment", fields)
            assert status == 403
            assert "token is missing or stale" in page.inner_text("main .notice")
        page.screenshot(path=screenshots / f"refused-{who}-390-top.png")
        page.goto(f"{base}/mentions?q=billing")
        assert page.locator("article.mention .corrected").count() == 0  # no label was stored
        assert page.locator("article.mention .label").first.inner_text() == "negative"
        assert len(watch.errors) == 1 and "status of 403" in watch.errors[0], watch.errors
        assert watch.outside == []
        context.close()
