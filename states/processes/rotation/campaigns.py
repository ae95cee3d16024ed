"""The county's rotation campaign as officers run it: opened with its targets, eligibility
rules and dates (each field checked, every problem named at once), changed while it is
being set up, read by everyone in the county, and moved through its steps — each step a
transition of the campaign's case, so the engine authorizes it, runs its rules and keeps
it on the audit trail.

Who: the county's personnel section (县教育局人事股) opens and runs its county's campaign;
the county's schools and teachers read it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, select, update
from sqlalchemy.exc import IntegrityError

from states.clock import local_date
from states.engine import CaseEngine, FireResult
from states.errors import Conflict, FormError, NotFound, PermissionDenied, Problems
from states.org import (
    CITY_OFFICER,
    COUNTY_OFFICER,
    PROVINCE_OFFICER,
    SYSTEM,
    Actor,
    path_ids,
)
from states.process.forms import Field
from states.processes.rotation.machine import CAMPAIGN, CampaignMachine
from states.processes.rotation.rules import DEFAULT_EXEMPTIONS, cn_date
from states.processes.rotation.tables import RotationCampaign
from states.store.models import Case, OrgUnit, Teacher, table_of

campaigns_t, cases_t = table_of(RotationCampaign), table_of(Case)
units_t, teachers_t = table_of(OrgUnit), table_of(Teacher)

# The campaign's states after which its lists and posts are fixed (the result published).
SETTLED = ("published", "wound_up", "called_off")
# Who always finds the campaigns in the navigation: the county and the tiers above it.
OVERSEERS = frozenset({COUNTY_OFFICER, CITY_OFFICER, PROVINCE_OFFICER})


# --- the campaign's form ----------------------------------------------------------------------
FIELDS = (
    Field("name", "名称", max_length=128, help="如“东县2026学年教师交流轮岗”"),
    Field("year", "学年", "int", min_value=2000, max_value=2100, help="开始的年份，如2026"),
    Field("preferences_open", "志愿填报开始日期", "date"),
    Field("preferences_close", "志愿填报截止日期", "date", help="含当天"),
    Field("confirm_by", "学校确认截止日期", "date", help="学校确认交流名单的最后一天"),
    Field("eligible_as_of", "任职年限计算截止日期", "date", required=False,
          help="在同一学校任教年限算至此日；不填为该学年的8月31日"),
    Field("target_percent", "交流比例（%）", "int", required=False, min_value=1, max_value=100,
          help="符合条件教师中每年至少交流的比例，默认10%"),
    Field("backbone_percent", "骨干教师比例（%）", "int", required=False, min_value=0,
          max_value=100, help="交流教师中骨干教师至少占的比例，默认20%"),
    Field("min_years", "同校任教年限（年）", "int", required=False, min_value=1, max_value=40,
          help="在同一学校任教满此年限的教师列入交流范围，默认6年"),
    Field("principal_terms", "校长任职届数", "int", required=False, min_value=1, max_value=5,
          help="校长在同一学校任满此届数列入交流范围，默认2届"),
    Field("principal_term_years", "校长每届年限（年）", "int", required=False, min_value=1,
          max_value=10, help="默认3年"),
    Field("term_years", "交流期限（年）", "int", required=False, min_value=1, max_value=10,
          help="默认3年"),
    Field("publicity_days", "公示期（工作日）", "int", required=False, min_value=1,
          max_value=30, help="默认5个工作日"),
    Field("remind_days", "期满提醒（工作日）", "int", required=False, min_value=1,
          max_value=120, help="交流期满前多少个工作日提醒教师和县教育局，默认20个工作日"),
)  # fmt: skip
KINDS_FIELD = "exemption_kinds"
DEFAULTS: Mapping[str, int] = {
    "target_percent": 10,
    "backbone_percent": 20,
    "min_years": 6,
    "principal_terms": 2,
    "principal_term_years": 3,
    "term_years": 3,
    "publicity_days": 5,
    "remind_days": 20,
}
DATES = ("preferences_open", "preferences_close", "confirm_by", "eligible_as_of")
# What may still change once the eligible list is published (until the result is).
LATE_FIELDS = frozenset(
    {"name", "preferences_open", "preferences_close", "confirm_by", "term_years",
     "publicity_days", "remind_days"}
)  # fmt: skip


def _kinds(raw: Any, problems: list[tuple[str, str]]) -> list[str] | None:
    if raw is None:
        return None
    if not isinstance(raw, list | tuple) or not all(isinstance(k, str) for k in raw):
        problems.append((KINDS_FIELD, "免于交流情形应为文字列表"))
        return None
    kinds = [k.strip() for k in raw if k.strip()]
    if not kinds or len(kinds) > 20 or any(len(k) > 32 for k in kinds):
        problems.append((KINDS_FIELD, "免于交流情形应为1至20项，每项不超过32字"))
        return None
    if len(set(kinds)) != len(kinds):
        problems.append((KINDS_FIELD, "免于交流情形有重复"))
        return None
    return kinds


def check_form(form: Mapping[str, Any], today: dt.date, *, partial: bool = False) -> dict[str, Any]:
    """The campaign an officer asked for, as column values, or ``Problems`` naming every
    field at fault. ``partial``: a change to some fields of an open campaign."""
    known = {f.name for f in FIELDS} | {KINDS_FIELD}
    problems: list[tuple[str, str]] = [(str(k), "不是此表单的字段") for k in form if k not in known]
    values: dict[str, Any] = {}
    for f in FIELDS:
        raw = form.get(f.name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if f.required and (not partial or raw is not None):  # a change cannot blank it
                problems.append((f.name, f"{f.label}为必填项"))
            continue
        try:
            values[f.name] = f.parse(raw)
        except FormError as exc:
            problems.append((f.name, exc.reason))
    for name in DATES:
        if name in values:
            values[name] = dt.date.fromisoformat(values[name])
            if not 2000 <= values[name].year <= 2100:
                problems.append((name, "日期应在2000年至2100年之间"))
                del values[name]
    kinds = _kinds(form.get(KINDS_FIELD), problems)
    if kinds is not None:
        values[KINDS_FIELD] = kinds
    if not partial:
        for name, default in DEFAULTS.items():
            values.setdefault(name, default)
        values.setdefault(KINDS_FIELD, list(DEFAULT_EXEMPTIONS))
        if "year" in values:
            values.setdefault("eligible_as_of", dt.date(int(values["year"]), 8, 31))
    if problems:
        raise Problems(problems)
    return values


def check_dates(values: Mapping[str, Any], today: dt.date, *, changed: set[str]) -> None:
    """The dates in order; a deadline being set cannot already be over."""
    problems: list[tuple[str, str]] = []
    opens, closes, confirm = (
        values["preferences_open"], values["preferences_close"], values["confirm_by"]
    )  # fmt: skip
    if closes < opens:
        problems.append(("preferences_close", "志愿填报截止日期不能早于开始日期"))
    elif "preferences_close" in changed and closes < today:
        problems.append(("preferences_close", f"志愿填报截止日期{cn_date(closes)}已过"))
    if confirm < closes:
        problems.append(("confirm_by", "学校确认截止日期不能早于志愿填报截止日期"))
    if problems:
        raise Problems(problems)


# --- who --------------------------------------------------------------------------------------
def _reader_paths(conn: Connection, actor: Actor) -> list[str]:
    """Where the actor stands in the org tree: their roles' units and their school."""
    paths = [b.unit_path for b in actor.bindings]
    if actor.person_id is not None:
        own = conn.execute(
            select(units_t.c.path)
            .join(teachers_t, teachers_t.c.school_id == units_t.c.id)
            .where(teachers_t.c.person_id == actor.person_id)
        ).scalar()
        if own is not None:
            paths.append(str(own))
    return paths


def may_read(conn: Connection, actor: Actor, county_path: str) -> bool:
    """Everyone over the county or in it (its schools and teachers) reads its campaign."""
    if actor.holds(SYSTEM):
        return True
    return any(
        p.startswith(county_path) or county_path.startswith(p) for p in _reader_paths(conn, actor)
    )


def runs(actor: Actor, county_id: int) -> bool:
    """Whether the actor runs the county's campaign (its personnel section, or the system)."""
    return actor.holds(SYSTEM) or actor.holds(COUNTY_OFFICER, county_id)


def school_year(today: dt.date) -> int:
    """The school year ``today`` falls in, by its first year (September to August)."""
    return today.year if today.month >= 9 else today.year - 1


def concerns(conn: Connection, actor: Actor, today: dt.date) -> bool:
    """Whether 交流轮岗 belongs in the person's navigation: always for the county's officers
    and the tiers above (they open campaigns), for a school's officers and teachers only
    when their county has a campaign of this school year or the last (or a coming one).
    One query on ``uq_rotation_campaigns_year`` (county, year), and none for officers."""
    if actor.holds(SYSTEM) or any(b.role in OVERSEERS for b in actor.bindings):
        return True
    # the units above the person's schools (a county among them; others never match)
    above = {i for b in actor.bindings for i in path_ids(b.unit_path)[:-1]}
    if not above:
        return False
    found = conn.execute(
        select(campaigns_t.c.id)
        .where(
            campaigns_t.c.county_id.in_(sorted(above)),
            campaigns_t.c.year >= school_year(today) - 1,
        )
        .limit(1)
    ).first()
    return found is not None


@dataclass(frozen=True)
class Campaign:
    """A campaign as its readers see it, with its case's state and version."""

    row: Row[Any]
    county: str
    county_path: str
    state: str
    state_label: str
    version: int

    def __getattr__(self, name: str) -> Any:
        return getattr(self.row, name)

    def window(self) -> str:
        return f"{cn_date(self.row.preferences_open)}至{cn_date(self.row.preferences_close)}"


def load_row(conn: Connection, campaign_id: int, *, lock: bool = False) -> Any:
    query = select(campaigns_t).where(campaigns_t.c.id == campaign_id)
    row = conn.execute(query.with_for_update() if lock else query).one_or_none()
    if row is None:
        raise NotFound("交流轮岗工作不存在")
    return row


def campaign_of_case(conn: Connection, case_id: int, *, lock: bool = False) -> Any:
    """The campaign a campaign case runs (locked: the steps that write its lists)."""
    query = select(campaigns_t).where(campaigns_t.c.case_id == case_id)
    return conn.execute(query.with_for_update() if lock else query).one()


def read(engine: CaseEngine, conn: Connection, actor: Actor, campaign_id: int) -> Campaign:
    """The campaign if the actor may read it; not found otherwise (no hint it exists)."""
    row = load_row(conn, campaign_id)
    county = conn.execute(
        select(units_t.c.name, units_t.c.path).where(units_t.c.id == row.county_id)
    ).one()
    if not may_read(conn, actor, county.path):
        raise NotFound("交流轮岗工作不存在")
    case = conn.execute(
        select(cases_t.c.state, cases_t.c.version).where(cases_t.c.id == row.case_id)
    ).one()
    label = str(getattr(CampaignMachine, case.state).name)
    return Campaign(row, county.name, county.path, case.state, label, int(case.version))


def campaigns_for(engine: CaseEngine, actor: Actor) -> list[Campaign]:
    """The campaigns of the counties the actor works over or in, newest first."""
    with engine.db.connect() as conn:
        rows = conn.execute(
            select(campaigns_t.c.id, units_t.c.path)
            .join(units_t, units_t.c.id == campaigns_t.c.county_id)
            .order_by(campaigns_t.c.year.desc(), campaigns_t.c.id.desc())
            .limit(500)
        ).all()
        return [read(engine, conn, actor, r.id) for r in rows if may_read(conn, actor, r.path)]


def _county_of(conn: Connection, actor: Actor, county_id: int | None) -> Any:
    own = sorted({b.unit_id for b in actor.bindings if b.role == COUNTY_OFFICER})
    if not own and not actor.holds(SYSTEM):
        raise PermissionDenied("交流轮岗由县（区）教育局人事股开启")
    if county_id is None:
        if len(own) != 1:
            raise FormError("county_id", "请指定县（区）")
        county_id = own[0]
    unit = conn.execute(
        select(units_t.c.id, units_t.c.tier, units_t.c.name, units_t.c.path).where(
            units_t.c.id == county_id
        )
    ).one_or_none()
    if unit is None or not runs(actor, county_id):
        raise NotFound("县（区）不存在或不在您的管理范围内")
    if unit.tier != "county":
        raise FormError("county_id", "交流轮岗按县（区）开展，请指定县（区）")
    return unit


# --- opening and changing ---------------------------------------------------------------------
def open_campaign(
    engine: CaseEngine, actor: Actor, form: Mapping[str, Any], *, county_id: int | None = None
) -> int:
    """Open the county's campaign for a school year; returns its id. The campaign's case
    is opened with it (its steps are that case's transitions)."""
    now = engine.clock.now()
    today = local_date(now)
    values = check_form(form, today)
    check_dates(values, today, changed=set(values))
    with engine.db.begin() as conn:
        county = _county_of(conn, actor, county_id)
        same = conn.execute(
            select(campaigns_t.c.id).where(
                campaigns_t.c.county_id == county.id, campaigns_t.c.year == values["year"]
            )
        ).scalar()
        if same is not None:
            raise Problems(
                [("year", f"{county.name}{values['year']}学年已有交流轮岗工作（编号{same}）")]
            )
        try:
            campaign_id = _insert(conn, county.id, actor, now, values)
        except IntegrityError:  # the same county and year, opened at the same moment
            raise Conflict(f"{county.name}{values['year']}学年已有交流轮岗工作") from None
        data = {"campaign_id": campaign_id, "name": values["name"], "year": values["year"]}
        [case_id] = engine.open_many(
            CAMPAIGN, [(county.id, data)], actor, conn=conn, year=values["year"]
        )
        conn.execute(
            update(campaigns_t).where(campaigns_t.c.id == campaign_id).values(case_id=case_id)
        )
    return campaign_id


def _insert(
    conn: Connection, county_id: int, actor: Actor, now: dt.datetime, values: Mapping[str, Any]
) -> int:
    with conn.begin_nested():
        return int(
            conn.execute(
                campaigns_t.insert()
                .values(
                    county_id=county_id, opened_by=actor.person_id, opened_at=now, run=0,
                    version=1, **values,
                )
                .returning(campaigns_t.c.id)
            ).scalar_one()
        )  # fmt: skip


def change_campaign(
    engine: CaseEngine,
    actor: Actor,
    campaign_id: int,
    form: Mapping[str, Any],
    *,
    expected_version: int,
) -> None:
    """Change an open campaign's settings (a date moved, a target set) before its
    eligible list is published; the dates only, until the result is published."""
    now = engine.clock.now()
    today = local_date(now)
    with engine.db.begin() as conn:
        c = read(engine, conn, actor, campaign_id)
        if not runs(actor, c.county_id):
            raise PermissionDenied("交流轮岗工作由县（区）教育局人事股调整")
        values = check_form(form, today, partial=True)
        row = load_row(conn, campaign_id, lock=True)
        if row.version != expected_version:
            raise Conflict(f"该交流轮岗工作已被他人修改（当前为第{row.version}版），请刷新后重试")
        if c.state in SETTLED:
            raise Conflict(f"交流轮岗工作{c.state_label}，不能再修改")
        rules = set(values) - LATE_FIELDS
        if c.state != "opened" and rules:
            field = sorted(rules)[0]
            raise FormError(field, "名单公布后不能再修改交流比例、任职年限和免于交流情形")
        merged = {**{k: getattr(row, k) for k in DATES[:3]}, **values}
        check_dates(merged, today, changed=set(values))
        if "year" in values and values["year"] != row.year:
            raise FormError("year", "学年不能修改")
        conn.execute(
            update(campaigns_t)
            .where(campaigns_t.c.id == campaign_id)
            .values(**values, version=row.version + 1)
        )


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
        c = read(engine, conn, actor, campaign_id)
    if event == "run_match" and c.state in ("opened", "preferences"):
        # said in the officer's words rather than the generic "not from this state"
        raise Conflict(
            f"志愿填报尚未截止（截止日期{cn_date(c.preferences_close)}），不能运行匹配",
            field="preferences_close",
        )
    version = c.version if expected_version is None else expected_version
    return engine.fire(c.case_id, event, actor, payload or {}, expected_version=version)
