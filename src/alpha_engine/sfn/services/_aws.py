"""Shapes AWS wraps around service results and errors, shared by the bindings.

Optimised integrations (``arn:aws:states:::sns:publish``) return the SDK v1 response with
``SdkHttpMetadata``/``SdkResponseMetadata`` and word their errors the SDK v1 way
(``... (Service: AmazonSNS; Status Code: 400; Error Code: X; Request ID: R; Proxy: null)``);
``aws-sdk:`` integrations return the bare SDK v2 response and use the v2 wording
(``... (Service: DynamoDb, Status Code: 400, Request ID: R)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from .._json import compact_json

__all__ = [
    "compact_json",
    "http_date",
    "iso_timestamp",
    "sdk_metadata",
    "v1_cause",
    "v2_cause",
]


def http_date(now: datetime) -> str:
    """``Sat, 23 Nov 2024 10:50:00 GMT``, the HTTP ``Date`` header."""
    return format_datetime(now.astimezone(UTC), usegmt=True)


def iso_timestamp(now: datetime) -> str:
    """``2024-11-23T10:50:00.123Z``: how SFN renders SDK timestamps in task results."""
    return now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sdk_metadata(headers: Mapping[str, str], request_id: str, status: int = 200) -> dict[str, Any]:
    """The ``SdkHttpMetadata``/``SdkResponseMetadata`` pair of an optimised integration result."""
    return {
        "SdkHttpMetadata": {
            "AllHttpHeaders": {name: [value] for name, value in headers.items()},
            "HttpHeaders": dict(headers),
            "HttpStatusCode": status,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
    }


def v1_cause(message: str, service: str, status: int, code: str, request_id: str) -> str:
    """An SDK v1 error cause (optimised integrations)."""
    return (
        f"{message} (Service: {service}; Status Code: {status}; Error Code: {code}; "
        f"Request ID: {request_id}; Proxy: null)"
    )


def v2_cause(message: str, service: str, status: int, request_id: str) -> str:
    """An SDK v2 error cause (``aws-sdk:`` integrations)."""
    return f"{message} (Service: {service}, Status Code: {status}, Request ID: {request_id})"
