"""The public surface of alpha_engine.store is exactly its __all__."""

from __future__ import annotations

import alpha_engine.store as store


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name in vars(store) if not name.startswith("_")} - {"annotations"}
    assert sorted(store.__all__) == sorted(public)


def test_public_api_is_pinned() -> None:
    assert sorted(store.__all__) == sorted([
        "CONTRACTS", "ArtifactNotFoundError", "ArtifactStore", "ContractError", "InvalidKeyError",
        "ReadOnlyStoreError", "StoreError", "contract_for", "validate_contract",
    ])


def test_error_tree() -> None:
    assert issubclass(store.ArtifactNotFoundError, store.StoreError)
    assert issubclass(store.ArtifactNotFoundError, KeyError)
    assert issubclass(store.InvalidKeyError, store.StoreError)
    assert issubclass(store.InvalidKeyError, ValueError)
    for error in (store.ReadOnlyStoreError, store.ContractError):
        assert issubclass(error, store.StoreError)


def test_public_objects_report_the_package_as_their_module() -> None:
    for name in store.__all__:
        obj = getattr(store, name)
        if callable(obj):
            assert obj.__module__ == "alpha_engine.store", name
