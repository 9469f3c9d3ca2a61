"""Headless Chromium for the XSS battery: launch it (or skip saying why) and count what executed on a page.

The Debian `chromium` package is used (/usr/bin/chromium, which .ci/run installs); `playwright install` is
never run, as its browser download is not reachable here.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Dialog, Page

__all__ = ["CHROMIUM", "Findings", "XssProbe", "launch_chromium"]

CHROMIUM = Path("/usr/bin/chromium")
_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# the dashboard's own scripts, as its templates load them (src only, no inline code)
OWN_SCRIPTS = ["/static/inbox.js"]

# Every element and attribute of the page (frames and shadow roots included): event-handler attributes,
# URL attributes whose scheme is not http(s), and elements that run or load code. wom's templates have
# none of these but the empty script elements of wom's own files (OWN_SCRIPTS), so whatever is found came
# from data.
_INSPECT = """
() => {
  const found = {canary: window.__xss === 1 ? 1 : 0, on_attrs: [], non_http_urls: [], code_elements: []};
  const urlAttrs = new Set(["href", "src", "action", "formaction", "xlink:href", "data", "poster",
                            "background", "srcdoc", "ping", "codebase"]);
  const codeTags = new Set(["SCRIPT", "IFRAME", "FRAME", "OBJECT", "EMBED", "BASE", "APPLET", "PORTAL"]);
  const ownScripts = new Set(OWN_SCRIPTS);
  const own = (el) => el.tagName === "SCRIPT" && ownScripts.has(el.getAttribute("src")) && el.textContent === "";
  const walk = (root, base) => {
    for (const el of root.querySelectorAll("*")) {
      const tag = el.tagName.toUpperCase();
      if ((codeTags.has(tag) && !own(el)) || (tag === "META" && el.hasAttribute("http-equiv"))) {
        found.code_elements.push(tag);
      }
      for (const attr of el.attributes) {
        const name = attr.name.toLowerCase();
        if (name.startsWith("on")) found.on_attrs.push(`${tag} ${name}`);
        if (!urlAttrs.has(name)) continue;
        let scheme;
        try { scheme = name === "srcdoc" ? "srcdoc" : new URL(attr.value, base).protocol; }
        catch (e) { scheme = "unresolvable"; }
        if (scheme !== "http:" && scheme !== "https:") found.non_http_urls.push(`${tag} ${name}=${attr.value}`);
      }
      if (el.shadowRoot) walk(el.shadowRoot, base);
      if (tag === "IFRAME" || tag === "FRAME") {
        try { if (el.contentDocument) walk(el.contentDocument, el.contentDocument.baseURI); } catch (e) {}
      }
    }
  };
  walk(document, document.baseURI);
  return found;
}
""".replace("OWN_SCRIPTS", json.dumps(OWN_SCRIPTS))
# Lets handlers queued by the parse run (ontoggle, onbegin, animation and focus events) before counting.
_SETTLE = """
() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 20))))
"""


@dataclass
class Findings:
    """What one page did or holds that only hostile data can cause; every count is 0 on a safe page."""

    dialogs: list[str] = field(default_factory=list)
    canary: int = 0
    on_attrs: list[str] = field(default_factory=list)
    non_http_urls: list[str] = field(default_factory=list)
    code_elements: list[str] = field(default_factory=list)

    @property
    def executions(self) -> int:
        """Payloads seen running: dialogs opened plus the `window.__xss` canary."""
        return len(self.dialogs) + self.canary

    def counts(self) -> dict[str, int]:
        return {
            "dialogs": len(self.dialogs),
            "canary_set": self.canary,
            "on_attrs_from_data": len(self.on_attrs),
            "non_http_urls": len(self.non_http_urls),
            "code_elements": len(self.code_elements),
        }


class XssProbe:
    """One browser page that records dialogs and counts what hostile data made of each document it loads.

    Every load starts from a new document and window (set_content goes by about:blank first), so no canary,
    handler or timer carries over from the document before.
    """

    def __init__(self, page: Page) -> None:
        self.page = page
        self._dialogs: list[str] = []
        page.on("dialog", self._on_dialog)

    def _on_dialog(self, dialog: Dialog) -> None:
        self._dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def goto(self, url: str, *, expect_status: int = 200) -> Findings:
        """Open `url` (waiting for its load event), let queued handlers run, and count."""
        self._dialogs = []
        response = self.page.goto(url, wait_until="load")
        assert response is not None and response.status == expect_status, (url, response and response.status)
        return self.inspect_again()

    def set_content(self, html: str) -> Findings:
        """Load `html` as the page (an e-mail body, a raw document), let queued handlers run, and count."""
        self.page.goto("about:blank")
        self._dialogs = []
        self.page.set_content(html, wait_until="load")
        return self.inspect_again()

    def inspect_again(self) -> Findings:
        """Count the current document (again), with every dialog seen since it was loaded."""
        self.page.evaluate(_SETTLE)
        found: dict[str, Any] = self.page.evaluate(_INSPECT)
        return Findings(dialogs=list(self._dialogs), **found)


@contextmanager
def launch_chromium() -> Iterator[Browser]:
    """Headless Debian Chromium through Playwright; skips the test with the reason when either is absent."""
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("playwright is not installed: pip install -e '.[dev]' (CI installs it)")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: apt-get install chromium (.ci/run installs it when absent)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=_ARGS)
        try:
            yield browser
        finally:
            browser.close()
