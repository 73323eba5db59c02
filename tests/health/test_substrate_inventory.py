"""The substrate inventory file: a bad one is refused naming the file, the row id and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from alpha_engine.health import DEFAULT_INVENTORY, SubstrateInventoryError, load_inventory

ROW: dict[str, Any] = {"id": "predictor_decisions", "cadence": "weekly", "effective_date": "2026-01-01",
                       "description": "predictions", "sources": [{"kind": "json", "key_pattern": "p/{date}.json"}]}


def _write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


@pytest.mark.parametrize(("change", "message"), [
    ({"cadence": "hourly"}, "row predictor_decisions (rows[0]), field cadence: 'hourly' is not one of"),
    ({"sources": []}, "row predictor_decisions (rows[0]), field sources: [] should be non-empty"),
    ({"sources": [{"kind": "json", "key_pattern": "p/{date}.json", "assert": [{"path": "n", "op": "ne",
                                                                                 "value": 1}]}]},
     "row predictor_decisions (rows[0]), field sources[0].assert[0].op: 'ne' is not one of"),
    ({"sources": [{"kind": "json", "key_pattern": "p/{date}.json", "treat_absent_as": "ok_if_companion_present"}]},
     "row predictor_decisions (rows[0]), field sources[0]: 'companion_key_pattern' is a dependency"),
    ({"sources": [{"kind": "metric", "namespace": "N", "assert": {"op": "datapoints_gte", "value": 1}}]},
     "row predictor_decisions (rows[0]), field sources[0]: 'metric' is a required property"),
    ({"sources": [{"kind": "sqlite", "file": "t.db", "assert_columns_present": ["a"]}]},
     "row predictor_decisions (rows[0]), field sources[0]: 'table' is a required property"),
    ({"sources": [{"kind": "csv", "key": "t.csv", "assert_colums_present": ["a"]}]},
     "row predictor_decisions (rows[0]), field sources[0]: Additional properties are not allowed"),
    ({"surprise": True}, "row predictor_decisions (rows[0]): Additional properties are not allowed"),
])
def test_a_schema_error_names_the_file_the_row_and_the_field(tmp_path: Path, change: dict[str, Any],
                                                             message: str) -> None:
    path = _write(tmp_path, {"rows": [{**ROW, **change}]})
    with pytest.raises(SubstrateInventoryError) as caught:
        load_inventory(path)
    assert str(caught.value).startswith(f"substrate inventory {path}: {message}"), str(caught.value)


@pytest.mark.parametrize(("change", "message"), [
    ({"effective_date": "2026-02-30"}, "row predictor_decisions, field effective_date: '2026-02-30' is not a real date"),
    ({"sources": [{"kind": "json", "key_pattern": "p/{day}/{date}.json"}]},
     "row predictor_decisions, field sources[0].key_pattern: placeholder {day} is unknown"),
])
def test_semantic_errors_name_the_row_and_the_field(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    path = _write(tmp_path, {"rows": [{**ROW, **change}]})
    with pytest.raises(SubstrateInventoryError, match=r"^substrate inventory .*: " + message.replace("{", r"\{")
                       .replace("}", r"\}").replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
                       .replace("]", r"\]")):
        load_inventory(path)


def test_a_row_id_used_twice_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, {"rows": [ROW, ROW]})
    with pytest.raises(SubstrateInventoryError, match="row predictor_decisions, field id: the id is used twice"):
        load_inventory(path)


def test_an_unreadable_or_non_yaml_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SubstrateInventoryError, match="cannot read it"):
        load_inventory(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("rows: [unclosed", encoding="utf-8")
    with pytest.raises(SubstrateInventoryError, match=f"substrate inventory {bad}: not valid YAML"):
        load_inventory(bad)


def test_adding_a_row_is_one_yaml_entry(tmp_path: Path) -> None:
    document = yaml.safe_load(DEFAULT_INVENTORY.read_text(encoding="utf-8"))
    document["rows"].append({**ROW, "id": "a_new_row"})
    inventory = load_inventory(_write(tmp_path, document))
    assert inventory.row_ids[-1] == "a_new_row"
    assert len(inventory.row_ids) == len(load_inventory().row_ids) + 1
