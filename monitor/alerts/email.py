"""Render one alert as an e-mail (plain text + HTML) and send it over SMTP.

Mention text is hostile: the HTML part is rendered by a jinja2 Environment with autoescape on for every
template, links are only http(s), and header values go through `header_text`: one line without control
characters or line breaks, and without the `=?` that starts an RFC 2047 encoded word. Removing CR/LF is not
enough: on Python < 3.11.10 the `email` package decodes an encoded word such as
`=?utf-8?q?=0D=0AReply-To:_x@evil.example?=` when it refolds a header and writes the CR/LF raw, a new
header line (CVE-2024-6923); fixed versions raise HeaderWriteError instead. `send_email` also checks the
written header block against the message's own headers and refuses a message whose header lines differ.

The `Message-ID` depends only on the alert id, the recipient and the sender, so a resend after a crash in
the send window carries the same id and the receiving side can drop the copy (RFC 1047 leaves that window).
"""

from __future__ import annotations

import email.errors
import hashlib
import smtplib
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import format_datetime, getaddresses, parseaddr
from typing import Any, Protocol
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import jinja2

from monitor.alerts.i18n import LANGUAGES, translations
from monitor.alerts.reasons import reason_text
from monitor.alerts.rules import plain_text
from monitor.config import SmtpSettings
from monitor.errors import DeliveryError

__all__ = [
    "TEMPLATE_ENV",
    "AlertFields",
    "DeliveryError",
    "alert_message_id",
    "header_text",
    "render_alert_email",
    "render_stored_email",
    "send_email",
]

SUBJECT_CHARS = 200
FACT_CHARS = 200
_DOMAIN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")
# the why is its own paragraph, in the reader's language; subject and items are bookkeeping of the
# alerts watched over time (monitor.alerts.ongoing)
_HIDDEN_FACTS = frozenset({"excerpt", "url", "reason", "subject", "items"})

_ALERT_HTML = """\
<!doctype html>
<html lang="{{ lang | default("en") }}">
<head><meta charset="utf-8"><title>{{ title }}</title></head>
<body style="font-family: Arial, Helvetica, sans-serif; color: #1f2328; max-width: 640px;">
<p style="font-size: 12px; color: #57606a;">{{ severity | upper }} · {{ brand_name }} · {{ event_at }}</p>
<h1 style="font-size: 18px;">{{ title }}</h1>
{% if why %}<p><strong>{{ _("Why") }}:</strong> {{ why }}</p>{% endif %}
{% if excerpt %}<blockquote style="border-left: 3px solid #d0d7de; margin: 0; padding: 4px 12px; \
white-space: pre-wrap;">{{ excerpt }}</blockquote>{% endif %}
{% if facts %}<table style="font-size: 13px; margin-top: 12px;">
{% for label, value in facts %}<tr><th align="left" style="padding-right: 12px;">{{ label }}</th>\
<td>{{ value }}</td></tr>
{% endfor %}</table>{% endif %}
{% if source_url %}<p><a href="{{ source_url }}">{{ _("View the original post") }}</a></p>{% endif %}
{% if alert_url %}<p><a href="{{ alert_url }}">{{ _("Open this alert in wom") }}</a></p>{% endif %}
<p style="font-size: 12px; color: #57606a;">{{ _("Sent by wom, the word-of-mouth monitor.") }}</p>
</body>
</html>
"""

# autoescape=True (not select_autoescape) so that every template name escapes, whatever its extension
TEMPLATE_ENV = jinja2.Environment(
    loader=jinja2.DictLoader({"alert.html": _ALERT_HTML}),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)
# English unless a render passes the recipient's catalogue as `_`
TEMPLATE_ENV.globals["_"] = str


class AlertFields(Protocol):
    """What rendering needs from an alert; a stored `monitor.storage.models.Alert` row fits."""

    @property
    def id(self) -> int | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def detail(self) -> Mapping[str, Any] | None: ...
    @property
    def event_at(self) -> datetime | None: ...


def header_text(value: str, *, limit: int) -> str:
    """`value` as a header value that the `email` package cannot turn into another header line.

    One line of at most `limit` characters (`plain_text`: control characters, CR, LF, \\x0b, \\x0c,
    \\x1c-\\x1e, \\x85, U+2028 and U+2029 become spaces), and every `=?` becomes `= ?`, so no RFC 2047
    encoded word is left for the header parser to decode into a line break. The replacement cannot form a
    new `=?`, and `plain_text` only turns characters into spaces, so it cannot join one either.
    """
    return plain_text(value.replace("=?", "= ?"), limit=limit)


def alert_message_id(alert_id: int, recipient: str, *, sender: str) -> str:
    """The stable `Message-ID` of one alert to one recipient: `<wom-alert-ID.HASH@sender-domain>`."""
    sender_address = parseaddr(sender)[1].casefold()
    seed = f"{alert_id}\n{recipient.strip().casefold()}\n{sender_address}"
    digest = hashlib.sha256(seed.encode("utf-8")).hexdigest()[:24]
    _, at, domain = sender_address.rpartition("@")
    if not at or not domain or not set(domain) <= _DOMAIN_CHARS:
        domain = "wom.invalid"
    return f"<wom-alert-{alert_id}.{digest}@{domain}>"


def render_alert_email(
    alert: AlertFields,
    *,
    recipient: str,
    sender: str,
    brand_name: str,
    dashboard_url: str,
    now: datetime | None = None,
    message_id: str | None = None,
    zone: str | None = None,
    subject_prefix: str = "",
    language: str = "en",
) -> EmailMessage:
    """One e-mail for one alert to one recipient: a plain-text part and an escaped HTML part.

    Never raises on hostile alert content. Raises ValueError when the alert has no id yet (store it first:
    the Message-ID is derived from it), and DeliveryError (permanent) when `recipient` does not read as
    exactly that one address in a To header (a comma in it would make a list of addresses).
    """
    if alert.id is None:
        raise ValueError("the alert has no id; store it before rendering, the Message-ID is derived from it")
    detail = dict(alert.detail or {})
    title = plain_text(alert.title, limit=SUBJECT_CHARS) or plain_text(alert.kind, limit=80)
    brand = plain_text(brand_name, limit=80)
    event_at = alert.event_at.isoformat() if alert.event_at else ""
    if alert.event_at and zone:  # the recipient's clock (a user's time zone)
        event_at = alert.event_at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")
    excerpt = _multiline(str(detail.get("excerpt") or ""))
    facts = [
        (plain_text(str(key), limit=40), plain_text(_fact(value), limit=FACT_CHARS))
        for key, value in detail.items()
        if key not in _HIDDEN_FACTS
    ]
    source_url = _http_url(detail.get("url"))
    base_url = _http_url(dashboard_url)
    alert_url = f"{base_url.rstrip('/')}/alerts/{alert.id}" if base_url else None
    severity = plain_text(alert.severity, limit=20)

    message = EmailMessage()
    prefix = plain_text(subject_prefix, limit=40)
    prefix = f"{prefix} " if prefix else ""
    message["Subject"] = header_text(f"[wom] {prefix}{brand}: {title}", limit=SUBJECT_CHARS)
    message["From"] = header_text(sender, limit=300)
    message["To"] = header_text(recipient, limit=300)
    to_addresses = [address.addr_spec for address in message["To"].addresses]
    if to_addresses != [recipient.strip()]:
        raise DeliveryError(
            f"the recipient {plain_text(recipient, limit=100)!r} reads as {len(to_addresses)} addresses "
            f"({plain_text(', '.join(to_addresses), limit=200)!r}); give one address per entry in alerts.email_to",
            permanent=True,
        )
    message["Date"] = format_datetime(now or datetime.now(UTC))
    message["Message-ID"] = message_id or alert_message_id(alert.id, recipient, sender=sender)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message["X-Wom-Alert-Id"] = str(alert.id)
    _ = translations(language).gettext
    why = reason_text(detail, language=language)
    lines = [f"{severity.upper()}: {title}", f"{_('Brand')}: {brand}", f"{_('When')}: {event_at}", ""]
    if why:
        lines += [f"{_('Why')}: {why}", ""]
    if excerpt:
        lines += [excerpt, ""]
    lines += [f"{label}: {value}" for label, value in facts]
    if source_url:
        lines += ["", f"{_('Original post')}: {source_url}"]
    if alert_url:
        lines += ["", f"{_('Open this alert in wom')}: {alert_url}"]
    lines += ["", "-- ", _("Sent by wom, the word-of-mouth monitor.")]
    message.set_content("\n".join(lines) + "\n")
    html = TEMPLATE_ENV.get_template("alert.html").render(
        title=title,
        severity=severity,
        brand_name=brand,
        event_at=event_at,
        excerpt=excerpt,
        why=why,
        facts=facts,
        source_url=source_url,
        alert_url=alert_url,
        lang=language if language in LANGUAGES else "en",
        _=_,
    )
    message.add_alternative(html, subtype="html")
    return message


def render_stored_email(
    *, subject: str, text: str, html: str, recipient: str, sender: str, message_id: str, now: datetime
) -> EmailMessage:
    """An e-mail whose parts were rendered when it was queued (a digest, a test): headers made safe here,
    `html` already escaped by its template."""
    message = EmailMessage()
    message["Subject"] = header_text(subject, limit=SUBJECT_CHARS)
    message["From"] = header_text(sender, limit=300)
    message["To"] = header_text(recipient, limit=300)
    if [address.addr_spec for address in message["To"].addresses] != [recipient.strip()]:
        raise DeliveryError(
            f"the recipient {plain_text(recipient, limit=100)!r} is not one address; fix the user's e-mail",
            permanent=True,
        )
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def send_email(message: EmailMessage, *, smtp: SmtpSettings) -> None:
    """Send over SMTP: STARTTLS when `smtp.starttls`, implicit TLS on port 465, login when `smtp.username`.

    The envelope goes from the From address to the To addresses only, and the bytes sent are the ones whose
    header lines were checked against the message's headers (`_wire_form`).

    Raises DeliveryError naming the fix; `permanent` is False for what a retry may cure (no connection,
    timeouts, 4xx). A failure after the server accepted the message (at QUIT) is not an error.
    """
    if not smtp.host:
        raise DeliveryError(
            "smtp.host is empty; set [smtp] host (or WOM_SMTP_HOST) to your mail server", permanent=True
        )
    if not message["To"]:
        raise DeliveryError("the message has no To header; render it with render_alert_email", permanent=True)
    password = smtp.password
    if smtp.username and not password:
        raise DeliveryError(
            f"smtp.username is {smtp.username!r} but WOM_SMTP_PASSWORD is empty; set WOM_SMTP_PASSWORD",
            permanent=True,
        )
    where = f"{smtp.host}:{smtp.port}"
    wire, from_address, to_addresses, international = _wire_form(message)
    client: smtplib.SMTP | None = None
    try:
        client = _connect(smtp)
        client.ehlo()
        if smtp.starttls and smtp.port != 465:
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        if smtp.username:
            client.login(smtp.username, password)
        options: tuple[str, ...] = ()
        if international:
            if not client.has_extn("smtputf8"):
                raise DeliveryError(
                    f"{where} does not offer SMTPUTF8, which a non-ASCII address needs; use ASCII addresses "
                    "in smtp.sender and alerts.email_to",
                    permanent=True,
                )
            options = ("SMTPUTF8", "BODY=8BITMIME")
        refused = client.sendmail(from_address, to_addresses, wire, mail_options=options)
    except smtplib.SMTPNotSupportedError as e:
        raise _unsupported_error(e, smtp=smtp) from e
    except smtplib.SMTPAuthenticationError as e:
        raise DeliveryError(
            f"{where} refused the login of {smtp.username!r} ({e.smtp_code}); check smtp.username and "
            "WOM_SMTP_PASSWORD",
            permanent=True,
            smtp_code=e.smtp_code,
        ) from e
    except smtplib.SMTPRecipientsRefused as e:
        codes = [code for code, _ in e.recipients.values()]
        raise DeliveryError(
            f"{where} refused every recipient ({_codes(e.recipients)}); check alerts.email_to",
            permanent=all(code >= 500 for code in codes),
            smtp_code=codes[0] if codes else None,
        ) from e
    except smtplib.SMTPSenderRefused as e:
        raise DeliveryError(
            f"{where} refused the sender {e.sender!r} ({e.smtp_code}); set smtp.sender to an address "
            "the server accepts from this account",
            permanent=e.smtp_code >= 500,
            smtp_code=e.smtp_code,
        ) from e
    except smtplib.SMTPResponseException as e:
        raise DeliveryError(
            f"{where} answered {e.smtp_code} {_text(e.smtp_error)}; "
            + ("the server rejects the message" if e.smtp_code >= 500 else "a later retry may succeed"),
            permanent=e.smtp_code >= 500,
            smtp_code=e.smtp_code,
        ) from e
    except ssl.SSLCertVerificationError as e:
        raise DeliveryError(
            f"the TLS certificate of {where} does not verify ({e.verify_message}); use the host name on the "
            "certificate in smtp.host",
            permanent=True,
        ) from e
    except (smtplib.SMTPException, OSError) as e:
        raise DeliveryError(
            f"cannot deliver through {where}: {type(e).__name__}: {e}; check smtp.host and smtp.port and that "
            "the server is up (it will be retried)",
            permanent=False,
        ) from e
    finally:
        if client is not None:
            _close_quietly(client)
    if refused:
        raise DeliveryError(
            f"{where} refused some recipients ({_codes(refused)}); check alerts.email_to",
            permanent=True,
            smtp_code=next(iter(refused.values()))[0],
        )


def _wire_form(message: EmailMessage) -> tuple[bytes, str, list[str], bool]:
    """The bytes to send, the envelope sender and recipients, and whether SMTPUTF8 is needed.

    Raises DeliveryError (permanent: the same message fails the same way every time) when the message
    cannot be written, e.g. HeaderWriteError on Python >= 3.11.10, or when the written header block does
    not hold exactly the message's own headers, i.e. a header value came out as a header line of its own.
    """
    from_address = parseaddr(str(message["From"] or ""))[1]
    to_addresses = [address for _, address in getaddresses([str(v) for v in message.get_all("To", [])])]
    to_addresses = [address for address in to_addresses if address]
    if not from_address or not to_addresses:
        raise DeliveryError(
            "the message has no From or no To address; check smtp.sender and alerts.email_to", permanent=True
        )
    international = not all(address.isascii() for address in (from_address, *to_addresses))
    # EmailMessage() carries an EmailPolicy; only that kind of policy knows `utf8`
    base = message.policy if isinstance(message.policy, policy.EmailPolicy) else policy.default
    try:
        wire = message.as_bytes(policy=base.clone(linesep="\r\n", utf8=international))
    except (email.errors.MessageError, ValueError) as e:
        raise DeliveryError(
            f"the alert e-mail cannot be written ({type(e).__name__}: {plain_text(str(e), limit=200)}); "
            "it is not sent",
            permanent=True,
        ) from e
    written = [name.lower() for name in BytesHeaderParser(policy=policy.default).parsebytes(wire)]
    expected = [name.lower() for name in message]
    if written != expected:
        extra = sorted({plain_text(name, limit=40) for name in written} - set(expected))[:5]
        raise DeliveryError(
            "a header value of the alert e-mail would be written as header lines of its own "
            f"({', '.join(extra) or 'headers missing'}); the message is refused, not sent",
            permanent=True,
        )
    return wire, from_address, to_addresses, international


def _connect(smtp: SmtpSettings) -> smtplib.SMTP:
    if smtp.port == 465:  # RFC 8314 implicit TLS
        context = ssl.create_default_context()
        return smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout_seconds, context=context)
    return smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds)


def _unsupported_error(error: smtplib.SMTPNotSupportedError, *, smtp: SmtpSettings) -> DeliveryError:
    where = f"{smtp.host}:{smtp.port}"
    if "STARTTLS" in str(error).upper():
        fix = (
            f"{where} does not offer STARTTLS; use the server's submission port (587) or, for a trusted "
            "local relay only, set smtp.starttls = false"
        )
    else:
        fix = (
            f"{where} does not offer a login (SMTP AUTH): {error}; many servers offer it only after "
            "STARTTLS, so set smtp.starttls = true, or clear smtp.username for a relay without login"
        )
    return DeliveryError(fix, permanent=True)


def _close_quietly(client: smtplib.SMTP) -> None:
    # After a 250 the message is delivered; a failing QUIT must not make the caller send it again.
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _codes(refused: Mapping[str, tuple[int, bytes]]) -> str:
    return ", ".join(f"{address}: {code} {_text(reply)}" for address, (code, reply) in refused.items())


def _text(reply: bytes | str) -> str:
    raw = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return plain_text(raw, limit=200)


def _fact(value: object) -> str:
    return "" if value is None else str(value)


def _multiline(text: str) -> str:
    """Keeps line breaks, drops every other control character; for bodies, never for headers."""
    lines = (plain_text(line, limit=10_000) for line in text.splitlines())
    return "\n".join(lines).strip()


def _http_url(value: object) -> str | None:
    """The URL if it is an absolute http(s) URL without whitespace or control characters, else None."""
    if not isinstance(value, str) or not value or value != plain_text(value, limit=2048) or " " in value:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return value
