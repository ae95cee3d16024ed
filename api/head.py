"""``HEAD`` answers like ``GET``, without the body (RFC 9110 §9.3.2).

A load balancer's probe, a link checker or ``curl -I`` asks ``HEAD /``; FastAPI registers
only the methods a route names, so every page answered 405. One ASGI middleware turns a
HEAD into the GET it stands for and drops the body on the way out, keeping the headers —
Content-Length included — exactly as GET would send them.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # swallow the body's chunks; the last one ends the response
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)
