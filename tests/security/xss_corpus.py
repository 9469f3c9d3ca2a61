"""The XSS payload corpus of the S-4 battery (docs: RELIABILITY.md), written for wom's pages and e-mails.

Each payload, when it executes, sets `window.__xss = 1` or opens a dialog (alert/confirm/prompt), so a
browser sees an execution without reading the page. Each also names the `sink`: the raw context in which
it does execute (or, for URL payloads, draws a link whose scheme is not http(s)). tests/security/
test_xss_corpus.py proves that in Chromium, payload by payload, so a zero from the battery means escaping
held, not that the payloads were duds.

Sinks, as a page would hold the payload (at `$`) without escaping:
  html         <div>$</div>                      body text (mention text, handles, names, titles)
  attr         <div title="$">                    a double-quoted attribute (option value, title=)
  attr_sq      <div title='$'>                    a single-quoted attribute
  url          <a href="$">                       a link (the mention URL); counted as a non-http href
  script       <script>var s = "$";</script>      a JS string
  script_sq    <script>var s = '$';</script>
  style        <style>p { color: $ }</style>      CSS
  style_attr   <p style="color: $">               an inline style attribute
  title        <title>$</title>                   the page title (the brand name)
  textarea     <textarea>$</textarea>             RCDATA
  reparse      <div>$</div> read back through innerHTML and written again (mutation XSS)
  decoded      <div>$</div> after one html.unescape (a double-decoding renderer)
"""

from __future__ import annotations

import html
from dataclasses import dataclass

__all__ = ["CONTEXTS", "PAYLOADS", "SINKS", "Payload", "raw_document"]

CONTEXTS = ("tag", "attribute", "url", "js_string", "css", "svg", "mutation", "entity")


@dataclass(frozen=True, slots=True)
class Payload:
    """One hostile string: the context it is written for, the raw sink it fires in, and its text."""

    name: str
    context: str
    sink: str
    text: str

    @property
    def runs_on_click(self) -> bool:
        """A link: it runs when the reader clicks it, so what counts is a drawn non-http(s) URL."""
        return self.sink == "url" or "xlink:href" in self.text


_RAW: list[tuple[str, str, str, str]] = [
    # --- tag context: new elements in body text
    ("script", "tag", "html", "<script>window.__xss=1</script>"),
    ("script-alert", "tag", "html", "<script>alert(1)</script>"),
    ("script-upper", "tag", "html", "<SCRIPT>window.__xss = 1</SCRIPT>"),
    ("script-src-data", "tag", "html", '<script src="data:text/javascript,window.__xss=1"></script>'),
    ("img-onerror", "tag", "html", "<img src=x onerror=window.__xss=1>"),
    ("img-onerror-alert", "tag", "html", "<img src=x onerror=alert(1)>"),
    ("img-slash", "tag", "html", '<img/src="x"/onerror=window.__xss=1>'),
    ("img-backtick", "tag", "html", "<img src=x onerror=alert`1`>"),
    ("body-onload", "tag", "html", "<body onload=window.__xss=1>"),
    ("iframe-srcdoc", "tag", "html", '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>'),
    ("iframe-js", "tag", "html", '<iframe src="javascript:parent.__xss=1"></iframe>'),
    ("details-ontoggle", "tag", "html", "<details open ontoggle=window.__xss=1>x</details>"),
    ("input-autofocus", "tag", "html", "<input autofocus onfocus=window.__xss=1>"),
    ("video-onerror", "tag", "html", "<video><source onerror=window.__xss=1></video>"),
    ("audio-onerror", "tag", "html", "<audio src=x onerror=window.__xss=1>"),
    ("object-data", "tag", "html", '<object data="data:text/html,<script>alert(1)</script>"></object>'),
    ("embed-src", "tag", "html", '<embed src="data:text/html,<script>alert(1)</script>">'),
    ("select-autofocus", "tag", "html", "<select autofocus onfocus=window.__xss=1></select>"),
    ("style-onload", "tag", "html", "<style onload=window.__xss=1></style>"),
    ("image-tag", "tag", "html", "<image src=x onerror=window.__xss=1>"),
    ("unclosed-tag", "tag", "html", "<img src=x onerror=window.__xss=1 "),
    ("handle-like", "tag", "html", "@evil<img src=x onerror=window.__xss=1>"),
    ("title-breakout", "tag", "title", "</title><img src=x onerror=window.__xss=1>"),
    ("textarea-breakout", "tag", "textarea", "</textarea><img src=x onerror=window.__xss=1>"),
    # --- attribute context: leave a quoted attribute
    ("dq-breakout", "attribute", "attr", '"><img src=x onerror=window.__xss=1>'),
    ("dq-event", "attribute", "attr", '" autofocus tabindex=1 onfocus="window.__xss=1'),
    ("dq-style-anim", "attribute", "attr", '" style="animation-name:spin" onanimationstart="window.__xss=1'),
    ("dq-breakout-script", "attribute", "attr", '"><script>window.__xss=1</script>'),
    ("sq-breakout", "attribute", "attr_sq", "'><img src=x onerror=window.__xss=1>"),
    ("sq-event", "attribute", "attr_sq", "' autofocus tabindex=1 onfocus='window.__xss=1"),
    ("dq-svg", "attribute", "attr", '"><svg onload=window.__xss=1>'),
    ("dq-details", "attribute", "attr", '"><details open ontoggle=alert(1)>'),
    ("option-breakout", "attribute", "attr", '"></option></select><img src=x onerror=window.__xss=1>'),
    # --- URL context: a link the reader clicks
    ("js-url", "url", "url", "javascript:window.__xss=1"),
    ("js-url-alert", "url", "url", "javascript:alert(1)"),
    ("js-url-case", "url", "url", "JaVaScRiPt:alert(2)"),
    ("js-url-space", "url", "url", " javascript:alert(1)"),
    ("js-url-tab", "url", "url", "java\tscript:alert(1)"),
    ("js-url-newline", "url", "url", "java\nscript:alert(1)"),
    ("js-url-comment", "url", "url", "javascript://https://acme.example/%0Aalert(1)"),
    ("data-url-html", "url", "url", "data:text/html,<script>alert(1)</script>"),
    ("data-url-b64", "url", "url", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="),
    ("vbscript-url", "url", "url", "vbscript:msgbox(1)"),
    ("js-url-entity", "url", "url", "&#106;avascript:alert(1)"),
    ("js-url-colon-entity", "url", "url", "javascript&colon;alert(1)"),
    ("js-url-hex-entity", "url", "url", "&#x6A;&#x61;&#x76;&#x61;script&#x3A;alert(1)"),
    ("url-attr-breakout", "url", "attr", 'https://acme.example/"><img src=x onerror=window.__xss=1>'),
    # --- JS-string context
    ("js-dq-close", "js_string", "script", '";window.__xss=1;//'),
    ("js-sq-close", "js_string", "script_sq", "';window.__xss=1;//"),
    ("js-script-close", "js_string", "script", "</script><script>window.__xss=1</script>"),
    ("js-script-close-upper", "js_string", "script", "</SCRIPT ><img src=x onerror=window.__xss=1>"),
    ("js-arith", "js_string", "script", '"-(window.__xss=1)-"'),
    ("js-template", "js_string", "script", '"+(window.__xss=1)+"'),
    # --- CSS context
    ("css-style-close", "css", "style", "red}</style><img src=x onerror=window.__xss=1>"),
    ("css-style-close-script", "css", "style", "</style><script>window.__xss=1</script>"),
    ("css-attr-breakout", "css", "style_attr", 'red" onmouseover="x"><img src=x onerror=window.__xss=1>'),
    ("css-expression", "css", "style_attr", 'red;x:expression(alert(1))"><svg onload=window.__xss=1>'),
    ("css-import-js", "css", "style", "}@import 'javascript:alert(1)';</style><svg onload=alert(1)>"),
    # --- SVG
    ("svg-onload", "svg", "html", "<svg onload=window.__xss=1>"),
    ("svg-script", "svg", "html", "<svg><script>window.__xss=1</script></svg>"),
    (
        "svg-script-href",
        "svg",
        "html",
        '<svg><script href="data:text/javascript,window.__xss=1"></script></svg>',
    ),
    ("svg-animate", "svg", "html", "<svg><animate onbegin=window.__xss=1 attributeName=x dur=1s></svg>"),
    ("svg-set", "svg", "html", "<svg><set onbegin=alert(1) attributeName=x to=1></svg>"),
    (
        "svg-a-xlink",
        "svg",
        "html",
        '<svg><a xlink:href="javascript:alert(1)"><text x=20 y=20>open</text></a></svg>',
    ),
    ("svg-title-breakout", "svg", "html", "<svg><title><img src=x onerror=window.__xss=1></title></svg>"),
    (
        "svg-foreignobject",
        "svg",
        "html",
        "<svg><foreignObject><img src=x onerror=window.__xss=1></foreignObject></svg>",
    ),
    ("svg-style-breakout", "svg", "html", "<svg><style><img src=x onerror=window.__xss=1></style></svg>"),
    # --- mutation XSS: harmless as parsed, live after innerHTML is read back and written again
    (
        "mxss-noscript",
        "mutation",
        "html",
        '<noscript><p title="</noscript><img src=x onerror=window.__xss=1>"></noscript>',
    ),
    (
        "mxss-svg-style",
        "mutation",
        "html",
        '<svg></p><style><a id="</style><img src=1 onerror=window.__xss=1>">',
    ),
    ("mxss-noembed", "mutation", "html", '<noembed><img title="</noembed><img src onerror=window.__xss=1>">'),
    (
        "mxss-noframes",
        "mutation",
        "html",
        '<noframes><p title="</noframes><img src onerror=window.__xss=1>">',
    ),
    (
        "mxss-iframe-text",
        "mutation",
        "html",
        '<iframe><img title="</iframe><img src onerror=alert(1)>"></iframe>',
    ),
    (
        "mxss-svg-title",
        "mutation",
        "reparse",
        '<svg></p><title><a id="</title><img src=x onerror=window.__xss=1>"></a></title></svg>',
    ),
    (
        "mxss-svg-p",
        "mutation",
        "reparse",
        '<svg></p><style><g title="</style><img src=x onerror=window.__xss=1>">',
    ),
    (
        "mxss-math-style",
        "mutation",
        "reparse",
        "<math><style><img src=x onerror=window.__xss=1></style></math>",
    ),
    ("mxss-xmp", "mutation", "reparse", '<xmp><img title="</xmp><img src=x onerror=window.__xss=1>"></xmp>'),
    ("mxss-comment", "mutation", "html", "<!--><img src=x onerror=window.__xss=1>-->"),
    # --- entity-encoded: inert as text, live where something decodes once more
    ("entity-named", "entity", "decoded", "&lt;img src=x onerror=window.__xss=1&gt;"),
    ("entity-decimal", "entity", "decoded", "&#60;script&#62;window.__xss=1&#60;/script&#62;"),
    ("entity-hex", "entity", "decoded", "&#x3C;svg onload=window.__xss=1&#x3E;"),
    ("entity-no-semicolon", "entity", "decoded", "&#60img src=x onerror=window.__xss=1&#62"),
    ("entity-quot", "entity", "decoded", "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"),
    (
        "entity-double",
        "entity",
        "decoded",
        "&amp;lt;img src=x onerror=alert(1)&amp;gt;<img src=x onerror=alert(1)>",
    ),
]

PAYLOADS: tuple[Payload, ...] = tuple(Payload(name, ctx, sink, text) for name, ctx, sink, text in _RAW)

SINKS = {
    "html": "<div>$</div>",
    "attr": '<div title="$">x</div>',
    "attr_sq": "<div title='$'>x</div>",
    "url": '<a href="$">open</a>',
    "script": '<script>var s = "$";</script>',
    "script_sq": "<script>var s = '$';</script>",
    "style": "<style>p { color: $ }</style><p>x</p>",
    "style_attr": '<p style="color: $">x</p>',
    "title": "<title>$</title>",
    "textarea": "<textarea>$</textarea>",
    "reparse": '<div id="m">$</div><script>const m = document.getElementById("m"); m.innerHTML = m.innerHTML;</script>',
    "decoded": "<div>$</div>",
}

_SPIN = "<style>@keyframes spin { from { opacity: 0 } to { opacity: 1 } }</style>"


def raw_document(payload: Payload) -> str:
    """A page holding `payload` unescaped in its sink: what a renderer without escaping would serve."""
    text = html.unescape(payload.text) if payload.sink == "decoded" else payload.text
    body = SINKS[payload.sink].replace("$", text)
    head = body if payload.sink == "title" else ""
    return f"<!doctype html><html><head>{_SPIN}{head}</head><body>{'' if head else body}</body></html>"
