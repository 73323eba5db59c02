"""The promotion decision: does a freshly registered challenger become the champion?"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._options import TrainingConfig
from ._registry import ModelRegistry

__all__ = ["PROMOTION_MARGIN", "promotion_decision"]

PROMOTION_MARGIN = 0.005  # a challenger must beat the re-measured champion's CPCV IC by this much


def _model_defining(config: dict[str, Any]) -> dict[str, Any]:
    """The config without the settings that change speed, not models (``threads``)."""
    return {k: v for k, v in config.items() if k != "threads"}


def promotion_decision(registry: ModelRegistry, version: str, challenger_ic: float | None,
                       manifest: dict[str, Any], *, serve_provisional: bool,
                       remeasure: Callable[[TrainingConfig], float | None]) -> dict[str, Any]:
    """``{"promote", "provisional", "reason"}`` for challenger ``version``.

    The gate: the CPCV IC is > 0 and >= the champion's CPCV IC re-measured on this data, plus
    a margin. While no model has passed the gate (no champion, or a provisional one), the
    newest challenger serves provisionally if ``serve_provisional``; its predictions say so.
    ``remeasure(config)`` trains the champion's config on this run's data and returns its CPCV IC.
    """
    champion = registry.champion()
    if champion == version:
        return {"promote": False, "provisional": False,
                "reason": "the challenger is already the champion (same content)"}
    provisional_champion = champion is not None and registry.champion_is_provisional()
    if challenger_ic is None or not challenger_ic > 0:
        failed = f"CPCV IC {challenger_ic} is not > 0"
        if serve_provisional and (champion is None or provisional_champion):
            which = "first model" if champion is None else f"replaces provisional champion {champion}"
            return {"promote": True, "provisional": True,
                    "reason": f"{which}, provisional: {failed}; it serves until a model passes the gate"}
        return {"promote": False, "provisional": False, "reason": failed}
    if champion is None:
        return {"promote": True, "provisional": False, "reason": f"first model: CPCV IC {challenger_ic:.4f} > 0"}
    if provisional_champion:
        return {"promote": True, "provisional": False,
                "reason": f"CPCV IC {challenger_ic:.4f} > 0 passes the gate; {champion} was provisional"}
    champion_config = registry.manifest(champion).get("config", {})
    if _model_defining(champion_config) == _model_defining(manifest.get("config", {})):
        baseline = challenger_ic  # same architecture: its re-measure on this data is the challenger itself
    else:
        options = {k: v for k, v in champion_config.items() if k in TrainingConfig.model_fields}
        baseline = remeasure(TrainingConfig(**options)) or 0.0
    if challenger_ic >= baseline + PROMOTION_MARGIN:
        return {"promote": True, "provisional": False,
                "reason": f"CPCV IC {challenger_ic:.4f} >= champion {baseline:.4f} + {PROMOTION_MARGIN}"}
    return {"promote": False, "provisional": False,
            "reason": f"CPCV IC {challenger_ic:.4f} < champion re-measured on this data {baseline:.4f} + "
                      f"margin {PROMOTION_MARGIN}"}
