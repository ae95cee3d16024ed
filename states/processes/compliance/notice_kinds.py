"""The compliance checks' notices (合规检查), each with its template in
``notices/<kind>.txt.j2``: new findings of a run (``compliance_found``), and, to the unit
answering for one finding, its closing by hand or an explanation by a unit above, and the
reminder that an explanation's expected date passed (``notify``)."""

from __future__ import annotations

from pathlib import Path

from states.process.package import NoticeKind
from states.processes.compliance.checks import NOTICE
from states.processes.compliance.notify import CLOSED_NOTICE, DUE_NOTICE, NOTED_NOTICE

FOLDER = Path(__file__).resolve().parent / "notices"
NO_CASE = {
    "recipient_name": "刘洋",
    "case_id": None,
    "process_label": "",
    "applicant_name": "",
    "unit_name": "",
    "state_label": "",
    "link": "",
}
# one finding, and who acted on it
ACT_KEYS = frozenset(
    {
        "compliance_rule", "compliance_subject", "compliance_detail", "compliance_by",
        "compliance_text", "compliance_date", "compliance_finding",
    }
)  # fmt: skip
ACT_SAMPLE = {
    "compliance_rule": "教师资格定期注册即将期满",
    "compliance_subject": "教师张伟",
    "compliance_detail": "教师资格定期注册已于2026年3月1日期满，未见重新注册",
    "compliance_by": "王强（东县教育局）",
    "compliance_date": "2026-10-08",
    "compliance_finding": 1024,
}

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
    NoticeKind(
        CLOSED_NOTICE,
        ACT_KEYS,
        "to the answering unit's officers, no case, one an act: an officer of a unit above "
        "closed its finding by hand — compliance_by who (and their unit), compliance_text "
        "the reason, compliance_date the day, the finding's rule, subject, detail and number",
        {
            **NO_CASE,
            **ACT_SAMPLE,
            "compliance_text": "该教师病休中，返岗后重新注册，本学年不再督办",
        },
        FOLDER,
    ),
    NoticeKind(
        NOTED_NOTICE,
        ACT_KEYS | {"compliance_until"},
        "to the answering unit's officers, no case, one an act: an officer of a unit above "
        "recorded an explanation on its finding — compliance_by who, compliance_text what, "
        "compliance_until the expected date (may be empty), compliance_date the day",
        {
            **NO_CASE,
            **ACT_SAMPLE,
            "compliance_text": "县局已督促，该教师返岗后一周内办理注册",
            "compliance_until": "2026-12-31",
        },
        FOLDER,
    ),
    NoticeKind(
        DUE_NOTICE,
        frozenset({"compliance_rule", "compliance_count", "compliance_detail", "compliance_date"}),
        "to the answering unit's officers, no case, one a unit and run: the expected dates "
        "of explanations on compliance_count of its open findings of compliance_rule have "
        "passed — compliance_detail lists them, compliance_date the day of the run",
        {
            **NO_CASE,
            "compliance_rule": "教师资格定期注册即将期满",
            "compliance_count": 2,
            "compliance_detail": "教师张伟：教师资格定期注册已于2026年3月1日期满，未见重新注册"
            "（预计整改日期2026年12月31日）\n教师李娜：持有教师资格证书，但未登记定期注册日期"
            "（预计整改日期2026年12月31日）",
            "compliance_date": "2027-01-04",
        },
        FOLDER,
    ),
)
