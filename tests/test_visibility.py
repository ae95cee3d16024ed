"""Who sees what of a case, door by door: every endpoint that shows a case, every role, the
fields each receives — checked against the rules the blocks declare, not only the 404s.

The case is walked to the point where it holds every kind of restricted thing at once: a
committee has sat (who was seated, the random draw, each member's vote) and a member of the
public has objected (their name, telephone and words).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from api.auth import hash_password
from states.clock import local_date
from states.org import PUBLIC_ACTOR, REVIEW_EXPERT
from states.process.visibility import OVERSIGHT, STAFF, Audience
from states.processes.title_review.seed import appointment
from states.processes.title_review.spec import SPEC as TITLE_REVIEW
from states.store.models import AuditEvent, Case, PanelSeat, Person, table_of
from tests.live import PASSWORD, Live, add_account
from tests.test_api import _ids, declare
from tests.test_pages import _sign_in, _to_result_publicity
from tests.world import Driver, World, undeclared_keys

OBJECTOR_NAME, OBJECTOR_PHONE = "异议人甲乙", "13912345678"
OBJECTION_TEXT = "业绩材料与事实不符，请核查第三篇论文"

# Where each login stands towards the case (the demo province: the teacher's school, its
# county, the first city, the province; the committee sits at the city).
APPLICANT = {"teacher"}
SEATED = {"seat1", "seat2"}
SCHOOL_STAFF_OFFICER = {"school_officer"}
READERS_BY_ROLE = {"principal"}
COUNTY = {"county_officer"}
ABOVE_COMMITTEE = {"city_officer", "province_officer", "leader"}
INSPECTORS = {"inspector"}
OUTSIDERS = {"outsider", "colleague"}

OPENS_CASE = (
    APPLICANT
    | SEATED
    | SCHOOL_STAFF_OFFICER
    | READERS_BY_ROLE
    | COUNTY
    | ABOVE_COMMITTEE
    | INSPECTORS
)
SEES_OBJECTOR = SCHOOL_STAFF_OFFICER | COUNTY | ABOVE_COMMITTEE | INSPECTORS
SEES_COMMITTEE = ABOVE_COMMITTEE | INSPECTORS
LOGINS = sorted(OPENS_CASE | OUTSIDERS)


def test_the_declaration_says_what_this_test_expects() -> None:
    """The rules checked below are the ones the title review declares, not this file's own."""
    vis = TITLE_REVIEW.visibility
    for key in ("content", "contact_name", "contact_phone"):
        assert vis.payload[key].to == STAFF
    assert vis.data["objections"].to == STAFF
    assert vis.payload["votes"].to == vis.payload["panel"].to == OVERSIGHT
    assert vis.anonymous == OVERSIGHT == {Audience.ORGANISER, Audience.INSPECTOR}


@pytest.fixture
def sat(live: Live) -> Iterator[dict[str, Any]]:
    """A case after its committee sat and while an objection to it is being looked into."""
    ids = _ids(live)
    cid = declare(live, live.client("teacher"), ids["subject"])["case_id"]
    _to_result_publicity(live, cid)
    db = live.services.db
    people = table_of(Person)
    with db.begin() as conn:
        seated = list(
            conn.execute(
                select(PanelSeat.expert_id).where(PanelSeat.case_id == cid).order_by(PanelSeat.id)
            ).scalars()
        )
        # Names no one else in the province has, so a name on a page means that member.
        for n, expert in enumerate(seated):
            conn.execute(update(people).where(people.c.id == expert).values(name=f"评委姓名{n}"))
        for n, expert in enumerate(seated[:2], start=1):
            conn.execute(
                update(people)
                .where(people.c.id == expert)
                .values(username=f"seat{n}", password_hash=hash_password(PASSWORD))
            )
        seed = next(
            json.loads(p)["panel"]["seed"]
            for p in conn.execute(
                select(AuditEvent.payload).where(
                    AuditEvent.case_id == cid, AuditEvent.event == "qualify"
                )
            ).scalars()
        )
    add_account(live, "outsider", "county_officer", ids["other_county"])
    colleague = add_account(live, "colleague", REVIEW_EXPERT, ids["school"])
    assert colleague not in seated
    live.services.engine.fire(
        cid,
        "raise_objection",
        PUBLIC_ACTOR,
        {"content": OBJECTION_TEXT, "contact_name": OBJECTOR_NAME, "contact_phone": OBJECTOR_PHONE},
        expected_version=_version(live, cid),
    )
    yield {"case_id": cid, "seated": seated, "seed": seed, "applicant": ids["teacher"]}


def _version(live: Live, cid: int) -> int:
    with live.services.db.connect() as conn:
        return int(conn.execute(select(Case.version).where(Case.id == cid)).scalar_one())


def _api_bodies(client: httpx.Client, cid: int, applicant: int) -> dict[str, httpx.Response]:
    """Every GET of the API, its path filled in with this case and its applicant: a new
    endpoint is checked here the day it is added."""
    schema = client.get("/openapi.json").json()
    fill = {
        "case_id": cid,
        "person_id": applicant,
        "name": "title_review",
        "attachment_id": 1,
        "round_id": 1,
        "unit_id": 1,
        "kind": "written",
        "campaign_id": 1,
        "book_id": 1,
        "task_id": 1,
        "need_id": 1,
        "finding_id": 1,
        "year": 2026,
    }
    out = {}
    for template, operations in schema["paths"].items():
        if "get" not in operations:
            continue
        path = re.sub(r"\{(\w+)\}", lambda m: str(fill[m.group(1)]), template)
        out[path] = client.get(path)
    assert f"/api/v1/cases/{cid}/audit" in out and "/api/v1/teachers" in out
    return out


def _committee_names(seated: list[int], me: int | None) -> list[str]:
    return [f"评委姓名{n}" for n, p in enumerate(seated) if p != me]


def test_every_role_gets_the_fields_declared_for_it(live: Live, sat: dict[str, Any]) -> None:
    cid, seated, seed = sat["case_id"], sat["seated"], sat["seed"]
    for login in LOGINS:
        client = live.client(login)
        me = client.get("/api/v1/me").json()["person_id"]
        bodies = _api_bodies(client, cid, sat["applicant"])
        detail, audit = bodies[f"/api/v1/cases/{cid}"], bodies[f"/api/v1/cases/{cid}/audit"]
        if login not in OPENS_CASE:
            for path in (f"/api/v1/cases/{cid}", f"/api/v1/cases/{cid}/audit"):
                assert bodies[path].status_code == 404, (login, path)
        else:
            assert detail.status_code == audit.status_code == 200, login
            rows = audit.json()
            data = detail.json()["data"]
            # objections: the objector's identity and words
            assert ("objections" in data) == (login in SEES_OBJECTOR), login
            raised = next(r for r in rows if r["event"] == "raise_objection")
            objector_keys = {"content", "contact_name", "contact_phone"}
            if login in SEES_OBJECTOR:
                assert objector_keys <= set(raised["payload"]), login
                assert raised["redacted"] is False
            else:
                assert not objector_keys & set(raised["payload"]), login
                assert raised["redacted"] is True
            # the committee: the draw, who sat, how each voted; the tally for everyone
            qualify = next(r for r in rows if r["event"] == "qualify")
            closed = next(r for r in rows if r["event"] == "close_sitting")
            assert closed["payload"]["tally"] == {
                "yes": len(seated), "no": 0, "abstain": 0, "drawn": len(seated), "quorum": True,
            }  # fmt: skip
            votes = [r for r in rows if r["event"] == "vote"]
            assert len(votes) == len(seated), "every vote is on the record, named or not"
            named_voters = {r["actor_id"] for r in votes} - {None}
            if login in SEES_COMMITTEE:
                assert qualify["payload"]["panel"]["seed"] == seed, login
                assert set(closed["payload"]["votes"]) == {str(p) for p in seated}
                assert named_voters == set(seated), login
            else:
                assert "panel" not in qualify["payload"] and "votes" not in closed["payload"]
                assert named_voters <= {me}, f"{login} learns who else sat"
                assert all(
                    r["actor_label"] == "评审委员会委员" for r in votes if r["actor_id"] is None
                )
        # Whatever the door, nothing restricted leaks in any body this login receives.
        for path, response in bodies.items():
            text = response.text
            assert response.status_code < 500, (login, path)
            assert (OBJECTOR_PHONE in text) <= (login in SEES_OBJECTOR), (login, path)
            assert (OBJECTOR_NAME in text) <= (login in SEES_OBJECTOR), (login, path)
            assert (OBJECTION_TEXT in text) <= (login in SEES_OBJECTOR), (login, path)
            assert (str(seed) in text) <= (login in SEES_COMMITTEE), (login, path)
            if path.startswith(("/api/v1/teachers", "/api/v1/accounts")):
                # the roster and the account list name the experts as teachers and account
                # holders of the officer's county, not as members of this committee
                continue
            for name in _committee_names(seated, me):
                assert (name in text) <= (login in SEES_COMMITTEE), (login, path, name)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_case_page_shows_each_role_what_the_api_does(live: Live, sat: dict[str, Any]) -> None:
    """The page is another door to the same case: the same rules, the same people."""
    cid, seated = sat["case_id"], sat["seated"]
    for login in ("teacher", "seat1", "principal", "county_officer", "city_officer", "inspector"):
        client, _ = _sign_in(live, login)
        me = live.client(login).get("/api/v1/me").json()["person_id"]
        page = client.get(f"/cases/{cid}")
        assert page.status_code == 200, login
        text = page.text
        assert "表决结果" in text and f"同意{len(seated)}票" in text, login
        assert (OBJECTOR_PHONE in text) == (login in SEES_OBJECTOR), login
        assert (OBJECTION_TEXT in text) == (login in SEES_OBJECTOR), login
        names_shown = [n for n in _committee_names(seated, me) if n in text]
        if login in SEES_COMMITTEE:
            assert names_shown == _committee_names(seated, me), login
            assert "各评委表决" in text
        else:
            assert names_shown == [], login
            assert "各评委表决" not in text and "评审委员会委员" in text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_applicants_notices_carry_nothing_restricted(live: Live, sat: dict[str, Any]) -> None:
    from notifications.dispatch import dispatch

    dispatch(live.services.db, live.clock, {}, catalogue=live.services.engine.processes)
    teacher = live.client("teacher")
    notices = teacher.get("/api/v1/notifications").json()
    assert notices["items"], "the applicant heard of the objection"
    text = json.dumps(notices, ensure_ascii=False)
    for secret in (OBJECTOR_PHONE, OBJECTOR_NAME, OBJECTION_TEXT, str(sat["seed"])):
        assert secret not in text
    with live.services.db.connect() as conn:
        from states.store.models import OutboxMessage

        outbox = conn.execute(
            select(OutboxMessage.payload).where(
                OutboxMessage.case_id == sat["case_id"],
                OutboxMessage.recipient_id == _ids(live)["teacher"],
            )
        ).scalars()
        written = json.dumps(list(outbox), ensure_ascii=False)
    for secret in (OBJECTOR_PHONE, OBJECTOR_NAME, OBJECTION_TEXT):
        assert secret not in written, "nor do the texts and e-mails sent to them"


# --- every key a case holds has a declared audience ------------------------------------------
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_key_a_title_review_writes_is_declared(d: Driver, world: World) -> None:
    teacher = world.teacher("孙老师")
    case_id = d.declare(teacher)
    d.eng.comment(case_id, teacher, "原件已交学校。")
    d.eng.copy_to(case_id, world.actors["school_officer"], [world.actors["city_officer"].person_id])
    d.eng.record_attachment(
        case_id, teacher, filename="a.pdf", content_type="application/pdf", size=1,
        sha256="c" * 64,
    )  # fmt: skip
    d.fire(case_id, "send_back", "school_officer", {"reason": "请补充述职报告"})
    d.fire(case_id, "resubmit", teacher, {"comment": "已补充"})
    d.through_school(case_id)
    d.fire(case_id, "qualify", "county_officer")
    d.vote_all(case_id, yes=7)
    d.fire(case_id, "close_sitting", "city_officer")
    objection = {"content": "论文涉嫌抄袭", "contact_name": "张三", "contact_phone": "13800138000"}
    d.fire(case_id, "raise_objection", PUBLIC_ACTOR, objection)
    d.fire(case_id, "dismiss_objection", "county_officer", {"reason": "经核查，论文系本人原创"})
    d.close_window(case_id)
    d.fire(case_id, "appoint", "city_officer", appointment(local_date(d.clock.now())))
    vetoed = d.declare(world.teacher("吴老师", ethics=[dt.date(2026, 5, 1)]))
    assert d.case(vetoed).state == "rejected"
    assert undeclared_keys(d.eng) == {}
