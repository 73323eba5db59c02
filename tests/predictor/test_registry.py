"""Model registry: content addressing, immutability, integrity, champion promotion and rollback."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from alpha_engine.app import SATURDAY_GRAPH
from alpha_engine.predictor._registry import (
    BundleFile,
    ModelRegistry,
    RegistryCorruptionError,
    RegistryError,
    VersionNotFoundError,
)
from alpha_engine.store import ArtifactStore, ContractError, ReadOnlyStoreError

FILES = [BundleFile("meta_model.pkl", b"\x00model-bytes"), BundleFile("feature_list.json", b'["a","b"]')]
MANIFEST: dict[str, Any] = {"forward_days": 21, "models": {"meta_model": {"ic": 0.031}}}


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "artifacts", contracts=SATURDAY_GRAPH.contracts())


@pytest.fixture
def registry(store: ArtifactStore) -> ModelRegistry:
    return ModelRegistry(store)


def _register(registry: ModelRegistry, *, run_date: str = "2026-05-08", label: str = "meta",
              files: list[BundleFile] | None = None, manifest: dict[str, Any] | None = None) -> str:
    return registry.register(FILES if files is None else files, MANIFEST if manifest is None else manifest,
                             label=label, run_date=run_date)


def test_version_id_is_label_date_and_content_hash(registry: ModelRegistry) -> None:
    version_id = _register(registry)
    pairs = sorted((f.name, hashlib.sha256(f.data).hexdigest()) for f in FILES)
    canonical = json.dumps({"files": pairs, "manifest": MANIFEST}, sort_keys=True, separators=(",", ":"))
    assert version_id == f"meta-2026-05-08-{hashlib.sha256(canonical.encode()).hexdigest()[:8]}"


def test_register_writes_files_and_an_augmented_manifest(registry: ModelRegistry, store: ArtifactStore) -> None:
    version_id = _register(registry)
    assert store.list(f"predictor/registry/{version_id}") == sorted(
        f"predictor/registry/{version_id}/{name}" for name in ("meta_model.pkl", "feature_list.json", "manifest.json"))
    manifest = registry.manifest(version_id)
    assert manifest["version_id"] == version_id
    assert manifest["stage"] == "challenger"
    assert manifest["run_date"] == "2026-05-08" and "label" not in manifest
    assert manifest["files"] == {f.name: hashlib.sha256(f.data).hexdigest() for f in FILES}
    assert manifest["forward_days"] == 21
    contract = SATURDAY_GRAPH.contracts().artifact_for(f"predictor/registry/{version_id}/manifest.json")
    assert contract is not None and contract.schema == "registry_manifest.schema.json"


def test_register_is_idempotent(registry: ModelRegistry, store: ArtifactStore) -> None:
    first = _register(registry)
    before = store.snapshot()
    assert _register(registry, files=list(reversed(FILES))) == first  # file order does not matter
    assert store.snapshot() == before


@pytest.mark.parametrize("change", ["file_byte", "file_name", "manifest", "label", "date"])
def test_any_content_change_gives_a_new_version(registry: ModelRegistry, change: str) -> None:
    base = _register(registry)
    files, manifest, label, run_date = list(FILES), dict(MANIFEST), "meta", "2026-05-08"
    if change == "file_byte":
        files[0] = BundleFile("meta_model.pkl", b"\x01model-bytes")
    elif change == "file_name":
        files[0] = BundleFile("meta_model2.pkl", FILES[0].data)
    elif change == "manifest":
        manifest["forward_days"] = 20
    elif change == "label":
        label = "zoo"
    else:
        run_date = "2026-05-09"
    other = registry.register(files, manifest, label=label, run_date=run_date)
    assert other != base
    assert registry.read_file(base, "meta_model.pkl") == FILES[0].data  # the old version is untouched


def test_manifest_label_key_belongs_to_the_caller(registry: ModelRegistry) -> None:
    version_id = _register(registry, label="predictor", manifest={"label": {"kind": "log_alpha", "clip": 0.15}})
    assert registry.manifest(version_id)["label"] == {"kind": "log_alpha", "clip": 0.15}
    assert registry.versions()[0]["label"] == "predictor"


def test_versions_sorted_by_run_date_then_id(registry: ModelRegistry) -> None:
    late = _register(registry, run_date="2026-05-15")
    early_b = _register(registry, run_date="2026-05-01", label="b")
    early_a = _register(registry, run_date="2026-05-01", label="a")
    rows = registry.versions()
    assert [r["version_id"] for r in rows] == [early_a, early_b, late]
    assert {r["stage"] for r in rows} == {"challenger"}
    assert rows[0] == {"version_id": early_a, "label": "a", "run_date": "2026-05-01", "stage": "challenger"}


def test_incomplete_bundle_is_not_a_version(registry: ModelRegistry, store: ArtifactStore) -> None:
    store.write_bytes("predictor/registry/meta-2026-05-08-deadbeef/meta_model.pkl", b"partial")
    assert registry.versions() == []
    with pytest.raises(VersionNotFoundError, match="meta-2026-05-08-deadbeef"):
        registry.manifest("meta-2026-05-08-deadbeef")


def test_read_file_returns_verified_bytes(registry: ModelRegistry) -> None:
    version_id = _register(registry)
    assert registry.read_file(version_id, "feature_list.json") == b'["a","b"]'
    with pytest.raises(VersionNotFoundError, match="no file 'missing.bin'"):
        registry.read_file(version_id, "missing.bin")


def test_corrupted_file_is_detected(registry: ModelRegistry, store: ArtifactStore) -> None:
    version_id = _register(registry)
    store.write_bytes(f"predictor/registry/{version_id}/meta_model.pkl", b"\x00model-bytez")
    with pytest.raises(RegistryCorruptionError, match="meta_model.pkl.*corrupt"):
        registry.read_file(version_id, "meta_model.pkl")


def test_missing_bundle_file_is_corruption(registry: ModelRegistry, store: ArtifactStore) -> None:
    version_id = _register(registry)
    store.delete(f"predictor/registry/{version_id}/meta_model.pkl")
    with pytest.raises(RegistryCorruptionError, match="missing"):
        registry.read_file(version_id, "meta_model.pkl")


def test_interrupted_registration_with_foreign_bytes_is_never_overwritten(
        registry: ModelRegistry, store: ArtifactStore, tmp_path: Path) -> None:
    version_id = ModelRegistry(ArtifactStore(tmp_path / "scratch")).register(
        FILES, MANIFEST, label="meta", run_date="2026-05-08")
    key = f"predictor/registry/{version_id}/meta_model.pkl"
    store.write_bytes(key, b"someone else's bytes")
    with pytest.raises(RegistryCorruptionError, match="refusing to overwrite"):
        _register(registry)
    assert store.read_bytes(key) == b"someone else's bytes"
    assert not store.exists(f"predictor/registry/{version_id}/manifest.json")


def test_interrupted_registration_with_same_bytes_completes(registry: ModelRegistry, store: ArtifactStore,
                                                            tmp_path: Path) -> None:
    version_id = ModelRegistry(ArtifactStore(tmp_path / "scratch")).register(
        FILES, MANIFEST, label="meta", run_date="2026-05-08")
    store.write_bytes(f"predictor/registry/{version_id}/meta_model.pkl", FILES[0].data)
    assert _register(registry) == version_id
    assert registry.read_file(version_id, "feature_list.json") == FILES[1].data


def test_edited_manifest_is_detected_on_reregistration(registry: ModelRegistry, store: ArtifactStore) -> None:
    version_id = _register(registry)
    key = f"predictor/registry/{version_id}/manifest.json"
    edited = {**store.read_json(key), "forward_days": 5}
    store.write_json(key, edited)
    with pytest.raises(RegistryCorruptionError, match="modified"):
        _register(registry)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"label": "bad/label"}, "label"),
    ({"label": ""}, "label"),
    ({"run_date": "2026-5-8"}, "run_date"),
    ({"run_date": "2026-02-30"}, "calendar date"),
    ({"files": []}, "no files"),
    ({"files": [BundleFile("manifest.json", b"x")]}, "manifest.json"),
    ({"files": [BundleFile("sub/x.bin", b"x")]}, "sub/x.bin"),
    ({"files": [BundleFile(".tmp-x", b"x")]}, ".tmp-x"),
    ({"files": [BundleFile("a", b"x"), BundleFile("a", b"y")]}, "twice"),
    ({"manifest": {"stage": "champion"}}, "reserved"),
    ({"manifest": {"run_date": "2026-01-01"}}, "disagrees"),
    ({"manifest": {"version_id": "x"}}, "reserved"),
    ({"manifest": {"x": float("nan")}}, "JSON"),
])
def test_register_rejects_bad_arguments(registry: ModelRegistry, store: ArtifactStore, kwargs: dict[str, Any],
                                        message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _register(registry, **kwargs)
    assert store.list() == []


def test_manifest_contract_rejects_a_bad_manifest(store: ArtifactStore) -> None:
    with pytest.raises(ContractError, match="registry_manifest"):
        store.write_json("predictor/registry/meta-2026-05-08-0000abcd/manifest.json", {"version_id": "x"})


def test_no_champion_until_promoted(registry: ModelRegistry) -> None:
    _register(registry)
    assert registry.champion() is None


def test_promote_sets_champion_and_records_history(registry: ModelRegistry, store: ArtifactStore) -> None:
    first = _register(registry, run_date="2026-05-01")
    second = _register(registry, run_date="2026-05-08")
    registry.promote(first, reason="bootstrap")
    registry.promote(second, reason="cpcv ic +0.012")
    assert registry.champion() == second
    pointer = store.read_json("predictor/registry/champion.json")
    assert pointer["history"] == [
        {"action": "promote", "version_id": first, "previous": None, "reason": "bootstrap", "provisional": False},
        {"action": "promote", "version_id": second, "previous": first, "reason": "cpcv ic +0.012",
         "provisional": False},
    ]
    stages = {r["version_id"]: r["stage"] for r in registry.versions()}
    assert stages == {first: "archived", second: "champion"}
    assert registry.manifest(second)["stage"] == "challenger"  # bundles stay immutable


def test_promoting_the_champion_again_changes_nothing(registry: ModelRegistry, store: ArtifactStore) -> None:
    version_id = _register(registry)
    registry.promote(version_id, reason="first")
    before = store.snapshot()
    registry.promote(version_id, reason="retry")
    assert store.snapshot() == before


def test_a_provisional_champion_is_marked_until_confirmed_and_rollback_restores_the_status(
        registry: ModelRegistry, store: ArtifactStore) -> None:
    a, b = _register(registry, run_date="2026-05-01"), _register(registry, run_date="2026-05-08")
    registry.promote(a, reason="no model passed the gate", provisional=True)
    assert registry.champion() == a and registry.champion_is_provisional()
    registry.promote(a, reason="confirmed by hand")  # same version, new status: recorded
    assert not registry.champion_is_provisional()
    registry.promote(b, reason="provisional again", provisional=True)
    assert registry.champion_is_provisional()
    assert registry.rollback(reason="b was worse") == a
    assert not registry.champion_is_provisional()  # a's last promotion confirmed it
    history = store.read_json("predictor/registry/champion.json")["history"]
    assert [(e["action"], e["version_id"], e["provisional"]) for e in history] == [
        ("promote", a, True), ("promote", a, False), ("promote", b, True), ("rollback", a, False)]


def test_promote_unknown_version_fails(registry: ModelRegistry) -> None:
    with pytest.raises(VersionNotFoundError, match="meta-2026-01-01-00000000"):
        registry.promote("meta-2026-01-01-00000000", reason="x")


def test_promote_needs_a_reason(registry: ModelRegistry) -> None:
    version_id = _register(registry)
    with pytest.raises(ValueError, match="reason"):
        registry.promote(version_id, reason=" ")


def test_rollback_walks_back_through_promotions(registry: ModelRegistry, store: ArtifactStore) -> None:
    a, b, c = (_register(registry, run_date=d) for d in ("2026-05-01", "2026-05-08", "2026-05-15"))
    for version_id in (a, b, c):
        registry.promote(version_id, reason=f"promote {version_id}")
    assert registry.rollback(reason="c regressed") == b
    assert registry.champion() == b
    assert registry.rollback(reason="b regressed too") == a
    assert registry.champion() == a
    history = store.read_json("predictor/registry/champion.json")["history"]
    assert history[-2:] == [
        {"action": "rollback", "version_id": b, "previous": c, "reason": "c regressed", "provisional": False},
        {"action": "rollback", "version_id": a, "previous": b, "reason": "b regressed too", "provisional": False},
    ]
    with pytest.raises(RegistryError, match="no previous champion"):
        registry.rollback(reason="nothing left")


def test_rollback_without_history_fails(registry: ModelRegistry) -> None:
    with pytest.raises(RegistryError, match="no previous champion"):
        registry.rollback(reason="x")
    version_id = _register(registry)
    registry.promote(version_id, reason="only one")
    with pytest.raises(RegistryError, match="no previous champion"):
        registry.rollback(reason="x")


def test_read_only_store_refuses_every_write(registry: ModelRegistry, store: ArtifactStore) -> None:
    a = _register(registry, run_date="2026-05-01")
    b = _register(registry, run_date="2026-05-08")
    registry.promote(a, reason="x")
    registry.promote(b, reason="y")
    before = store.snapshot()
    read_only = ModelRegistry(store.read_only_view())
    with pytest.raises(ReadOnlyStoreError, match="read-only"):
        read_only.register(FILES, {"new": True}, label="meta", run_date="2026-06-01")
    with pytest.raises(ReadOnlyStoreError):
        read_only.promote(a, reason="z")
    with pytest.raises(ReadOnlyStoreError):
        read_only.rollback(reason="z")
    assert store.snapshot() == before
    # Reading still works.
    assert read_only.champion() == b
    assert read_only.read_file(a, "meta_model.pkl") == FILES[0].data


def test_malformed_champion_pointer_is_reported(registry: ModelRegistry, store: ArtifactStore) -> None:
    with pytest.raises(ContractError, match="champion.schema.json"):  # the store refuses to write it
        store.write_json("predictor/registry/champion.json", {"version_id": 3})
    store.write_bytes("predictor/registry/champion.json", b'{"version_id": 3}')  # edited by hand
    with pytest.raises(RegistryCorruptionError, match="champion.json"):
        registry.champion()


def test_custom_prefix(store: ArtifactStore) -> None:
    registry = ModelRegistry(store, prefix="zoo/registry/")
    version_id = registry.register(FILES, MANIFEST, label="meta", run_date="2026-05-08")
    assert store.exists(f"zoo/registry/{version_id}/manifest.json")
    assert [r["version_id"] for r in registry.versions()] == [version_id]
