"""Errors as a bureau user reads them: 4xx with the field and the reason, in Chinese."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, get_args

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import schemas as s
from api.labels import dotted_label, label, path_label
from states.errors import FormError, RenshiError, TooMany

# The error answers every endpoint may give, for the OpenAPI document: the generic API's and
# each process's own routers declare the same ones, worded the same way.
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": s.Error, "description": "未登录或登录已失效"},
    403: {"model": s.Error, "description": "无权执行"},
    404: {"model": s.Error, "description": "不存在或不在管辖范围内"},
    409: {"model": s.Error, "description": "版本冲突或当前状态不允许"},
    422: {"model": s.Error, "description": "输入有误（指明字段与原因）"},
}

# Why a value was refused, per pydantic error type: every type the schemas, the path and the
# query parameters can raise. ``{name}`` is filled from the error's ``ctx`` (the limit it
# broke), so the reason says which type and which limit.
REASONS: dict[str, str] = {
    "missing": "为必填项",
    "missing_argument": "为必填项",
    "missing_keyword_only_argument": "为必填项",
    "missing_positional_only_argument": "为必填项",
    "extra_forbidden": "不是此接口的字段",
    "unexpected_keyword_argument": "不是此接口的字段",
    "unexpected_positional_argument": "不是此接口的字段",
    "no_such_attribute": "不是此接口的字段",
    "frozen_field": "不能修改",
    "frozen_instance": "不能修改",
    "json_invalid": "不是有效的 JSON",
    "json_type": "应为 JSON 文本",
    "model_type": "应为 JSON 对象",
    "model_attributes_type": "应为 JSON 对象",
    "dataclass_type": "应为 JSON 对象",
    "dataclass_exact_type": "应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
    "mapping_type": "应为 JSON 对象",
    "arguments_type": "应为 JSON 对象",
    "list_type": "应为列表",
    "tuple_type": "应为列表",
    "set_type": "应为列表",
    "frozen_set_type": "应为列表",
    "iterable_type": "应为列表",
    "iteration_error": "应为列表",
    "set_item_not_hashable": "列表中的项不能是对象或列表",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数，不能带小数",
    "int_parsing_size": "数值过大",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "finite_number": "应为有限的数字",
    "decimal_type": "应为数字",
    "decimal_parsing": "应为数字",
    "decimal_max_digits": "不能超过{max_digits}位数字",
    "decimal_max_places": "小数不能超过{decimal_places}位",
    "decimal_whole_digits": "整数部分不能超过{whole_digits}位",
    "multiple_of": "应为{multiple_of}的整数倍",
    "greater_than": "应大于{gt}",
    "greater_than_equal": "不能小于{ge}",
    "less_than": "应小于{lt}",
    "less_than_equal": "不能大于{le}",
    "bool_type": "应为是或否（true 或 false）",
    "bool_parsing": "应为是或否（true 或 false）",
    "string_type": "应为文本",
    "string_sub_type": "应为文本",
    "string_unicode": "应为文本",
    "string_not_ascii": "只能包含英文字母、数字和符号",
    "string_too_short": "至少{min_length}个字",
    "string_too_long": "不能超过{max_length}个字",
    "string_pattern_mismatch": "格式不正确",
    "bytes_type": "应为文本",
    "bytes_too_short": "至少{min_length}个字节",
    "bytes_too_long": "不能超过{max_length}个字节",
    "bytes_invalid_encoding": "含有无效的字符编码",
    "too_short": "至少{min_length}项",
    "too_long": "不能超过{max_length}项",
    "literal_error": "应为以下之一：{expected}",
    "enum": "应为以下之一：{expected}",
    "none_required": "不应填写",
    "is_instance_of": "取值类型不正确",
    "is_subclass_of": "取值类型不正确",
    "callable_type": "取值类型不正确",
    "union_tag_invalid": "应为以下之一：{expected_tags}",
    "union_tag_not_found": "缺少类型字段",
    "value_error": "取值无效",
    "assertion_error": "取值无效",
    "date_type": "应为日期（YYYY-MM-DD）",
    "date_parsing": "应为有效日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "应为有效日期（YYYY-MM-DD）",
    "date_from_datetime_inexact": "应为日期，不能带时刻",
    "date_past": "应为今天以前的日期",
    "date_future": "应为今天以后的日期",
    "time_type": "应为时刻（HH:MM）",
    "time_parsing": "应为有效时刻（HH:MM）",
    "datetime_type": "应为日期时间（YYYY-MM-DDTHH:MM）",
    "datetime_parsing": "应为有效日期时间（YYYY-MM-DDTHH:MM）",
    "datetime_from_date_parsing": "应为有效日期时间（YYYY-MM-DDTHH:MM）",
    "datetime_object_invalid": "应为有效日期时间（YYYY-MM-DDTHH:MM）",
    "datetime_past": "应为此前的时间",
    "datetime_future": "应为此后的时间",
    "timezone_naive": "不能带时区",
    "timezone_aware": "须带时区",
    "timezone_offset": "时区不正确",
    "time_delta_type": "应为时长",
    "time_delta_parsing": "应为有效时长",
    "uuid_type": "应为 UUID",
    "uuid_parsing": "应为有效的 UUID",
    "uuid_version": "UUID 版本不正确",
    "url_type": "应为网址",
    "url_parsing": "应为有效网址",
    "url_syntax_violation": "应为有效网址",
    "url_too_long": "网址不能超过{max_length}个字符",
    "url_scheme": "网址应以 {expected_schemes} 开头",
    "fraction_type": "应为分数",
    "fraction_parsing": "应为有效分数",
    "complex_type": "应为数字",
    "complex_str_parsing": "应为数字",
}
FALLBACK = "取值无效"
WHOLE_BODY = "请求内容"
_QUOTED = re.compile(r"'([^']*)'")
_CJK = re.compile(r"[\u3400-\u9fff]")
_PREFIXES = ("Value error, ", "Assertion failed, ")


def _limit(value: Any) -> str:
    """A limit as a person writes it: 2**53 and 1.0 as 9007199254740992 and 1."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _choices(expected: Any) -> str:
    """pydantic's "'a', 'b' or 'c'" as 「a、b、c」."""
    found = _QUOTED.findall(str(expected))
    return "、".join(found) if found else str(expected)


def reason_of(err: Mapping[str, Any]) -> str:
    """Why one pydantic error refused its value, in Chinese, with the limit it broke."""
    kind = str(err.get("type", ""))
    if kind in ("value_error", "assertion_error"):
        message = str(err.get("msg", ""))
        for prefix in _PREFIXES:
            message = message.removeprefix(prefix)
        # A validator's own words if it wrote Chinese; pydantic's English never reaches a user.
        return message if _CJK.search(message) else REASONS[kind]
    ctx = dict(err.get("ctx") or {})
    if kind in ("too_short", "too_long") and isinstance(err.get("input"), str):
        # a length limit on text that a validator ran before (``api.schemas.Text``)
        kind = f"string_{kind}"
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "不能为空"
    template = REASONS.get(kind)
    if template is None:
        return FALLBACK
    values = {k: _limit(v) for k, v in ctx.items()}
    for key in ("expected", "expected_tags", "expected_schemes"):
        if key in ctx:
            values[key] = _choices(ctx[key])
    try:
        return template.format(**values)
    except (KeyError, IndexError):
        return template.split("{")[0].rstrip("：") or FALLBACK


# --- where the error is: the field's code and its label --------------------------------------
def _inner_models(annotation: Any) -> list[type[BaseModel]]:
    """The models a field's value may be: through Optional, unions, lists and dicts."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _inner_models(arg)]


def _model_path(models: list[type[BaseModel]], names: Sequence[Any]) -> list[str]:
    """Labels along ``names`` inside ``models``, each as ``api.labels.label`` finds it from
    the field's schema (title, description) and the list."""
    out: list[str] = []
    for name in names:
        if isinstance(name, int):
            out.append(str(name))
            continue
        text = str(name)
        said: str | None = None
        nested: list[type[BaseModel]] = []
        for model in models:
            info = model.model_fields.get(text)
            if info is not None:
                said = label(text, model.__name__, title=info.title, description=info.description)
                nested = _inner_models(info.annotation)
                break
        out.append(said or label(text) or f"“{text}”")
        models = nested
    return out


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def _param_label(route: APIRoute | None, where: str, name: str) -> str:
    if route is not None:
        for dep in _dependants(route.dependant):
            params = {
                "query": dep.query_params,
                "path": dep.path_params,
                "header": dep.header_params,
                "cookie": dep.cookie_params,
            }.get(where, [])
            for param in params:
                if name in (param.alias, param.name):
                    info = param.field_info
                    said = label(name, title=info.title, description=info.description)
                    return said or f"“{name}”"
    return label(name) or f"“{name}”"


def _body_models(route: APIRoute | None) -> list[type[BaseModel]]:
    body = getattr(route, "body_field", None)
    if body is None:
        return []
    return _inner_models(body.field_info.annotation)


def locate(loc: Sequence[Any], route: APIRoute | None = None) -> tuple[str, str]:
    """An error's place as (field, label): the field as the client names it (``items.0.
    case_id``, for programs) and as a person reads it (「事项列表第1项的事项编号」)."""
    where, rest = (str(loc[0]), list(loc[1:])) if loc else ("body", [])
    if where not in ("body", "query", "path", "header", "cookie"):
        where, rest = "body", list(loc)
    field = ".".join(str(p) for p in rest) or "body"
    if not rest:
        return field, WHOLE_BODY
    if where != "body":
        head = _param_label(route, where, str(rest[0]))
        return field, path_label([head, *_model_path([], rest[1:])])
    return field, path_label(_model_path(_body_models(route), rest))


def validation_errors(
    exc: RequestValidationError, route: APIRoute | None = None
) -> list[dict[str, str]]:
    """Each error as ``{field, reason, label}``: the field's code, why, and its label."""
    out = []
    for e in exc.errors():
        loc = tuple(e.get("loc", ()))
        if e.get("type") == "json_invalid":
            # the location is where parsing stopped (counted from 0), not a field
            at = loc[-1] if loc and isinstance(loc[-1], int) else None
            where = f"（第 {at + 1} 个字符附近）" if at is not None else ""
            out.append({"field": "body", "reason": f"不是有效的 JSON{where}", "label": WHOLE_BODY})
            continue
        field, said = locate(loc, route)
        out.append({"field": field, "reason": reason_of(e), "label": said})
    return out


# Reasons that begin with what is wrong need the field's name before them.
_PREDICATES = (
    "不是",
    "应为",
    "应大于",
    "应小于",
    "不能",
    "不应",
    "为必填",
    "含有",
    "格式",
    "须",
    "必须",
    "至少",
    "只能",
    "取值",
    "字段名",
    "参数名",
)


def form_message(field: str | None, reason: str) -> str:
    """A refusal of one field as a person reads it: the reason alone when it already names
    its subject (「申报职称应为以下之一：…」, 「页面已过期，请刷新后重试」), the field's label
    before it when it starts with what is wrong (「不能小于1」 → 「入围比例：不能小于1」)."""
    if field is None or not reason.startswith(_PREDICATES):
        return reason
    return f"{dotted_label(field)}{_joined(reason)}"


def invalid(errors: list[dict[str, str]]) -> JSONResponse:
    """The one 422 answer: the first field and its reason in ``message``, and all of them in
    ``errors`` (``field`` the code a program reads, ``reason`` why). Shared by the schemas'
    validation and ``api.hygiene``'s check of what a client sends."""
    first = errors[0] if errors else {"field": "body", "reason": FALLBACK}
    said = first.get("label") or dotted_label(first["field"])
    return JSONResponse(
        {
            "code": "invalid",
            "message": f"{said}{_joined(first['reason'])}",
            "field": first["field"],
            "errors": [{"field": e["field"], "reason": e["reason"]} for e in errors],
        },
        status_code=422,
    )


def _joined(reason: str) -> str:
    """「请求内容不是有效的 JSON」, 「意见：至少1个字」: a reason that reads on from the label
    follows it directly, any other after a colon."""
    return reason if reason.startswith(("不是有效的", "字段名", "参数名")) else f"：{reason}"


# Starlette's and FastAPI's own English phrases, per status, when they reach a client.
STATUS_WORDS = {
    400: "请求无效",
    401: "未登录或登录已失效",
    403: "无权执行",
    404: "资源不存在",
    405: "不支持此请求方法",
    406: "无法提供所要求的格式",
    409: "版本冲突或当前状态不允许",
    411: "缺少请求内容长度",
    413: "请求内容过大",
    415: "不支持此内容类型",
    422: "输入有误",
    429: "请求过于频繁，请稍后再试",
}


def _wants_page(request: Request) -> bool:
    """A browser asking for an address outside the API: it gets the site's own page."""
    path = request.url.path
    api = path.startswith(("/api/", "/docs", "/redoc", "/openapi"))
    return not api and "text/html" in request.headers.get("accept", "")


def install(app: FastAPI) -> None:
    @app.exception_handler(RenshiError)
    async def _renshi(request: Request, exc: RenshiError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooMany) else None
        body = exc.as_dict()
        if isinstance(exc, FormError):
            # the engine's message names the field by its code; a person reads its label
            body["message"] = form_message(exc.field, exc.reason)
        return JSONResponse(body, status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = validation_errors(exc, request.scope.get("route"))
        if _wants_page(request):
            from api.webkit import message, who

            first = errors[0]
            text = f"{first['label']}{_joined(first['reason'])}。请返回修改后重试。"
            return message(request, who(request), "输入有误", text, 422)
        return invalid(errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and _wants_page(request):
            from api.webkit import not_found_page

            return not_found_page(request)
        detail = exc.detail if isinstance(exc.detail, str) else ""
        if not _CJK.search(detail):
            # Starlette's own "Not Found", "Method Not Allowed", "There was an error parsing
            # the body": the status in the bureau's words instead
            detail = STATUS_WORDS.get(exc.status_code, "请求无效")
        return JSONResponse(
            {"code": "error", "message": detail},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )
