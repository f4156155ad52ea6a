"""A local stand-in for an OpenAI-compatible model provider, speaking the real chat-completions
wire format (request and response bodies as the public API defines them)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

from aiohttp import web


class FakeProvider:
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.replies: list[str] = []
        self.delay = 0.0
        self.status = 200
        self.requests: list[dict[str, Any]] = []
        self.tokens_per_call = 120
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self._wake = asyncio.Event()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._complete)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/v1"

    async def stop(self) -> None:
        self._wake.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def reset(self, replies: list[str], delay: float = 0.0, status: int = 200) -> None:
        self.replies, self.delay, self.status, self.requests = list(replies), delay, status, []
        # Answer requests still held by an earlier test's delay now.
        self._wake.set()
        self._wake = asyncio.Event()

    async def _complete(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return web.json_response(
                {
                    "error": {
                        "message": "Incorrect API key provided",
                        "type": "invalid_request_error",
                        "code": "invalid_api_key",
                    }
                },
                status=401,
            )
        body = await request.json()
        if not isinstance(body.get("messages"), list) or not body.get("model"):
            return web.json_response(
                {
                    "error": {
                        "message": "messages and model are required",
                        "type": "invalid_request_error",
                    }
                },
                status=400,
            )
        self.requests.append(body)
        # The answer is chosen on arrival, so a request held by a delay keeps its own reply.
        content = self.replies.pop(0) if self.replies else "I cannot help with that."
        status = self.status
        if self.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.delay)
        if status != 200:
            return web.json_response(
                {"error": {"message": "overloaded", "type": "server_error"}}, status=status
            )
        return web.json_response(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": self.tokens_per_call - 20,
                    "completion_tokens": 20,
                    "total_tokens": self.tokens_per_call,
                },
            }
        )
