"""The rotation pages (交流轮岗): the list of campaigns, opening one, and who is sent where.

Everyone in a county reads its campaign, each on their own page: the county's officers
(and the city and province over them) the board (``board_pages``), a school's officers
their school's list (``school_pages``), a teacher their own standing (``teacher_pages``).
``campaign_for`` and ``standing`` are that one decision, used by every page module here.
The pages call the same package functions as the JSON API (``routes``), through the web kit
(``api.webkit``: CSRF in every form, errors beside the field with the input kept, redirect
after a POST that worked)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from api import webkit
from api.webkit import Posted, SignedIn, Who
from states.errors import NotFound, RenshiError
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
from states.process.forms import Field
from states.processes.rotation import campaigns
from states.processes.rotation.rules import DEFAULT_EXEMPTIONS
from states.store.db import reader
from states.store.models import OrgUnit

rotation_pages = APIRouter(include_in_schema=False)

PAGE: Final = "/rotation"
NEW: Final = "/rotation/new"
OVERSEERS: Final = frozenset({COUNTY_OFFICER, CITY_OFFICER, PROVINCE_OFFICER})
SCHOOL_ROLES: Final = frozenset({SCHOOL_OFFICER, PRINCIPAL})
# The campaigns that no longer concern anyone's choices (a teacher's page says so).
ENDED: Final = ("wound_up", "called_off")

KINDS = Field(
    campaigns.KINDS_FIELD,
    "免于交流情形",
    required=False,
    max_length=800,
    help="每行一种情形；不填为：" + "、".join(DEFAULT_EXEMPTIONS),
)
COUNTY = Field("county_id", "县（区）", "choice", choices={})


# --- who reads a campaign, and as whom ---------------------------------------------------------
@dataclass(frozen=True)
class At:
    """A campaign a signed-in person asked for, and the person."""

    who: Who
    cid: int
    c: campaigns.Campaign


def campaign_for(request: Request, who: Who, campaign_id: str) -> At:
    """The campaign if the person may read it (anyone in or over its county); the same
    404 page whether it does not exist or is someone else's."""
    cid = webkit.parse_id(campaign_id)
    if cid is None:
        raise webkit.Halt(webkit.not_found(request, who, "交流轮岗工作不存在"))
    try:
        with reader(who.svc.db).connect() as conn:
            c = campaigns.read(who.svc.engine, conn, who.actor, cid)
    except NotFound:
        raise webkit.Halt(webkit.not_found(request, who, "交流轮岗工作不存在")) from None
    return At(who, cid, c)


def oversees(actor: Actor, c: campaigns.Campaign) -> bool:
    """The county's officers and those of the city and province over it: the board."""
    return actor.holds(SYSTEM) or any(
        b.role in OVERSEERS and c.county_path.startswith(b.unit_path) for b in actor.bindings
    )


def runs(actor: Actor, c: campaigns.Campaign) -> bool:
    """Who presses the campaign's buttons and imports its posts (its county's officers)."""
    return campaigns.runs(actor, c.county_id)


def school_ids(actor: Actor, c: campaigns.Campaign) -> list[int]:
    """The schools of the county where the person is a personnel officer or principal."""
    return sorted(
        {
            b.unit_id
            for b in actor.bindings
            if b.role in SCHOOL_ROLES and b.unit_path.startswith(c.county_path)
        }
    )


def teaches_in(actor: Actor, c: campaigns.Campaign) -> bool:
    """A teacher whose record is at a school of the county (the teacher role follows it)."""
    return any(b.role == TEACHER and b.unit_path.startswith(c.county_path) for b in actor.bindings)


def home_of(actor: Actor, c: campaigns.Campaign) -> str | None:
    """The page of the campaign this person works on: the board, their school's page or
    their own; None when the campaign is not theirs to work on."""
    if oversees(actor, c):
        return f"/rotation/{c.id}"
    if school_ids(actor, c):
        return f"/rotation/{c.id}/school"
    if teaches_in(actor, c):
        return f"/rotation/{c.id}/me"
    return None


def unit_names(who: Who, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    with reader(who.svc.db).connect() as conn:
        rows = conn.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(ids))).all()
    return {int(i): str(n) for i, n in rows}


# --- the list ---------------------------------------------------------------------------------
@rotation_pages.get(PAGE)
def campaigns_page(request: Request, who: SignedIn, full: str = "") -> Response:
    """The campaigns the person works on, each linked to their page of it. A teacher (and
    nothing else) with one campaign under way goes straight to their own page."""
    actor = who.actor
    found = [(c, home_of(actor, c)) for c in campaigns.campaigns_for(who.svc.engine, actor)]
    listed = [(c, href) for c, href in found if href is not None]
    officer = any(actor.holds(r) for r in OVERSEERS | SCHOOL_ROLES | {SYSTEM})
    going = [href for c, href in listed if c.state not in ENDED]
    if not officer and len(going) == 1 and full != "1":
        return webkit.redirect(going[0])
    return webkit.render(
        request,
        "rotation/campaigns.html",
        who,
        {
            "nav": PAGE,
            "campaigns": listed,
            "opener": actor.holds(COUNTY_OFFICER),
            "officer": officer,
        },
    )


@rotation_pages.get("/rotation/me")
def my_campaign(request: Request, who: SignedIn) -> Response:
    """A teacher's way in (the navigation, a notice): the newest campaign of their county
    still under way, or the newest at all."""
    mine = [
        c for c in campaigns.campaigns_for(who.svc.engine, who.actor) if teaches_in(who.actor, c)
    ]
    if not mine:
        return webkit.message(
            request, who, "我的交流轮岗", "您所在的县（区）目前没有交流轮岗工作。", 200
        )
    going = [c for c in mine if c.state not in ENDED]
    return webkit.redirect(f"/rotation/{(going or mine)[0].id}/me")


# --- opening a campaign -----------------------------------------------------------------------
def _counties(who: Who) -> dict[int, str]:
    ids = sorted({b.unit_id for b in who.actor.bindings if b.role == COUNTY_OFFICER})
    return unit_names(who, ids)


def _new_page(
    request: Request,
    who: Who,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    top_error: str | None = None,
    status: int = 200,
) -> Response:
    today = who.svc.today()
    kept = values or {
        "year": str(today.year),
        **{k: str(v) for k, v in campaigns.DEFAULTS.items()},
        KINDS.name: "\n".join(DEFAULT_EXEMPTIONS),
    }
    errs = errors or {}
    counties = _counties(who)
    shown = [*campaigns.FIELDS, KINDS]
    if len(counties) > 1:
        shown.insert(
            0, dataclasses.replace(COUNTY, choices={str(k): v for k, v in counties.items()})
        )
    fields = [
        dataclasses.replace(
            webkit.field_view(f, "campaign", None, "open", kept.get(f.name, "")),
            error=errs.get(f.name),
        )
        for f in shown
    ]
    return webkit.render(
        request,
        "rotation/campaign_new.html",
        who,
        {
            "nav": PAGE,
            "fields": fields,
            "top_error": top_error,
            "county": next(iter(counties.values())) if len(counties) == 1 else None,
        },
        status=status,
    )


def kinds_of(raw: str) -> list[str] | None:
    """The exemption kinds as typed, one a line (or separated by 、，；)."""
    kinds = [k.strip() for k in re.split(r"[\n、，,；;]+", raw) if k.strip()]
    return kinds or None


OnNew = Annotated[Who, Depends(webkit.guarded(NEW))]


@rotation_pages.get(NEW)
def new_campaign(request: Request, who: SignedIn) -> Response:
    if not who.actor.holds(COUNTY_OFFICER):
        return webkit.not_found(request, who, "页面不存在")
    return _new_page(request, who)


@rotation_pages.post(NEW)
def open_campaign(request: Request, form: Posted, who: OnNew) -> Response:
    if not who.actor.holds(COUNTY_OFFICER):
        return webkit.not_found(request, who, "页面不存在")
    names = [f.name for f in campaigns.FIELDS] + [KINDS.name, COUNTY.name]
    values = {name: webkit.text(form, name) for name in names}
    payload: dict[str, Any] = {
        f.name: webkit.coerce(f, values[f.name]) for f in campaigns.FIELDS if values[f.name].strip()
    }
    kinds = kinds_of(values[KINDS.name])
    if kinds is not None:
        payload[KINDS.name] = kinds
    county_id = webkit.parse_id(values[COUNTY.name].strip() or None)
    try:
        cid = campaigns.open_campaign(who.svc.engine, who.actor, payload, county_id=county_id)
    except RenshiError as exc:
        errors, top = webkit.field_errors(exc, set(names))
        return _new_page(
            request, who, values=values, errors=errors, top_error=top, status=exc.status
        )
    return webkit.redirect(
        f"/rotation/{cid}",
        f"已开启「{values['name'].strip()}」。下一步：导入接收岗位，计算符合条件名单。",
        secure_cookie=who.svc.secure_cookies,
    )


__all__ = [
    "At",
    "campaign_for",
    "home_of",
    "kinds_of",
    "oversees",
    "rotation_pages",
    "runs",
    "school_ids",
    "teaches_in",
    "unit_names",
]
