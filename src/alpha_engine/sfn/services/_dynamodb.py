"""DynamoDB: ``putItem``/``getItem``/``updateItem``/``deleteItem`` on a local SQLite file.

Both forms are bound: the optimised ``arn:aws:states:::dynamodb:ACTION`` (result carries
``SdkHttpMetadata``; errors ``DynamoDB.<Exception>`` with SDK v1 causes) and
``arn:aws:states:::aws-sdk:dynamodb:ACTION`` (bare result; errors ``DynamoDb.<Exception>``,
the SDK v2 service casing, with v2 causes). Validation errors are
``DynamoDB.AmazonDynamoDBException`` / ``DynamoDb.DynamoDbException`` as AWS names them.

Storage: ``workspace/dynamodb.sqlite3``, one row per item (table, canonical key JSON, item
JSON). Tables are created on first use, so ``ResourceNotFoundException`` never happens
locally. A table's key schema (its key attribute names) is, in order: the ``tables``
argument; the schema stored by an earlier call; the attribute names of the ``Key`` of a
get/update/deleteItem; for a putItem on a new table, ``pk``(+``sk``), ``PK``(+``SK``) or
``id`` if the item has them, else its first attribute. The schema is stored with the table.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from .._clock import IdSource, SystemClock
from .._errors import StatesError
from ._aws import compact_json, http_date, sdk_metadata, v1_cause, v2_cause
from ._base import BindingContext, TaskRequest
from ._dynamodb_expr import (
    Item,
    ValidationError,
    compile_condition,
    compile_projection,
    compile_update,
    validate_item,
)

__all__ = ["DynamoDBBinding"]

_OPTIMISED = "arn:aws:states:::dynamodb:"
_SDK = "arn:aws:states:::aws-sdk:dynamodb:"
_ACTIONS = ("putItem", "getItem", "updateItem", "deleteItem")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS ddb_tables (name TEXT PRIMARY KEY, key_attributes TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ddb_items (
    table_name TEXT NOT NULL, pk TEXT NOT NULL, item TEXT NOT NULL, PRIMARY KEY (table_name, pk)
);
"""


class _Failure(Exception):
    """An AWS error before it is worded for the integration form: (exception, message)."""

    def __init__(self, exception: str, message: str) -> None:
        self.exception = exception
        self.message = message
        super().__init__(message)


class DynamoDBBinding:
    """DynamoDB item operations on SQLite (see module docstring).

    ``tables`` maps a table name to its key attribute names (partition key, then sort key).
    """

    def __init__(
        self,
        *,
        tables: Mapping[str, Sequence[str]] | None = None,
        now: Callable[[], datetime] | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self.tables = {name: tuple(keys) for name, keys in (tables or {}).items()}
        # The engine passes its clock and id source; a binding used on its own gets real ones.
        self.now = now or SystemClock().now
        self.new_id = new_id or IdSource().uuid
        self._connections: dict[Path, sqlite3.Connection] = {}

    def matches(self, resource: str) -> bool:
        for prefix in (_OPTIMISED, _SDK):
            if resource.startswith(prefix) and resource[len(prefix) :] in _ACTIONS:
                return True
        return False

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    async def invoke(self, request: TaskRequest, ctx: BindingContext) -> Any:
        sdk = request.resource.startswith(_SDK)
        action = request.resource.rsplit(":", 1)[1]
        request_id = self.new_id()
        try:
            body = self._dispatch(action, request.parameters, ctx)
        except ValidationError as exc:
            raise self._error("ValidationException", str(exc), sdk, request_id) from None
        except _Failure as exc:
            raise self._error(exc.exception, exc.message, sdk, request_id) from None
        except sqlite3.Error as exc:
            # The one boundary where SQLite's errors become an AWS error a Retry can handle.
            raise self._error("InternalServerError", f"local store failed: {exc}", sdk, request_id) from exc
        if sdk:
            return body
        text = compact_json(body)
        headers = {
            "Connection": "keep-alive",
            "Content-Length": str(len(text.encode())),
            "Content-Type": "application/x-amz-json-1.0",
            "Date": http_date(self.now()),
            "Server": "Server",
            "x-amz-crc32": str(zlib.crc32(text.encode())),
            "x-amzn-RequestId": request_id,
        }
        return {**body, **sdk_metadata(headers, request_id)}

    @staticmethod
    def _error(exception: str, message: str, sdk: bool, request_id: str) -> StatesError:
        if sdk:
            name = "DynamoDbException" if exception == "ValidationException" else exception
            return StatesError(
                f"DynamoDb.{name}", v2_cause(message, "DynamoDb", 400, request_id), in_state=False
            )
        name = "AmazonDynamoDBException" if exception == "ValidationException" else exception
        cause = v1_cause(message, "AmazonDynamoDBv2", 400, exception, request_id)
        return StatesError(f"DynamoDB.{name}", cause, in_state=False)

    # -- storage ------------------------------------------------------------------------------

    def _connect(self, ctx: BindingContext) -> sqlite3.Connection:
        path = ctx.workspace / "dynamodb.sqlite3"
        connection = self._connections.get(path)
        if connection is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(path, isolation_level=None, timeout=30.0)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(_SCHEMA)
            self._connections[path] = connection
        return connection

    def _key_attributes(
        self, db: sqlite3.Connection, table: str, key: Item | None, item: Item | None
    ) -> tuple[str, ...]:
        if table in self.tables:
            return self.tables[table]
        row = db.execute("SELECT key_attributes FROM ddb_tables WHERE name = ?", (table,)).fetchone()
        if row is not None:
            return tuple(json.loads(row[0]))
        if key is not None:
            attributes = tuple(key)
        else:
            assert item is not None
            attributes = _guess_key(item)
        db.execute("INSERT INTO ddb_tables VALUES (?, ?)", (table, json.dumps(list(attributes))))
        return attributes

    # -- actions ------------------------------------------------------------------------------

    def _dispatch(self, action: str, params: Any, ctx: BindingContext) -> dict[str, Any]:
        if not isinstance(params, dict):
            raise ValidationError("1 validation error detected: the request must be an object")
        table = params.get("TableName")
        if not isinstance(table, str) or not table:
            raise ValidationError(
                "1 validation error detected: Value null at 'tableName' failed to satisfy constraint: "
                "Member must not be null"
            )
        names = params.get("ExpressionAttributeNames") or {}
        values = params.get("ExpressionAttributeValues") or {}
        db = self._connect(ctx)
        db.execute("BEGIN IMMEDIATE")  # read-check-write is one transaction, across processes too
        try:
            result = self._act(action, params, table, names, values, db)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return result

    def _act(
        self,
        action: str,
        params: dict[str, Any],
        table: str,
        names: Mapping[str, str],
        values: Mapping[str, Any],
        db: sqlite3.Connection,
    ) -> dict[str, Any]:
        return_values = params.get("ReturnValues", "NONE")
        condition_text = params.get("ConditionExpression")
        if action == "putItem":
            if params.get("Item") is None:
                raise ValidationError(
                    "1 validation error detected: Value null at 'item' failed to satisfy constraint: "
                    "Member must not be null"
                )
            item = validate_item(params["Item"])
            key_names = self._key_attributes(db, table, None, item)
            key = _key_of(item, key_names)
        else:
            if params.get("Key") is None:
                raise ValidationError(
                    "1 validation error detected: Value null at 'key' failed to satisfy constraint: "
                    "Member must not be null"
                )
            key = validate_item(params["Key"])
            key_names = self._key_attributes(db, table, key, None)
            if set(key) != set(key_names):
                raise ValidationError("The provided key element does not match the schema")
        pk = _pk(key, key_names)
        row = db.execute("SELECT item FROM ddb_items WHERE table_name = ? AND pk = ?", (table, pk)).fetchone()
        old: Item | None = json.loads(row[0]) if row is not None else None

        if action == "getItem":
            if old is None:
                return {}
            projection = params.get("ProjectionExpression")
            return {"Item": compile_projection(projection, names)(old) if projection else old}

        if isinstance(condition_text, str):
            condition = compile_condition(condition_text, names, values)
            if not condition(old or {}):
                raise _Failure("ConditionalCheckFailedException", "The conditional request failed")

        if action == "putItem":
            _check_return_values(return_values, ("NONE", "ALL_OLD"))
            db.execute("INSERT OR REPLACE INTO ddb_items VALUES (?, ?, ?)", (table, pk, json.dumps(item)))
            return {"Attributes": old} if return_values == "ALL_OLD" and old is not None else {}

        if action == "deleteItem":
            _check_return_values(return_values, ("NONE", "ALL_OLD"))
            if old is not None:
                db.execute("DELETE FROM ddb_items WHERE table_name = ? AND pk = ?", (table, pk))
            return {"Attributes": old} if return_values == "ALL_OLD" and old is not None else {}

        # updateItem
        _check_return_values(return_values, ("NONE", "ALL_OLD", "ALL_NEW", "UPDATED_OLD", "UPDATED_NEW"))
        base: Item = old if old is not None else dict(key)
        update_text = params.get("UpdateExpression")
        if isinstance(update_text, str):
            new, touched = compile_update(update_text, names, values)(base)
        else:
            new, touched = dict(base), set()
        for name in touched & set(key_names):
            raise ValidationError(
                "One or more parameter values were invalid: Cannot update attribute "
                f"{name}. This attribute is part of the key"
            )
        db.execute("INSERT OR REPLACE INTO ddb_items VALUES (?, ?, ?)", (table, pk, json.dumps(new)))
        chosen = {
            "NONE": None,
            "ALL_OLD": old,
            "ALL_NEW": new,
            "UPDATED_OLD": {k: v for k, v in (old or {}).items() if k in touched},
            "UPDATED_NEW": {k: v for k, v in new.items() if k in touched},
        }[return_values]
        return {"Attributes": chosen} if chosen else {}


def _check_return_values(value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValidationError(f"ReturnValues can only be {' or '.join(allowed)}")


def _guess_key(item: Item) -> tuple[str, ...]:
    for partition, sort in (("pk", "sk"), ("PK", "SK")):
        if partition in item:
            return (partition, sort) if sort in item else (partition,)
    if "id" in item:
        return ("id",)
    if not item:
        raise ValidationError("One or more parameter values were invalid: Missing the key in the item")
    return (next(iter(item)),)


def _key_of(item: Item, key_names: Sequence[str]) -> Item:
    missing = [name for name in key_names if name not in item]
    if missing:
        raise ValidationError(
            f"One or more parameter values were invalid: Missing the key {missing[0]} in the item"
        )
    return {name: item[name] for name in key_names}


def _pk(key: Item, key_names: Sequence[str]) -> str:
    for name in key_names:
        kind = next(iter(key[name]))
        if kind not in ("S", "N", "B"):
            raise ValidationError(
                "One or more parameter values were invalid: Type mismatch for key "
                f"{name} expected: S, N or B actual: {kind}"
            )
    return json.dumps([key[name] for name in key_names], sort_keys=True)
