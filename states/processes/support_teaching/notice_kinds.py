"""Support teaching's notices (支教): one template each in ``notices/<kind>.txt.j2``, each
printing ``support_school``, ``support_detail`` and ``support_date`` from its payload
(``support_revoked`` its ``support_reason`` too)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from states.process.package import NoticeKind
from states.processes.support_teaching.spec import (
    ASSESSED_NOTICE,
    CHECKIN_DUE_NOTICE,
    DISPATCHED_NOTICE,
    NEED_APPROVED_NOTICE,
    NEED_REJECTED_NOTICE,
    REVOKED_NOTICE,
    SELECTED_NOTICE,
    TERM_ENDING_NOTICE,
    TERMINATED_NOTICE,
)

FOLDER = Path(__file__).resolve().parent / "notices"
KEYS = frozenset({"support_school", "support_detail", "support_date"})

# a need's notices go to the receiving school's officers, a term's to the teacher
_NEED: dict[str, Any] = {
    "recipient_name": "赵老师",
    "case_id": 12,
    "process_label": "支教需求",
    "applicant_name": "李明",
    "unit_name": "东县乡村小学",
    "link": "/cases/12",
}
_TERM: dict[str, Any] = {
    "recipient_name": "李明",
    "case_id": 12,
    "process_label": "支教",
    "applicant_name": "李明",
    "unit_name": "城关县第一中学",
    "link": "/cases/12",
}
# a withdrawn selection's notice is about the application (the teacher's, at the sending
# school): the teacher and the sending school's officers may both read it
_APPLICATION: dict[str, Any] = {
    "recipient_name": "李明",
    "case_id": 31,
    "process_label": "支教报名",
    "applicant_name": "李明",
    "unit_name": "城关县第一中学",
    "link": "/cases/31",
}

NOTICES = (
    NoticeKind(
        NEED_APPROVED_NOTICE,
        KEYS,
        "to the receiving school's officers, their need approved: support_school, "
        "support_detail the need and its term, support_date the term's start",
        {
            **_NEED,
            "state_label": "已批准",
            "support_school": "东县乡村小学",
            "support_detail": "初中数学2名，支教期2027年9月1日至2028年8月31日；"
            "已开始受理报名和推荐",
            "support_date": "2027-09-01",
        },
        FOLDER,
    ),
    NoticeKind(
        NEED_REJECTED_NOTICE,
        KEYS,
        "to the receiving school's officers, their need not approved: support_school, "
        "support_detail the need and the reason, support_date the term's start",
        {
            **_NEED,
            "state_label": "未批准",
            "support_school": "东县乡村小学",
            "support_detail": "初中数学2名；理由：该校数学教师已满编",
            "support_date": "2027-09-01",
        },
        FOLDER,
    ),
    NoticeKind(
        SELECTED_NOTICE,
        KEYS,
        "to the teacher, selected: support_school the receiving school, support_detail the "
        "post, the term and the publicity, support_date publicity's last day (or empty)",
        {
            **_TERM,
            "state_label": "公示中",
            "support_school": "东县乡村小学",
            "support_detail": "初中数学，支教期2027-09-01至2028-08-31，公示至2027年7月9日",
            "support_date": "2027-07-09",
        },
        FOLDER,
    ),
    NoticeKind(
        DISPATCHED_NOTICE,
        KEYS,
        "to the teacher and the receiving school, the teacher sent: support_school, "
        "support_detail since when, support_date the term's end",
        {
            **_TERM,
            "state_label": "在岗支教",
            "support_school": "东县乡村小学",
            "support_detail": "李明自2027年9月1日起在东县乡村小学支教（初中数学）；"
            "接收学校每月填报考勤",
            "support_date": "2028-08-31",
        },
        FOLDER,
    ),
    NoticeKind(
        CHECKIN_DUE_NOTICE,
        KEYS,
        "to each receiving school's officers, no case, one a school: support_school, "
        "support_detail how many teachers and which months, support_date the earliest "
        "deadline (or empty)",
        {
            "recipient_name": "赵老师",
            "case_id": None,
            "process_label": "",
            "applicant_name": "",
            "unit_name": "",
            "state_label": "",
            "link": "",
            "support_school": "东县乡村小学",
            "support_detail": "3名支教教师2027-09的月度考勤待填报",
            "support_date": "2027-10-15",
        },
        FOLDER,
    ),
    NoticeKind(
        TERM_ENDING_NOTICE,
        KEYS,
        "to the teacher and the approving bureau, the term about to end: support_school, "
        "support_detail, support_date the term's end",
        {
            **_TERM,
            "state_label": "在岗支教",
            "support_school": "东县乡村小学",
            "support_detail": "李明在东县乡村小学的支教期即将期满，期满后由接收学校进行期满考核",
            "support_date": "2028-08-31",
        },
        FOLDER,
    ),
    NoticeKind(
        ASSESSED_NOTICE,
        KEYS,
        "to the teacher, assessed at the term's end: support_school, support_detail the "
        "grade and what the service ledger credited, support_date the day the term ended",
        {
            **_TERM,
            "state_label": "已返回",
            "support_school": "东县乡村小学",
            "support_detail": "期满考核称职；已计入农村或薄弱学校任教经历12个月（1年）",
            "support_date": "2028-08-31",
        },
        FOLDER,
    ),
    NoticeKind(
        TERMINATED_NOTICE,
        KEYS,
        "to the teacher, the term ended early: support_school, support_detail why, "
        "support_date the day the term ended",
        {
            **_TERM,
            "state_label": "期满考核",
            "support_school": "东县乡村小学",
            "support_detail": "支教提前终止（因病），由接收学校进行考核，"
            "已服务时间按考核结果计入任教经历",
            "support_date": "2028-02-29",
        },
        FOLDER,
    ),
    NoticeKind(
        REVOKED_NOTICE,
        KEYS | {"support_reason"},
        "to the teacher and the sending school's officers, the selection withdrawn after an "
        "objection was upheld: support_school the receiving school, support_detail the post "
        "and the term, support_date the day, support_reason the approver's reason",
        {
            **_APPLICATION,
            "state_label": "撤销选派",
            "support_school": "东县乡村小学",
            "support_detail": "初中数学，支教期2027-09-01至2028-08-31",
            "support_date": "2027-07-05",
            "support_reason": "经核查，该教师正接受师德问题调查，尚无结论",
        },
        FOLDER,
    ),
)
