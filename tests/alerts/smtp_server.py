"""A real SMTP server on 127.0.0.1 for the alert tests: aiosmtpd, port 0, every accepted message kept."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

__all__ = ["LoopbackController", "Recorder", "parsed"]


@dataclass
class Recorder:
    """aiosmtpd handler that keeps every envelope, and can refuse recipients or data with a code."""

    envelopes: list[Envelope] = field(default_factory=list)
    rcpt_reply: str | None = None
    data_reply: str = "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_reply.startswith("250"):
            self.envelopes.append(envelope)
        return self.data_reply

    def messages(self) -> list[EmailMessage]:
        return [parsed(envelope) for envelope in self.envelopes]


class LoopbackController(Controller):
    """aiosmtpd's Controller on port 0: reads the port the OS picked before its readiness check."""

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


def parsed(envelope: Envelope) -> EmailMessage:
    """The message as the receiving side reads it from the wire."""
    content = envelope.content
    assert isinstance(content, bytes)
    message = message_from_bytes(content, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message
