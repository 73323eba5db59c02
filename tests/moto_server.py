"""A local AWS endpoint for the tests: moto in server mode on 127.0.0.1, never the network.

One server per test process (started on first use, stopped at exit): S3 for the S3-backed stores
(s3fs and ArcticDB reach it over HTTP, as they reach S3), CloudFormation and the services its stacks
create for the deploy tests. :func:`endpoint` starts it; :func:`fresh_bucket` makes a bucket no
other test uses; :func:`client` is a boto3 client for it. The credentials are fake and the region is
fixed, so nothing here can reach a real account.
"""

from __future__ import annotations

import atexit
import logging
import socket
import threading
import uuid
from typing import Any

REGION = "us-east-1"
ACCESS_KEY = "testing"
SECRET_KEY = "testing"

_lock = threading.Lock()
_server: Any = None
_url: str | None = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def endpoint() -> str:
    """The server's URL (``http://127.0.0.1:PORT``), starting it on first use."""
    global _server, _url
    with _lock:
        if _url is None:
            from moto.server import ThreadedMotoServer

            logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
            port = _free_port()
            _server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            _server.start()
            atexit.register(_server.stop)
            _url = f"http://127.0.0.1:{port}"
        return _url


def port() -> int:
    return int(endpoint().rsplit(":", 1)[1])


def client(service: str) -> Any:
    """A boto3 client for ``service`` on the local server (fake credentials, :data:`REGION`)."""
    import boto3

    return boto3.client(service, endpoint_url=endpoint(), region_name=REGION,
                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)


def fresh_bucket(prefix: str = "test") -> str:
    """A new, empty bucket on the server, named uniquely."""
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    client("s3").create_bucket(Bucket=name)
    return name


def s3fs_options() -> dict[str, Any]:
    """fsspec ``storage_options`` that point s3fs at the server."""
    return {"key": ACCESS_KEY, "secret": SECRET_KEY, "client_kwargs": {"endpoint_url": endpoint(), "region_name": REGION}}
