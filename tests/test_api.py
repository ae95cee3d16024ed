"""The JSON API over a real server and a real database, endpoint by endpoint."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from states.org import SYSTEM_ACTOR
from states.registry import service
from states.store.db import make_engine
from states.store.models import OrgUnit, Person, Teacher
from tests.live import Live, add_account

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _ids(live: Live) -> dict[str, Any]:
    """Units and people of the seeded province the tests talk about."""
    with live.services.db.connect() as conn:
        teacher = conn.execute(
            select(Person.id, Teacher.subject, Teacher.school_id)
            .join(Teacher, Teacher.person_id == Person.id)
            .where(Person.username == "teacher")
        ).one()
        path = conn.execute(
            select(OrgUnit.path).where(OrgUnit.id == teacher.school_id)
        ).scalar_one()
        county_id = int(path.strip("/").split("/")[-2])
        other_county = (
            conn.execute(
                select(OrgUnit.id).where(OrgUnit.tier == "county", OrgUnit.id != county_id)
            )
            .scalars()
            .first()
        )
        principal = conn.execute(
            select(Person.id).where(Person.username == "principal")
        ).scalar_one()
    return {
        "teacher": teacher.id,
        "subject": teacher.subject,
        "school": teacher.school_id,
        "county": county_id,
        "other_county": other_county,
        "principal": principal,
    }


def declare(live: Live, client: httpx.Client, subject: str) -> dict[str, Any]:
    r = client.post(
        "/api/v1/cases",
        json={
            "process": "title_review",
            "submit": True,
            "form": {
                "target_title": "senior",
                "subject": subject,
                "statement": "任教以来认真履职。",
            },
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_sign_in_and_slow_down(live: Live) -> None:
    c = live.client()
    bad = c.post("/api/v1/auth/token", json={"username": "teacher", "password": "wrong"})
    assert bad.status_code == 401 and bad.json()["message"] == "用户名或密码错误"
    unknown = c.post("/api/v1/auth/token", json={"username": "nobody", "password": "wrong"})
    assert unknown.json()["message"] == bad.json()["message"]
    assert c.get("/api/v1/me").status_code == 401
    for _ in range(4):
        c.post("/api/v1/auth/token", json={"username": "teacher", "password": "wrong"})
    # Five failures from this address: it waits out the quarter hour (no longer a lock on
    # the account for everyone: see tests/test_sign_in.py).
    slowed = c.post("/api/v1/auth/token", json={"username": "teacher", "password": "renshi2026"})
    assert slowed.status_code == 429 and slowed.headers["retry-after"] == "900"
    assert slowed.json()["message"] == "登录尝试过于频繁，请 15 分钟后再试"
    live.clock.advance(minutes=16)
    me = live.client("teacher").get("/api/v1/me").json()
    assert me["roles"][0]["role"] == "teacher"


def test_catalogue(live: Live) -> None:
    c = live.client("school_officer")
    catalogue = {p["name"]: p for p in c.get("/api/v1/processes").json()}
    assert set(catalogue) == {
        "title_review",
        "recruitment_plan",
        "recruitment",
        "rotation_campaign",
        "rotation",
        "rotation_exemption",
        "task_book",
        "work_task",
        "task_scoring",
        "task_score_sheet",
        "support_need",
        "support_application",
        "support_term",
        "inspection_campaign",
        "rectification",
    }
    proc = catalogue["title_review"]
    assert proc["label"] == "职称评审"
    assert {"draft", "committee", "appointed"} <= {s["id"] for s in proc["states"]}
    approve = next(e for e in proc["events"] if e["id"] == "school_approve")
    assert approve["sources"] == ["school_review"] and "办理人" in approve["who"]
    assert proc["diagram_svg"].startswith("<svg")
    assert c.get("/api/v1/processes/title_review").json()["name"] == "title_review"
    assert c.get("/api/v1/processes/nope").status_code == 404


def test_case_lifecycle_over_http(live: Live) -> None:
    ids = _ids(live)
    teacher, officer = live.client("teacher"), live.client("school_officer")
    case = declare(live, teacher, ids["subject"])
    assert case["to_state"] == "school_review" and case["to_label"] == "学校审核"
    cid = case["case_id"]

    mine = teacher.get(f"/api/v1/cases/{cid}").json()
    assert mine["may"] == ["withdraw"]
    detail = officer.get(f"/api/v1/cases/{cid}").json()
    assert detail["may"] == ["school_approve", "send_back", "reject"]
    assert detail["tasks"][0]["due_on"] == "2026-09-08"

    wrong = officer.post(
        f"/api/v1/cases/{cid}/events",
        json={"event": "appoint", "expected_version": detail["version"]},
    )
    assert wrong.status_code == 409 and "school_approve" in wrong.json()["allowed"]
    no_reason = officer.post(
        f"/api/v1/cases/{cid}/events",
        json={"event": "send_back", "expected_version": detail["version"]},
    )
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    headers = {"Idempotency-Key": "approve-1"}
    body = {
        "event": "school_approve",
        "expected_version": detail["version"],
        "payload": {"comment": "同意"},
    }
    first = officer.post(f"/api/v1/cases/{cid}/events", json=body, headers=headers)
    again = officer.post(f"/api/v1/cases/{cid}/events", json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json()["replayed"] and again.json()["version"] == first.json()["version"]
    stale = officer.post(f"/api/v1/cases/{cid}/events", json=body)
    assert stale.status_code == 409 and "版本" in stale.json()["message"]

    trail = officer.get(f"/api/v1/cases/{cid}/audit").json()
    assert [e["event"] for e in trail] == ["create", "submit", "school_approve"]
    assert trail[-1]["event_label"] == "学校审核通过" and len(trail[-1]["hash"]) == 64
    comments = officer.get(f"/api/v1/cases/{cid}/comments").json()
    assert comments[-1]["payload"]["comment"] == "同意"


def test_lists_filters_sorting_paging_and_scope(live: Live) -> None:
    ids = _ids(live)
    teacher = live.client("teacher")
    declare(live, teacher, ids["subject"])
    county = live.client("county_officer")
    listed = county.get(
        "/api/v1/cases",
        params={
            "process": "title_review",
            "state": "school_review",
            "sort": "id",
            "order": "asc",
            "page_size": 1,
        },
    ).json()
    assert listed["total"] == 1 and listed["items"][0]["state_label"] == "学校审核"
    assert county.get("/api/v1/cases", params={"state": "appointed"}).json()["total"] == 0
    add_account(live, "other_county", "county_officer", ids["other_county"])
    other = live.client("other_county")
    assert other.get("/api/v1/cases").json()["total"] == 0
    bad = county.get("/api/v1/cases", params={"sort": "password", "page": 0})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] in ("sort", "page")

    teachers = county.get("/api/v1/teachers", params={"school_id": ids["school"]}).json()
    assert teachers["total"] > 0
    assert {t["school_id"] for t in teachers["items"]} == {ids["school"]}
    me = teacher.get("/api/v1/teachers").json()
    assert [t["person_id"] for t in me["items"]] == [ids["teacher"]]
    assert teacher.get(f"/api/v1/teachers/{teachers['items'][0]['person_id']}").status_code in (
        200 if teachers["items"][0]["person_id"] == ids["teacher"] else 404,
    )
    assert other.get(f"/api/v1/teachers/{ids['teacher']}").status_code == 404


def test_inbox_batch_transfer(live: Live) -> None:
    ids = _ids(live)
    officer = live.client("school_officer")
    with live.services.db.connect() as conn:
        colleagues = conn.execute(
            select(Person.id, Person.username, Teacher.subject)
            .join(Teacher, Teacher.person_id == Person.id)
            .where(
                Teacher.school_id == ids["school"],
                Teacher.title == "grade1",
                Person.username.is_(None),
            )
        ).all()
    cases = [declare(live, live.client("teacher"), ids["subject"])["case_id"]]
    for i, (pid, _, subject) in enumerate(colleagues[:6]):
        add_account(live, f"t{i}", "teacher_login", ids["school"], person_id=pid)
        r = live.client(f"t{i}").post(
            "/api/v1/cases",
            json={
                "process": "title_review",
                "form": {"target_title": "senior", "subject": subject, "statement": "述职"},
            },
        )
        assert r.status_code == 201
        sub = live.client(f"t{i}").post(
            f"/api/v1/cases/{r.json()['case_id']}/events",
            json={"event": "submit", "expected_version": 1},
        )
        if sub.status_code == 200 and sub.json()["to_state"] == "school_review":
            cases.append(r.json()["case_id"])
    todo = officer.get("/api/v1/tasks", params={"box": "todo"}).json()
    assert {i["case_id"] for i in todo["items"]} == set(cases)
    assert todo["counts"]["todo"] == len(cases) and todo["counts"]["overdue"] == 0
    live.clock.advance(days=10)
    assert officer.get("/api/v1/tasks").status_code == 401, "a 30-minute token has expired"
    officer = live.client("school_officer")
    assert officer.get("/api/v1/tasks").json()["items"][0]["overdue"] is True

    versions = {i["case_id"]: i["version"] for i in todo["items"]}
    items = [{"case_id": c, "expected_version": versions[c]} for c in cases[1:]]
    items.append({"case_id": cases[0], "expected_version": 1})  # stale
    batch = officer.post("/api/v1/cases/batch", json={"event": "school_approve", "items": items})
    out = batch.json()
    assert out["succeeded"] == len(cases) - 1 and out["failed"] == 1
    failed = next(r for r in out["results"] if not r["ok"])
    assert failed["case_id"] == cases[0] and failed["error"]["code"] == "conflict"
    done = officer.get("/api/v1/tasks", params={"box": "done"}).json()
    assert {i["case_id"] for i in done["items"]} == set(cases[1:])

    second = add_account(live, "officer2", "school_officer", ids["school"])
    [task] = [i for i in officer.get("/api/v1/tasks").json()["items"]]
    moved = officer.post(
        f"/api/v1/tasks/{task['task_id']}/transfer",
        json={"to_person_id": second, "expected_version": task["version"], "comment": "请代办"},
    )
    assert moved.status_code == 200
    assert officer.get("/api/v1/tasks").json()["total"] == 0
    assert live.client("officer2").get("/api/v1/tasks").json()["total"] == 1


def test_signers_copies_comments_attachments(live: Live) -> None:
    ids = _ids(live)
    teacher, officer = live.client("teacher"), live.client("school_officer")
    cid = declare(live, teacher, ids["subject"])["case_id"]
    second = add_account(live, "officer2", "school_officer", ids["school"])
    v = officer.get(f"/api/v1/cases/{cid}").json()["version"]
    r = officer.post(
        f"/api/v1/cases/{cid}/signers",
        json={"person_id": second, "position": "after", "expected_version": v},
    )
    assert r.status_code == 200
    v = r.json()["version"]
    held = officer.post(
        f"/api/v1/cases/{cid}/events", json={"event": "school_approve", "expected_version": v}
    ).json()
    assert held["event"] == "hold"
    co = live.client("officer2")
    detail = co.get(f"/api/v1/cases/{cid}").json()
    assert detail["may_countersign"] is True
    signed = co.post(
        f"/api/v1/cases/{cid}/countersign",
        json={"opinion": "agree", "expected_version": detail["version"]},
    ).json()
    assert signed["to_state"] == "school_publicity"

    leader = live.client("leader")
    leader_id = leader.get("/api/v1/me").json()["person_id"]
    assert (
        officer.post(
            f"/api/v1/cases/{cid}/copies", json={"person_ids": [leader_id], "note": "请阅"}
        ).status_code
        == 200
    )
    cc = leader.get("/api/v1/tasks", params={"box": "cc"}).json()
    assert [i["case_id"] for i in cc["items"]] == [cid] and cc["counts"]["cc_unread"] == 1
    assert leader.get(f"/api/v1/cases/{cid}").status_code == 200
    after = leader.get("/api/v1/tasks", params={"box": "cc"}).json()
    assert after["counts"]["cc_unread"] == 0 and after["items"][0]["read_at"] is not None
    assert leader.post(f"/api/v1/cases/{cid}/comments", json={"text": "已阅"}).status_code == 201
    assert teacher.get(f"/api/v1/cases/{cid}/comments").json()[-1]["payload"]["comment"] == "已阅"

    up = teacher.post(
        f"/api/v1/cases/{cid}/attachments", files={"file": ("论文.pdf", PDF, "application/pdf")}
    )
    assert up.status_code == 201, up.text
    att = up.json()
    assert att["size"] == len(PDF) and len(att["sha256"]) == 64
    listed = officer.get(f"/api/v1/cases/{cid}/attachments").json()
    assert [a["filename"] for a in listed] == ["论文.pdf"]
    got = officer.get(f"/api/v1/attachments/{att['id']}")
    assert got.status_code == 200 and got.content == PDF
    fake = teacher.post(
        f"/api/v1/cases/{cid}/attachments",
        files={"file": ("病毒.pdf", b"MZ\x90\x00", "application/pdf")},
    )
    assert fake.status_code == 422 and fake.json()["field"] == "file"
    exe = teacher.post(
        f"/api/v1/cases/{cid}/attachments",
        files={"file": ("a.exe", b"MZ", "application/octet-stream")},
    )
    assert exe.status_code == 422 and "文件类型" in exe.json()["message"]
    big = teacher.post(
        f"/api/v1/cases/{cid}/attachments",
        files={"file": ("大.pdf", PDF + b"0" * (11 * 1024 * 1024), "application/pdf")},
    )
    assert big.status_code == 422 and "过大" in big.json()["message"]
    add_account(live, "other_county", "county_officer", ids["other_county"])
    assert live.client("other_county").get(f"/api/v1/attachments/{att['id']}").status_code == 404


def test_public_publicity_and_objection(live: Live) -> None:
    ids = _ids(live)
    teacher, officer = live.client("teacher"), live.client("school_officer")
    cid = declare(live, teacher, ids["subject"])["case_id"]
    v = officer.get(f"/api/v1/cases/{cid}").json()["version"]
    officer.post(
        f"/api/v1/cases/{cid}/events", json={"event": "school_approve", "expected_version": v}
    )
    anon = live.client()
    listed = anon.get("/api/v1/public/publicity").json()
    [item] = listed["items"]
    assert item["stage"] == "校内公示" and item["until"] == "2026-09-08"
    assert "*" in item["id_number"] and item["id_number"][-4:].isalnum()
    assert item["phone"] is None or "****" in item["phone"]
    # Objections are received during the result publicity only.
    r = anon.post(
        f"/api/v1/public/publicity/{cid}/objections",
        json={
            "content": "业绩造假",
            "contact_name": "张三",
            "contact_phone": "13800138000",
            "code": "123456",
        },
    )
    assert r.status_code == 404


def test_bad_input_is_named_in_chinese(live: Live) -> None:
    officer = live.client("school_officer")
    raw = officer.post(
        "/api/v1/cases", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert raw.status_code == 422 and "JSON" in raw.json()["message"]
    extra = officer.post("/api/v1/cases", json={"process": "title_review", "form": {}, "x": 1})
    assert extra.status_code == 422 and extra.json()["field"] == "x"
    assert "不是此接口的字段" in extra.json()["message"]
    typed = officer.post("/api/v1/cases/1/events", json={"event": "x", "expected_version": "一"})
    assert typed.status_code == 422 and typed.json()["field"] == "expected_version"
    form = live.client("teacher").post(
        "/api/v1/cases",
        json={
            "process": "title_review",
            "form": {"target_title": "boss", "subject": "数学", "statement": "x"},
        },
    )
    assert form.status_code == 422 and form.json()["field"] == "target_title"


def _rural_need(live: Live, county_id: int, demo_school: int) -> int:
    """A need declared by a school of the county marked rural (an officer added for it)."""
    with live.services.db.begin() as conn:
        path = conn.execute(select(OrgUnit.path).where(OrgUnit.id == county_id)).scalar_one()
        rural = conn.execute(
            select(OrgUnit.id)
            .where(
                OrgUnit.tier == "school",
                OrgUnit.path.startswith(path),
                OrgUnit.id != demo_school,
            )
            .order_by(OrgUnit.is_rural.desc(), OrgUnit.id)
        ).scalar_one()
        conn.execute(update(OrgUnit).where(OrgUnit.id == rural).values(is_rural=True))
    add_account(live, "rural_school_officer", "school_officer", rural)
    need = live.client("rural_school_officer").post(
        "/api/v1/support/needs",
        json={"subject": "数学", "level": "junior", "places": 1,
              "starts_on": "2026-10-09", "ends_on": "2027-07-09"},
    )  # fmt: skip
    assert need.status_code == 201, need.text
    return int(need.json()["case_id"])


TASK_IN = {
    "title": "教师培训",
    "source": "work_points",
    "lead": "青山区第一中学",
    "deadline": "2026-12-20",
    "expected_version": 1,
}


def test_every_case_endpoint_from_out_of_scope(live: Live) -> None:
    """Another county's officer learns nothing: every case-addressed endpoint says 404."""
    ids = _ids(live)
    cid = declare(live, live.client("teacher"), ids["subject"])["case_id"]
    up = live.client("teacher").post(
        f"/api/v1/cases/{cid}/attachments", files={"file": ("a.pdf", PDF, "application/pdf")}
    )
    att = up.json()["id"]
    task = live.client("school_officer").get("/api/v1/tasks").json()["items"][0]["task_id"]
    add_account(live, "other_county", "county_officer", ids["other_county"])
    other = live.client("other_county")
    spec = other.get("/openapi.json").json()
    calls = {
        ("get", "/api/v1/cases/{case_id}"): None,
        ("get", "/api/v1/cases/{case_id}/audit"): None,
        ("get", "/api/v1/cases/{case_id}/dossier"): None,
        ("get", "/api/v1/cases/{case_id}/comments"): None,
        ("post", "/api/v1/cases/{case_id}/comments"): {"text": "x"},
        ("get", "/api/v1/cases/{case_id}/attachments"): None,
        ("post", "/api/v1/cases/{case_id}/attachments"): "upload",
        ("post", "/api/v1/cases/{case_id}/events"): {
            "event": "school_approve",
            "expected_version": 2,
        },
        ("post", "/api/v1/cases/{case_id}/signers"): {
            "person_id": 1,
            "position": "before",
            "expected_version": 2,
        },
        ("post", "/api/v1/cases/{case_id}/countersign"): {
            "opinion": "agree",
            "expected_version": 2,
        },
        ("post", "/api/v1/cases/{case_id}/copies"): {"person_ids": [1]},
        ("post", "/api/v1/cases/{case_id}/urge"): {"note": "快"},
        ("post", "/api/v1/recruitment/cases/{case_id}/choose-post"): {
            "seat_id": 1,
            "expected_version": 1,
        },
        ("post", "/api/v1/recruitment/cases/{case_id}/skip-choice"): {"expected_version": 1},
        ("post", "/api/v1/notifications/{notification_id}/read"): None,
        ("get", "/api/v1/attachments/{attachment_id}"): None,
        ("post", "/api/v1/tasks/{task_id}/transfer"): {"to_person_id": 1, "expected_version": 2},
        ("get", "/api/v1/teachers/{person_id}"): None,
        ("patch", "/api/v1/teachers/{person_id}"): {"expected_version": 1, "phone": None},
        ("get", "/api/v1/teachers/{person_id}/history"): None,
        ("get", "/api/v1/teachers/{person_id}/service-credits"): None,
        ("post", "/api/v1/teachers/{person_id}/service-credits/{credit_id}/corrections"): {
            "months": -1,
            "reason": "核实后更正",
        },
        ("post", "/api/v1/teachers/{person_id}/moves"): {
            "kind": "retire",
            "on": "2026-09-01",
            "expected_version": 1,
        },
        ("post", "/api/v1/title-review/years/{year_id}/window"): {
            "opens_on": "2026-09-01",
            "closes_on": "2026-12-31",
        },
        ("post", "/api/v1/title-review/years/{year_id}/close"): None,
        ("get", "/api/v1/title-review/cases/{case_id}/declaration.pdf"): None,
        ("get", "/api/v1/title-review/cases/{case_id}/declaration.xlsx"): None,
        ("get", "/api/v1/title-review/cases/{case_id}/appointment.pdf"): None,
        ("get", "/api/v1/title-review/results/{unit_id}"): None,
        ("get", "/api/v1/title-review/results/{unit_id}.pdf"): None,
        ("get", "/api/v1/title-review/results/{unit_id}.xlsx"): None,
        ("get", "/api/v1/org-units/{unit_id}"): None,
        ("patch", "/api/v1/org-units/{unit_id}"): {"expected_version": 1, "name": "改名"},
        ("post", "/api/v1/org-units/{unit_id}/merge"): {"expected_version": 1, "into_code": "X"},
        ("post", "/api/v1/org-units/{unit_id}/close"): {"expected_version": 1},
        ("get", "/api/v1/org-units/{unit_id}/history"): None,
        ("get", "/api/v1/org-units/{unit_id}/handover"): None,
        ("get", "/api/v1/expert-pools/{pool_id}/members"): None,
        ("post", "/api/v1/expert-pools/{pool_id}/members"): {"subject": "数学", "id_number": "1"},
        ("delete", "/api/v1/expert-pools/{pool_id}/members/{person_id}"): None,
        ("put", "/api/v1/expert-pools/{pool_id}/members/{person_id}/availability"): {
            "year": 2026,
            "available": False,
            "expected_version": 1,
        },
        ("get", "/api/v1/experts/{person_id}/conflicts"): None,
        ("post", "/api/v1/experts/{person_id}/conflicts"): {"unit_code": "X"},
        ("delete", "/api/v1/experts/{person_id}/conflicts/{conflict_id}"): None,
        ("get", "/api/v1/accounts/{person_id}"): None,
        ("post", "/api/v1/accounts/{person_id}/roles"): {"role": "principal", "unit_id": 1},
        ("post", "/api/v1/accounts/{person_id}/roles/remove"): {"role": "principal", "unit_id": 1},
        ("post", "/api/v1/accounts/{person_id}/password"): None,
        ("post", "/api/v1/accounts/{person_id}/disable"): None,
        ("post", "/api/v1/accounts/{person_id}/enable"): None,
        ("post", "/api/v1/accounts/{person_id}/handover"): {},
        ("post", "/api/v1/accounts/{person_id}/delegations"): {
            "acting_id": 1,
            "starts_on": "2026-09-01",
            "ends_on": "2026-09-02",
        },
        ("post", "/api/v1/delegations/{delegation_id}/cancel"): None,
        # a county's task book and its tasks, from the next county
        ("get", "/api/v1/task-lists/books/{book_id}"): None,
        ("post", "/api/v1/task-lists/books/{book_id}/tasks"): TASK_IN,
        ("put", "/api/v1/task-lists/books/{book_id}/tasks/{task_id}"): TASK_IN,
        ("delete", "/api/v1/task-lists/books/{book_id}/tasks/{task_id}"): None,
        ("post", "/api/v1/task-lists/books/{book_id}/steps"): {"event": "submit_book"},
        ("get", "/api/v1/task-lists/items/{task_id}"): None,
        ("post", "/api/v1/task-lists/items/{task_id}/reports"): {
            "percent": 50,
            "text": "过半",
            "expected_version": 1,
        },
        ("post", "/api/v1/task-lists/items/{task_id}/steps"): {
            "event": "acknowledge_task",
            "expected_version": 1,
        },
        ("post", "/api/v1/task-lists/scoring/sheets/{sheet_id}"): {"scores": {}},
        # the province's operations, from a county officer
        ("post", "/api/v1/operations/{job}/run"): None,
        ("post", "/api/v1/operations/deliveries/{delivery_id}/resend"): None,
        # a county's rotation campaign, read from the next county
        ("get", "/api/v1/rotation/campaigns/{campaign_id}"): None,
        ("patch", "/api/v1/rotation/campaigns/{campaign_id}"): {"expected_version": 1},
        ("post", "/api/v1/rotation/campaigns/{campaign_id}/steps/{step}"): {},
        ("get", "/api/v1/rotation/campaigns/{campaign_id}/posts"): None,
        ("post", "/api/v1/rotation/campaigns/{campaign_id}/posts"): {
            "posts": [{"school_code": "X", "subject": "数学", "level": "初中", "places": 1}]
        },
        ("post", "/api/v1/rotation/campaigns/{campaign_id}/posts/import"): "upload",
        ("get", "/api/v1/rotation/campaigns/{campaign_id}/eligible"): None,
        ("get", "/api/v1/rotation/campaigns/{campaign_id}/me"): None,
        ("put", "/api/v1/rotation/campaigns/{campaign_id}/preferences"): {"schools": [1]},
        ("post", "/api/v1/rotation/campaigns/{campaign_id}/nominations"): {"person_id": 1},
        ("post", "/api/v1/rotation/campaigns/{campaign_id}/confirmations"): {"school_id": 1},
        ("get", "/api/v1/rotation/campaigns/{campaign_id}/required"): None,
        ("get", "/api/v1/rotation/campaigns/{campaign_id}/result"): None,
        ("get", "/api/v1/rotation/campaigns/{campaign_id}/result.xlsx"): None,
        ("post", "/api/v1/rotation/campaigns/{campaign_id}/exemptions"): "upload",
        ("get", "/api/v1/rotation/campaigns/{campaign_id}/exemptions"): None,
        # a rural school's need of the county, and a case out of reach as a term, from the next
        ("get", "/api/v1/support/needs/{need_id}"): None,
        ("post", "/api/v1/support/needs/{need_id}/volunteer"): {},
        ("post", "/api/v1/support/needs/{need_id}/nominations"): {"teacher_id": 1},
        ("get", "/api/v1/support/needs/{need_id}/candidates"): None,
        ("post", "/api/v1/support/terms/{term_id}/checkins"): {
            "month": "2026-10",
            "attendance_days": 20,
            "teaching_hours": 60,
            "assessment": "好",
            "expected_version": 1,
        },
        # a county's inspection campaign, and a rectification, from the next county
        ("get", "/api/v1/supervision/campaigns/{campaign_id}"): None,
        ("post", "/api/v1/supervision/campaigns/{campaign_id}/steps/{step}"): {},
        ("get", "/api/v1/supervision/campaigns/{campaign_id}/draw"): None,
        ("get", "/api/v1/supervision/campaigns/{campaign_id}/mine"): None,
        ("post", "/api/v1/supervision/campaigns/{campaign_id}/findings"): "upload",
        ("get", "/api/v1/supervision/campaigns/{campaign_id}/report"): None,
        ("get", "/api/v1/supervision/campaigns/{campaign_id}/report.xlsx"): None,
        ("post", "/api/v1/supervision/rectifications/{case_id}/report"): "upload",
        ("post", "/api/v1/supervision/rectifications/{case_id}/reinspection"): {
            "decision": "accept"
        },
        ("post", "/api/v1/supervision/rectifications/{case_id}/reinspector"): {"person_id": 1},
        # a compliance finding in the demo county (情况说明, 人工销号), from the next county
        ("get", "/api/v1/compliance/findings/{finding_id}"): None,
        ("post", "/api/v1/compliance/findings/{finding_id}/notes"): {"text": "已安排整改"},
        ("post", "/api/v1/compliance/findings/{finding_id}/close"): {"reason": "已整改"},
    }
    campaign = live.client("county_officer").post(
        "/api/v1/rotation/campaigns",
        json={
            "name": "2026学年教师交流轮岗",
            "year": 2026,
            "preferences_open": "2026-09-01",
            "preferences_close": "2026-09-10",
            "confirm_by": "2026-09-15",
        },
    )
    assert campaign.status_code == 201, campaign.text
    need = _rural_need(live, ids["county"], ids["school"])
    inspection = live.client("county_officer").post(
        "/api/v1/supervision/campaigns",
        json={
            "title": "有偿补课专项督查",
            "year": 2026,
            "visit_from": "2026-09-07",
            "visit_to": "2026-09-11",
            "ratio_percent": 50,
            "checklist": [{"code": "A1", "text": "在职教师有偿补课", "evidence": True}],
        },
    )
    assert inspection.status_code == 201, inspection.text
    from states.processes.task_book.tables import WorkTask
    from tests.test_task_book import _demo_book

    work = next(iter(_demo_book(live)["ids"].values()))  # the demo county's book
    with live.services.db.connect() as conn:
        book = conn.execute(select(WorkTask.book_id).where(WorkTask.id == work)).scalar_one()
    other = live.client("other_county")  # signed in again: the book moved the clock on
    with live.services.db.begin() as conn:  # a term on the teacher's service ledger
        credit = service.credit(
            conn, teacher_id=ids["teacher"], kind=service.SUPPORT, source_case_id=cid,
            school_id=ids["school"], started_on=dt.date(2025, 9, 1),
            ended_on=dt.date(2026, 8, 31), assessment="competent", actor=SYSTEM_ACTOR,
            at=live.clock.now(),
        )  # fmt: skip
    from states.processes.compliance import checks
    from states.processes.compliance.tables import ComplianceFinding

    checks.run_all(live.services.engine)
    with live.services.db.connect() as conn:
        county_path = conn.execute(
            select(OrgUnit.path).where(OrgUnit.id == ids["county"])
        ).scalar_one()
        finding = conn.execute(
            select(ComplianceFinding.id)
            .where(ComplianceFinding.unit_path.startswith(county_path))
            .limit(1)
        ).scalar_one()
    scoped = {
        (m, p)
        for p, ops in spec["paths"].items()
        for m in ops
        if "{" in p
        and "public" not in p
        and "processes" not in p
        and "{round_id}" not in p
        # a school year's pledge text is the province's alone: refused by role (403), tested
        # in tests/test_pledge_text.py, not a unit's data another county might reach
        and "/pledge-texts/" not in p
    }
    spelled = {(m, p.replace("{pool_id}", "{unit_id}")) for m, p in calls}
    assert scoped == spelled, "every path with an id is tried here"
    for (method, path), body in calls.items():
        url = path.format(
            case_id=cid,
            attachment_id=att,
            task_id=work if "/task-lists/" in path else task,  # a book's task, or an inbox one
            person_id=ids["teacher"],
            notification_id=1,
            year_id=1,
            unit_id=ids["school"],
            pool_id=ids["county"],
            conflict_id=1,
            delegation_id=1,
            credit_id=credit,
            campaign_id=(inspection if "/supervision/" in path else campaign).json()["id"],
            step="draw" if "/supervision/" in path else "match",
            job="dispatch",
            delivery_id=1,
            book_id=book,
            need_id=need,
            term_id=cid,
            sheet_id=1,
            finding_id=finding,
        )

        if body == "upload":
            r = other.post(url, files={"file": ("a.pdf", PDF, "application/pdf")})
        else:
            query: dict[str, Any] | None = None
            if path.endswith("{pool_id}/members"):
                query = {"subject": "数学"}
            elif "/title-review/results/" in path:  # a committee's list of a year
                query = {"year": 2026}
            elif method == "delete" and "/task-lists/" in path:
                query = {"expected_version": 1}
            r = other.request(method, url, json=body, params=query)
        assert r.status_code == 404, (method, path, r.status_code, r.text)
    listed = other.post(
        "/api/v1/cases/batch",
        json={"event": "school_approve", "items": [{"case_id": cid, "expected_version": 2}]},
    ).json()
    assert listed["results"][0]["error"]["code"] == "not_found"
    assert other.get("/api/v1/cases").json()["total"] == 0
    assert other.get("/api/v1/tasks").json()["total"] == 0


@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/cases", "/api/v1/tasks"])
def test_endpoints_need_a_token(live: Live, path: str) -> None:
    r = live.client().get(path, headers={"Authorization": "Bearer forged.token"})
    assert r.status_code == 401 and r.json()["message"]


def test_notification_preferences(live: Live) -> None:
    c = live.client("school_officer")
    no_mail = c.put("/api/v1/me/preferences", json={"channels": ["email"]})
    assert no_mail.status_code == 422 and no_mail.json()["field"] == "email"
    bad = c.put("/api/v1/me/preferences", json={"channels": ["email"], "quiet_hours": "25:00-7"})
    assert bad.status_code == 422 and bad.json()["field"] == "quiet_hours"
    ok = c.put(
        "/api/v1/me/preferences",
        json={"channels": ["email"], "email": "officer@school.test", "quiet_hours": "22:00-07:00"},
    )
    assert ok.status_code == 200, ok.text
    prefs = c.get("/api/v1/me/preferences").json()
    assert (prefs["channels"], prefs["quiet_hours"], prefs["email"]) == (
        ["email"],
        "22:00-07:00",
        "officer@school.test",
    )


def test_health_probes_for_the_proxy(live: Live) -> None:
    """A reverse proxy or service manager keeps a worker in rotation only while it is ready:
    alive, and able to reach its database."""
    with live.client() as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        assert c.get("/readyz").json() == {"status": "ok"}
        working = live.services.db
        live.services.db = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
        try:
            down = c.get("/readyz")
            alive = c.get("/healthz")
        finally:
            live.services.db = working
        assert down.status_code == 503 and down.json()["status"] == "unavailable"
        assert alive.status_code == 200
        assert c.get("/readyz").status_code == 200


def test_a_teacher_changing_their_mobile_is_on_their_history(live: Live) -> None:
    """The number a teacher gives for their notices is their record's number: the change is
    kept on their history, and the next roster import compares their row in full (it no
    longer passes it over as unchanged since the last import)."""
    from states.registry import history
    from states.store.models import Teacher

    c = live.client("teacher")
    me = c.get("/api/v1/me").json()["person_id"]
    with live.services.db.begin() as conn:
        conn.execute(update(Teacher).where(Teacher.person_id == me).values(import_digest=b"x" * 16))
    ok = c.put("/api/v1/me/preferences", json={"channels": ["sms"], "phone": "13912345678"})
    assert ok.status_code == 200, ok.text
    with live.services.db.connect() as conn:
        [entry] = [e for e in history.entries_of(conn, history.PERSON, me) if e.source == "edit"]
        assert entry.changes["phone"][1] == "13912345678" and entry.actor_id == me
        digest = conn.execute(
            select(Teacher.import_digest).where(Teacher.person_id == me)
        ).scalar_one()
        assert digest is None


def test_head_answers_like_get_without_the_body(live: Live) -> None:
    """A load balancer's probe or `curl -I` asks HEAD: the same status and headers as GET
    (the page's length included), no body."""
    with live.client() as c:
        for path in ("/", "/login", "/public/publicity", "/healthz", "/api/v1/processes"):
            got, head = c.get(path), c.head(path)
            assert head.status_code == got.status_code, path
            assert head.content == b"", path
            assert head.headers.get("content-type") == got.headers.get("content-type"), path
        assert c.get("/login").status_code == 200
        assert int(c.head("/login").headers["content-length"]) == len(c.get("/login").content)
