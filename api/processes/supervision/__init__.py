"""Supervision's web twin: the JSON API (``routes``) and the pages (``pages``) of inspection
campaigns, what each campaign and rectification asks in the inbox, and the pages a case's
page links to (a campaign's own page and report; a rectification's report form)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from api.processes import Row, WebPackage
from api.processes.supervision import pages, routes
from states.processes.supervision.machine import CAMPAIGN, RECTIFICATION


def campaign_asks(conn: Connection, rows: Sequence[Row]) -> dict[int, str]:
    return {int(r["case_id"]): f"专项督查：{(r['data'] or {}).get('title', '')}" for r in rows}


def rectification_asks(conn: Connection, rows: Sequence[Row]) -> dict[int, str]:
    out = {}
    for r in rows:
        data = r["data"] or {}
        out[int(r["case_id"])] = f"整改：{data.get('item_text', '')}（{data.get('campaign', '')}）"
    return out


def campaign_documents(case: Row) -> list[tuple[str, str]]:
    campaign = (case["data"] or {}).get("campaign_id")
    if not campaign:
        return []
    return [
        ("专项督查页面", f"/supervision/{campaign}"),
        ("督查报告", f"/supervision/{campaign}/report"),
    ]


def rectification_documents(case: Row) -> list[tuple[str, str]]:
    if case["state"] != "to_rectify":
        return []
    return [("报告整改情况（上传整改佐证材料）", f"/supervision/rectifications/{case['id']}")]


WEB = WebPackage(
    routers=(routes.router, pages.supervision_pages),
    asks={CAMPAIGN: campaign_asks, RECTIFICATION: rectification_asks},
    documents={CAMPAIGN: campaign_documents, RECTIFICATION: rectification_documents},
)
