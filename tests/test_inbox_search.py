"""The search box finds applicants who have no account, on both databases.

A recruitment applicant who registered online has no account: their name and ID number are
in recruitment's own table, and the package's finder names their cases. An officer taking
their call finds them in the inbox (and the case list) by part of the name or the full ID
number, only inside the officer's own work; account holders are found as before. Over the
JSON API and on the pages, with the name on the inbox line.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import select

from states.clock import bureau_time, local_date
from states.identity import make_id_number
from states.org import Actor
from states.process.package import Catalogue, ProcessPackage
from states.processes import installed
from states.processes.recruitment import seed as recruitment
from states.processes.recruitment import steps as rec
from states.processes.recruitment.finder import find_applicants
from states.store import queries
from states.store.models import Person
from states.store.people import load_actor
from tests.live import Live
from tests.test_pages import _check_page, _sign_in
from tests.world import Driver, World


def _form(n: int, name: str, post: str, level: str = "junior") -> dict[str, Any]:
    """An online registration (validated) of applicant ``n`` for ``post``."""
    birth = dt.date(1998, 1, 1) + dt.timedelta(days=n)
    return {
        "row": n + 2,
        "id_number": make_id_number("110101", birth, n, "F"),
        "name": name,
        "phone": f"1380000{n:04d}",
        "gender": "F",
        "birth_date": birth,
        "education": "bachelor",
        "cert_level": level,
        "post_code": post,
    }


def _plan(d: Driver, world: World, round_id: int, county: str, school: str, code: str) -> None:
    """A county's plan with one post at ``school``, approved."""
    plan = rec.declare_plan(
        d.eng,
        world.actors["county_officer" if county == "east" else "west_officer"],
        round_id,
        world.unit(county),
        [recruitment.post(code, {world.unit(school): 1}, subject="数学", level="junior")],
    )
    recruitment.approve_plan(d.eng, plan)


def _id_number(d: Driver, actor: Actor) -> str:
    with d.eng.db.connect() as conn:
        return str(
            conn.execute(select(Person.id_number).where(Person.id == actor.person_id)).scalar_one()
        )


def test_officers_find_applicants_without_an_account(d: Driver, world: World) -> None:
    # an account holder's title review, waiting at the county
    d.clock.set(bureau_time(2026, 3, 2, 9))
    teacher = world.teacher("张老师")
    declared = d.declare(teacher)
    d.fire(declared, "school_approve", "school_officer")
    d.close_window(declared)
    d.fire(declared, "recommend", "school_officer")

    # applicants registered online at the east and the west county, two of the same name
    with d.eng.db.begin() as conn:
        round_id = recruitment.new_round(
            conn, world.unit("province"), "2026年招聘", recruitment.SPRING
        )
    _plan(d, world, round_id, "east", "urban", "DX-01")
    _plan(d, world, round_id, "west", "west1", "XX-01")
    forms = {
        "east": _form(1, "张三丰", "DX-01"),
        "other": _form(2, "李四", "DX-01"),
        "west": _form(3, "张三丰", "XX-01"),
    }
    ids = {key: rec.register(d.eng, round_id, form) for key, form in forms.items()}
    number = {key: str(form["id_number"]) for key, form in forms.items()}

    today = local_date(d.clock.now())
    finders = d.eng.processes.finders

    def found(who: str, box: str = "todo", **f: Any) -> list[int]:
        with d.eng.db.connect() as conn:
            page = queries.inbox(
                conn, world.actors[who], box, today,
                filters=queries.InboxFilter(**f), finders=finders,
            )  # fmt: skip
        return sorted(i["case_id"] for i in page.items)

    east = sorted([declared, ids["east"], ids["other"]])
    assert found("county_officer") == east, "the whole inbox, without a search"
    assert found("county_officer", search="三丰") == [ids["east"]], "not the west's namesake"
    assert found("west_officer", search="张三丰") == [ids["west"]], "nor the east's"
    assert found("county_officer", search="张") == sorted([declared, ids["east"]])
    assert found("county_officer", search=number["east"]) == [ids["east"]]
    assert found("county_officer", search=number["east"].lower()) == [ids["east"]]
    assert found("county_officer", search=number["east"][:17]) == [], "no part of a number"
    assert found("county_officer", search=number["west"]) == [], "outside the inbox"
    assert found("county_officer", search="李四") == [ids["other"]]
    assert found("county_officer", search="%") == [], "typed, not a wildcard"
    assert found("county_officer", search="李_") == [], "typed, not a wildcard"
    # account holders are found as before, by name and by ID number
    assert found("county_officer", search="张老") == [declared]
    assert found("county_officer", search=_id_number(d, teacher)) == [declared]
    assert found("county_officer", search="张", process="title_review") == [declared]
    assert found("county_officer", search="张", process="recruitment") == [ids["east"]]
    assert found("county_officer", search=str(ids["east"])) == [ids["east"]]
    # the school sees neither: the finder narrows a box, it never adds to one
    assert found("school_officer", search="张三丰") == []
    assert found("school_officer", search=number["east"]) == []

    # handled: found among what the officer has done
    d.fire(ids["east"], "qualify", "county_officer")
    assert found("county_officer", search="三丰") == []
    assert found("county_officer", "done", search="三丰") == [ids["east"]]
    assert found("county_officer", "done", search=number["east"]) == [ids["east"]]

    # the case list's applicant filter: the same match, inside the lister's scope
    with d.eng.db.connect() as conn:

        def listed(who: str, applicant: str) -> list[int]:
            page = queries.list_cases(conn, world.actors[who], applicant=applicant, finders=finders)
            return sorted(r["id"] for r in page.items)

        assert listed("county_officer", "三丰") == [ids["east"]]
        assert listed("west_officer", "三丰") == [ids["west"]]
        assert listed("city_officer", "三丰") == sorted([ids["east"], ids["west"]])
        assert listed("county_officer", "张") == sorted([declared, ids["east"]])
        assert listed("county_officer", "%") == []


def test_a_second_finder_for_a_process_is_refused_at_start_up() -> None:
    packages = installed()
    again = ProcessPackage(
        name="again", label="重复", specs=(), finders={"recruitment": lambda n, i: None}
    )
    with pytest.raises(ValueError, match="case finder recruitment registered twice"):
        Catalogue([*packages, again])
    assert Catalogue(packages).finders == {"recruitment": find_applicants}


# --- the API and the pages over a real server -----------------------------------------------
def test_the_api_and_the_pages_find_an_applicant_by_name_and_id_number(live: Live) -> None:
    svc = live.services
    with svc.db.connect() as conn:
        county = load_actor(conn, username="county_officer")
    round_id = recruitment.round_with_post(
        svc.engine, county, name="2026年招聘", code="Z-01", seats=1
    )
    form = _form(7, "欧阳娜娜", "Z-01", level="primary")
    case_id = rec.register(svc.engine, round_id, form)
    number = str(form["id_number"])

    api = live.client("county_officer")
    for q in ("欧阳", number):
        hit = api.get("/api/v1/tasks", params={"q": q})
        assert hit.status_code == 200, hit.text
        [item] = hit.json()["items"]
        assert item["case_id"] == case_id and item["applicant_name"] == "欧阳娜娜"
        assert item["asks"] == "报考Z-01 小学语文（2026年招聘）"
    assert api.get("/api/v1/tasks", params={"q": number[:17]}).json()["total"] == 0
    assert api.get("/api/v1/tasks", params={"q": "欧阳", "box": "done"}).json()["total"] == 0
    cases = api.get("/api/v1/cases", params={"applicant": "阳娜"}).json()
    assert [(c["id"], c["applicant_name"]) for c in cases["items"]] == [(case_id, "欧阳娜娜")]
    # a school officer of the county has nothing of it to find
    school = live.client("school_officer")
    assert school.get("/api/v1/tasks", params={"q": number}).json()["total"] == 0
    assert school.get("/api/v1/cases", params={"applicant": "阳娜"}).json()["total"] == 0

    officer, _ = _sign_in(live, "county_officer")
    for q in ("欧阳", number):
        page = officer.get("/inbox", params={"q": q})
        assert page.status_code == 200
        _check_page(page.text)
        lines = re.findall(r'<a href="/cases/(\d+)">([^<]*)</a>', page.text)
        assert lines == [(str(case_id), "欧阳娜娜")], lines
    listed = officer.get("/cases", params={"applicant": "阳娜"})
    assert listed.status_code == 200
    _check_page(listed.text)
    assert f'<a href="/cases/{case_id}">欧阳娜娜</a>' in listed.text
