"""A local stand-in for an OpenAI-compatible model provider, speaking the real chat-completions
wire format (request and response bodies as the public API defines them). Used by the agents
service's tests, ``bench/resolver_eval.py --scripted`` and the end-to-end tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from typing import Any

from aiohttp import web

from swe_common.testing import served


class FakeProvider:
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.replies: list[str] = []
        self.delay = 0.0
        self.status = 200
        self.requests: list[dict[str, Any]] = []
        self.tokens_per_call = 120
        self._server = contextlib.AsyncExitStack()
        self.base_url = ""
        self._wake = asyncio.Event()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._complete)
        url = await self._server.enter_async_context(served(app))
        self.base_url = f"{url}/v1"

    async def stop(self) -> None:
        self._wake.set()
        await self._server.aclose()

    def reset(self, replies: list[str], delay: float = 0.0, status: int = 200) -> None:
        self.replies, self.delay, self.status, self.requests = list(replies), delay, status, []
        # Answer requests still held by an earlier test's delay now.
        self._wake.set()
        self._wake = asyncio.Event()

    def release(self) -> None:
        """Answer the requests a ``delay`` holds now, and the later ones at once."""
        self.delay = 0.0
        self._wake.set()

    async def _complete(self, request: web.Request) -> web.StreamResponse:
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
        usage = {
            "prompt_tokens": self.tokens_per_call - 20,
            "completion_tokens": 20,
            "total_tokens": self.tokens_per_call,
        }
        tool = bool(body.get("tools"))
        if body.get("stream"):
            return await self._stream(request, body, content, tool, usage)
        message: dict[str, Any] = {"role": "assistant", "content": None if tool else content}
        if tool:
            message["tool_calls"] = [
                {
                    "id": f"call_{uuid.uuid4().hex[:24]}",
                    "type": "function",
                    "function": {"name": "answer", "arguments": json.dumps({"answer": content})},
                }
            ]
        return web.json_response(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "logprobs": None,
                        "finish_reason": "tool_calls" if tool else "stop",
                    }
                ],
                "usage": usage,
            }
        )

    async def _stream(
        self,
        request: web.Request,
        body: dict[str, Any],
        content: str,
        tool: bool,
        usage: dict[str, int],
    ) -> web.StreamResponse:
        """Server-sent events as the API streams them: a role chunk, the text (or the tool
        call's arguments) in pieces, a finish chunk, the usage chunk, then [DONE]."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        ident, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())

        async def send(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> None:
            chunk = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": body["model"],
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

        await send({"role": "assistant", "content": "" if not tool else None})
        text = json.dumps({"answer": content}) if tool else content
        pieces = [text[i : i + 7] for i in range(0, len(text), 7)]
        for n, piece in enumerate(pieces):
            if tool:
                call: dict[str, Any] = {"index": 0, "function": {"arguments": piece}}
                if n == 0:
                    call.update(id=f"call_{uuid.uuid4().hex[:24]}", type="function")
                    call["function"]["name"] = "answer"
                await send({"tool_calls": [call]})
            else:
                await send({"content": piece})
        await send({}, "tool_calls" if tool else "stop")
        if (body.get("stream_options") or {}).get("include_usage"):
            final = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": body["model"],
                "choices": [],
                "usage": usage,
            }
            await response.write(f"data: {json.dumps(final)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response
