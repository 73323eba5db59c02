"""Artifact declarations and contracts: key patterns, the contract table, and validation on
write and on read. The example contract is the framework's health marker."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from store_test_support import good_marker, put_raw, raw_tree

from alpha_engine.pipeline import HEALTH_MARKER
from alpha_engine.store import Artifact, ArtifactStore, ContractError, Contracts, StoreError

HEALTH = "health_marker.schema.json"
CONTRACTS = Contracts([HEALTH_MARKER, Artifact("signals/{date}/signals.json")])


def validate_contract(key: str, value: Any) -> None:
    CONTRACTS.validate(key, value)


@pytest.fixture
def store(store: ArtifactStore) -> ArtifactStore:
    """The conftest's store (local, memory:// and S3), validating against CONTRACTS."""
    return ArtifactStore(store.uri, storage_options=store.storage_options, contracts=CONTRACTS)


def test_the_health_marker_schema_is_a_valid_2020_12_schema() -> None:
    document = HEALTH_MARKER.load_schema()
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(document)


@pytest.mark.parametrize(("key", "schema"), [
    ("health/data-phase1.json", HEALTH),
    ("health/x.json", HEALTH),
    ("health/archive/x.json", None),  # a placeholder never crosses '/'
    ("monitoring/health/2026-11-21.json", None),
    ("health/x.txt", None),
    ("Health/x.json", None),
    ("signals/2026-11-21/signals.json", None),  # declared, but with no schema
])
def test_artifact_for(key: str, schema: str | None) -> None:
    artifact = CONTRACTS.artifact_for(key)
    assert (artifact.schema if artifact else None) == schema


def test_a_date_placeholder_matches_only_an_iso_date() -> None:
    dated = Artifact("predictor/predictions/{date}.json")
    assert dated.matches("predictor/predictions/2022-12-30.json")
    assert not dated.matches("predictor/predictions/latest.json")
    assert dated.format(date(2022, 12, 30)) == "predictor/predictions/2022-12-30.json"
    assert dated.dated and not dated.fixed and dated.prefix == "predictor/predictions/"


def test_a_run_key_exists_only_for_one_key_per_run() -> None:
    assert Artifact("p/{date}.json").run_key("2022-12-30") == "p/2022-12-30.json"
    assert Artifact("p/latest.json").run_key("2022-12-30") == "p/latest.json"
    assert Artifact("p/{version}/m.json").run_key("2022-12-30") is None


def test_format_needs_every_placeholder_and_refuses_a_value_with_a_slash() -> None:
    family = Artifact("predictor/registry/{version}/{file}")
    assert family.fields == ("version", "file") and not family.dated
    assert family.format(version="v1", file="manifest.json") == "predictor/registry/v1/manifest.json"
    with pytest.raises(ValueError, match="no value for file"):
        family.format(version="v1")
    with pytest.raises(ValueError, match="does not fit"):
        family.format(version="a/b", file="x")


@pytest.mark.parametrize("key", ["/abs/x.json", "a//b.json", "a/../b.json", ""])
def test_a_key_pattern_must_be_a_relative_posix_key(key: str) -> None:
    with pytest.raises(ValueError, match="relative POSIX key"):
        Artifact(key)


def test_a_schema_needs_the_package_that_ships_it() -> None:
    with pytest.raises(ValueError, match="needs the package"):
        Artifact("x/{date}.json", schema="x.schema.json")


def test_one_key_declared_twice_with_different_schemas_is_refused() -> None:
    with pytest.raises(StoreError, match="declared twice with different contracts"):
        Contracts([HEALTH_MARKER, Artifact(HEALTH_MARKER.key)])


def test_a_missing_schema_file_is_a_store_error_naming_it() -> None:
    with pytest.raises(StoreError, match="alpha_engine.pipeline/schemas/nope.schema.json cannot be loaded"):
        Artifact("x/{date}.json", schema="nope.schema.json", package="alpha_engine.pipeline").validate({})


@pytest.mark.parametrize("changes", [
    {},
    {"last_success": None, "status": "failed", "error": "ValueError: boom"},
    {"last_success": "2026-11-21T10:15:00.123+01:00"},
    {"duration_seconds": 0},
    {"summary": {"nested": {"any": [1, "shape"]}}, "warnings": ["slow", "partial"]},
])
def test_valid_markers_pass(changes: dict[str, Any]) -> None:
    validate_contract("health/data-phase1.json", good_marker(**changes))


def _without(field: str) -> dict[str, Any]:
    marker = good_marker()
    del marker[field]
    return marker


@pytest.mark.parametrize(("marker", "pointer", "reason"), [
    (good_marker(status="bad"), "/status", "'bad' is not one of"),
    (good_marker(module=""), "/module", "should be non-empty"),
    (good_marker(module=7), "/module", "is not of type 'string'"),
    (good_marker(run_date="21/11/2026"), "/run_date", "21/11/2026"),
    (good_marker(run_date="2026-13-45"), "/run_date", "is not a 'date'"),
    # "does not match" the pattern, or "is not a 'date-time'" when rfc3339-validator is installed
    (good_marker(last_success="yesterday"), "/last_success", "'yesterday'"),
    (good_marker(duration_seconds=-1), "/duration_seconds", "less than the minimum of 0"),
    (good_marker(duration_seconds=True), "/duration_seconds", "is not of type 'number'"),
    (good_marker(summary=[]), "/summary", "is not of type 'object'"),
    (good_marker(warnings=["ok", 3]), "/warnings/1", "is not of type 'string'"),
    (good_marker(error=False), "/error", "is not of type"),
    (good_marker(extra=1), "", "Additional properties are not allowed ('extra' was unexpected)"),
    (_without("error"), "", "'error' is a required property"),
    ([], "", "is not of type 'object'"),
])
def test_invalid_markers_name_key_pointer_and_reason(marker: Any, pointer: str, reason: str) -> None:
    with pytest.raises(ContractError) as info:
        validate_contract("health/data-phase1.json", marker)
    error = info.value
    assert (error.key, error.schema, error.pointer) == ("health/data-phase1.json", HEALTH, pointer)
    assert reason in error.reason
    message = str(error)
    assert "'health/data-phase1.json'" in message and HEALTH in message and reason in message
    assert (f"JSON pointer {pointer!r}" if pointer else "JSON pointer '' (document root)") in message


def test_message_counts_further_violations() -> None:
    with pytest.raises(ContractError, match=r"\(and 1 more\)"):
        validate_contract("health/x.json", good_marker(status="bad", duration_seconds=-1))


def test_keys_without_contract_accept_anything() -> None:
    validate_contract("signals/2026-11-21/signals.json", {"whatever": [1, 2]})
    validate_contract("health/archive/old.json", {})


def test_write_json_validates_first_and_writes_nothing(store: ArtifactStore) -> None:
    with pytest.raises(ContractError) as info:
        store.write_json("health/data-phase1.json", good_marker(status="running"))
    assert store.uri in str(info.value) and "/status" in str(info.value)
    assert raw_tree(store) == []


def test_failed_validation_keeps_the_previous_marker(store: ArtifactStore) -> None:
    store.write_json("health/data-phase1.json", good_marker())
    before = store.snapshot()
    with pytest.raises(ContractError):
        store.write_json("health/data-phase1.json", _without("summary"))
    assert store.snapshot() == before and store.read_json("health/data-phase1.json") == good_marker()


def test_write_json_validates_what_will_be_read_back(store: ArtifactStore) -> None:
    # A tuple is written as an array, so it satisfies "type": "array".
    store.write_json("health/data-phase1.json", good_marker(warnings=("slow",)))
    assert store.read_json("health/data-phase1.json")["warnings"] == ["slow"]


def test_read_json_validates_a_file_edited_to_break_its_contract(store: ArtifactStore) -> None:
    store.write_json("health/data-phase1.json", good_marker())
    edited = good_marker(duration_seconds="12s")
    put_raw(store, "health/data-phase1.json", json.dumps(edited).encode())
    with pytest.raises(ContractError) as info:
        store.read_json("health/data-phase1.json")
    assert info.value.pointer == "/duration_seconds"
    assert "'health/data-phase1.json'" in str(info.value) and store.uri in str(info.value)
    assert store.read_text("health/data-phase1.json")  # the bytes themselves are still readable


def test_write_bytes_does_not_validate(store: ArtifactStore) -> None:
    # Only JSON reads and writes go through contracts; raw bytes are the escape hatch.
    store.write_bytes("health/raw.json", b"{}")
    with pytest.raises(ContractError):
        store.read_json("health/raw.json")
