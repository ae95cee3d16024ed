"""What each field of the API is called in the bureau's words: one list, read by the error
answers (``api.errors``: 「意见：不能为空」, not 「text：项数太少」) and by the OpenAPI document
(``api.app``), so that both say the same.

A schema field's own ``Field(title=...)`` wins; then ``Model.field`` here (a name that means
different things in different schemas, such as a code that is a post's code in one and an
SMS code in another); then the plain name. The field names are the API's (English, stable:
clients send them); the labels are what a person reads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Final

FIELD_LABELS: Final[dict[str, str]] = {
    # signing in, accounts, preferences
    "username": "用户名",
    "password": "密码",
    "current_password": "当前密码",
    "new_password": "新密码",
    "name": "姓名",
    "id_number": "身份证号",
    "phone": "手机号码",
    "email": "邮箱",
    "channels": "通知渠道",
    "quiet_hours": "免打扰时段",
    "role": "角色",
    "roles": "角色",
    "subject": "学科",
    "acting_id": "代理人",
    "acting": "代理人",
    "starts_on": "开始日期",
    "ends_on": "结束日期",
    "reason": "理由",
    "successor_id": "接任人",
    "successor": "接任人",
    "keep_account": "保留账号",
    # cases and their actions
    "process": "流程",
    "form": "申报表",
    "event": "办理操作",
    "expected_version": "版本号",
    "payload": "办理内容",
    "items": "事项列表",
    "case_id": "事项编号",
    "to_person_id": "转交对象",
    "person_id": "人员编号",
    "person_ids": "抄送对象",
    "position": "加签位置",
    "opinion": "签署意见",
    "comment": "意见",
    "note": "说明",
    "text": "意见",
    "file": "文件",
    "task_id": "待办编号",
    "attachment_id": "附件编号",
    "notification_id": "通知编号",
    "delegation_id": "代理安排编号",
    "Idempotency-Key": "幂等键",
    # publicity and objections
    "content": "异议内容",
    "contact_name": "联系人姓名",
    "contact_phone": "联系手机号码",
    "code": "短信验证码",
    # the org tree, quotas, experts, calendar
    "unit_id": "单位",
    "unit_code": "单位代码",
    "unit": "单位代码",
    "parent_id": "上级单位",
    "parent_code": "上级单位代码",
    "into_code": "并入单位代码",
    "tier": "层级",
    "is_rural": "农村学校",
    "is_weak": "薄弱学校",
    "self_review_pilot": "自主评审试点",
    "on": "日期",
    "year": "年度",
    "year_id": "评审年度编号",
    "title": "职称",
    "posts": "岗位数",
    "available": "本年度是否参评",
    "conflict_id": "回避事项编号",
    # the teacher record
    "school_id": "学校",
    "school_code": "调入学校代码",
    "school": "学校",
    "school_level": "学段",
    "title_date": "职称取得时间",
    "education": "学历",
    "started_teaching_on": "参加教学工作日期",
    "joined_school_on": "调入本校日期",
    "rural_years": "乡村学校任教年限",
    "backbone_level": "骨干教师级别",
    "cert_level": "教师资格证学段",
    "cert_no": "教师资格证号码",
    "cert_registered_on": "教师资格证注册日期",
    "ethics": "师德记录",
    "kind": "类型",
    "status": "状态",
    # recruitment
    "round_id": "招聘轮次编号",
    "announcement": "招聘公告",
    "registration_opens": "报名开始日期",
    "registration_closes": "报名截止日期",
    "written_weight": "笔试成绩占比",
    "interview_weight": "面试成绩占比",
    "shortlist_ratio": "入围比例",
    "replacement_deadline": "递补截止日期",
    "max_age": "年龄上限",
    "province_id": "省份编号",
    "county_id": "县（区）编号",
    "post_code": "报考岗位",
    "seat_id": "学校名额",
    "seats": "名额",
    "min_education": "最低学历",
    "cert_required": "须有教师资格证",
    "opens_on": "申报开始日期",
    "closes_on": "申报截止日期",
    # lists: filters, sorting, paging
    "page": "页码",
    "page_size": "每页条数",
    "sort": "排序字段",
    "order": "排序方向",
    "q": "查询内容",
    "box": "待办分类",
    "state": "环节",
    "applicant": "申报人",
    "unread": "只看未读",
    "valid_only": "只导入无误的行",
    "overdue": "只看逾期",
    "failed": "只看失败",
    "limit": "条数",
    "step": "步骤",
    "schools": "志愿学校",
    "nominated": "是否推荐",
    # rotation (交流轮岗)
    "campaign_id": "交流轮岗工作编号",
    "preferences_open": "志愿填报开始日期",
    "preferences_close": "志愿填报截止日期",
    "confirm_by": "学校确认名单截止日期",
    "eligible_as_of": "任职年限计算截止日期",
    "target_percent": "交流比例",
    "backbone_percent": "骨干教师比例",
    "min_years": "同校任教年限",
    "principal_terms": "校长任职届数",
    "principal_term_years": "校长每届年限",
    "term_years": "交流期限",
    "publicity_days": "公示期",
    "remind_days": "期满提醒",
    "exemption_kinds": "免于交流的情形",
    "shortfall_reason": "比例未达标的说明",
    # task lists (任务清单) and the year-end scoring
    "book_id": "任务书编号",
    "sheet_id": "评分表编号",
    "detail": "任务内容",
    "source": "任务来源",
    "lead": "牵头单位",
    "co": "配合单位",
    "deadline": "完成时限",
    "new_deadline": "新的完成时限",
    "milestones": "时间节点",
    "milestone": "时间节点序号",
    "weight": "权重",
    "weights": "评分权重",
    "percent": "完成进度",
    "evidence": "佐证材料",
    "scores": "评分",
    "due_before": "期限截至",
    "delivery_id": "通知发送记录编号",
    "body": "请求内容",
    # a name that means something else in one schema (or that is also an event's name,
    # which a generic module may not spell alone: tests/test_architecture.py)
    "StartIn.submit": "是否立即提交",
    "PlanIn.submit": "是否同时报送",
    "PlanIn.posts": "岗位列表",
    "PlanPostIn.code": "岗位代码",
    "PlanPostIn.seats": "各校名额",
    "SeatIn.seats": "名额",
    "RoundIn.name": "招聘名称",
    "RoundIn.province_id": "省份编号",
    "RoundIn.written_weight": "笔试成绩占比",
    "RoundIn.interview_weight": "面试成绩占比",
    "YearIn.year": "年度",
    "MoveIn.on": "变动日期",
    "MoveIn.kind": "变动类型",
    "MoveIn.note": "备注或文号",
    "CloseIn.on": "撤销日期",
    "MergeIn.on": "合并日期",
    "DelegationIn.reason": "事由",
    "TeacherEditIn.subject": "任教学科",
    "TeacherEditIn.name": "姓名",
    "AccountIn.unit_id": "单位",
    "QuotaIn.unit_id": "学校",
    "ConflictIn.note": "回避说明",
    "AvailabilityIn.note": "不参评原因",
    "CopyIn.note": "抄送说明",
    "UrgeIn.note": "催办说明",
    "TransferIn.comment": "转交说明",
    "SignerIn.person_id": "加签人",
    "ObjectionIn.code": "短信验证码",
    "RegistrationIn.code": "短信验证码",
    "RegistrationIn.name": "姓名",
    "ChooseIn.seat_id": "所选学校",
    "AccountIn.name": "姓名",
    "UnitIn.name": "单位名称",
    "UnitPatch.name": "单位名称",
    "UnitIn.code": "单位代码",
    "CampaignPatch.name": "交流轮岗工作名称",
    "TaskIn.title": "任务名称",
    "BookIn.title": "任务书名称",
    "RoundIn.title": "考核名称",
    "ProgressIn.text": "进展情况",
}

_INDEX: Final = re.compile(r"\d+")


def label(
    name: str,
    model: str | None = None,
    *,
    title: str | None = None,
    description: str | None = None,
) -> str | None:
    """The label of one field, or None: the schema's ``title``, this list's ``model.name``,
    the schema's ``description`` when it starts with a short name (「岗位代码，本轮唯一」),
    this list's plain ``name``."""
    if title:
        return title
    if model is not None:
        found = FIELD_LABELS.get(f"{model}.{name}")
        if found is not None:
            return found
    if description:
        head = _TRAILING_NOTE.sub("", _CLAUSE.split(description, maxsplit=1)[0].strip())
        if 0 < len(head) <= SHORT and not _ASCII.search(head):
            return head
    return FIELD_LABELS.get(name)


SHORT: Final = 10  # characters a label from a description may have
_CLAUSE: Final = re.compile(r"[，；。：,;]")
_ASCII: Final = re.compile(r"[A-Za-z]")
_TRAILING_NOTE: Final = re.compile(r"（[^（）]*）$")  # 「截止日期（含当天）」: the name before it


def path_label(parts: Sequence[str]) -> str:
    """A path of labels and list indexes as one phrase: ``("事项列表", "0", "版本号")`` →
    「事项列表第1项的版本号」."""
    out = ""
    for part in parts:
        if _INDEX.fullmatch(part):
            out += f"第{int(part) + 1}项"
        elif out:
            out += f"的{part}"
        else:
            out = part
    return out or FIELD_LABELS["body"]


def dotted_label(field: str) -> str:
    """The label of a dotted field path such as ``items.0.expected_version``, each name
    from the list (a name it lacks is quoted as it was sent: it may be a client's typo)."""
    return path_label([_one(p) for p in field.split(".")] if field else [])


def _one(name: str) -> str:
    if _INDEX.fullmatch(name):
        return name
    return label(name) or f"“{name}”"


# --- the OpenAPI document in the same words ---------------------------------------------------
SUCCESS: Final = "成功"
_CJK: Final = re.compile(r"[\u3400-\u9fff]")


def _auto_title(name: str) -> str:
    """The title pydantic makes up from a field's name ("page_size" → "Page Size")."""
    return name.replace("_", " ").title()


def openapi_words(doc: dict[str, Any], invalid: dict[str, Any]) -> dict[str, Any]:
    """The generated document said in the bureau's words, in place: each field's title from
    the list above (unless its schema gave one), each parameter described, FastAPI's
    "Successful Response" and its stock 422 ("Validation Error", a shape the API never
    answers with) replaced by ``invalid``, and the developers' English model docstrings left
    out of what a client's programmer reads."""
    schemas: dict[str, Any] = doc.get("components", {}).get("schemas", {})
    for model, schema in schemas.items():
        if "description" in schema and not _CJK.search(str(schema["description"])):
            del schema["description"]
        for name, prop in schema.get("properties", {}).items():
            said = label(name, model, description=prop.get("description"))
            if said is not None and prop.get("title") in (None, _auto_title(name)):
                prop["title"] = said
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            for param in operation.get("parameters", []):
                said = label(param["name"], description=param.get("description"))
                if said is None:
                    continue
                param.setdefault("description", said)
                if param.get("schema", {}).get("title") in (None, _auto_title(param["name"])):
                    param.setdefault("schema", {})["title"] = said
            for code, response in operation.get("responses", {}).items():
                if response.get("description") == "Successful Response":
                    response["description"] = SUCCESS
                elif code == "422" and response.get("description") == "Validation Error":
                    operation["responses"][code] = invalid
    for stock in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{stock}" not in json.dumps(doc):
            schemas.pop(stock, None)
    return doc
