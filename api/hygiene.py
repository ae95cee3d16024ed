"""What a client sends, checked once before any route sees it.

Text a person cannot see or that is not text at all — a lone surrogate (``"\\ud800"``), NUL,
the other C0 controls but tab, newline and carriage return, DEL, C1 — has no business in a
name, a comment or an objection. Left to the routes it became a 500 (PostgreSQL refuses NUL;
a lone surrogate cannot be encoded for the database or the log) or was stored where another
field would have refused it. So the check lives in one ASGI middleware, for every JSON body
(every string at any depth, keys included), every query string and url-encoded form, and
answers 422 in the shape of ``api.errors`` (the field and the reason) — or, outside the API,
the site's message page, since there the sender is a page's form.
Multipart forms, which it does not buffer, are checked where the pages parse them
(``api.webkit``), by the same ``refusal``.

The middleware also caps a body before it is parsed: a 20 MB JSON document must not be
decoded on a public endpoint because somebody sent one. JSON and url-encoded forms get
``MAX_BODY``; multipart, which carries uploads with their own limits (attachments, imported
spreadsheets), gets the larger ``MAX_MULTIPART``. The cap holds on the declared
Content-Length and while streaming, so a chunked body is never read past it.

Cost: a body is scanned with one regular expression over its text; only when that finds a
suspect character or a ``\\u`` escape is it decoded as JSON and walked to name the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, Final
from urllib.parse import unquote_to_bytes

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY: Final = 1024 * 1024
# The largest upload (an imported spreadsheet, 64 MB) and room for the form's other fields.
MAX_MULTIPART: Final = 72 * 1024 * 1024

CONTROL: Final = "含有不可见的控制字符"
ENCODING: Final = "含有无效的字符编码"
TOO_LARGE: Final = f"请求内容过大：不能超过{MAX_BODY // 1024}KB"
TOO_LARGE_UPLOAD: Final = f"上传内容过大：不能超过{MAX_MULTIPART // (1024 * 1024)}MB"

# C0 but tab, newline, carriage return; DEL; C1; surrogates (only a lone one survives decoding).
_BAD: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# In the raw JSON text: a suspect character, or an escape that may decode to one.
_SUSPECT: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|\\\\u")
_QUERY_PLAIN: Final = re.compile(rb"[^%\x00-\x1f\x7f-\xff]*")


def refusal(value: str) -> str | None:
    """Why ``value`` is not acceptable text, or None: the one rule, for JSON, queries and
    page forms alike."""
    found = _BAD.search(value)
    if found is None:
        return None
    return ENCODING if "\ud800" <= found.group() <= "\udfff" else CONTROL


def _shown(key: str) -> str:
    """A key as the error may name it: its invisible characters written out as escapes."""
    return _BAD.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), key)


def _walk(value: Any, path: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        reason = refusal(value)
        if reason is not None:
            yield ".".join(path) or "body", reason
    elif isinstance(value, dict):
        for key, item in value.items():
            reason = refusal(key)
            if reason is not None:
                yield ".".join((*path, _shown(key))), f"字段名{reason}"
            else:
                yield from _walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*path, str(index)))


def json_problems(body: bytes) -> list[tuple[str, str]]:
    """The fields of a JSON body that carry text the service refuses, as (field, reason).
    A body that is not JSON at all is left to the route, which says so in its own words."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return [("body", ENCODING)]
    if _SUSPECT.search(text) is None:
        return []
    try:
        document = json.loads(text)
    except ValueError:
        return []
    return list(_walk(document, ()))


def query_problems(query: bytes) -> list[tuple[str, str]]:
    """The query parameters whose name or value is refused text, as (field, reason)."""
    if _QUERY_PLAIN.fullmatch(query):
        return []
    found: list[tuple[str, str]] = []
    # as Starlette reads it: latin-1, split on & and =, + for space, percent-decoded UTF-8
    for part in query.decode("latin-1").split("&"):
        if not part:
            continue
        raw_name, _, raw_value = part.partition("=")
        decoded: list[str | None] = []
        for raw in (raw_name, raw_value):
            try:
                decoded.append(unquote_to_bytes(raw.replace("+", " ")).decode("utf-8"))
            except UnicodeDecodeError:
                decoded.append(None)
        name, value = decoded
        field = _shown(name) if name is not None else _shown(raw_name)
        reason = ENCODING if name is None else refusal(name)
        if reason is not None:
            found.append((field, f"参数名{reason}"))
        elif value is None:
            found.append((field, ENCODING))
        elif (reason := refusal(value)) is not None:
            found.append((field, reason))
    return found


class BodyTooLarge(HTTPException):
    """Raised from inside the app when a streamed multipart body passes its cap: an
    HTTPException, so that FastAPI's body parsing passes it on as it is (any other error
    there becomes a 400) and ``api.errors`` answers it in Chinese."""

    def __init__(self) -> None:
        super().__init__(413, TOO_LARGE_UPLOAD)


def _wants_page(scope: Scope) -> bool:
    """Outside the API the sender is a page's form or link: it is answered with a page."""
    path: str = scope.get("path", "")
    return not path.startswith(("/api/", "/docs", "/redoc", "/openapi"))


class Hygiene:
    """The ASGI middleware described above."""

    def __init__(
        self, app: ASGIApp, max_body: int = MAX_BODY, max_multipart: int = MAX_MULTIPART
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.max_multipart = max_multipart

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        problems = query_problems(scope.get("query_string", b""))
        if problems:
            await self._refuse(scope, headers, send, problems)
            return
        declared = headers.get(b"content-length")
        if declared is None and b"transfer-encoding" not in headers:
            await self.app(scope, receive, send)  # no body
            return
        ctype = headers.get(b"content-type", b"").lower()
        multipart = ctype.startswith(b"multipart/")
        cap = self.max_multipart if multipart else self.max_body
        if declared is not None and (not declared.isdigit() or int(declared) > cap):
            await self._too_large(scope, headers, send, multipart)
            return
        if multipart:
            await self.app(scope, _counted(receive, cap), send)
            return
        body = await _read(receive, cap)
        if body is None:
            await self._too_large(scope, headers, send, multipart)
            return
        if not ctype or b"json" in ctype:
            problems = json_problems(body)
        elif ctype.startswith(b"application/x-www-form-urlencoded"):
            problems = query_problems(body)  # the same encoding as a query string
        if problems:
            await self._refuse(scope, headers, send, problems)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _refuse(
        self,
        scope: Scope,
        headers: dict[bytes, bytes],
        send: Send,
        problems: list[tuple[str, str]],
    ) -> None:
        field, reason = problems[0]
        response: Response
        if _wants_page(scope):
            from api.labels import dotted_label
            from api.webkit import message

            text = f"{dotted_label(field)}{reason}，本次提交未生效。请返回修改后重试。"
            response = message(Request(scope), None, "输入有误", text, 422)
        else:
            from api.errors import invalid

            response = invalid([{"field": f, "reason": r} for f, r in problems])
        await response(scope, _no_body, send)

    async def _too_large(
        self, scope: Scope, headers: dict[bytes, bytes], send: Send, multipart: bool
    ) -> None:
        said = TOO_LARGE_UPLOAD if multipart else TOO_LARGE
        response: Response
        if _wants_page(scope):
            from api.webkit import message

            response = message(Request(scope), None, "提交未生效", said, 413)
        else:
            response = JSONResponse({"code": "too_large", "message": said}, status_code=413)
        # The rest of the body is not read: the connection is closed after the answer.
        response.headers["Connection"] = "close"
        await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _read(receive: Receive, cap: int) -> bytes | None:
    """The whole body, or None as soon as it passes ``cap`` (the rest is never read)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away; the route sees an empty body and no one reads it
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _counted(receive: Receive, cap: int) -> Receive:
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > cap:
                raise BodyTooLarge()
        return message

    return counted
