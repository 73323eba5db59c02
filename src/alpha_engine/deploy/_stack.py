"""One CloudFormation stack and the operations on it, through change sets: :class:`Stack`.

``diff`` creates a change set, waits for it, and deletes it: nothing is executed. ``prepare`` +
``execute`` is ``apply``: the caller shows the change set and asks before executing it; ``execute``
waits for the stack, reporting its events as they arrive. ``destroy`` deletes the stack and reports
the resources its template retains (DeletionPolicy Retain). Every wait polls with
:class:`Waiting` (interval, overall timeout, injectable clock and sleep). Every AWS call goes
through :func:`~alpha_engine.deploy._aws.aws_errors`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ._aws import AwsClients, aws_errors
from ._changes import Change, ChangeSet
from ._errors import StackError, StackFailedError, StackStateError, StackTimeoutError, TemplateError

__all__ = [
    "CAPABILITIES",
    "MAX_TEMPLATE_BODY_BYTES",
    "ApplyOutcome",
    "DestroyOutcome",
    "Stack",
    "StackEvent",
    "StackResource",
    "Waiting",
    "change_set_name",
    "render_event",
    "template_key",
]

# CloudFormation takes at most this many bytes in TemplateBody; a larger template goes to S3 (TemplateURL).
MAX_TEMPLATE_BODY_BYTES = 51_200
# The template creates IAM roles with names (prefixed with the stack name).
CAPABILITIES = ("CAPABILITY_NAMED_IAM",)
# How CloudFormation says a change set has nothing to change (it fails the change set with it).
_NO_CHANGE_REASONS = ("didn't contain changes", "No updates are to be performed")
_SUCCEEDED = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"})
_RETAINING_POLICIES = frozenset({"Retain", "RetainExceptOnCreate"})


def _destroy_first(name: str) -> str:
    return f"run `alpha-engine deploy destroy --stack-name {name}`, then apply again"


# States a change set cannot start from, and what to do about each ({name}: the stack).
_BLOCKING_STATES: dict[str, Callable[[str], str]] = {
    "ROLLBACK_COMPLETE": lambda n: ("its creation failed and was rolled back; such a stack cannot be updated: "
                                    + _destroy_first(n)),
    "ROLLBACK_FAILED": lambda n: "its creation failed and so did the rollback: " + _destroy_first(n),
    "CREATE_FAILED": lambda n: "its creation failed: " + _destroy_first(n),
    "DELETE_FAILED": lambda n: ("a deletion failed half way: run `alpha-engine deploy destroy --stack-name "
                                f"{n}` again (see docs/deploy.md for a bucket that will not delete)"),
    "UPDATE_ROLLBACK_FAILED": lambda n: ("an update failed and so did its rollback: fix the cause the stack "
                                         "events name, run `aws cloudformation continue-update-rollback "
                                         f"--stack-name {n}`, then apply again"),
}


def change_set_name(now: datetime | None = None) -> str:
    """``alpha-engine-<UTC timestamp>``, e.g. ``alpha-engine-20261205T061500Z`` (a change set name
    must start with a letter and hold only letters, digits and hyphens)."""
    when = (now or datetime.now(UTC)).astimezone(UTC)
    return f"alpha-engine-{when:%Y%m%dT%H%M%SZ}"


def template_key(stack_name: str, body: bytes) -> str:
    """Where a template uploaded for TemplateURL goes in the bucket: ``templates/<stack>/<sha256>.json``
    (the same body always has the same key)."""
    return f"templates/{stack_name}/{hashlib.sha256(body).hexdigest()}.json"


@dataclass(frozen=True)
class Waiting:
    """How to wait for CloudFormation: poll every ``interval`` seconds, give up after ``timeout``
    seconds (CloudFormation carries on). ``sleep`` and ``clock`` are the real ones unless a test
    gives others."""

    interval: float = 5.0
    timeout: float = 3600.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def until(self, what: str) -> Iterator[None]:
        """Yield once per poll; after the timeout raise StackTimeoutError naming ``what``."""
        deadline = self.clock() + self.timeout
        while True:
            yield
            if self.clock() >= deadline:
                raise StackTimeoutError(f"{what}: still not done after {self.timeout:g} s; CloudFormation "
                                        "carries on, nothing was cancelled: follow it with `aws cloudformation "
                                        "describe-stack-events` or run again with a larger --timeout")
            self.sleep(self.interval)


@dataclass(frozen=True)
class StackEvent:
    """One stack event: a resource (or the stack itself) reached ``status``."""

    event_id: str
    logical_id: str
    resource_type: str
    status: str
    reason: str = ""

    @classmethod
    def from_aws(cls, entry: Mapping[str, Any]) -> StackEvent:
        return cls(event_id=str(entry.get("EventId", "")), logical_id=str(entry.get("LogicalResourceId", "")),
                   resource_type=str(entry.get("ResourceType", "")), status=str(entry.get("ResourceStatus", "")),
                   reason=str(entry.get("ResourceStatusReason") or ""))

    @property
    def failed(self) -> bool:
        return self.status.endswith("_FAILED")


def render_event(event: StackEvent) -> str:
    """One progress line: status, logical id, type, and the reason when there is one."""
    line = f"  {event.status:<28} {event.logical_id}  {event.resource_type}"
    return f"{line}  {event.reason}" if event.reason else line


@dataclass(frozen=True)
class StackResource:
    """A resource of a stack; ``retained`` when its template's DeletionPolicy keeps it after destroy."""

    logical_id: str
    resource_type: str
    physical_id: str
    retained: bool = False


@dataclass(frozen=True)
class ApplyOutcome:
    """A change set executed: the stack's final ``status`` and its ``outputs``."""

    stack_name: str
    status: str
    outputs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DestroyOutcome:
    """``existed`` False: there was no stack to destroy. ``retained``: the resources the template's
    DeletionPolicy kept (they still exist and still cost; delete them by hand when done)."""

    stack_name: str
    existed: bool
    retained: tuple[StackResource, ...] = ()


@dataclass
class _EventCursor:
    """The events of one stack that arrived after :meth:`prime` (CloudFormation lists newest first)."""

    cloudformation: Any
    stack: str
    newest: str | None = None
    seen: list[StackEvent] = field(default_factory=list)

    def _pages(self) -> Iterator[StackEvent]:
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"StackName": self.stack, **({"NextToken": token} if token else {})}
            page = self.cloudformation.describe_stack_events(**kwargs)
            yield from (StackEvent.from_aws(e) for e in page.get("StackEvents", []))
            token = page.get("NextToken")
            if not token:
                return

    def prime(self) -> None:
        self.newest = next((e.event_id for e in self._pages()), None)

    def new(self) -> list[StackEvent]:
        fresh: list[StackEvent] = []
        for event in self._pages():
            if event.event_id == self.newest:
                break
            fresh.append(event)
        if fresh:
            self.newest = fresh[0].event_id
        fresh.reverse()
        self.seen.extend(fresh)
        return fresh

    def failure_reasons(self) -> tuple[str, ...]:
        """The failed resources' lines (the stack's own failure lines when no resource has one)."""
        failed = [e for e in self.seen if e.failed]
        resources = [e for e in failed if e.resource_type != "AWS::CloudFormation::Stack"] or failed
        lines = [f"{e.logical_id} ({e.resource_type}) {e.status}: {e.reason or 'no reason given'}" for e in resources]
        return tuple(dict.fromkeys(lines))


def _declared_parameters(body: bytes) -> dict[str, bool] | None:
    """The template's parameters, each with whether it has a Default; None when the body is not JSON
    (a YAML template is sent as it is and CloudFormation checks its parameters)."""
    try:
        template = json.loads(body)
    except ValueError:
        return None
    params = template.get("Parameters", {}) if isinstance(template, dict) else {}
    return {str(k): isinstance(v, dict) and "Default" in v for k, v in params.items()}


def _retained_ids(template: Any) -> frozenset[str]:
    """The logical ids whose DeletionPolicy retains them, from GetTemplate's body (a dict, or JSON text)."""
    if isinstance(template, str):
        try:
            template = json.loads(template)
        except ValueError:
            return frozenset()  # a YAML template: retained resources are not reported
    resources = template.get("Resources", {}) if isinstance(template, dict) else {}
    return frozenset(k for k, v in resources.items()
                     if isinstance(v, dict) and v.get("DeletionPolicy") in _RETAINING_POLICIES)


class Stack:
    """The CloudFormation stack ``name`` in ``clients``' region.

    ``waiting`` paces every wait; ``on_event`` gets each stack event as it arrives while a change
    set executes or the stack is deleted; ``change_set_name`` names the change sets (default
    :func:`change_set_name` of now)."""

    def __init__(self, name: str, clients: AwsClients, *, waiting: Waiting | None = None,
                 on_event: Callable[[StackEvent], None] | None = None,
                 change_set_name: Callable[[], str] = change_set_name) -> None:
        self.name = name
        self.clients = clients
        self.waiting = waiting or Waiting()
        self.on_event = on_event
        self.change_set_name = change_set_name

    @property
    def _cf(self) -> Any:
        return self.clients.cloudformation

    # -- reading -------------------------------------------------------------------------------

    def _describe(self, stack: str | None = None) -> dict[str, Any] | None:
        import botocore.exceptions as bce

        try:
            stacks = self._cf.describe_stacks(StackName=stack or self.name).get("Stacks", [])
        except bce.ClientError as exc:
            if "does not exist" in exc.response.get("Error", {}).get("Message", ""):
                return None
            raise
        return dict(stacks[0]) if stacks else None

    def status(self) -> str | None:
        """The stack's status (``CREATE_COMPLETE``, ``ROLLBACK_COMPLETE``, ...); None when it does not exist."""
        with aws_errors(f"stack {self.name}: reading its status"):
            found = self._describe()
        return None if found is None else str(found["StackStatus"])

    def resources(self) -> tuple[StackResource, ...]:
        """The stack's resources, by logical id, each marked when its DeletionPolicy retains it."""
        import botocore.exceptions as bce

        with aws_errors(f"stack {self.name}: listing its resources"):
            try:
                retained = _retained_ids(self._cf.get_template(StackName=self.name).get("TemplateBody", {}))
            except bce.ClientError:
                retained = frozenset()  # no template yet (REVIEW_IN_PROGRESS): nothing to retain
            found: list[StackResource] = []
            token: str | None = None
            while True:
                page = self._cf.list_stack_resources(StackName=self.name, **({"NextToken": token} if token else {}))
                found.extend(StackResource(str(r["LogicalResourceId"]), str(r["ResourceType"]),
                                           str(r.get("PhysicalResourceId", "")), r["LogicalResourceId"] in retained)
                             for r in page.get("StackResourceSummaries", []))
                token = page.get("NextToken")
                if not token:
                    break
        return tuple(sorted(found, key=lambda r: r.logical_id))

    # -- change sets ---------------------------------------------------------------------------

    def diff(self, template: bytes, parameters: Mapping[str, str] | None = None, *,
             template_bucket: str | None = None) -> ChangeSet:
        """The change set ``template`` and ``parameters`` would make, created, read and deleted:
        nothing is executed (a stack that did not exist is not left behind)."""
        change_set = self.prepare(template, parameters, template_bucket=template_bucket)
        self.discard(change_set)
        return change_set

    def prepare(self, template: bytes, parameters: Mapping[str, str] | None = None, *,
                template_bucket: str | None = None) -> ChangeSet:
        """Create a change set (CREATE when the stack does not exist, UPDATE otherwise) and wait until
        it is ready; refuse a stack in a state no change set can start from (StackStateError).
        Parameters the template declares and ``parameters`` omits keep their previous values on an
        update. A template over :data:`MAX_TEMPLATE_BODY_BYTES` needs ``template_bucket``."""
        given = dict(parameters or {})
        self._check_template(template, given, template_bucket)
        with aws_errors(f"stack {self.name}: creating a change set"):
            current = self._describe()
            status = None if current is None else str(current["StackStatus"])
            self._check_startable(status)
            kind = "CREATE" if status in (None, "REVIEW_IN_PROGRESS") else "UPDATE"
            previous = {p["ParameterKey"]: p.get("ParameterValue", "") for p in (current or {}).get("Parameters", [])}
            request = {
                "StackName": self.name,
                "ChangeSetName": self.change_set_name(),
                "ChangeSetType": kind,
                "Capabilities": list(CAPABILITIES),
                "Parameters": self._parameters(template, given, previous if kind == "UPDATE" else {}),
                "Description": "alpha-engine deploy",
                **self._template_argument(template, template_bucket),
            }
            created = self._cf.create_change_set(**request)
            return self._wait_for_change_set(str(created["Id"]), str(created.get("StackId", "")), kind)

    def discard(self, change_set: ChangeSet) -> None:
        """Delete the change set; for a CREATE one also the empty stack (REVIEW_IN_PROGRESS) it made."""
        with aws_errors(f"stack {self.name}: deleting change set {change_set.name}"):
            self._cf.delete_change_set(ChangeSetName=change_set.arn)
            if change_set.kind == "CREATE":
                current = self._describe()
                if current is not None and current["StackStatus"] == "REVIEW_IN_PROGRESS":
                    self._cf.delete_stack(StackName=current["StackId"])

    def execute(self, change_set: ChangeSet) -> ApplyOutcome:
        """Execute the change set and wait until the stack is CREATE_COMPLETE or UPDATE_COMPLETE,
        passing each new stack event to ``on_event``. Any other end (ROLLBACK_COMPLETE,
        UPDATE_ROLLBACK_COMPLETE, ...) raises StackFailedError with the failed resources' reasons
        and what to do next."""
        if change_set.empty:
            raise StackError(f"stack {self.name}: change set {change_set.name} has no changes; nothing to execute")
        with aws_errors(f"stack {self.name}: executing change set {change_set.name}"):
            events = _EventCursor(self._cf, change_set.stack_id or self.name)
            events.prime()
            self._cf.execute_change_set(ChangeSetName=change_set.arn)
            final = self._wait_for_stack(events, f"stack {self.name}: {change_set.kind.lower()}",
                                         stack_id=change_set.stack_id or None)
        if final is None:
            raise StackError(f"stack {self.name} disappeared while change set {change_set.name} executed")
        status = str(final["StackStatus"])
        if status not in _SUCCEEDED:
            raise self._failed(status, events, change_set.kind)
        outputs = tuple(sorted((str(o["OutputKey"]), str(o.get("OutputValue", ""))) for o in final.get("Outputs", [])))
        return ApplyOutcome(self.name, status, outputs)

    # -- destroy -------------------------------------------------------------------------------

    def destroy(self) -> DestroyOutcome:
        """Delete the stack and wait for DELETE_COMPLETE, passing each new event to ``on_event``.
        No stack: ``existed`` False. DELETE_FAILED raises StackFailedError naming the resources that
        would not go and what to do (a versioned bucket with objects is the usual one)."""
        with aws_errors(f"stack {self.name}: deleting it"):
            current = self._describe()
            if current is None:
                return DestroyOutcome(self.name, existed=False)
            status = str(current["StackStatus"])
            if status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
                raise StackStateError(self._in_progress(status))
        retained = tuple(r for r in self.resources() if r.retained)
        with aws_errors(f"stack {self.name}: deleting it"):
            stack_id = str(current["StackId"])
            events = _EventCursor(self._cf, stack_id)
            events.prime()
            self._cf.delete_stack(StackName=stack_id)
            final = self._wait_for_stack(events, f"stack {self.name}: delete", stack_id=stack_id)
        status = "DELETE_COMPLETE" if final is None else str(final["StackStatus"])
        if status != "DELETE_COMPLETE":
            raise self._failed(status, events, "DELETE")
        return DestroyOutcome(self.name, existed=True, retained=retained)

    # -- internals -----------------------------------------------------------------------------

    def _in_progress(self, status: str) -> str:
        return (f"stack {self.name} is {status}: another operation is running on it; wait for it to end "
                f"(`aws cloudformation describe-stack-events --stack-name {self.name}`) and run this again")

    def _check_startable(self, status: str | None) -> None:
        if status is None or status == "REVIEW_IN_PROGRESS":
            return
        if status in _BLOCKING_STATES:
            raise StackStateError(f"stack {self.name} is {status}: {_BLOCKING_STATES[status](self.name)}")
        if status.endswith("_IN_PROGRESS"):
            raise StackStateError(self._in_progress(status))

    def _check_template(self, template: bytes, given: Mapping[str, str], bucket: str | None) -> None:
        """What can be refused before any AWS call: a template too large to go inline without a
        bucket, a parameter the template does not declare."""
        if bucket is None and len(template) > MAX_TEMPLATE_BODY_BYTES:
            raise TemplateError(f"stack {self.name}: the template is {len(template):,} bytes, over "
                                f"CloudFormation's {MAX_TEMPLATE_BODY_BYTES:,} for an inline body: pass "
                                "--template-bucket BUCKET (an S3 bucket in the stack's region you can write "
                                f"to; the template goes to {template_key(self.name, template)})")
        declared = _declared_parameters(template)
        if declared is None:
            return  # not JSON: CloudFormation checks the parameters
        unknown = sorted(set(given) - set(declared))
        if unknown:
            raise TemplateError(f"stack {self.name}: parameter {', '.join(unknown)} is not declared by the template "
                                f"(it declares: {', '.join(sorted(declared)) or 'none'})")

    def _parameters(self, template: bytes, given: dict[str, str], previous: Mapping[str, str]) -> list[dict[str, Any]]:
        declared = _declared_parameters(template)
        if declared is None:
            return [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(given.items())]
        result: list[dict[str, Any]] = []
        missing = []
        for key in sorted(declared):
            if key in given:
                result.append({"ParameterKey": key, "ParameterValue": given[key]})
            elif key in previous:
                result.append({"ParameterKey": key, "UsePreviousValue": True})
            elif not declared[key]:
                missing.append(key)
        if missing:
            raise TemplateError(f"stack {self.name}: parameter {', '.join(missing)} has no default and no value: "
                                + " ".join(f"--parameter {k}=..." for k in missing))
        return result

    def _template_argument(self, template: bytes, bucket: str | None) -> dict[str, str]:
        if bucket is None:
            return {"TemplateBody": template.decode("utf-8")}
        key = template_key(self.name, template)
        with aws_errors(f"stack {self.name}: uploading the template to s3://{bucket}/{key} (--template-bucket)"):
            self.clients.s3.put_object(Bucket=bucket, Key=key, Body=template, ContentType="application/json")
        return {"TemplateURL": f"https://{bucket}.s3.{self.clients.region}.amazonaws.com/{key}"}

    def _wait_for_change_set(self, arn: str, stack_id: str, kind: str) -> ChangeSet:
        for _ in self.waiting.until(f"stack {self.name}: change set {arn}"):
            described = self._cf.describe_change_set(ChangeSetName=arn)
            status = str(described.get("Status", ""))
            if status in ("CREATE_PENDING", "CREATE_IN_PROGRESS"):
                continue
            name = str(described.get("ChangeSetName", arn))
            stack_id = str(described.get("StackId", stack_id))
            if status == "FAILED":
                reason = str(described.get("StatusReason", ""))
                if any(r in reason for r in _NO_CHANGE_REASONS):
                    return ChangeSet(name, arn, self.name, stack_id, kind, (), empty=True)
                raise StackError(f"stack {self.name}: change set {name} failed: {reason or 'no reason given'}")
            changes = [Change.from_aws(c) for c in described.get("Changes", [])]
            token = described.get("NextToken")
            while token:
                page = self._cf.describe_change_set(ChangeSetName=arn, NextToken=token)
                changes.extend(Change.from_aws(c) for c in page.get("Changes", []))
                token = page.get("NextToken")
            return ChangeSet(name, arn, self.name, stack_id, kind, tuple(changes), empty=not changes)
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait_for_stack(self, events: _EventCursor, what: str, *, stack_id: str | None = None) -> dict[str, Any] | None:
        for _ in self.waiting.until(what):
            current = self._describe(stack_id)
            for event in events.new():
                if self.on_event is not None:
                    self.on_event(event)
            if current is None:
                return None  # deleted, and this endpoint forgets deleted stacks
            if not str(current["StackStatus"]).endswith("_IN_PROGRESS"):
                return current
        raise AssertionError("unreachable")  # pragma: no cover

    def _failed(self, status: str, events: _EventCursor, kind: str) -> StackFailedError:
        reasons = events.failure_reasons()
        if kind == "DELETE":
            advice = ("some resources could not be deleted. A versioned S3 bucket that holds objects is the usual "
                      "one: empty it (every object version) or delete it by hand, then run destroy again "
                      "(docs/deploy.md)")
        elif status == "UPDATE_ROLLBACK_COMPLETE":
            advice = "the update was rolled back and the stack runs its previous template: fix the cause and apply again"
        elif status in _BLOCKING_STATES:
            advice = _BLOCKING_STATES[status](self.name)
        else:
            advice = f"see `aws cloudformation describe-stack-events --stack-name {self.name}`"
        listed = "".join(f"\n  {line}" for line in reasons) or "\n  (no resource reported a failure)"
        return StackFailedError(f"stack {self.name} ended {status}:{listed}\nnext: {advice}", status, reasons)
