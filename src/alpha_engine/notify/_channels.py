"""Sending one message through one channel: SMTP, a JSON webhook, or SNS.

Secrets (the SMTP password, the webhook URL) are read from the environment variable the channel
names, at send time, and every error text is passed through :func:`redact` before it leaves this
module, so no secret reaches a log, the delivery log or an error message.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from email.message import EmailMessage

from alpha_engine.config import ChannelSettings, EmailChannel, SnsChannel, WebhookChannel

from ._errors import ChannelError

__all__ = ["redact", "send"]

_MASK = "***"


def send(channel: ChannelSettings, subject: str, message: str, env: Mapping[str, str]) -> None:
    """Send ``message`` under ``subject`` through ``channel``; raise :class:`ChannelError` if it fails."""
    secrets = _secrets(channel, env)
    try:
        if isinstance(channel, EmailChannel):
            _send_email(channel, subject, message, env)
        elif isinstance(channel, WebhookChannel):
            _send_webhook(channel, subject, message, env)
        else:
            _send_sns(channel, subject, message)
    except ChannelError as exc:
        raise ChannelError(redact(str(exc), secrets)) from None
    except Exception as exc:  # any failure of the library underneath becomes one ChannelError
        text = redact(f"{type(exc).__name__}: {exc}", secrets)
        raise ChannelError(f"channel {channel.name} ({channel.kind}): {text}") from None


def redact(text: str, secrets: list[str]) -> str:
    """``text`` with every secret value replaced by ``***``."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, _MASK)
    return text


def _secrets(channel: ChannelSettings, env: Mapping[str, str]) -> list[str]:
    """The secret values, and for a URL also the parts a library may echo alone (path, query,
    password): a token lives in any of them."""
    values = [env[name] for name in (getattr(channel, "password_env", ""), getattr(channel, "url_env", ""))
              if name and env.get(name)]
    if isinstance(channel, WebhookChannel) and env.get(channel.url_env):
        parts = urllib.parse.urlsplit(env[channel.url_env].strip())
        values += [parts.path, parts.query, parts.password or "", f"{parts.path}?{parts.query}"]
    return [value for value in values if len(value) >= 4]


def _secret(channel: ChannelSettings, variable: str, env: Mapping[str, str], what: str) -> str:
    value = env.get(variable, "")
    if not value:
        raise ChannelError(f"channel {channel.name} ({channel.kind}): the environment variable {variable} "
                           f"(its {what}) is not set; set it in the environment of alpha-engine")
    return value


def _send_email(channel: EmailChannel, subject: str, message: str, env: Mapping[str, str]) -> None:
    mail = EmailMessage()
    mail["Subject"] = subject
    mail["From"] = channel.from_addr
    mail["To"] = ", ".join(channel.to)
    mail.set_content(message)
    password = ""
    if channel.username:
        password = _secret(channel, channel.password_env, env, "SMTP password") if channel.password_env else ""
    with smtplib.SMTP(channel.host, channel.port, timeout=channel.timeout_seconds) as smtp:
        if channel.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if channel.username:
            smtp.login(channel.username, password)
        smtp.send_message(mail)


def _send_webhook(channel: WebhookChannel, subject: str, message: str, env: Mapping[str, str]) -> None:
    url = _secret(channel, channel.url_env, env, "webhook URL")
    if not url.startswith(("http://", "https://")):
        raise ChannelError(f"channel {channel.name} (webhook): the URL in {channel.url_env} is not http(s)://; "
                           "set it to the webhook's URL")
    text = f"{subject}\n{message}" if subject else message
    body: dict[str, str] = {"text": text}
    if channel.style == "telegram":
        body = {"chat_id": channel.chat_id, "text": text}
    request = urllib.request.Request(url, data=json.dumps(body, sort_keys=True).encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=channel.timeout_seconds) as response:  # noqa: S310
            response.read()
    except urllib.error.HTTPError as exc:  # its text holds no URL; name only the status
        raise ChannelError(f"channel {channel.name} (webhook): the server answered HTTP {exc.code}") from None
    except urllib.error.URLError as exc:
        raise ChannelError(f"channel {channel.name} (webhook): cannot reach the server: {exc.reason}") from None


def _send_sns(channel: SnsChannel, subject: str, message: str) -> None:
    try:
        import boto3
    except ImportError:
        raise ChannelError(f"channel {channel.name} (sns): boto3 is not installed; "
                           "pip install 'alpha-engine[aws]'") from None
    client = boto3.client("sns", region_name=channel.region or channel.topic_arn.split(":")[3])
    kwargs = {"TopicArn": channel.topic_arn, "Message": message}
    if subject:
        kwargs["Subject"] = subject
    client.publish(**kwargs)
