"""A local AWS endpoint for the tests: moto in server mode on 127.0.0.1, never the network.

One server per test process (started on first use, stopped at exit): S3 for the S3-backed stores
(s3fs and ArcticDB reach it over HTTP, as they reach S3), CloudFormation and the services its stacks
create for the deploy tests. The server runs in a child process, not in a thread of the test process:
ArcticDB holds the GIL while it waits on its own I/O threads, so a server thread in the same
interpreter could never answer it (a deadlock; man-group/ArcticDB#577). The child exits when its
stdin closes, so it dies with the test process even when that is killed.

:func:`endpoint` starts it; :func:`fresh_bucket` makes a bucket no other test uses; :func:`client`
is a boto3 client for it. The credentials are fake and the region is
fixed, so nothing here can reach a real account.
"""

from __future__ import annotations

import atexit
import subprocess
import sys
import threading
import uuid
from typing import Any

REGION = "us-east-1"
ACCESS_KEY = "testing"
SECRET_KEY = "testing"

# The child: a threaded moto server on a free port, which it prints; it serves until stdin closes.
_CHILD = """
import logging, sys
from moto.server import ThreadedMotoServer
logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
"""

_lock = threading.Lock()
_child: subprocess.Popen[str] | None = None
_url: str | None = None


def _stop() -> None:
    if _child is None:
        return
    assert _child.stdin is not None
    _child.stdin.close()
    try:
        _child.wait(timeout=10)
    except subprocess.TimeoutExpired:
        _child.kill()
        _child.wait()


def endpoint() -> str:
    """The server's URL (``http://127.0.0.1:PORT``), starting it on first use."""
    global _child, _url
    with _lock:
        if _url is None:
            _child = subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True)
            atexit.register(_stop)
            assert _child.stdout is not None
            line = _child.stdout.readline().strip()
            if not line.isdigit():
                raise RuntimeError(f"the moto server did not start (exit code {_child.poll()}, said {line!r})")
            _url = f"http://127.0.0.1:{int(line)}"
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
