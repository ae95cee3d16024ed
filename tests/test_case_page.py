"""The case page as a reviewer uses it: the teacher's record beside the declaration, cut to
who reads it; only the buttons that would work now (a decision waiting on a 前加签 shows the
wait); one opinion box a form; 转交 and 抄送 on the page; an ended case read-only; the
diagram readable on a phone, its current state drawn as current and an end as ended."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, insert, select, update

from api.auth import hash_password
from states.store.models import AuditEvent, CaseCopy, PanelSeat, Person, table_of
from tests.browser import DESKTOP, PHONE, chromium, console_errors, offline, shot, sign_in
from tests.live import PASSWORD, Live, add_account
from tests.test_api import _ids, declare
from tests.test_pages import (
    _case,
    _check_page,
    _declared,
    _field_error,
    _sign_in,
    _to_result_publicity,
)

ETHICS_WORDS = "组织有偿补课"
RECORD = re.compile(
    r'<section class="card" aria-labelledby="record-h" id="record">.*?</section>', re.S
)


class _Forms(HTMLParser):
    """Each form of a page by its id: the names of the boxes a person types words into."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: dict[str, list[str]] = {}
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._in = a.get("id", a.get("action", ""))
            self.forms[self._in] = []
        elif self._in is not None and (
            tag == "textarea" or (tag == "input" and a.get("type", "text") == "text")
        ):
            self.forms[self._in].append(a["name"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in = None


def _forms(html: str) -> dict[str, list[str]]:
    """The forms of the page's <main> (the header's sign-out form left out)."""
    parser = _Forms()
    parser.feed(html[html.index("<main") :])
    return parser.forms


def _record(html: str) -> dict[str, str]:
    """The record panel's rows, label to value."""
    found = RECORD.search(html)
    if found is None:
        return {}
    pairs = re.findall(r"<dt>([^<]*)</dt><dd>([^<]*)</dd>", found[0])
    return dict(pairs)


def _events(html: str) -> list[str]:
    return re.findall(r'id="event-(\w+)"', html)


def _version(live: Live, cid: int) -> str:
    return str(_case(live, cid).version)


def _audit_rows(live: Live, cid: int) -> int:
    with live.services.db.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.case_id == cid)
            ).scalar_one()
        )


def _record_the_teacher(live: Live, ids: dict[str, Any]) -> None:
    """The school's officer records two years of rural service and a violation older than
    the ethics look-back (so the case goes on): the record the reviewers read."""
    officer = live.client("school_officer")
    teacher = officer.get(f"/api/v1/teachers/{ids['teacher']}").json()
    edited = officer.patch(
        f"/api/v1/teachers/{ids['teacher']}",
        json={
            "expected_version": teacher["version"],
            "rural_years": 3,
            "ethics": f"2015-03-01 {ETHICS_WORDS}",
        },
    )
    assert edited.status_code == 200, edited.text


def _as_expert(live: Live, cid: int) -> str:
    """A login for one member of the case's committee."""
    with live.services.db.begin() as conn:
        expert = conn.execute(
            select(PanelSeat.expert_id).where(PanelSeat.case_id == cid).order_by(PanelSeat.id)
        ).scalar()
        conn.execute(
            update(table_of(Person))
            .where(table_of(Person).c.id == expert)
            .values(username="seat1", password_hash=hash_password(PASSWORD))
        )
    return "seat1"


# --- the record beside the declaration ------------------------------------------------------
def test_each_reader_gets_the_record_rows_declared_for_them(live: Live) -> None:
    ids = _ids(live)
    _record_the_teacher(live, ids)
    cid = declare(live, live.client("teacher"), ids["subject"])["case_id"]
    _to_result_publicity(live, cid)
    expert = _as_expert(live, cid)
    add_account(live, "other_county", "county_officer", ids["other_county"])

    everyone = {"任教学校", "现任职称", "职称取得时间", "最高学历", "教龄", "骨干教师", "师德记录"}
    everyone |= {"农村或薄弱学校任教"}
    full = everyone | {"农村任教年限记录"}
    for login, rows, on_page in (
        ("teacher", full, True),
        ("city_officer", full, False),
        (expert, everyone, True),
        ("principal", everyone, False),
    ):
        api = live.client(login).get(f"/api/v1/cases/{cid}")
        assert api.status_code == 200, login
        record = api.json()["record"]
        got = {r["label"]: r["value"] for r in record["rows"]}
        assert record["title"] == "教师档案" and set(got) == rows, login
        assert got["农村或薄弱学校任教"] == "3年"
        if "农村任教年限记录" in rows:
            assert "页面修改：2年 → 3年" in got["农村任教年限记录"], login
            assert got["师德记录"] == f"2015-03-01 {ETHICS_WORDS}", login
        else:
            assert got["师德记录"].startswith("有1条师德违规记录"), login
            assert ETHICS_WORDS not in api.text, login
        if on_page:  # the page draws the very rows the API gives
            client, _ = _sign_in(live, login)
            page = client.get(f"/cases/{cid}")
            _check_page(page.text)
            assert _record(page.text) == got, login

    # an officer of another county: the case, and with it the record, does not exist
    assert live.client("other_county").get(f"/api/v1/cases/{cid}").status_code == 404
    outsider, _ = _sign_in(live, "other_county")
    hidden = outsider.get(f"/cases/{cid}")
    assert hidden.status_code == 404 and ETHICS_WORDS not in hidden.text


# --- only what works now ---------------------------------------------------------------------
def test_a_decision_waiting_on_a_before_signer_shows_the_wait(live: Live) -> None:
    ids = _ids(live)
    teacher, csrf = _sign_in(live, "teacher")
    cid = _declared(teacher, csrf, ids["subject"])
    colleague = add_account(live, "officer2", "school_officer", ids["school"])
    officer, ocsrf = _sign_in(live, "school_officer")
    assert "school_approve" in _events(officer.get(f"/cases/{cid}").text)
    added = officer.post(
        f"/cases/{cid}/signers",
        data={
            "csrf": ocsrf,
            "person_id": str(colleague),
            "position": "before",
            "expected_version": _version(live, cid),
        },
    )
    assert added.status_code == 303

    page = officer.get(f"/cases/{cid}").text
    _check_page(page)
    assert re.search(r'id="waiting">等待 officer2 签署加签意见', page)
    assert "school_approve" not in _events(page), "no approve button that would fail"
    assert _events(page) == ["send_back", "reject"], "returning or ending is never held"
    api = live.client("school_officer").get(f"/api/v1/cases/{cid}").json()
    assert "school_approve" not in api["may"] and api["waiting_on"] == ["officer2"]
    # the applicant reads the wait too, with nothing to press
    mine = teacher.get(f"/cases/{cid}").text
    assert 'id="waiting"' in mine and "school_approve" not in _events(mine)

    signer, scsrf = _sign_in(live, "officer2")
    asked = signer.get(f"/cases/{cid}").text
    assert 'id="waiting">请您签署加签意见' in asked and 'id="countersign"' in asked
    signed = signer.post(
        f"/cases/{cid}/countersign",
        data={"csrf": scsrf, "opinion": "agree", "expected_version": _version(live, cid)},
    )
    assert signed.status_code == 303
    after = officer.get(f"/cases/{cid}").text
    assert 'id="waiting"' not in after and "school_approve" in _events(after)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_form_has_one_opinion_box(live: Live) -> None:
    ids = _ids(live)
    teacher, _ = _sign_in(live, "teacher")
    cid = declare(live, live.client("teacher"), ids["subject"])["case_id"]
    add_account(live, "officer2", "school_officer", ids["school"])
    officer, _ = _sign_in(live, "school_officer")
    for client, expected in (
        (
            officer,
            {
                "event-school_approve": ["comment"],
                "event-send_back": ["reason"],
                "event-reject": ["reason"],
                "signers": ["comment"],
                "transfer": ["comment"],
                "comment-form": ["comment"],
            },
        ),
        (teacher, {"event-withdraw": ["reason"], "comment-form": ["comment"]}),
    ):
        forms = _forms(client.get(f"/cases/{cid}").text)
        for form, boxes in expected.items():
            assert forms.get(form) == boxes, (form, forms.get(form))
        assert all(len(boxes) <= 1 for boxes in forms.values()), forms


# --- 转交 and 抄送 ---------------------------------------------------------------------------
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_transfer_and_copy_through_the_page(live: Live) -> None:
    ids = _ids(live)
    cid = declare(live, live.client("teacher"), ids["subject"])["case_id"]
    colleague = add_account(live, "officer2", "school_officer", ids["school"])
    outsider = add_account(live, "other_county", "county_officer", ids["other_county"])
    officer, ocsrf = _sign_in(live, "school_officer")

    page = officer.get(f"/cases/{cid}").text
    offered = set(map(int, re.findall(r'name="to_person_id" value="(\d+)"', page)))
    with live.services.db.connect() as conn:
        me, city = (
            conn.execute(select(Person.id).where(Person.username == u)).scalar()
            for u in ("school_officer", "city_officer")
        )
    assert colleague in offered and me not in offered, "colleagues at the school, not me"
    task = re.search(r'name="task_id" value="(\d+)"', page)
    assert task
    blank = officer.post(
        f"/cases/{cid}/transfer",
        data={"csrf": ocsrf, "task_id": task[1], "expected_version": _version(live, cid)},
    )
    assert blank.status_code == 422
    assert _field_error(blank.text, "transfer-to_person_id") == "请选择接收人"
    handed = officer.post(
        f"/cases/{cid}/transfer",
        data={
            "csrf": ocsrf,
            "task_id": task[1],
            "to_person_id": str(colleague),
            "comment": "我出差，请代为审核",
            "expected_version": _version(live, cid),
        },
        follow_redirects=True,
    )
    assert handed.status_code == 200 and "待办已转交给officer2" in handed.text
    assert "我出差，请代为审核" in handed.text, "the note is on the record"
    assert _events(handed.text) == [], "the work is the colleague's now"
    second, _ = _sign_in(live, "officer2")
    assert "school_approve" in _events(second.get(f"/cases/{cid}").text)

    # 抄送: the county offers only staff who answer for the case
    county, ccsrf = _sign_in(live, "county_officer")
    page = county.get(f"/cases/{cid}").text
    _check_page(page)
    offered = set(map(int, re.findall(r'name="person_ids" value="(\d+)"', page)))
    assert city in offered and colleague in offered
    assert outsider not in offered and ids["teacher"] not in offered
    before = _audit_rows(live, cid)
    refused = county.post(
        f"/cases/{cid}/copies",
        data={"csrf": ccsrf, "person_ids": [str(city), str(outsider)], "note": "请知悉"},
    )
    assert refused.status_code == 422
    said = _field_error(refused.text, "copies-person_ids")
    assert said.startswith("抄送对象须为本事项管辖范围内的工作人员") and "other_county" in said
    assert re.search(rf'value="{city}" checked', refused.text), "the ticks are kept"
    assert _audit_rows(live, cid) == before, "nothing was written"
    copied = county.post(
        f"/cases/{cid}/copies",
        data={"csrf": ccsrf, "person_ids": [str(city)], "note": "请知悉"},
        follow_redirects=True,
    )
    assert copied.status_code == 200 and "已抄送" in copied.text
    assert f'name="person_ids" value="{city}"' not in copied.text, "not offered twice"
    # the engine says the same to an API client
    api = live.client("county_officer").post(
        f"/api/v1/cases/{cid}/copies", json={"person_ids": [outsider]}
    )
    assert api.status_code == 422 and api.json()["field"] == "person_ids"


# --- an ended case ---------------------------------------------------------------------------
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_ended_case_is_read_only(live: Live) -> None:
    ids = _ids(live)
    teacher, tcsrf = _sign_in(live, "teacher")
    cid = declare(live, live.client("teacher"), ids["subject"])["case_id"]
    outsider = add_account(live, "reader", "county_officer", ids["other_county"])
    officer, ocsrf = _sign_in(live, "school_officer")
    ended = officer.post(
        f"/cases/{cid}/fire",
        data={
            "csrf": ocsrf,
            "event": "reject",
            "reason": "业绩材料不实",
            "expected_version": _version(live, cid),
        },
    )
    assert ended.status_code == 303 and _case(live, cid).state == "rejected"
    with live.services.db.begin() as conn:  # a copy from before copies were scoped
        conn.execute(
            insert(table_of(CaseCopy)).values(
                case_id=cid, person_id=outsider, copied_by=ids["principal"],
                copied_at=live.clock.now(),
            )
        )  # fmt: skip

    reader, _ = _sign_in(live, "reader")
    for client, comments in ((officer, True), (teacher, True), (reader, False)):
        page = client.get(f"/cases/{cid}").text
        _check_page(page)
        assert 'id="closed"' in page and '<span class="tag done">已办结</span>' in page
        forms = _forms(page)
        assert set(forms) == ({"comment-form"} if comments else set()), forms
        assert 'class="state ended"' in page and "已办结</text>" in page
        assert 'class="state current"' not in page
    upload = teacher.post(
        f"/cases/{cid}/attachments",
        data={"csrf": tcsrf},
        files={"file": ("补充.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
    )
    assert upload.status_code == 403 and "已办结" in upload.text
    said = teacher.post(f"/cases/{cid}/comment", data={"csrf": tcsrf, "comment": "已知悉"})
    assert said.status_code == 303


# --- the diagram and the two columns in a browser --------------------------------------------
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_case_page_on_a_phone_and_a_desktop(live: Live) -> None:
    ids = _ids(live)
    cid = declare(live, live.client("teacher"), ids["subject"])["case_id"]
    with chromium() as browser:
        desk = browser.new_context(viewport=DESKTOP, locale="zh-CN")
        page = desk.new_page()
        escaped = offline(page, live.url)
        errors = console_errors(page)
        sign_in(page, live.url, "school_officer")
        page.goto(f"{live.url}/cases/{cid}")
        declared = page.locator("section[aria-labelledby='data-h']").bounding_box()
        record = page.locator("#record").bounding_box()
        assert declared and record
        assert abs(declared["y"] - record["y"]) < 2 and record["x"] > declared["x"] + 300
        current = page.locator("#diagram g.state.current")
        expect(current).to_have_count(1)
        expect(current).to_contain_text("学校审核")
        expect(current).to_contain_text("当前")
        fill = current.locator("rect").first.get_attribute("fill")
        assert fill == "#1d4f91", "current is the brand's blue, not an error's red"
        expect(page.locator("#diagram svg title")).to_have_text("职称评审流程图")
        expect(page.locator("#diagram svg desc")).to_contain_text("本事项当前处于：学校审核")
        shot(page, "case-page-desktop")

        phone = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
        phone.add_cookies(desk.cookies())  # type: ignore[arg-type]
        small = phone.new_page()
        offline(small, live.url)
        small.goto(f"{live.url}/cases/{cid}")
        sizes = small.evaluate(
            """() => {
              const box = document.querySelector('#diagram');
              const svg = box.querySelector('svg').getBoundingClientRect();
              return {page: document.documentElement.scrollWidth, view: window.innerWidth,
                      box: box.clientWidth, scroll: box.scrollWidth, svg: svg.width};
            }"""
        )
        assert sizes["page"] <= sizes["view"], f"the page itself scrolls sideways: {sizes}"
        assert sizes["svg"] >= 600 and sizes["scroll"] > sizes["box"], sizes
        stacked = small.locator("#record").bounding_box()
        first = small.locator("section[aria-labelledby='data-h']").bounding_box()
        assert stacked and first and stacked["y"] > first["y"] + first["height"] - 1
        shot(small, "case-page-phone")
        phone.close()
        desk.close()
    assert escaped == [] and errors == [], (escaped, errors)
