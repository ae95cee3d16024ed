"""/api/v1/recruitment/status: a candidate looks up their registrations without an account,
with their ID number, the mobile they registered with and an SMS code sent for the lookup
(``states.processes.recruitment.candidates``). The twin of the page ``/recruitment/status``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api import schemas as s
from api.deps import Address, Svc
from api.errors import ERRORS
from states.errors import Conflict
from states.processes.recruitment import candidates
from states.processes.recruitment.spec import APPLICANT_SPEC
from states.verification import issue_code

candidate = APIRouter(
    prefix="/api/v1/recruitment/status",
    tags=["招聘报名（无需登录）"],
    responses={404: ERRORS[404], 409: ERRORS[409], 422: ERRORS[422]},
)


class StatusCodeIn(s.In):
    phone: Annotated[s.Text, Field(max_length=20, description="报名时填写的手机号")]
    id_number: Annotated[
        s.Text | None, Field(max_length=20, description="身份证号（选填，填写的先核对格式）")
    ] = None


class StatusIn(s.In):
    id_number: Annotated[s.Text, Field(max_length=20, description="身份证号")]
    phone: Annotated[s.Text, Field(max_length=20, description="报名时填写的手机号")]
    code: Annotated[s.Text, Field(max_length=10, description="短信验证码（6位数字）")]


class Sent(BaseModel):
    result: dict[str, int]


class RecordRow(BaseModel):
    label: str
    value: str


class StandingOut(BaseModel):
    case_id: Annotated[int, Field(description="报名号")]
    round_id: int
    round: Annotated[str, Field(description="招聘名称")]
    post: Annotated[str, Field(description="报考岗位")]
    state: str
    state_label: str
    step: Annotated[str, Field(description="目前所处环节，如“笔试成绩 88.5 分”“入围面试”")]
    reason: Annotated[str | None, Field(description="报名结束的原因（有理由的才有）")]
    next: Annotated[str, Field(description="下一步")]
    due_on: Annotated[dt.date | None, Field(description="下一步的办结期限（有期限的才有）")]
    record: Annotated[list[RecordRow], Field(description="报名信息与成绩（身份证号已脱敏）")]


class StatusOut(BaseModel):
    registrations: list[StandingOut]


@candidate.post(
    "/code",
    status_code=202,
    response_model=Sent,
    summary="查询报名进度：获取短信验证码",
    responses={409: ERRORS[409], 429: {"model": s.Error, "description": "获取验证码过于频繁"}},
)
def send_code(body: StatusCodeIn, svc: Svc, address: Address) -> Sent:
    """向填写的手机号发送查询用的短信验证码（10分钟内有效，只能查询一次）。不论该号码是否用于
    报名都发送、回答相同，验证码核对之前不透露任何报名信息。限制同报名验证码：每个号码每分钟
    1次、每天5次，每个网络地址每小时10次，超出时 429。本系统未开通短信通道时 409。"""
    if body.id_number is not None:
        candidates.checked_id_number(body.id_number)
    phone = candidates.checked_phone(body.phone)
    if not svc.sms:
        raise Conflict(candidates.NO_SMS)
    issue_code(
        svc.db,
        svc.clock,
        phone,
        address=address,
        purpose=candidates.STATUS,
        throttle=svc.throttle,
    )
    return Sent(result={"sent": 1})


@candidate.post("", response_model=StatusOut, summary="考生查询报名进度")
def status(body: StatusIn, svc: Svc) -> StatusOut:
    """考生凭身份证号、报名时填写的手机号和短信验证码（先用 /code 获取），查询本人的各次报名：
    所处环节（报名待审核、资格审查通过、笔试成绩、入围面试、面试成绩、综合成绩与排名、拟聘用
    公示、未入围……）、报名信息与成绩、下一步及期限。验证码错误或失效时 422（field 为 code，
    说明还可再试几次）；验证码正确、但该身份证号没有以此手机号报名时 404。验证码核对通过后即
    失效，再次查询须重新获取。"""
    found = candidates.lookup(svc.db, svc.clock, body.id_number, body.phone, body.code)
    return StatusOut(
        registrations=[
            StandingOut(
                case_id=f.case_id,
                round_id=f.round_id,
                round=f.round_name,
                post=f.post,
                state=f.state,
                state_label=APPLICANT_SPEC.state_label(f.state),
                step=f.step,
                reason=f.reason,
                next=f.next,
                due_on=f.due_on,
                record=[RecordRow(label=k, value=v) for k, v in f.rows],
            )
            for f in found
        ]
    )


__all__ = ["candidate"]
