"""Assignment that heals, on both databases: an officer on leave names an acting holder (代理)
and their work goes to the holder and comes back after; a person who leaves hands all of
their open work over in one action (离职转办); disabling and unbinding never strand work.
Every move is an audit event on the case, and the case's chain still verifies."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import select, update

from states.clock import FrozenClock, bureau_time
from states.errors import Conflict, FormError, NotFound, PermissionDenied
from states.org import Actor
from states.registry import accounts, delegation
from states.store.audit_store import verify_trail
from states.store.models import AuditEvent, Person, RoleBinding
from states.store.people import load_actor
from states.store.queries import inbox
from states.sweeps import deadline_sweep
from tests.world import Driver, World

TODAY = dt.date(2026, 9, 1)


def _accounts(world: World, *keys: str) -> None:
    """The world's officers are actors without sign-in; acting holders need an account."""
    with world.engine.begin() as conn:
        for key in keys:
            conn.execute(
                update(Person)
                .where(Person.id == world.actors[key].person_id)
                .values(username=key, password_hash="x")
            )


def _task(d: Driver, case_id: int) -> Any:
    [task] = [t for t in d.open_tasks(case_id) if t.kind == "act"]
    return task


def _hand_to(d: Driver, case_id: int, giver: Actor, to: Actor) -> None:
    """转交 the case's open step to ``to`` (the test's way of naming a task to someone)."""
    d.eng.transfer(
        _task(d, case_id).id, to.person_id, giver, expected_version=d.case(case_id).version
    )


def _events(d: Driver, case_id: int, event: str) -> list[dict[str, Any]]:
    with d.eng.db.connect() as conn:
        rows = conn.execute(
            select(AuditEvent.payload, AuditEvent.actor_label)
            .where(AuditEvent.case_id == case_id, AuditEvent.event == event)
            .order_by(AuditEvent.seq)
        ).all()
    return [{**json.loads(p), "by": label} for p, label in rows]


def _todo(d: Driver, actor: Actor) -> set[int]:
    with d.eng.db.connect() as conn:
        fresh = load_actor(conn, person_id=actor.person_id)
        return {i["case_id"] for i in inbox(conn, fresh, "todo", TODAY, page_size=100).items}


def _verified(d: Driver, case_id: int) -> bool:
    with d.eng.db.connect() as conn:
        return not list(verify_trail(conn, case_id))


def test_on_leave_the_acting_holder_takes_the_work_and_gives_it_back(
    d: Driver, world: World, clock: FrozenClock
) -> None:
    officer, colleague = world.actors["school_officer"], world.actors["school_officer2"]
    acting = world.actors["county_officer"]  # the county above: holds no school role
    _accounts(world, "school_officer", "county_officer")
    first = d.declare(world.teacher("甲老师"))
    _hand_to(d, first, colleague, officer)

    with d.eng.db.begin() as conn:  # the officer sets it themself: 9月1日 to 9月4日
        delegation.delegate(
            conn, officer, clock.now(), officer.person_id, acting.person_id,
            TODAY, dt.date(2026, 9, 4), "年休假",
        )  # fmt: skip
    # open work went over at once, on the record
    assert _task(d, first).assignee_id == acting.person_id
    [moved] = _events(d, first, "reassign")
    assert moved["tasks"][0]["from"] == officer.person_id
    assert moved["tasks"][0]["to"] == acting.person_id
    assert "年休假" in moved["reason"] and "代理" in moved["reason"]
    # new work named to the officer during the range goes to the acting holder too
    second = d.declare(world.teacher("乙老师"))
    _hand_to(d, second, colleague, officer)
    assert _task(d, second).assignee_id == acting.person_id
    assert "代理人" in _events(d, second, "transfer")[0]["reason"]
    assert {first, second} <= _todo(d, acting)
    assert not {first, second} & _todo(d, officer)
    # so does a signature (加签) asked of the officer: the acting holder signs it
    third = d.declare(world.teacher("丙老师"))
    d.eng.add_signer(
        third, colleague, officer.person_id, "before", expected_version=d.case(third).version
    )
    [sign] = [t for t in d.open_tasks(third) if t.kind == "sign"]
    assert sign.assignee_id == acting.person_id
    d.eng.countersign(third, acting, "agree", expected_version=d.case(third).version)
    # the acting holder acts on it without holding the role; the officer away may not
    d.fire(first, "school_approve", acting, {"comment": "代为审核"})
    assert d.case(first).state == "school_publicity"
    with pytest.raises(PermissionDenied):
        d.fire(second, "school_approve", officer)

    clock.set(bureau_time(2026, 9, 7))  # the range is over: the sweep gives the work back
    report = deadline_sweep(d.eng)
    assert report.counts["delegations_ended"] == 1
    assert _task(d, second).assignee_id == officer.person_id
    back = _events(d, second, "reassign")[-1]
    assert back["tasks"][0]["to"] == officer.person_id and "期满" in back["reason"]
    assert "delegations_ended" not in deadline_sweep(d.eng).counts, "given back once"
    d.fire(second, "school_approve", officer)
    assert _verified(d, first) and _verified(d, second)


def test_a_future_leave_starts_on_its_first_day_and_can_be_cancelled(
    d: Driver, world: World, clock: FrozenClock
) -> None:
    officer, colleague = world.actors["school_officer"], world.actors["school_officer2"]
    _accounts(world, "school_officer", "school_officer2")
    case = d.declare(world.teacher("丁老师"))
    _hand_to(d, case, colleague, officer)
    with d.eng.db.begin() as conn:  # set by the county over them
        leave = delegation.delegate(
            conn, world.actors["county_officer"], clock.now(), officer.person_id,
            colleague.person_id, dt.date(2026, 9, 3), dt.date(2026, 9, 10),
        )  # fmt: skip
    assert _task(d, case).assignee_id == officer.person_id, "not before its first day"
    clock.set(bureau_time(2026, 9, 3))
    assert deadline_sweep(d.eng).counts["delegations_started"] == 1
    assert _task(d, case).assignee_id == colleague.person_id
    with d.eng.db.begin() as conn:  # back early
        delegation.cancel(conn, officer, clock.now(), leave)
    assert _task(d, case).assignee_id == officer.person_id
    assert "已撤销" in _events(d, case, "reassign")[-1]["reason"]
    with d.eng.db.connect() as conn:
        [shown] = delegation.delegations(conn, officer.person_id, dt.date(2026, 9, 3))
    assert shown.status_label == "已撤销"


def test_who_may_be_an_acting_holder(d: Driver, world: World, clock: FrozenClock) -> None:
    officer = world.actors["school_officer"]
    _accounts(world, "school_officer", "west_officer", "school_officer2", "county_officer")
    now = clock.now()

    def attempt(actor: Actor, acting: str, start: dt.date, end: dt.date) -> Any:
        with d.eng.db.begin() as conn:
            return delegation.delegate(
                conn, actor, now, officer.person_id, world.actors[acting].person_id, start, end
            )

    end = dt.date(2026, 9, 5)
    with pytest.raises(FormError) as other_county:
        attempt(officer, "west_officer", TODAY, end)
    assert other_county.value.field == "acting_id"
    with pytest.raises(FormError) as backwards:
        attempt(officer, "school_officer2", end, TODAY)
    assert backwards.value.field == "ends_on"
    with pytest.raises(NotFound):  # another county's officer does not know this person
        attempt(world.actors["west_officer"], "school_officer2", TODAY, end)
    attempt(officer, "school_officer2", TODAY, end)
    with pytest.raises(FormError, match="已安排") as twice:
        attempt(officer, "county_officer", dt.date(2026, 9, 4), dt.date(2026, 9, 8))
    assert twice.value.field == "starts_on"


def test_unbinding_the_last_holder_with_open_work_is_refused(
    d: Driver, world: World, clock: FrozenClock
) -> None:
    county = world.actors["county_officer"]
    rural = world.actors["rural_officer"]
    case = d.declare(world.teacher("丁老师", "rural"))
    with d.eng.db.begin() as conn, pytest.raises(Conflict) as refused:
        accounts.unbind(
            conn, county, clock.now(), rural.person_id, "school_officer", world.unit("rural"),
            d.eng.processes,
        )  # fmt: skip
    assert f"事项{case}（职称评审·学校审核）" in refused.value.message
    with d.eng.db.connect() as conn:
        assert conn.execute(
            select(RoleBinding.id).where(RoleBinding.person_id == rural.person_id)
        ).first(), "nothing written"
    # a colleague at the school: the work stays with the role, the role is taken away
    colleague = world.officer("rural_officer2", "school_officer", "rural")
    _hand_to(d, case, colleague, rural)
    with d.eng.db.begin() as conn:
        accounts.unbind(
            conn, county, clock.now(), rural.person_id, "school_officer", world.unit("rural")
        )
    assert _task(d, case).assignee_id is None, "back to the role"
    assert "不再担任" in _events(d, case, "reassign")[0]["reason"]
    d.fire(case, "school_approve", colleague)


def test_leaving_hands_all_open_work_over_in_one_action(
    d: Driver, world: World, clock: FrozenClock
) -> None:
    county = world.actors["county_officer"]
    rural = world.actors["rural_officer"]  # the rural school's only officer
    successor = world.actors["school_officer2"]  # the urban school's, takes it on
    _accounts(world, "rural_officer", "school_officer2")
    mine = d.declare(world.teacher("戊老师", "rural"))  # addressed to the role
    named = d.declare(world.teacher("己老师", "urban"))
    _hand_to(d, named, successor, world.actors["school_officer"])
    with d.eng.db.begin() as conn, pytest.raises(Conflict, match=f"事项{mine}"):
        accounts.handover(conn, county, clock.now(), rural.person_id, None)
    with d.eng.db.begin() as conn:
        done = accounts.handover(
            conn, county, clock.now(), rural.person_id, successor.person_id,
            processes=d.eng.processes,
        )  # fmt: skip
    assert done.cases == 1
    assert _task(d, mine).assignee_id == successor.person_id
    [event] = _events(d, mine, "reassign")
    assert "离职转办" in event["reason"] and event["by"].startswith("county_officer")
    with d.eng.db.connect() as conn:
        gone = conn.execute(select(Person.active).where(Person.id == rural.person_id)).scalar()
        roles = conn.execute(
            select(RoleBinding.id).where(RoleBinding.person_id == rural.person_id)
        ).all()
    assert gone is False and roles == []
    d.fire(mine, "school_approve", successor)  # named: acts without the rural school's role
    assert _verified(d, mine)

    # the urban officer leaves too, with no successor: their named work goes back to the role
    with d.eng.db.begin() as conn:
        accounts.handover(conn, county, clock.now(), world.actors["school_officer"].person_id,
                          None)  # fmt: skip
    assert _task(d, named).assignee_id is None
    assert named in _todo(d, successor)


def test_disabling_sends_named_work_to_the_acting_holder_or_the_role(
    d: Driver, world: World, clock: FrozenClock
) -> None:
    county = world.actors["county_officer"]
    officer, colleague = world.actors["school_officer"], world.actors["school_officer2"]
    case = d.declare(world.teacher("庚老师"))
    _hand_to(d, case, colleague, officer)
    with d.eng.db.begin() as conn:
        accounts.set_active(conn, county, clock.now(), officer.person_id, False)
    assert _task(d, case).assignee_id is None
    assert "停用" in _events(d, case, "reassign")[0]["reason"]
    with d.eng.db.begin() as conn, pytest.raises(NotFound):  # another county: not found
        accounts.set_active(conn, world.actors["west_officer"], clock.now(),
                            colleague.person_id, False)  # fmt: skip


def test_history_of_an_account_is_sealed(d: Driver, world: World, clock: FrozenClock) -> None:
    from states.registry import history

    county = world.actors["county_officer"]
    with d.eng.db.begin() as conn:
        made = accounts.create(
            conn, county, clock.now(),
            accounts.NewAccount("新干部", "xin01", world.unit("urban"), ("school_officer",)),
            "hash-of-a-temporary-password",
        )  # fmt: skip
        accounts.reset_password(conn, county, clock.now(), made.person_id, "another-hash")
    with d.eng.db.connect() as conn:
        entries = history.entries_of(conn, history.PERSON, made.person_id)
        assert history.verify(conn, history.PERSON, made.person_id).ok
        must = conn.execute(
            select(Person.must_change_password).where(Person.id == made.person_id)
        ).scalar()
    assert must is True
    assert [e.source for e in entries] == ["edit", "edit"]
    assert "hash" not in json.dumps([e.changes for e in entries])
    assert entries[0].changes["roles"][1] == ["school_officer@Uurban"]
