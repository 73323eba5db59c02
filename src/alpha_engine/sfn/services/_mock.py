"""``MockBinding``: answer Task resources from a Python function, like ``httpx.MockTransport``."""

from __future__ import annotations

import fnmatch
import inspect
from collections.abc import Callable
from typing import Any

from ._base import BindingContext, TaskRequest

__all__ = ["MockBinding"]


class MockBinding:
    """A binding whose result is ``handler(request)``.

    ``resources`` selects what it answers for: a glob over the resource ARN (``"*"``, the
    default, matches everything; ``"arn:aws:states:::lambda:*"``) or a predicate. The handler
    may return a value or an awaitable, and may raise ``StatesError`` to simulate a failure.
    """

    def __init__(
        self,
        handler: Callable[[TaskRequest], Any],
        resources: str | Callable[[str], bool] = "*",
    ) -> None:
        self.handler = handler
        self.resources = resources

    def matches(self, resource: str) -> bool:
        if callable(self.resources):
            return bool(self.resources(resource))
        return fnmatch.fnmatchcase(resource, self.resources)

    async def invoke(self, request: TaskRequest, ctx: BindingContext) -> Any:
        result = self.handler(request)
        if inspect.isawaitable(result):
            result = await result
        return result
