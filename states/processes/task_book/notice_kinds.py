"""Task lists' notices (任务清单): one template each in ``notices/<kind>.txt.j2``, each
printing ``task_title``, ``task_detail`` and ``task_date`` from its payload (written by
``effects.step_notice``), to the officers of the unit concerned."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from states.process.package import NoticeKind

FOLDER = Path(__file__).resolve().parent / "notices"
KEYS = frozenset({"task_title", "task_detail", "task_date"})

_CASE: dict[str, Any] = {
    "recipient_name": "王芳",
    "case_id": 12,
    "process_label": "任务",
    "applicant_name": "李明",
    "unit_name": "城关县第一中学",
    "link": "/cases/12",
}

NOTICES = (
    NoticeKind(
        "task_progress",
        KEYS,
        "to the unit a step concerns (a book approved, a task issued, an extension asked or "
        "decided …): task_title the task, book or round, task_detail what happened, task_date "
        "the day it is about (or empty)",
        {
            **_CASE,
            "recipient_name": "刘洋",
            "unit_name": "东县实验中学",
            "state_label": "延期审批",
            "task_title": "全县教师师德承诺书签订",
            "task_detail": "牵头单位申请延期：等待市局统一文本",
            "task_date": "2026-11-30",
        },
        FOLDER,
    ),
    NoticeKind(
        "task_reminder",
        KEYS,
        "to the lead unit, a milestone or the deadline near: task_title, task_detail the "
        "milestone or the deadline and when it falls due, task_date that day",
        {
            **_CASE,
            "state_label": "办理中",
            "task_title": "全县教师师德承诺书签订",
            "task_detail": "时间节点“完成签订”将于2026-10-15到期",
            "task_date": "2026-10-15",
        },
        FOLDER,
    ),
    NoticeKind(
        "task_escalated",
        KEYS,
        "to the unit above the lead unit (督责): task_title, task_detail what is overdue and "
        "by which unit, task_date the day it fell due",
        {
            **_CASE,
            "recipient_name": "刘洋",
            "unit_name": "东县实验中学",
            "state_label": "办理中",
            "task_title": "教师培训学时登记",
            "task_detail": "东县实验中学牵头的任务已于2026-10-15到期，至今未办结",
            "task_date": "2026-10-15",
        },
        FOLDER,
    ),
    NoticeKind(
        "task_stagnant",
        KEYS,
        "to the lead unit, no progress reported for too long: task_title, task_detail since "
        "when, task_date the day it was flagged",
        {
            **_CASE,
            "state_label": "办理中",
            "task_title": "职称评审材料归档",
            "task_detail": "东县实验中学牵头的任务自2026-09-01起未报告进展，已列为停滞",
            "task_date": "2026-09-16",
        },
        FOLDER,
    ),
    NoticeKind(
        "task_scores_published",
        KEYS,
        "to each scored unit (and the scorers), the year-end scores out: task_title the "
        "round, task_detail the unit's total and rank, task_date the day of publication",
        {
            **_CASE,
            "process_label": "年终考核评分",
            "state_label": "结果已公布",
            "task_title": "东县2026年度目标责任考核",
            "task_detail": "贵单位总分87.50分，排名第2名",
            "task_date": "2026-12-28",
        },
        FOLDER,
    ),
)
