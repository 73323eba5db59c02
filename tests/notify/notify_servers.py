"""Real local servers for the channel tests: an SMTP server (aiosmtpd) and a webhook (http.server)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class SmtpInbox:
    """What the local SMTP server received: one (envelope sender, recipients, raw message) per mail."""

    mails: list[tuple[str, list[str], str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.mails.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content.decode("utf-8", "replace")))
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[int, SmtpInbox]]:
    inbox = SmtpInbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


@dataclass
class Webhook:
    """The local webhook: records every JSON body; answers ``status`` (set it to 500 to fail)."""

    url: str = ""
    bodies: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    status: int = 200


@contextmanager
def webhook_server() -> Iterator[Webhook]:
    hook = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            length = int(self.headers.get("Content-Length", "0"))
            hook.bodies.append(json.loads(self.rfile.read(length)))
            hook.paths.append(self.path)
            self.send_response(hook.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (quiet)
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def refused_port() -> int:
    """A port nothing listens on (bound, then closed)."""
    return free_port()
