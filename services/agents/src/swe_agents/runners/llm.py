"""An OpenAI-compatible chat-completions client (hosted, vLLM, Ollama, llama.cpp server): plain
or streamed (server-sent events) answers, with or without tool calling; every call checked
against the run's budget first and kept in the run's trajectory."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypedDict

import aiohttp

from swe_agents.runners.context import RunFailure

# The tool an answer is asked through when the endpoint does tool calling: one string, so the
# answer's format is the same with and without tools.
ANSWER_TOOL = {
    "type": "function",
    "function": {
        "name": "answer",
        "description": "Give your answer in the format the request asks for.",
        "parameters": {
            "type": "object",
            "properties": {"answer": {"type": "string"}},
            "required": ["answer"],
        },
    },
}
MAX_TRAJECTORY_TEXT = 200_000  # characters of one prompt or answer kept in the trajectory


@dataclass
class Budget:
    """A run's limits, checked before each model call: never start a call it cannot pay for.
    ``deadline``: ``time.monotonic()`` past which no call starts."""

    max_calls: int
    max_tokens: int
    max_cost: float | None = None
    deadline: float | None = None
    calls: int = 0
    tokens: int = 0
    cost: float = 0.0

    def check(self) -> None:
        if self.calls >= self.max_calls:
            raise RunFailure(
                "budget_exceeded", f"model call budget of {self.max_calls} calls used up"
            )
        if self.tokens >= self.max_tokens:
            raise RunFailure(
                "budget_exceeded", f"token budget of {self.max_tokens} used up ({self.tokens})"
            )
        if self.max_cost is not None and self.cost >= self.max_cost:
            raise RunFailure(
                "budget_exceeded", f"cost budget of ${self.max_cost:g} used up (${self.cost:.4f})"
            )
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise RunFailure("budget_exceeded", "the run's wall-time budget is used up")

    @property
    def remaining_tokens(self) -> int:
        return max(1, self.max_tokens - self.tokens)


@dataclass(frozen=True, slots=True)
class Pricing:
    """US dollars per million tokens (0: a self-hosted model)."""

    input: float = 0.0
    output: float = 0.0

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input + completion_tokens * self.output) / 1_000_000


class CallRecord(TypedDict):
    """A model call as a run's trajectory keeps it (``Call.to_dict()``)."""

    index: int
    step: str
    # The chat messages as the model provider's API takes them (role, content and whatever
    # else the provider reads), each content cut at MAX_TRAJECTORY_TEXT.
    messages: list[dict[str, Any]]
    answer: str
    prompt_tokens: int
    completion_tokens: int
    cost: float
    latency_ms: int
    streamed: bool
    tool_call: bool


@dataclass(frozen=True, slots=True)
class Call:
    """One model call as the trajectory keeps it."""

    index: int
    step: str
    messages: list[dict[str, Any]]
    answer: str
    prompt_tokens: int
    completion_tokens: int
    cost: float
    latency_ms: int
    streamed: bool
    tool_call: bool

    def to_dict(self) -> CallRecord:
        return {
            "index": self.index,
            "step": self.step,
            "messages": [
                {**m, "content": str(m.get("content", ""))[:MAX_TRAJECTORY_TEXT]}
                for m in self.messages
            ],
            "answer": self.answer[:MAX_TRAJECTORY_TEXT],
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost": round(self.cost, 6),
            "latency_ms": self.latency_ms,
            "streamed": self.streamed,
            "tool_call": self.tool_call,
        }


# Before each call (the project's daily budget), and after it with its tokens and cost.
SpendCheck = Callable[[], Awaitable[None]]
SpendRecord = Callable[[int, float], Awaitable[None]]
OnCall = Callable[[Call], Awaitable[None]]


@dataclass
class ChatClient:
    base_url: str
    model: str
    api_key: str | None
    timeout: float
    stream: bool = False
    tools: bool = False
    pricing: Pricing = field(default_factory=Pricing)
    trajectory: list[Call] = field(default_factory=list)
    before_call: SpendCheck | None = None
    after_call: SpendRecord | None = None
    on_call: OnCall | None = None

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    async def complete(
        self,
        messages: list[dict[str, Any]],
        budget: Budget,
        *,
        step: str = "model",
        temperature: float = 0.0,
    ) -> str:
        """The model's answer to ``messages`` (its text, or the ``answer`` tool's argument)."""
        budget.check()
        if self.before_call is not None:
            await self.before_call()
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": temperature,
            "max_tokens": min(4096, budget.remaining_tokens),
        }
        if self.tools:
            body["tools"] = [ANSWER_TOOL]
            body["tool_choice"] = {"type": "function", "function": {"name": "answer"}}
        if self.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        budget.calls += 1
        started = time.monotonic()
        content, tool_args, usage = await self._post(body)
        latency = int((time.monotonic() - started) * 1000)
        answer, via_tool = _answer(content, tool_args)
        prompt_tokens = int(usage.get("prompt_tokens") or 0)
        completion_tokens = int(usage.get("completion_tokens") or 0)
        total = int(usage.get("total_tokens") or prompt_tokens + completion_tokens)
        if not usage:  # an endpoint that reports no usage: count ~4 characters a token
            prompt_tokens = sum(len(str(m.get("content", ""))) for m in messages) // 4
            completion_tokens = len(answer) // 4
            total = prompt_tokens + completion_tokens
        cost = self.pricing.cost(prompt_tokens, completion_tokens)
        budget.tokens += total
        budget.cost += cost
        call = Call(
            len(self.trajectory) + 1,
            step,
            messages,
            answer,
            prompt_tokens,
            completion_tokens,
            cost,
            latency,
            self.stream,
            via_tool,
        )
        self.trajectory.append(call)
        if self.after_call is not None:
            await self.after_call(total, cost)
        if self.on_call is not None:
            await self.on_call(call)
        return answer

    async def _post(self, body: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout)) as s,
                s.post(self.url, json=body, headers=self._headers()) as response,
            ):
                if response.status == 429 or response.status >= 500:
                    raise RunFailure(
                        "provider_unavailable", f"model provider answered HTTP {response.status}"
                    )
                if response.status >= 400:
                    raise RunFailure(
                        "error", f"model provider refused the request: HTTP {response.status}"
                    )
                if body.get("stream"):
                    return await _read_stream(response)
                data: dict[str, Any] = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RunFailure(
                "provider_unavailable", f"model provider unreachable: {type(exc).__name__}"
            ) from None
        except ValueError:
            raise RunFailure(
                "provider_unavailable", "model provider sent a body that is not JSON"
            ) from None
        try:
            message = data["choices"][0]["message"]
        except (KeyError, IndexError, TypeError):
            raise RunFailure("provider_unavailable", "model provider sent no choices") from None
        calls = message.get("tool_calls") or []
        args = "".join(str((c.get("function") or {}).get("arguments") or "") for c in calls[:1])
        return str(message.get("content") or ""), args, dict(data.get("usage") or {})


async def _read_stream(response: aiohttp.ClientResponse) -> tuple[str, str, dict[str, Any]]:
    """Server-sent events: ``data: {chunk}`` lines until ``data: [DONE]``; the text and the
    first tool call's arguments arrive in pieces, the usage (when asked for) in the last
    chunk."""
    content: list[str] = []
    args: list[str] = []
    usage: dict[str, Any] = {}
    async for raw in response.content:
        line = raw.decode("utf-8", errors="replace").strip()
        if not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        if payload == "[DONE]":
            break
        chunk = json.loads(payload)
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            content.append(str(delta.get("content") or ""))
            args.extend(
                str((call.get("function") or {}).get("arguments") or "")
                for call in delta.get("tool_calls") or []
                if int(call.get("index", 0)) == 0
            )
    return "".join(content), "".join(args), usage


def _answer(content: str, tool_args: str) -> tuple[str, bool]:
    if tool_args:
        try:
            return str(json.loads(tool_args)["answer"]), True
        except (ValueError, KeyError, TypeError):
            return tool_args, True
    return content, False
