"""Every package's public surface is pinned: ``__all__`` is exactly this literal list, every name
in it resolves, and nothing else public is exposed. A refactor that drops or adds a name fails
here first (the sfn runtime pins its own surface in tests/sfn/test_exports.py)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

EXPORTS = {
    "alpha_engine.app": [
        "DEFINITION_FILE", "EDGAR_ERROR_MAP", "EdgarClientFetcher", "MONITOR_LOCK", "MonitorBusyError", "RESOURCES",
        "SATURDAY", "SATURDAY_GRAPH", "TickPart", "TickReport", "WatchdogCheck", "alarm_evaluation", "check_run_date",
        "configured_inventory", "declared_alarms", "default_run_date", "freshness_cycle", "health_overview",
        "monitor_tick", "open_artifacts", "open_edgar_filings", "open_market", "open_metrics", "open_notifications",
        "open_rag_evidence", "open_research_db", "probe_edgar_filings", "probe_market", "probe_research_db",
        "watchdog_check"
    ],
    "alpha_engine.config": [
        "ChannelSettings", "ConfigError", "DEPLOY_ENV_OVERRIDES", "DataSettings", "EmailChannel", "NotifySettings",
        "PipelineSettings", "Settings", "SnsChannel", "WebhookChannel", "load_settings"
    ],
    "alpha_engine.store": [
        "Artifact", "ArtifactNotFoundError", "ArtifactStore", "CalendarError", "CloudWatchMetrics", "ContractError",
        "Contracts", "Datapoint", "FencedWriteError", "InvalidKeyError", "MAX_DATUMS_PER_CALL", "MarketStore",
        "MarketStoreCorruptError", "MarketStoreError", "MarketStoreLockedError", "MetricSummary", "MetricsError",
        "MetricsStore", "OHLCV_COLUMNS", "PRICE_COLUMNS", "Panel", "ReadOnlyMarketStoreError", "ReadOnlyStoreError",
        "SOURCE_COLUMN", "STATISTICS", "SqliteMetrics", "StoreError", "SymbolNotFoundError", "TradingCalendar",
        "UpsertResult", "WriteFence", "WriterLock", "aggregate", "content_digest", "empty_ticker_frame",
        "normalize_ticker_frame", "panel_from_frames", "probe_market_store"
    ],
    "alpha_engine.pipeline": [
        "ARTIFACTS", "Branch", "ComposeOptions", "Compute", "Consumption", "ExitCode", "FRAMEWORK_ARTIFACTS",
        "FailureClass", "HEALTH_MARKER", "HEARTBEAT_METRIC", "HEARTBEAT_NAMESPACE", "LeaseFence", "LocalPipeline",
        "LogCaptureResult", "MARKET", "METRICS", "NOTIFICATIONS", "NoOptions", "Notifier", "Opener",
        "ParallelGroup", "PipelineApp", "PipelineError", "Placeholder", "PlaceholderError", "PollLoop",
        "PollTimeoutError", "PollingStage", "PreflightError", "Probe", "RecoveryError", "Resource", "Resources",
        "RunDateError", "STAGE_LOG", "Stage", "StageContext", "StageDefinitionError", "StageGraph", "StageOutcome",
        "StageReport", "StageStatus", "Step", "TERMINATION_MESSAGE_ENV", "UnknownStageError", "Wiring",
        "WorkspaceBusyError", "WorkspaceLock", "artifact_present", "check_stage_class", "compose_definition",
        "definition_json", "definition_placeholders", "execution_cause_line", "heartbeat", "load_app",
        "local_substitutions", "log_key_for", "optional", "rerun_input", "run_stage", "run_with_log_capture",
        "short_cause", "stage_log_path", "stage_log_prefix", "stage_statuses", "substitute", "write_report",
        "write_termination_message"
    ],
    "alpha_engine.data": [
        "Anomaly", "CANDIDATES", "DataError", "DataPhase1", "DataPhase2", "DataPhase2Options", "FEATURES",
        "FEATURE_ORDER", "FeatureSet", "FeatureSpec", "INSIDER", "LATEST_WEEKLY", "MorningEnrich", "ProviderAuthError", "ProviderError",
        "QualityGateError", "Scanner", "ScannerOptions", "WEEKLY_CONSTITUENTS", "WEEKLY_MANIFEST",
        "WEEKLY_VALIDATION", "anomalies_summary", "backfill_regression", "check_data_settings",
        "check_new_rows", "compute_features", "coverage_gate", "enrich_prior_session",
        "feature_catalog", "first_saturday_after", "freshness_gate", "freshness_report",
        "ingest_market_data", "latest_cross_section", "latest_feature_values", "latest_validation",
        "market_status", "open_macro_provider", "open_provider", "scan_candidates", "schema_hash",
        "split_blocked", "validate_history", "validate_store",
    ],
    "alpha_engine.data.providers": [
        "ETF_MACRO_SYMBOLS", "FRED_ONLY_SYMBOLS", "FRED_SERIES", "FilesOptions", "FilesProvider",
        "FredOptions", "FredProvider", "HttpClient", "HttpOptions", "HttpSettings", "INDEX_SYMBOLS",
        "MACRO_PROVIDER_NAMES", "MACRO_SYMBOLS", "MacroProvider", "PROVIDER_NAMES", "PolygonOptions",
        "PolygonProvider", "Provider", "RateLimiter", "RetryPolicy", "SAMPLE_CAVEATS",
        "SAMPLE_DEFAULT_RUN_DATE", "SAMPLE_LAST_DATE", "SAMPLE_SECTORS", "SECTOR_ETFS",
        "SYNTHETIC_CAVEATS", "SampleOptions", "SampleProvider", "SyntheticOptions", "SyntheticProvider",
        "YahooOptions", "YahooProvider", "check_data_settings", "first_saturday_after",
        "from_yahoo_symbol", "open_macro_provider", "open_provider", "provider_options", "redact",
        "to_polygon_symbol", "to_yahoo_symbol",
    ],
    "alpha_engine.data.edgar": [
        "CompanyFact", "CompanyTicker", "EDGAR_ARCHIVES_URL", "EDGAR_DATA_URL", "EDGAR_IDENTITY_HINT",
        "EDGAR_MAX_REQUESTS_PER_SECOND", "EdgarClient", "Filing", "Form4", "InsiderTransaction", "ReportingOwner",
        "Submissions", "annual_fact", "check_identity", "cik10", "latest_instant_fact", "normalize_ticker",
        "parse_company_tickers", "parse_form4", "parse_submissions",
    ],
    "alpha_engine.data.features": [
        "FEATURES", "FEATURE_GROUPS", "FEATURE_ORDER", "FEATURE_PARAMS", "FEATURE_UNITS", "FeatureSet",
        "FeatureSpec", "compute_features", "cross_sectional_zscore", "feature_spec", "schema_hash",
    ],
    "alpha_engine.predictor": [
        "ALPHA", "AlphaCalibrator", "BundleFile", "CHAMPION_POINTER", "ChampionModels",
        "ChampionReference", "CombinatorialPurgedCV", "DEFAULT_VETO_CONFIDENCE", "DRIFT_REPORT", "DSR_THRESHOLD", "DriftDetection",
        "Evidence", "ICSummary", "LATEST_PREDICTIONS", "META_FEATURES", "MODEL_BUNDLE_FILE",
        "MODEL_REPORT_FILE", "MOMENTUM_FORMULA", "MetaModel", "ModelRegistry", "PREDICTIONS",
        "PREDICTOR_PARAMS", "PREDICTOR_PARAMS_HISTORY", "PREDICTOR_PARAMS_PREVIOUS",
        "PROMOTION_DECISION", "PredictorError", "PredictorTraining", "PredictorTrainingOptions",
        "REGISTRY_MANIFEST", "RegistryCorruptionError", "RegistryError", "TrainingConfig",
        "VOLATILITY_FEATURES", "VersionNotFoundError", "VolatilityModel", "WalkForward", "alpha_for",
        "apply_decision", "apply_vetoes", "build_dataset", "build_predictions", "daily_ic", "data_vintage", "decide",
        "deflated_sharpe_ratio", "detect_drift", "forward_log_return", "hit_rate",
        "latest_model_inputs", "load_champion", "load_champion_reference", "macro_features",
        "market_relative_labels", "model_rows", "momentum_score", "paired_ic_test",
        "predict_cross_section", "reference_distributions", "render_report", "skill_gate",
        "summarize_ic", "train_predictor", "training_rows", "veto_confidence_in_force", "vol_bucket_relative_labels",
    ],
    "alpha_engine.regime": [
        "LATEST_REGIME", "MACRO_INPUTS", "NormalGammaPrior", "REGIME_ACTIONS", "REGIME_RETROSPECTIVE",
        "REGIME_SUBSTRATE", "RegimeCall", "RegimeError", "RegimeHMM", "RegimeHistoryError", "RegimeInputError",
        "RegimeInputs", "RegimeRetrospectiveEval", "RegimeRetrospectiveOptions", "RegimeSubstrate",
        "RegimeSubstrateOptions", "STATE_LABELS", "bocpd_run_length", "build_retrospective", "build_substrate",
        "change_probability", "composite_zscore", "fit_regime_hmm", "load_regime_inputs", "score_calls",
        "weekly_inputs",
    ],
    "alpha_engine.research": [
        "AnthropicClient", "COST_COLUMNS", "COST_RAW", "COST_SCHEMA_VERSION", "CallCost", "CioAgent", "CioDecision",
        "CioOutput", "Completion", "CostLedger", "DECISION_ARTIFACT", "DRY_RUN_MARKER", "DecisionArtifact",
        "DecisionCaptureWriteError", "DecisionRecorder", "DryRunQuarantineError", "EVIDENCE_K", "Evidence",
        "EvidenceIndex", "HeldPosition", "LATEST_SIGNALS", "LlmCallError", "LlmClient", "LlmConfigError", "LlmError",
        "LlmOptions", "LlmOutputError", "LlmResearchBackend", "LlmSession", "MIGRATIONS", "MacroEconomist",
        "MacroOutput", "NO_EVIDENCE", "OpenAICompatibleClient", "PROMPTS", "PeerReviewOutput", "PeerReviewer",
        "PopulationOutput", "PriceTable", "PriorThesis", "QualAnalyst", "QualAssessment", "QualOutput", "QuantAnalyst",
        "QuantOutput", "QuantPick", "RAG_EVIDENCE", "REGIME_LATEST_KEY", "REGIME_SUBSTRATE_KEY", "RESEARCH_DB",
        "RULE_SET", "RegimePrior", "Research", "ResearchBackend", "ResearchDB", "ResearchDbError", "ResearchError",
        "ResearchInputError", "ResearchInputs", "ResearchOptions", "ResearchResult", "RunBudgetExceededError",
        "RunRecord", "SCHEMA_VERSION", "SIGNALS", "SNAPSHOT_CAP_BYTES", "ScoredTicker", "SectorMap", "SectorRating",
        "TeamView", "ThesisDecision", "ThesisMaintainer", "ThesisUpdate", "Usage", "aggregate_score", "build_signals",
        "cost_telemetry_files", "deterministic_backend", "dry_run_backend", "factor_profile", "factor_score",
        "find_dry_run_marker", "handle_population", "json_reply_text", "llm_backend", "load_sector_map", "quarantine",
        "read_regime_prior", "resolve_llm", "retrieve", "run_research", "truncate_snapshot", "write_cost_telemetry"
    ],
    "alpha_engine.backtest": [
        "ACTIONS", "ATR_METHOD", "BLOCK_REASONS", "BacktestError", "BacktestInputError", "BacktestInputs",
        "BacktestResult", "BacktestStatistics", "Backtester", "BacktesterOptions", "BacktesterRun", "CONVICTIONS",
        "COVARIANCE_ESTIMATORS", "COVARIANCE_SWEEP", "CausalPredictions", "CausalityCheck", "CausalityError",
        "ClosePanel", "DEFAULT_SEARCH_GRID", "DEFAULT_VETO_THRESHOLDS", "DecisionLog", "DrawdownTier",
        "EXECUTOR_PARAMS", "EXECUTOR_PARAMS_HISTORY", "EXECUTOR_PARAMS_PREVIOUS", "EXECUTOR_REC", "ExecutorConfig",
        "GateDecision", "HistoricalPredictions", "HoldoutLeakError", "Interval", "LookAheadError",
        "LowestVarianceSelection", "MarketFeatures", "ORDER_REASONS", "Orders", "OutOfSample", "PARAM_SWEEP",
        "PARITY_HISTORY", "PARITY_REPORT", "PORTFOLIO_GATE", "PORTFOLIO_STATS", "PREDICTOR_HISTORY", "PREDICTOR_REC",
        "PREDICTOR_REFITS", "PREDICTOR_STATS", "PREDICTOR_SWEEP", "Parity", "ParityError", "ParityOptions",
        "PortfolioBacktest", "PortfolioBacktestError", "PortfolioDataError", "PortfolioOptimizerBacktest",
        "PortfolioOptimizerOptions", "PredictorBacktest", "PredictorBacktestOptions", "PredictorBacktestRun", "REGIMES",
        "RISK_AVERSION_SWEEP", "Recommendation", "Refit", "SECTOR_RATINGS", "SELL_REASONS", "SYNTHETIC_SIGNAL_NOTE",
        "VetoRecommendation", "annual_volatility", "annualised_sharpe", "assert_parity", "backtest_statistics",
        "bonferroni_confidence", "bootstrap_interval", "check_causal_refits", "check_causal_splits",
        "check_holdout_split", "check_no_look_ahead", "close_panel", "compare_decisions", "covariance_estimator",
        "decisions_from_result", "decisions_from_trade_log", "equal_weight", "gbm_vetoes", "load_closes",
        "market_features", "max_drawdown", "mean_variance_utility", "minimum_variance", "nav_statistics",
        "one_way_turnover", "optimizer_gate", "parity_differences", "parity_sessions", "pit_parity", "pre_selected",
        "predictor_signal_arrays", "recommend_executor", "recommend_veto", "returns_from_closes", "run_backtester",
        "run_portfolio_backtest", "run_predictor_backtest", "search_candidates", "sharpe_difference", "signals_panel",
        "simulate_scalar", "simulate_vectorized", "slice_inputs", "stationary_bootstrap_indices", "synthetic_inputs",
        "synthetic_signal_arrays", "walk_forward",
    ],
    "alpha_engine.monitor": [
        "ALARM", "Alarm", "AlarmBook", "AlarmError", "Evaluation", "INSUFFICIENT_DATA", "OK",
        "SUBSTRATE_AGGREGATE_ALARM", "Schedule", "StartedExecution", "StateChange", "Verdict",
        "WATCHDOG_DEDUP_SECONDS", "WATCHDOG_RESULTS", "WatchdogError", "Window", "check_schedules",
        "declared_schedules", "default_alarms", "evaluate", "evaluate_all", "expected_window", "heartbeat_alarm",
        "list_started", "substrate_row_alarm", "watchdog_alert", "write_last_check"
    ],
    "alpha_engine.deploy": [
        "ApplyOutcome", "AwsClients", "CAPABILITIES", "Change", "ChangeSet", "DeployError", "DestroyOutcome",
        "MAX_TEMPLATE_BODY_BYTES", "RESOURCE_ACCESS", "Rerun", "Stack", "StackError", "StackEvent",
        "StackFailedError", "StackResource", "StackStateError", "StackTimeoutError", "Template", "TemplateError",
        "Waiting", "aws_clients", "change_set_name", "definition_permissions", "logical_id", "plan_rerun",
        "render_changes", "render_event", "start_rerun", "synthesize", "template_key"
    ],
    "alpha_engine.evals": [
        "AGENT_FAMILIES", "AggregateCosts", "AggregateCostsOptions", "COST_NAMESPACE", "COST_TABLE", "COUNTERFACTUAL",
        "COUNTERFACTUAL_LATEST", "CapturedKey", "ClusterReport", "CorpusError", "CorpusScan", "CostCall",
        "Counterfactual", "CounterfactualOptions", "CounterfactualRun", "DECISIONS_ROOT", "DEMOTION_THRESHOLD",
        "EVAL_JUDGMENT", "EVAL_MANIFEST", "EVAL_NAMESPACE", "EVAL_PLAN", "EVAL_ROLLING_MEAN", "EvalError",
        "EvalInputError", "EvalJudge", "EvalJudgeError", "EvalJudgeOptions", "EvalRollingMean",
        "EvalRollingMeanOptions", "LlmJudgeOutput", "META_SUBTREES", "PLACEHOLDER_PROMPT", "PricedCalls",
        "RATIONALE_ANALYSIS", "RATIONALE_FIELDS", "REPLAY_LATEST", "REPLAY_SUMMARY", "RUBRIC_JUDGE",
        "RationaleClustering", "RationaleClusteringOptions", "RationaleRun", "ReplayConcordance",
        "ReplayConcordanceOptions", "ReplayRun", "RuleFit", "SCORERS", "SUPPORTED_AGENTS", "TargetResult", "agent_base",
        "aggregate_scores", "agreement", "cluster_rationales", "cost_datapoints", "cost_table_bytes", "day_prefix",
        "dry_run_llm", "dry_run_outcome", "fit_rule", "iso_week", "jaccard", "link_components", "load_decision",
        "normalise_digits", "output_model", "parse_captured_key", "parse_judge_output", "pearson", "price_calls",
        "rationales_of", "read_cost_calls", "replay_window", "rolling_mean", "rubric_judge", "run_counterfactual",
        "run_rationale_clustering", "scan_window", "should_stop"
    ],
    "alpha_engine.evaluator": [
        "AutoApplyOptions", "CHANGE_ACTIONS", "CONFIG_CHANGES", "CONFIG_KEYS", "CompletenessTracker", "ConfigBook",
        "ConfigChangeError", "ConfigKey", "Decision", "EVALUATION", "EVALUATION_REPORT", "EvaluationInputs",
        "Evaluator", "EvaluatorError", "EvaluatorInputError", "EvaluatorOptions", "FactorReport", "GRADE_HISTORY",
        "History", "HorizonReport", "InsufficientDataError", "LookAheadError", "METRICS_HISTORY", "MODULES",
        "MODULE_STATUSES", "ModuleReport", "ModuleResult", "PREDICTOR_REC_FIELDS", "PROMOTION_BASELINE",
        "RegressionCheck", "SkipModule", "auto_apply", "benjamini_hochberg", "check_forward_returns",
        "check_outcome_alignment", "check_regression", "compute_scorecard", "cross_sectional_ic", "decide_executor",
        "decide_veto", "evaluate", "expected_calibration_error", "factor_report", "forward_outcomes", "forward_returns",
        "grade_component", "hac_mean_interval", "ic_to_grade", "letter", "lift_to_grade", "load_history",
        "pct_to_grade", "proportion_pvalue", "rank_ic", "read_predictor_rec", "reliability_table", "render_report",
        "update_grade_history", "wilson_interval",
    ],
    "alpha_engine.health": [
        "ArtifactSpec", "CYCLE_ANCHORS", "CheckResult", "DEFAULT_INVENTORY", "DEFAULT_REGISTRY", "FRESHNESS_CADENCES",
        "FRESHNESS_HEARTBEAT", "FRESHNESS_PROCESS", "FRESHNESS_RESULTS", "FreshnessCycle", "FreshnessRegistryError",
        "HEALTH_REPORT", "HealthCheckFailedError", "HealthError", "Inventory", "RowResult", "SUBSTRATE_CADENCES",
        "SUBSTRATE_NAMESPACE", "SUBSTRATE_REPORT", "SaturdayHealthCheck", "Source", "SubstrateCheckFailedError",
        "SubstrateCheckOptions", "SubstrateInventoryError", "SubstrateReport", "SubstrateRow",
        "WeeklySubstrateHealthCheck", "check_freshness", "check_substrate", "cycle_date", "load_inventory",
        "load_registry", "registry_gaps", "run_freshness_cycle", "substrate_datapoints"
    ],
    "alpha_engine.notify": [
        "ALERTS_TOPIC", "ChannelError", "DELIVERY_LOG", "Delivery", "DeliveryReport", "FAILURE_DETAIL_MAX_CHARS",
        "NotifyError", "TOPICS", "WATCHDOG_TOPIC", "deliver", "execution_status_notice", "failed_deliveries",
        "publish_to_topic", "send", "status_notice",
    ],
    "alpha_engine.rag": [
        "ArchiveSource", "Chunk", "DEFAULT_ARCHIVE_PREFIXES", "DEFAULT_DSN_ENV", "Document", "EDGAR_FILINGS",
        "EMBEDDERS", "EdgarCompany", "EdgarFiling", "EdgarOptions", "EdgarSource", "Embedder", "ExtractionError",
        "FREQUENT_MIN_DOCS", "FREQUENT_TERM_FRACTION", "FilingAccessError", "FilingFetchError", "FilingFetcher",
        "FilingList", "FolderSource", "HashingEmbedder", "Hit", "IngestionStats", "PostgresRagIndex", "RAGIngestion",
        "RAGIngestionOptions", "RAG_INGESTION_REPORT", "RRF_K", "RagBackend", "RagError", "RagIndex", "RagIndexError",
        "RagRetriever", "SUFFIXES", "Source", "SourceError", "WordLlamaEmbedder", "chunk_id", "chunk_text",
        "configured_index_path", "content_hash", "edgar_source_id", "edgar_tickers", "extract_text", "fetch_filings",
        "fts_query", "make_embedder", "open_index", "open_retriever",
    ],
}

# Domain packages, the store and the pipeline load their names lazily (see their __init__.pyi).
LAZY = ("alpha_engine.store", "alpha_engine.pipeline", "alpha_engine.data", "alpha_engine.data.providers",
        "alpha_engine.data.features", "alpha_engine.data.edgar",
        "alpha_engine.predictor", "alpha_engine.regime", "alpha_engine.research", "alpha_engine.evals", "alpha_engine.health",
        "alpha_engine.rag", "alpha_engine.backtest", "alpha_engine.evaluator", "alpha_engine.notify",
        "alpha_engine.monitor", "alpha_engine.deploy")


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_all_is_pinned(name: str) -> None:
    assert sorted(importlib.import_module(name).__all__) == EXPORTS[name]


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_every_exported_name_resolves_and_nothing_else_is_public(name: str) -> None:
    module = importlib.import_module(name)
    for export in module.__all__:
        assert getattr(module, export) is not None, export
    public = {n for n in dir(module) if not n.startswith("_") and n != "annotations"}
    submodules = {n for n in public if type(getattr(module, n)).__name__ == "module"}
    assert sorted(public - submodules) == EXPORTS[name]


@pytest.mark.parametrize("name", LAZY)
def test_importing_a_lazy_package_imports_none_of_its_modules(name: str) -> None:
    code = (f"import sys, {name}; "
            f"print(sorted(m for m in sys.modules if m.startswith('{name}.') and m.count('.') > 1))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]", f"{name} imported {loaded.strip()} at import time"
