"""Expert pools (评委库): who may be drawn for a review committee, per unit and subject.

A pool member is a ``review_expert`` role binding at the unit whose committees draw from it —
a county, a city, the province, or a self-review pilot school (自主评审) — with the subject
group they review. Besides membership an officer keeps, per year, whether the expert sits
that year (with the reason when not: illness, secondment, retirement), and the conflicts of
interest the expert declared (回避申报): a unit (its whole subtree) or a person whose cases
they must not review. The draw (``states.blocks.panel``) leaves out the unavailable and the
conflicted as it leaves out the applicant's own school.

A pool is shown against the committee it must seat: ``committee_size`` is what the installed
processes draw (seven, after recusal), so a pool with fewer available is flagged before a
case stops at 评委库人数不足.

Changes are on the expert's trail (``history``, kind PERSON): ``review_expert:<unit code>``
(the subject, or none when removed), ``available:<unit code>:<year>`` and its note,
``conflict:<id>``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from states.errors import Conflict, FormError, NotFound
from states.identity import mask_id_number, validate_id_number
from states.org import REVIEW_EXPERT, SUBJECTS, TIER_LABELS, TITLE_LABELS, Actor
from states.process.package import Catalogue
from states.process.spec import policy_for
from states.registry import history
from states.registry.history import Entry
from states.registry.imports import ImportReport, chunks, row_error
from states.registry.org_tree import UNIT, UnitRow, get_unit, parse_code, unit_row, units_by_code
from states.registry.quotas import parse_year
from states.registry.scope import managed_paths, manages
from states.sheets import INVALID, Column, Schema, Table, template_xlsx, validate, write_xlsx
from states.sheets.columns import ID_NUMBER, parse_yes_no, text_up_to
from states.store.models import (
    ExpertAvailability,
    ExpertConflict,
    OrgUnit,
    Person,
    RoleBinding,
    Teacher,
    table_of,
)
from states.store.people import remove_binding

bindings_t, avail_t, conflicts_t = (
    table_of(RoleBinding),
    table_of(ExpertAvailability),
    table_of(ExpertConflict),
)
people_t, teachers_t, units_t = table_of(Person), table_of(Teacher), table_of(OrgUnit)

POOL_TIERS = ("county", "city", "province")
DEFAULT_COMMITTEE = 7
# Above the committee size by this much a pool is comfortable: recusal of the applicant's
# school and declared conflicts take a few out of every draw.
MARGIN = 3


def committee_size(catalogue: Catalogue, settings: Mapping[str, Any] | None = None) -> int:
    """The largest committee an installed process draws (its ``panel_size`` policy, with the
    province's settings laid over the defaults)."""
    sizes = [
        int(policy_for(spec, settings).get("panel_size", 0) or 0) for _, spec in catalogue.items()
    ]
    return max([s for s in sizes if s > 0], default=DEFAULT_COMMITTEE)


# --- the spreadsheet ---------------------------------------------------------------------------
def parse_subject(text: str) -> str:
    subject = text.replace(" ", "")
    if subject not in SUBJECTS:
        raise ValueError(f"学科应为：{'、'.join(SUBJECTS)}")
    return subject


def _check(row: dict[str, Any]) -> list[tuple[str, str]]:
    if row.get("available") not in (None, INVALID) and row.get("year") is None:
        return [("year", "填写了“本年度可用”须同时填写年度")]
    if row.get("note") not in (None, INVALID) and row.get("year") is None:
        return [("year", "填写了说明须同时填写年度")]
    return []


EXPERTS = Schema(
    "experts",
    "评委库",
    (
        ID_NUMBER,
        Column(
            "code",
            "单位代码",
            ("评委库单位代码", "评审单位代码", "所在评委库", "code"),
            True,
            parse_code,
        ),
        Column("subject", "学科", ("评审学科", "学科组", "subject"), True, parse_subject),
        Column("year", "年度", ("年份", "year"), False, parse_year),
        Column("available", "本年度可用", ("年度可用", "是否可用", "可用"), False, parse_yes_no),
        Column("note", "说明", ("备注", "原因", "note"), False, text_up_to(200, "说明")),
    ),
    key=None,
    check=_check,
)


def experts_template() -> bytes:
    return template_xlsx(EXPERTS)


def write_experts(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """An expert-pool file the import reads back: rows of id_number, code (the pool's
    unit), subject, and optionally year, available and note."""
    columns = [(c.name, c.label) for c in EXPERTS.columns]
    path.write_bytes(write_xlsx(columns, rows, title=EXPERTS.label, mask=()))


# --- pools -------------------------------------------------------------------------------------
def is_pool_unit(unit: UnitRow) -> bool:
    return unit.tier in POOL_TIERS or (unit.tier == "school" and unit.self_review_pilot)


POOL_WHERE = "评委库设在县（区）、市、省教育部门或自主评审试点学校"


def pool_unit(conn: Connection, actor: Actor, unit_id: int) -> UnitRow:
    """A unit in the actor's subtree that holds pools; a form error for any other."""
    unit = get_unit(conn, actor, unit_id)
    if not is_pool_unit(unit):
        raise FormError("unit_id", f"“{unit.name}”不能设评委库：{POOL_WHERE}")
    return unit


@dataclass(frozen=True)
class PoolLine:
    unit: UnitRow
    subject: str
    members: int
    away: int  # not sitting this year
    needed: int

    @property
    def available(self) -> int:
        return self.members - self.away

    @property
    def status(self) -> str:
        if self.available < self.needed:
            return "short"
        return "tight" if self.available < self.needed + MARGIN else "ok"

    @property
    def status_label(self) -> str:
        return {"short": "不足", "tight": "偏紧", "ok": "充足"}[self.status]


def _away(year: int) -> Any:
    """The availability row saying a member does not sit in ``year``."""
    return and_(
        avail_t.c.person_id == bindings_t.c.person_id,
        avail_t.c.org_unit_id == bindings_t.c.org_unit_id,
        avail_t.c.year == year,
        avail_t.c.available.is_(False),
    )


def pools(
    conn: Connection, actor: Actor, *, year: int, needed: int, unit_id: int | None = None
) -> list[PoolLine]:
    """Every pool in the actor's subtree (or at one unit): members, how many sit this
    year, against the committee size."""
    one = get_unit(conn, actor, unit_id) if unit_id is not None else None
    paths = [one.path] if one is not None else managed_paths(actor)
    if not paths:
        return []
    scope = or_(*(units_t.c.path.startswith(p, autoescape=True) for p in paths))
    where = [bindings_t.c.role == REVIEW_EXPERT, scope]
    if unit_id is not None:
        where.append(bindings_t.c.org_unit_id == unit_id)
    rows = conn.execute(
        select(
            bindings_t.c.org_unit_id,
            bindings_t.c.subject,
            func.count(),
            func.count(avail_t.c.id),
        )
        .join(units_t, units_t.c.id == bindings_t.c.org_unit_id)
        .outerjoin(avail_t, _away(year))
        .where(*where)
        .group_by(bindings_t.c.org_unit_id, bindings_t.c.subject)
    ).all()
    ids = sorted({int(r[0]) for r in rows})
    units: dict[int, UnitRow] = {}
    for chunk in chunks(ids):
        units.update({r.id: unit_row(r) for r in conn.execute(UNIT.where(units_t.c.id.in_(chunk)))})
    lines = [
        PoolLine(units[int(u)], s or "—", int(n), int(a), needed)
        for u, s, n, a in rows
        if int(u) in units
    ]
    order = {t: i for i, t in enumerate(("province", "city", "county", "school"))}
    return sorted(lines, key=lambda p: (order[p.unit.tier], p.unit.code, p.subject))


@dataclass(frozen=True)
class ConflictView:
    id: int
    expert_id: int
    unit_id: int | None
    unit_name: str | None
    unit_code: str | None
    person_id: int | None
    person_name: str | None
    note: str | None
    declared_at: dt.datetime

    @property
    def what(self) -> str:
        if self.unit_name is not None:
            return f"单位：{self.unit_name}（{self.unit_code}）"
        return f"人员：{self.person_name}"


@dataclass(frozen=True)
class Member:
    person_id: int
    name: str
    id_number: str  # masked
    school: str | None
    title: str | None
    subject: str
    available: bool
    note: str | None
    version: int  # of the year's availability; 0: none recorded
    conflicts: tuple[ConflictView, ...]


def conflicts_for(conn: Connection, expert_ids: Sequence[int]) -> dict[int, list[ConflictView]]:
    other = people_t.alias("other")
    out: dict[int, list[ConflictView]] = {}
    for chunk in chunks(sorted(set(expert_ids))):
        rows = conn.execute(
            select(
                conflicts_t.c.id, conflicts_t.c.expert_id, conflicts_t.c.org_unit_id,
                units_t.c.name, units_t.c.code, conflicts_t.c.person_id, other.c.name,
                conflicts_t.c.note,
                conflicts_t.c.declared_at,
            )
            .outerjoin(units_t, units_t.c.id == conflicts_t.c.org_unit_id)
            .outerjoin(other, other.c.id == conflicts_t.c.person_id)
            .where(conflicts_t.c.expert_id.in_(chunk))
            .order_by(conflicts_t.c.id)
        )  # fmt: skip
        for r in rows:
            out.setdefault(int(r[1]), []).append(ConflictView(*r))
    return out


def members(
    conn: Connection, actor: Actor, *, unit_id: int, subject: str, year: int
) -> list[Member]:
    """A pool's members with their availability for ``year`` and declared conflicts."""
    unit = get_unit(conn, actor, unit_id)
    school = units_t.alias("school")
    rows = conn.execute(
        select(
            people_t.c.id, people_t.c.name, people_t.c.id_number, school.c.name,
            teachers_t.c.title, avail_t.c.available, avail_t.c.note, avail_t.c.version,
        )
        .select_from(bindings_t)
        .join(people_t, people_t.c.id == bindings_t.c.person_id)
        .outerjoin(teachers_t, teachers_t.c.person_id == people_t.c.id)
        .outerjoin(school, school.c.id == teachers_t.c.school_id)
        .outerjoin(
            avail_t,
            and_(
                avail_t.c.person_id == bindings_t.c.person_id,
                avail_t.c.org_unit_id == bindings_t.c.org_unit_id,
                avail_t.c.year == year,
            ),
        )
        .where(
            bindings_t.c.role == REVIEW_EXPERT,
            bindings_t.c.org_unit_id == unit.id,
            bindings_t.c.subject == subject,
        )
        .order_by(people_t.c.name, people_t.c.id)
    ).all()  # fmt: skip
    found = conflicts_for(conn, [r[0] for r in rows])
    return [
        Member(
            person_id=r[0], name=r[1], id_number=mask_id_number(r[2] or ""), school=r[3],
            title=TITLE_LABELS.get(r[4]) if r[4] else None, subject=subject,
            available=r[5] is None or bool(r[5]), note=r[6], version=int(r[7] or 0),
            conflicts=tuple(found.get(r[0], ())),
        )
        for r in rows
    ]  # fmt: skip


# --- changing ----------------------------------------------------------------------------------
def _person_by_id_number(conn: Connection, text: str, field: str = "id_number") -> Any:
    try:
        number = validate_id_number(text.strip().lstrip("'"))
    except ValueError as exc:
        raise FormError(field, str(exc)) from None
    person = conn.execute(
        select(people_t.c.id, people_t.c.name).where(people_t.c.id_number == number)
    ).one_or_none()
    if person is None:
        raise FormError(field, "该身份证号未登记：请先在教师名册或账号中登记此人")
    return person


def _binding(conn: Connection, person_id: int, unit_id: int) -> Any:
    return conn.execute(
        select(bindings_t.c.id, bindings_t.c.subject).where(
            bindings_t.c.person_id == person_id,
            bindings_t.c.role == REVIEW_EXPERT,
            bindings_t.c.org_unit_id == unit_id,
        )
    ).one_or_none()


def add_member(
    conn: Connection,
    actor: Actor,
    *,
    unit_id: int,
    subject: str,
    id_number: str,
    at: dt.datetime,
) -> int:
    """Put a registered person in a pool; returns their person id. A person sits in one
    subject's pool per unit."""
    unit = pool_unit(conn, actor, unit_id)
    if unit.closed:
        raise Conflict(f"“{unit.name}”已撤销，不能增加评委")
    try:
        subject = parse_subject(subject)
    except ValueError as exc:
        raise FormError("subject", str(exc)) from None
    person = _person_by_id_number(conn, id_number)
    held = _binding(conn, person.id, unit.id)
    if held is not None:
        where = "本" if held.subject == subject else f"{held.subject}"
        raise Conflict(f"{person.name}已在{unit.name}{where}学科评委库中")
    conn.execute(
        insert(bindings_t).values(
            person_id=person.id, role=REVIEW_EXPERT, org_unit_id=unit.id, subject=subject
        )
    )
    history.record(
        conn, history.PERSON,
        [Entry(person.id, {f"review_expert:{unit.code}": (None, subject)})],
        actor=actor, at=at, source="edit", source_ref=f"{unit.name}评委库",
    )  # fmt: skip
    return int(person.id)


def remove_member(
    conn: Connection, actor: Actor, *, unit_id: int, person_id: int, at: dt.datetime
) -> None:
    """Take an expert out of a unit's pool (their sessions end: the role is gone). Cases
    they already sit on keep them."""
    unit = pool_unit(conn, actor, unit_id)
    held = _binding(conn, person_id, unit.id)
    if held is None:
        raise NotFound("该评委不在本单位评委库中")
    remove_binding(conn, person_id, REVIEW_EXPERT, unit.id)
    conn.execute(
        delete(avail_t).where(avail_t.c.person_id == person_id, avail_t.c.org_unit_id == unit.id)
    )
    history.record(
        conn, history.PERSON,
        [Entry(person_id, {f"review_expert:{unit.code}": (held.subject, None)})],
        actor=actor, at=at, source="edit", source_ref=f"{unit.name}评委库",
    )  # fmt: skip


def set_availability(
    conn: Connection,
    actor: Actor,
    *,
    unit_id: int,
    person_id: int,
    year: int,
    available: bool,
    note: str | None,
    expected_version: int,
    at: dt.datetime,
) -> int:
    """Whether a member sits in ``year``'s committees, with the reason; returns the new
    version. ``expected_version`` 0: nothing was recorded for that year yet."""
    unit = pool_unit(conn, actor, unit_id)
    if _binding(conn, person_id, unit.id) is None:
        raise NotFound("该评委不在本单位评委库中")
    if not 2000 <= year <= 2100:
        raise FormError("year", "年度应在2000到2100之间")
    text = (note or "").strip() or None
    if text is not None and len(text) > 200:
        raise FormError("note", f"说明不能超过200个字，实际为{len(text)}个字")
    if not available and text is None:
        raise FormError("note", "不参加本年度评审须说明原因")
    key = (
        avail_t.c.person_id == person_id,
        avail_t.c.org_unit_id == unit.id,
        avail_t.c.year == year,
    )
    row = conn.execute(
        select(avail_t.c.available, avail_t.c.note, avail_t.c.version).where(*key)
    ).one_or_none()
    version = 0 if row is None else int(row.version)
    if version != expected_version:
        raise Conflict("该评委本年度是否参评已被他人修改，请刷新后重试")
    before = {"available": True, "note": None} if row is None else dict(row._mapping)
    if row is None:
        conn.execute(
            insert(avail_t).values(
                person_id=person_id, org_unit_id=unit.id, year=year, available=available,
                note=text, version=1, updated_at=at, updated_by=actor.person_id,
            )
        )  # fmt: skip
    else:
        done = conn.execute(
            update(avail_t)
            .where(*key, avail_t.c.version == expected_version)
            .values(
                available=available, note=text, version=avail_t.c.version + 1,
                updated_at=at, updated_by=actor.person_id,
            )
        ).rowcount  # fmt: skip
        if done != 1:
            raise Conflict("该评委本年度是否参评已被他人修改，请刷新后重试")
    where = f"{unit.code}:{year}"
    history.record(
        conn, history.PERSON,
        [Entry(person_id, history.diff(
            {f"available:{where}": before["available"], f"available_note:{where}": before["note"]},
            {f"available:{where}": available, f"available_note:{where}": text},
        ))],
        actor=actor, at=at, source="edit", source_ref=f"{unit.name}评委库",
    )  # fmt: skip
    return version + 1


def _expert_managed(conn: Connection, actor: Actor, expert_id: int) -> None:
    """The expert sits in a pool the actor manages; otherwise not found."""
    rows = conn.execute(
        select(units_t.c.path)
        .join(bindings_t, bindings_t.c.org_unit_id == units_t.c.id)
        .where(bindings_t.c.person_id == expert_id, bindings_t.c.role == REVIEW_EXPERT)
    ).scalars()
    if not any(manages(actor, p) for p in rows):
        raise NotFound("评委不存在或不在您管理的评委库中")


def conflicts_of(conn: Connection, actor: Actor, expert_id: int) -> list[ConflictView]:
    _expert_managed(conn, actor, expert_id)
    return conflicts_for(conn, [expert_id]).get(expert_id, [])


def declare_conflict(
    conn: Connection,
    actor: Actor,
    *,
    expert_id: int,
    at: dt.datetime,
    unit_code: str | None = None,
    id_number: str | None = None,
    note: str | None = None,
) -> ConflictView:
    """Record a conflict of interest: the expert is not drawn for cases of that unit (and
    everything under it) or of that person."""
    _expert_managed(conn, actor, expert_id)
    code, number = (unit_code or "").strip(), (id_number or "").strip()
    if bool(code) == bool(number):
        raise FormError("unit_code", "请填写需回避的单位代码或人员身份证号（二者填一项）")
    text = (note or "").strip() or None
    if text is not None and len(text) > 200:
        raise FormError("note", f"说明不能超过200个字，实际为{len(text)}个字")
    unit_id = person_id = None
    if code:
        unit = units_by_code(conn, [code]).get(code)
        if unit is None:
            raise FormError("unit_code", f"单位代码“{code}”不存在")
        unit_id, what = unit.id, f"单位：{unit.name}（{unit.code}）"
    else:
        person = _person_by_id_number(conn, number)
        if person.id == expert_id:
            raise FormError("id_number", "评委本人无须申报回避本人")
        person_id, what = int(person.id), f"人员：{person.name}"
    found = conn.execute(
        select(conflicts_t.c.id).where(
            conflicts_t.c.expert_id == expert_id,
            conflicts_t.c.org_unit_id == unit_id
            if unit_id is not None
            else conflicts_t.c.person_id == person_id,
        )
    ).first()
    if found is not None:
        raise Conflict("该回避事项已申报")
    new_id = conn.execute(
        insert(conflicts_t)
        .values(
            expert_id=expert_id, org_unit_id=unit_id, person_id=person_id, note=text,
            declared_at=at, declared_by=actor.person_id,
        )
        .returning(conflicts_t.c.id)
    ).scalar_one()  # fmt: skip
    history.record(
        conn, history.PERSON, [Entry(expert_id, {f"conflict:{new_id}": (None, what)})],
        actor=actor, at=at, source="edit", source_ref="回避申报",
    )  # fmt: skip
    return next(c for c in conflicts_for(conn, [expert_id])[expert_id] if c.id == new_id)


def withdraw_conflict(
    conn: Connection, actor: Actor, *, expert_id: int, conflict_id: int, at: dt.datetime
) -> None:
    _expert_managed(conn, actor, expert_id)
    found = next(
        (c for c in conflicts_for(conn, [expert_id]).get(expert_id, []) if c.id == conflict_id),
        None,
    )
    if found is None:
        raise NotFound("回避事项不存在")
    conn.execute(delete(conflicts_t).where(conflicts_t.c.id == conflict_id))
    history.record(
        conn, history.PERSON, [Entry(expert_id, {f"conflict:{conflict_id}": (found.what, None)})],
        actor=actor, at=at, source="edit", source_ref="撤销回避申报",
    )  # fmt: skip


# --- importing ---------------------------------------------------------------------------------
def import_experts(
    conn: Connection,
    table: Table,
    *,
    actor: Actor,
    at: dt.datetime,
    source_ref: str | None = None,
    valid_only: bool = False,
) -> ImportReport:
    """Pool members from a file: (身份证号, 单位代码, 学科) puts a registered person in the
    unit's pool of that subject; 年度 with 本年度可用 (是 by default) and 说明 records
    whether they sit that year. A person not registered, a unit that holds no pools or lies
    outside the importer's subtree, or a person already in another subject's pool at that
    unit: a row error."""
    checked = validate(table, EXPERTS)
    report = ImportReport.of(checked, valid_only=valid_only)
    rows = checked.rows
    if not rows:
        return report
    units = units_by_code(conn, {r["code"] for r in rows})
    numbers = sorted({r["id_number"] for r in rows})
    people: dict[str, int] = {}
    for chunk in chunks(numbers):
        found = conn.execute(
            select(people_t.c.id_number, people_t.c.id).where(people_t.c.id_number.in_(chunk))
        )
        people.update({number: int(pid) for number, pid in found})
    unit_ids = sorted({u.id for u in units.values()})
    held: dict[tuple[int, int], str | None] = {}
    avail: dict[tuple[int, int, int], tuple[bool, str | None, int]] = {}
    for chunk in chunks(unit_ids):
        for p, u, s in conn.execute(
            select(bindings_t.c.person_id, bindings_t.c.org_unit_id, bindings_t.c.subject).where(
                bindings_t.c.role == REVIEW_EXPERT, bindings_t.c.org_unit_id.in_(chunk)
            )
        ):
            held[(int(p), int(u))] = s
        for a in conn.execute(select(avail_t).where(avail_t.c.org_unit_id.in_(chunk))):
            avail[(a.person_id, a.org_unit_id, a.year)] = (a.available, a.note, a.version)
    new_bindings: dict[tuple[int, int], dict[str, Any]] = {}
    seen: dict[tuple[str, str, int | None], int] = {}
    avail_rows: dict[tuple[int, int, int], dict[str, Any]] = {}
    changes: dict[int, dict[str, tuple[Any, Any]]] = {}
    for r in rows:
        unit, pid = units.get(r["code"]), people.get(r["id_number"])
        problem: tuple[str, str] | None = None
        if unit is None or not manages(actor, unit.path):
            problem = ("code", f"单位代码“{r['code']}”不存在或不在您的管理范围内")
        elif not is_pool_unit(unit):
            problem = ("code", f"“{unit.name}”是{TIER_LABELS[unit.tier]}，{POOL_WHERE}")
        elif unit.closed:
            problem = ("code", f"“{unit.name}”已撤销")
        elif pid is None:
            problem = ("id_number", "该身份证号未登记：请先在教师名册或账号中登记此人")
        else:
            first = seen.setdefault((r["id_number"], r["code"], r.get("year")), r["row"])
            subject = held.get((pid, unit.id)) or new_bindings.get((pid, unit.id), {}).get(
                "subject"
            )
            if first != r["row"]:
                problem = ("id_number", f"与第{first}行重复（同一人、单位和年度）")
            elif subject is not None and subject != r["subject"]:
                problem = ("subject", f"此人已在本单位{subject}学科评委库中")
        if problem is not None:
            report.add(row_error(EXPERTS, r, *problem))
            continue
        assert unit is not None and pid is not None
        touched = False
        if (pid, unit.id) not in held and (pid, unit.id) not in new_bindings:
            new_bindings[(pid, unit.id)] = {
                "person_id": pid, "role": REVIEW_EXPERT, "org_unit_id": unit.id,
                "subject": r["subject"],
            }  # fmt: skip
            changes.setdefault(pid, {})[f"review_expert:{unit.code}"] = (None, r["subject"])
            touched = True
        if r.get("year") is not None:
            year = r["year"]
            available = True if r.get("available") is None else bool(r["available"])
            note = r.get("note")
            before = avail.get((pid, unit.id, year))
            if before is None or (before[0], before[1]) != (available, note):
                avail_rows[(pid, unit.id, year)] = {
                    "person_id": pid, "org_unit_id": unit.id, "year": year,
                    "available": available, "note": note, "version": 1,
                    "updated_at": at, "updated_by": actor.person_id,
                    "before": before,
                }  # fmt: skip
                where = f"{unit.code}:{year}"
                diff = history.diff(
                    {f"available:{where}": before[0] if before else True,
                     f"available_note:{where}": before[1] if before else None},
                    {f"available:{where}": available, f"available_note:{where}": note},
                )  # fmt: skip
                changes.setdefault(pid, {}).update(diff)
                touched = touched or bool(diff) or before is None
        if touched:
            report.created += 1 if (pid, unit.id) in new_bindings else 0
            report.updated += 0 if (pid, unit.id) in new_bindings else 1
        else:
            report.unchanged += 1
    report.errors.sort(key=lambda e: e.row)
    if report.error_count and not valid_only:
        return report
    if new_bindings:
        conn.execute(insert(bindings_t), list(new_bindings.values()))
    fresh = [
        {k: v for k, v in a.items() if k != "before"}
        for a in avail_rows.values()
        if a["before"] is None
    ]
    if fresh:
        conn.execute(insert(avail_t), fresh)
    changed = [
        {"b_person": a["person_id"], "b_unit": a["org_unit_id"], "b_year": a["year"],
         "b_available": a["available"], "b_note": a["note"]}
        for a in avail_rows.values()
        if a["before"] is not None
    ]  # fmt: skip
    if changed:
        conn.execute(
            update(avail_t)
            .where(
                avail_t.c.person_id == bindparam("b_person"),
                avail_t.c.org_unit_id == bindparam("b_unit"),
                avail_t.c.year == bindparam("b_year"),
            )
            .values(
                available=bindparam("b_available"), note=bindparam("b_note"),
                version=avail_t.c.version + 1, updated_at=at, updated_by=actor.person_id,
            ),
            changed,
        )  # fmt: skip
    history.record(
        conn, history.PERSON, [Entry(p, c) for p, c in changes.items()],
        actor=actor, at=at, source="import", source_ref=source_ref,
    )  # fmt: skip
    report.written = True
    return report


def expert_units(conn: Connection, actor: Actor) -> list[UnitRow]:
    """The open units in the actor's subtree that may hold pools (a pool is started at one
    of these by adding its first expert)."""
    paths = managed_paths(actor)
    if not paths:
        return []
    rows = conn.execute(
        UNIT.where(
            or_(*(units_t.c.path.startswith(p, autoescape=True) for p in paths)),
            units_t.c.closed_on.is_(None),
            or_(units_t.c.tier.in_(POOL_TIERS), units_t.c.self_review_pilot.is_(True)),
        )
        .order_by(units_t.c.path)
        .limit(500)
    )
    return [unit_row(r) for r in rows]
