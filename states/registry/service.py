"""The service ledger: the years a teacher served in rural or weak schools through the
system's own processes — a support-teaching term (支教), a rotation placement (交流轮岗) — as
one entry per term, naming the case that earned it.

Why a ledger and not the record's number: the record's ``rural_years`` is what the bureau
imported (service before Renshi); what a process credits must be traceable to the case, its
dates and its assessment, and must never be typed over. So title review's rural-experience
rule reads the imported years plus this ledger (``states.engine.statements.LOAD_TEACHER``),
and its refusal names both.

Append-only: nothing here updates or deletes an entry. A mistaken credit is corrected by a
new entry (kind ``correction``) that names the entry it corrects, the signed change in months
and a reason; the sum is what counts. Every entry is also written to the teacher record's
sealed history (``states.registry.history``), so an entry altered in the table no longer
matches the history's seal-protected copy of it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError

from states.errors import FormError, NotFound, PermissionDenied
from states.org import CITY_OFFICER, COUNTY_OFFICER, PROVINCE_OFFICER, Actor, in_scope
from states.registry import history
from states.registry.roster import may_read_history
from states.registry.scope import manages
from states.store.models import OrgUnit, ServiceCredit, Teacher, table_of

credits_t, units_t, teachers_t = table_of(ServiceCredit), table_of(OrgUnit), table_of(Teacher)

SUPPORT, ROTATION, CORRECTION = "support_teaching", "rotation", "correction"
KIND_LABELS = {SUPPORT: "支教", ROTATION: "交流轮岗", CORRECTION: "更正"}
ASSESSMENTS = {
    "excellent": "优秀",
    "competent": "称职",
    "basic": "基本称职",
    "incompetent": "不称职",
}
# A term counts only when the receiving school judged the service competent or better.
CREDITED_ASSESSMENTS = frozenset({"excellent", "competent"})
# The field the record's history shows the ledger's total under (api/labels.py names it).
HISTORY_FIELD = "service_years"
REASON_MIN = 4

# Built once: title review's rule and every record page read it.
TOTAL = select(func.coalesce(func.sum(credits_t.c.months), 0)).where(
    credits_t.c.teacher_id == bindparam("teacher_id")
)


@dataclass(frozen=True)
class Credit:
    """One ledger entry as pages, the API and title review's record panel show it."""

    id: int
    kind: str
    source_case_id: int | None
    corrects_id: int | None
    school_id: int | None
    school_name: str
    started_on: dt.date | None
    ended_on: dt.date | None
    months: int
    years: float
    assessment: str | None
    reason: str | None
    recorded_at: dt.datetime

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def assessment_label(self) -> str:
        return ASSESSMENTS.get(self.assessment or "", "")

    def text(self) -> str:
        """One line of the ledger, as the record and the pages show it:
        支教 乡村小学 2027-09-01至2028-08-31 12个月（1年） 考核称职 事项 42."""
        if self.kind == CORRECTION:
            sign = "+" if self.months >= 0 else ""
            return f"更正第{self.corrects_id}条记录 {sign}{self.months}个月：{self.reason}"
        span = (
            f"{self.started_on.isoformat()}至{self.ended_on.isoformat()}"
            if self.started_on and self.ended_on
            else ""
        )
        parts = [self.kind_label, self.school_name, span, f"{self.months}个月（{self.years:g}年）"]
        if self.assessment:
            parts.append(f"考核{self.assessment_label}")
        if self.source_case_id is not None:
            parts.append(f"事项 {self.source_case_id}")
        return " ".join(p for p in parts if p)


def months_served(started_on: dt.date, ended_on: dt.date) -> int:
    """Whole months from ``started_on`` to ``ended_on``, the end day included: 2027-09-01 to
    2028-08-31 is 12; a month begun but not finished does not count."""
    if ended_on < started_on:
        return 0
    end = ended_on + dt.timedelta(days=1)
    months = (end.year - started_on.year) * 12 + end.month - started_on.month
    if end.day < started_on.day:
        months -= 1
    return max(months, 0)


def years_of(months: int) -> float:
    return round(months / 12, 2)


def credited_years(conn: Connection, teacher_id: int) -> float:
    return years_of(int(conn.execute(TOTAL, {"teacher_id": teacher_id}).scalar_one()))


def _credit(r: Any) -> Credit:
    return Credit(
        id=int(r.id),
        kind=str(r.kind),
        source_case_id=r.source_case_id,
        corrects_id=r.corrects_id,
        school_id=r.school_id,
        school_name=str(r.school_name),
        started_on=r.started_on,
        ended_on=r.ended_on,
        months=int(r.months),
        years=float(r.years),
        assessment=r.assessment,
        reason=r.reason,
        recorded_at=r.recorded_at,
    )


ENTRIES = (
    select(credits_t)
    .where(credits_t.c.teacher_id == bindparam("teacher_id"))
    .order_by(credits_t.c.id)
)


def entries(conn: Connection, teacher_id: int) -> list[Credit]:
    """The teacher's ledger in the order it was written."""
    return [_credit(r) for r in conn.execute(ENTRIES, {"teacher_id": teacher_id})]


def _history(
    conn: Connection,
    teacher_id: int,
    entry: Credit,
    before_months: int,
    actor: Actor,
    at: dt.datetime,
) -> None:
    """The entry and the new total on the record's sealed history, in the same transaction."""
    changes = {
        "service_credit": (None, entry.text()),
        HISTORY_FIELD: (years_of(before_months), years_of(before_months + entry.months)),
    }
    history.record(
        conn,
        history.TEACHER,
        [history.Entry(teacher_id, changes, entry.source_case_id)],
        actor=actor,
        at=at,
        source="case" if entry.source_case_id is not None else "edit",
        source_ref=None if entry.source_case_id is not None else f"更正第{entry.corrects_id}条",
    )


def credit(
    conn: Connection,
    *,
    teacher_id: int,
    kind: str,
    source_case_id: int,
    school_id: int,
    started_on: dt.date,
    ended_on: dt.date,
    assessment: str | None,
    actor: Actor,
    at: dt.datetime,
) -> int | None:
    """Credit one term to the teacher, in the caller's transaction (the step that ends the
    term). One credit per source case: a second call for the same case writes nothing and
    returns None, so a replayed or raced step never counts a term twice."""
    if kind not in (SUPPORT, ROTATION):
        raise ValueError(f"unknown service kind {kind!r}")
    if assessment is not None and assessment not in ASSESSMENTS:
        raise ValueError(f"unknown assessment {assessment!r}")
    taken = conn.execute(
        select(credits_t.c.id).where(
            credits_t.c.source_case_id == source_case_id, credits_t.c.kind == kind
        )
    ).first()
    if taken is not None:
        return None
    school = conn.execute(select(units_t.c.name).where(units_t.c.id == school_id)).scalar()
    months = months_served(started_on, ended_on)
    before = int(conn.execute(TOTAL, {"teacher_id": teacher_id}).scalar_one())
    values = {
        "teacher_id": teacher_id, "kind": kind, "source_case_id": source_case_id,
        "corrects_id": None, "school_id": school_id, "school_name": str(school or ""),
        "started_on": started_on, "ended_on": ended_on, "months": months,
        "years": years_of(months), "assessment": assessment, "reason": None,
        "recorded_at": at, "recorded_by": actor.person_id,
    }  # fmt: skip
    try:
        with conn.begin_nested():
            new_id = int(
                conn.execute(insert(credits_t).returning(credits_t.c.id), values).scalar_one()
            )
    except IntegrityError:  # a concurrent step credited the same case first
        return None
    _history(conn, teacher_id, _credit(_Row(id=new_id, **values)), before, actor, at)
    return new_id


class _Row:
    """A just-inserted entry read back without another query."""

    def __init__(self, **values: object) -> None:
        self.__dict__.update(values)


def correct(
    conn: Connection,
    credit_id: int,
    *,
    months: int,
    reason: str,
    actor: Actor,
    at: dt.datetime,
) -> int:
    """A correction of entry ``credit_id`` by ``months`` (signed), with the reason: a new
    entry, the corrected one untouched. The corrected entry with its corrections never goes
    below nothing."""
    reason = (reason or "").strip()
    if len(reason) < REASON_MIN:
        raise FormError("reason", f"更正理由：至少{REASON_MIN}个字，说明更正的依据")
    if months == 0:
        raise FormError("months", "更正月数：不能为0")
    row = conn.execute(select(credits_t).where(credits_t.c.id == credit_id)).one_or_none()
    if row is None:
        raise NotFound(f"支教及交流经历记录 {credit_id} 不存在")
    if row.kind == CORRECTION:
        raise FormError("credit_id", "更正记录不能再被更正，请更正原记录")
    corrected = int(
        conn.execute(
            select(func.coalesce(func.sum(credits_t.c.months), 0)).where(
                credits_t.c.corrects_id == credit_id
            )
        ).scalar_one()
    )
    if int(row.months) + corrected + months < 0:
        raise FormError(
            "months",
            f"更正月数：更正后该记录为{int(row.months) + corrected + months}个月，不能少于0"
            f"（原记录{int(row.months)}个月，已更正{corrected:+d}个月）",
        )
    teacher_id = int(row.teacher_id)
    before = int(conn.execute(TOTAL, {"teacher_id": teacher_id}).scalar_one())
    values = {
        "teacher_id": teacher_id, "kind": CORRECTION, "source_case_id": None,
        "corrects_id": credit_id, "school_id": row.school_id, "school_name": row.school_name,
        "started_on": None, "ended_on": None, "months": months, "years": years_of(months),
        "assessment": None, "reason": reason, "recorded_at": at,
        "recorded_by": actor.person_id,
    }  # fmt: skip
    new_id = int(conn.execute(insert(credits_t).returning(credits_t.c.id), values).scalar_one())
    _history(conn, teacher_id, _credit(_Row(id=new_id, **values)), before, actor, at)
    return new_id


def unproven(conn: Connection, teacher_id: int) -> list[int]:
    """The entries whose words no longer match the copy the record's sealed history keeps
    (an entry altered in the table): what an inspector should not rely on."""
    told = {
        str(e.changes["service_credit"][1])
        for e in history.entries_of(conn, history.TEACHER, teacher_id)
        if "service_credit" in e.changes
    }
    return [c.id for c in entries(conn, teacher_id) if c.text() not in told]


def teacher_of(conn: Connection, credit_id: int) -> int:
    found = conn.execute(select(credits_t.c.teacher_id).where(credits_t.c.id == credit_id)).scalar()
    if found is None:
        raise NotFound(f"支教及交流经历记录 {credit_id} 不存在")
    return int(found)


# --- who reads and who corrects ---------------------------------------------------------------
_SCHOOL_OF = (
    select(units_t.c.path)
    .select_from(teachers_t.join(units_t, units_t.c.id == teachers_t.c.school_id))
    .where(teachers_t.c.person_id == bindparam("person_id"))
)
# Correcting a credit is the county's (or a higher tier's) act, never the school's: the
# school is the party whose teachers the ledger favours.
CORRECTORS = frozenset({COUNTY_OFFICER, CITY_OFFICER, PROVINCE_OFFICER})
NOT_FOUND = "教师档案不存在或不在您的管理范围内"


def _path_of(conn: Connection, person_id: int) -> str:
    path = conn.execute(_SCHOOL_OF, {"person_id": person_id}).scalar()
    if path is None:
        raise NotFound(NOT_FOUND)
    return str(path)


def ledger_of(conn: Connection, actor: Actor, person_id: int) -> list[Credit]:
    """The ledger for those who may read the record's history: the teacher, the officers
    who manage the school, inspectors over it (others: not found)."""
    if not may_read_history(actor, _path_of(conn, person_id), person_id):
        raise NotFound(NOT_FOUND)
    return entries(conn, person_id)


def correct_as(
    conn: Connection,
    actor: Actor,
    credit_id: int,
    *,
    months: int,
    reason: str,
    at: dt.datetime,
) -> int:
    """``correct`` by an officer of the county or above over the teacher's school."""
    row = conn.execute(
        select(credits_t.c.teacher_id).where(credits_t.c.id == credit_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"支教及交流经历记录 {credit_id} 不存在")
    path = _path_of(conn, int(row.teacher_id))
    if not any(b.role in CORRECTORS and in_scope(b.unit_path, path) for b in actor.bindings):
        if manages(actor, path):
            raise PermissionDenied("支教及交流经历的更正须由县级及以上人事部门办理")
        raise NotFound(f"支教及交流经历记录 {credit_id} 不存在")
    return correct(conn, credit_id, months=months, reason=reason, actor=actor, at=at)


__all__ = [
    "ASSESSMENTS",
    "CORRECTION",
    "CREDITED_ASSESSMENTS",
    "ROTATION",
    "SUPPORT",
    "Credit",
    "correct",
    "correct_as",
    "credit",
    "credited_years",
    "entries",
    "ledger_of",
    "months_served",
    "unproven",
]
