"""The qualification check's identity claims, read once for the JSON API and the pages: an ID
number registered from one phone and claimed from another, with both people as officers need
them to call each in. Settling a claim is an engine event on the registration
(``void_registration``, ``confirm_identity``), not a write of this module."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from api.deps import Services
from api.processes.recruitment.views import get_round
from states.errors import NotFound
from states.identity import mask_id_number
from states.org import SCOPE_ROLES, Actor
from states.processes.recruitment.spec import APPLICANT_SPEC
from states.processes.recruitment.tables import Applicant, Post, RegistrationConflict
from states.store.db import reader
from states.store.models import Case

RESOLUTIONS: Final = {"voided": "已注销冒名报名", "confirmed": "核实报名无误"}


@dataclass(frozen=True)
class Claim:
    """An ID number registered from one phone and claimed from another, as officers see it:
    both people in full (they call both), the ID number masked (the holder brings the card)."""

    id: int
    case_id: int
    version: int
    state: str
    state_label: str
    post_code: str
    name: str
    id_number: str
    phone: str
    online: bool  # registered online with a confirmed phone (else imported by the province)
    registered_at: dt.datetime
    claimed_name: str
    claimed_phone: str
    claimed_at: dt.datetime
    resolved_at: dt.datetime | None
    resolution: str | None

    @property
    def open(self) -> bool:
        return self.resolved_at is None

    @property
    def outcome(self) -> str:
        return RESOLUTIONS.get(self.resolution or "", "待核实")

    @property
    def settleable(self) -> bool:
        """Open, on a registration still before the exam: a finished one (disqualified,
        withdrawn) has no move left, and the claim is handled outside the system."""
        return self.open and "void_registration" in APPLICANT_SPEC.allowed_events(self.state)


def _claims_in_scope(actor: Actor, round_id: int) -> Any:
    scopes = actor.scopes(SCOPE_ROLES)
    return (
        select(RegistrationConflict, Applicant, Case.version, Case.state, Post.code)
        .join(Applicant, Applicant.case_id == RegistrationConflict.case_id)
        .join(Case, Case.id == RegistrationConflict.case_id)
        .join(Post, Post.id == Applicant.post_id)
        .where(
            RegistrationConflict.round_id == round_id,
            or_(*(Case.org_path.startswith(p) for p in scopes)),
        )
    )


def claims(svc: Services, actor: Actor, round_id: int) -> list[Claim]:
    """The round's identity claims on registrations in the actor's counties: the open ones
    first, oldest first, then the settled ones, latest first."""
    if get_round(svc, round_id) is None:
        raise NotFound("招聘轮次不存在")
    if not actor.scopes(SCOPE_ROLES):
        return []
    c = RegistrationConflict
    query = _claims_in_scope(actor, round_id).order_by(
        c.resolved_at.desc().nulls_first(), c.created_at, c.id
    )
    with Session(reader(svc.db)) as session:
        rows = session.execute(query).all()
    return [
        Claim(
            id=claim.id,
            case_id=claim.case_id,
            version=version,
            state=state,
            state_label=APPLICANT_SPEC.state_label(state),
            post_code=post_code,
            name=a.name,
            id_number=mask_id_number(a.id_number),
            phone=a.phone,
            online=a.confirmed_phone is not None,
            registered_at=a.registered_at,
            claimed_name=claim.claimed_name,
            claimed_phone=claim.claimed_phone,
            claimed_at=claim.created_at,
            resolved_at=claim.resolved_at,
            resolution=claim.resolution,
        )
        for claim, a, version, state, post_code in rows
    ]


def open_claims(svc: Services, actor: Actor, round_id: int) -> int:
    """How many claims in the actor's counties wait for an officer."""
    if not actor.scopes(SCOPE_ROLES):
        return 0
    inner = _claims_in_scope(actor, round_id).where(RegistrationConflict.resolved_at.is_(None))
    with reader(svc.db).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(inner.subquery())).scalar_one())
