"""Notice texts: one Jinja2 template per kind of notice, rendered into subject, body and a
one-line short form.

Template layout
---------------
``templates/<kind>.txt.j2`` defines three blocks and nothing else counts:

* ``subject`` — the e-mail subject and the in-app title (collapsed onto one line);
* ``body``    — the plain-text letter (e-mail body, in-app text); leading and trailing blank
  lines and trailing spaces are dropped, the lines in between are kept;
* ``short``   — one line for SMS and group robots. Whitespace is collapsed and the line is cut
  to ``SHORT_LIMIT`` characters with "…": 70 characters is one SMS segment, and a second
  segment costs money and arrives out of order on some phones. Templates put what matters
  first so that a cut only loses the tail.

Blocks rather than "first line is the subject" because the short form needs its own wording,
and three named blocks keep each text readable on its own.

The context contract
--------------------
The dispatcher builds exactly these keys; ``render`` refuses a context that lacks one (even a
key the template does not print today), so the dispatcher and the templates cannot drift
apart silently. A value that means "nothing" is an empty string. ``None`` (what the engine's
payloads carry for "no deadline") reads as empty where a template treats the value as
optional, and raises where the template prints it as required: never the text "None".

Every kind:
    ``recipient_name``  the person addressed (may be empty for verification_code only)
    ``case_id``         int; None for verification_code
    ``process_label``   e.g. 职称评审
    ``applicant_name``  may be empty (a case with no applicant)
    ``unit_name``       the applicant's or the case's unit; may be empty
    ``state_label``     the case's current step, e.g. 学校审核
    ``link``            where the case is read, e.g. /cases/12 (an absolute URL works too)

Per kind, besides:
    case_update            ``event_label``, ``from_label`` (empty when the case was just
                           opened), ``to_label``, ``reason`` (may be empty)
    task_assigned          ``due_on`` (YYYY-MM-DD or empty: no deadline),
                           ``sign`` (empty, or 前加签 / 并加签 / 后加签), ``note`` (may be
                           empty; e.g. the receipt number of the objection to look into)
    case_copied            ``by`` (who copied it)
    countersign_disagreed  ``event_label`` (the decision the countersigners did not back)
    reminder_due_soon      ``due_on``
    reminder_due_today     ``due_on``
    reminder_overdue       ``due_on``, ``days_overdue`` (int)
    urge                   ``by``, ``due_on`` (may be empty), ``note`` (may be empty)
    escalation             ``due_on``, ``days_overdue`` (int), ``handler_unit`` (the unit
                           whose task is late)
    verification_code      ``code``, ``minutes`` (int); the case keys are present but empty
                           strings (``case_id`` None)
    audit_digest           ``taken_at`` (bureau time, e.g. 2026-10-14 01:30), ``fingerprint``
                           (64 hex digits), ``digest_file``, ``case_count`` (int), ``breaks``
                           (int: what the verification before it found); no case, as for
                           verification_code
    title_appointed        ``title_label`` (e.g. 高级教师), ``doc_number`` (文号),
                           ``doc_date`` (YYYY-MM-DD): title review's appointment notice
    rotation_eligible      ``rotation_school`` (the campaign's name), ``rotation_detail`` (the
                           preferences' window), ``rotation_date`` (their last day); no case
    rotation_placed        ``rotation_school`` (the receiving school), ``rotation_detail`` (the
                           post and why), ``rotation_date`` (publicity's last day, or empty)
    rotation_dispatched    ``rotation_school``, ``rotation_detail`` (the term), ``rotation_date``
                           (the term's end)
    rotation_term_ending   ``rotation_school``, ``rotation_detail`` (what comes next),
                           ``rotation_date`` (the term's end); to the teacher and the county
    rotation_extended      ``rotation_school``, ``rotation_detail`` (the reason),
                           ``rotation_date`` (the new end)
    support_need_approved  ``support_school`` (the receiving school), ``support_detail`` (the
                           need and its term), ``support_date`` (the term's start): to the
                           school's officers
    support_need_rejected  ``support_school``, ``support_detail`` (the need and the reason),
                           ``support_date`` (the term's start)
    support_selected       ``support_school``, ``support_detail`` (the post, the term, the
                           publicity), ``support_date`` (publicity's last day, or empty)
    support_dispatched     ``support_school``, ``support_detail`` (since when), ``support_date``
                           (the term's end): to the teacher and the receiving school
    support_checkin_due    ``support_school``, ``support_detail`` (how many teachers, which
                           months), ``support_date`` (the earliest deadline, or empty); one per
                           receiving school, no case
    support_term_ending    ``support_school``, ``support_detail``, ``support_date`` (the
                           term's end): to the teacher and the approving bureau
    support_assessed       ``support_school``, ``support_detail`` (the grade and what the
                           service ledger credited), ``support_date`` (the day the term ended)
    support_terminated     ``support_school``, ``support_detail`` (why), ``support_date`` (the
                           day the term ended)
    task_progress          ``task_title`` (the task, book or round), ``task_detail`` (what
                           happened), ``task_date`` (the day it is about, or empty)
    task_reminder          ``task_title``, ``task_detail`` (the milestone or the deadline and
                           when it falls due), ``task_date`` (that day)
    task_escalated         ``task_title``, ``task_detail`` (what is overdue, by which unit),
                           ``task_date`` (the day it fell due): to the supervising unit
    task_stagnant          ``task_title``, ``task_detail`` (since when no report),
                           ``task_date`` (the day it was flagged)
    task_scores_published  ``task_title`` (the round), ``task_detail`` (the unit's total and
                           rank), ``task_date`` (the day of publication)
    compliance_found       ``task_title`` (the compliance check), ``task_detail`` (how many
                           new findings in the unit, and what to do), ``task_date`` (the
                           day of the run): to the unit's officers, no case, one a unit and run
    supervision_visit      ``supervision_title`` (the campaign), ``supervision_detail`` (the
                           visit dates), ``supervision_date`` (the first visit day); to the
                           target's officers, no case (an unannounced target hears on that day)
    supervision_finding    ``supervision_title``, ``supervision_detail`` (the item and the
                           finding), ``supervision_date`` (the rectification's deadline)
    supervision_rectified  ``supervision_title``, ``supervision_detail`` (the unit and the
                           item), ``supervision_date`` (the day of the re-inspection)
    supervision_publicized ``supervision_title``, ``supervision_detail`` (the unit, the item and
                           why), ``supervision_date`` (the day): 通报 to the unit and the one above

``python -m notifications.render [kind ...]`` prints every sample for proofreading.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
SUFFIX = ".txt.j2"
SHORT_LIMIT = 70

KINDS: tuple[str, ...] = (
    "case_update",
    "task_assigned",
    "case_copied",
    "countersign_disagreed",
    "reminder_due_soon",
    "reminder_due_today",
    "reminder_overdue",
    "urge",
    "escalation",
    "verification_code",
    "audit_digest",
    "title_appointed",
    "rotation_eligible",
    "rotation_placed",
    "rotation_dispatched",
    "rotation_term_ending",
    "rotation_extended",
    "support_need_approved",
    "support_need_rejected",
    "support_selected",
    "support_dispatched",
    "support_checkin_due",
    "support_term_ending",
    "support_assessed",
    "support_terminated",
    "task_progress",
    "task_reminder",
    "task_escalated",
    "task_stagnant",
    "task_scores_published",
    "compliance_found",
    "supervision_visit",
    "supervision_finding",
    "supervision_rectified",
    "supervision_publicized",
)

COMMON_KEYS = frozenset(
    {
        "recipient_name",
        "case_id",
        "process_label",
        "applicant_name",
        "unit_name",
        "state_label",
        "link",
    }
)
KIND_KEYS: dict[str, frozenset[str]] = {
    "case_update": frozenset({"event_label", "from_label", "to_label", "reason"}),
    "task_assigned": frozenset({"due_on", "sign", "note"}),
    "case_copied": frozenset({"by"}),
    "countersign_disagreed": frozenset({"event_label"}),
    "reminder_due_soon": frozenset({"due_on"}),
    "reminder_due_today": frozenset({"due_on"}),
    "reminder_overdue": frozenset({"due_on", "days_overdue"}),
    "urge": frozenset({"by", "due_on", "note"}),
    "escalation": frozenset({"due_on", "days_overdue", "handler_unit"}),
    "verification_code": frozenset({"code", "minutes"}),
    "audit_digest": frozenset({"taken_at", "fingerprint", "digest_file", "case_count", "breaks"}),
    "title_appointed": frozenset({"title_label", "doc_number", "doc_date"}),
    **{
        kind: frozenset({"rotation_school", "rotation_detail", "rotation_date"})
        for kind in (
            "rotation_eligible",
            "rotation_placed",
            "rotation_dispatched",
            "rotation_term_ending",
            "rotation_extended",
        )
    },
    **{
        kind: frozenset({"support_school", "support_detail", "support_date"})
        for kind in (
            "support_need_approved",
            "support_need_rejected",
            "support_selected",
            "support_dispatched",
            "support_checkin_due",
            "support_term_ending",
            "support_assessed",
            "support_terminated",
        )
    },
    **{
        kind: frozenset({"task_title", "task_detail", "task_date"})
        for kind in (
            "task_progress",
            "task_reminder",
            "task_escalated",
            "task_stagnant",
            "task_scores_published",
            "compliance_found",
        )
    },
    **{
        kind: frozenset({"supervision_title", "supervision_detail", "supervision_date"})
        for kind in (
            "supervision_visit",
            "supervision_finding",
            "supervision_rectified",
            "supervision_publicized",
        )
    },
}
# Every key the dispatcher must supply, per kind.
CONTRACT: dict[str, frozenset[str]] = {kind: COMMON_KEYS | KIND_KEYS[kind] for kind in KINDS}


class UnknownKind(ValueError):
    """A notice kind with no template: an outbox row from newer code, or a typo."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"没有通知类型 {kind!r} 的模板（已知：{', '.join(KINDS)}）")
        self.kind = kind


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    short: str


def _cn_date(value: Any) -> str | None:
    """2025-03-14 → 2025年3月14日: how a bureau writes a date; anything else passes through."""
    if isinstance(value, jinja2.Undefined):
        return str(value)  # StrictUndefined raises here
    if value is None:
        return None  # printed as is, finalize refuses it; wrapped, it reads as empty
    if isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(str(value))
        except ValueError:
            return str(value)
    return f"{day.year}年{day.month}月{day.day}日"


def _wrap(value: Any, before: str = "", after: str = "") -> str:
    """Surround a value that may be empty, so that an empty one leaves no stray brackets."""
    if isinstance(value, jinja2.Undefined):
        return str(value)  # StrictUndefined raises here
    if value is None or value == "":
        return ""
    return f"{before}{value}{after}"


def _no_none(value: Any) -> Any:
    """A None in the output is a hole in the letter: refuse it rather than print "None"."""
    if value is None:
        raise jinja2.UndefinedError("通知模板输出了 None：无值请传空字符串")
    return value


ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
    undefined=jinja2.StrictUndefined,
    autoescape=False,  # plain text: e-mail text/plain, SMS, robot text messages
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
    finalize=_no_none,
    auto_reload=False,  # templates ship with the code; a stat per render buys nothing
)
ENV.filters["cn_date"] = _cn_date
ENV.filters["wrap"] = _wrap


def template_name(kind: str) -> str:
    return f"{kind}{SUFFIX}"


_SPACE = re.compile(r"\s+")


def _one_line(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _cut(text: str, limit: int = SHORT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _body(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines()).strip()


def render(kind: str, context: Mapping[str, Any]) -> Rendered:
    """Render one notice. Raises UnknownKind for a kind with no template and
    jinja2.UndefinedError for a context that breaks the contract."""
    if kind not in CONTRACT:
        raise UnknownKind(kind)
    missing = CONTRACT[kind] - context.keys()
    if missing:
        raise jinja2.UndefinedError(f"通知 {kind} 的上下文缺少：{', '.join(sorted(missing))}")
    return _render(kind, context)


def _render(kind: str, context: Mapping[str, Any]) -> Rendered:
    """The templates alone, without the contract check (the tests prove each template fails
    on its own when a variable it prints is missing)."""
    template = ENV.get_template(template_name(kind))
    ctx = template.new_context(dict(context))
    parts = {name: "".join(template.blocks[name](ctx)) for name in ("subject", "body", "short")}
    return Rendered(
        subject=_one_line(parts["subject"]),
        body=_body(parts["body"]),
        short=_cut(_one_line(parts["short"])),
    )


_CASE: dict[str, Any] = {
    "recipient_name": "王芳",
    "case_id": 12,
    "process_label": "职称评审",
    "applicant_name": "李明",
    "unit_name": "城关县第一中学",
    "state_label": "学校审核",
    "link": "/cases/12",
}

SAMPLE_CONTEXTS: dict[str, dict[str, Any]] = {
    "case_update": {
        **_CASE,
        "recipient_name": "李明",
        "state_label": "退回补正",
        "event_label": "退回补正",
        "from_label": "县级资格审查",
        "to_label": "退回补正",
        "reason": "继续教育学时证明缺2024年度，请补充后重新提交。",
    },
    "task_assigned": {
        **_CASE,
        "due_on": "2026-03-16",
        "sign": "前加签",
        "note": "异议回执编号YY-12-1",
    },
    "case_copied": {**_CASE, "recipient_name": "赵校长", "by": "王芳"},
    "countersign_disagreed": {**_CASE, "event_label": "学校审核通过"},
    "reminder_due_soon": {**_CASE, "due_on": "2026-03-16"},
    "reminder_due_today": {**_CASE, "due_on": "2026-03-16"},
    "reminder_overdue": {**_CASE, "due_on": "2026-03-16", "days_overdue": 3},
    "urge": {
        **_CASE,
        "by": "陈刚",
        "due_on": "2026-03-16",
        "note": "本批次材料下周一前须报送市局，请抓紧审核。",
    },
    "escalation": {
        **_CASE,
        "recipient_name": "刘洋",
        "unit_name": "城关县第一中学",
        "state_label": "县级资格审查",
        "due_on": "2026-03-16",
        "days_overdue": 5,
        "handler_unit": "城关县教育局",
    },
    "verification_code": {
        "recipient_name": "李明",
        "case_id": None,
        "process_label": "",
        "applicant_name": "",
        "unit_name": "",
        "state_label": "",
        "link": "",
        "code": "482917",
        "minutes": 10,
    },
    "audit_digest": {
        "recipient_name": "周敏",
        "case_id": None,
        "process_label": "",
        "applicant_name": "",
        "unit_name": "",
        "state_label": "",
        "link": "",
        "taken_at": "2026-10-14 01:30",
        "fingerprint": "9f2c4e1a7b3d5f60" + "0" * 48,
        "digest_file": "audit-digest-20261014-013000.jsonl.gz",
        "case_count": 41827,
        "breaks": 2,
    },
    "title_appointed": {
        **_CASE,
        "recipient_name": "李明",
        "state_label": "已认定聘任",
        "title_label": "高级教师",
        "doc_number": "某市人社〔2026〕12号",
        "doc_date": "2026-10-20",
    },
    # teacher rotation (交流轮岗)
    "rotation_eligible": {
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
    "rotation_placed": {
        **_CASE,
        "process_label": "交流轮岗",
        "recipient_name": "李明",
        "state_label": "公示中",
        "rotation_school": "东县乡村小学",
        "rotation_detail": "初中数学；第1志愿录取（普通名额）；第1次匹配",
        "rotation_date": "2026-10-16",
    },
    "rotation_dispatched": {
        **_CASE,
        "process_label": "交流轮岗",
        "recipient_name": "李明",
        "state_label": "交流任职中",
        "rotation_school": "东县乡村小学",
        "rotation_detail": "交流期3年，自2026年10月20日起",
        "rotation_date": "2029-10-20",
    },
    "rotation_term_ending": {
        **_CASE,
        "process_label": "交流轮岗",
        "recipient_name": "王芳",
        "state_label": "交流任职中",
        "rotation_school": "东县乡村小学",
        "rotation_detail": "期满后返回城关县第一中学，或经县教育局批准延长",
        "rotation_date": "2029-10-20",
    },
    "rotation_extended": {
        **_CASE,
        "process_label": "交流轮岗",
        "recipient_name": "李明",
        "state_label": "交流任职中",
        "rotation_school": "东县乡村小学",
        "rotation_detail": "延长理由：接收学校毕业班教学需要",
        "rotation_date": "2030-07-31",
    },
    # support teaching (支教)
    "support_need_approved": {
        **_CASE,
        "process_label": "支教需求",
        "recipient_name": "赵老师",
        "unit_name": "东县乡村小学",
        "state_label": "已批准",
        "support_school": "东县乡村小学",
        "support_detail": "初中数学2名，支教期2027年9月1日至2028年8月31日；已开始受理报名和推荐",
        "support_date": "2027-09-01",
    },
    "support_need_rejected": {
        **_CASE,
        "process_label": "支教需求",
        "recipient_name": "赵老师",
        "unit_name": "东县乡村小学",
        "state_label": "未批准",
        "support_school": "东县乡村小学",
        "support_detail": "初中数学2名；理由：该校数学教师已满编",
        "support_date": "2027-09-01",
    },
    "support_selected": {
        **_CASE,
        "process_label": "支教",
        "recipient_name": "李明",
        "state_label": "公示中",
        "support_school": "东县乡村小学",
        "support_detail": "初中数学，支教期2027-09-01至2028-08-31，公示至2027年7月9日",
        "support_date": "2027-07-09",
    },
    "support_dispatched": {
        **_CASE,
        "process_label": "支教",
        "recipient_name": "李明",
        "state_label": "在岗支教",
        "support_school": "东县乡村小学",
        "support_detail": "李明自2027年9月1日起在东县乡村小学支教（初中数学）；"
        "接收学校每月填报考勤",
        "support_date": "2028-08-31",
    },
    "support_checkin_due": {
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
    "support_term_ending": {
        **_CASE,
        "process_label": "支教",
        "recipient_name": "李明",
        "state_label": "在岗支教",
        "support_school": "东县乡村小学",
        "support_detail": "李明在东县乡村小学的支教期即将期满，期满后由接收学校进行期满考核",
        "support_date": "2028-08-31",
    },
    "support_assessed": {
        **_CASE,
        "process_label": "支教",
        "recipient_name": "李明",
        "state_label": "已返回",
        "support_school": "东县乡村小学",
        "support_detail": "期满考核称职；已计入农村或薄弱学校任教经历12个月（1年）",
        "support_date": "2028-08-31",
    },
    "support_terminated": {
        **_CASE,
        "process_label": "支教",
        "recipient_name": "李明",
        "state_label": "期满考核",
        "support_school": "东县乡村小学",
        "support_detail": "支教提前终止（因病），由接收学校进行考核，"
        "已服务时间按考核结果计入任教经历",
        "support_date": "2028-02-29",
    },
    # task lists (任务清单)
    "task_progress": {
        **_CASE,
        "process_label": "任务",
        "recipient_name": "刘洋",
        "unit_name": "东县实验中学",
        "state_label": "延期审批",
        "task_title": "全县教师师德承诺书签订",
        "task_detail": "牵头单位申请延期：等待市局统一文本",
        "task_date": "2026-11-30",
    },
    "task_reminder": {
        **_CASE,
        "process_label": "任务",
        "state_label": "办理中",
        "task_title": "全县教师师德承诺书签订",
        "task_detail": "时间节点“完成签订”将于2026-10-15到期",
        "task_date": "2026-10-15",
    },
    "task_escalated": {
        **_CASE,
        "process_label": "任务",
        "recipient_name": "刘洋",
        "unit_name": "东县实验中学",
        "state_label": "办理中",
        "task_title": "教师培训学时登记",
        "task_detail": "东县实验中学牵头的任务已于2026-10-15到期，至今未办结",
        "task_date": "2026-10-15",
    },
    "task_stagnant": {
        **_CASE,
        "process_label": "任务",
        "state_label": "办理中",
        "task_title": "职称评审材料归档",
        "task_detail": "东县实验中学牵头的任务自2026-09-01起未报告进展，已列为停滞",
        "task_date": "2026-09-16",
    },
    "task_scores_published": {
        **_CASE,
        "process_label": "年终考核评分",
        "state_label": "结果已公布",
        "task_title": "东县2026年度目标责任考核",
        "task_detail": "贵单位总分87.50分，排名第2名",
        "task_date": "2026-12-28",
    },
    # automated compliance checks (合规检查)
    "compliance_found": {
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
    # supervision (督查)
    "supervision_visit": {
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
    "supervision_finding": {
        **_CASE,
        "process_label": "督查整改",
        "recipient_name": "刘洋",
        "state_label": "待整改",
        "supervision_title": "在职教师有偿补课专项督查",
        "supervision_detail": "有偿补课：两名教师在校外机构兼职授课",
        "supervision_date": "2026-11-09",
    },
    "supervision_rectified": {
        **_CASE,
        "process_label": "督查整改",
        "recipient_name": "刘洋",
        "state_label": "整改到位",
        "supervision_title": "在职教师有偿补课专项督查",
        "supervision_detail": "城关县第一中学，有偿补课：经复查，整改到位",
        "supervision_date": "2026-11-20",
    },
    "supervision_publicized": {
        **_CASE,
        "process_label": "督查整改",
        "recipient_name": "刘洋",
        "state_label": "已通报",
        "supervision_title": "在职教师有偿补课专项督查",
        "supervision_detail": "城关县第一中学，有偿补课：整改不到位，仍有教师兼职",
        "supervision_date": "2026-11-20",
    },
}


def main(argv: list[str] | None = None) -> int:
    """Print the samples, so a bureau can proofread the wording without sending anything."""
    kinds = (argv if argv is not None else sys.argv[1:]) or list(KINDS)
    for kind in kinds:
        if kind not in SAMPLE_CONTEXTS:
            raise UnknownKind(kind)
        out = render(kind, SAMPLE_CONTEXTS[kind])
        print(f"===== {kind} =====")
        print(f"标题：{out.subject}")
        print(out.body)
        print(f"--- 短信（{len(out.short)}字）---")
        print(out.short)
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
