"""DynamoDBBinding: item operations on SQLite with AWS result shapes and error names."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from alpha_engine.sfn._errors import StatesError
from alpha_engine.sfn.services import BindingContext, DynamoDBBinding, TaskRequest

OPT = "arn:aws:states:::dynamodb:"
SDK = "arn:aws:states:::aws-sdk:dynamodb:"
ITEM = {"data": {"S": "HelloWorld"}, "id": {"S": "id1"}}
KEY = {"id": {"S": "id1"}}


def _call(ctx: BindingContext, resource: str, params: Any, binding: DynamoDBBinding | None = None) -> Any:
    binding = binding or DynamoDBBinding(new_id=lambda: "req-1")
    request = TaskRequest(resource, "request-response", params, "arn:exec", "Db")
    try:
        return asyncio.run(binding.invoke(request, ctx))
    finally:
        binding.close()


def _fails(ctx: BindingContext, resource: str, params: Any) -> StatesError:
    with pytest.raises(StatesError) as info:
        _call(ctx, resource, params)
    assert info.value.in_state is False
    return info.value


def test_matches_both_integration_forms_of_the_four_actions() -> None:
    binding = DynamoDBBinding()
    for action in ("putItem", "getItem", "updateItem", "deleteItem"):
        assert binding.matches(OPT + action) and binding.matches(SDK + action)
    assert not binding.matches(OPT + "query")


def test_aws_sdk_put_then_get_returns_bare_responses(ctx: BindingContext) -> None:
    assert _call(ctx, SDK + "putItem", {"TableName": "t", "Item": ITEM}) == {}
    assert _call(ctx, SDK + "getItem", {"TableName": "t", "Key": KEY}) == {"Item": ITEM}


def test_optimised_results_carry_sdk_metadata_with_the_body_length(ctx: BindingContext) -> None:
    put = _call(ctx, OPT + "putItem", {"TableName": "t", "Item": ITEM})
    assert set(put) == {"SdkHttpMetadata", "SdkResponseMetadata"}
    assert put["SdkHttpMetadata"]["HttpHeaders"]["Content-Length"] == "2"
    update = {
        "TableName": "t",
        "Key": KEY,
        "UpdateExpression": "set S=:r",
        "ReturnValues": "UPDATED_NEW",
        "ExpressionAttributeValues": {":r": {"S": "HelloWorldUpdated"}},
    }
    updated = _call(ctx, OPT + "updateItem", update)
    assert updated["Attributes"] == {"S": {"S": "HelloWorldUpdated"}}
    assert updated["SdkHttpMetadata"]["HttpHeaders"]["Content-Length"] == "46"  # as AWS recorded
    got = _call(ctx, OPT + "getItem", {"TableName": "t", "Key": KEY})
    assert got["SdkHttpMetadata"]["HttpHeaders"]["Content-Length"] == "83"  # as AWS recorded
    assert got["SdkHttpMetadata"]["HttpHeaders"]["Content-Type"] == "application/x-amz-json-1.0"


def test_get_of_a_missing_item_has_no_item_key(ctx: BindingContext) -> None:
    assert _call(ctx, SDK + "getItem", {"TableName": "t", "Key": KEY}) == {}


def test_conditional_put_of_a_duplicate_fails_with_conditional_check_failed(ctx: BindingContext) -> None:
    params = {"TableName": "t", "Item": ITEM, "ConditionExpression": "attribute_not_exists(id)"}
    _call(ctx, OPT + "putItem", params)
    err = _fails(ctx, OPT + "putItem", params)
    assert err.error == "DynamoDB.ConditionalCheckFailedException"
    assert (err.cause or "").startswith(
        "The conditional request failed (Service: AmazonDynamoDBv2; Status Code: 400; "
        "Error Code: ConditionalCheckFailedException;"
    )
    sdk_err = _fails(ctx, SDK + "putItem", params)
    assert sdk_err.error == "DynamoDb.ConditionalCheckFailedException"
    assert "(Service: DynamoDb, Status Code: 400, Request ID: req-1)" in (sdk_err.cause or "")


def test_null_item_is_the_validation_error_aws_reports(ctx: BindingContext) -> None:
    err = _fails(ctx, SDK + "putItem", {"TableName": "t", "Item": None})
    assert err.error == "DynamoDb.DynamoDbException"
    assert err.cause == (
        "1 validation error detected: Value null at 'item' failed to satisfy constraint: Member must not be "
        "null (Service: DynamoDb, Status Code: 400, Request ID: req-1)"
    )
    assert _fails(ctx, OPT + "putItem", {"TableName": "t"}).error == "DynamoDB.AmazonDynamoDBException"


def test_update_set_add_remove_with_return_values(ctx: BindingContext) -> None:
    _call(ctx, SDK + "putItem", {"TableName": "t", "Item": {**KEY, "n": {"N": "1"}, "gone": {"S": "x"}}})
    result = _call(
        ctx,
        SDK + "updateItem",
        {
            "TableName": "t",
            "Key": KEY,
            "ReturnValues": "ALL_NEW",
            "UpdateExpression": "SET #s = :s ADD n :inc REMOVE gone",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":s": {"S": "done"}, ":inc": {"N": "2.50"}},
        },
    )
    assert result == {"Attributes": {**KEY, "n": {"N": "3.5"}, "status": {"S": "done"}}}


def test_update_of_a_missing_item_creates_it_and_all_old_is_empty(ctx: BindingContext) -> None:
    params = {
        "TableName": "t",
        "Key": KEY,
        "UpdateExpression": "SET c = :one",
        "ReturnValues": "ALL_OLD",
        "ExpressionAttributeValues": {":one": {"N": "1"}},
    }
    assert _call(ctx, SDK + "updateItem", params) == {}
    assert _call(ctx, SDK + "getItem", {"TableName": "t", "Key": KEY}) == {"Item": {**KEY, "c": {"N": "1"}}}


def test_update_cannot_change_a_key_attribute(ctx: BindingContext) -> None:
    params = {
        "TableName": "t",
        "Key": KEY,
        "UpdateExpression": "SET id = :v",
        "ExpressionAttributeValues": {":v": {"S": "other"}},
    }
    assert "part of the key" in (_fails(ctx, SDK + "updateItem", params).cause or "")


def test_delete_returns_all_old_and_removes_the_item(ctx: BindingContext) -> None:
    _call(ctx, SDK + "putItem", {"TableName": "t", "Item": ITEM})
    assert _call(ctx, SDK + "deleteItem", {"TableName": "t", "Key": KEY, "ReturnValues": "ALL_OLD"}) == {
        "Attributes": ITEM
    }
    assert _call(ctx, SDK + "getItem", {"TableName": "t", "Key": KEY}) == {}


def test_tables_are_created_on_first_use_and_persist_in_the_workspace(ctx: BindingContext) -> None:
    _call(ctx, SDK + "putItem", {"TableName": "runs", "Item": {"pk": {"S": "w1"}, "sk": {"N": "1"}}})
    assert (ctx.workspace / "dynamodb.sqlite3").exists()
    # A fresh binding (a restarted engine) finds the item and the learned key schema.
    got = _call(ctx, SDK + "getItem", {"TableName": "runs", "Key": {"pk": {"S": "w1"}, "sk": {"N": "1.0"}}})
    assert got == {"Item": {"pk": {"S": "w1"}, "sk": {"N": "1"}}}
    err = _fails(ctx, SDK + "getItem", {"TableName": "runs", "Key": {"pk": {"S": "w1"}}})
    assert "does not match the schema" in (err.cause or "")


def test_configured_key_schema_wins(ctx: BindingContext) -> None:
    binding = DynamoDBBinding(tables={"t": ["name"]})
    _call(ctx, SDK + "putItem", {"TableName": "t", "Item": {"id": {"S": "a"}, "name": {"S": "n"}}}, binding)
    got = _call(
        ctx,
        SDK + "getItem",
        {"TableName": "t", "Key": {"name": {"S": "n"}}},
        DynamoDBBinding(tables={"t": ["name"]}),
    )
    assert got["Item"]["id"] == {"S": "a"}


def test_get_item_projection(ctx: BindingContext) -> None:
    _call(
        ctx,
        SDK + "putItem",
        {"TableName": "t", "Item": {**ITEM, "m": {"M": {"x": {"N": "1"}, "y": {"N": "2"}}}}},
    )
    got = _call(
        ctx,
        SDK + "getItem",
        {
            "TableName": "t",
            "Key": KEY,
            "ProjectionExpression": "#d, m.x",
            "ExpressionAttributeNames": {"#d": "data"},
        },
    )
    assert got == {"Item": {"data": {"S": "HelloWorld"}, "m": {"M": {"x": {"N": "1"}}}}}
