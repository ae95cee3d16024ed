"""Support teaching's web twin: the JSON API (``routes``); the pages — the way in and the
pieces they share (``pages``), the needs board and a need's page with its candidates
(``board_pages``), a school's page and its check-in inbox (``school_pages``), a teacher's own
page (``teacher_pages``) —; the line the public publicity board shows for a selected teacher,
and what each support case asks in the inbox. Described in
``docs/processes/support_teaching.md``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from api.processes import Row, WebPackage
from api.processes.support_teaching import (
    board_pages,
    pages,
    routes,
    school_pages,
    steps,
    teacher_pages,
)
from states.processes.support_teaching.machine import APPLICATION, NEED, TERM


def _data(row: Row) -> Mapping[str, Any]:
    data: Mapping[str, Any] = row["data"] or {}
    return data


def _term(data: Mapping[str, Any]) -> str:
    return f"{data.get('starts_on', '')}至{data.get('ends_on', '')}"


def _post(data: Mapping[str, Any]) -> str:
    return f"{data.get('level_label', '')}{data.get('subject', '')}"


def term_line(row: Row) -> str:
    """What the publicity board says of a selected teacher: 拟派往东县乡村小学支教（初中数学，
    2027-09-01至2028-08-31）."""
    data = _data(row)
    return f"拟派往{data.get('receiving_school', '')}支教（{_post(data)}，{_term(data)}）"


def need_asks(conn: Connection, rows: Sequence[Row]) -> dict[int, str]:
    out = {}
    for r in rows:
        data = _data(r)
        out[int(r["case_id"])] = (
            f"支教需求：{data.get('school', '')}{_post(data)}{data.get('places', '')}名"
            f"（{_term(data)}）"
        )
    return out


def application_asks(conn: Connection, rows: Sequence[Row]) -> dict[int, str]:
    out = {}
    for r in rows:
        data = _data(r)
        how = "学校推荐" if data.get("nominated") else "报名"
        out[int(r["case_id"])] = (
            f"{how}支教：{data.get('school', '')}{_post(data)}（{_term(data)}）"
        )
    return out


def term_asks(conn: Connection, rows: Sequence[Row]) -> dict[int, str]:
    out = {}
    for r in rows:
        data = _data(r)
        out[int(r["case_id"])] = (
            f"支教：{data.get('receiving_school', '')}{_post(data)}（{_term(data)}）"
        )
    return out


WEB = WebPackage(
    routers=(
        routes.router,
        pages.support_pages,
        steps.step_pages,
        board_pages.board_pages,
        school_pages.school_pages,
        teacher_pages.teacher_pages,
    ),
    publicity={TERM: term_line},
    asks={NEED: need_asks, APPLICATION: application_asks, TERM: term_asks},
)
