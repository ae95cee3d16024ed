"""Title review's web twin: what the generic pages ask of it, the title-review year's page
and API (the declaration window), and the documents people print (申报表, result list,
认定通知: ``prints``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from api.processes import Row, WebPackage
from api.processes.title_review import pages, prints, record, routes
from states.org import TITLE_LABELS, next_title
from states.processes.title_review.machine import PROCESS


def publicity_detail(row: Row) -> str:
    """拟推荐 during the in-school publicity, 拟认定 during the result publicity."""
    data = row["data"] or {}
    title = str(data.get("target_title") or "")
    if not title:
        return ""
    verb = "推荐" if row["state"] == "school_publicity" else "认定"
    detail = f"拟{verb}" + TITLE_LABELS.get(title, title)
    if data.get("subject"):
        detail += f"（{data['subject']}）"
    return detail


def asks(conn: Connection, rows: Sequence[Row]) -> dict[int, str]:
    """What a declaration asks for, as the inbox says it: 申报高级教师（数学）."""
    out: dict[int, str] = {}
    for row in rows:
        data = row["data"] or {}
        title = str(data.get("target_title") or "")
        if title:
            subject = f"（{data['subject']}）" if data.get("subject") else ""
            out[int(row["case_id"])] = f"申报{TITLE_LABELS.get(title, title)}{subject}"
    return out


def declare_defaults(record: Row) -> dict[str, str]:
    """Start the declaration from the record: the teacher's subject and the next rung up."""
    out: dict[str, str] = {}
    if record.get("subject"):
        out["subject"] = str(record["subject"])
    if record.get("title"):
        out["target_title"] = next_title(str(record["title"])) or ""
    return out


WEB = WebPackage(
    routers=(routes.router, pages.year_pages, prints.api, prints.pages),
    publicity={PROCESS: publicity_detail},
    asks={PROCESS: asks},
    declare_defaults={PROCESS: declare_defaults},
    case_record={PROCESS: record.case_record},
    documents={PROCESS: prints.case_documents},
)
