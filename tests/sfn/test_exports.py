"""The public surface of alpha_engine.sfn (and of its services and testing modules) is exactly its
__all__, and __all__ is pinned here: dropping or adding a public name must change this file."""

from __future__ import annotations

from types import ModuleType

import pytest

import alpha_engine.sfn as sfn
import alpha_engine.sfn.services as services
import alpha_engine.sfn.testing as testing

SFN_ALL = [
    "BindingError",
    "Clock",
    "DefinitionError",
    "DefinitionInvalid",
    "DefinitionParseError",
    "Diagnostic",
    "EXECUTION_STORE_ENV",
    "Engine",
    "ExecutionAlreadyExists",
    "ExecutionNotFound",
    "ExecutionRecord",
    "ExecutionResult",
    "ExecutionStateError",
    "ExecutionStore",
    "ExpressionError",
    "FakeClock",
    "IdSource",
    "LeaseStatus",
    "LocalRuntime",
    "MemoryStore",
    "NondeterminismError",
    "PAYLOAD_LIMIT_BYTES",
    "RuntimeConfig",
    "SfnError",
    "SqliteStore",
    "StatesError",
    "StoreError",
    "SystemClock",
    "TASK_LEASE_ENV",
    "TaskCall",
    "TaskLease",
    "check_definition",
    "export_event",
    "lease_status",
    "load_definition",
    "publish_to_outbox",
    "render_graph",
    "state_outcomes",
    "validate_definition",
]

SERVICES_ALL = [
    "BatchBinding",
    "Binding",
    "BindingContext",
    "ChildLease",
    "DynamoDBBinding",
    "LambdaBinding",
    "MockBinding",
    "MockConfig",
    "MockConfigBinding",
    "MockedResponse",
    "Pattern",
    "ServiceRegistry",
    "SnsBinding",
    "SsmBinding",
    "TERMINATION_MESSAGE_ENV",
    "TaskRequest",
    "default_registry",
    "load_mock_config",
    "parse_mock_config",
    "split_resource",
]

TESTING_ALL = [
    "CaseOutcome",
    "NondeterminismFinding",
    "SfnTestEnvironment",
    "check_determinism",
    "run_conformance_case",
    "scan_for_nondeterminism",
]


@pytest.mark.parametrize(("module", "pinned"), [(sfn, SFN_ALL), (services, SERVICES_ALL), (testing, TESTING_ALL)],
                         ids=["sfn", "services", "testing"])
def test_all_is_the_pinned_list(module: ModuleType, pinned: list[str]) -> None:
    assert pinned == sorted(pinned)  # keep the literal lists sorted, so a diff shows the change
    assert sorted(module.__all__) == pinned


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name in vars(sfn) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(sfn, name)).__name__ == "module"}
    assert sorted(public - modules) == sorted(sfn.__all__)


@pytest.mark.parametrize("module", [services, testing], ids=["services", "testing"])
def test_every_name_in_all_exists(module: ModuleType) -> None:
    assert [name for name in module.__all__ if not hasattr(module, name)] == []


def test_public_classes_report_the_package_as_their_module() -> None:
    assert sfn.Engine.__module__ == "alpha_engine.sfn"
    assert sfn.StatesError.__module__ == "alpha_engine.sfn"
    assert sfn.ExecutionResult.__module__ == "alpha_engine.sfn"


def test_store_maps_every_foreign_exception_it_catches() -> None:
    import sqlite3

    from alpha_engine.sfn import _store

    assert sqlite3.Error in _store._SQLITE_ERRORS
