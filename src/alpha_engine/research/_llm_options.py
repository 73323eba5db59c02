"""``[stages.research.llm]``: the LLM backend's settings (a light module: the stage imports it)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["LlmOptions"]


class LlmOptions(BaseModel):
    """``[stages.research.llm]``: the LLM backend (read only when ``backend`` is not deterministic).
    The API key is never a setting: ``api_key_env`` names the environment variable holding it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Sector-team roles (quant, qual, peer review, thesis). Default: claude-haiku-4-5 on anthropic;
    # required for openai_compatible (the served model's name).
    model: str = ""
    # Macro economist and CIO. Default: claude-sonnet-4-6 on anthropic, else `model`.
    strategic_model: str = ""
    # openai_compatible: the server root (required), e.g. http://localhost:11434 (Ollama) or
    # http://localhost:8000 (vLLM). anthropic: an optional API base URL override.
    base_url: str = ""
    # The environment variable holding the key. Default: ANTHROPIC_API_KEY for anthropic; none for
    # openai_compatible (a local server needs no key; name one to send a Bearer token).
    api_key_env: str = ""
    # Retries of a role whose reply fails validation (the error is fed back each time).
    max_retries: int = Field(default=2, ge=0, le=10)
    # The run's ceiling on LLM spend in USD (priced from research/data/llm_prices.json); <= 0 disables it.
    budget_usd: float = 10.0
    max_tokens: int = Field(default=4096, ge=1)
    temperature: float = Field(default=0.0, ge=0, le=2)
    timeout_seconds: float = Field(default=120.0, gt=0)
