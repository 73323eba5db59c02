"""``ServiceRegistry``: route a Task resource to the first binding that matches it."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from .._errors import BindingError, SfnError, StatesError
from ._base import Binding, BindingContext, TaskRequest, split_resource

__all__ = ["ServiceRegistry", "default_registry"]


class ServiceRegistry:
    """Bindings in priority order (first match wins) plus the context they all share.

    Errors other than ``SfnError`` escaping a binding (a bug, a failed ``fork``) become
    ``States.TaskFailed`` naming the binding, so a broken binding fails the task, never the
    engine. ``asyncio.CancelledError`` always propagates.
    """

    def __init__(self, bindings: Sequence[Binding], ctx: BindingContext) -> None:
        self.bindings = tuple(bindings)
        self.ctx = ctx
        self._routes: dict[str, Binding | None] = {}

    def _route(self, resource: str) -> Binding | None:
        try:
            return self._routes[resource]
        except KeyError:
            arn, _ = split_resource(resource)
            found = next((b for b in self.bindings if b.matches(arn)), None)
            self._routes[resource] = found
            return found

    def supports(self, resource: str) -> bool:
        """True if some binding answers for ``resource`` (with or without its suffix)."""
        return self._route(resource) is not None

    async def invoke(self, request: TaskRequest) -> Any:
        """Run ``request`` on its binding; ``BindingError`` if no binding matches."""
        binding = self._route(request.resource)
        if binding is None:
            raise BindingError(
                f"no local binding for Task resource {request.resource!r} (state {request.state_name!r})"
            )
        try:
            return await binding.invoke(request, self.ctx)
        except (SfnError, asyncio.CancelledError):
            raise
        except Exception as exc:
            raise StatesError(
                "States.TaskFailed",
                f"local binding {type(binding).__name__} failed on {request.resource} "
                f"(state {request.state_name!r}): {type(exc).__name__}: {exc}",
                in_state=False,
            ) from exc

    async def aclose(self) -> None:
        """Let bindings with background work (detached Batch jobs, SSM commands) stop it."""
        for binding in self.bindings:
            close = getattr(binding, "aclose", None)
            if close is not None:
                result = close()
                if inspect.isawaitable(result):
                    await result


def default_registry(
    ctx: BindingContext,
    extra: Sequence[Binding] = (),
    *,
    now: Callable[[], datetime] | None = None,
    new_id: Callable[[], str] | None = None,
) -> ServiceRegistry:
    """The built-in bindings (Lambda, Batch, SSM, SNS, DynamoDB) after ``extra``.

    ``extra`` comes first so a test's ``MockBinding`` or a mock config overrides the built-ins.
    ``now`` is the engine's clock and ``new_id`` its id source: bindings stamp times (SNS outbox,
    Batch job times, SSM windows) and make request/job/message ids with them instead of reading
    the wall clock or ``uuid4``. Without them each binding uses a real clock and an unseeded source.
    """
    from ._batch import BatchBinding
    from ._dynamodb import DynamoDBBinding
    from ._lambda import LambdaBinding
    from ._sns import SnsBinding
    from ._ssm import SsmBinding

    builtins: list[Binding] = [
        LambdaBinding(now=now, new_id=new_id),
        BatchBinding(now=now, new_id=new_id),
        SsmBinding(now=now, new_id=new_id),
        SnsBinding(now=now, new_id=new_id),
        DynamoDBBinding(now=now, new_id=new_id),
    ]
    return ServiceRegistry([*extra, *builtins], ctx)
