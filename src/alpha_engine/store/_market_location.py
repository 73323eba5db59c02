"""Where a market store lives, and whether it looks usable: answered from the URI and the file
system, without importing ArcticDB (a light stage's preflight probes the store this way).

Two kinds of store are checked here: ``lmdb:///abs/path`` (a local directory) and S3, in ArcticDB's
own URI syntax ``s3://HOST:BUCKET?options`` (plain HTTP) or ``s3s://HOST:BUCKET?options`` (HTTPS)::

    s3s://s3.us-east-1.amazonaws.com:my-bucket?path_prefix=arcticdb&aws_auth=true   # AWS, the role's credentials
    s3://127.0.0.1:my-bucket?port=9000&access=KEY&secret=SECRET&path_prefix=arcticdb  # an S3-compatible endpoint

:func:`s3_market_location` parses the S3 form as ArcticDB 6 does (the query options it knows, and
either ``aws_auth`` or both ``access`` and ``secret``), so a malformed URI is named before a stage
starts, not by ArcticDB halfway through one.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ._errors import MarketStoreError

__all__ = ["ARCTIC_CONFIG_DIR", "S3MarketLocation", "lmdb_directory", "probe_market_store", "s3_market_location"]

ARCTIC_CONFIG_DIR = "_arctic_cfg"  # what ArcticDB creates in an LMDB directory it owns

_S3_URI = re.compile(r"(?P<scheme>s3s?)://(?P<host>[^:/?]*):(?P<bucket>[^?]*)(?:\?(?P<query>.*))?\Z")
_BUCKET = re.compile(r"[-_a-zA-Z0-9.]+\Z")  # what ArcticDB's URI pattern accepts
# The query options ArcticDB 6's S3 adapter accepts (arcticdb.adapters.s3_library_adapter.ParsedQuery).
_S3_OPTIONS = frozenset({"port", "region", "use_virtual_addressing", "access", "secret", "aws_auth", "aws_profile",
                         "path_prefix", "force_uri_lib_config", "CA_cert_path", "CA_cert_dir", "ssl"})
_TRUE, _FALSE = frozenset({"y", "yes", "t", "true", "on", "1"}), frozenset({"n", "no", "f", "false", "off", "0"})
_S3_EXAMPLE = "'s3s://s3.REGION.amazonaws.com:BUCKET?path_prefix=arcticdb&aws_auth=true'"


@dataclass(frozen=True)
class S3MarketLocation:
    """An ArcticDB S3 URI, parsed: what the writer lease (boto3) needs to reach the same bucket.

    ``aws_auth`` means the AWS default credential chain (the role on AWS), ``access``/``secret``
    the explicit keys otherwise. ``path_prefix`` is where ArcticDB keeps the store in the bucket
    (``""``: the bucket's root).
    """

    https: bool
    host: str
    port: int | None
    bucket: str
    path_prefix: str
    region: str | None
    access: str | None
    secret: str | None
    aws_auth: bool
    aws_profile: str
    virtual_addressing: bool

    @property
    def endpoint_url(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"{'https' if self.https else 'http'}://{self.host}{port}"

    @property
    def region_name(self) -> str:
        """The region: given, or read from an AWS endpoint (``s3.REGION.amazonaws.com``) as ArcticDB
        does, else ``us-east-1`` (S3-compatible endpoints ignore it)."""
        if self.region:
            return self.region
        match = re.match(r"s3[-.](?P<region>[a-z0-9-]+)\.amazonaws", self.host)
        return match.group("region") if match else "us-east-1"

    def key(self, name: str) -> str:
        """The object key of ``name`` inside the store's prefix."""
        return f"{self.path_prefix}/{name}" if self.path_prefix else name

    def describe(self) -> str:
        """``s3://BUCKET/PREFIX`` at the endpoint, without credentials (for messages and lease records)."""
        return f"s3://{self.bucket}/{self.path_prefix} at {self.endpoint_url}"


def _flag(name: str, value: str, uri: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise MarketStoreError(f"market store {redact(uri)}: option {name}={value!r} is not a boolean (true or false)")


def redact(uri: str) -> str:
    """``uri`` with the value of ``secret=`` hidden (errors and logs never carry a key)."""
    return re.sub(r"(?<=[?&;]secret=)[^&;]*", "***", uri)


def s3_market_location(uri: str) -> S3MarketLocation | None:
    """The parsed S3 URI (None for any other scheme); :class:`MarketStoreError` if it is malformed."""
    if not uri.startswith(("s3://", "s3s://")):
        return None
    shown = redact(uri)
    match = _S3_URI.match(uri)
    if match is None or not match.group("host"):
        raise MarketStoreError(f"market store {shown}: not an ArcticDB S3 URI: write 's3[s]://HOST:BUCKET?options', "
                               f"e.g. {_S3_EXAMPLE}")
    bucket = match.group("bucket")
    if not _BUCKET.match(bucket):
        raise MarketStoreError(f"market store {shown}: bucket {bucket!r} is not a bucket name (letters, digits, "
                               f"'-', '_', '.'; the path inside the bucket goes in path_prefix=)")
    options: dict[str, str] = {}
    for part in re.split("[;&]", match.group("query") or ""):
        if not part:
            continue
        name, equals, value = part.partition("=")
        if not equals:
            raise MarketStoreError(f"market store {shown}: option {name!r} has no value (write {name}=VALUE)")
        if name not in _S3_OPTIONS:
            raise MarketStoreError(f"market store {shown}: unknown option {name!r}; ArcticDB knows "
                                   f"{', '.join(sorted(_S3_OPTIONS))}")
        options[name] = value
    port = options.get("port")
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        raise MarketStoreError(f"market store {shown}: port={port!r} is not a port number")
    auth = options.get("aws_auth", "false")
    aws_auth = auth.lower() in ("default", "sts") or _flag("aws_auth", auth, uri)
    if not aws_auth and not (options.get("access") and options.get("secret")):
        raise MarketStoreError(f"market store {shown}: no credentials: add aws_auth=true (the AWS credential "
                               f"chain, the role on AWS) or both access= and secret=")
    return S3MarketLocation(
        https=match.group("scheme") == "s3s", host=match.group("host"), port=int(port) if port else None,
        bucket=bucket, path_prefix=options.get("path_prefix", "").strip("/"), region=options.get("region"),
        access=options.get("access"), secret=options.get("secret"), aws_auth=aws_auth,
        aws_profile=options.get("aws_profile", ""),
        virtual_addressing=_flag("use_virtual_addressing", options.get("use_virtual_addressing", "false"), uri))


def lmdb_directory(uri: str) -> Path | None:
    """The directory of an ``lmdb://`` URI, parsed as ArcticDB does (None for any other scheme)."""
    if not uri.startswith("lmdb://"):
        return None
    return Path(os.path.abspath(uri[len("lmdb://"):].split("?", 1)[0]))


def probe_market_store(uri: str) -> None:
    """Raise :class:`MarketStoreError` if the store at ``uri`` cannot be what it claims.

    A local store that does not exist yet is fine (DataPhase1 creates it); one that exists must be
    a readable directory that ArcticDB owns (or an empty one). An S3 URI must parse (see
    :func:`s3_market_location`); the bucket is not contacted: that needs a connection, which the
    stage opens when it reads. Other remote schemes are left to ArcticDB.
    """
    if "://" not in uri:
        raise MarketStoreError(f"market store {uri!r}: not an ArcticDB URI like 'lmdb:///abs/path' or {_S3_EXAMPLE}")
    if s3_market_location(uri) is not None:
        return
    directory = lmdb_directory(uri)
    if directory is None or not directory.exists():
        return
    if not directory.is_dir():
        raise MarketStoreError(f"market store {uri}: {directory} is not a directory")
    if not os.access(directory, os.R_OK | os.X_OK):
        raise MarketStoreError(f"market store {uri}: {directory} is not readable")
    if any(directory.iterdir()) and not (directory / ARCTIC_CONFIG_DIR).is_dir():
        raise MarketStoreError(f"market store {uri}: {directory} holds files but no ArcticDB store "
                               f"(no {ARCTIC_CONFIG_DIR}/): is data.market_store_uri pointing at the right place?")
