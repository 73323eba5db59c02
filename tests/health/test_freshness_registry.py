"""The freshness registry: the packaged file agrees with the Saturday graph in both directions, and
a bad file is refused with errors naming the file, the entry and the field."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from alpha_engine.app import SATURDAY_GRAPH
from alpha_engine.health import (
    DEFAULT_REGISTRY,
    ArtifactSpec,
    FreshnessRegistryError,
    load_registry,
    registry_gaps,
)
from alpha_engine.store import Artifact

ENTRY = """  - id: weekly-manifest
    key: market_data/weekly/{date}/manifest.json
    cadence: saturday
    max_age_trading_days: 5
    severity: critical
    owner: data-phase1
"""


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "registry.yaml"
    path.write_text("version: 1\nartifacts:\n" + body, encoding="utf-8")
    return path


def test_the_packaged_registry_covers_every_dated_output_of_the_saturday_graph() -> None:
    specs = load_registry()
    assert registry_gaps(specs, SATURDAY_GRAPH.stages()) == []
    dated = [a.key for stage in SATURDAY_GRAPH.stages() for a in stage.produces if a.dated]
    assert sorted(spec.key for spec in specs) == sorted(dated)


def test_a_dated_output_without_an_entry_is_a_gap() -> None:
    class Extra:
        slug = "data-phase1"
        produces = (Artifact("market_data/weekly/{date}/new_output.json"), Artifact("market_data/fixed.json"))

    gaps = registry_gaps(load_registry(), [Extra])
    assert any("stage data-phase1 writes 'market_data/weekly/{date}/new_output.json'" in gap for gap in gaps)
    assert not any("fixed.json" in gap for gap in gaps)  # a fixed key is not a dated output


def test_an_entry_naming_no_produced_artifact_or_no_stage_is_a_gap() -> None:
    specs = load_registry() + (
        ArtifactSpec("ghost", "ghost/{date}.json", "saturday", 5, "warning", "scanner"),
        ArtifactSpec("orphan", "orphan/{date}.json", "saturday", 5, "warning", "no-such-stage"),
    )
    gaps = registry_gaps(specs, SATURDAY_GRAPH.stages())
    assert gaps == ["registry entry 'ghost': stage scanner declares no dated output 'ghost/{date}.json' (fix the "
                    "key or the owner, or remove the entry)",
                    "registry entry 'orphan': its owner 'no-such-stage' is no stage of the graph"]


def test_a_good_file_loads_with_defaults_and_since(tmp_path: Path) -> None:
    path = _write(tmp_path, ENTRY + "    since: 2026-11-21\n    grace_period_cycles: 3\n")
    (spec,) = load_registry(path)
    assert spec.since == date(2026, 11, 21) and spec.grace_period_cycles == 3
    (plain,) = load_registry(_write(tmp_path, ENTRY))
    assert plain.grace_period_cycles == 2 and plain.since is None
    assert plain.format(date(2026, 11, 21)) == "market_data/weekly/2026-11-21/manifest.json"
    assert plain.date_of("market_data/weekly/2026-11-21/manifest.json") == date(2026, 11, 21)
    assert plain.date_of("market_data/weekly/2026-13-21/manifest.json") is None
    assert plain.date_of("market_data/weekly/2026-11-21/validation.json") is None
    assert plain.prefix == "market_data/weekly/"


@pytest.mark.parametrize(("body", "expected"), [
    (ENTRY.replace("cadence: saturday", "cadence: hourly"), "entry 0 ('weekly-manifest'), field 'cadence'"),
    (ENTRY.replace("    owner: data-phase1\n", ""), "entry 0 ('weekly-manifest'), field 'owner'"),
    (ENTRY.replace("max_age_trading_days: 5", "max_age_trading_days: -1"),
     "entry 0 ('weekly-manifest'), field 'max_age_trading_days'"),
    (ENTRY.replace("severity: critical", "severity: page"), "entry 0 ('weekly-manifest'), field 'severity'"),
    (ENTRY + "    colour: red\n", "entry 0 ('weekly-manifest')"),
    (ENTRY + ENTRY.replace("/manifest", "/other"), "entry 1 ('weekly-manifest'), field 'id': id already used by "
     "entry 0"),
    (ENTRY + ENTRY.replace("id: weekly-manifest", "id: twice"), "entry 1 ('twice'), field 'key'"),
    (ENTRY.replace("{date}", "{date}/{version}"), "field 'key': 'market_data/weekly/{date}/{version}/manifest.json' "
     "must hold {date} exactly once"),
    (ENTRY.replace("{date}/", ""), "field 'key'"),
    (ENTRY + "    since: '2026-02-30'\n", "entry 0 ('weekly-manifest'), field 'since'"),
])
def test_a_bad_entry_is_refused_naming_file_entry_and_field(tmp_path: Path, body: str, expected: str) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(FreshnessRegistryError) as caught:
        load_registry(path)
    assert str(path) in str(caught.value) and expected in str(caught.value)


def test_an_unreadable_or_malformed_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FreshnessRegistryError, match="cannot read the freshness registry"):
        load_registry(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("artifacts: [\n", encoding="utf-8")
    with pytest.raises(FreshnessRegistryError, match="not valid YAML"):
        load_registry(bad)
    bad.write_text("version: 2\nartifacts: []\n", encoding="utf-8")
    with pytest.raises(FreshnessRegistryError, match="version"):
        load_registry(bad)


def test_the_packaged_file_is_the_default() -> None:
    assert DEFAULT_REGISTRY.name == "freshness_registry.yaml" and load_registry() == load_registry(DEFAULT_REGISTRY)
