"""The AWS clients the stack operations use, and the one boundary where botocore's errors become
:class:`~alpha_engine.deploy.StackError` (:func:`aws_errors`).

boto3 is imported here only, lazily: it comes with the ``aws`` extra.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ._errors import StackError

__all__ = ["AwsClients", "aws_clients", "aws_errors"]

# The installation hint when boto3 is missing.
_INSTALL_HINT = "boto3 is not installed; pip install 'alpha-engine[aws]'"
_CREDENTIALS_HINT = ("no AWS credentials found: set AWS_PROFILE (a profile from ~/.aws/config, e.g. after "
                     "`aws sso login`) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
_REGION_HINT = "no AWS region: pass --region or set AWS_REGION (or AWS_DEFAULT_REGION, or region in ~/.aws/config)"
# ClientError codes that mean the credentials themselves are wrong, not the request.
_BAD_CREDENTIAL_CODES = frozenset({"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId",
                                   "UnrecognizedClientException", "SignatureDoesNotMatch", "AuthFailure"})


@dataclass(frozen=True)
class AwsClients:
    """The boto3 clients of one region: ``cloudformation``, ``s3`` for templates uploaded to a
    bucket (TemplateURL), and ``stepfunctions`` for continuing a failed run (``deploy rerun``)."""

    cloudformation: Any
    s3: Any
    region: str
    stepfunctions: Any = None


def aws_clients(region: str | None = None, endpoint_url: str | None = None) -> AwsClients:
    """boto3 clients for ``region`` (default: boto3's own chain, AWS_REGION and ~/.aws/config) and
    credentials from boto3's usual chain. ``endpoint_url`` points both at a local or S3-compatible
    endpoint (the tests' moto server); boto3 also reads ``AWS_ENDPOINT_URL`` itself."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise StackError(_INSTALL_HINT) from None
    config = Config(retries={"mode": "standard", "max_attempts": 5})
    with aws_errors("creating the AWS clients"):
        session = boto3.session.Session(region_name=region)
        cloudformation = session.client("cloudformation", endpoint_url=endpoint_url, config=config)
        s3 = session.client("s3", endpoint_url=endpoint_url, config=config)
        stepfunctions = session.client("stepfunctions", endpoint_url=endpoint_url, config=config)
    return AwsClients(cloudformation=cloudformation, s3=s3, region=str(cloudformation.meta.region_name),
                      stepfunctions=stepfunctions)


@contextmanager
def aws_errors(doing: str) -> Iterator[None]:
    """Turn botocore's errors raised while ``doing`` into one-line :class:`StackError` messages:
    missing or rejected credentials name what to set, a missing region names the option, an
    unreachable endpoint names it, any other service error keeps its code and message."""
    try:
        import botocore.exceptions as bce
    except ImportError:
        raise StackError(_INSTALL_HINT) from None
    try:
        yield
    except bce.NoCredentialsError:
        raise StackError(f"{doing}: {_CREDENTIALS_HINT}") from None
    except bce.NoRegionError:
        raise StackError(f"{doing}: {_REGION_HINT}") from None
    except bce.EndpointConnectionError as exc:
        raise StackError(f"{doing}: cannot reach {exc.kwargs.get('endpoint_url', 'the endpoint')}; "
                         "check the network, --region and --endpoint-url") from None
    except bce.ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "Unknown"), error.get("Message", str(exc))
        if code in _BAD_CREDENTIAL_CODES:
            raise StackError(f"{doing}: AWS refused the credentials ({code}: {message}); refresh them "
                             "(e.g. `aws sso login`) or set AWS_PROFILE to a valid profile") from None
        raise StackError(f"{doing}: {code}: {message}") from None
    except bce.BotoCoreError as exc:
        raise StackError(f"{doing}: {exc}") from None
