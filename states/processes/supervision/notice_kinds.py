"""Supervision's notices (督查): one template each in ``notices/<kind>.txt.j2``, each
printing ``supervision_title``, ``supervision_detail`` and ``supervision_date`` from its
payload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from states.process.package import NoticeKind
from states.processes.supervision.spec import (
    FINDING_NOTICE,
    PUBLICIZED_NOTICE,
    RECTIFIED_NOTICE,
    VISIT_NOTICE,
)

FOLDER = Path(__file__).resolve().parent / "notices"
KEYS = frozenset({"supervision_title", "supervision_detail", "supervision_date"})

_CASE: dict[str, Any] = {
    "recipient_name": "刘洋",
    "case_id": 12,
    "process_label": "督查整改",
    "applicant_name": "李明",
    "unit_name": "城关县第一中学",
    "link": "/cases/12",
}

NOTICES = (
    NoticeKind(
        VISIT_NOTICE,
        KEYS,
        "to the target's officers, no case (an unannounced target hears on the first day): "
        "supervision_title the campaign, supervision_detail the visit dates, "
        "supervision_date the first visit day",
        {
            "recipient_name": "刘洋",
            "case_id": None,
            "process_label": "",
            "applicant_name": "",
            "unit_name": "",
            "state_label": "",
            "link": "",
            "supervision_title": "在职教师有偿补课专项督查",
            "supervision_detail": "检查时间：2026年10月12日至2026年10月16日",
            "supervision_date": "2026-10-12",
        },
        FOLDER,
    ),
    NoticeKind(
        FINDING_NOTICE,
        KEYS,
        "to the inspected unit's officers, a finding to rectify: supervision_title, "
        "supervision_detail the item and the finding, supervision_date the rectification's "
        "deadline",
        {
            **_CASE,
            "state_label": "待整改",
            "supervision_title": "在职教师有偿补课专项督查",
            "supervision_detail": "有偿补课：两名教师在校外机构兼职授课",
            "supervision_date": "2026-11-09",
        },
        FOLDER,
    ),
    NoticeKind(
        RECTIFIED_NOTICE,
        KEYS,
        "to the inspected unit's officers, the re-inspection passed: supervision_title, "
        "supervision_detail the unit and the item, supervision_date the re-inspection's day",
        {
            **_CASE,
            "state_label": "整改到位",
            "supervision_title": "在职教师有偿补课专项督查",
            "supervision_detail": "城关县第一中学，有偿补课：经复查，整改到位",
            "supervision_date": "2026-11-20",
        },
        FOLDER,
    ),
    NoticeKind(
        PUBLICIZED_NOTICE,
        KEYS,
        "通报 to the inspected unit's officers and the unit above: supervision_title, "
        "supervision_detail the unit, the item and why, supervision_date the day",
        {
            **_CASE,
            "state_label": "已通报",
            "supervision_title": "在职教师有偿补课专项督查",
            "supervision_detail": "城关县第一中学，有偿补课：整改不到位，仍有教师兼职",
            "supervision_date": "2026-11-20",
        },
        FOLDER,
    ),
)
