"""Title review end to end through the engine, on SQLite and PostgreSQL.

The process is described in docs/processes/title_review.md."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select

from states.clock import local_date
from states.engine import CaseEngine
from states.errors import (
    Conflict,
    EventNotAllowed,
    FormError,
    NotFound,
    PermissionDenied,
    RuleRefused,
)
from states.org import SYSTEM_ACTOR
from states.processes.title_review.seed import appointment
from states.store.models import AuditEvent, Case, OutboxMessage, PanelSeat, Task
from tests.world import DECLARE, Driver, World


def test_declaration_to_appointment(d: Driver, world: World) -> None:
    """The whole path: declaration, school, publicity, county, committee, publicity, appointed."""
    teacher = world.teacher("李老师")
    case_id = d.declare(teacher)
    assert d.case(case_id).state == "school_review"
    [task] = d.open_tasks(case_id)
    assert (task.role, task.org_unit_id) == ("school_officer", world.unit("urban"))
    assert task.due_on == dt.date(2026, 9, 8)  # 5 working days after Tue 1 Sep

    d.fire(case_id, "school_approve", "school_officer", {"comment": "同意推荐"})
    [window] = d.open_tasks(case_id)
    assert window.kind == "window" and window.due_on == dt.date(2026, 9, 8)
    d.close_window(case_id)
    d.fire(case_id, "recommend", "school_officer")
    assert d.case(case_id).state == "county_check"
    d.fire(case_id, "qualify", "county_officer")
    assert d.case(case_id).state == "committee"

    seated = d.panel(case_id)
    assert len(seated) == 7
    recused = {world.actors["expert0"].person_id, world.actors["expert1"].person_id}
    assert not recused & set(seated), "experts from the applicant's own school are recused"
    d.vote_all(case_id, yes=5, no=1)
    d.fire(case_id, "close_sitting", "city_officer")
    assert d.case(case_id).state == "result_publicity"
    d.close_window(case_id)
    assert d.case(case_id).state == "appointment"
    result = d.fire(case_id, "appoint", "city_officer", appointment(local_date(d.clock.now())))
    assert result.to_state == "appointed"
    assert world.title_of(teacher) == ("senior", d.clock.now().date())
    assert d.case(case_id).closed_at is not None
    assert d.open_tasks(case_id) == []

    with d.eng.db.connect() as conn:
        events = list(
            conn.execute(
                select(AuditEvent.event)
                .where(AuditEvent.case_id == case_id)
                .order_by(AuditEvent.seq)
            ).scalars()
        )
        notices = conn.execute(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.case_id == case_id)
        ).scalar_one()
    assert events[:4] == ["create", "submit", "school_approve", "close_publicity"]
    assert events.count("vote") == 6 and events[-1] == "appoint"
    assert notices > 10


def test_vote_is_hidden_until_the_sitting_closes(d: Driver, world: World) -> None:
    case_id = d.declare(world.teacher("王老师"))
    d.through_school(case_id)
    d.fire(case_id, "qualify", "county_officer")
    d.vote_all(case_id, yes=1)
    with d.eng.db.connect() as conn:
        vote_payloads = (
            conn.execute(select(AuditEvent.payload).where(AuditEvent.event == "vote"))
            .scalars()
            .all()
        )
    assert all("yes" not in p for p in vote_payloads), "a vote's choice is not in the trail yet"
    with pytest.raises(PermissionDenied):  # nobody votes twice
        d.fire(case_id, "vote", d.experts(case_id)[0], {"choice": "no"})
    with pytest.raises(NotFound):  # an expert not drawn for this case does not even see it
        outsider = next(
            a
            for k, a in world.actors.items()
            if k.startswith("expert") and a.person_id not in d.panel(case_id)
        )
        d.fire(case_id, "vote", outsider, {"choice": "yes"})


def test_committee_failing_vote_rejects(d: Driver, world: World) -> None:
    case_id = d.declare(world.teacher("赵老师"))
    d.through_school(case_id)
    d.fire(case_id, "qualify", "county_officer")
    d.vote_all(case_id, yes=3, no=3)  # 3 of 6 is under two thirds
    result = d.fire(case_id, "close_sitting", "city_officer")
    assert result.to_state == "rejected"
    with d.eng.db.connect() as conn:
        payload = conn.execute(
            select(AuditEvent.payload).where(AuditEvent.event == "close_sitting")
        ).scalar_one()
    assert '"yes"' in payload and '"no"' in payload, "the closed sitting records every vote"


def test_quorum_is_two_thirds_of_those_drawn(d: Driver, world: World) -> None:
    case_id = d.declare(world.teacher("钱老师"))
    d.through_school(case_id)
    d.fire(case_id, "qualify", "county_officer")
    d.vote_all(case_id, yes=4)  # 4 of 7 drawn: no quorum (needs 5)
    with pytest.raises(RuleRefused, match="法定人数"):
        d.fire(case_id, "close_sitting", "city_officer")
    expert = d.experts(case_id)[4]
    d.fire(case_id, "vote", expert, {"choice": "yes"})
    assert d.fire(case_id, "close_sitting", "city_officer").to_state == "result_publicity"


def test_objection_suspends_then_dismissed_resumes_window(d: Driver, world: World) -> None:
    case_id = d.declare(world.teacher("孙老师"))
    d.through_school(case_id)
    d.fire(case_id, "qualify", "county_officer")
    d.vote_all(case_id, yes=7)
    d.fire(case_id, "close_sitting", "city_officer")
    [window] = d.open_tasks(case_id)
    objection = {"content": "论文涉嫌抄袭", "contact_name": "张三", "contact_phone": "13800138000"}
    from states.org import PUBLIC_ACTOR

    d.fire(case_id, "raise_objection", PUBLIC_ACTOR, objection)
    assert d.case(case_id).state == "objection_review"
    with pytest.raises(EventNotAllowed):
        d.fire(case_id, "close_publicity", SYSTEM_ACTOR)
    d.clock.advance(days=3)
    d.fire(case_id, "dismiss_objection", "county_officer", {"reason": "经核查，论文系本人原创"})
    assert d.case(case_id).state == "result_publicity"
    [resumed] = d.open_tasks(case_id)
    assert resumed.due_on > window.due_on, "the days of the suspension are not counted"
    d.close_window(case_id)
    appointed = d.fire(case_id, "appoint", "city_officer", appointment(local_date(d.clock.now())))
    assert appointed.to_state == "appointed"


def test_objection_upheld_rejects(d: Driver, world: World) -> None:
    case_id = d.declare(world.teacher("周老师"))
    d.through_school(case_id)
    d.fire(case_id, "qualify", "county_officer")
    d.vote_all(case_id, yes=7)
    d.fire(case_id, "close_sitting", "city_officer")
    from states.org import PUBLIC_ACTOR

    d.fire(
        case_id,
        "raise_objection",
        PUBLIC_ACTOR,
        {"content": "师德问题", "contact_name": "李四", "contact_phone": "13900139000"},
    )
    with pytest.raises(FormError) as err:
        d.fire(case_id, "uphold_objection", "county_officer", {})
    assert err.value.field == "reason"
    r = d.fire(case_id, "uphold_objection", "county_officer", {"reason": "异议属实"})
    assert r.to_state == "rejected"


# --- rules --------------------------------------------------------------------------------
def test_ethics_veto_rejects_at_declaration(d: Driver, world: World) -> None:
    teacher = world.teacher("吴老师", ethics=[dt.date(2024, 5, 1)])
    case_id = d.eng.start("title_review", teacher, DECLARE).case_id
    result = d.fire(case_id, "submit", teacher)
    assert result.to_state == "rejected" and result.event == "veto"
    assert "师德一票否决" in (result.reason or "")


def test_ethics_veto_rejects_at_a_later_step(d: Driver, world: World) -> None:
    teacher = world.teacher("郑老师")
    case_id = d.declare(teacher)
    d.through_school(case_id)
    from sqlalchemy import insert

    from states.store.models import EthicsRecord

    with d.eng.db.begin() as conn:
        conn.execute(
            insert(EthicsRecord.__table__).values(
                person_id=teacher.person_id, occurred_on=dt.date(2026, 9, 2), description="体罚学生"
            )
        )
    result = d.fire(case_id, "qualify", "county_officer")
    assert (result.event, result.to_state) == ("veto", "rejected")


def test_old_ethics_record_outside_lookback_does_not_veto(d: Driver, world: World) -> None:
    teacher = world.teacher("冯老师", ethics=[dt.date(2019, 1, 1)])
    assert (
        d.fire(d.eng.start("title_review", teacher, DECLARE).case_id, "submit", teacher).to_state
        == "school_review"
    )


@pytest.mark.parametrize(
    ("kwargs", "form", "match"),
    [
        ({"title_years": 3}, DECLARE, "任现职年限不足"),
        ({"education": "associate"}, DECLARE, "学历不符合要求"),
        ({"rural_years": 0}, DECLARE, "农村或薄弱学校"),
        ({}, {**DECLARE, "target_title": "full_senior"}, "逐级申报"),
    ],
    ids=["years", "education", "rural", "skip-rung"],
)
def test_eligibility_refuses_declaration(
    d: Driver, world: World, kwargs: dict, form: dict, match: str
) -> None:
    teacher = world.teacher("陈老师", **kwargs)
    case_id = d.eng.start("title_review", teacher, form).case_id
    with pytest.raises(RuleRefused, match=match):
        d.fire(case_id, "submit", teacher)
    assert d.case(case_id).state == "draft" and d.case(case_id).version == 1


def test_rural_school_teacher_needs_no_rural_service(d: Driver, world: World) -> None:
    teacher = world.teacher("褚老师", "rural", rural_years=0)
    assert d.declare(teacher)


def test_quota_caps_recommendations_but_not_30_year_rural_teachers(d: Driver, world: World) -> None:
    cases = [d.declare(world.teacher(f"教师{i}")) for i in range(3)]
    d.through_school(cases[0])
    d.through_school(cases[1])
    d.fire(cases[2], "school_approve", "school_officer")
    d.close_window(cases[2])
    with pytest.raises(RuleRefused, match="无空余职数"):  # 2 senior posts
        d.fire(cases[2], "recommend", "school_officer")
    veteran = d.declare(world.teacher("卫老师", rural_years=31))
    d.through_school(veteran)  # not counted against the quota
    assert d.case(veteran).state == "county_check"
    # A rejection frees the post.
    d.fire(cases[0], "reject", "county_officer", {"reason": "材料不实"})
    d.fire(cases[2], "recommend", "school_officer")
    assert d.case(cases[2]).state == "county_check"


def test_self_review_pilot_runs_committee_at_school(d: Driver, world: World) -> None:
    teacher = world.teacher("蒋老师", "pilot")
    case_id = d.declare(teacher)
    d.through_school(case_id, "pilot_officer")
    d.fire(case_id, "qualify", "county_officer")
    experts = {a.person_id for k, a in world.actors.items() if k.startswith("pilot_expert")}
    assert set(d.panel(case_id)) <= experts
    d.vote_all(case_id, yes=7)
    with pytest.raises(PermissionDenied):
        d.fire(case_id, "close_sitting", "city_officer")
    assert d.fire(case_id, "close_sitting", "pilot_officer").to_state == "result_publicity"


# --- approval moves ---------------------------------------------------------------------
def test_return_for_correction_and_resubmit_goes_back_to_the_returning_step(
    d: Driver, world: World
) -> None:
    teacher = world.teacher("沈老师")
    case_id = d.declare(teacher)
    d.through_school(case_id)
    with pytest.raises(FormError, match="理由"):
        d.fire(case_id, "send_back", "county_officer", {})
    d.fire(case_id, "send_back", "county_officer", {"reason": "缺少继续教育证明"})
    assert d.case(case_id).state == "returned"
    [task] = d.open_tasks(case_id)
    assert task.assignee_id == teacher.person_id
    d.fire(case_id, "resubmit", teacher, {"comment": "已补充"})
    assert d.case(case_id).state == "county_check"


def test_withdraw_only_before_first_decision(d: Driver, world: World) -> None:
    a, b = world.teacher("韩老师"), world.teacher("杨老师")
    first = d.declare(a)
    assert d.fire(first, "withdraw", a).to_state == "withdrawn"
    second = d.declare(b)
    d.fire(second, "send_back", "school_officer", {"reason": "请补充述职报告"})
    d.fire(second, "resubmit", b)
    with pytest.raises(RuleRefused, match="已有审核意见"):
        d.fire(second, "withdraw", b)


def test_transfer_hands_the_task_to_a_colleague(d: Driver, world: World) -> None:
    case_id = d.declare(world.teacher("朱老师"))
    [task] = d.open_tasks(case_id)
    version = d.case(case_id).version
    colleague = world.actors["school_officer2"]
    with pytest.raises(FormError) as bad:  # only to someone holding the same role there
        d.eng.transfer(
            task.id,
            world.actors["county_officer"].person_id,
            world.actors["school_officer"],
            expected_version=version,
        )
    assert bad.value.field == "to_person_id"
    d.eng.transfer(
        task.id,
        colleague.person_id,
        world.actors["school_officer"],
        expected_version=version,
        comment="出差，请代为审核",
    )
    with pytest.raises(PermissionDenied, match="转交"):
        d.fire(case_id, "school_approve", "school_officer")
    d.fire(case_id, "school_approve", colleague)
    assert d.case(case_id).state == "school_publicity"


# --- bad input writes nothing -----------------------------------------------------------
def _snapshot(engine: Engine) -> tuple[int, ...]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (AuditEvent, Task, OutboxMessage, PanelSeat)
        ) + tuple(conn.execute(select(Case.version).order_by(Case.id)).scalars())


def test_refusals_write_nothing(d: Driver, world: World, eng: CaseEngine) -> None:
    case_id = d.declare(world.teacher("秦老师"))
    before = _snapshot(eng.db)
    with pytest.raises(EventNotAllowed) as not_allowed:
        d.fire(case_id, "appoint", "city_officer")
    assert not_allowed.value.allowed == ["school_approve", "send_back", "reject", "withdraw"]
    assert "可执行" in not_allowed.value.message
    with pytest.raises(NotFound):
        d.fire(case_id, "school_approve", "west_school_officer")  # another school: invisible
    with pytest.raises(NotFound):
        d.fire(case_id, "school_approve", "west_officer")  # another county: invisible
    with pytest.raises(PermissionDenied):
        d.fire(case_id, "school_approve", "county_officer")  # in scope, wrong role
    with pytest.raises(PermissionDenied):
        d.fire(case_id, "school_approve", "秦老师")  # the applicant cannot approve
    with pytest.raises(Conflict):
        eng.fire(case_id, "school_approve", world.actors["school_officer"], expected_version=1)
    with pytest.raises(FormError) as bad:
        d.fire(case_id, "school_approve", "school_officer", {"verdict": "ok"})
    assert bad.value.field == "verdict"
    with pytest.raises(FormError) as missing:
        eng.start("title_review", world.teacher("尤老师"), {**DECLARE, "target_title": "boss"})
    assert missing.value.field == "target_title"
    assert _snapshot(eng.db)[:4] == before[:4] and _snapshot(eng.db)[4:6] == before[4:6]


def test_idempotency_key_returns_the_first_result(d: Driver, world: World, eng: CaseEngine) -> None:
    case_id = d.declare(world.teacher("许老师"))
    officer = world.actors["school_officer"]
    v = d.case(case_id).version
    first = eng.fire(case_id, "school_approve", officer, expected_version=v, idempotency_key="k1")
    again = eng.fire(case_id, "school_approve", officer, expected_version=v, idempotency_key="k1")
    assert again.replayed and (again.to_state, again.version) == (first.to_state, first.version)
    assert d.case(case_id).version == first.version
    with pytest.raises(FormError, match="幂等键"):
        eng.fire(
            case_id, "reject", officer, {"reason": "x"}, expected_version=v, idempotency_key="k1"
        )


def test_a_replay_after_comments_reports_the_version_not_the_trail(
    d: Driver, world: World, eng: CaseEngine
) -> None:
    """Comments extend the audit trail without moving the version: a client that replays a
    keyed request and reuses the version it gets back must not meet a false conflict."""
    teacher = world.teacher("华老师")
    case_id = d.declare(teacher)
    officer = world.actors["school_officer"]
    eng.comment(case_id, officer, "材料已收到")
    eng.comment(case_id, teacher, "谢谢")
    v = d.case(case_id).version
    first = eng.fire(case_id, "school_approve", officer, expected_version=v, idempotency_key="k2")
    again = eng.fire(case_id, "school_approve", officer, expected_version=v, idempotency_key="k2")
    assert again.replayed and again.version == first.version == d.case(case_id).version
    assert d.case(case_id).seq > again.version  # the trail is longer than the version
    eng.comment(case_id, officer, "公示中")
    # the replayed version is the one to send next: refused for the window, not as stale
    with pytest.raises(RuleRefused, match="公示期未满"):
        eng.fire(case_id, "close_publicity", SYSTEM_ACTOR, expected_version=again.version)


def test_refused_declaration_with_submit_leaves_nothing(d: Driver, world: World) -> None:
    """Create-and-submit is one transaction: the teacher can correct and declare again."""
    teacher = world.teacher("严老师", title_years=2)
    before = _snapshot(d.eng.db)
    with pytest.raises(RuleRefused, match="任现职年限不足"):
        d.eng.start("title_review", teacher, DECLARE, submit=True)
    assert _snapshot(d.eng.db) == before
    with pytest.raises(RuleRefused):  # not blocked by a stranded draft: refused on its merits
        d.eng.start("title_review", teacher, DECLARE, submit=True)
