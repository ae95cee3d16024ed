"""Title review's notice (认定通知): its template is ``notices/title_appointed.txt.j2``."""

from __future__ import annotations

from pathlib import Path

from states.process.package import NoticeKind
from states.processes.title_review.record import APPOINTED

FOLDER = Path(__file__).resolve().parent / "notices"

NOTICES = (
    NoticeKind(
        APPOINTED,
        frozenset({"title_label", "doc_number", "doc_date"}),
        "to the teacher: the title is appointed — title_label (e.g. 高级教师), doc_number "
        "(文号), doc_date (YYYY-MM-DD)",
        {
            "recipient_name": "李明",
            "case_id": 12,
            "process_label": "职称评审",
            "applicant_name": "李明",
            "unit_name": "城关县第一中学",
            "state_label": "已认定聘任",
            "link": "/cases/12",
            "title_label": "高级教师",
            "doc_number": "某市人社〔2026〕12号",
            "doc_date": "2026-10-20",
        },
        FOLDER,
    ),
)
