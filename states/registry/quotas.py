"""Posts per school, title level and year (岗位结构比例/职数): imported and edited, shown
with how many are used and how many are free.

"Used" is counted from the cases themselves, never kept: a case holds a post of a title by
its slot (``states.blocks.slots``: the key ``title:<title>`` at its school and year) until it
ends in a state that frees it. A teacher with 30 or more years in rural schools is not
counted against the posts (不受岗位职数限制): such a case holds no slot and says so in its
data (``quota_exempt``, with the title in ``target_title``), and is counted apart, never in
"used". A school cannot be given fewer posts than are used.

Every change is on the school's trail (``history``, kind UNIT) under ``quota:<year>:<title>``.
Two officers saving the same line from the same page: the second is refused (409).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    func,
    insert,
    not_,
    or_,
    select,
    true,
    update,
)

from states.errors import Conflict, FormError, NotFound
from states.org import TITLE_LABELS, TITLES, Actor
from states.process.package import Catalogue
from states.process.spec import TERMINAL_NEGATIVE
from states.registry import history
from states.registry.history import Entry
from states.registry.imports import ImportReport, chunks, row_error
from states.registry.org_tree import (
    UNIT,
    UnitRow,
    get_unit,
    parse_code,
    unit_row,
    units_by_code,
)
from states.registry.scope import managed_paths, manages
from states.sheets import Column, Schema, Table, template_xlsx, validate, write_xlsx
from states.store.models import Case, OrgUnit, Quota, table_of

quotas_t, cases_t, units_t = table_of(Quota), table_of(Case), table_of(OrgUnit)

# The titles a school has posts of: every rung a teacher is reviewed for (三级 is where a
# career starts, not a post one is promoted to).
QUOTA_TITLES = TITLES[1:]
SLOT_PREFIX = "title:"
# What a case exempt from the posts writes in its data (title review: 30 years rural).
EXEMPT_FLAG, EXEMPT_TITLE = "quota_exempt", "target_title"
MAX_POSTS = 100_000
PAGE = 30  # schools per page

# Process name -> the states that free a slot (tagged terminal_negative).
Ended = Mapping[str, Collection[str]]


def ended_states(catalogue: Catalogue) -> dict[str, frozenset[str]]:
    """The states of each installed process in which a case no longer holds its slot."""
    return {name: frozenset(spec.tagged(TERMINAL_NEGATIVE)) for name, spec in catalogue.items()}


def slot_of(title: str) -> str:
    return f"{SLOT_PREFIX}{title}"


# --- the spreadsheet ---------------------------------------------------------------------------
_TITLE_WORDS = {
    **{t: t for t in TITLES},
    **{label: t for t, label in TITLE_LABELS.items()},
    **{label.removesuffix("教师"): t for t, label in TITLE_LABELS.items()},
    "正高": "full_senior",
    "中小学正高级教师": "full_senior",
    "中小学高级教师": "senior",
    "中小学一级教师": "grade1",
    "中小学二级教师": "grade2",
    "中小学三级教师": "grade3",
}


def parse_title(text: str) -> str:
    title = _TITLE_WORDS.get(text.replace(" ", "").lower()) or _TITLE_WORDS.get(text.strip())
    if title is None:
        raise ValueError("职称应为 三级教师、二级教师、一级教师、高级教师 或 正高级教师")
    return title


def parse_year(text: str) -> int:
    if not re.fullmatch(r"\d{4}(年|年度)?", text):
        raise ValueError("年度应为四位数字，如 2026")
    year = int(text[:4])
    if not 2000 <= year <= 2100:
        raise ValueError("年度应在2000到2100之间")
    return year


def parse_posts(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("岗位数应为整数") from None
    if not value.is_integer():
        raise ValueError("岗位数应为整数")
    if not 0 <= value <= MAX_POSTS:
        raise ValueError(f"岗位数应在0到{MAX_POSTS}之间")
    return int(value)


QUOTAS = Schema(
    "quotas",
    "岗位职数",
    (
        Column("code", "学校代码", ("单位代码", "学校编码", "代码", "code"), True, parse_code),
        Column("year", "年度", ("年份", "year"), True, parse_year),
        Column("title", "职称", ("职称等级", "岗位等级", "title"), True, parse_title),
        Column("posts", "岗位数", ("职数", "岗位职数", "指标数", "posts"), True, parse_posts),
    ),
    key=None,
)


def quotas_template() -> bytes:
    return template_xlsx(QUOTAS)


def write_quotas(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """A quota file the import reads back: rows of code, year, title (code or label), posts."""
    columns = [(c.name, c.label) for c in QUOTAS.columns]
    shown = (
        {**row, "title": TITLE_LABELS.get(str(row.get("title")), row.get("title"))} for row in rows
    )
    path.write_bytes(write_xlsx(columns, shown, title=QUOTAS.label, mask=()))


# --- counting ----------------------------------------------------------------------------------
def _live(ended: Ended | None) -> Any:
    """Cases still holding what they took: not in a state that frees it."""
    gone = [
        and_(cases_t.c.process == p, cases_t.c.state.in_(sorted(states)))
        for p, states in (ended or {}).items()
        if states
    ]
    return not_(or_(*gone)) if gone else true()


def used_counts(
    conn: Connection, unit_ids: Sequence[int], year: int, ended: Ended | None
) -> dict[tuple[int, str], int]:
    """(school, title) -> cases holding a post of that title in ``year``."""
    out: dict[tuple[int, str], int] = {}
    for chunk in chunks(sorted(set(unit_ids))):
        rows = conn.execute(
            select(cases_t.c.org_unit_id, cases_t.c.slot_key, func.count())
            .where(
                cases_t.c.org_unit_id.in_(chunk),
                cases_t.c.year == year,
                cases_t.c.slot_key.startswith(SLOT_PREFIX),
                _live(ended),
            )
            .group_by(cases_t.c.org_unit_id, cases_t.c.slot_key)
        )
        for unit, key, n in rows:
            out[(int(unit), key[len(SLOT_PREFIX) :])] = int(n)
    return out


def exempt_counts(
    conn: Connection, unit_ids: Sequence[int], year: int, ended: Ended | None
) -> dict[tuple[int, str], int]:
    """(school, title) -> cases recommended without taking a post (30 years rural)."""
    title = cases_t.c.data[EXEMPT_TITLE].as_string()
    out: dict[tuple[int, str], int] = {}
    for chunk in chunks(sorted(set(unit_ids))):
        rows = conn.execute(
            select(cases_t.c.org_unit_id, title, func.count())
            .where(
                cases_t.c.org_unit_id.in_(chunk),
                cases_t.c.year == year,
                cases_t.c.slot_key.is_(None),
                cases_t.c.data[EXEMPT_FLAG].as_boolean() == true(),
                _live(ended),
            )
            .group_by(cases_t.c.org_unit_id, title)
        )
        for unit, t, n in rows:
            if t is not None:
                out[(int(unit), str(t))] = int(n)
    return out


@dataclass(frozen=True)
class QuotaLine:
    """One school's posts of one title in one year. ``version`` 0: no posts set yet."""

    unit_id: int
    code: str
    name: str
    year: int
    title: str
    posts: int
    used: int
    exempt: int
    version: int

    @property
    def title_label(self) -> str:
        return TITLE_LABELS.get(self.title, self.title)

    @property
    def free(self) -> int:
        return self.posts - self.used


def _posts(
    conn: Connection, unit_ids: Sequence[int], years: Collection[int]
) -> dict[tuple[int, int, str], tuple[int, int]]:
    """(school, year, title) -> (posts, version) of the quota rows there are."""
    out: dict[tuple[int, int, str], tuple[int, int]] = {}
    for chunk in chunks(sorted(set(unit_ids))):
        rows = conn.execute(
            select(
                quotas_t.c.org_unit_id,
                quotas_t.c.year,
                quotas_t.c.title,
                quotas_t.c.posts,
                quotas_t.c.version,
            ).where(quotas_t.c.org_unit_id.in_(chunk), quotas_t.c.year.in_(sorted(years)))
        )
        out.update({(r[0], r[1], r[2]): (int(r[3]), int(r[4])) for r in rows})
    return out


def lines_for(
    conn: Connection,
    schools: Sequence[UnitRow],
    year: int,
    ended: Ended | None,
    titles: Sequence[str] = QUOTA_TITLES,
) -> list[QuotaLine]:
    ids = [s.id for s in schools]
    posts = _posts(conn, ids, [year])
    used = used_counts(conn, ids, year, ended)
    exempt = exempt_counts(conn, ids, year, ended)
    return [
        QuotaLine(
            s.id, s.code, s.name, year, t,
            posts.get((s.id, year, t), (0, 0))[0],
            used.get((s.id, t), 0), exempt.get((s.id, t), 0),
            posts.get((s.id, year, t), (0, 0))[1],
        )
        for s in schools
        for t in titles
    ]  # fmt: skip


def schools_in_scope(
    conn: Connection,
    actor: Actor,
    *,
    under: int | None = None,
    q: str = "",
    page: int = 1,
    size: int = PAGE,
) -> tuple[list[UnitRow], int]:
    """Open schools the actor manages (under one of their units if given), by code, a page
    at a time, and how many there are."""
    paths = managed_paths(actor)
    if under is not None:
        paths = [get_unit(conn, actor, under).path]
    if not paths:
        return [], 0
    where = [
        units_t.c.tier == "school",
        units_t.c.closed_on.is_(None),
        or_(*(units_t.c.path.startswith(p, autoescape=True) for p in paths)),
    ]
    text = q.strip()[:64]
    if text:
        where.append(
            or_(
                units_t.c.code.startswith(text, autoescape=True),
                units_t.c.name.contains(text, autoescape=True),
            )
        )
    total = int(conn.execute(select(func.count()).select_from(units_t).where(*where)).scalar_one())
    rows = conn.execute(
        UNIT.where(*where).order_by(units_t.c.code).limit(size).offset(max(page - 1, 0) * size)
    )
    return [unit_row(r) for r in rows], total


# --- changing ----------------------------------------------------------------------------------
def _school(conn: Connection, actor: Actor, unit_id: int) -> UnitRow:
    unit = get_unit(conn, actor, unit_id)
    if unit.tier != "school":
        raise FormError("unit_id", "岗位职数按学校设置：请选择一所学校")
    if unit.closed:
        raise Conflict(f"“{unit.name}”已撤销，不能设置岗位职数")
    return unit


def set_quota(
    conn: Connection,
    actor: Actor,
    *,
    unit_id: int,
    year: int,
    title: str,
    posts: int,
    expected_version: int,
    at: dt.datetime,
    ended: Ended | None = None,
) -> QuotaLine:
    """Set a school's posts of one title for a year. ``expected_version`` is the line's
    version as the officer saw it (0: no posts were set): anything else is a conflict."""
    if title not in TITLES:
        raise FormError("title", "职称应为 三级教师、二级教师、一级教师、高级教师 或 正高级教师")
    if not 2000 <= year <= 2100:
        raise FormError("year", "年度应在2000到2100之间")
    if not 0 <= posts <= MAX_POSTS:
        raise FormError("posts", f"岗位数应在0到{MAX_POSTS}之间")
    school = _school(conn, actor, unit_id)
    line = lines_for(conn, [school], year, ended, [title])[0]
    if line.version != expected_version:
        raise Conflict(
            f"{school.name}{year}年{line.title_label}岗位数已被他人修改"
            f"（现为{line.posts}个），请刷新后重试"
        )
    if posts < line.used:
        raise FormError("posts", f"岗位数不能少于已推荐占用的{line.used}个")
    if line.version and posts == line.posts:
        return line
    key = {"org_unit_id": unit_id, "year": year, "title": title}
    if line.version == 0:
        conn.execute(insert(quotas_t).values(**key, posts=posts, version=1))
    else:
        done = conn.execute(
            update(quotas_t)
            .where(*(quotas_t.c[k] == v for k, v in key.items()))
            .where(quotas_t.c.version == expected_version)
            .values(posts=posts, version=quotas_t.c.version + 1)
        ).rowcount
        if done != 1:
            raise Conflict("岗位数已被他人修改，请刷新后重试")
    _history(conn, [(unit_id, year, title, line.posts if line.version else None, posts)],
             actor=actor, at=at, source="edit", source_ref="岗位职数")  # fmt: skip
    return lines_for(conn, [school], year, ended, [title])[0]


def _history(
    conn: Connection,
    changes: Sequence[tuple[int, int, str, int | None, int]],
    *,
    actor: Actor,
    at: dt.datetime,
    source: str,
    source_ref: str | None,
) -> None:
    by_unit: dict[int, dict[str, tuple[Any, Any]]] = {}
    for unit, year, title, before, after in changes:
        by_unit.setdefault(unit, {})[f"quota:{year}:{title}"] = (before, after)
    history.record(
        conn, history.UNIT, [Entry(u, c) for u, c in by_unit.items()],
        actor=actor, at=at, source=source, source_ref=source_ref,
    )  # fmt: skip


def import_quotas(
    conn: Connection,
    table: Table,
    *,
    actor: Actor,
    at: dt.datetime,
    source_ref: str | None = None,
    valid_only: bool = False,
    ended: Ended | None = None,
) -> ImportReport:
    """Posts per school, year and title from a file: a line is created or updated by
    (学校代码, 年度, 职称). A school outside the importer's subtree, closed, or not a
    school, a line repeated in the file, or fewer posts than are used: a row error."""
    checked = validate(table, QUOTAS)
    report = ImportReport.of(checked, valid_only=valid_only)
    rows = checked.rows
    if not rows:
        return report
    units = units_by_code(conn, {r["code"] for r in rows})
    years = {r["year"] for r in rows}
    ids = [u.id for u in units.values()]
    existing = _posts(conn, ids, years)
    used: dict[tuple[int, int, str], int] = {}
    for year in years:
        used.update({(u, year, t): n for (u, t), n in used_counts(conn, ids, year, ended).items()})
    seen: dict[tuple[str, int, str], int] = {}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    changes: list[tuple[int, int, str, int | None, int]] = []
    for r in rows:
        unit = units.get(r["code"])
        problem: tuple[str, str] | None = None
        if unit is None or not manages(actor, unit.path):
            problem = ("code", f"学校代码“{r['code']}”不存在或不在您的管理范围内")
        elif unit.tier != "school":
            problem = ("code", f"“{unit.name}”是{unit.tier_label}，岗位职数按学校设置")
        elif unit.closed:
            problem = ("code", f"“{unit.name}”已于{unit.closed_on}撤销")
        else:
            first = seen.setdefault((r["code"], r["year"], r["title"]), r["row"])
            taken = used.get((unit.id, r["year"], r["title"]), 0)
            if first != r["row"]:
                problem = ("title", f"与第{first}行重复（同一学校、年度和职称）")
            elif r["posts"] < taken:
                problem = ("posts", f"岗位数不能少于已推荐占用的{taken}个")
        if problem is not None:
            report.add(row_error(QUOTAS, r, *problem))
            continue
        assert unit is not None
        had = existing.get((unit.id, r["year"], r["title"]))
        key = {"b_unit": unit.id, "b_year": r["year"], "b_title": r["title"], "b_posts": r["posts"]}
        if had is None:
            inserts.append(key)
            report.created += 1
        elif had[0] != r["posts"]:
            updates.append({**key, "b_version": had[1]})
            report.updated += 1
        else:
            report.unchanged += 1
            continue
        changes.append(
            (unit.id, r["year"], r["title"], None if had is None else had[0], r["posts"])
        )
    report.errors.sort(key=lambda e: e.row)
    if report.error_count and not valid_only:
        return report
    if inserts:
        conn.execute(
            insert(quotas_t).values(
                org_unit_id=bindparam("b_unit"),
                year=bindparam("b_year"),
                title=bindparam("b_title"),
                posts=bindparam("b_posts"),
                version=1,
            ),
            inserts,
        )
    if updates:
        done = conn.execute(
            update(quotas_t)
            .where(
                quotas_t.c.org_unit_id == bindparam("b_unit"),
                quotas_t.c.year == bindparam("b_year"),
                quotas_t.c.title == bindparam("b_title"),
                quotas_t.c.version == bindparam("b_version"),
            )
            .values(posts=bindparam("b_posts"), version=quotas_t.c.version + 1),
            updates,
        ).rowcount
        if done is not None and 0 <= done < len(updates):
            raise Conflict("导入期间有岗位数被他人修改，本次导入未生效，请重新导入")
    _history(conn, changes, actor=actor, at=at, source="import", source_ref=source_ref)
    report.written = True
    return report


def quota_line(
    conn: Connection,
    actor: Actor,
    *,
    unit_id: int,
    year: int,
    title: str,
    ended: Ended | None = None,
) -> QuotaLine:
    if title not in TITLES:
        raise NotFound("职称不存在")
    school = get_unit(conn, actor, unit_id)
    return lines_for(conn, [school], year, ended, [title])[0]
