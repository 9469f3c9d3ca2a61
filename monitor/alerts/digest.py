"""Render a user's daily digest (and the test e-mail) as subject, plain text and escaped HTML, in Dutch or
English, with times on the user's clock.

The texts come from the catalogues of monitor.alerts.i18n; the message ids are the English texts. The HTML
comes from a jinja2 Environment with autoescape on for every template: mention text, author and brand
names are hostile. Links are only http(s).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import jinja2

from monitor.alerts.i18n import LANGUAGES, translations
from monitor.alerts.rules import plain_text
from monitor.read.digest import DigestAlert, DigestData, SentimentCounts

__all__ = ["LANGUAGES", "RenderedEmail", "render_digest", "render_test_email", "translations"]

TEXT_CHARS = 280
ALERTS_LISTED = 100

_DIGEST_HTML = """\
<!doctype html>
<html lang="{{ lang }}">
<head><meta charset="utf-8"><title>{{ title }}</title></head>
<body style="font-family: Arial, Helvetica, sans-serif; color: #1f2328; max-width: 680px;">
<h1 style="font-size: 18px;">{{ title }}</h1>
<p style="font-size: 12px; color: #57606a;">{{ period }}</p>
<h2 style="font-size: 15px;">{{ _("Mentions") }}</h2>
<table style="font-size: 13px;">
{% for label, count, before in volume %}<tr><th align="left" style="padding-right: 12px;">{{ label }}</th>\
<td>{{ count }}</td><td style="color: #57606a;">({{ _("previous period") }}: {{ before }})</td></tr>
{% endfor %}</table>
{% for section in sections %}<h2 style="font-size: 15px;">{{ section.heading }}</h2>
{% if section.lines %}<ul>{% for line in section.lines %}<li>{% if line.url %}<a href="{{ line.url }}">\
{{ line.text }}</a>{% else %}{{ line.text }}{% endif %}{% if line.quote %}<br><span style="color: #57606a; \
white-space: pre-wrap;">{{ line.quote }}</span>{% endif %}</li>
{% endfor %}</ul>{% else %}<p>{{ _("None.") }}</p>{% endif %}
{% if section.more %}<p>{{ section.more }}</p>{% endif %}
{% endfor %}
{% if dashboard_url %}<p><a href="{{ dashboard_url }}">{{ _("Open the dashboard") }}</a></p>{% endif %}
<p style="font-size: 12px; color: #57606a;">{{ _("Sent by wom, the word-of-mouth monitor.") }}</p>
</body>
</html>
"""

# autoescape=True (not select_autoescape): every template escapes, whatever its name
_ENV = jinja2.Environment(
    loader=jinja2.DictLoader({"digest.html": _DIGEST_HTML}),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@dataclass(frozen=True, slots=True)
class _Line:
    text: str
    url: str | None = None
    quote: str = ""


@dataclass(frozen=True, slots=True)
class _Section:
    heading: str
    lines: list[_Line]
    more: str = ""


def _http_url(value: str | None) -> str | None:
    if not value or value != plain_text(value, limit=2048) or " " in value:
        return None
    return value if value.startswith(("http://", "https://")) else None


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _change(now: int, before: int) -> str:
    if before == 0:
        return f"{before}"
    return f"{before}, {(now - before) * 100 / before:+.0f}%"


def render_digest(
    data: DigestData, *, language: str, timezone: str, day: str, dashboard_url: str
) -> RenderedEmail:
    """One user's digest. `day` is the local date it is for (YYYY-MM-DD)."""
    tr = translations(language)
    _: Callable[[str], str] = tr.gettext
    zone = ZoneInfo(timezone)
    base = (_http_url(dashboard_url) or "").rstrip("/")

    def alert_line(alert: DigestAlert) -> _Line:
        text = (
            f"{alert.severity.upper()} · {plain_text(alert.brand, limit=80)} · "
            f"{plain_text(alert.title, limit=200)} · {_local(alert.event_at, zone)}"
        )
        return _Line(text, f"{base}/alerts/{alert.id}" if base else None)

    def volume(label: str, now: int, before: int) -> tuple[str, int, str]:
        return (label, now, _change(now, before))

    counts: tuple[SentimentCounts, SentimentCounts] = (data.now, data.before)
    rows = [
        volume(_("Mentions"), counts[0].total, counts[1].total),
        volume(_("Positive"), counts[0].positive, counts[1].positive),
        volume(_("Neutral"), counts[0].neutral, counts[1].neutral),
        volume(_("Negative"), counts[0].negative, counts[1].negative),
        volume(_("Not yet classified"), counts[0].unclassified, counts[1].unclassified),
    ]
    shown = data.alerts[:ALERTS_LISTED]
    hidden = data.alerts_total - len(shown)
    sections = [
        _Section(
            _("Inbox"),
            [
                _Line(
                    tr.gettext(
                        "%(brand)s: %(waiting)s waiting, %(overdue)s overdue; %(opened)s opened, "
                        "%(responded)s answered, median first response %(median)s h"
                    )
                    % {
                        "brand": plain_text(i.brand, limit=80),
                        "waiting": i.waiting,
                        "overdue": i.overdue,
                        "opened": i.opened,
                        "responded": i.responded,
                        "median": "-" if i.median_hours is None else f"{i.median_hours:.1f}",
                    }
                )
                for i in data.inbox
            ],
        ),
        _Section(
            _("Top complaints"),
            [
                _Line(
                    f"{plain_text(c.brand, limit=80)} · @{plain_text(c.author, limit=80)} · "
                    + tr.gettext("reach %(reach)s") % {"reach": c.reach}
                    + f" · {_local(c.created_at, zone)}",
                    _http_url(c.url),
                    plain_text(c.text, limit=TEXT_CHARS),
                )
                for c in data.complaints
            ],
        ),
        _Section(
            _("New ambassadors"),
            [
                _Line(f"{plain_text(brand, limit=80)} · {plain_text(name, limit=120)}")
                for brand, name in data.new_ambassadors
            ],
        ),
        _Section(_("Ambassadors at risk"), [alert_line(a) for a in data.at_risk]),
        _Section(
            _("Alerts in this period"),
            [alert_line(a) for a in shown],
            tr.gettext("and %(count)s more") % {"count": hidden} if hidden > 0 else "",
        ),
        _Section(_("Open alerts"), [alert_line(a) for a in data.open_alerts[:ALERTS_LISTED]]),
    ]
    subject = tr.gettext("[wom] Your digest for %(day)s") % {"day": day}
    title = _("Your wom digest")
    period = tr.gettext("Period: %(since)s to %(until)s") % {
        "since": _local(data.since, zone),
        "until": _local(data.until, zone),
    }
    lines = [title, period, "", _("Mentions")]
    lines += [f"  {label}: {count} ({_('previous period')}: {before})" for label, count, before in rows]
    for section in sections:
        lines += ["", section.heading]
        if not section.lines:
            lines.append("  " + _("None."))
        for line in section.lines:
            lines.append(f"  - {line.text}" + (f" <{line.url}>" if line.url else ""))
            if line.quote:
                lines.append(f"    {line.quote}")
        if section.more:
            lines.append(f"  {section.more}")
    if base:
        lines += ["", f"{_('Open the dashboard')}: {base}"]
    lines += ["", "-- ", _("Sent by wom, the word-of-mouth monitor.")]
    html = _ENV.get_template("digest.html").render(
        _=_,
        lang=language if language in LANGUAGES else "en",
        title=title,
        period=period,
        volume=rows,
        sections=sections,
        dashboard_url=base or None,
    )
    return RenderedEmail(subject=subject, text="\n".join(lines) + "\n", html=html)


def render_test_email(*, brand_name: str, language: str) -> RenderedEmail:
    """The e-mail `wom alerts test` sends."""
    tr = translations(language)
    brand = plain_text(brand_name, limit=80)
    body = tr.gettext("This is a test message from wom for %(brand)s.") % {"brand": brand}
    footer = tr.gettext("Sent by wom, the word-of-mouth monitor.")
    html = _ENV.from_string("<!doctype html><html><body><p>{{ body }}</p><p>{{ footer }}</p></body></html>\n")
    return RenderedEmail(
        subject=tr.gettext("[wom] Test message for %(brand)s") % {"brand": brand},
        text=f"{body}\n\n-- \n{footer}\n",
        html=html.render(body=body, footer=footer),
    )
