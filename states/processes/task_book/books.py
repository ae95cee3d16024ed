"""A unit's task book as officers keep it: imported from a spreadsheet (every cell checked,
every problem reported by row and column, nothing written unless the whole file is good),
edited task by task while it is drafted, submitted to the unit above for approval, and read
by everyone whose scope covers the unit.

Who: the personnel officers of the book's unit (its owner) import and edit it; the unit
above approves it on its case; approval issues each task to its lead unit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from states.clock import local_date
from states.engine import CaseEngine, FireResult
from states.errors import Conflict, FormError, NotFound, PermissionDenied, Problems
from states.org import OFFICER_OF_TIER, SYSTEM, Actor
from states.process.forms import Field
from states.processes.task_book.machine import BOOK
from states.processes.task_book.rules import (
    MAX_WEIGHT,
    SOURCES,
    Milestone,
    milestones_text,
    parse_milestones,
    schedule_problems,
)
from states.processes.task_book.store import (
    books_t,
    cases_t,
    milestones_t,
    pairs,
    placed,
    units_t,
    work_t,
)
from states.sheets import CellError, Column, Schema, SheetError, read_table, validate
from states.sheets.columns import text_up_to

MAX_BYTES = 10 * 1024 * 1024  # a task book is a few hundred rows; anything bigger is not one


# --- cells ----------------------------------------------------------------------------------
_DAY = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?|(\d{4})(\d{2})(\d{2})"
)


def parse_day(text: str) -> dt.date:
    m = _DAY.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"日期格式无法识别：{text}（应如 2026-06-30）")
    parts = [int(x) for x in (m.groups()[:3] if m[1] else m.groups()[3:])]
    try:
        return dt.date(parts[0], parts[1], parts[2])
    except ValueError:
        raise ValueError(f"日期无效：{text}") from None


_SOURCE_WORDS = {
    **{label: code for code, label in SOURCES.items()},
    **{code: code for code in SOURCES},
    "工作要点": "work_points",
    "要点": "work_points",
    "年度要点": "work_points",
    "会议": "meeting",
    "会议纪要": "meeting",
    "会议决定事项": "meeting",
    "批示": "instruction",
    "领导交办": "instruction",
    "交办": "instruction",
}


def parse_source(text: str) -> str:
    code = _SOURCE_WORDS.get(text.strip())
    if code is None:
        raise ValueError(f"任务来源应为：{'、'.join(SOURCES.values())}")
    return code


def parse_weight(text: str) -> float:
    try:
        value = float(text.rstrip("%％"))
    except ValueError:
        raise ValueError(f"权重应为数字：{text}") from None
    if not 0 < value <= MAX_WEIGHT:
        raise ValueError(f"权重应大于0且不超过{MAX_WEIGHT:g}")
    return value


def parse_seq(text: str) -> int:
    if not text.isdigit() or len(text) > 6:
        raise ValueError(f"序号应为正整数：{text}")
    return int(text)


def _milestones(text: str) -> list[Milestone]:
    return parse_milestones(text)


def _check_row(row: dict[str, Any]) -> list[tuple[str, str]]:
    deadline, milestones = row.get("deadline"), row.get("milestones")
    if not isinstance(deadline, dt.date) or not isinstance(milestones, list):
        return []
    return schedule_problems(deadline, milestones)


SCHEMA = Schema(
    "task_book",
    "任务书",
    (
        Column("seq", "序号", ("编号", "任务编号"), False, parse_seq),
        Column(
            "title",
            "任务名称",
            ("任务", "工作任务", "任务事项", "重点任务"),
            True,
            text_up_to(200, "任务名称"),
        ),
        Column(
            "detail",
            "任务内容",
            ("工作内容", "具体要求", "任务要求", "主要内容"),
            False,
            text_up_to(2000, "任务内容"),
        ),
        Column("source", "任务来源", ("来源",), True, parse_source),
        Column(
            "lead",
            "牵头单位",
            ("责任单位", "主责单位", "承办单位"),
            True,
            text_up_to(128, "牵头单位"),
        ),
        Column("co", "配合单位", ("协办单位", "参与单位"), False, text_up_to(1000, "配合单位")),
        Column("deadline", "完成时限", ("完成时间", "截止日期", "办结时限"), True, parse_day),
        Column("milestones", "时间节点", ("节点", "路线图", "阶段目标"), False, _milestones),
        Column("weight", "权重", ("分值",), False, parse_weight),
    ),
    key="title",
    check=_check_row,
)
LABELS = {c.name: c.label for c in SCHEMA.columns}
# The task form of the pages and the API (the lead and co-operating units by code or name).
TASK_FIELDS = (
    Field("title", "任务名称", max_length=200),
    Field("detail", "任务内容", required=False, max_length=2000),
    Field("source", "任务来源", "choice", choices=SOURCES),
    Field("lead", "牵头单位", max_length=128, help="单位名称或编码"),
    Field("co", "配合单位", required=False, max_length=1000, help="多个单位以“、”分隔"),
    Field("deadline", "完成时限", "date"),
    Field(
        "milestones",
        "时间节点",
        required=False,
        max_length=2000,
        help="每行一个：日期 节点名称，如“2026-06-30 形成方案”，按时间先后排列",
    ),
    Field(
        "weight",
        "权重",
        "float",
        required=False,
        min_value=0.01,
        max_value=MAX_WEIGHT,
        help="默认为1；年终考核按权重汇总",
    ),
)


# --- units inside the owner's subtree ----------------------------------------------------------
@dataclass(frozen=True)
class Unit:
    id: int
    name: str
    code: str
    tier: str
    path: str


class Units:
    """The units a book's tasks may be given to: the owner and its subtree, found by code or
    by name (a name shared by two units must be given as a code)."""

    def __init__(self, conn: Connection, owner: Unit) -> None:
        self.owner = owner
        rows = conn.execute(
            select(
                units_t.c.id, units_t.c.name, units_t.c.code, units_t.c.tier, units_t.c.path
            ).where(
                units_t.c.path.startswith(owner.path, autoescape=True),
                units_t.c.closed_on.is_(None),
            )
        ).all()
        self.by_id = {r.id: Unit(*r) for r in rows}
        self.by_code = {r.code: self.by_id[r.id] for r in rows}
        names: dict[str, list[Unit]] = {}
        for r in rows:
            names.setdefault(r.name, []).append(self.by_id[r.id])
        self.by_name = names

    def find(self, text: str, what: str) -> tuple[Unit | None, str | None]:
        key = text.strip()
        found = self.by_code.get(key)
        if found is None and key.isdigit() and int(key) in self.by_id:
            found = self.by_id[int(key)]
        if found is not None:
            return found, None
        named = self.by_name.get(key, [])
        if len(named) == 1:
            return named[0], None
        if len(named) > 1:
            return None, f"{what}“{key}”有重名单位，请填写单位编码"
        return None, (
            f"{what}“{key}”不是{self.owner.name}或其下级单位，任务只能交办给本单位管辖范围内的单位"
        )

    def many(self, text: str, what: str) -> tuple[list[Unit], str | None]:
        out: list[Unit] = []
        for part in re.split(r"[、,，;；\s]+", text or ""):
            if not part:
                continue
            unit, problem = self.find(part, what)
            if problem is not None:
                return [], problem
            assert unit is not None
            if unit not in out:
                out.append(unit)
        return out, None


def unit_row(conn: Connection, unit_id: int) -> Unit:
    row = conn.execute(
        select(units_t.c.id, units_t.c.name, units_t.c.code, units_t.c.tier, units_t.c.path).where(
            units_t.c.id == unit_id
        )
    ).one_or_none()
    if row is None:
        raise NotFound("单位不存在")
    return Unit(*row)


def owns(actor: Actor, unit: Unit) -> bool:
    """The officers of a unit keep its book (the system too)."""
    return actor.holds(SYSTEM) or actor.holds(OFFICER_OF_TIER[unit.tier], unit.id)


def own_unit(conn: Connection, actor: Actor, unit_id: int | None) -> Unit:
    """The unit whose book the actor keeps: the one named, or their only officer unit."""
    if unit_id is None:
        mine = sorted(
            {b.unit_id for b in actor.bindings if b.role in set(OFFICER_OF_TIER.values())}
        )
        if len(mine) != 1:
            raise FormError("unit_id", "请指定单位")
        unit_id = mine[0]
    unit = unit_row(conn, unit_id)
    if not owns(actor, unit):
        if actor.sees(unit.path):
            raise PermissionDenied(f"{unit.name}的任务书由该单位的人事干部编制")
        raise NotFound("单位不存在或不在您的管理范围内")
    return unit


# --- checking a task ----------------------------------------------------------------------------
def check_task(
    units: Units, form: Mapping[str, Any]
) -> tuple[dict[str, Any], list[Milestone], list[tuple[str, str]]]:
    """A task as the form gives it, as column values and milestones, or every problem."""
    problems: list[tuple[str, str]] = [
        (str(k), "不是此表单的字段") for k in form if k not in {f.name for f in TASK_FIELDS}
    ]
    values: dict[str, Any] = {}
    for f in TASK_FIELDS:
        raw = form.get(f.name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if f.required:
                problems.append((f.name, f"{f.label}不能为空"))
            continue
        try:
            values[f.name] = f.parse(raw)
        except FormError as exc:
            problems.append((f.name, exc.reason))
    milestones: list[Milestone] = []
    if "milestones" in values:
        try:
            milestones = parse_milestones(values["milestones"])
        except ValueError as exc:
            problems.append(("milestones", str(exc)))
    deadline = dt.date.fromisoformat(values["deadline"]) if "deadline" in values else None
    problems += schedule_problems(deadline, milestones)
    out: dict[str, Any] = {
        "title": values.get("title"),
        "detail": values.get("detail"),
        "source": values.get("source"),
        "deadline": deadline,
        "weight": float(values.get("weight") or 1.0),
    }
    if "lead" in values:
        lead, problem = units.find(values["lead"], "牵头单位")
        if problem is not None:
            problems.append(("lead", problem))
        elif lead is not None:
            out["lead"] = lead
    co, problem = units.many(values.get("co") or "", "配合单位")
    if problem is not None:
        problems.append(("co", problem))
    out["co"] = co
    return out, milestones, problems


def _task_row(book: Any, unit: Unit, seq: int, values: Mapping[str, Any]) -> dict[str, Any]:
    lead: Unit = values["lead"]
    return {
        "book_id": book.id,
        "case_id": None,
        "parent_id": None,
        "year": book.year,
        "seq": seq,
        "title": values["title"],
        "detail": values.get("detail"),
        "source": values["source"],
        "lead_unit_id": lead.id,
        "issuer_unit_id": unit.id,
        "co_units": [u.id for u in values.get("co") or []] or None,
        "deadline": values["deadline"],
        "weight": values.get("weight") or 1.0,
        "progress": 0,
        "issued_on": None,
        "last_report_on": None,
        "stagnant_since": None,
        "next_due": None,
        "remind_level": 0,
        "escalated_at": None,
        "closed_on": None,
        **placed(lead.path),
    }


def _write_tasks(
    conn: Connection,
    book: Any,
    unit: Unit,
    tasks: Sequence[tuple[int, Mapping[str, Any], Sequence[Milestone]]],
) -> None:
    if not tasks:
        return
    conn.execute(insert(work_t), [_task_row(book, unit, seq, v) for seq, v, _ in tasks])
    ids = pairs(
        conn.execute(
            select(work_t.c.seq, work_t.c.id).where(
                work_t.c.book_id == book.id, work_t.c.parent_id.is_(None)
            )
        )
    )
    rows = [
        {
            "task_id": ids[seq],
            "seq": i,
            "title": m.title,
            "due_on": m.due_on,
            "done_on": None,
            "remind_level": 0,
            "escalated_at": None,
        }
        for seq, _, milestones in tasks
        for i, m in enumerate(milestones, start=1)
    ]
    if rows:
        conn.execute(insert(milestones_t), rows)


def _clear_tasks(conn: Connection, book_id: int) -> None:
    ids = select(work_t.c.id).where(work_t.c.book_id == book_id).scalar_subquery()
    conn.execute(delete(milestones_t).where(milestones_t.c.task_id.in_(ids)))
    conn.execute(delete(work_t).where(work_t.c.book_id == book_id))


# --- the book ---------------------------------------------------------------------------------
def book_title(unit: Unit, year: int) -> str:
    return f"{unit.name}{year}年度任务书"


def _create(
    engine: CaseEngine, conn: Connection, actor: Actor, unit: Unit, year: int, title: str
) -> Any:
    now = engine.clock.now()
    book_id = conn.execute(
        insert(books_t)
        .values(
            unit_id=unit.id,
            year=year,
            title=title,
            version=1,
            created_by=actor.person_id,
            created_at=now,
        )
        .returning(books_t.c.id)
    ).scalar_one()
    data = {"book_id": book_id, "title": title, "owner_tier": unit.tier, "year": year}
    [case_id] = engine.open_many(BOOK, [(unit.id, data)], actor, conn=conn, year=year)
    conn.execute(update(books_t).where(books_t.c.id == book_id).values(case_id=case_id))
    return _book(conn, book_id)


def _book(conn: Connection, book_id: int, *, lock: bool = False) -> Any:
    query = (
        select(books_t, cases_t.c.state, cases_t.c.version.label("case_version"))
        .join(cases_t, cases_t.c.id == books_t.c.case_id)
        .where(books_t.c.id == book_id)
    )
    row = conn.execute(query.with_for_update(of=books_t) if lock else query).one_or_none()
    if row is None:
        raise NotFound("任务书不存在")
    return row


def create_book(
    engine: CaseEngine,
    actor: Actor,
    *,
    year: int,
    unit_id: int | None = None,
    title: str | None = None,
) -> int:
    """An empty book for the unit's year, to fill in on its page."""
    if not 2000 <= year <= 2100:
        raise FormError("year", "年度应为2000至2100之间的年份")
    with engine.db.begin() as conn:
        unit = own_unit(conn, actor, unit_id)
        _no_book_yet(conn, unit, year)
        return int(_create(engine, conn, actor, unit, year, title or book_title(unit, year)).id)


def _no_book_yet(conn: Connection, unit: Unit, year: int) -> None:
    same = conn.execute(
        select(books_t.c.id).where(books_t.c.unit_id == unit.id, books_t.c.year == year)
    ).scalar()
    if same is not None:
        raise Conflict(f"{unit.name}{year}年度已有任务书（编号{same}）", field="year")


@dataclass
class ImportReport:
    """What an import did: the book it wrote, or every problem found (nothing written)."""

    book_id: int | None = None
    imported: int = 0
    errors: list[CellError] = field(default_factory=list)
    error_count: int = 0
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return self.error_count > 0


def import_book(
    engine: CaseEngine,
    actor: Actor,
    data: bytes,
    filename: str,
    *,
    year: int,
    unit_id: int | None = None,
    title: str | None = None,
) -> ImportReport:
    """A book from a spreadsheet: all of it or nothing. A book being drafted is replaced
    by the file's tasks; one already submitted or approved is not touched."""
    if not 2000 <= year <= 2100:
        raise FormError("year", "年度应为2000至2100之间的年份")
    if len(data) > MAX_BYTES:
        raise FormError("file", f"文件超过{MAX_BYTES // 1024 // 1024}MB，任务书不应如此之大")
    try:
        table = read_table(data, filename, schema=SCHEMA)
    except SheetError as exc:
        raise FormError("file", str(exc)) from None
    checked = validate(table, SCHEMA)
    report = ImportReport(
        errors=list(checked.errors),
        error_count=checked.error_count,
        ignored_columns=checked.ignored_columns,
    )
    with engine.db.begin() as conn:
        unit = own_unit(conn, actor, unit_id)
        units = Units(conn, unit)
        tasks: list[tuple[int, dict[str, Any], list[Milestone]]] = []
        for i, row in enumerate(checked.rows, start=1):
            values = {k: row.get(k) for k in ("title", "detail", "source", "deadline", "weight")}
            lead, problem = units.find(row["lead"], "牵头单位")
            if problem is not None:
                report.errors.append(CellError(row["row"], LABELS["lead"], row["lead"], problem))
                report.error_count += 1
                continue
            co, problem = units.many(row.get("co") or "", "配合单位")
            if problem is not None:
                report.errors.append(CellError(row["row"], LABELS["co"], row["co"], problem))
                report.error_count += 1
                continue
            values.update(lead=lead, co=co, weight=row.get("weight") or 1.0)
            tasks.append((row.get("seq") or i, values, row.get("milestones") or []))
        seqs = [s for s, _, _ in tasks]
        if len(set(seqs)) != len(seqs):
            tasks = [(i, v, m) for i, (_, v, m) in enumerate(tasks, start=1)]
        if report.refused:
            report.errors.sort(key=lambda e: e.row)
            return report
        existing = conn.execute(
            select(books_t.c.id).where(books_t.c.unit_id == unit.id, books_t.c.year == year)
        ).scalar()
        if existing is None:
            book = _create(engine, conn, actor, unit, year, title or book_title(unit, year))
        else:
            book = _book(conn, existing, lock=True)
            if book.state != "book_draft":
                raise Conflict(
                    f"{book.title}已报送审批或已下达，不能再导入；如需调整请联系审批单位退回"
                )
            _clear_tasks(conn, book.id)
        digest = hashlib.sha256(data).hexdigest()
        conn.execute(
            update(books_t)
            .where(books_t.c.id == book.id)
            .values(
                version=books_t.c.version + (0 if existing is None else 1),
                source_file=filename[:255],
                source_sha256=digest,
                **({"title": title} if title else {}),
            )
        )
        _write_tasks(conn, book, unit, tasks)
    report.book_id, report.imported = int(book.id), len(tasks)
    return report


def _draft_book(conn: Connection, actor: Actor, book_id: int, expected_version: int) -> Any:
    book = _book(conn, book_id, lock=True)
    unit = unit_row(conn, book.unit_id)
    if not owns(actor, unit):
        if actor.sees(unit.path):
            raise PermissionDenied(f"{unit.name}的任务书由该单位的人事干部编制")
        raise NotFound("任务书不存在")
    if book.state != "book_draft":
        raise Conflict("任务书已报送审批或已下达，不能再修改")
    if book.version != expected_version:
        raise Conflict(f"任务书已被他人修改（当前为第{book.version}版），请刷新后重试")
    return book


def add_task(
    engine: CaseEngine,
    actor: Actor,
    book_id: int,
    form: Mapping[str, Any],
    *,
    expected_version: int,
) -> int:
    """A task added to a book being drafted; returns the task's id."""
    with engine.db.begin() as conn:
        book = _draft_book(conn, actor, book_id, expected_version)
        unit = unit_row(conn, book.unit_id)
        values, milestones, problems = check_task(Units(conn, unit), form)
        if problems:
            raise Problems(problems)
        last = conn.execute(
            select(work_t.c.seq)
            .where(work_t.c.book_id == book.id, work_t.c.parent_id.is_(None))
            .order_by(work_t.c.seq.desc())
            .limit(1)
        ).scalar()
        seq = int(last or 0) + 1
        _write_tasks(conn, book, unit, [(seq, values, milestones)])
        conn.execute(
            update(books_t).where(books_t.c.id == book.id).values(version=book.version + 1)
        )
        return int(
            conn.execute(
                select(work_t.c.id).where(work_t.c.book_id == book.id, work_t.c.seq == seq)
            ).scalar_one()
        )


def change_task(
    engine: CaseEngine,
    actor: Actor,
    book_id: int,
    task_id: int,
    form: Mapping[str, Any],
    *,
    expected_version: int,
) -> None:
    with engine.db.begin() as conn:
        book = _draft_book(conn, actor, book_id, expected_version)
        unit = unit_row(conn, book.unit_id)
        row = _book_task(conn, book.id, task_id)
        values, milestones, problems = check_task(Units(conn, unit), form)
        if problems:
            raise Problems(problems)
        fresh = _task_row(book, unit, row.seq, values)
        for key in ("book_id", "case_id", "parent_id", "year", "seq"):
            fresh.pop(key)
        conn.execute(update(work_t).where(work_t.c.id == row.id).values(**fresh))
        conn.execute(delete(milestones_t).where(milestones_t.c.task_id == row.id))
        if milestones:
            conn.execute(
                insert(milestones_t),
                [
                    {
                        "task_id": row.id,
                        "seq": i,
                        "title": m.title,
                        "due_on": m.due_on,
                        "done_on": None,
                        "remind_level": 0,
                        "escalated_at": None,
                    }
                    for i, m in enumerate(milestones, start=1)
                ],
            )
        conn.execute(
            update(books_t).where(books_t.c.id == book.id).values(version=book.version + 1)
        )


def remove_task(
    engine: CaseEngine, actor: Actor, book_id: int, task_id: int, *, expected_version: int
) -> None:
    with engine.db.begin() as conn:
        book = _draft_book(conn, actor, book_id, expected_version)
        row = _book_task(conn, book.id, task_id)
        conn.execute(delete(milestones_t).where(milestones_t.c.task_id == row.id))
        conn.execute(delete(work_t).where(work_t.c.id == row.id))
        conn.execute(
            update(books_t).where(books_t.c.id == book.id).values(version=book.version + 1)
        )


def _book_task(conn: Connection, book_id: int, task_id: int) -> Any:
    row = conn.execute(
        select(work_t).where(
            work_t.c.id == task_id, work_t.c.book_id == book_id, work_t.c.parent_id.is_(None)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("任务不存在")
    return row


def step(
    engine: CaseEngine,
    actor: Actor,
    book_id: int,
    event: str,
    payload: Mapping[str, Any] | None = None,
    *,
    expected_version: int | None = None,
) -> FireResult:
    """A step of the book (报送, 审批, 退回, 办结): an event on its case."""
    with engine.db.connect() as conn:
        book = read_row(conn, actor, book_id)
    version = book.case_version if expected_version is None else expected_version
    return engine.fire(book.case_id, event, actor, payload or {}, expected_version=version)


# --- reading ----------------------------------------------------------------------------------
def read_row(conn: Connection, actor: Actor, book_id: int) -> Any:
    """The book if the actor's scope covers its unit (its officers, the units above, leaders
    and inspectors over it); otherwise not found."""
    book = _book(conn, book_id)
    path = conn.execute(select(units_t.c.path).where(units_t.c.id == book.unit_id)).scalar_one()
    if not actor.sees(path):
        raise NotFound("任务书不存在")
    return book


@dataclass(frozen=True)
class BookTask:
    id: int
    seq: int
    title: str
    detail: str | None
    source: str
    lead_unit_id: int
    lead_name: str
    co_names: tuple[str, ...]
    deadline: dt.date
    weight: float
    milestones: tuple[Milestone, ...]
    case_id: int | None

    @property
    def source_label(self) -> str:
        return SOURCES.get(self.source, self.source)

    @property
    def milestones_text(self) -> str:
        return milestones_text(self.milestones)

    def form(self, lead_code: str) -> dict[str, str]:
        return {
            "title": self.title,
            "detail": self.detail or "",
            "source": self.source,
            "lead": lead_code,
            "co": "、".join(self.co_names),
            "deadline": self.deadline.isoformat(),
            "milestones": self.milestones_text,
            "weight": f"{self.weight:g}",
        }


def book_tasks(conn: Connection, book_id: int) -> list[BookTask]:
    rows = conn.execute(
        select(work_t, units_t.c.name.label("lead_name"))
        .join(units_t, units_t.c.id == work_t.c.lead_unit_id)
        .where(work_t.c.book_id == book_id, work_t.c.parent_id.is_(None))
        .order_by(work_t.c.seq, work_t.c.id)
    ).all()
    ids = [r.id for r in rows]
    stones: dict[int, list[Milestone]] = {}
    for m in conn.execute(
        select(milestones_t.c.task_id, milestones_t.c.title, milestones_t.c.due_on)
        .where(milestones_t.c.task_id.in_(ids))
        .order_by(milestones_t.c.task_id, milestones_t.c.seq)
    ):
        stones.setdefault(m.task_id, []).append(Milestone(m.title, m.due_on))
    co_ids = {u for r in rows for u in (r.co_units or [])}
    names = pairs(
        conn.execute(select(units_t.c.id, units_t.c.name).where(units_t.c.id.in_(co_ids)))
    )
    return [
        BookTask(
            r.id,
            r.seq,
            r.title,
            r.detail,
            r.source,
            r.lead_unit_id,
            r.lead_name,
            tuple(names.get(u, str(u)) for u in r.co_units or []),
            r.deadline,
            r.weight,
            tuple(stones.get(r.id, [])),
            r.case_id,
        )
        for r in rows
    ]


def books_for(conn: Connection, actor: Actor, *, limit: int = 200) -> list[Any]:
    """The books the actor may read, newest year first."""
    scopes = actor.scopes()
    if not scopes:
        return []
    from sqlalchemy import or_

    rows = conn.execute(
        select(books_t, cases_t.c.state, units_t.c.name.label("unit_name"), units_t.c.path)
        .join(cases_t, cases_t.c.id == books_t.c.case_id)
        .join(units_t, units_t.c.id == books_t.c.unit_id)
        .where(or_(*(units_t.c.path.startswith(p, autoescape=True) for p in scopes)))
        .order_by(books_t.c.year.desc(), units_t.c.path, books_t.c.id)
        .limit(limit)
    ).all()
    return [r for r in rows if actor.sees(r.path)]


def today_of(engine: CaseEngine) -> dt.date:
    return local_date(engine.clock.now())
