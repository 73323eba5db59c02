"""The change table an operator reads before anything is executed (deploy.render_changes)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from alpha_engine.deploy import Change, render_changes


def test_no_changes_is_said_plainly() -> None:
    assert render_changes([]) == "No changes."


def test_the_table_is_aligned_ordered_by_action_then_logical_id_and_counted() -> None:
    changes = [Change("Remove", "OldQueue", "AWS::SQS::Queue"),
               Change("Modify", "Topic", "AWS::SNS::Topic", replacement="False"),
               Change("Add", "Table", "AWS::DynamoDB::Table"),
               Change("Add", "Bucket", "AWS::S3::Bucket")]
    assert render_changes(changes) == "\n".join([
        "ACTION  LOGICAL ID  TYPE                  REPLACEMENT",
        "Add     Bucket      AWS::S3::Bucket       -",
        "Add     Table       AWS::DynamoDB::Table  -",
        "Modify  Topic       AWS::SNS::Topic       False",
        "Remove  OldQueue    AWS::SQS::Queue       -",
        "4 changes: 2 Add, 1 Modify, 1 Remove",
    ])


def test_replacements_are_named_after_the_count() -> None:
    changes = [Change("Modify", "Mutex", "AWS::DynamoDB::Table", replacement="True"),
               Change("Modify", "Machine", "AWS::StepFunctions::StateMachine", replacement="Conditional")]
    lines = render_changes(changes).splitlines()
    assert lines[-3:] == ["2 changes: 2 Modify", "replaced (deleted and created anew, data included): Mutex",
                          "maybe replaced (Conditional): Machine"]


def test_one_change_is_singular() -> None:
    assert render_changes([Change("Add", "B", "AWS::S3::Bucket")]).splitlines()[-1] == "1 change: 1 Add"


def test_a_change_reads_describe_change_set_entries() -> None:
    entry = {"Type": "Resource", "ResourceChange": {"Action": "Modify", "LogicalResourceId": "Topic",
                                                    "PhysicalResourceId": "arn:t", "ResourceType": "AWS::SNS::Topic",
                                                    "Replacement": "True", "Scope": ["Properties"]}}
    assert Change.from_aws(entry) == Change("Modify", "Topic", "AWS::SNS::Topic", "True", "arn:t")
    assert Change.from_aws({"Type": "Resource", "ResourceChange": {"Action": "Add", "LogicalResourceId": "B",
                                                                   "ResourceType": "AWS::S3::Bucket"}}).replacement == ""


_changes = st.lists(st.builds(Change, st.sampled_from(["Add", "Modify", "Remove", "Import", "Dynamic"]),
                              st.text("ABCxyz09", min_size=1, max_size=12), st.sampled_from(["AWS::S3::Bucket",
                              "AWS::IAM::Role"]), st.sampled_from(["", "True", "False", "Conditional"])),
                    min_size=1, max_size=15)


@given(_changes)
def test_every_change_is_one_aligned_row_whatever_the_input_order(changes: list[Change]) -> None:
    table = render_changes(changes)
    assert table == render_changes(list(reversed(changes)))  # the order is the table's, not the service's
    header, *rows = table.splitlines()[:1 + len(changes)]
    assert sorted(r.split()[:3] for r in rows) == sorted([c.action, c.logical_id, c.resource_type] for c in changes)
    for column in ("LOGICAL ID", "TYPE", "REPLACEMENT"):
        start = header.index(column)
        assert all(r[start - 2:start] == "  " and r[start] != " " for r in rows), column
