"""Request and response shapes of /api/v1. Unknown fields are refused everywhere: a typo
must come back as an error, not vanish."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.hygiene import refusal


def _no_control(value: str) -> str:
    """The middleware (``api.hygiene``) refuses these before a route parses the body; the
    schemas say the same, in the same words, for anyone who builds them another way."""
    reason = refusal(value)
    if reason is not None:
        raise ValueError(reason)
    return value


Text = Annotated[str, AfterValidator(_no_control)]
Id = Annotated[int, Field(ge=1, le=2**53)]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Error(BaseModel):
    code: str
    message: str
    field: str | None = None
    allowed: list[str] | None = None
    errors: list[dict[str, str]] | None = None


class TokenIn(In):
    username: Annotated[Text, Field(min_length=1, max_length=64)]
    password: Annotated[Text, Field(min_length=1, max_length=256)]


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class RoleOut(BaseModel):
    role: str
    role_label: str
    unit_id: int
    unit_path: str


class MeOut(BaseModel):
    person_id: int | None
    name: str
    roles: list[RoleOut]


class FieldOut(BaseModel):
    name: str
    label: str
    kind: str
    required: bool
    choices: dict[str, str] | None = None
    max_length: int | None = None


class StateOut(BaseModel):
    id: str
    label: str
    final: bool
    deadline_days: int | None
    window: bool


class EventOut(BaseModel):
    id: str
    label: str
    sources: list[str]
    who: str
    fields: list[FieldOut]


class ProcessOut(BaseModel):
    name: str
    label: str
    states: list[StateOut]
    events: list[EventOut]
    start_form: list[FieldOut]
    diagram_svg: str


class StartIn(In):
    process: Annotated[Text, Field(min_length=1, max_length=32)]
    form: dict[str, Any]
    submit: bool = False


class FireIn(In):
    event: Annotated[Text, Field(min_length=1, max_length=32)]
    expected_version: Id
    payload: dict[str, Any] = Field(default_factory=dict)


class FireOut(BaseModel):
    case_id: int
    process: str
    event: str
    from_state: str | None
    to_state: str
    to_label: str
    version: int
    replayed: bool = False
    reason: str | None = None


class CaseSummary(BaseModel):
    id: int
    process: str
    year: int
    state: str
    state_label: str
    version: int
    unit_id: int
    unit_name: str
    applicant_id: int | None
    applicant_name: str | None
    opened_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None


class CaseList(BaseModel):
    items: list[CaseSummary]
    total: int
    page: int
    page_size: int


class TaskOut(BaseModel):
    id: int
    state: str
    kind: str
    role: str | None
    unit_id: int | None
    unit_name: str | None
    assignee_id: int | None
    assignee_name: str | None
    due_on: dt.date | None
    due_flag: str | None
    overdue: bool
    position: str | None = None


class RecordRow(BaseModel):
    label: str
    value: str


class RecordOut(BaseModel):
    """What a reviewer reads beside the case: the applicant's record, cut to the reader."""

    title: str
    rows: list[RecordRow]
    note: str = ""


class CaseDetail(CaseSummary):
    data: dict[str, Any]
    tasks: list[TaskOut]
    may: list[str]
    may_add_signer: bool
    may_countersign: bool
    may_comment: bool = Field(False, description="本人此刻可以发表意见")
    may_copy: bool = Field(False, description="本人此刻可以抄送本事项")
    may_transfer: list[int] = Field(
        default_factory=list, description="本人可以转交的待办（待办编号）"
    )
    waiting_on: list[str] = Field(
        default_factory=list, description="前加签尚未签署的人员：签署前不能作出审核决定"
    )
    record: RecordOut | None = Field(
        None,
        description="申请人的档案（职称、学历、教龄、农村任教、骨干、师德），按阅读人的身份裁剪",
    )


class BatchItem(In):
    case_id: Id
    expected_version: Id


class BatchIn(In):
    event: Annotated[Text, Field(min_length=1, max_length=32)]
    items: Annotated[list[BatchItem], Field(min_length=1, max_length=500)]
    payload: dict[str, Any] = Field(default_factory=dict)


class BatchResult(BaseModel):
    case_id: int
    ok: bool
    to_state: str | None = None
    version: int | None = None
    error: Error | None = None


class BatchOut(BaseModel):
    succeeded: int
    failed: int
    results: list[BatchResult]


class TransferIn(In):
    to_person_id: Id
    expected_version: Id
    comment: Annotated[Text, Field(max_length=1000)] | None = None


class SignerIn(In):
    person_id: Id
    position: Literal["before", "beside", "after"]
    expected_version: Id
    comment: Annotated[Text, Field(max_length=1000)] | None = None


class CountersignIn(In):
    opinion: Literal["agree", "disagree"]
    expected_version: Id
    comment: Annotated[Text, Field(max_length=1000)] | None = None


class CopyIn(In):
    person_ids: Annotated[list[Id], Field(min_length=1, max_length=50)]
    note: Annotated[Text, Field(max_length=1000)] | None = None


class CommentIn(In):
    text: Annotated[Text, Field(min_length=1, max_length=1000)]


class AuditOut(BaseModel):
    seq: int
    at: dt.datetime
    actor_id: int | None
    actor_label: str
    event: str
    event_label: str
    from_state: str | None
    to_state: str
    payload: dict[str, Any]
    hash: str
    # Fields of this row the reader may not see were left out (the hash covers them all).
    redacted: bool = False


class AttachmentOut(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: int | None
    uploaded_at: dt.datetime


class InboxItem(BaseModel):
    case_id: int
    process: str
    state: str
    state_label: str
    version: int
    applicant_name: str | None
    unit_name: str
    at: dt.datetime
    due_on: dt.date | None
    overdue: bool
    task_id: int | None
    kind: str | None
    read_at: dt.datetime | None
    asks: str = Field("", description="申报事项，如“申报高级教师（数学）”“报考Z-01 小学语文”")
    submitted_at: dt.datetime | None = Field(
        None, description="提交时间（尚在草稿中为空；无草稿环节的业务为发起时间）"
    )


class Inbox(BaseModel):
    box: str
    items: list[InboxItem]
    total: int
    page: int
    page_size: int
    counts: dict[str, int]


class TeacherOut(BaseModel):
    person_id: int
    name: str
    id_number: str | None
    phone: str | None
    school_id: int
    school_name: str
    gender: str
    birth_date: dt.date
    subject: str
    school_level: str
    title: str
    title_label: str
    title_date: dt.date | None
    education: str
    rural_years: float
    backbone_level: str | None
    started_teaching_on: dt.date | None = None
    joined_school_on: dt.date | None = None
    cert_level: str | None = None
    cert_no: str | None = None
    cert_registered_on: dt.date | None = None
    status: str = Field("active", description="active 在职、left 离职、retired 退休、deceased 死亡")
    status_label: str = "在职"
    status_since: dt.date | None = None
    version: int = Field(
        1, description="档案版本号：修改档案或办理人员变动时作为 expected_version 带上（乐观锁）"
    )


class TeacherList(BaseModel):
    items: list[TeacherOut]
    total: int
    page: int
    page_size: int


class PublicityItem(BaseModel):
    case_id: int
    process_label: str
    stage: str
    name: str | None
    id_number: str | None
    phone: str | None
    unit_name: str
    detail: str
    until: dt.date | None


class PublicityList(BaseModel):
    items: list[PublicityItem]
    total: int
    page: int
    page_size: int


class ObjectionCodeIn(In):
    contact_phone: Annotated[Text, Field(min_length=1, max_length=20, description="手机号码")]


class ObjectionCodeOut(BaseModel):
    sent: bool
    message: str


class ObjectionIn(In):
    content: Annotated[Text, Field(min_length=1, max_length=2000)]
    contact_name: Annotated[Text, Field(min_length=1, max_length=50)]
    contact_phone: Annotated[Text, Field(min_length=1, max_length=20, description="手机号码")]
    code: Annotated[Text, Field(pattern=r"^\d{6}$", description="发到该手机号的6位短信验证码")]


class ObjectionOut(BaseModel):
    received: bool
    receipt: str = Field(description="回执编号：查询和沟通异议时请提供")
    message: str


class UrgeIn(In):
    note: Annotated[Text, Field(max_length=500)] | None = None


class NotificationOut(BaseModel):
    id: int
    case_id: int | None
    task_id: int | None = Field(None, description="通知所涉待办（提醒、催办、督办）")
    kind: str
    title: str
    body: str
    at: dt.datetime = Field(description="通知所述事件发生的时间")
    created_at: dt.datetime = Field(description="送达站内信箱的时间")
    read_at: dt.datetime | None
    settled: Literal["done", "handed"] | None = Field(
        None, description="所涉待办已办结（done）或已转他人办理（handed）：不再计为未读"
    )
    settled_at: dt.datetime | None = None


class ReadAllOut(BaseModel):
    read: int = Field(description="本次标为已读的通知条数")
    unread: int


class NotificationList(BaseModel):
    items: list[NotificationOut]
    total: int
    unread: int
    page: int
    page_size: int


class PreferencesIn(In):
    channels: Annotated[list[Literal["email", "sms"]], Field(max_length=2)]
    quiet_hours: (
        Annotated[Text, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")] | None
    ) = None
    email: Annotated[Text, Field(max_length=255, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = (
        None
    )
    phone: Annotated[Text, Field(pattern=r"^1[3-9]\d{9}$")] | None = None


class PreferencesOut(BaseModel):
    channels: list[str]
    quiet_hours: str | None
    email: str | None
    phone: str | None
