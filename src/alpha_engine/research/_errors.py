"""The research package's errors, one tree:

    ResearchError
    ├── DecisionCaptureWriteError   a decision artifact could not be written (the run fails)
    ├── DryRunQuarantineError       a promoted artifact carries the [DRY-RUN marker: not published
    ├── LlmError                    the LLM backend (docs/research.md "LLM backend")
    │   ├── LlmCallError            a model call failed (HTTP status, transport, no usage in the response)
    │   ├── LlmConfigError          the backend is misconfigured (API key absent, model without a price)
    │   ├── LlmOutputError          a role's output failed validation after every retry
    │   └── RunBudgetExceededError  the run's spend reached its budget: no further call is made
    ├── ResearchDbError             research.db cannot be opened, migrated or written
    └── ResearchInputError          an input (features, regime substrate, sector map) is unusable
"""

from __future__ import annotations

__all__ = ["DecisionCaptureWriteError", "DryRunQuarantineError", "LlmCallError", "LlmConfigError", "LlmError",
           "LlmOutputError", "ResearchDbError", "ResearchError", "ResearchInputError", "RunBudgetExceededError"]


class ResearchError(Exception):
    """Base of every research error."""


class DecisionCaptureWriteError(ResearchError):
    """A decision artifact could not be written; capture never fails silently."""


class DryRunQuarantineError(ResearchError):
    """A stub output (marked ``[DRY-RUN``) reached a publish path: signals, research.db or a notice."""


class ResearchDbError(ResearchError):
    """research.db cannot be opened, migrated or written."""


class ResearchInputError(ResearchError):
    """An input of the research run is unusable (named with where it came from)."""


class LlmError(ResearchError):
    """Base of the LLM backend's errors."""


class LlmCallError(LlmError):
    """A model call failed: transport, HTTP status, an unreadable body or a response without usage."""


class LlmConfigError(LlmError):
    """The LLM backend cannot be built: API key absent from the environment, a model with no price."""


class LlmOutputError(LlmError):
    """A role's structured output failed validation after every retry (names the role and the error)."""


class RunBudgetExceededError(LlmError):
    """The run's LLM spend reached ``budget_usd``: the next call is refused."""
