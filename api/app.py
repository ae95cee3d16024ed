"""The web application: the JSON API under /api/v1 and the pages bureau staff work in."""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api import errors
from api.auth import AuthConfig, load_secret
from api.deps import SecureCookies, Services
from api.docs_pages import docs_pages
from api.files import FileStore
from api.head import HeadAsGet
from api.hygiene import Hygiene
from api.labels import openapi_words
from api.processes import load as load_web
from api.routes import public, router
from states import audit_keys
from states.clock import Clock, SystemClock
from states.engine import CaseEngine
from states.processes import installed
from states.store.db import make_engine

VAR = Path(os.environ.get("RENSHI_VAR", "var"))


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Everything built at start-up (routes, compiled statements, templates) is moved out of
    the garbage collector's reach: a full collection over it paused requests for tens of
    milliseconds, which is what a registrant's slowest request waited for on closing day
    (p99 108 ms → 40 ms in the registration benchmark)."""
    gc.collect()
    gc.freeze()
    yield


def create_app(services: Services | None = None) -> FastAPI:
    app = FastAPI(
        lifespan=_lifespan,
        title="Renshi 人事 API",
        version="1.0",
        # Served by api.docs_pages from the package's own assets, not a CDN.
        docs_url=None,
        redoc_url=None,
        description=(
            "教育系统人事业务流程：职称评审、招聘、交流轮岗、支教、任务清单、督查。\n\n"
            "先以用户名和密码换取访问令牌（POST /api/v1/auth/token），此后每个请求在请求头"
            " Authorization 中带上“Bearer 令牌”。出错时返回 code（供程序判断）、message"
            "（中文说明，指明字段与原因）和 field（出错的字段）；输入有误时 errors 列出每个"
            "有误的字段。"
        ),
        openapi_tags=[
            {"name": "登录"},
            {"name": "流程目录"},
            {"name": "事项"},
            {"name": "待办"},
            {"name": "附件"},
            {"name": "教师档案"},
            {"name": "机构"},
            {"name": "账号与角色"},
            {"name": "岗位指标与评委库"},
            {"name": "职称评审"},
            {"name": "招聘"},
            {"name": "招聘报名（无需登录）"},
            {"name": "公示（无需登录）"},
            {"name": "系统运行"},
        ],
    )
    _bureau_openapi(app)
    app.state.services = services or default_services()
    # The installed processes' web twins, and the public board built from them.
    app.state.web = web = load_web(app.state.services.engine.processes)
    errors.install(app)
    # Invisible characters and oversized bodies are refused before any route parses them.
    app.add_middleware(Hygiene)
    # Cookies of HTTPS requests (direct, or from the trusted proxy) are marked Secure.
    app.add_middleware(SecureCookies)
    # HEAD answers like GET without the body (probes, link checkers, curl -I).
    app.add_middleware(HeadAsGet)
    app.include_router(router)
    app.include_router(public)
    for package in web.packages:
        for process_router in package.routers:
            app.include_router(process_router)
    from api import webkit
    from api.account import account_api, account_pages
    from api.case_pages import case_pages
    from api.inbox_pages import inbox_pages
    from api.pages import pages
    from api.public_pages import public_pages

    # The pages' dependencies answer a refusal (sign in first, a stale form) with webkit.Halt.
    webkit.install(app)
    app.include_router(pages)
    app.include_router(inbox_pages)
    app.include_router(case_pages)
    from api import dossier

    # a case's audit dossier (审计档案), for inspectors and the officers over it
    app.include_router(dossier.api)
    app.include_router(dossier.pages)
    app.include_router(public_pages)
    app.include_router(account_api)
    app.include_router(account_pages)
    app.include_router(docs_pages)
    from api import registry

    for registry_router in registry.routers():
        app.include_router(registry_router)
    # 系统运行: the scheduled jobs' runs and failed notices, for the province's officers
    from api import ops_pages

    for ops_router in ops_pages.routers():
        app.include_router(ops_router)
    _health(app)
    return app


def _bureau_openapi(app: FastAPI) -> None:
    """The OpenAPI document in the bureau's words (api.labels): built once, on first ask."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            invalid = {
                "description": errors.ERRORS[422]["description"],
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
            openapi_words(FastAPI.openapi(app), invalid)
        return app.openapi_schema or {}

    app.openapi = build  # type: ignore[method-assign]


def _health(app: FastAPI) -> None:
    """Probes for a proxy, an orchestrator or systemd: ``/healthz`` answers while the process
    serves; ``/readyz`` also asks the database, so a worker that lost it leaves the rotation."""

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz(request: Request) -> JSONResponse:
        try:
            with request.app.state.services.db.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # any failure to reach the database means "not ready"
            return JSONResponse({"status": "unavailable", "detail": type(exc).__name__}, 503)
        return JSONResponse({"status": "ok"})


def default_services(clock: Clock | None = None) -> Services:
    db = make_engine()
    clock = clock or SystemClock()
    # The audit key ring (docs/audit.md): made on a fresh installation's first start; one
    # that cannot be read stops the start here, not the first transition.
    audit_keys.sealer()
    return Services(
        db=db,
        engine=CaseEngine(db, installed(), clock),
        clock=clock,
        auth=AuthConfig(secret=load_secret(VAR / "secret.key")),
        files=FileStore(Path(os.environ.get("RENSHI_FILES", VAR / "files"))),
        secure_cookies=os.environ.get("RENSHI_SECURE_COOKIES", "") == "1",
        sms=_sms_configured(),
    )


def _sms_configured() -> bool:
    """Whether the deployment sends SMS (RENSHI_CHANNELS with a gateway, or the demo's
    RENSHI_SMS_FILE): the registration page must not say a code was sent when nothing can
    send it. A broken notice setting reads as none here; the sweeps refuse to start on it."""
    from notifications.config import ConfigError, from_env

    try:
        return from_env(os.environ).sms
    except ConfigError:
        return False
