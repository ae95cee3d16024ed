"""Teacher rotation's notices (交流轮岗): one template each in ``notices/<kind>.txt.j2``,
each printing ``rotation_school``, ``rotation_detail`` and ``rotation_date`` from its
payload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from states.process.package import NoticeKind
from states.processes.rotation.spec import (
    DISPATCHED_NOTICE,
    ELIGIBLE_NOTICE,
    EXTENDED_NOTICE,
    PLACED_NOTICE,
    TERM_ENDING_NOTICE,
)

FOLDER = Path(__file__).resolve().parent / "notices"
KEYS = frozenset({"rotation_school", "rotation_detail", "rotation_date"})

_CASE: dict[str, Any] = {
    "recipient_name": "李明",
    "case_id": 12,
    "process_label": "交流轮岗",
    "applicant_name": "李明",
    "unit_name": "城关县第一中学",
    "link": "/cases/12",
}

NOTICES = (
    NoticeKind(
        ELIGIBLE_NOTICE,
        KEYS,
        "to each teacher on the published eligible list, no case: rotation_school the "
        "campaign's name, rotation_detail the preferences' window, rotation_date its last day",
        {
            "recipient_name": "李明",
            "case_id": None,
            "process_label": "",
            "applicant_name": "",
            "unit_name": "",
            "state_label": "",
            "link": "",
            "rotation_school": "东县2026学年教师交流轮岗",
            "rotation_detail": "志愿填报时间：2026年9月1日至2026年9月15日",
            "rotation_date": "2026-09-15",
        },
        FOLDER,
    ),
    NoticeKind(
        PLACED_NOTICE,
        KEYS,
        "to the teacher, the result published: rotation_school the receiving school, "
        "rotation_detail the post and why, rotation_date publicity's last day (or empty)",
        {
            **_CASE,
            "state_label": "公示中",
            "rotation_school": "东县乡村小学",
            "rotation_detail": "初中数学；第1志愿录取（普通名额）；第1次匹配",
            "rotation_date": "2026-10-16",
        },
        FOLDER,
    ),
    NoticeKind(
        DISPATCHED_NOTICE,
        KEYS,
        "to the teacher, sent to the receiving school: rotation_school, rotation_detail the "
        "term, rotation_date the term's end",
        {
            **_CASE,
            "state_label": "交流任职中",
            "rotation_school": "东县乡村小学",
            "rotation_detail": "交流期3年，自2026年10月20日起",
            "rotation_date": "2029-10-20",
        },
        FOLDER,
    ),
    NoticeKind(
        TERM_ENDING_NOTICE,
        KEYS,
        "to the teacher and the county's officers, the term about to end: rotation_school, "
        "rotation_detail what comes next, rotation_date the term's end",
        {
            **_CASE,
            "recipient_name": "王芳",
            "state_label": "交流任职中",
            "rotation_school": "东县乡村小学",
            "rotation_detail": "期满后返回城关县第一中学，或经县教育局批准延长",
            "rotation_date": "2029-10-20",
        },
        FOLDER,
    ),
    NoticeKind(
        EXTENDED_NOTICE,
        KEYS,
        "to the teacher, the term extended: rotation_school, rotation_detail the reason, "
        "rotation_date the new end",
        {
            **_CASE,
            "state_label": "交流任职中",
            "rotation_school": "东县乡村小学",
            "rotation_detail": "延长理由：接收学校毕业班教学需要",
            "rotation_date": "2030-07-31",
        },
        FOLDER,
    ),
)
