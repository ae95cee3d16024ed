"""What every request needs: the services, the clock, and who is asking."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from api.auth import SESSION_COOKIE, AuthConfig, Session, read_session, read_token
from api.files import FileStore
from states.clock import Clock, local_date
from states.engine import CaseEngine
from states.errors import NotFound
from states.org import Actor
from states.store.db import reader
from states.store.people import load_actor


@dataclass
class Services:
    db: Engine
    engine: CaseEngine
    clock: Clock
    auth: AuthConfig
    files: FileStore
    secure_cookies: bool = False

    def now(self) -> dt.datetime:
        return self.clock.now()

    def today(self) -> dt.date:
        return local_date(self.clock.now())


async def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


Svc = Annotated[Services, Depends(services)]
bearer = HTTPBearer(auto_error=False, description="POST /api/v1/auth/token 取得的访问令牌")


def _actor_for(svc: Services, person_id: int) -> Actor | None:
    """The person behind a valid credential, if they still exist and are active: a disabled
    account loses access at once, whatever tokens it still holds."""
    with reader(svc.db).connect() as conn:
        try:
            return load_actor(conn, person_id=person_id, active_only=True)
        except NotFound:
            return None


def api_actor(
    svc: Svc,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    if creds is None or creds.scheme.lower() != "bearer":
        raise HTTPException(401, "请先登录", headers={"WWW-Authenticate": "Bearer"})
    person_id = read_token(creds.credentials, svc.now(), svc.auth)
    actor = _actor_for(svc, person_id) if person_id is not None else None
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
    actor = _actor_for(svc, session.person_id)
    return (actor, session) if actor is not None else None
