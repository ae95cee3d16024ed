"""The compliance checks' notice (合规检查): its template is
``notices/compliance_found.txt.j2``."""

from __future__ import annotations

from pathlib import Path

from states.process.package import NoticeKind
from states.processes.compliance.checks import NOTICE

FOLDER = Path(__file__).resolve().parent / "notices"

NOTICES = (
    NoticeKind(
        NOTICE,
        # the payload's names are those of the task lists' notices (task_*), as they were
        frozenset({"task_title", "task_detail", "task_date"}),
        "to the unit's officers, no case, one a unit and run: task_title the compliance "
        "check, task_detail how many new findings in the unit and what to do, task_date the "
        "day of the run",
        {
            "recipient_name": "刘洋",
            "case_id": None,
            "process_label": "",
            "applicant_name": "",
            "unit_name": "",
            "state_label": "",
            "link": "",
            "task_title": "师德承诺书未签署",
            "task_detail": "东县实验中学新发现12项问题："
            "请学校督促教师登录平台阅读并签署本学年师德承诺书",
            "task_date": "2026-10-08",
        },
        FOLDER,
    ),
)
