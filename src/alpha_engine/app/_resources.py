"""Resource wiring: how each resource a stage may require opens from the settings.

This is the one place that knows the market store holds the data package's feature columns.
Every opener honours ``read_only`` (a preflight-only run opens everything read-only, so a
write is an error) and the write fence (a stage attempt that is no longer current cannot
publish), and imports its store only when first used; a probe checks a resource without opening
it (the runner probes what a stage requires before its preflight).
"""

from __future__ import annotations

import shlex
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from alpha_engine.backtest import PREDICTOR_HISTORY
from alpha_engine.config import Settings
from alpha_engine.pipeline import (
    ARTIFACTS,
    MARKET,
    METRICS,
    NOTIFICATIONS,
    Notifier,
    PreflightError,
    Resource,
    Wiring,
)
from alpha_engine.rag import EDGAR_FILINGS
from alpha_engine.research import RAG_EVIDENCE, RESEARCH_DB

if TYPE_CHECKING:
    from alpha_engine.data.providers import HttpSettings
    from alpha_engine.rag import FilingFetcher
    from alpha_engine.research import EvidenceIndex, ResearchDB
    from alpha_engine.store import (
        ArtifactStore,
        CloudWatchMetrics,
        Contracts,
        MarketStore,
        SqliteMetrics,
        WriteFence,
    )

    from ._predictor_history import PredictorHistory

__all__ = ["RESOURCES", "open_artifacts", "open_edgar_filings", "open_market", "open_metrics", "open_notifications",
           "open_predictor_history", "open_rag_evidence", "open_research_db", "probe_edgar_filings", "probe_market", "probe_research_db"]


def open_artifacts(settings: Settings, read_only: bool, contracts: Contracts,
                   fence: WriteFence | None = None) -> ArtifactStore:
    """The artifact store at ``settings.artifacts_uri`` (with ``settings.artifacts_storage_options``),
    validating JSON against ``contracts``."""
    from alpha_engine.store import ArtifactStore

    return ArtifactStore(settings.artifacts_uri, read_only=read_only, contracts=contracts, fence=fence,
                         storage_options=settings.artifacts_storage_options)


def open_market(settings: Settings, read_only: bool, contracts: Contracts,
                fence: WriteFence | None = None) -> MarketStore:
    """The ArcticDB market store at ``settings.data.market_store_uri``, with the feature columns;
    a damaged store names :func:`_rebuild_command` as its recovery."""
    from alpha_engine.data import FEATURE_ORDER
    from alpha_engine.store import MarketStore

    return MarketStore(settings.data.market_store_uri, feature_columns=FEATURE_ORDER, read_only=read_only,
                       rebuild=_rebuild_command(settings), fence=fence)


def _rebuild_command(settings: Settings) -> str:
    """The command that rebuilds the market store of these settings from the data provider
    (DataPhase1 on an empty store ingests the full history)."""
    command = f"alpha-engine data ingest --workspace {shlex.quote(str(settings.workspace))}"
    if settings.source is not None:
        command += f" --config {shlex.quote(str(settings.source))}"
    return command


def probe_market(settings: Settings) -> None:
    """The market store's location is usable (checked without ArcticDB: see probe_market_store)."""
    from alpha_engine.store import probe_market_store

    probe_market_store(settings.data.market_store_uri)


def open_notifications(settings: Settings, read_only: bool, contracts: Contracts,
                       fence: WriteFence | None = None) -> Notifier:
    """The operator notifier for ``settings.pipeline.sns_topic_arn``: locally it appends to
    ``<settings.workspace>/notifications/outbox.jsonl`` (the SNS binding's outbox and record), each
    record stamped with the real clock (UTC) and a uuid4 message id; with ``[pipeline] notifications
    = "sns"`` (deployed) it publishes to the topic through boto3, in the topic's region."""
    sns = None
    if settings.pipeline.notifications == "sns":
        topic = settings.pipeline.sns_topic_arn
        sns = _aws_client("sns", topic.split(":")[3] or None, f"notifications to {topic}",
                          "set [pipeline] notifications = \"outbox\"", uri=topic)
    return Notifier(settings.workspace, settings.pipeline.sns_topic_arn, now=_utc_now, new_id=_uuid4,
                    read_only=read_only, fence=fence, sns=sns)


def _aws_client(service: str, region: str | None, what: str, instead: str, *, uri: str) -> Any:
    """A boto3 client (credentials from boto3's usual chain); without the 'aws' extra, a StoreError
    naming ``what`` needs it and the alternative (``instead``)."""
    from alpha_engine.store import StoreError

    try:
        import boto3
    except ImportError as exc:
        raise StoreError(f"{what}: boto3 is not installed; pip install 'alpha-engine[aws]' or {instead}",
                         uri=uri) from exc
    return boto3.client(service, region_name=region)


def open_metrics(settings: Settings, read_only: bool, contracts: Contracts,
                 fence: WriteFence | None = None) -> SqliteMetrics | CloudWatchMetrics:
    """The metrics store ``settings.pipeline.metrics_uri`` names: by default ``<settings.workspace>/metrics.db``
    (SQLite, WAL; created on the first emit, never by a read-only open); ``cloudwatch://REGION``:
    CloudWatch over a boto3 client for that region (credentials from boto3's usual chain), as when
    the pipeline runs on AWS."""
    from alpha_engine.store import CloudWatchMetrics, SqliteMetrics

    uri = settings.pipeline.metrics_uri
    if uri.startswith("cloudwatch://"):
        client = _aws_client("cloudwatch", uri.removeprefix("cloudwatch://"), f"metrics_uri {uri}",
                             "leave pipeline.metrics_uri empty for the workspace's metrics.db", uri=uri)
        return CloudWatchMetrics(client, read_only=read_only, fence=fence)
    return SqliteMetrics(settings.workspace / "metrics.db", read_only=read_only, fence=fence)


def open_research_db(settings: Settings, read_only: bool, contracts: Contracts,
                     fence: WriteFence | None = None) -> ResearchDB:
    """research.db at ``<settings.workspace>/research/research.db`` (created and migrated on the first
    write; a read-only open never creates it)."""
    from alpha_engine.research import ResearchDB

    return ResearchDB(settings.workspace / "research" / "research.db", read_only=read_only, fence=fence)


def probe_research_db(settings: Settings) -> None:
    """research.db, if it exists, is readable and not newer than this code (read-only)."""
    from alpha_engine.research import ResearchDB

    ResearchDB(settings.workspace / "research" / "research.db", read_only=True).check()


def open_rag_evidence(settings: Settings, read_only: bool, contracts: Contracts,
                      fence: WriteFence | None = None) -> EvidenceIndex | None:
    """RAGIngestion's index (``[stages.rag-ingestion]``: its backend, the ``index_path`` file, default
    ``<settings.workspace>/rag/index.sqlite``, or a Postgres schema), always opened read-only, with
    the embedder that stage builds it with; None when it does not exist yet (the qual analyst then
    has no evidence)."""
    from alpha_engine.rag import open_retriever

    return open_retriever(settings)


def open_edgar_filings(settings: Settings, read_only: bool, contracts: Contracts, fence: WriteFence | None = None,
                       *, http: HttpSettings | None = None) -> FilingFetcher | None:
    """SEC EDGAR for RAGIngestion: an :class:`EdgarClientFetcher` over the EDGAR client of
    ``settings.data`` (``edgar_identity``, ``edgar_base_url``); None when no identity is configured
    (the EDGAR source is then skipped). Opening makes no request. ``http``: transport, retries and
    clock (tests pass an ``httpx.MockTransport`` and a fake clock); None = the network, real clock."""
    if not settings.data.edgar_identity:
        return None
    from alpha_engine.data.edgar import EdgarClient

    from ._edgar import EdgarClientFetcher

    return EdgarClientFetcher(EdgarClient(settings.data.edgar_identity, base_url=settings.data.edgar_base_url or None,
                                          http=http))


def probe_edgar_filings(settings: Settings) -> None:
    """The EDGAR configuration, without a request: an identity, if set, is ``"Name email"``; a base URL,
    if set, is http(s)."""
    from alpha_engine.data.edgar import check_identity

    data = settings.data
    if data.edgar_identity:
        check_identity(data.edgar_identity)
    if data.edgar_base_url and not data.edgar_base_url.startswith(("http://", "https://")):
        raise PreflightError(f"[data] edgar_base_url {data.edgar_base_url!r} is not an http(s) URL")


def open_predictor_history(settings: Settings, read_only: bool, contracts: Contracts,
                           fence: WriteFence | None = None) -> PredictorHistory:
    """PredictorBacktest's view of the predictor (its public API): walk-forward refits of the champion's
    config and the replay of stored predictions. It holds nothing: the stage passes the stores it opened."""
    from ._predictor_history import PredictorHistory

    return PredictorHistory()


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _uuid4() -> str:
    return str(uuid.uuid4())


RESOURCES: dict[Resource[Any], Wiring] = {
    ARTIFACTS: Wiring(open=open_artifacts),
    MARKET: Wiring(open=open_market, probe=probe_market),
    NOTIFICATIONS: Wiring(open=open_notifications),
    METRICS: Wiring(open=open_metrics),
    RESEARCH_DB: Wiring(open=open_research_db, probe=probe_research_db),
    RAG_EVIDENCE: Wiring(open=open_rag_evidence),
    EDGAR_FILINGS: Wiring(open=open_edgar_filings, probe=probe_edgar_filings),
    PREDICTOR_HISTORY: Wiring(open=open_predictor_history),
}
