"""Objections from the public (公示异议), on both databases: confirmed by an SMS code sent to
the objector's mobile, answered with a receipt number, one per mobile per case per window,
and an objection found unfounded not taken again with the same content — over the API, on
the public page, and on the engine for every process that uses the publicity block."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from statemachine import State, StateMachine

from notifications.dispatch import dispatch
from states.blocks.publicity import (
    DISMISSED,
    OBJECTION,
    OBJECTION_RULES,
    UPHELD,
    FileObjection,
    ResumeWindow,
    SettleObjection,
    SuspendWindow,
)
from states.clock import FrozenClock
from states.engine import CaseEngine
from states.errors import RuleRefused
from states.org import PUBLIC_ACTOR, SYSTEM_ACTOR
from states.process.forms import REASON, Form
from states.process.package import ProcessPackage
from states.process.spec import (
    PUBLIC_WINDOW,
    By,
    Command,
    EffectContext,
    EventSpec,
    ProcessSpec,
    StateSpec,
)
from states.processes import installed
from states.store.models import AuditEvent, OutboxMessage, VerificationCode
from tests.live import Live
from tests.test_api import _ids, declare
from tests.test_pages import _check_page, _client, _field_error, _sign_in, _to_result_publicity
from tests.world import Driver, World

PHONE_A, PHONE_B = "13800138000", "13900139000"
SAID = "业绩材料与事实不符"


# --- helpers -----------------------------------------------------------------------------------
def _code(live: Live, phone: str) -> str:
    """The code the SMS to ``phone`` carries, read from the outbox that delivers it."""
    with live.services.db.connect() as conn:
        payloads = conn.execute(
            select(OutboxMessage.payload)
            .where(OutboxMessage.kind == "verification_code")
            .order_by(OutboxMessage.id.desc())
        ).scalars()
        return next(str(p["code"]) for p in payloads if p["phone"] == phone)


def _in_result_publicity(live: Live) -> int:
    cid = int(declare(live, live.client("teacher"), _ids(live)["subject"])["case_id"])
    _to_result_publicity(live, cid)
    return cid


def _object(live: Live, anon: httpx.Client, cid: int, phone: str, content: str) -> httpx.Response:
    """Both steps as a member of the public takes them: ask for the code, type it in."""
    live.clock.advance(minutes=2)  # one code a minute per number
    asked = anon.post(
        f"/api/v1/public/publicity/{cid}/objection-codes", json={"contact_phone": phone}
    )
    assert asked.status_code == 202, asked.text
    return anon.post(
        f"/api/v1/public/publicity/{cid}/objections",
        json={
            "content": content,
            "contact_name": "张三",
            "contact_phone": phone,
            "code": _code(live, phone),
        },
    )


def _decide(live: Live, cid: int, event: str, reason: str) -> None:
    county = live.client("county_officer")
    version = county.get(f"/api/v1/cases/{cid}").json()["version"]
    r = county.post(
        f"/api/v1/cases/{cid}/events",
        json={"event": event, "expected_version": version, "payload": {"reason": reason}},
    )
    assert r.status_code == 200, r.text


# --- over the API --------------------------------------------------------------------------------
def test_an_objection_is_confirmed_by_sms_code_and_answered_with_a_receipt(live: Live) -> None:
    cid = _in_result_publicity(live)
    anon = live.client()
    codes = f"/api/v1/public/publicity/{cid}/objection-codes"
    objections = f"/api/v1/public/publicity/{cid}/objections"
    form = {"content": SAID, "contact_name": "张三", "contact_phone": PHONE_A}

    closed = anon.post(
        "/api/v1/public/publicity/999999/objection-codes", json={"contact_phone": PHONE_A}
    )
    assert closed.status_code == 404 and "不在异议受理期内" in closed.json()["message"]
    bad = anon.post(codes, json={"contact_phone": "12345"})
    assert bad.status_code == 422 and bad.json()["field"] == "contact_phone"
    assert "手机号码格式不正确" in bad.json()["message"]

    # Without a code, nothing is taken: the phone is never taken on trust.
    unproved = anon.post(objections, json=form)
    assert unproved.status_code == 422 and unproved.json()["field"] == "code"
    # A code sent for registering in a recruitment round does not confirm an objection.
    registering = anon.post(
        "/api/v1/public/recruitment/verification-codes", json={"phone": PHONE_A}
    )
    assert registering.status_code == 202
    other = anon.post(objections, json={**form, "code": _code(live, PHONE_A)})
    assert other.status_code == 422 and other.json()["field"] == "code"
    assert "验证码已失效" in other.json()["message"]

    live.clock.advance(minutes=2)
    sent = anon.post(codes, json={"contact_phone": PHONE_A})
    assert sent.status_code == 202 and "138****8000" in sent.json()["message"]
    code = _code(live, PHONE_A)
    wrong = anon.post(objections, json={**form, "code": "000000" if code != "000000" else "1" * 6})
    assert wrong.status_code == 422 and wrong.json()["field"] == "code"
    assert "验证码错误" in wrong.json()["message"]

    taken = anon.post(objections, json={**form, "code": code})
    assert taken.status_code == 201, taken.text
    receipt = taken.json()["receipt"]
    assert receipt == f"YY-{cid}-1" and receipt in taken.json()["message"]
    with live.services.db.connect() as conn:
        used = conn.execute(
            select(VerificationCode.used_at).where(
                VerificationCode.phone == PHONE_A, VerificationCode.purpose == f"objection:{cid}"
            )
        ).scalar_one()
        [recorded] = conn.execute(
            select(AuditEvent.payload).where(
                AuditEvent.case_id == cid, AuditEvent.event == "raise_objection"
            )
        ).scalars()
    assert used is not None, "the code is used up with the objection it confirmed"
    assert receipt in recorded, "the receipt is on the audit trail"

    # The officer who looks into it is told the receipt, and finds it on the case.
    county = live.client("county_officer")
    [objection] = county.get(f"/api/v1/cases/{cid}").json()["data"]["objections"]
    assert objection["receipt"] == receipt and objection["contact_phone"] == PHONE_A
    dispatch(live.services.db, live.clock, {}, catalogue=live.services.engine.processes)
    notices = county.get("/api/v1/notifications").json()["items"]
    assert any(n["case_id"] == cid and receipt in n["body"] for n in notices), notices


def test_one_mobile_objects_once_per_window_and_dismissed_content_is_not_refiled(
    live: Live,
) -> None:
    cid = _in_result_publicity(live)
    anon = live.client()
    first = _object(live, anon, cid, PHONE_A, SAID)
    assert first.status_code == 201, first.text
    _decide(live, cid, "dismiss_objection", "经核查，业绩材料真实")

    # Resumed after the dismissal, it is the same window: the same mobile is refused.
    again = _object(live, anon, cid, PHONE_A, "另有论文抄袭问题")
    assert again.status_code == 422 and again.json()["field"] == "contact_phone"
    assert "限提一次" in again.json()["message"] and f"YY-{cid}-1" in again.json()["message"]
    # The dismissed content again, however it is spaced, punctuated or typed: refused.
    same = _object(live, anon, cid, PHONE_B, " 业绩材料，与事实不符！ ")
    assert same.status_code == 422 and same.json()["field"] == "content"
    assert "不再重复受理" in same.json()["message"]
    # Something new from another mobile is taken, with the next receipt.
    new = _object(live, anon, cid, PHONE_B, "任现职年限不足五年")
    assert new.status_code == 201 and new.json()["receipt"] == f"YY-{cid}-2"
    _decide(live, cid, "uphold_objection", "经核查，任现职年限不足")

    county, _ = _sign_in(live, "county_officer")
    page = county.get(f"/cases/{cid}").text
    _check_page(page)
    assert f"回执编号 YY-{cid}-1</strong>（异议不成立）" in page
    assert f"回执编号 YY-{cid}-2</strong>（异议成立）" in page


# --- on the public page ---------------------------------------------------------------------------
def test_the_objection_form_sends_a_code_keeps_what_was_typed_and_shows_the_receipt(
    live: Live,
) -> None:
    cid = _in_result_publicity(live)
    anon = _client(live)
    page = anon.get("/public/publicity").text
    _check_page(page)
    assert f'formaction="/public/publicity/{cid}/objection/code"' in page
    assert f'for="obj{cid}-code"' in page
    url = f"/public/publicity/{cid}/objection"
    typed = {"content": SAID, "contact_name": "张三", "contact_phone": PHONE_A, "code": ""}

    cross = anon.post(f"{url}/code", data=typed, headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    sent = anon.post(f"{url}/code", data=typed)
    assert sent.status_code == 200, sent.text
    _check_page(sent.text)
    assert "验证码已发送至138****8000" in sent.text and "<details open>" in sent.text
    assert SAID in sent.text and f'value="{PHONE_A}"' in sent.text, "what was typed is kept"
    too_soon = anon.post(f"{url}/code", data=typed)
    assert too_soon.status_code == 422
    assert "1分钟" in _field_error(too_soon.text, f"obj{cid}-contact_phone")

    blank = anon.post(url, data=typed)
    assert blank.status_code == 422
    assert _field_error(blank.text, f"obj{cid}-code") == "请先获取并填写短信验证码"
    ok = anon.post(url, data={**typed, "code": _code(live, PHONE_A)})
    assert ok.status_code == 303 and ok.headers["location"] == "/public/publicity"
    shown = anon.get("/public/publicity").text
    assert f"回执编号：YY-{cid}-1" in shown


# --- on the engine, for every process with a window ---------------------------------------------
def test_the_rules_refuse_on_the_engine_naming_the_field(d: Driver, world: World) -> None:
    """The rules belong to the publicity block: title review gets them without a line of
    its own (recruitment's run is in test_recruitment)."""
    case_id = d.declare(world.teacher("孙老师"))
    d.through_school(case_id)
    d.fire(case_id, "qualify", "county_officer")
    d.vote_all(case_id, yes=7)
    d.fire(case_id, "close_sitting", "city_officer")
    filed = {"content": "论文涉嫌抄袭", "contact_name": "张三", "contact_phone": PHONE_A}
    d.fire(case_id, "raise_objection", PUBLIC_ACTOR, filed)
    d.fire(case_id, "dismiss_objection", "county_officer", {"reason": "经核查，论文系本人原创"})
    [objection] = d.case(case_id).data["objections"]
    assert objection["receipt"] == f"YY-{case_id}-1" and objection["outcome"] == DISMISSED

    with pytest.raises(RuleRefused) as once:
        d.fire(case_id, "raise_objection", PUBLIC_ACTOR, {**filed, "content": "另一件事"})
    assert once.value.field == "contact_phone"
    with pytest.raises(RuleRefused) as refiled:
        d.fire(
            case_id,
            "raise_objection",
            PUBLIC_ACTOR,
            {**filed, "content": "论文 涉嫌抄袭。", "contact_phone": PHONE_B},
        )
    assert refiled.value.field == "content"
    assert d.case(case_id).state == "result_publicity", "a refused objection writes nothing"


# A throwaway process whose case can be publicised again, to pin down what "one window" is.
class NoticeMachine(StateMachine):
    draft = State("草稿", initial=True)
    posted = State("公示中")
    objected = State("异议核查")
    done = State("已结束", final=True)

    post = draft.to(posted)
    raise_objection = posted.to(objected)
    dismiss = objected.to(posted)
    uphold = objected.to(draft)
    end_posting = posted.to(draft)
    finish = draft.to(done)


def _notice_effects(ctx: EffectContext) -> tuple[Command, ...]:
    return {
        "raise_objection": (FileObjection(), SuspendWindow()),
        "dismiss": (SettleObjection(DISMISSED), ResumeWindow()),
        "uphold": (SettleObjection(UPHELD),),
    }.get(ctx.event, ())


NOTICE = ProcessPackage(
    name="notice",
    label="公示事项",
    specs=(
        ProcessSpec(
            name="notice",
            label="公示事项",
            machine=NoticeMachine,
            states={
                "draft": StateSpec("draft", By(applicant=True), escalation="none"),
                "posted": StateSpec(
                    "posted",
                    By(system=True),
                    3,
                    (),
                    "none",
                    frozenset({PUBLIC_WINDOW}),
                    on_expiry="end_posting",
                ),
                "objected": StateSpec("objected", By(officer="county"), 5),
                "done": StateSpec("done"),
            },
            events={
                e.name: e
                for e in (
                    EventSpec("post", "公示", By(applicant=True), decision=False),
                    EventSpec(
                        "raise_objection",
                        "提出异议",
                        By(public=True),
                        OBJECTION_RULES,
                        form=OBJECTION,
                        decision=False,
                    ),
                    EventSpec("dismiss", "异议不成立", form=Form((REASON,))),
                    EventSpec("uphold", "异议成立", form=Form((REASON,))),
                    EventSpec("end_posting", "公示期满", By(system=True)),
                    EventSpec("finish", "结束", By(applicant=True), decision=False),
                )
            },
            effects=_notice_effects,
        ),
    ),
)


@pytest.fixture
def notices(engine: Engine, world: World, clock: FrozenClock) -> Driver:
    return Driver(CaseEngine(engine, (*installed(), NOTICE), clock), world, clock)


def _objects(d: Driver, case_id: int, phone: str, content: str) -> Any:
    filed = {"content": content, "contact_name": "张三", "contact_phone": phone}
    return d.fire(case_id, "raise_objection", PUBLIC_ACTOR, filed)


def test_a_resumed_window_is_the_same_window_a_new_publicity_is_a_new_one(
    notices: Driver, world: World
) -> None:
    d = notices
    teacher = world.teacher("钱老师")
    case_id = d.eng.start("notice", teacher, {}).case_id
    d.fire(case_id, "post", teacher)
    _objects(d, case_id, PHONE_A, "第一件事")
    d.fire(case_id, "dismiss", "county_officer", {"reason": "不成立"})
    with pytest.raises(RuleRefused):  # suspended and resumed: the same window
        _objects(d, case_id, PHONE_A, "第二件事")

    d.fire(case_id, "end_posting", SYSTEM_ACTOR)
    d.fire(case_id, "post", teacher)
    # Publicised again: a new window, in which the same mobile may object once more ...
    _objects(d, case_id, PHONE_A, "第二件事")
    assert d.case(case_id).data["objections"][-1]["receipt"] == f"YY-{case_id}-2"
    d.fire(case_id, "uphold", "county_officer", {"reason": "成立"})
    d.fire(case_id, "post", teacher)
    # ... and after an upheld objection too; but a dismissed content stays refused.
    with pytest.raises(RuleRefused) as refiled:
        _objects(d, case_id, PHONE_A, "第一件事")
    assert refiled.value.field == "content"
    assert _objects(d, case_id, PHONE_A, "第三件事").to_state == "objected"
    windows = [o["window"] for o in d.case(case_id).data["objections"]]
    assert windows == [1, 2, 3]
