"""The inspectors' board of the automated checks (合规检查看板): the open findings in one's
scope counted by rule and by unit one level down, listed newest first, the recently closed,
filters by rule, unit and status, and the masked export.

Who reads it: inspectors, personnel officers and leaders, each over their own subtree (a
finding belongs to the unit that answers for it: a teacher's school, a county, a task's
lead unit). What each of them reads of a line is declared once (``FINDING_RECORD``) and
applied the same way to the page, the API, the export and a finding's own page
(``finding``): the teacher's ID number in full for inspectors only (region and last four
for everyone else), the teacher's name for those who act on it (officers) and check it
(inspectors) — a leader's board shows the surname. A finding's explanations (情况说明) and
its closing by hand (人工销号, ``notes.py``) are for every reader of the board.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import Connection, and_, exists, func, or_, select

from states.clock import local_date
from states.engine.visibility import Viewer, shown_record
from states.errors import FormError, NotFound, PermissionDenied
from states.identity import mask_id_number
from states.org import (
    CITY_OFFICER,
    COUNTY_OFFICER,
    INSPECTOR,
    LEADER,
    PROVINCE_OFFICER,
    SCHOOL_OFFICER,
    SYSTEM,
    Actor,
    Binding,
    in_scope,
    path_ids,
)
from states.process.package import ComplianceRule
from states.process.visibility import Audience, Shown, Visibility
from states.processes.compliance.tables import ComplianceFinding, ComplianceNote
from states.store.models import OrgUnit, Person, table_of

findings_t, units_t, people_t = table_of(ComplianceFinding), table_of(OrgUnit), table_of(Person)
notes_t = table_of(ComplianceNote)

OFFICERS: Final = frozenset(
    {SCHOOL_OFFICER, COUNTY_OFFICER, CITY_OFFICER, PROVINCE_OFFICER, SYSTEM}
)
READERS: Final = OFFICERS | {INSPECTOR, LEADER}
LIST_LIMIT: Final = 200
CLOSED_DAYS: Final = 30  # "recently closed": within this many days
STATUSES: Final = {"open": "未整改", "closed": "已销号"}
SUBJECT_KINDS: Final = {"teacher": "教师", "unit": "单位", "case": "事项"}
# How a finding closed by hand says so (``closed_how``); the reason is kept beside it.
BY_HAND_HOW: Final = "人工销号"


def mask_name(value: str) -> str:
    """The surname and a star for each other character: 张** ."""
    return value[:1] + "*" * (len(value) - 1) if value else value


# Who reads which field of a finding's line (the board, the API, the export).
FINDING_RECORD: Final = Visibility(
    record={
        "id_number": Shown(frozenset({Audience.INSPECTOR}), others=mask_id_number),
        "name": Shown(frozenset({Audience.OFFICER, Audience.INSPECTOR}), others=mask_name),
    },
    record_open=frozenset(
        {
            "id", "rule", "rule_label", "subject_kind", "subject_label", "subject_id",
            "subject", "unit_id", "unit", "detail", "advice", "opened_at", "last_seen_at",
            "closed_at", "closed_how", "link",
            # the latest explanation (情况说明), and the closing by hand (人工销号)
            "note", "note_until", "noted_at", "noted_by", "by_hand", "closed_by",
            "closed_unit", "close_reason",
            # a finding's own page: every explanation, oldest first
            "notes",
        }
    ),
)  # fmt: skip


def viewer(actor: Actor) -> Viewer:
    """Where a reader of the board stands: an inspector, an officer (acting on findings),
    a leader (reading, 阅读者)."""
    audiences: set[Audience] = set()
    roles = actor.roles()
    if roles & {INSPECTOR, SYSTEM}:
        audiences.add(Audience.INSPECTOR)
    if roles & OFFICERS:
        audiences.add(Audience.OFFICER)
    if LEADER in roles:
        audiences.add(Audience.READER)
    return Viewer(frozenset(audiences), actor.person_id)


# Who acts on a finding (情况说明, 人工销号): the personnel officers, never a system account.
ACTING: Final = frozenset({SCHOOL_OFFICER, COUNTY_OFFICER, CITY_OFFICER, PROVINCE_OFFICER})


def _nearest(bindings: Sequence[Binding]) -> Binding | None:
    return max(bindings, key=lambda b: len(path_ids(b.unit_path))) if bindings else None


def note_binding(actor: Actor, unit_path: str) -> Binding | None:
    """Where ``actor`` explains a finding of the unit at ``unit_path`` (情况说明): as an
    officer of that unit or of a unit above it, the nearest; None when they may not."""
    return _nearest(
        [b for b in actor.bindings if b.role in ACTING and in_scope(b.unit_path, unit_path)]
    )


def close_binding(actor: Actor, unit_path: str) -> Binding | None:
    """Where ``actor`` closes a finding of the unit at ``unit_path`` by hand (人工销号): as
    an officer of a unit above it — the unit that supervises the one answering for it, never
    that unit itself; the nearest. None when they may not."""
    return _nearest(
        [
            b
            for b in actor.bindings
            if b.role in ACTING and in_scope(b.unit_path, unit_path) and b.unit_path != unit_path
        ]
    )


def scope_paths(actor: Actor) -> list[str]:
    """The subtrees whose findings the actor reads; refused for anyone else (a teacher)."""
    paths = [b.unit_path for b in actor.bindings if b.role in READERS]
    if not paths:
        raise PermissionDenied("合规检查看板供督查员、人事干部和领导查看")
    return paths


# --- filters ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    rule: str | None = None
    status: str = "open"
    unit_id: int | None = None

    def query(self) -> dict[str, str]:
        out = {"status": self.status}
        if self.rule:
            out["rule"] = self.rule
        if self.unit_id:
            out["unit"] = str(self.unit_id)
        return out


def filters_from(
    rules: Sequence[ComplianceRule],
    *,
    rule: str | None = None,
    status: str | None = None,
    unit_id: int | None = None,
) -> Filters:
    """The filters a page or the API was given, each refused by name."""
    codes = {r.code: r.label for r in rules}
    if rule and rule not in codes:
        raise FormError("rule", f"检查项应为：{'、'.join(codes.values())}")
    if status and status not in STATUSES:
        raise FormError("status", f"状态应为：{'、'.join(STATUSES.values())}")
    return Filters(rule or None, status or "open", unit_id or None)


# --- the board --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Place:
    id: int
    name: str
    tier: str
    path: str
    parent_id: int | None


@dataclass
class RuleCount:
    code: str
    label: str
    subject: str
    advice: str
    open: int = 0
    explained: int = 0  # open, with an explanation (情况说明) on record
    opened_recently: int = 0  # within CLOSED_DAYS
    closed_recently: int = 0  # by the data and by hand
    closed_by_hand: int = 0  # of those, closed by hand (人工销号)

    @property
    def closed_by_data(self) -> int:
        return self.closed_recently - self.closed_by_hand


@dataclass
class UnitCount:
    unit_id: int | None  # None: findings of the unit itself (本级)
    name: str
    counts: dict[str, int] = field(default_factory=dict)
    leaf: bool = False

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class Board:
    unit: Place
    trail: list[Place]
    filters: Filters
    rules: list[RuleCount]
    units: list[UnitCount]
    lines: list[dict[str, Any]]
    listed: int  # lines matching (the page shows the first LIST_LIMIT)
    closed: list[dict[str, Any]]  # recently closed (on the open view)
    today: dt.date


def _place(conn: Connection, unit_id: int) -> Place:
    found = conn.execute(
        select(units_t.c.id, units_t.c.name, units_t.c.tier, units_t.c.path, units_t.c.parent_id)
        .where(units_t.c.id == unit_id)
    ).one_or_none()  # fmt: skip
    if found is None:
        raise NotFound("单位不存在或不在您的查看范围内")
    return Place(*found)


def _top(conn: Connection, paths: Sequence[str]) -> Place:
    """The highest unit the reader's scope covers: where the board opens."""
    first = sorted(paths, key=lambda p: (len(path_ids(p)), p))[0]
    ids = path_ids(first)
    if ids:
        return _place(conn, ids[-1])
    root = conn.execute(select(units_t.c.id).where(units_t.c.parent_id.is_(None))).scalar()
    if root is None:
        raise NotFound("没有可查看的单位")
    return _place(conn, int(root))


def unit_for(conn: Connection, actor: Actor, unit_id: int | None) -> Place:
    paths = scope_paths(actor)
    if unit_id is None:
        return _top(conn, paths)
    unit = _place(conn, unit_id)
    if not any(in_scope(p, unit.path) for p in paths):
        raise NotFound("单位不存在或不在您的查看范围内")
    return unit


def _trail(conn: Connection, paths: Sequence[str], unit: Place) -> list[Place]:
    ids = path_ids(unit.path)
    rows = {
        r.id: Place(*r)
        for r in conn.execute(
            select(units_t.c.id, units_t.c.name, units_t.c.tier, units_t.c.path,
                   units_t.c.parent_id).where(units_t.c.id.in_(ids))
        )
    }  # fmt: skip
    return [rows[i] for i in ids if i in rows and any(in_scope(p, rows[i].path) for p in paths)]


def _where(unit: Place, filters: Filters) -> list[Any]:
    f = findings_t
    out = [f.c.unit_path.startswith(unit.path, autoescape=True)]
    if filters.rule:
        out.append(f.c.rule == filters.rule)
    return out


def board(
    conn: Connection,
    actor: Actor,
    rules: Sequence[ComplianceRule],
    filters: Filters,
    now: dt.datetime,
    *,
    limit: int = LIST_LIMIT,
) -> Board:
    """The board of one unit's subtree (the reader's top unit by default)."""
    unit = unit_for(conn, actor, filters.unit_id)
    paths = scope_paths(actor)
    f = findings_t
    since = now - dt.timedelta(days=CLOSED_DAYS)
    where = _where(unit, filters)
    counts = {r.code: RuleCount(r.code, r.label, SUBJECT_KINDS[r.subject], r.advice) for r in rules}
    # open, by rule and answering unit (and its path, to fold units into the level below)
    grouped = conn.execute(
        select(f.c.rule, f.c.unit_id, f.c.unit_path, func.count().label("n"))
        .where(f.c.closed_at.is_(None), *where)
        .group_by(f.c.rule, f.c.unit_id, f.c.unit_path)
    ).all()
    explained = conn.execute(
        select(f.c.rule, func.count().label("n"))
        .where(f.c.closed_at.is_(None), *where)
        .where(exists().where(notes_t.c.finding_id == f.c.id))
        .group_by(f.c.rule)
    ).all()
    for r in explained:
        if r.rule in counts:
            counts[r.rule].explained = int(r.n)
    recent = conn.execute(
        select(
            f.c.rule,
            func.count().filter(f.c.opened_at >= since).label("opened"),
            func.count().filter(f.c.closed_at >= since).label("closed"),
            func.count()
            .filter(f.c.closed_at >= since, f.c.closed_by.is_not(None))
            .label("by_hand"),
        )
        .where(*where, or_(f.c.opened_at >= since, f.c.closed_at >= since))
        .group_by(f.c.rule)
    ).all()
    for r in recent:
        if r.rule in counts:
            counts[r.rule].opened_recently = int(r.opened)
            counts[r.rule].closed_recently = int(r.closed)
            counts[r.rule].closed_by_hand = int(r.by_hand)
    depth = len(path_ids(unit.path))
    children: dict[int, int | None] = {}
    units: dict[int | None, UnitCount] = {}
    for r in grouped:
        if r.rule in counts:
            counts[r.rule].open += int(r.n)
        ids = path_ids(r.unit_path)
        child = ids[depth] if len(ids) > depth else None
        children[r.unit_id] = child
        group = units.setdefault(child, UnitCount(child, ""))
        group.counts[r.rule] = group.counts.get(r.rule, 0) + int(r.n)
    names = {
        int(r.id): r.name
        for r in conn.execute(
            select(units_t.c.id, units_t.c.name).where(
                units_t.c.id.in_([k for k in units if k is not None])
            )
        )
    }
    for key, group in units.items():
        group.name = f"{unit.name}（本级）" if key is None else names.get(key, str(key))
        group.leaf = key is None or unit.tier == "county"
    ordered = sorted(units.values(), key=lambda g: (g.unit_id is not None, -g.total, g.name))
    by = viewer(actor)
    titles = {r.code: r for r in rules}
    status_open = filters.status == "open"
    state = f.c.closed_at.is_(None) if status_open else f.c.closed_at.is_not(None)
    listed = int(conn.execute(select(func.count()).where(state, *where)).scalar() or 0)
    order = f.c.opened_at.desc() if status_open else f.c.closed_at.desc()
    lines = [
        line(r, titles, by)
        for r in conn.execute(_lines(state, where).order_by(order, f.c.id.desc()).limit(limit))
    ]
    closed: list[dict[str, Any]] = []
    if status_open:
        closed = [
            line(r, titles, by)
            for r in conn.execute(
                _lines(f.c.closed_at >= since, where)
                .order_by(f.c.closed_at.desc(), f.c.id.desc())
                .limit(50)
            )
        ]
    return Board(
        unit=unit,
        trail=_trail(conn, paths, unit),
        filters=filters,
        rules=list(counts.values()),
        units=ordered,
        lines=lines,
        listed=listed,
        closed=closed,
        today=local_date(now),
    )


def _lines(state: Any, where: Sequence[Any]) -> Any:
    """Findings with what a line names: the answering unit, and for a teacher's finding the
    teacher (a unit's finding names the unit, a case's the case); the latest explanation
    and its author; who closed it by hand, for which unit."""
    f, n = findings_t, notes_t
    person = and_(f.c.subject_kind == "teacher", people_t.c.id == f.c.subject_id)
    subject_unit = units_t.alias("subject_unit")
    latest = select(n.c.finding_id, func.max(n.c.id).label("note_id")).group_by(
        n.c.finding_id
    ).subquery("latest")  # fmt: skip
    note = n.alias("note")
    noter, closer = people_t.alias("noter"), people_t.alias("closer")
    closed_unit = units_t.alias("closed_unit")
    return (
        select(
            f.c.id, f.c.rule, f.c.subject_kind, f.c.subject_id, f.c.unit_id, f.c.detail,
            f.c.opened_at, f.c.last_seen_at, f.c.closed_at, f.c.closed_how,
            units_t.c.name.label("unit"), people_t.c.name.label("name"),
            people_t.c.id_number, subject_unit.c.name.label("subject_unit"),
            note.c.text.label("note"), note.c.until.label("note_until"),
            note.c.at.label("noted_at"), noter.c.name.label("noted_by"),
            f.c.closed_by.is_not(None).label("by_hand"), closer.c.name.label("closed_by"),
            closed_unit.c.name.label("closed_unit"), f.c.close_reason,
        )
        .join(units_t, units_t.c.id == f.c.unit_id)
        .outerjoin(people_t, person)
        .outerjoin(
            subject_unit,
            and_(f.c.subject_kind == "unit", subject_unit.c.id == f.c.subject_id),
        )
        .outerjoin(latest, latest.c.finding_id == f.c.id)
        .outerjoin(note, note.c.id == latest.c.note_id)
        .outerjoin(noter, noter.c.id == note.c.author_id)
        .outerjoin(closer, closer.c.id == f.c.closed_by)
        .outerjoin(closed_unit, closed_unit.c.id == f.c.closed_unit_id)
        .where(state, *where)
    )  # fmt: skip


def line(
    r: Any,
    rules: dict[str, ComplianceRule],
    by: Viewer,
    notes: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One finding as ``by`` may read it (FINDING_RECORD); with ``notes``, every
    explanation on it (its own page)."""
    rule = rules.get(r.rule)
    kind = r.subject_kind
    if kind == "teacher":
        subject, link = "", ""
    elif kind == "unit":
        subject, link = r.subject_unit or "", ""
    else:
        subject, link = f"事项{r.subject_id}", f"/cases/{r.subject_id}"
    record = {
        "id": int(r.id),
        "rule": r.rule,
        "rule_label": rule.label if rule else r.rule,
        "subject_kind": kind,
        "subject_label": SUBJECT_KINDS.get(kind, kind),
        "subject_id": int(r.subject_id),
        "subject": subject,
        "name": r.name or "",
        "id_number": r.id_number or "",
        "unit_id": int(r.unit_id),
        "unit": r.unit,
        "detail": r.detail,
        "advice": rule.advice if rule else "",
        "opened_at": r.opened_at,
        "last_seen_at": r.last_seen_at,
        "closed_at": r.closed_at,
        "closed_how": r.closed_how or "",
        "link": link,
        "note": r.note or "",
        "note_until": r.note_until,
        "noted_at": r.noted_at,
        "noted_by": r.noted_by or "",
        "by_hand": bool(r.by_hand),
        "closed_by": r.closed_by or "",
        "closed_unit": r.closed_unit or "",
        "close_reason": r.close_reason or "",
    }
    if notes is not None:
        record["notes"] = notes
    return shown_record(FINDING_RECORD, record, by)


# --- one finding --------------------------------------------------------------------------------
@dataclass(frozen=True)
class FindingPage:
    """A finding as its own page shows it to one reader: the line (FINDING_RECORD applied,
    with every explanation), and what this reader may do on it."""

    line: dict[str, Any]
    may_note: bool
    may_close: bool


def located(conn: Connection, actor: Actor, finding_id: int, *, lock: bool = False) -> Any:
    """A finding the actor reads on the board (id, unit, unit_path, closed_at, closed_how):
    refused for anyone who reads no board (a teacher), not found outside their scope —
    the same answer as a finding that does not exist."""
    paths = scope_paths(actor)
    f = findings_t
    query = select(
        f.c.id, f.c.rule, f.c.unit_id, f.c.unit_path, f.c.closed_at, f.c.closed_how
    ).where(f.c.id == finding_id)
    found = conn.execute(query.with_for_update() if lock else query).one_or_none()
    if found is None or not any(in_scope(p, found.unit_path) for p in paths):
        raise NotFound("问题不存在或不在您的查看范围内")
    return found


def notes_of(conn: Connection, finding_id: int) -> list[dict[str, Any]]:
    """Every explanation on a finding, oldest first: what, until when, who, for which unit,
    when."""
    n = notes_t
    author_unit = units_t.alias("author_unit")
    rows = conn.execute(
        select(n.c.id, n.c.text, n.c.until, n.c.at, people_t.c.name.label("author"),
               author_unit.c.name.label("author_unit"))
        .join(people_t, people_t.c.id == n.c.author_id)
        .join(author_unit, author_unit.c.id == n.c.author_unit_id)
        .where(n.c.finding_id == finding_id)
        .order_by(n.c.id)
    ).all()  # fmt: skip
    return [
        {"id": int(r.id), "text": r.text, "until": r.until, "at": r.at, "author": r.author,
         "author_unit": r.author_unit}
        for r in rows
    ]  # fmt: skip


def finding(
    conn: Connection, actor: Actor, rules: Sequence[ComplianceRule], finding_id: int
) -> FindingPage:
    """One finding on its own page: the subject, the rule, when it was found, the unit that
    answers for it, its explanations and its closing — cut for the reader as the board is."""
    at = located(conn, actor, finding_id)
    row = conn.execute(_lines(findings_t.c.id == finding_id, [])).one()
    shown = line(row, {r.code: r for r in rules}, viewer(actor), notes_of(conn, finding_id))
    still_open = at.closed_at is None
    return FindingPage(
        line=shown,
        may_note=still_open and note_binding(actor, at.unit_path) is not None,
        may_close=still_open and close_binding(actor, at.unit_path) is not None,
    )


EXPORT_COLUMNS: Final = (
    ("rule_label", "检查项"),
    ("unit", "责任单位"),
    ("subject_label", "对象类别"),
    ("name", "姓名"),
    ("id_number", "身份证号"),
    ("subject", "对象"),
    ("detail", "问题"),
    ("advice", "整改要求"),
    ("opened_at", "发现时间"),
    ("last_seen_at", "最近核查时间"),
    ("note", "情况说明（最近一次）"),
    ("note_until", "预计整改日期"),
    ("closed_at", "销号时间"),
    ("closed_how", "销号方式"),
    ("close_reason", "销号理由"),
)


def export_rows(
    conn: Connection,
    actor: Actor,
    rules: Sequence[ComplianceRule],
    filters: Filters,
) -> tuple[str, Iterator[dict[str, Any]]]:
    """Every finding the board counts (open or closed, as filtered), each line cut by the
    declared visibility for this reader: the export's title and rows."""
    unit = unit_for(conn, actor, filters.unit_id)
    f = findings_t
    state = f.c.closed_at.is_(None) if filters.status == "open" else f.c.closed_at.is_not(None)
    query = _lines(state, _where(unit, filters)).order_by(f.c.rule, f.c.unit_id, f.c.id)
    by = viewer(actor)
    titles = {r.code: r for r in rules}
    title = f"{unit.name}合规检查问题清单（{STATUSES[filters.status]}）"

    def rows() -> Iterator[dict[str, Any]]:
        for r in conn.execute(query):
            out = line(r, titles, by)
            for key in ("opened_at", "last_seen_at", "closed_at", "note_until"):
                out[key] = out[key] or ""
            yield out

    return title, rows()


def open_for(conn: Connection, rule: str, subject_kind: str, subject_id: int) -> Any:
    """A subject's open finding of one rule, if any (a teacher's own page)."""
    f = findings_t
    return conn.execute(
        select(f).where(
            f.c.rule == rule,
            f.c.subject_kind == subject_kind,
            f.c.subject_id == subject_id,
            f.c.closed_at.is_(None),
        )
    ).one_or_none()
