"""The campaign's receiving posts (接收岗位): imported from the county's spreadsheet through
the sheets kit (every cell checked, every bad row reported, nothing written unless the
officer asks for the valid rows only), or sent as JSON rows through the same checks. A row is
created or updated by (school, subject, level). Whether the school is rural or weak is its
org unit's own flag (``is_rural``, ``is_weak``), not a column of the file.

Posts may change until the result is published: teachers choose among them while stating
preferences, and a county short of places adds some and runs the matching again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from states.engine import CaseEngine
from states.errors import Conflict, PermissionDenied
from states.org import SCHOOL_LEVELS, SUBJECTS, Actor
from states.processes.rotation import campaigns
from states.processes.rotation.tables import (
    RotationCampaign,
    RotationPlacement,
    RotationPost,
    RotationPreference,
)
from states.registry.imports import ImportReport, row_error
from states.sheets import Column, Schema, Table, template_xlsx, validate
from states.store.models import OrgUnit, table_of

posts_t, units_t = table_of(RotationPost), table_of(OrgUnit)
campaigns_t, placements_t = table_of(RotationCampaign), table_of(RotationPlacement)
prefs_t = table_of(RotationPreference)
MAX_PLACES = 500

_LEVELS = {**{code: code for code in SCHOOL_LEVELS}, **{v: k for k, v in SCHOOL_LEVELS.items()},
           "初级中学": "junior", "高级中学": "senior", "中等职业学校": "vocational"}  # fmt: skip


def parse_subject(text: str) -> str:
    if text not in SUBJECTS:
        raise ValueError(f"学科应为以下之一：{'、'.join(SUBJECTS)}")
    return text


def parse_level(text: str) -> str:
    code = _LEVELS.get(text.strip().lower()) or _LEVELS.get(text.strip())
    if code is None:
        raise ValueError("学段应为 幼儿园、小学、初中、高中 或 中职")
    return code


def _count(what: str, most: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{what}应为整数：{text}") from None
        if not value.is_integer() or not 0 <= value <= most:
            raise ValueError(f"{what}应为0至{most}之间的整数：{text}")
        return int(value)

    return parse


def _code(text: str) -> str:
    if len(text) > 32:
        raise ValueError("学校代码不能超过32个字符")
    return text


def _check(row: dict[str, Any]) -> list[tuple[str, str]]:
    places, reserved = row.get("places"), row.get("reserved")
    if isinstance(places, int) and isinstance(reserved, int) and reserved > places:
        return [("reserved", f"骨干预留名额（{reserved}）不能多于接收名额（{places}）")]
    return []


POSTS = Schema(
    "rotation_posts",
    "交流轮岗接收岗位",
    (
        Column("school_code", "学校代码", ("接收学校代码", "单位代码", "code"), True, _code),
        Column("subject", "学科", ("任教学科", "岗位学科"), True, parse_subject),
        Column("level", "学段", ("学校学段", "岗位学段"), True, parse_level),
        Column("places", "接收名额", ("名额", "人数", "接收人数"), True,
               _count("接收名额", MAX_PLACES)),
        Column("reserved", "骨干预留名额", ("预留名额", "骨干预留"), False,
               _count("骨干预留名额", MAX_PLACES)),
    ),
    key=None,
    check=_check,
)  # fmt: skip


def template() -> bytes:
    return template_xlsx(POSTS)


def table_of_rows(rows: Sequence[Mapping[str, Any]]) -> Table:
    """JSON rows (keyed by the schema's column names) as a table the same checks read."""
    names = [c.name for c in POSTS.columns]
    return Table(
        names,
        [
            (n, {k: "" if r.get(k) is None else str(r.get(k)).strip() for k in names})
            for n, r in enumerate(rows, start=2)
        ],
    )


def import_posts(
    engine: CaseEngine,
    actor: Actor,
    campaign_id: int,
    table: Table,
    *,
    valid_only: bool = False,
) -> ImportReport:
    """The posts of a file (or JSON rows) into the campaign: created or updated by
    (school, subject, level). A school outside the county, closed or not a school, a line
    repeated in the file, fewer places than a post's preferences were stated for … : a row
    error, and nothing written unless ``valid_only``."""
    checked = validate(table, POSTS)
    report = ImportReport.of(checked, valid_only=valid_only)
    now = engine.clock.now()
    with engine.db.begin() as conn:
        c = campaigns.read(engine, conn, actor, campaign_id)
        if not campaigns.runs(actor, c.county_id):
            raise PermissionDenied("接收岗位由县（区）教育局人事股导入")
        campaigns.load_row(conn, campaign_id, lock=True)  # one writer of the posts at a time
        if c.state in campaigns.SETTLED:
            raise Conflict(f"交流轮岗工作{c.state_label}，不能再调整接收岗位")
        rows = checked.rows
        codes = sorted({r["school_code"] for r in rows})
        schools = {
            u.code: u
            for u in conn.execute(
                select(units_t.c.id, units_t.c.code, units_t.c.name, units_t.c.tier,
                       units_t.c.path, units_t.c.closed_on).where(units_t.c.code.in_(codes))
            )
        } if codes else {}  # fmt: skip
        existing = {
            (int(p.school_id), p.subject, p.level): p
            for p in conn.execute(select(posts_t).where(posts_t.c.campaign_id == c.id))
        }
        seen: dict[tuple[int, str, str], int] = {}
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for r in rows:
            unit = schools.get(r["school_code"])
            reserved = r.get("reserved") or 0
            problem: tuple[str, str] | None = None
            if unit is None or not str(unit.path).startswith(c.county_path):
                problem = ("school_code", f"学校代码“{r['school_code']}”不存在或不在{c.county}")
            elif unit.tier != "school":
                problem = ("school_code", f"“{unit.name}”不是学校")
            elif unit.closed_on is not None:
                problem = ("school_code", f"“{unit.name}”已于{unit.closed_on}撤销")
            else:
                key = (int(unit.id), r["subject"], r["level"])
                first = seen.setdefault(key, r["row"])
                if first != r["row"]:
                    problem = ("level", f"与第{first}行重复（同一学校、学科和学段）")
            if problem is not None:
                report.add(row_error(POSTS, r, *problem))
                continue
            assert unit is not None
            had = existing.get(key)
            values = {"b_places": r["places"], "b_reserved": reserved}
            if had is None:
                inserts.append({"b_school": unit.id, "b_subject": r["subject"],
                                "b_level": r["level"], **values})  # fmt: skip
                report.created += 1
            elif (had.places, had.reserved) != (r["places"], reserved):
                updates.append({"b_id": had.id, **values})
                report.updated += 1
            else:
                report.unchanged += 1
        report.errors.sort(key=lambda e: e.row)
        if report.error_count and not valid_only:
            return report
        if inserts:
            conn.execute(
                insert(posts_t).values(
                    campaign_id=c.id, school_id=bindparam("b_school"),
                    subject=bindparam("b_subject"), level=bindparam("b_level"),
                    places=bindparam("b_places"), reserved=bindparam("b_reserved"),
                ),
                inserts,
            )  # fmt: skip
        if updates:
            conn.execute(
                update(posts_t)
                .where(posts_t.c.id == bindparam("b_id"))
                .values(places=bindparam("b_places"), reserved=bindparam("b_reserved")),
                updates,
            )
        if inserts or updates:
            conn.execute(
                update(campaigns_t).where(campaigns_t.c.id == c.id).values(posts_changed_at=now)
            )
        report.written = True
    return report


@dataclass(frozen=True)
class PostLine:
    id: int
    school_id: int
    school: str
    school_code: str
    priority: bool  # a rural or weak school
    subject: str
    level: str
    places: int
    reserved: int
    stated: int  # teachers who named it (any rank)
    placed: int  # by the current result


def post_lines(engine: CaseEngine, actor: Actor, campaign_id: int) -> list[PostLine]:
    """The campaign's posts, for everyone who reads the campaign (teachers choose among
    them), with how many named each and how many the current result places there."""
    with engine.db.connect() as conn:
        c = campaigns.read(engine, conn, actor, campaign_id)
        return _lines(conn, c.id)


def _lines(conn: Connection, campaign_id: int) -> list[PostLine]:
    stated = {
        int(post): int(n)
        for post, n in conn.execute(
            select(prefs_t.c.post_id, func.count())
            .where(prefs_t.c.campaign_id == campaign_id)
            .group_by(prefs_t.c.post_id)
        ).tuples()
    }
    placed = {
        int(post): int(n)
        for post, n in conn.execute(
            select(placements_t.c.post_id, func.count())
            .where(placements_t.c.campaign_id == campaign_id, placements_t.c.post_id.is_not(None))
            .group_by(placements_t.c.post_id)
        ).tuples()
    }
    rows = conn.execute(
        select(posts_t, units_t.c.name, units_t.c.code, units_t.c.is_rural, units_t.c.is_weak)
        .join(units_t, units_t.c.id == posts_t.c.school_id)
        .where(posts_t.c.campaign_id == campaign_id)
        .order_by(units_t.c.code, posts_t.c.subject, posts_t.c.level)
    ).all()
    return [
        PostLine(
            int(r.id),
            int(r.school_id),
            r.name,
            r.code,
            bool(r.is_rural or r.is_weak),
            r.subject,
            r.level,
            int(r.places),
            int(r.reserved),
            int(stated.get(r.id, 0)),
            int(placed.get(r.id, 0)),
        )
        for r in rows
    ]
