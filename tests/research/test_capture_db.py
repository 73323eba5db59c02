"""Decision capture's contract, the dry-run quarantine and research.db's migrations."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from alpha_engine.research import (
    DECISION_ARTIFACT,
    SCHEMA_VERSION,
    SIGNALS,
    DecisionArtifact,
    DecisionCaptureWriteError,
    DecisionRecorder,
    DryRunQuarantineError,
    ResearchDB,
    ResearchDbError,
    quarantine,
    truncate_snapshot,
)
from alpha_engine.store import ArtifactStore, ContractError, Contracts

RUN_DATE = date(2022, 12, 31)
META = {"model_name": "m", "model_version": "1", "input_tokens": 1, "output_tokens": 1, "cost_usd": 0.0,
        "run_type": "weekly_research", "node_name": "n", "prompt_id": "p", "prompt_version": "1"}
PROMPT = {"system_prompt": "s", "user_prompt": "u", "tool_definitions": [], "prompt_version_hash": "h"}


def _recorder(root: Path, **kw: object) -> DecisionRecorder:
    store = ArtifactStore(root, contracts=Contracts((DECISION_ARTIFACT,)), **kw)  # type: ignore[arg-type]
    return DecisionRecorder(store, RUN_DATE, "2022-12-31-research", backend="deterministic", rule_set="r/1",
                            data_snapshot_id="x")


def _artifact(**kw: object) -> dict[str, object]:
    return {"run_id": "r", "timestamp": "2022-12-31T00:00:00Z", "agent_id": "a", "node_name": "n", "backend": "b",
            "rule_set": None, "input_data_snapshot": {}, "input_data_summary": "s", "input_data_truncated_at": None,
            "truncated_fields": [], "agent_output": {}, "data_snapshot_id": "d", **kw}


def test_model_metadata_and_prompt_context_are_both_set_or_both_absent() -> None:
    assert not DecisionArtifact(**_artifact()).is_llm_decision()  # type: ignore[arg-type]
    assert DecisionArtifact(**_artifact(model_metadata=META, full_prompt_context=PROMPT)).is_llm_decision()  # type: ignore[arg-type]
    for one in ({"model_metadata": META}, {"full_prompt_context": PROMPT}):
        with pytest.raises(ValidationError, match="both be set"):
            DecisionArtifact(**_artifact(**one))  # type: ignore[arg-type]


def test_the_schema_refuses_one_of_the_pair_too(tmp_path: Path) -> None:
    document = DecisionArtifact(**_artifact()).model_dump(mode="json")  # type: ignore[arg-type]
    document["model_metadata"] = META
    with pytest.raises(ContractError):
        DECISION_ARTIFACT.validate(document)


def test_a_deterministic_decision_is_written_at_the_dated_agent_key(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path)
    recorder.capture("sector_quant:technology", "sector_team_node", {"a": 1}, {"top": []})
    assert recorder.keys_ == ["decision_artifacts/2022/12/31/sector_quant:technology/2022-12-31-research.json"]
    document = recorder.store.read_json(recorder.keys_[0])
    assert document["model_metadata"] is None and document["full_prompt_context"] is None
    assert "deterministic rules r/1" in document["input_data_summary"]


def test_a_snapshot_over_one_mib_is_truncated_largest_field_first_with_markers() -> None:
    snapshot = {"big": "x" * 900_000, "bigger": "y" * 1_000_000, "small": [1, 2, 3]}
    capped, fields = truncate_snapshot(snapshot)
    assert fields == ["bigger"] and capped["small"] == [1, 2, 3] and capped["big"] == "x" * 900_000
    assert capped["bigger"] == {"_truncated": True, "original_field": "bigger", "original_size_bytes": 1_000_002}
    capped, fields = truncate_snapshot(snapshot, cap=1000)
    assert fields == ["bigger", "big"]


def test_a_truncated_snapshot_is_recorded_as_such(tmp_path: Path) -> None:
    artifact = _recorder(tmp_path).capture("ic_cio", "cio_node", {"big": "z" * 1_100_000}, {})
    assert artifact is not None and artifact.input_data_truncated_at == 1_048_576
    assert artifact.truncated_fields == ["big"] and artifact.input_data_snapshot["big"]["_truncated"] is True


def test_a_write_failure_raises(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path, read_only=True)
    with pytest.raises(DecisionCaptureWriteError, match="cannot write decision_artifacts/2022/12/31/ic_cio"):
        recorder.capture("ic_cio", "cio_node", {}, {})


def test_the_quarantine_refuses_anything_carrying_the_dry_run_marker() -> None:
    quarantine("signals", {"universe": [{"thesis_summary": "fine"}]})
    with pytest.raises(DryRunQuarantineError, match="refusing to publish signals.*at /universe/0/thesis_summary"):
        quarantine("signals", {"universe": [{"thesis_summary": "[DRY-RUN] stub"}]})
    with pytest.raises(DryRunQuarantineError, match="research.db"):
        quarantine("research.db", {"rows": [("a", "x [DRY-RUN y")]})
    with pytest.raises(DryRunQuarantineError):
        quarantine(SIGNALS.key, {"[DRY-RUN": 1})


def test_migrations_apply_from_empty_and_are_idempotent(tmp_path: Path) -> None:
    db = ResearchDB(tmp_path / "research.db")
    assert db.version() == 0
    assert db.migrate() == list(range(1, SCHEMA_VERSION + 1))
    dump = list(db.dump())
    assert db.migrate() == [] and list(db.dump()) == dump and db.version() == SCHEMA_VERSION
    tables = {r[0] for r in sqlite3.connect(db.path).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"schema_version", "investment_thesis", "population", "population_history", "scanner_evaluations",
            "cio_evaluations", "score_performance", "thesis_history"} <= tables


def test_a_read_only_db_never_creates_the_file_and_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "research.db"
    ResearchDB(path, read_only=True).check()
    assert ResearchDB(path, read_only=True).prior_population("2022-12-31") == [] and not path.exists()
    ResearchDB(path).migrate()
    sqlite3.connect(path).execute("INSERT INTO schema_version VALUES (999, 'future')").connection.commit()
    with pytest.raises(ResearchDbError, match="newer than this code"):
        ResearchDB(path).check()
