"""Rotation's web twin: the JSON API of the county's campaign (``routes``), its pages — the
campaigns and opening one (``pages``), the county's board and the matching result
(``board_pages``), a school's list (``school_pages``), a teacher's own page
(``teacher_pages``) —, the line the public publicity board shows for a teacher in
publicity, and what each rotation case asks in the inbox."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from api.processes import Row, WebPackage
from api.processes.rotation import board_pages, pages, routes, school_pages, teacher_pages
from states.processes.rotation.machine import CAMPAIGN, EXEMPTION, PLACEMENT


def placement_line(row: Row) -> str:
    """What the publicity board says of a teacher in publicity: 拟交流至东县乡村小学（初中数学）."""
    data = row["data"] or {}
    return f"拟交流至{data.get('to_school', '')}（{data.get('post', '')}）"


def placement_asks(conn: Connection, rows: Sequence[Row]) -> dict[int, str]:
    return {
        int(r["case_id"]): f"交流至{(r['data'] or {}).get('to_school', '')}"
        f"（{(r['data'] or {}).get('post', '')}）"
        for r in rows
    }


def exemption_asks(conn: Connection, rows: Sequence[Row]) -> dict[int, str]:
    return {
        int(r["case_id"]): f"免于交流：{(r['data'] or {}).get('kind', '')}"
        f"（{(r['data'] or {}).get('campaign', '')}）"
        for r in rows
    }


def campaign_asks(conn: Connection, rows: Sequence[Row]) -> dict[int, str]:
    return {int(r["case_id"]): str((r["data"] or {}).get("name", "")) for r in rows}


WEB = WebPackage(
    routers=(
        routes.router,
        pages.rotation_pages,  # /rotation/new and /rotation/me before /rotation/{campaign_id}
        board_pages.board_pages,
        school_pages.school_pages,
        teacher_pages.teacher_pages,
    ),
    publicity={PLACEMENT: placement_line},
    asks={PLACEMENT: placement_asks, EXEMPTION: exemption_asks, CAMPAIGN: campaign_asks},
)
