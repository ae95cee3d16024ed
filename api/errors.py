"""Errors as a bureau user reads them: 4xx with the field and the reason, in Chinese."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import schemas as s
from states.errors import RenshiError, TooMany

# The error answers every endpoint may give, for the OpenAPI document: the generic API's and
# each process's own routers declare the same ones, worded the same way.
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": s.Error, "description": "未登录或登录已失效"},
    403: {"model": s.Error, "description": "无权执行"},
    404: {"model": s.Error, "description": "不存在或不在管辖范围内"},
    409: {"model": s.Error, "description": "版本冲突或当前状态不允许"},
    422: {"model": s.Error, "description": "输入有误（指明字段与原因）"},
}

REASONS = {
    "missing": "为必填项",
    "extra_forbidden": "不是此接口的字段",
    "json_invalid": "不是有效的 JSON",
    "json_type": "应为 JSON 对象",
    "model_type": "应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
    "list_type": "应为列表",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "bool_type": "应为是或否",
    "bool_parsing": "应为是或否",
    "string_type": "应为文本",
    "string_too_short": "太短",
    "string_too_long": "太长",
    "string_pattern_mismatch": "格式不正确",
    "greater_than_equal": "数值太小",
    "greater_than": "数值太小",
    "less_than_equal": "数值太大",
    "less_than": "数值太大",
    "literal_error": "取值不在允许范围内",
    "enum": "取值不在允许范围内",
    "too_short": "项数太少",
    "too_long": "项数太多",
    "value_error": "取值无效",
    "date_from_datetime_parsing": "应为有效日期",
    "date_parsing": "应为有效日期",
}


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _reason(err: dict[str, Any]) -> str:
    kind = str(err.get("type", ""))
    if kind == "value_error":
        message = str(err.get("msg", ""))
        return message.removeprefix("Value error, ") or REASONS[kind]
    return REASONS.get(kind, "取值无效")


def validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    return [{"field": _field(tuple(e["loc"])), "reason": _reason(e)} for e in exc.errors()]


def invalid(errors: list[dict[str, str]]) -> JSONResponse:
    """The one 422 answer: the first field and its reason, and all of them. Shared by the
    schemas' validation and ``api.hygiene``'s check of what a client sends."""
    first = errors[0] if errors else {"field": "body", "reason": "取值无效"}
    return JSONResponse(
        {
            "code": "invalid",
            "message": f"{first['field']}：{first['reason']}",
            "field": first["field"],
            "errors": errors,
        },
        status_code=422,
    )


def _wants_page(request: Request) -> bool:
    """A browser asking for an address outside the API: it gets the site's own page."""
    path = request.url.path
    api = path.startswith(("/api/", "/docs", "/redoc", "/openapi"))
    return not api and "text/html" in request.headers.get("accept", "")


def install(app: FastAPI) -> None:
    @app.exception_handler(RenshiError)
    async def _renshi(request: Request, exc: RenshiError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooMany) else None
        return JSONResponse(exc.as_dict(), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return invalid(validation_errors(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and _wants_page(request):
            from api.webkit import not_found_page

            return not_found_page(request)
        detail = exc.detail if isinstance(exc.detail, str) else "请求无效"
        if exc.status_code == 404 and detail == "Not Found":
            detail = "资源不存在"
        elif exc.status_code == 405:
            detail = "不支持此请求方法"
        return JSONResponse(
            {"code": "error", "message": detail},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )
