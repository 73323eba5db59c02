"""The eval chain's dry path (upstream's ``dry_run_llm``, seed 004).

Under ``dry_run_llm`` an eval stage boots and imports its real code, then returns before any
listing, model call, metric emit or write: :func:`dry_run_outcome` is what it returns. The flag is
the execution input's ``research_dry`` (upstream's canonical LLM-dry signal, which a shell run
sets) or the stage's own ``dry_run_llm`` option. (The stage runner still writes the stage's
health marker and heartbeat after a dry run, as it does after any run that completed.)
"""

from __future__ import annotations

from typing import Any

from alpha_engine.pipeline import StageContext, StageOutcome

__all__ = ["dry_run_llm", "dry_run_outcome"]


def dry_run_llm(ctx: StageContext[Any]) -> bool:
    """Whether this run is LLM-dry: ``research_dry`` in the execution input or the ``dry_run_llm``
    option. A malformed ``research_dry`` is a PreflightError naming the field."""
    return ctx.input_flag("research_dry") or bool(getattr(ctx.options, "dry_run_llm", False))


def dry_run_outcome(stage: str, imported: list[str]) -> StageOutcome:
    """The benign success of ``stage``'s dry run: status SKIPPED, what was imported, and nothing else
    done (the warning is shown under the stage's name, so it does not repeat it)."""
    return StageOutcome(summary={"status": "SKIPPED", "reason": "dry_run_llm", "imported": sorted(imported)},
                        warnings=(f"dry_run_llm: booted and imported {', '.join(sorted(imported))}; "
                                  "nothing listed, called, emitted or written",))
