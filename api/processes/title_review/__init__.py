"""Title review's web twin: what the generic pages ask of it, and the title-review year's
page and API (the declaration window)."""

from __future__ import annotations

from api.processes import Row, WebPackage
from api.processes.title_review import pages, routes
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


def declare_defaults(record: Row) -> dict[str, str]:
    """Start the declaration from the record: the teacher's subject and the next rung up."""
    out: dict[str, str] = {}
    if record.get("subject"):
        out["subject"] = str(record["subject"])
    if record.get("title"):
        out["target_title"] = next_title(str(record["title"])) or ""
    return out


WEB = WebPackage(
    routers=(routes.router, pages.year_pages),
    publicity={PROCESS: publicity_detail},
    declare_defaults={PROCESS: declare_defaults},
)
