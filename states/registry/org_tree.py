"""The org tree as a bureau keeps it: loaded from a spreadsheet (created by code, updated by
code on a re-import), edited in the pages, renamed, merged and closed, every change on the
unit's sealed trail (``history``, kind UNIT).

Who may change what is ``scope``'s rule: an officer changes the units of their own subtree
(a county its schools), and a unit is closed or merged by the unit above it, never by
itself. Outside the subtree a unit is "not found".

Rules an import checks row by row (a row report; nothing written unless every row is good or
the officer asks for the valid rows only):

- a code is the unit's identity: a re-import updates the unit with that code, a rename keeps
  it; a code used by a unit outside the importer's subtree is refused;
- the parent is earlier in the file or already in the database, and inside the importer's
  subtree; an unknown parent code is a row error, and so is a row under a refused row;
- a tier fits under its parent (city under province, county under city, school under
  county or city: a school under a city is a city-direct school, 市直属学校); tiers and
  parents of existing units do not change by import (a move would rewrite the paths cases
  are sealed with: merge or close and create instead);
- the rural, weak-school and self-review-pilot flags are a school's;
- a closed unit takes no changes and no new units under it.

Set-based: a province's 20,000 schools are looked up in chunks, created one tier at a time
with executemany (their paths need their ids), and their history written in one statement.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)

from states.clock import local_date
from states.errors import Conflict, FormError, NotFound, PermissionDenied
from states.org import (
    TIER_LABELS,
    TIERS,
    Actor,
    in_scope,
    unit_path,
)
from states.registry import history
from states.registry.history import Entry
from states.registry.imports import ImportReport, chunks, first_error, row_error
from states.registry.scope import OPERATOR, managed_paths, manages, require_manages
from states.sheets import CellError, Column, Schema, Table, template_xlsx, validate, write_xlsx
from states.sheets.columns import parse_yes_no, text_up_to
from states.store.models import Case, OrgUnit, Task, Teacher, table_of

units_t, teachers_t = table_of(OrgUnit), table_of(Teacher)
cases_t, tasks_t = table_of(Case), table_of(Task)

# Who loads a province before anyone has an account (states.registry.scope.OPERATOR).
ROOT_OPERATOR = OPERATOR

# The tiers a unit of each tier may hang under (a school under a city is city-direct).
PARENT_TIERS: Mapping[str, tuple[str, ...]] = {
    "province": (),
    "city": ("province",),
    "county": ("city",),
    "school": ("county", "city"),
}
TIER_RANK = {t: i for i, t in enumerate(TIERS)}
FLAGS = ("is_rural", "is_weak", "self_review_pilot")
FLAG_LABELS = {"is_rural": "农村学校", "is_weak": "薄弱学校", "self_review_pilot": "自主评审试点"}
# What a unit's history records, by the row's own column names (``history.fold`` of a
# unit's trail gives these columns as the row has them).
TRACKED = ("code", "name", "tier", "parent_id", *FLAGS, "closed_on", "merged_into_id")
PAGE = 50

# --- the spreadsheet ---------------------------------------------------------------------------
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
_TIER_WORDS = {
    **{t: t for t in TIERS},
    **{label: t for t, label in TIER_LABELS.items()},
    "省级": "province",
    "省教育厅": "province",
    "市级": "city",
    "地市": "city",
    "地级市": "city",
    "市教育局": "city",
    "县": "county",
    "区": "county",
    "县区": "county",
    "县(区)": "county",
    "县级": "county",
    "县教育局": "county",
    "区教育局": "county",
    "校": "school",
    "学校级": "school",
}


def parse_code(text: str) -> str:
    code = text.lstrip("'")
    if not _CODE.fullmatch(code):
        raise ValueError("单位代码只能由字母、数字和 - _ . 组成，以字母或数字开头，不超过32个字符")
    return code


def parse_tier(text: str) -> str:
    tier = _TIER_WORDS.get(text.replace(" ", "").lower())
    if tier is None:
        raise ValueError("层级应为 省、市、县（区） 或 学校")
    return tier


ORG = Schema(
    "org_units",
    "机构",
    (
        Column("code", "单位代码", ("机构代码", "学校代码", "代码", "code"), True, parse_code),
        Column(
            "name",
            "单位名称",
            ("机构名称", "学校名称", "名称", "name"),
            True,
            text_up_to(128, "单位名称"),
        ),
        Column("tier", "层级", ("单位层级", "单位类型", "级别", "tier"), True, parse_tier),
        Column(
            "parent_code",
            "上级单位代码",
            ("上级代码", "上级机构代码", "主管单位代码", "parent"),
            False,
            parse_code,
        ),
        Column("is_rural", "农村学校", ("是否农村学校", "乡村学校", "农村"), False, parse_yes_no),
        Column("is_weak", "薄弱学校", ("是否薄弱学校", "薄弱"), False, parse_yes_no),
        Column(
            "self_review_pilot",
            "自主评审试点",
            ("是否自主评审试点", "自主评审试点学校", "自主评审"),
            False,
            parse_yes_no,
        ),
    ),
    key="code",
)


def org_template() -> bytes:
    """An empty org-tree import file with the canonical headers."""
    return template_xlsx(ORG)


def write_org(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """An org-tree file the import reads back (the demo writes its province this way):
    rows of code, name, tier (a code or a label), parent_code and the three flags, parents
    before children, streamed row by row."""
    columns = [(c.name, c.label) for c in ORG.columns]
    shown = (
        {**row, "tier": TIER_LABELS.get(str(row.get("tier")), row.get("tier"))} for row in rows
    )
    path.write_bytes(write_xlsx(columns, shown, title=ORG.label, mask=()))


# --- units as read ------------------------------------------------------------------------------
@dataclass(frozen=True)
class UnitRow:
    id: int
    code: str
    name: str
    tier: str
    parent_id: int | None
    parent_code: str | None
    path: str
    is_rural: bool
    is_weak: bool
    self_review_pilot: bool
    closed_on: dt.date | None
    merged_into_id: int | None
    version: int
    parent_tier: str | None = None

    @property
    def tier_label(self) -> str:
        return TIER_LABELS.get(self.tier, self.tier)

    @property
    def closed(self) -> bool:
        return self.closed_on is not None

    @property
    def city_direct(self) -> bool:
        """A school directly under a city (市直属学校): its county's work is the city's."""
        return self.tier == "school" and self.parent_tier == "city"

    def values(self) -> dict[str, Any]:
        """The tracked columns, as the history records them."""
        return {k: getattr(self, k) for k in TRACKED}


_parent = units_t.alias("parent")
UNIT = select(
    units_t.c.id,
    units_t.c.code,
    units_t.c.name,
    units_t.c.tier,
    units_t.c.parent_id,
    _parent.c.code.label("parent_code"),
    units_t.c.path,
    units_t.c.is_rural,
    units_t.c.is_weak,
    units_t.c.self_review_pilot,
    units_t.c.closed_on,
    units_t.c.merged_into_id,
    units_t.c.version,
    _parent.c.tier.label("parent_tier"),
).outerjoin(_parent, _parent.c.id == units_t.c.parent_id)


def unit_row(r: Any) -> UnitRow:
    return UnitRow(
        id=r.id, code=r.code, name=r.name, tier=r.tier, parent_id=r.parent_id,
        parent_code=r.parent_code, path=r.path, is_rural=bool(r.is_rural),
        is_weak=bool(r.is_weak), self_review_pilot=bool(r.self_review_pilot),
        closed_on=r.closed_on, merged_into_id=r.merged_into_id, version=r.version,
        parent_tier=r.parent_tier,
    )  # fmt: skip


def units_by_code(conn: Connection, codes: Iterable[str]) -> dict[str, UnitRow]:
    wanted = sorted(set(codes))
    out: dict[str, UnitRow] = {}
    for chunk in chunks(wanted):
        for r in conn.execute(UNIT.where(units_t.c.code.in_(chunk))):
            out[r.code] = unit_row(r)
    return out


def find_unit(conn: Connection, unit_id: int) -> UnitRow | None:
    r = conn.execute(UNIT.where(units_t.c.id == unit_id)).one_or_none()
    return None if r is None else unit_row(r)


def get_unit(conn: Connection, actor: Actor, unit_id: int) -> UnitRow:
    """A unit the actor manages; anything else (absent or outside) is not found."""
    unit = find_unit(conn, unit_id)
    if unit is None:
        raise NotFound("单位不存在或不在您的管理范围内")
    require_manages(actor, unit.path)
    return unit


def unit_by_code(conn: Connection, actor: Actor, code: str, field: str = "code") -> UnitRow:
    """A unit by its code, inside the actor's subtree; a form error on ``field`` otherwise."""
    found = units_by_code(conn, [code.strip()]).get(code.strip())
    if found is None or not manages(actor, found.path):
        raise FormError(field, f"单位代码“{code}”不存在或不在您的管理范围内")
    return found


def _in_scope(actor: Actor) -> Any:
    paths = managed_paths(actor)
    if not paths:
        return units_t.c.id.is_(None)
    return or_(*(units_t.c.path.startswith(p, autoescape=True) for p in paths))


def roots(conn: Connection, actor: Actor) -> list[UnitRow]:
    """The top of what the actor manages: the units their officer roles are bound at."""
    paths = managed_paths(actor)
    tops = [p for p in paths if not any(q != p and in_scope(q, p) for q in paths)]
    ids = sorted({int(p.strip("/").split("/")[-1]) for p in tops if p.strip("/")})
    if "/" in tops:  # the whole tree: its provinces
        rows = conn.execute(UNIT.where(units_t.c.parent_id.is_(None)).order_by(units_t.c.id))
    else:
        rows = conn.execute(UNIT.where(units_t.c.id.in_(ids)).order_by(units_t.c.id))
    return [unit_row(r) for r in rows]


def children(
    conn: Connection,
    actor: Actor,
    unit_id: int,
    *,
    page: int = 1,
    size: int = PAGE,
    include_closed: bool = True,
) -> tuple[list[UnitRow], int]:
    """A unit's children, open ones first, by code; and how many there are."""
    get_unit(conn, actor, unit_id)
    where = [units_t.c.parent_id == unit_id]
    if not include_closed:
        where.append(units_t.c.closed_on.is_(None))
    total = int(conn.execute(select(func.count()).select_from(units_t).where(*where)).scalar_one())
    rows = conn.execute(
        UNIT.where(*where)
        .order_by(units_t.c.closed_on.is_not(None), units_t.c.tier, units_t.c.code)
        .limit(size)
        .offset(max(page - 1, 0) * size)
    )
    return [unit_row(r) for r in rows], total


def child_counts(conn: Connection, ids: Sequence[int]) -> dict[int, int]:
    """How many open children each unit has (the tree's "下属单位" column)."""
    out: dict[int, int] = {}
    for chunk in chunks(sorted(set(ids))):
        rows = conn.execute(
            select(units_t.c.parent_id, func.count())
            .where(units_t.c.parent_id.in_(chunk), units_t.c.closed_on.is_(None))
            .group_by(units_t.c.parent_id)
        )
        out.update({int(p): int(n) for p, n in rows})
    return out


def search(conn: Connection, actor: Actor, q: str, *, limit: int = PAGE) -> list[UnitRow]:
    """Units in the actor's subtree whose code starts with ``q`` or whose name contains it."""
    text = q.strip()[:64]
    if not text:
        return []
    rows = conn.execute(
        UNIT.where(
            _in_scope(actor),
            or_(
                units_t.c.code.startswith(text, autoescape=True),
                units_t.c.name.contains(text, autoescape=True),
            ),
        )
        .order_by(units_t.c.closed_on.is_not(None), units_t.c.path)
        .limit(limit)
    )
    return [unit_row(r) for r in rows]


def ancestors(conn: Connection, unit: UnitRow) -> list[UnitRow]:
    """The units above ``unit``, root first (the unit page's breadcrumb)."""
    ids = [int(p) for p in unit.path.strip("/").split("/")[:-1] if p]
    if not ids:
        return []
    rows = {r.id: unit_row(r) for r in conn.execute(UNIT.where(units_t.c.id.in_(ids)))}
    return [rows[i] for i in ids if i in rows]


# --- importing ----------------------------------------------------------------------------------
@dataclass
class _Plan:
    creates: list[dict[str, Any]]
    updates: list[tuple[UnitRow, dict[str, Any]]]
    unchanged: int
    errors: list[CellError]


def _plan(conn: Connection, rows: Sequence[dict[str, Any]], actor: Actor) -> _Plan:
    """Every row checked against the database, the file and the actor's scope, parents
    first; nothing is written here."""
    codes = {r["code"] for r in rows} | {r["parent_code"] for r in rows if r.get("parent_code")}
    known = units_by_code(conn, codes)
    plan = _Plan([], [], 0, [])
    placed: dict[str, tuple[str, bool]] = {}  # code -> (tier, closed), rows that passed
    failed: dict[str, int] = {}  # code -> row number of a refused row
    for r in sorted(rows, key=lambda r: (TIER_RANK[r["tier"]], r["row"])):
        problems: list[tuple[str, str]] = []
        code, tier, existing = r["code"], r["tier"], known.get(r["code"])
        if tier != "school":
            problems += [
                (f, f"只有学校可以标注为{FLAG_LABELS[f]}") for f in FLAGS if r.get(f) is True
            ]
        if existing is not None:
            change = _existing(r, existing, actor, problems)
            if not problems:
                placed[code] = (existing.tier, existing.closed)
                if change:
                    plan.updates.append((existing, change))
                else:
                    plan.unchanged += 1
        else:
            _new_parent(r, known, placed, failed, actor, problems)
            if not problems:
                placed[code] = (tier, False)
                plan.creates.append(r)
        if problems:
            failed[code] = r["row"]
            plan.errors += [row_error(ORG, r, f, reason) for f, reason in problems]
    plan.errors.sort(key=lambda e: e.row)
    return plan


def _existing(
    r: dict[str, Any], unit: UnitRow, actor: Actor, problems: list[tuple[str, str]]
) -> dict[str, Any]:
    """The changes a row makes to a unit already in the database."""
    if not manages(actor, unit.path):
        problems.append(("code", "该单位代码已被您管理范围以外的单位使用"))
        return {}
    if r["tier"] != unit.tier:
        problems.append(("tier", f"层级不能修改：系统中该单位为{unit.tier_label}"))
    parent = r.get("parent_code")
    if parent and parent != unit.parent_code:
        problems.append(
            (
                "parent_code",
                f"上级单位与系统中不一致（系统中为{unit.parent_code or '无'}）；"
                "调整隶属关系请将该单位合并或撤销后另行新建",
            )
        )
    change = {"name": r["name"]} if r["name"] != unit.name else {}
    change.update({f: r[f] for f in FLAGS if r.get(f) is not None and r[f] != getattr(unit, f)})
    if change and unit.closed_on is not None:
        problems.append(("code", f"该单位已于{unit.closed_on.isoformat()}撤销，不能修改"))
    return change


def _new_parent(
    r: dict[str, Any],
    known: Mapping[str, UnitRow],
    placed: Mapping[str, tuple[str, bool]],
    failed: Mapping[str, int],
    actor: Actor,
    problems: list[tuple[str, str]],
) -> None:
    """Where a new unit goes: its parent must be known, open, in scope and of a fitting
    tier; a province (no parent) only by an officer over the whole tree."""
    tier, parent = r["tier"], r.get("parent_code")
    if tier == "province":
        if parent:
            problems.append(("parent_code", "省级单位没有上级单位，本栏应为空"))
        elif not manages(actor, "/"):
            problems.append(("tier", "新建省级单位须由系统管理员办理"))
        return
    if not parent:
        problems.append(("parent_code", "上级单位代码不能为空"))
        return
    if parent == r["code"]:
        problems.append(("parent_code", "上级单位不能是本单位"))
        return
    unknown = f"上级单位代码“{parent}”不存在或不在您的管理范围内"
    if parent in failed:
        problems.append(("parent_code", f"上级单位（第{failed[parent]}行）有错误，本行未导入"))
        return
    if parent in placed:
        parent_tier, closed = placed[parent]
    elif parent in known and manages(actor, known[parent].path):
        parent_tier, closed = known[parent].tier, known[parent].closed
    else:
        problems.append(("parent_code", unknown))
        return
    if closed:
        problems.append(("parent_code", f"上级单位“{parent}”已撤销，不能在其下新建单位"))
    elif parent_tier not in PARENT_TIERS[tier]:
        allowed = "或".join(TIER_LABELS[t] for t in PARENT_TIERS[tier])
        problems.append(
            (
                "parent_code",
                f"{TIER_LABELS[tier]}的上级单位应为{allowed}，“{parent}”是{TIER_LABELS[parent_tier]}",
            )
        )


def _apply(
    conn: Connection,
    plan: _Plan,
    *,
    actor: Actor,
    at: dt.datetime,
    source: str,
    source_ref: str | None,
) -> dict[str, int]:
    """Write the plan: new units a tier at a time (a path needs its parent's), changed ones
    with one executemany, and every unit's history entry. Returns the new units' ids."""
    codes = {r["code"] for r in plan.creates} | {
        r["parent_code"] for r in plan.creates if r.get("parent_code")
    }
    where: dict[str, tuple[int, str]] = {
        c: (u.id, u.path) for c, u in units_by_code(conn, codes).items()
    }
    created: dict[str, int] = {}
    entries: list[Entry] = []
    for tier in TIERS:
        batch = [r for r in plan.creates if r["tier"] == tier]
        if not batch:
            continue
        params = [
            {
                "parent_id": where[r["parent_code"]][0] if r.get("parent_code") else None,
                "tier": tier, "code": r["code"], "name": r["name"], "path": "-",
                "is_rural": bool(r.get("is_rural")), "is_weak": bool(r.get("is_weak")),
                "self_review_pilot": bool(r.get("self_review_pilot")), "version": 1,
            }
            for r in batch
        ]  # fmt: skip
        ids = list(
            conn.execute(
                insert(units_t).returning(units_t.c.id, sort_by_parameter_order=True), params
            ).scalars()
        )
        paths = []
        for r, p, uid in zip(batch, params, ids, strict=True):
            parent_path = where[r["parent_code"]][1] if r.get("parent_code") else None
            path = unit_path(parent_path, uid)
            where[r["code"]] = (uid, path)
            created[r["code"]] = uid
            paths.append({"b_id": uid, "b_path": path})
            entries.append(Entry(uid, history.diff(None, _tracked(p))))
        conn.execute(
            update(units_t)
            .where(units_t.c.id == bindparam("b_id"))
            .values(path=bindparam("b_path")),
            paths,
        )
    history.record(
        conn, history.UNIT, entries, actor=actor, at=at, source=source, source_ref=source_ref,
        fresh=True,
    )  # fmt: skip
    if plan.updates:
        _update_many(conn, plan.updates, actor=actor, at=at, source=source, source_ref=source_ref)
    return created


def _tracked(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: params.get(k) for k in TRACKED if k in params}


def _update_many(
    conn: Connection,
    updates: Sequence[tuple[UnitRow, dict[str, Any]]],
    *,
    actor: Actor,
    at: dt.datetime,
    source: str,
    source_ref: str | None,
) -> None:
    params = [
        {
            "b_id": u.id, "b_version": u.version,
            "b_name": change.get("name", u.name),
            **{f"b_{f}": change.get(f, getattr(u, f)) for f in FLAGS},
        }
        for u, change in updates
    ]  # fmt: skip
    done = conn.execute(
        update(units_t)
        .where(units_t.c.id == bindparam("b_id"), units_t.c.version == bindparam("b_version"))
        .values(
            name=bindparam("b_name"),
            is_rural=bindparam("b_is_rural"),
            is_weak=bindparam("b_is_weak"),
            self_review_pilot=bindparam("b_self_review_pilot"),
            version=units_t.c.version + 1,
        ),
        params,
    ).rowcount
    if done is not None and 0 <= done < len(params):
        raise Conflict("导入期间有单位被他人修改，本次导入未生效，请重新导入")
    history.record(
        conn, history.UNIT,
        [Entry(u.id, history.diff(u.values(), change)) for u, change in updates],
        actor=actor, at=at, source=source, source_ref=source_ref,
    )  # fmt: skip


def import_org(
    conn: Connection,
    table: Table,
    *,
    actor: Actor,
    at: dt.datetime,
    source_ref: str | None = None,
    valid_only: bool = False,
) -> ImportReport:
    """Create units by code and update them by code, in the caller's transaction. With any
    error nothing is written unless ``valid_only`` (then the good rows are, and a row under
    a refused row is refused too)."""
    checked = validate(table, ORG)
    report = ImportReport.of(checked, valid_only=valid_only)
    if not checked.rows:
        return report
    plan = _plan(conn, checked.rows, actor)
    for e in plan.errors:
        report.add(e)
    report.errors.sort(key=lambda e: e.row)
    report.created, report.updated, report.unchanged = (
        len(plan.creates),
        len(plan.updates),
        plan.unchanged,
    )
    if report.error_count and not valid_only:
        return report
    _apply(conn, plan, actor=actor, at=at, source="import", source_ref=source_ref)
    report.written = True
    return report


def create_unit(
    conn: Connection,
    actor: Actor,
    *,
    at: dt.datetime,
    code: str,
    name: str,
    tier: str,
    parent_code: str | None,
    is_rural: bool = False,
    is_weak: bool = False,
    self_review_pilot: bool = False,
) -> UnitRow:
    """One new unit from a form, checked by the import's own rules; a refusal names the
    form's field."""
    row: dict[str, Any] = {"row": 1}
    for name_, parse, raw in (
        ("code", parse_code, code),
        ("name", text_up_to(128, "单位名称"), name),
        ("tier", parse_tier, tier),
        ("parent_code", parse_code, parent_code or ""),
    ):
        text = (raw or "").strip()
        if not text:
            if name_ != "parent_code":
                raise FormError(name_, f"{ORG.column(name_).label}不能为空")
            row[name_] = None
            continue
        try:
            row[name_] = parse(text)
        except ValueError as exc:
            raise FormError(name_, str(exc)) from None
    row.update(is_rural=is_rural, is_weak=is_weak, self_review_pilot=self_review_pilot)
    if units_by_code(conn, [row["code"]]):
        raise FormError("code", "单位代码已被使用")
    plan = _plan(conn, [row], actor)
    error = first_error(ORG, plan.errors)
    if error is not None:
        raise error
    created = _apply(conn, plan, actor=actor, at=at, source="edit", source_ref="新建单位")
    unit = find_unit(conn, created[row["code"]])
    assert unit is not None
    return unit


# --- editing one unit ---------------------------------------------------------------------------
def _stale(unit: UnitRow, expected: int) -> None:
    if unit.version != expected:
        raise Conflict(
            f"“{unit.name}”已被他人修改（当前版本{unit.version}，您提交的是版本{expected}），"
            "请刷新后重试"
        )


def _write(
    conn: Connection,
    unit: UnitRow,
    values: Mapping[str, Any],
    *,
    actor: Actor,
    at: dt.datetime,
    source: str,
    source_ref: str,
) -> UnitRow:
    """One versioned update and its history entry: a writer that read an older version
    changes nothing and is told so."""
    done = conn.execute(
        update(units_t)
        .where(units_t.c.id == unit.id, units_t.c.version == unit.version)
        .values(**values, version=units_t.c.version + 1)
    ).rowcount
    if done != 1:
        raise Conflict(f"“{unit.name}”已被他人修改，请刷新后重试")
    history.record(
        conn, history.UNIT, [Entry(unit.id, history.diff(unit.values(), values))],
        actor=actor, at=at, source=source, source_ref=source_ref,
    )  # fmt: skip
    fresh = find_unit(conn, unit.id)
    assert fresh is not None
    return fresh


def edit_unit(
    conn: Connection,
    actor: Actor,
    unit_id: int,
    *,
    expected_version: int,
    at: dt.datetime,
    name: str | None = None,
    is_rural: bool | None = None,
    is_weak: bool | None = None,
    self_review_pilot: bool | None = None,
) -> UnitRow:
    """Rename a unit (its code stays) or set its flags. A stale version is a conflict."""
    unit = get_unit(conn, actor, unit_id)
    _stale(unit, expected_version)
    if unit.closed:
        raise Conflict(f"该单位已于{unit.closed_on}撤销，不能修改")
    values: dict[str, Any] = {}
    if name is not None:
        text = name.strip()
        if not text:
            raise FormError("name", "单位名称不能为空")
        if len(text) > 128:
            raise FormError("name", f"单位名称不能超过128个字，实际为{len(text)}个字")
        if text != unit.name:
            values["name"] = text
    for key, value in (
        ("is_rural", is_rural),
        ("is_weak", is_weak),
        ("self_review_pilot", self_review_pilot),
    ):
        if value is None or value == getattr(unit, key):
            continue
        if unit.tier != "school" and value:
            raise FormError(key, f"只有学校可以标注为{FLAG_LABELS[key]}")
        values[key] = value
    if not values:
        return unit
    what = "更名" if set(values) == {"name"} else "修改"
    return _write(conn, unit, values, actor=actor, at=at, source="edit", source_ref=what)


def _closable(conn: Connection, actor: Actor, unit_id: int, expected_version: int) -> UnitRow:
    """A unit its parent's officers may close: open, with no open units under it."""
    unit = get_unit(conn, actor, unit_id)
    if unit.parent_id is None:
        raise PermissionDenied("省级单位不能撤销或合并")
    parent = find_unit(conn, unit.parent_id)
    if parent is None or not manages(actor, parent.path):
        raise PermissionDenied("撤销或合并单位须由其上级单位办理")
    _stale(unit, expected_version)
    if unit.closed:
        raise Conflict(f"该单位已于{unit.closed_on}撤销")
    open_children = child_counts(conn, [unit.id]).get(unit.id, 0)
    if open_children:
        raise Conflict(f"该单位下还有{open_children}个未撤销的下属单位，请先将其合并或撤销")
    return unit


def _closing_day(on: dt.date | None, at: dt.datetime) -> dt.date:
    return on or local_date(at)


def close_unit(
    conn: Connection,
    actor: Actor,
    unit_id: int,
    *,
    expected_version: int,
    at: dt.datetime,
    on: dt.date | None = None,
) -> UnitRow:
    """Close (撤销) a unit with no teachers and no open units left under it: it keeps its
    code, history and cases, and takes no new case. Its open cases and tasks are listed on
    its page for handover (``handover``)."""
    unit = _closable(conn, actor, unit_id, expected_version)
    staff = int(
        conn.execute(
            select(func.count()).select_from(teachers_t).where(teachers_t.c.school_id == unit.id)
        ).scalar_one()
    )
    if staff:
        raise Conflict(f"该校还有{staff}名教师的档案，撤销前请先将教师调出，或将学校合并到其他学校")
    day = _closing_day(on, at)
    return _write(
        conn, unit, {"closed_on": day}, actor=actor, at=at, source="edit", source_ref="撤销"
    )


@dataclass(frozen=True)
class Merged:
    unit: UnitRow
    into: UnitRow
    teachers_moved: int


def merge_unit(
    conn: Connection,
    actor: Actor,
    unit_id: int,
    *,
    into_code: str,
    expected_version: int,
    at: dt.datetime,
    on: dt.date | None = None,
) -> Merged:
    """Merge a unit into another of its tier (合并): its teachers move to the surviving
    unit (each with a history entry, source "move"), and it is closed naming where it went."""
    unit = _closable(conn, actor, unit_id, expected_version)
    into = unit_by_code(conn, actor, into_code, "into_code")
    if into.id == unit.id:
        raise FormError("into_code", "不能合并到本单位")
    if into.tier != unit.tier:
        raise FormError("into_code", f"只能合并到同层级的单位：“{into.name}”是{into.tier_label}")
    if into.closed:
        raise FormError("into_code", f"“{into.name}”已撤销，不能作为合并后的单位")
    moving = list(
        conn.execute(
            select(teachers_t.c.person_id).where(teachers_t.c.school_id == unit.id)
        ).scalars()
    )
    ref = f"{unit.code} 合并到 {into.code}"
    for chunk in chunks(moving):
        conn.execute(
            update(teachers_t)
            .where(teachers_t.c.person_id.in_(chunk))
            .values(school_id=into.id, **_bump(teachers_t))
        )
    history.record(
        conn, history.TEACHER,
        [Entry(p, {"school_id": (unit.id, into.id)}) for p in moving],
        actor=actor, at=at, source="move", source_ref=ref,
    )  # fmt: skip
    day = _closing_day(on, at)
    closed = _write(
        conn, unit, {"closed_on": day, "merged_into_id": into.id},
        actor=actor, at=at, source="edit", source_ref=ref,
    )  # fmt: skip
    return Merged(closed, into, len(moving))


def _bump(table: Any) -> dict[str, Any]:
    """A record's version moved with the change, where the record keeps one."""
    return {"version": table.c.version + 1} if "version" in table.c else {}


def unit_history(conn: Connection, actor: Actor, unit_id: int) -> list[history.HistoryEntry]:
    get_unit(conn, actor, unit_id)
    return history.entries_of(conn, history.UNIT, unit_id)


# --- a closed unit's unfinished work ------------------------------------------------------------
@dataclass(frozen=True)
class OpenCase:
    id: int
    process: str
    state: str
    year: int
    applicant_id: int | None
    opened_at: dt.datetime


@dataclass(frozen=True)
class OpenTask:
    id: int
    case_id: int
    process: str
    state: str
    role: str | None
    assignee_id: int | None
    due_on: dt.date | None


@dataclass(frozen=True)
class Handover:
    """What a closed (or closing) unit leaves to hand over: the cases opened at it that are
    not finished, and the open tasks its staff hold (on its own cases or others')."""

    cases: list[OpenCase]
    tasks: list[OpenTask]
    case_total: int
    task_total: int


def handover(conn: Connection, actor: Actor, unit_id: int, *, limit: int = 200) -> Handover:
    get_unit(conn, actor, unit_id)
    open_cases = (cases_t.c.org_unit_id == unit_id, cases_t.c.closed_at.is_(None))
    cases = [
        OpenCase(r.id, r.process, r.state, r.year, r.applicant_id, r.opened_at)
        for r in conn.execute(
            select(
                cases_t.c.id, cases_t.c.process, cases_t.c.state, cases_t.c.year,
                cases_t.c.applicant_id, cases_t.c.opened_at,
            )
            .where(*open_cases)
            .order_by(cases_t.c.id)
            .limit(limit)
        )
    ]  # fmt: skip
    open_tasks = (tasks_t.c.org_unit_id == unit_id, tasks_t.c.status.in_(("open", "waiting")))
    tasks = [
        OpenTask(r.id, r.case_id, r.process, r.state, r.role, r.assignee_id, r.due_on)
        for r in conn.execute(
            select(
                tasks_t.c.id, tasks_t.c.case_id, cases_t.c.process, tasks_t.c.state,
                tasks_t.c.role, tasks_t.c.assignee_id, tasks_t.c.due_on,
            )
            .join(cases_t, cases_t.c.id == tasks_t.c.case_id)
            .where(*open_tasks)
            .order_by(tasks_t.c.due_on, tasks_t.c.id)
            .limit(limit)
        )
    ]  # fmt: skip
    count = select(func.count())
    return Handover(
        cases=cases,
        tasks=tasks,
        case_total=int(conn.execute(count.select_from(cases_t).where(*open_cases)).scalar_one()),
        task_total=int(conn.execute(count.select_from(tasks_t).where(*open_tasks)).scalar_one()),
    )
