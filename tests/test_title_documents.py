"""Title review's printed documents and its appointment step, as a bureau meets them: the
发文认定 form refuses a missing or malformed 文号 naming the field; an appointment records
the document and tells the teacher in Chinese; the 申报表, the 认定通知 and the committee's
result list come out as PDFs whose text reads back (Chinese fonts embedded) and as .xlsx
files with their rows; and every one of them is "not found" outside the reader's scope.

On SQLite and PostgreSQL (the process: docs/processes/title_review.md, 打印与导出)."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from fastapi.routing import APIRoute
from openpyxl import load_workbook  # type: ignore[import-untyped, unused-ignore]
from pypdf import PdfReader
from sqlalchemy import select

from api import typeset
from api.processes.title_review import prints
from notifications.dispatch import dispatch
from states.clock import FrozenClock, local_date
from states.errors import FormError, RuleRefused
from states.identity import mask_id_number
from states.org import COUNTY_OFFICER
from states.processes.title_review.seed import appointment
from states.seed.builders import close_window
from states.store.models import Notification, OutboxMessage, PanelSeat, Person
from tests.live import Live, add_account
from tests.test_api import _ids, declare
from tests.test_pages import _sign_in, _to_result_publicity
from tests.world import Driver, World

API = "/api/v1/title-review"


# --- reading back what was printed ------------------------------------------------------------
def pdf_text(data: bytes) -> str:
    """The PDF's text as a reader's copy-paste gets it, without the layout's spaces."""
    assert data.startswith(b"%PDF-"), data[:40]
    pages = PdfReader(io.BytesIO(data)).pages
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in pages))


def embedded_fonts(data: bytes) -> dict[str, bool]:
    """Each font the PDF sets text in, and whether its glyphs travel inside the file."""
    out: dict[str, bool] = {}
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            for child in font.get("/DescendantFonts", [font]):
                child = child.get_object()
                descriptor = child["/FontDescriptor"].get_object()
                name = str(child["/BaseFont"])
                out[name] = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
    return out


def sheet_rows(data: bytes) -> list[list[Any]]:
    sheet = load_workbook(io.BytesIO(data)).active
    return [[c for c in row if c is not None] for row in sheet.iter_rows(values_only=True)]


# --- the appointment step on the engine ----------------------------------------------------------
def _to_appointment(d: Driver, world: World, name: str) -> int:
    case_id = d.declare(world.teacher(name))
    d.through_school(case_id)
    d.fire(case_id, "qualify", "county_officer")
    d.vote_all(case_id, yes=6, no=1)
    d.fire(case_id, "close_sitting", "city_officer")
    d.close_window(case_id)
    assert d.case(case_id).state == "appointment"
    return case_id


def test_the_appointment_names_its_document_or_is_refused_at_the_field(
    d: Driver, world: World, clock: FrozenClock
) -> None:
    case_id = _to_appointment(d, world, "发文教师")
    today = local_date(clock.now())
    version = d.case(case_id).version
    refused: list[tuple[dict[str, str], type[Exception], str, str]] = [
        ({"doc_date": today.isoformat()}, FormError, "doc_number", "文号为必填项"),
        ({"doc_number": "示范市人社〔2026〕3号"}, FormError, "doc_date", "发文日期为必填项"),
        (
            {**appointment(today), "doc_number": "示范市人社[2026]3号"},
            RuleRefused,
            "doc_number",
            "应写作“示范市人社〔2026〕3号”",
        ),
        ({**appointment(today), "doc_number": "第三号"}, RuleRefused, "doc_number", "发文机关代字"),
        ({**appointment(today), "doc_number": "示" * 41}, FormError, "doc_number", "不能超过40字"),
        (appointment(today + dt.timedelta(days=1)), RuleRefused, "doc_date", "晚于今天"),
        (
            {**appointment(today), "doc_number": "示范市人社〔2025〕3号"},
            RuleRefused,
            "doc_number",
            "不在同一年",
        ),
        ({**appointment(today), "doc_date": "2026-13-01"}, FormError, "doc_date", "有效日期"),
    ]
    for payload, error, field, words in refused:
        with pytest.raises(error) as caught:
            d.fire(case_id, "appoint", "city_officer", payload)
        assert caught.value.field == field, payload
        assert words in caught.value.message, caught.value.message
    assert d.case(case_id).version == version, "a refusal writes nothing"

    issued = today - dt.timedelta(days=2)
    d.fire(case_id, "appoint", "city_officer", appointment(issued, 12))
    case = d.case(case_id)
    assert case.state == "appointed"
    assert case.data["doc_number"] == "示范市人社〔2026〕12号"
    assert case.data["doc_date"] == issued.isoformat()
    # the title is held from the day the document was issued
    teacher = world.actors["发文教师"]
    assert world.title_of(teacher) == ("senior", issued)

    # the appointment notice goes to the teacher through the outbox, in Chinese
    with d.eng.db.connect() as conn:
        [notice] = conn.execute(
            select(OutboxMessage.recipient_id).where(
                OutboxMessage.case_id == case_id, OutboxMessage.kind == "title_appointed"
            )
        ).all()
    assert notice.recipient_id == teacher.person_id
    dispatch(d.eng.db, clock, {}, catalogue=d.eng.processes)
    with d.eng.db.connect() as conn:
        [letter] = conn.execute(
            select(Notification.title, Notification.body).where(
                Notification.person_id == teacher.person_id, Notification.kind == "title_appointed"
            )
        ).all()
    day = f"{issued.year}年{issued.month}月{issued.day}日"
    assert letter.title == "【人事业务平台】认定通知：您已取得高级教师任职资格"
    assert (
        f"经评审，您已取得高级教师任职资格，文号：示范市人社〔2026〕12号，发文日期：{day}。"
        in letter.body
    )


# --- the documents over HTTP ---------------------------------------------------------------------
def test_declaration_notice_and_results_print_for_those_who_may_read_them(live: Live) -> None:
    """The demo teacher's 高级 declaration from submission to appointment — appointed in bulk
    through the API's batch, which carries the one document's number for every case in it —
    and what each reader prints along the way."""
    ids = _ids(live)
    teacher = live.client("teacher")
    page, _ = _sign_in(live, "teacher")
    with live.services.db.connect() as conn:
        person = conn.execute(select(Person).where(Person.id == ids["teacher"])).one()
    name, full_id = person.name, person.id_number

    cid = int(declare(live, teacher, ids["subject"])["case_id"])
    refused = teacher.get(f"{API}/cases/{cid}/appointment.pdf")
    assert refused.status_code == 409
    assert refused.json()["message"] == "本事项尚未发文认定，没有认定通知"
    early = pdf_text(teacher.get(f"{API}/cases/{cid}/declaration.pdf").content)
    assert "个人申报" in early and "提交申报" in early and "发文认定" not in early
    html = page.get(f"/cases/{cid}").text
    assert "打印申报表（PDF）" in html and "打印认定通知（PDF）" not in html

    _to_result_publicity(live, cid)
    close_window(live.services.engine, live.clock, cid)
    # weeks went by: everyone signs in again
    teacher, principal, city = (live.client(u) for u in ("teacher", "principal", "city_officer"))
    add_account(live, "other_county", COUNTY_OFFICER, ids["other_county"])
    outsiders = [live.client("other_county"), live.client("teacher_grade1")]
    page, _ = _sign_in(live, "teacher")
    version = city.get(f"/api/v1/cases/{cid}").json()["version"]
    items = [{"case_id": cid, "expected_version": version}]
    bare = city.post("/api/v1/cases/batch", json={"event": "appoint", "items": items}).json()
    assert bare["succeeded"] == 0 and bare["results"][0]["error"]["field"] == "doc_number"
    # the results page appoints every case ticked by one document; a malformed number is
    # shown beside its field and nothing is written
    officer, csrf = _sign_in(live, "city_officer")
    listing = officer.get("/title-review/results", params={"year": "2026"}).text
    assert "待发文认定（1人）" in listing and f'value="{cid}:{version}"' in listing
    today = local_date(live.clock.now())
    number = f"示范市教人〔{today.year}〕7号"
    form = {
        "csrf": csrf,
        "once": re.findall(r'name="once" value="([^"]+)"', listing)[0],
        "year": "2026",
        "case": f"{cid}:{version}",
        "doc_number": number.replace("〔", "[").replace("〕", "]"),
        "doc_date": today.isoformat(),
    }
    wrong = officer.post("/title-review/results/appoint", data=form)
    assert wrong.status_code == 422 and f"文号应写作“{number}”" in wrong.text
    assert 'id="appoint-doc_number-error"' in wrong.text
    assert city.get(f"/api/v1/cases/{cid}").json()["state"] == "appointment"
    done = officer.post("/title-review/results/appoint", data={**form, "doc_number": number})
    assert done.status_code == 303
    assert city.get(f"/api/v1/cases/{cid}").json()["state"] == "appointed"

    mine = teacher.get(f"{API}/cases/{cid}/declaration.pdf")
    assert mine.status_code == 200 and mine.headers["content-type"] == typeset.PDF_MEDIA
    assert "inline" in mine.headers["content-disposition"]
    text = pdf_text(mine.content)
    for words in ("中小学教师职称评审申报表", name, "高级教师", number, full_id, "审核意见"):
        assert words in text, words
    assert "同意7票、不同意0票、弃权0票（评委7人）" in text
    # the title declared from, as it stood then (the record now holds the new one)
    assert "现任职称一级教师" in text and "满-" not in text
    fonts = embedded_fonts(mine.content)
    assert any("CJK" in f for f in fonts), fonts
    assert all(fonts.values()), f"every font is embedded: {fonts}"

    # the principal reads the school's cases, the ID number masked as the declaration says
    theirs = pdf_text(principal.get(f"{API}/cases/{cid}/declaration.pdf").content)
    assert name in theirs and mask_id_number(full_id) in theirs and full_id not in theirs
    # nobody learns from a printed form who sat on the committee
    with live.services.db.connect() as conn:
        sat = conn.execute(
            select(Person.name)
            .join(PanelSeat, PanelSeat.expert_id == Person.id)
            .where(PanelSeat.case_id == cid)
        ).scalars()
        members = [m for m in sat if m != name]
    assert len(members) == 7 and not [m for m in members if m in text or m in theirs]

    sheet = sheet_rows(teacher.get(f"{API}/cases/{cid}/declaration.xlsx").content)
    assert sheet[0] == ["中小学教师职称评审申报表"]
    cells = [str(c) for row in sheet for c in row]
    assert name in cells and full_id in cells and number in cells and "高级教师" in cells

    notice = pdf_text(teacher.get(f"{API}/cases/{cid}/appointment.pdf").content)
    assert "中小学教师职称评审认定通知" in notice
    assert f"您已取得高级教师任职资格，文号：{number}" in notice

    # out of scope: another county's officer and another teacher learn nothing, not even
    # that the case exists
    for outsider in outsiders:
        for doc in ("declaration.pdf", "declaration.xlsx", "appointment.pdf"):
            answer = outsider.get(f"{API}/cases/{cid}/{doc}")
            assert answer.status_code == 404 and answer.json()["message"] == "事项不存在"

    # the city's committee: its officers print the year's list; nobody else finds it
    [committee] = city.get(f"{API}/results", params={"year": 2026}).json()
    assert committee["decided"] == 1 and committee["passed"] == 1
    unit = committee["unit_id"]
    listed = city.get(f"{API}/results/{unit}", params={"year": 2026}).json()
    [row] = listed["rows"]
    assert (row["applicant"], row["title"], row["result"]) == (name, "高级教师", "通过")
    assert row["yes"] + row["no"] + row["abstain"] == row["drawn"] == 7
    results = pdf_text(city.get(f"{API}/results/{unit}.pdf", params={"year": 2026}).content)
    for words in ("2026年度中小学教师职称评审结果名单", name, "高级教师", "通过", "评审结果"):
        assert words in results, words
    rows = sheet_rows(city.get(f"{API}/results/{unit}.xlsx", params={"year": 2026}).content)
    assert rows[0][:4] == ["申报编号", "姓名", "工作单位", "申报职称"]
    assert rows[1][:2] == [cid, name] and rows[1][9] == "通过"
    for outsider in outsiders:
        assert outsider.get(f"{API}/results", params={"year": 2026}).json() == []
        for suffix in ("", ".pdf", ".xlsx"):
            answer = outsider.get(f"{API}/results/{unit}{suffix}", params={"year": 2026})
            assert answer.status_code == 404, suffix
    assert city.get(f"{API}/results", params={"year": 1999}).status_code == 422

    # the pages: the case page links to what it prints, the year page to the result lists
    html = page.get(f"/cases/{cid}").text
    for label in ("打印申报表（PDF）", "导出申报表（Excel）", "打印认定通知（PDF）"):
        assert label in html, label
    printed = page.get(f"/title-review/cases/{cid}/declaration.pdf")
    assert printed.status_code == 200 and name in pdf_text(printed.content)
    assert "/title-review/results?year=2026" in officer.get("/title-review/years").text
    listing = officer.get("/title-review/results", params={"year": "2026"}).text
    assert f"/title-review/results/{unit}.pdf?year=2026" in listing
    got = officer.get(f"/title-review/results/{unit}.xlsx", params={"year": "2026"})
    assert got.status_code == 200 and sheet_rows(got.content)[1][1] == name
    stranger, _ = _sign_in(live, "teacher_grade1")
    assert stranger.get(f"/title-review/cases/{cid}/declaration.pdf").status_code == 404
    assert stranger.get(f"/title-review/results/{unit}.pdf?year=2026").status_code == 404


# --- the PDF engine itself -----------------------------------------------------------------------
def test_words_are_printed_as_data_never_as_markup() -> None:
    odd = '李#[*强*]$\\"}{@<b>'
    document = typeset.Document(
        "测试", "x", blocks=[typeset.fields([[("姓名", odd)]]), typeset.paragraph(odd)]
    )
    text = pdf_text(typeset.pdf(document, dt.datetime(2026, 9, 1, tzinfo=dt.UTC)))
    assert text.count(odd) == 2


def test_no_chinese_font_is_refused_in_chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(typeset, "SERIF", ("没有这种字体",))
    monkeypatch.setattr(typeset, "SANS", ("也没有这种",))
    monkeypatch.setattr(typeset, "_found", None)
    with pytest.raises(typeset.FontMissing) as caught:
        typeset.pdf(typeset.Document("测试", "x"), dt.datetime(2026, 9, 1, tzinfo=dt.UTC))
    assert caught.value.status == 503
    assert "未安装中文字体" in caught.value.message


def test_every_document_route_says_in_chinese_what_it_prints() -> None:
    paths = {route.path: route for route in prints.api.routes if isinstance(route, APIRoute)}
    assert set(paths) == {
        API + "/cases/{case_id}/declaration.pdf",
        API + "/cases/{case_id}/declaration.xlsx",
        API + "/cases/{case_id}/appointment.pdf",
        API + "/results",
        API + "/results/{unit_id}",
        API + "/results/{unit_id}.pdf",
        API + "/results/{unit_id}.xlsx",
    }
    for path, route in paths.items():
        assert route.summary and re.search(r"[\u4e00-\u9fff]", route.summary), path
