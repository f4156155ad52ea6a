"""A minimal OpenAI-compatible chat-completions client with a per-run call/token budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

from swe_agents.runners.context import RunFailure


@dataclass
class Budget:
    max_calls: int
    max_tokens: int
    calls: int = 0
    tokens: int = 0

    def check(self) -> None:
        """Checked before each model call: never start a call the budget cannot pay for."""
        if self.calls >= self.max_calls:
            raise RunFailure(
                "budget_exceeded", f"model call budget of {self.max_calls} calls used up"
            )
        if self.tokens >= self.max_tokens:
            raise RunFailure(
                "budget_exceeded", f"token budget of {self.max_tokens} used up ({self.tokens})"
            )

    @property
    def remaining_tokens(self) -> int:
        return max(1, self.max_tokens - self.tokens)


class ChatClient:
    def __init__(self, base_url: str, model: str, api_key: str | None, timeout: float) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.headers = {"Content-Type": "application/json"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def complete(self, messages: list[dict[str, str]], budget: Budget) -> str:
        budget.check()
        body = {
            "model": self.model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": min(4096, budget.remaining_tokens),
        }
        budget.calls += 1
        try:
            async with (
                aiohttp.ClientSession(timeout=self.timeout) as session,
                session.post(self.url, json=body, headers=self.headers) as response,
            ):
                if response.status == 429 or response.status >= 500:
                    raise RunFailure(
                        "provider_unavailable", f"model provider answered HTTP {response.status}"
                    )
                if response.status >= 400:
                    raise RunFailure(
                        "error", f"model provider refused the request: HTTP {response.status}"
                    )
                data: dict[str, Any] = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RunFailure(
                "provider_unavailable", f"model provider unreachable: {type(exc).__name__}"
            ) from None
        except ValueError:
            raise RunFailure(
                "provider_unavailable", "model provider sent a body that is not JSON"
            ) from None
        budget.tokens += int((data.get("usage") or {}).get("total_tokens") or 0)
        try:
            return str(data["choices"][0]["message"]["content"] or "")
        except (KeyError, IndexError, TypeError):
            raise RunFailure("provider_unavailable", "model provider sent no choices") from None
