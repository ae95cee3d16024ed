"""The support-teaching pages (支教): who lands where, and the pieces every page module here
uses.

Everyone reads support teaching from their own desk: the county's officers (and the city
and province over them) the needs board (``board_pages``), a school's officers their
school's page — the needs it declares, the teachers it puts forward, the check-ins it owes
(``school_pages``) —, a teacher their own page (``teacher_pages``). ``/support`` sends each to
theirs. The pages call the package's functions, the ones the JSON API (``routes``) calls,
through the web kit (CSRF in every form, errors beside the field with the input kept,
redirect after a POST that worked)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import Connection, select

from api import webkit
from api.webkit import SignedIn, Who
from states.errors import FormError, NotFound
from states.org import (
    CITY_OFFICER,
    COUNTY_OFFICER,
    PRINCIPAL,
    PROVINCE_OFFICER,
    SCHOOL_OFFICER,
    SYSTEM,
    TEACHER,
    Actor,
)
from states.processes.support_teaching import needs
from states.processes.support_teaching.machine import APPLICATION, NEED
from states.store.models import OrgUnit

support_pages = APIRouter(include_in_schema=False)

PAGE: Final = "/support"
OVERSEERS: Final = frozenset({COUNTY_OFFICER, CITY_OFFICER, PROVINCE_OFFICER})
SCHOOL_ROLES: Final = frozenset({SCHOOL_OFFICER, PRINCIPAL})
XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- who is who ---------------------------------------------------------------------------------
def oversees(actor: Actor) -> bool:
    """The county's, the city's and the province's personnel officers: the needs board."""
    return actor.holds(SYSTEM) or any(actor.holds(r) for r in OVERSEERS)


def school_ids(actor: Actor) -> list[int]:
    """The schools where the person is a personnel officer or the principal."""
    return sorted({b.unit_id for b in actor.bindings if b.role in SCHOOL_ROLES})


def officer_schools(actor: Actor) -> list[int]:
    """The schools the person acts for (declares needs, nominates, checks in)."""
    return sorted({b.unit_id for b in actor.bindings if b.role == SCHOOL_OFFICER})


def teaches(actor: Actor) -> bool:
    return actor.holds(TEACHER)


def home_of(actor: Actor) -> str | None:
    """The page this person works on; None when support teaching is none of their business."""
    if oversees(actor):
        return "/support/board"
    if school_ids(actor):
        return "/support/school"
    if teaches(actor):
        return "/support/me"
    return None


def unit_names(conn: Connection, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = conn.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(ids))).all()
    return {int(i): str(n) for i, n in rows}


def year_of(who: Who, raw: str | None) -> int:
    """The year a page shows (a term's year is the year it starts): the one asked for, within
    reason, or this year."""
    today = who.svc.today()
    asked = webkit.parse_id(raw)
    return asked if asked is not None and abs(asked - today.year) <= 10 else today.year


def sheet(data: bytes, title: str) -> Response:
    return webkit.secure(
        Response(
            data,
            media_type=XLSX,
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(title)}.xlsx"},
        )
    )


# --- a need, as the person asking may read it ---------------------------------------------------
@dataclass(frozen=True)
class Seen:
    """A need and how the person stands towards it."""

    row: needs.NeedRow
    overseen: bool  # in the scope of their office (the approver, the school that declared it)
    answerable: bool  # open, and theirs to answer (a teacher or a school of the area)


def need_seen(conn: Connection, actor: Actor, need_id: int, today: dt.date) -> Seen | None:
    """The need if the person may read it: officers over its school (the school that declared
    it among them), and the teachers and schools of the area it draws from while it is open.
    None otherwise: absent and out of reach look the same."""
    try:
        row = needs.need(conn, need_id)
    except FormError:
        return None
    if row.state == "draft":
        return None
    overseen = actor.holds(SYSTEM) or any(
        r.case_id == need_id for r in needs.needs(conn, actor, row.year)
    )
    answerable = any(r.case_id == need_id for r in needs.open_needs(conn, actor, today=today))
    if not (overseen or answerable):
        return None
    return Seen(row, overseen, answerable)


# --- buttons ------------------------------------------------------------------------------------
# The events the support pages offer as buttons (the rest are on the case's own page).
STEPS: Final = {
    NEED: ("approve", "reject", "close_need", "withdraw"),
    APPLICATION: ("confirm", "decline", "select_teacher", "not_select", "withdraw"),
}


@dataclass(frozen=True)
class Button:
    """One event's button, with the one text it asks for (a reason) beside it."""

    case_id: int
    version: int
    event: str
    label: str
    style: str
    field: str | None
    field_label: str
    required: bool


def buttons(who: Who, case_id: int, version: int, process: str) -> list[Button]:
    """The events this person may fire on the case now, as the engine answers."""
    spec = who.svc.engine.processes[process]
    try:
        offered = who.svc.engine.available(case_id, who.actor)["events"]
    except NotFound:
        return []
    out = []
    for event in STEPS[process]:
        if event not in offered:
            continue
        ev = spec.events[event]
        text = next((f for f in ev.form.fields if f.kind == "text"), None)
        out.append(
            Button(
                case_id, version, event, ev.label, ev.style, text.name if text else None,
                text.label if text else "", bool(text and text.required),
            )
        )  # fmt: skip
    return out


# --- the way in ---------------------------------------------------------------------------------
@support_pages.get(PAGE)
def support_home(request: Request, who: SignedIn) -> Response:
    """Each person to their own page: the board, their school's page, or their own."""
    home = home_of(who.actor)
    if home is None:
        return webkit.message(
            request,
            who,
            "支教",
            "支教工作由教育局、学校人事干部和教师办理，您的账号没有相关页面。",
            200,
        )
    return webkit.redirect(home)


__all__ = [
    "OVERSEERS",
    "PAGE",
    "SCHOOL_ROLES",
    "STEPS",
    "Button",
    "Seen",
    "buttons",
    "home_of",
    "need_seen",
    "officer_schools",
    "oversees",
    "school_ids",
    "sheet",
    "support_pages",
    "teaches",
    "unit_names",
    "year_of",
]
