"""Who registers whom: online registration bound to the phone that proved its code, one ID
number and one phone per round, a code that answers once, claims on a squatted ID number
settled at the qualification check, and the limits on sending codes — counted in the
database, so two API workers over one database refuse alike. Both databases."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from states.clock import FrozenClock, bureau_time
from states.identity import make_id_number
from states.org import COUNTY_OFFICER
from states.processes.recruitment import seed as recruitment
from states.processes.recruitment.tables import Applicant, RegistrationConflict
from states.store.audit_store import verify_trail
from states.store.models import AuditEvent, Case, OrgUnit, OutboxMessage
from states.throttle import Throttle
from states.verification import SERVICE_DAY
from tests.live import Live, add_account, serve
from tests.test_pages import _check_page, _client, _field_error, _sign_in
from tests.test_recruitment_api import _actor, _round_with_plan

CODES = "/api/v1/public/recruitment/verification-codes"
OFFICE = "该身份证号的报名信息需核实，请携带身份证联系招聘办公室（电话见招聘公告）"


@dataclass(frozen=True)
class Person:
    """Someone on their own phone and their own network."""

    name: str
    phone: str
    address: str
    id_number: str


def _person(n: int, *, id_of: int | None = None) -> Person:
    """Person ``n``; ``id_of`` gives them person ``id_of``'s ID number (a squatter)."""
    seq = 1 + 2 * (n if id_of is None else id_of)
    number = make_id_number("110101", dt.date(1999, 5, 1), seq, "M")
    return Person(f"考生{n}", f"1361234{n:04d}", f"10.0.{n // 250}.{n % 250 + 1}", number)


def _send(c: httpx.Client, phone: str, address: str) -> httpx.Response:
    """Ask for a code as a browser behind the deployment's proxy does: the proxy names the
    browser's address in X-Forwarded-For, which the server believes from its proxy only."""
    return c.post(CODES, json={"phone": phone}, headers={"X-Forwarded-For": address})


def _code(live: Live, who: Person) -> str:
    """A fresh code on ``who``'s phone, as the SMS delivers it (a minute after the last)."""
    live.clock.advance(minutes=2)
    sent = _send(live.client(), who.phone, who.address)
    assert sent.status_code == 202, sent.text
    with live.services.db.connect() as conn:
        payloads = conn.execute(
            select(OutboxMessage.payload)
            .where(OutboxMessage.kind == "verification_code")
            .order_by(OutboxMessage.id.desc())
        ).scalars()
        return str(next(p["code"] for p in payloads if p["phone"] == who.phone))


def _form(who: Person, code: str, **over: Any) -> dict[str, Any]:
    return {
        "id_number": who.id_number,
        "name": who.name,
        "phone": who.phone,
        "code": code,
        "education": "bachelor",
        "cert_level": "primary",
        "post_code": "Z-01",
        **over,
    }


def _register(live: Live, round_id: int, form: dict[str, Any]) -> httpx.Response:
    return live.client().post(f"/api/v1/public/recruitment/{round_id}/registrations", json=form)


def _applicants(live: Live) -> list[Any]:
    with live.services.db.connect() as conn:
        return list(conn.execute(select(Applicant).order_by(Applicant.case_id)).all())


def _fire(c: httpx.Client, case_id: int, event: str, **payload: str) -> httpx.Response:
    version = c.get(f"/api/v1/cases/{case_id}").json()["version"]
    body = {"event": event, "expected_version": version, "payload": payload}
    return c.post(f"/api/v1/cases/{case_id}/events", json=body)


# --- one phone, one ID number; bound to the phone that proved the code ----------------------
def test_one_phone_registers_one_id_number_per_round(live: Live) -> None:
    round_id, _ = _round_with_plan(live)
    me, other = _person(1), _person(2)
    ok = _register(live, round_id, _form(me, _code(live, me)))
    assert ok.status_code == 201, ok.text
    [row] = _applicants(live)
    assert (row.id_number, row.phone, row.confirmed_phone) == (me.id_number, me.phone, me.phone)

    # The same phone for a second person, with a fresh code: refused beside the phone.
    second = _register(live, round_id, _form(other, _code(live, me), phone=me.phone))
    assert second.status_code == 422, second.text
    assert second.json()["field"] == "phone" and "每个手机号只能为一人报名" in second.text
    assert len(_applicants(live)) == 1

    # A code proves the phone it was sent to, and no other.
    borrowed = _register(live, round_id, _form(other, _code(live, me)))
    assert borrowed.status_code == 422 and borrowed.json()["field"] == "code"

    # The province's import may list one phone for several people (a family's, a school's):
    # it proves no phone, so the one-phone rule is for online registrations only.
    province = live.client("province_officer")
    shared = [
        {
            "id_number": _person(n).id_number,
            "name": f"导入{n}",
            "phone": me.phone,
            "education": "本科",
            "cert_level": "小学",
            "post_code": "Z-01",
        }
        for n in (3, 4)
    ]
    files = {"file": ("报名.xlsx", recruitment.applicant_sheet(shared), "application/octet-stream")}
    imported = province.post(f"/api/v1/recruitment/{round_id}/imports/applicants", files=files)
    assert imported.status_code == 200 and imported.json()["imported"] == 2, imported.text

    # The database holds the rule itself, whatever a future code path forgets: a second
    # confirmed registration of the phone, or a confirmed phone other than the registered one.
    third = _applicants(live)[-1].case_id
    for value in (me.phone, "13900000000"):
        with pytest.raises(IntegrityError), live.services.db.begin() as conn:
            conn.execute(
                update(Applicant).where(Applicant.case_id == third).values(confirmed_phone=value)
            )


# --- a code answers once, and the answers are no oracle ---------------------------------------
def test_a_code_serves_one_attempt_and_form_refusals_say_nothing(live: Live) -> None:
    round_id, _ = _round_with_plan(live)
    holder, prober = _person(1), _person(9)
    assert _register(live, round_id, _form(holder, _code(live, holder))).status_code == 201
    taken, free = holder.id_number, _person(2).id_number

    # What the form alone decides is answered alike for a registered and a free ID number,
    # before the code is looked at: no code spent, nothing learnt about anyone.
    code = _code(live, prober)
    answers = [
        _register(live, round_id, _form(prober, code, id_number=n, cert_level="kindergarten"))
        for n in (taken, free)
    ]
    assert [a.status_code for a in answers] == [422, 422]
    assert answers[0].json() == answers[1].json()
    assert answers[0].json()["field"] == "cert_level"

    # Past the code, one answer per code: the taken number sends the prober to the office,
    # and the same code asks about no second number.
    office = _register(live, round_id, _form(prober, code, id_number=taken))
    assert office.status_code == 422 and office.json()["field"] == "id_number"
    assert office.json()["message"].endswith(OFFICE) and "已报名" not in office.text
    again = _register(live, round_id, _form(prober, code, id_number=free))
    assert again.status_code == 422 and again.json()["field"] == "code"
    assert "重新获取" in again.json()["message"]
    assert [a.id_number for a in _applicants(live)] == [taken]


def test_one_code_sent_at_once_for_many_numbers_gets_one_answer(live: Live) -> None:
    round_id, _ = _round_with_plan(live)
    holders, prober = [_person(n) for n in range(1, 7)], _person(9)
    for who in holders:
        assert _register(live, round_id, _form(who, _code(live, who))).status_code == 201
    code = _code(live, prober)
    numbers = [who.id_number for who in holders]
    with ThreadPoolExecutor(len(numbers)) as pool:
        answers = list(
            pool.map(lambda n: _register(live, round_id, _form(prober, code, id_number=n)), numbers)
        )
    assert all(a.status_code == 422 for a in answers)
    told = [a.json()["message"] for a in answers if a.json()["field"] != "code"]
    assert len(told) == 1 and told[0].endswith(OFFICE), [a.json() for a in answers]
    with live.services.db.connect() as conn:
        claims = conn.execute(select(func.count()).select_from(RegistrationConflict)).scalar()
    assert claims == 1, "only the answered attempt is on record"


# --- a squatted ID number: the holder is sent to the office, officers void the squat -------
def test_a_squatted_id_number_is_claimed_voided_and_registered_by_its_holder(live: Live) -> None:
    round_id, _ = _round_with_plan(live)
    holder, squatter = _person(1), _person(5, id_of=1)
    squat = _register(live, round_id, _form(squatter, _code(live, squatter)))
    assert squat.status_code == 201, squat.text
    squat_case = squat.json()["case_id"]

    refused = _register(live, round_id, _form(holder, _code(live, holder)))
    assert refused.status_code == 422 and refused.json()["message"].endswith(OFFICE)
    # Trying again records the same claim once.
    assert _register(live, round_id, _form(holder, _code(live, holder))).status_code == 422

    county = live.client("county_officer")
    listed = county.get(f"/api/v1/recruitment/{round_id}/conflicts")
    assert listed.status_code == 200, listed.text
    [claim] = listed.json()
    assert (claim["case_id"], claim["phone"], claim["claimed_phone"]) == (
        squat_case,
        squatter.phone,
        holder.phone,
    )
    assert claim["online"] and claim["resolution"] is None and "*" in claim["id_number"]
    home = _actor(live, "county_officer").bindings[0].unit_id
    with live.services.db.connect() as conn:
        other = conn.execute(
            select(OrgUnit.id).where(OrgUnit.tier == "county", OrgUnit.id != home).limit(1)
        ).scalar_one()
    add_account(live, "county_other", COUNTY_OFFICER, other)
    assert live.client("county_other").get(f"/api/v1/recruitment/{round_id}/conflicts").json() == []

    # Nobody passes the qualification check on a claimed number until it is settled.
    held = _fire(county, squat_case, "qualify")
    assert held.status_code == 422 and "身份冲突" in held.json()["message"]
    no_reason = _fire(county, squat_case, "void_registration")
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    voided = _fire(county, squat_case, "void_registration", reason="经核验身份证原件，系冒用")
    assert voided.status_code == 200, voided.text
    assert county.get(f"/api/v1/cases/{squat_case}").json()["state"] == "voided"
    [settled] = county.get(f"/api/v1/recruitment/{round_id}/conflicts").json()
    assert settled["resolution"] == "voided" and settled["resolved_at"]
    with live.services.db.connect() as conn:
        audit = conn.execute(
            select(AuditEvent.payload).where(
                AuditEvent.case_id == squat_case, AuditEvent.event == "void_registration"
            )
        ).scalar_one()
        assert list(verify_trail(conn)) == []
    recorded = json.loads(audit) if isinstance(audit, str) else audit
    assert recorded["claims"] == [claim["id"]] and recorded["reason"].startswith("经核验")
    # A settled claim is not settled again.
    assert _fire(county, squat_case, "void_registration", reason="再次").status_code == 409

    # The holder registers with their own phone; the squat stays on record, not counted.
    mine = _register(live, round_id, _form(holder, _code(live, holder)))
    assert mine.status_code == 201, mine.text
    rows = {a.case_id: a for a in _applicants(live)}
    assert rows[mine.json()["case_id"]].phone == holder.phone
    assert rows[squat_case].voided_at is not None
    # Voiding answers a claim; it is no way to remove an applicant nobody claims.
    unclaimed = _fire(county, mine.json()["case_id"], "void_registration", reason="误操作")
    assert unclaimed.status_code == 422 and "没有待核实的身份冲突" in unclaimed.text
    [line] = live.client("city_officer").get(f"/api/v1/recruitment/{round_id}/progress").json()
    assert line["registered"] == 1


def test_claims_on_the_qualification_page(live: Live) -> None:
    round_id, _ = _round_with_plan(live)
    holder, squatter = _person(1), _person(5, id_of=1)
    honest, mistaken = _person(2), _person(6, id_of=2)
    for who in (squatter, honest):
        assert _register(live, round_id, _form(who, _code(live, who))).status_code == 201
    for who in (holder, mistaken):
        assert _register(live, round_id, _form(who, _code(live, who))).status_code == 422
    with live.services.db.connect() as conn:
        squat_case, honest_case = conn.execute(
            select(Applicant.case_id).order_by(Applicant.case_id)
        ).scalars()

    county, csrf = _sign_in(live, "county_officer")
    page = county.get(f"/recruitment/{round_id}")
    _check_page(page.text)
    assert 'id="claims-open"' in page.text and ">2</strong> 件身份冲突待核实" in page.text
    qualified = county.post(f"/recruitment/{round_id}/steps/qualify", data={"csrf": csrf})
    flash = county.get(qualified.headers["location"]).text
    assert "通过0人，不通过0人，身份冲突待核实（暂不审查）2人" in flash

    url = f"/recruitment/{round_id}/conflicts"
    claims = county.get(url)
    assert claims.status_code == 200
    _check_page(claims.text)
    for who in (holder, squatter, honest, mistaken):
        assert who.phone in claims.text
    ids = re.findall(r'data-claim="(\d+)" data-open="yes"', claims.text)
    assert len(ids) == 2
    versions = {
        int(c): int(v)
        for c, v in re.findall(
            r'action="/recruitment/\d+/conflicts/(\d+)".*?name="expected_version" value="(\d+)"',
            claims.text,
            re.S,
        )
    }
    first, second = (int(i) for i in ids)  # oldest first: the squat's claim, then the other

    empty = county.post(
        f"{url}/{first}",
        data={"csrf": csrf, "action": "void", "reason": "", "expected_version": versions[first]},
    )
    assert empty.status_code == 422
    assert _field_error(empty.text, f"claim-{first}-void-reason") == "注销理由为必填项"
    void = county.post(
        f"{url}/{first}",
        data={
            "csrf": csrf,
            "action": "void",
            "reason": "本人持身份证到场，报名者系冒用",
            "expected_version": versions[first],
        },
    )
    assert void.status_code == 303, void.text
    assert "已注销冒名报名" in county.get(void.headers["location"]).text
    keep = county.post(
        f"{url}/{second}",
        data={
            "csrf": csrf,
            "action": "confirm",
            "reason": "另一方输错身份证号，已电话确认",
            "expected_version": versions[second],
        },
    )
    assert keep.status_code == 303, keep.text
    with live.services.db.connect() as conn:
        states = dict(
            conn.execute(
                select(Case.id, Case.state).where(Case.id.in_([squat_case, honest_case]))
            ).all()
        )
        outcomes = conn.execute(
            select(RegistrationConflict.resolution).order_by(RegistrationConflict.id)
        ).scalars()
        assert list(outcomes) == ["voided", "confirmed"]
    assert states == {squat_case: "voided", honest_case: "registered"}
    after = county.get(f"/recruitment/{round_id}").text
    assert 'id="claims-open"' not in after
    again = county.post(f"/recruitment/{round_id}/steps/qualify", data={"csrf": csrf})
    assert "通过1人，不通过0人" in county.get(again.headers["location"]).text
    stranger = _client(live).get(url)
    assert stranger.status_code == 303, "signed out: off to the login page"


def test_the_registration_page_sends_a_claimant_to_the_office(live: Live) -> None:
    round_id, _ = _round_with_plan(live)
    holder, squatter = _person(1), _person(5, id_of=1)
    assert _register(live, round_id, _form(squatter, _code(live, squatter))).status_code == 201
    anon = _client(live)
    page = anon.post(
        f"/recruitment/{round_id}/register",
        data=_form(holder, _code(live, holder)),
        headers={"Origin": live.url},
    )
    assert page.status_code == 422
    assert _field_error(page.text, "reg-id_number") == OFFICE
    with live.services.db.connect() as conn:
        claims = conn.execute(select(func.count()).select_from(RegistrationConflict)).scalar()
    assert claims == 1


# --- limits on codes: two workers, one database ---------------------------------------------
@pytest.fixture
def workers(db_url: str, tmp_path: Path) -> Iterator[tuple[Live, Live]]:
    """Two API workers over one database, as behind the deployment's proxy."""
    clock = FrozenClock(bureau_time(2026, 9, 1, 9))
    with (
        serve(db_url, clock, tmp_path / "a") as first,
        serve(db_url, clock, tmp_path / "b") as second,
    ):
        yield first, second


def _refused(r: httpx.Response, limit: str, *words: str) -> int:
    """The refusal of ``limit``, worded for a person, with the wait in Retry-After."""
    assert r.status_code == 429, r.text
    body = r.json()
    assert body["limit"] == limit and all(w in body["message"] for w in words), body
    wait = int(r.headers["Retry-After"])
    assert wait == body["retry_after"] > 0
    return wait


def _sent(live: Live, phone: str | None = None) -> int:
    with live.services.db.connect() as conn:
        rows = conn.execute(
            select(OutboxMessage.payload).where(OutboxMessage.kind == "verification_code")
        ).scalars()
        return sum(1 for p in rows if phone is None or p["phone"] == phone)


def test_a_phone_gets_five_codes_a_day_whichever_worker_asks(workers: tuple[Live, Live]) -> None:
    a, b = (w.client() for w in workers)
    clock, victim = workers[0].clock, "13912345678"
    for n in range(5):  # from five networks, through both workers, a few minutes apart
        assert _send((a, b)[n % 2], victim, f"10.1.0.{n + 1}").status_code == 202
        clock.advance(minutes=3)
    wait = _refused(_send(b, victim, "10.1.0.9"), "code-phone-day", "5 次上限", "明天")
    assert 3600 < wait <= 86400
    assert _refused(_send(a, victim, "10.1.0.10"), "code-phone-day", "明天")
    assert _sent(workers[0], victim) == 5
    clock.advance(seconds=wait)
    assert _send(a, victim, "10.1.0.9").status_code == 202
    assert _sent(workers[1], victim) == 6


def test_a_phone_gets_one_code_a_minute(workers: tuple[Live, Live]) -> None:
    a, b = (w.client() for w in workers)
    assert _send(a, "13912345678", "10.2.0.1").status_code == 202
    wait = _refused(_send(b, "13912345678", "10.2.0.2"), "code-phone-minute", "1分钟")
    assert wait <= 60
    workers[0].clock.advance(seconds=wait)
    assert _send(b, "13912345678", "10.2.0.2").status_code == 202


def test_a_network_gets_ten_codes_an_hour(workers: tuple[Live, Live]) -> None:
    a, b = (w.client() for w in workers)
    clock, here = workers[0].clock, "10.3.0.1"
    phones = [f"1391234{n:04d}" for n in range(12)]
    for n, phone in enumerate(phones[:10]):  # ten numbers at once, through both workers
        assert _send((a, b)[n % 2], phone, here).status_code == 202
    wait = _refused(_send(a, phones[10], here), "code-address-hour", "本网络", "1小时")
    assert 60 < wait <= 3600
    _refused(_send(b, phones[11], here), "code-address-hour")
    assert _send(b, phones[10], "10.3.0.2").status_code == 202, "another network is not held"
    assert _sent(workers[0]) == 11
    clock.advance(seconds=wait)
    assert _send(a, phones[11], here).status_code == 202


def test_the_service_ceiling_holds_across_workers(workers: tuple[Live, Live]) -> None:
    a, b = (w.client() for w in workers)
    first = workers[0]
    # The day so far: all but two of the service's texts already sent (counted by the same
    # limiter, as 19,998 sends would have left it).
    throttle = Throttle(first.services.db, first.clock)
    key = SERVICE_DAY.item.key_for(SERVICE_DAY.name, "all")
    throttle.storage.incr(key, SERVICE_DAY.item.get_expiry(), SERVICE_DAY.item.amount - 2)
    assert _send(a, "13912340001", "10.4.0.1").status_code == 202
    assert _send(b, "13912340002", "10.4.0.2").status_code == 202
    wait = _refused(_send(a, "13912340003", "10.4.0.3"), "code-service-day", "系统上限", "明天")
    _refused(_send(b, "13912340004", "10.4.0.4"), "code-service-day")
    assert _sent(first) == 2
    first.clock.advance(seconds=wait)
    assert _send(b, "13912340003", "10.4.0.3").status_code == 202
