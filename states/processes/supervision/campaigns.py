"""Inspection campaigns as officers run them: opened with their subject, scope, dates,
checklist and draw settings (each field checked, every problem named at once), read by the
organiser's side and the inspectors, and moved through their steps — each step a transition
of the campaign's case, so the engine authorizes it, runs its rules and keeps it on the
audit trail.

Who: a county, city or province personnel office opens a campaign over its own subtree;
its officers (and those above) run and read it; the inspectors over the organiser read it
all, a drawn inspector their own targets (and everything once the visits have begun).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, func, select, update

from states.clock import local_date
from states.engine import CaseEngine, FireResult
from states.errors import FormError, NotFound, PermissionDenied, Problems, RenshiError
from states.org import (
    CITY_OFFICER,
    COUNTY_OFFICER,
    OFFICER_OF_TIER,
    PROVINCE_OFFICER,
    SYSTEM,
    Actor,
)
from states.process.forms import Field
from states.processes.supervision import store
from states.processes.supervision.draw import DrawResult, digest, redraw
from states.processes.supervision.effects import stored_result
from states.processes.supervision.machine import CAMPAIGN, CampaignMachine
from states.processes.supervision.tables import SupervisionCampaign
from states.store.models import Case, OrgUnit, table_of

campaigns_t, cases_t, units_t = table_of(SupervisionCampaign), table_of(Case), table_of(OrgUnit)
OPENERS = {COUNTY_OFFICER: "county", CITY_OFFICER: "city", PROVINCE_OFFICER: "province"}
# From these states on the targets have been told (or the campaign is over): the draw is
# published to everyone on the campaign.
VISITED = ("inspecting", "following_up", "concluded")


# --- the campaign's form ----------------------------------------------------------------------
FIELDS = (
    Field("title", "督查事项", max_length=128,
          help="如“2026年秋季学期在职教师有偿补课专项督查”"),
    Field("year", "年度", "int", min_value=2000, max_value=2100),
    Field("visit_from", "检查开始日期", "date",
          help="不提前告知的督查，被检查单位在这天才收到通知"),
    Field("visit_to", "检查结束日期", "date"),
    Field("ratio_percent", "抽取比例（%）", "int", min_value=1, max_value=100,
          help="从督查范围内的学校中随机抽取的比例，向下取整，至少须抽到1所"),
    Field("per_target", "每所学校检查人员数", "int", required=False, min_value=1,
          max_value=10, help="从督查员库中随机抽取，回避本单位人员；默认2人"),
    Field("announced", "提前告知被检查单位", "bool", required=False,
          help="否（默认）：不打招呼、直奔现场，检查开始日期前被检查单位收不到任何通知"),
    Field("rectify_days", "整改期限（工作日）", "int", required=False, min_value=1,
          max_value=120, help="每个问题自发现之日起的整改期限，默认20个工作日"),
)  # fmt: skip
DEFAULTS: Mapping[str, Any] = {"per_target": 2, "announced": False, "rectify_days": 20}
CHECKLIST = "checklist"
COUNTIES = "counties"
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,15}")


def checklist_items(raw: Any, problems: list[tuple[str, str]]) -> list[dict[str, Any]] | None:
    """The checklist as items {code, text, evidence}: 1 to 50, codes unique."""
    if not isinstance(raw, list | tuple) or not raw:
        problems.append((CHECKLIST, "检查清单至少应有一项"))
        return None
    if len(raw) > 50:
        problems.append((CHECKLIST, "检查清单不能超过50项"))
        return None
    items: list[dict[str, Any]] = []
    for n, item in enumerate(raw, start=1):
        if not isinstance(item, Mapping):
            problems.append((CHECKLIST, f"第{n}项应包含编码、检查内容和是否须佐证"))
            return None
        code, text = str(item.get("code", "")).strip(), str(item.get("text", "")).strip()
        evidence = item.get("evidence", False)
        if not CODE.fullmatch(code):
            problems.append((CHECKLIST, f"第{n}项的编码应为1至16位字母、数字、点或横线"))
            return None
        if not text or len(text) > 200:
            problems.append((CHECKLIST, f"第{n}项的检查内容应为1至200字"))
            return None
        if not isinstance(evidence, bool):
            problems.append((CHECKLIST, f"第{n}项的“是否须佐证”应为是或否"))
            return None
        items.append({"code": code, "text": text, "evidence": evidence})
    codes = [i["code"] for i in items]
    duplicate = next((c for c in codes if codes.count(c) > 1), None)
    if duplicate is not None:
        problems.append((CHECKLIST, f"检查清单的编码{duplicate}重复"))
        return None
    return items


def parse_checklist(text: str) -> list[dict[str, Any]]:
    """The checklist as an officer types it, a line an item: 编码|检查内容|是否须佐证
    (是/否, left out: 否). Lines that do not split are kept as they are for the check to
    name."""
    items: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in re.split(r"[|｜\t]", line)]
        if len(parts) < 2:
            items.append({"code": "", "text": line.strip(), "evidence": False})
            continue
        flag = parts[2] if len(parts) > 2 else "否"
        evidence: Any = {"是": True, "否": False, "": False}.get(flag, flag)
        items.append({"code": parts[0], "text": "|".join(parts[1:2]), "evidence": evidence})
    return items


def check_form(form: Mapping[str, Any], today: dt.date) -> dict[str, Any]:
    """The campaign an officer asked for, as column values, or ``Problems`` naming every
    field at fault."""
    known = {f.name for f in FIELDS} | {CHECKLIST, COUNTIES}
    problems: list[tuple[str, str]] = [(str(k), "不是此表单的字段") for k in form if k not in known]
    values: dict[str, Any] = {}
    for f in FIELDS:
        raw = form.get(f.name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if f.required:
                problems.append((f.name, f"{f.label}为必填项"))
            continue
        try:
            values[f.name] = f.parse(raw)
        except FormError as exc:
            problems.append((f.name, exc.reason))
    for name in ("visit_from", "visit_to"):
        if name in values:
            values[name] = dt.date.fromisoformat(values[name])
    if "visit_from" in values and values["visit_from"] < today:
        problems.append(("visit_from", "检查开始日期不能早于今天"))
    if {"visit_from", "visit_to"} <= set(values) and values["visit_to"] < values["visit_from"]:
        problems.append(("visit_to", "检查结束日期不能早于检查开始日期"))
    items = checklist_items(form.get(CHECKLIST), problems)
    if items is not None:
        values[CHECKLIST] = items
    counties = form.get(COUNTIES)
    if counties not in (None, [], ()):
        if not isinstance(counties, list | tuple) or not all(
            isinstance(c, int) and not isinstance(c, bool) and 0 < c <= 2**53 for c in counties
        ):
            problems.append((COUNTIES, "督查范围应为县（区）编号列表"))
        else:
            values[COUNTIES] = sorted(set(counties))
    for name, default in DEFAULTS.items():
        values.setdefault(name, default)
    if problems:
        raise Problems(problems)
    return values


# --- who --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Campaign:
    """A campaign as one reader sees it, with its case's state and version and where the
    reader stands: ``full`` — the organiser's side — reads the whole draw from the start;
    everyone else who reads the campaign (the inspectors over the organiser, a drawn
    inspector) reads it once the visits have begun, and a drawn inspector their own targets
    before. An inspector may teach at a target (兼职督学): an unannounced target must not
    hear of its inspection through them."""

    row: Row[Any]
    organiser: str
    organiser_path: str
    organiser_tier: str
    state: str
    state_label: str
    version: int
    full: bool
    drawn: bool
    runs: bool

    def __getattr__(self, name: str) -> Any:
        return getattr(self.row, name)

    @property
    def visited(self) -> bool:
        return self.state in VISITED

    def dates(self) -> str:
        return f"{self.row.visit_from.isoformat()}至{self.row.visit_to.isoformat()}"


def runs(actor: Actor, organiser_id: int, tier: str) -> bool:
    """Whether the actor runs the campaign: its organiser's personnel office (or the system)."""
    return actor.holds(SYSTEM) or actor.holds(OFFICER_OF_TIER[tier], organiser_id)


def load_row(conn: Connection, campaign_id: int) -> Any:
    row = conn.execute(select(campaigns_t).where(campaigns_t.c.id == campaign_id)).one_or_none()
    if row is None:
        raise NotFound("专项督查不存在")
    return row


def read(conn: Connection, actor: Actor, campaign_id: int) -> Campaign:
    """The campaign if the actor may read it; not found otherwise (no hint it exists)."""
    row = load_row(conn, campaign_id)
    unit = store.unit(conn, row.organiser_id)
    full = actor.holds(SYSTEM) or store.oversees(actor, unit.path)
    drawn = store.is_drawn(conn, row.id, actor.person_id)
    if not (full or drawn or store.inspects_over(actor, unit.path)):
        raise NotFound("专项督查不存在")
    case = conn.execute(
        select(cases_t.c.state, cases_t.c.version).where(cases_t.c.id == row.case_id)
    ).one()
    label = str(getattr(CampaignMachine, case.state).name)
    return Campaign(
        row, unit.name, unit.path, unit.tier, case.state, label, int(case.version), full, drawn,
        runs(actor, row.organiser_id, unit.tier),
    )  # fmt: skip


def campaigns_for(engine: CaseEngine, actor: Actor) -> list[Campaign]:
    """The campaigns the actor organises, oversees or was drawn for, newest first."""
    with engine.db.connect() as conn:
        rows = conn.execute(
            select(campaigns_t.c.id, units_t.c.path)
            .join(units_t, units_t.c.id == campaigns_t.c.organiser_id)
            .order_by(campaigns_t.c.year.desc(), campaigns_t.c.id.desc())
            .limit(500)
        ).all()
        mine = set()
        if actor.person_id is not None:
            mine = set(
                conn.execute(
                    select(store.assignments_t.c.campaign_id).where(
                        store.assignments_t.c.inspector_id == actor.person_id
                    )
                ).scalars()
            )
        return [
            read(conn, actor, int(r.id))
            for r in rows
            if actor.holds(SYSTEM)
            or r.id in mine
            or store.oversees(actor, r.path)
            or store.inspects_over(actor, r.path)
        ]


def _organiser_of(conn: Connection, actor: Actor, unit_id: int | None) -> Any:
    own = sorted({b.unit_id for b in actor.bindings if b.role in OPENERS})
    if not own and not actor.holds(SYSTEM):
        raise PermissionDenied("专项督查由县（区）、市教育局或省教育厅的人事部门开启")
    if unit_id is None:
        if len(own) != 1:
            raise FormError("unit_id", "请指定组织单位")
        unit_id = own[0]
    found = conn.execute(
        select(units_t.c.id, units_t.c.tier, units_t.c.name, units_t.c.path).where(
            units_t.c.id == unit_id
        )
    ).one_or_none()
    if found is None or found.tier not in OPENERS.values():
        raise NotFound("组织单位不存在或不在您的管理范围内")
    if not runs(actor, found.id, found.tier):
        raise NotFound("组织单位不存在或不在您的管理范围内")
    return found


def counties_under(conn: Connection, organiser_path: str) -> dict[int, str]:
    """The counties a campaign of this organiser may be limited to."""
    return {
        int(r.id): str(r.name)
        for r in conn.execute(
            select(units_t.c.id, units_t.c.name)
            .where(
                units_t.c.tier == "county",
                units_t.c.closed_on.is_(None),
                units_t.c.path.startswith(organiser_path, autoescape=True),
            )
            .order_by(units_t.c.code)
        )
    }


# --- opening ----------------------------------------------------------------------------------
def open_campaign(
    engine: CaseEngine, actor: Actor, form: Mapping[str, Any], *, unit_id: int | None = None
) -> int:
    """Open a campaign at the officer's unit; returns its id. The campaign's case is opened
    with it (its steps are that case's transitions)."""
    now = engine.clock.now()
    values = check_form(form, local_date(now))
    with engine.db.begin() as conn:
        organiser = _organiser_of(conn, actor, unit_id)
        counties = values.pop(COUNTIES, None)
        if counties:
            under = counties_under(conn, organiser.path)
            outside = [c for c in counties if c not in under]
            if outside:
                raise Problems(
                    [(COUNTIES, f"县（区）{outside[0]}不在{organiser.name}的管辖范围内")]
                )
        campaign_id = int(
            conn.execute(
                campaigns_t.insert()
                .values(
                    organiser_id=organiser.id, scope_counties=counties or None,
                    opened_by=actor.person_id, opened_at=now, version=1, **values,
                )
                .returning(campaigns_t.c.id)
            ).scalar_one()
        )  # fmt: skip
        data = {
            "campaign_id": campaign_id, "title": values["title"], "organiser": organiser.name,
            "organiser_id": int(organiser.id), "organiser_tier": organiser.tier,
            "visit_from": values["visit_from"].isoformat(),
            "visit_to": values["visit_to"].isoformat(),
            "ratio_percent": values["ratio_percent"], "per_target": values["per_target"],
            "announced": values["announced"], "rectify_days": values["rectify_days"],
        }  # fmt: skip
        [case_id] = engine.open_many(
            CAMPAIGN, [(organiser.id, data)], actor, conn=conn, year=values["year"]
        )
        conn.execute(
            update(campaigns_t).where(campaigns_t.c.id == campaign_id).values(case_id=case_id)
        )
    return campaign_id


# --- steps ------------------------------------------------------------------------------------
STEPS: Mapping[str, str] = {
    "draw": "draw_lots",
    "start-visits": "start_visits",
    "finish-visits": "finish_visits",
    "conclude": "conclude_campaign",
    "call-off": "call_off_campaign",
}


def step(
    engine: CaseEngine,
    actor: Actor,
    campaign_id: int,
    event: str,
    payload: Mapping[str, Any] | None = None,
    *,
    expected_version: int | None = None,
) -> FireResult:
    """One step of the campaign: an event on its case, with the version the caller read
    (the case's current one when none is given)."""
    with engine.db.connect() as conn:
        c = read(conn, actor, campaign_id)
    version = c.version if expected_version is None else expected_version
    return engine.fire(c.case_id, event, actor, payload or {}, expected_version=version)


# --- the draw, as each reader may read it -----------------------------------------------------
@dataclass(frozen=True)
class Target:
    unit_id: int
    unit: str
    inspectors: tuple[tuple[int, str], ...]


def targets(engine: CaseEngine, actor: Actor, campaign_id: int) -> list[Target]:
    """The targets and who inspects each: all of them for the organiser's side (and for
    everyone on the campaign once the visits have begun), a drawn inspector's own before."""
    with engine.db.connect() as conn:
        c = read(conn, actor, campaign_id)
        rows = store.assignments(conn, c.id)
    everyone = c.full or c.visited
    by_unit: dict[int, list[Any]] = {}
    for r in rows:
        by_unit.setdefault(int(r.unit_id), []).append(r)
    return [
        Target(u, str(rs[0].unit), tuple((int(r.inspector_id), str(r.inspector)) for r in rs))
        for u, rs in by_unit.items()
        if everyone or any(r.inspector_id == actor.person_id for r in rs)
    ]


@dataclass(frozen=True)
class Verified:
    """A draw drawn again from its recorded seeds over its stored inputs."""

    same: bool
    inputs_intact: bool
    recorded: DrawResult
    redrawn: DrawResult | None
    target_seed: int
    inspector_seed: int


def verify_draw(engine: CaseEngine, actor: Actor, campaign_id: int) -> Verified:
    """Draw the campaign again from its seeds over the inputs kept at the draw, and compare
    with the targets and inspectors it has: what an inspector checks the draw by."""
    with engine.db.connect() as conn:
        c = read(conn, actor, campaign_id)
        if not (c.full or c.visited):
            raise PermissionDenied("实地检查开始前，抽取结果仅组织单位可核验")
        if c.target_seed is None:
            raise FormError("campaign_id", "尚未抽取检查对象和检查人员")
        units, pool = store.stored_inputs(conn, c.id)
        recorded = stored_result(conn, c.id)
    intact = digest(units, pool) == c.inputs_digest
    try:
        again: DrawResult | None = redraw(
            units, pool, c.ratio_percent, c.per_target, int(c.target_seed),
            int(c.inspector_seed),
        )  # fmt: skip
    except RenshiError:
        again = None
    return Verified(
        same=intact and again == recorded, inputs_intact=intact, recorded=recorded,
        redrawn=again, target_seed=int(c.target_seed), inspector_seed=int(c.inspector_seed),
    )  # fmt: skip


def findings_count(conn: Connection, campaign_id: int) -> int:
    return int(
        conn.execute(
            select(func.count()).where(store.findings_t.c.campaign_id == campaign_id)
        ).scalar_one()
    )
