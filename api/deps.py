"""What every request needs: the services, the clock, and who is asking."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import SESSION_COOKIE, AuthConfig, Credential, Session, read_session, read_token
from api.files import FileStore
from states.clock import Clock, local_date
from states.engine import CaseEngine
from states.errors import NotFound
from states.org import Actor
from states.store.db import reader
from states.store.people import load_actor
from states.throttle import Throttle


@dataclass
class Services:
    db: Engine
    engine: CaseEngine
    clock: Clock
    auth: AuthConfig
    files: FileStore
    # Every cookie Secure, whatever the request (RENSHI_SECURE_COOKIES=1). Without it, the
    # cookies of a request that came over HTTPS are made Secure by SecureCookies.
    secure_cookies: bool = False
    # Whether a text message can reach a phone (an SMS gateway, or the demo's file): the
    # app's default services read the configured channels; services built in code (tests,
    # benchmarks) deliver codes through the outbox they read.
    sms: bool = True

    def now(self) -> dt.datetime:
        return self.clock.now()

    @cached_property
    def throttle(self) -> Throttle:
        """The service's rate limits, counted in its database (states/throttle.py)."""
        return Throttle(self.db, self.clock)

    def today(self) -> dt.date:
        return local_date(self.clock.now())


async def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


Svc = Annotated[Services, Depends(services)]


def client_address(request: Request) -> str:
    """The address a request came from, for limits per address. Behind the deployment's
    proxy it is the browser's, because uvicorn believes that proxy's ``X-Forwarded-For``
    (and only that proxy's); a request with no peer at all (an in-process test client
    without one) counts as one unknown address."""
    return request.client.host if request.client is not None else "unknown"


Address = Annotated[str, Depends(client_address)]
bearer = HTTPBearer(auto_error=False, description="POST /api/v1/auth/token 取得的访问令牌")


def _actor_for(svc: Services, who: Credential) -> Actor | None:
    """The person behind a valid credential, if they still exist, are active, and have not
    ended the credential's generation since (signed out, changed their password, lost a role,
    were disabled): each ends every token and session they hold at once."""
    with reader(svc.db).connect() as conn:
        try:
            return load_actor(conn, person_id=who.person_id, active_only=True, generation=who.gen)
        except NotFound:
            return None


def api_actor(
    svc: Svc,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    if creds is None or creds.scheme.lower() != "bearer":
        raise HTTPException(401, "请先登录", headers={"WWW-Authenticate": "Bearer"})
    who = read_token(creds.credentials, svc.now(), svc.auth)
    actor = _actor_for(svc, who) if who is not None else None
    if actor is None:
        raise HTTPException(401, "登录已失效，请重新登录", headers={"WWW-Authenticate": "Bearer"})
    return actor


ApiActor = Annotated[Actor, Depends(api_actor)]


def page_session(request: Request, svc: Svc) -> tuple[Actor, Session] | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    session = read_session(cookie, svc.now(), svc.auth)
    if session is None:
        return None
    actor = _actor_for(svc, session.credential)
    return (actor, session) if actor is not None else None


class SecureCookies:
    """Marks every cookie of a response to an HTTPS request ``Secure``, so that a browser that
    signed in over HTTPS never sends the session over plain HTTP, with nothing to configure.

    HTTPS is the request's scheme as uvicorn gives it: the connection's own, or
    ``X-Forwarded-Proto`` when uvicorn was told to believe the proxy that sent it
    (``--proxy-headers --forwarded-allow-ips``, as deploy/ starts it; from any other address
    the header is ignored by uvicorn's ProxyHeadersMiddleware before the app sees the request).
    Working on the response's headers rather than on each ``set_cookie`` call covers every
    cookie any route sets or deletes — the session, the one-time message, a process's own —
    without each handler having to pass the request along. Plain HTTP leaves cookies as they
    are (a local demo has no TLS), unless ``Services.secure_cookies`` forces the flag.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("scheme") != "https":
            await self.app(scope, receive, send)
            return

        async def send_secure(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (name, secured(value) if name.lower() == b"set-cookie" else value)
                    for name, value in message.get("headers", [])
                ]
            await send(message)

        await self.app(scope, receive, send_secure)


def secured(set_cookie: bytes) -> bytes:
    """A ``Set-Cookie`` value with the ``Secure`` attribute, added only if it is missing."""
    attributes = (part.strip().lower() for part in set_cookie.split(b";")[1:])
    return set_cookie if b"secure" in attributes else set_cookie + b"; Secure"
