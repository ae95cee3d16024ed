"""The server-rendered pages over a real server and a real database: HTTP-level checks of
sign-in, CSRF, scope and errors at the field, then one real browser walking a declaration
from the teacher to the school's approval."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

import httpx
from playwright.sync_api import expect
from sqlalchemy import func, select

from api.present import mask_phone
from states.clock import bureau_time
from states.identity import mask_id_number
from states.org import SYSTEM_ACTOR, next_title
from states.store.models import AuditEvent, Case, OutboxMessage, PanelSeat, Person, Task, Teacher
from states.store.people import load_actor
from tests.browser import (
    DESKTOP,
    chromium,
    console_errors,
    offline,
    phone_shot,
    shot,
    sign_in,
    sign_out,
)
from tests.live import PASSWORD, TLS, Live, add_account
from tests.test_api import PDF, _ids, declare

CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
NO_SESSION_FORMS = ("/login", "/public/")


class _PageCheck(HTMLParser):
    """What a validator and a screen reader would complain about first: tags closed in the
    wrong order, duplicate ids, labels pointing nowhere, inputs without a label, and POST
    forms of a signed-in page without the CSRF token."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.ids: set[str] = set()
        self.fors: list[str] = []
        self.controls: list[tuple[str | None, bool]] = []
        self.problems: list[str] = []
        self.labels = 0
        self.form: dict[str, Any] | None = None

    def _attrs(self, tag: str, attrs: list[tuple[str, str | None]]) -> dict[str, str]:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            if a["id"] in self.ids:
                self.problems.append(f"duplicate id {a['id']}")
            self.ids.add(a["id"])
        if tag == "label" and a.get("for"):
            self.fors.append(a["for"])
        if tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            self.controls.append((a.get("id"), self.labels > 0 or "aria-label" in a))
        if tag == "input" and a.get("name") == "csrf" and self.form is not None:
            self.form["csrf"] = bool(a.get("value"))
        return a

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = self._attrs(tag, attrs)
        if tag == "form" and a.get("method") == "post":
            self.form = {"action": a.get("action", ""), "csrf": False}
        if tag == "label":
            self.labels += 1
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._attrs(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else ''}>")
            return
        self.stack.pop()
        if tag == "label":
            self.labels -= 1
        if tag == "form" and self.form is not None:
            action = str(self.form["action"])
            if not self.form["csrf"] and not action.startswith(NO_SESSION_FORMS):
                self.problems.append(f"POST form {action} has no CSRF token")
            self.form = None


def _check_page(html: str) -> None:
    assert html.startswith("<!doctype html>") and '<html lang="zh-CN">' in html
    checker = _PageCheck()
    checker.feed(html)
    checker.close()
    problems = list(checker.problems)
    problems += [f"unclosed <{t}>" for t in checker.stack]
    problems += [f"label for={f} points nowhere" for f in checker.fors if f not in checker.ids]
    problems += [
        f"input {cid} has no label"
        for cid, labelled in checker.controls
        if not labelled and cid not in checker.fors
    ]
    assert not problems, problems


# --- helpers ---------------------------------------------------------------------------------
def _client(live: Live) -> httpx.Client:
    return httpx.Client(base_url=live.url, follow_redirects=False, timeout=30, verify=TLS)


def _csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found, "every signed-in page carries the CSRF token in its forms"
    return found[1]


def _sign_in(live: Live, username: str) -> tuple[httpx.Client, str]:
    c = _client(live)
    r = c.post("/login", data={"username": username, "password": PASSWORD})
    assert r.status_code == 303, r.text
    return c, _csrf(c.get("/inbox").text)


def _main(html: str) -> str:
    """The page's <main>, without the per-session and per-render tokens."""
    found = re.search(r"<main.*?</main>", html, re.S)
    assert found
    return re.sub(r'name="(csrf|once)" value="[^"]*"', "", found[0])


def _declare(c: httpx.Client, csrf: str, subject: str, **form: str) -> httpx.Response:
    data = {
        "csrf": csrf,
        "target_title": "senior",
        "subject": subject,
        "statement": "任教以来认真履职。",
        **form,
    }
    return c.post("/declare/title_review", data=data)


def _declared(c: httpx.Client, csrf: str, subject: str) -> int:
    r = _declare(c, csrf, subject)
    assert r.status_code == 303, r.text
    found = re.fullmatch(r"/cases/(\d+)", r.headers["location"])
    assert found
    return int(found[1])


def _case(live: Live, case_id: int) -> Any:
    with live.services.db.connect() as conn:
        return conn.execute(select(Case.state, Case.version).where(Case.id == case_id)).one()


def _counts(live: Live) -> tuple[int, int]:
    with live.services.db.connect() as conn:
        cases = conn.execute(select(func.count()).select_from(Case)).scalar_one()
        events = conn.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    return cases, events


def _field_error(html: str, field_id: str) -> str:
    found = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">([^<]*)</p>', html)
    assert found, f"no error shown at {field_id}"
    return found[1]


# --- (a) HTTP level --------------------------------------------------------------------------
def test_signed_out_goes_to_login(live: Live) -> None:
    c = _client(live)
    for path in [
        "/inbox",
        "/inbox?box=done",
        "/cases",
        "/cases/1",
        "/declare/title_review",
        "/cases/1/attachments/1",
    ]:
        r = c.get(path)
        assert r.status_code == 303, path
        assert r.headers["location"] == "/login?next=" + quote(path, safe=""), path
    assert c.get("/").headers["location"] == "/inbox"
    posted = c.post("/cases/1/fire", data={"event": "school_approve"})
    assert posted.status_code == 303 and posted.headers["location"].startswith("/login?next=")
    login = c.get("/login")
    assert login.status_code == 200
    _check_page(login.text)
    assert 'for="username"' in login.text and 'for="password"' in login.text
    assert c.get("/public/publicity").status_code == 200

    # The next page is honoured only when it is a path on this site.
    back = c.post("/login", data={"username": "teacher", "password": PASSWORD, "next": "/cases"})
    assert back.headers["location"] == "/cases"
    evil = _client(live).post(
        "/login",
        data={"username": "teacher", "password": PASSWORD, "next": "//evil.example/x"},
    )
    assert evil.headers["location"] == "/inbox"


def test_an_unknown_address_is_a_page_not_json(live: Live) -> None:
    """A mistyped or stale link in the browser lands on the site's own page in Chinese; the
    API keeps answering its clients in JSON."""
    c = _client(live)
    page = c.get("/recruitmen", headers={"accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"] and "页面不存在" in page.text
    _check_page(page.text)
    api = c.get("/api/v1/nope", headers={"accept": "text/html"})
    assert api.status_code == 404 and api.json()["message"] == "资源不存在"
    assert c.get("/recruitmen", headers={"accept": "application/json"}).json()["code"] == "error"


def test_login_failure_slow_down_and_logout(live: Live) -> None:
    c = _client(live)
    bad = c.post("/login", data={"username": "teacher", "password": "wrong"})
    assert bad.status_code == 401 and "用户名或密码错误" in bad.text
    assert "set-cookie" not in bad.headers
    assert 'value="teacher"' in bad.text, "the username is kept, the password is not"
    unknown = c.post("/login", data={"username": "nobody", "password": "wrong"})
    assert unknown.status_code == 401 and "用户名或密码错误" in unknown.text
    for _ in range(4):
        c.post("/login", data={"username": "teacher", "password": "wrong"})
    slowed = c.post("/login", data={"username": "teacher", "password": PASSWORD})
    assert slowed.status_code == 429 and slowed.headers["retry-after"] == "900"
    assert "登录尝试过于频繁，请 15 分钟后再试" in slowed.text
    cross = c.post(
        "/login",
        data={"username": "teacher", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status_code == 403

    live.clock.advance(minutes=16)
    ok = c.post("/login", data={"username": "teacher", "password": PASSWORD})
    assert ok.status_code == 303 and ok.headers["location"] == "/inbox"
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    inbox = c.get("/inbox")
    assert inbox.status_code == 200 and "职称评审申报" in inbox.text
    assert inbox.headers["cache-control"] == "no-store"

    assert c.post("/logout").status_code == 403, "logging out needs the CSRF token too"
    out = c.post("/logout", data={"csrf": _csrf(inbox.text)})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert c.get("/inbox").status_code == 303


def test_post_without_csrf_is_refused_and_writes_nothing(live: Live) -> None:
    ids = _ids(live)
    teacher, teacher_csrf = _sign_in(live, "teacher")
    before = _counts(live)
    for token in (None, "", "0" * 64):
        data = {"target_title": "senior", "subject": ids["subject"], "statement": "述职"}
        if token is not None:
            data["csrf"] = token
        r = teacher.post("/declare/title_review", data=data)
        assert r.status_code == 403 and "安全校验未通过" in r.text
    assert _counts(live) == before

    cid = _declared(teacher, teacher_csrf, ids["subject"])
    officer, officer_csrf = _sign_in(live, "school_officer")
    state = _case(live, cid)
    before = _counts(live)
    attempts: list[tuple[str, dict[str, str]]] = [
        (
            f"/cases/{cid}/fire",
            {"event": "school_approve", "expected_version": str(state.version)},
        ),
        (f"/cases/{cid}/comment", {"comment": "同意"}),
        (
            f"/cases/{cid}/countersign",
            {"opinion": "agree", "expected_version": str(state.version)},
        ),
        ("/inbox/batch", {"event": "school_approve", "item": f"{cid}:{state.version}"}),
    ]
    for path, data in attempts:
        assert officer.post(path, data=data).status_code == 403, path
        # Another person's token is no better than none: it is bound to their session.
        stolen = officer.post(path, data={**data, "csrf": teacher_csrf})
        assert stolen.status_code == 403, path
    upload = officer.post(
        f"/cases/{cid}/attachments", files={"file": ("a.pdf", PDF, "application/pdf")}
    )
    assert upload.status_code == 403
    assert _counts(live) == before and _case(live, cid) == state

    good = officer.post(
        f"/cases/{cid}/fire",
        data={
            "csrf": officer_csrf,
            "event": "school_approve",
            "expected_version": str(state.version),
        },
    )
    assert good.status_code == 303 and _case(live, cid).state == "school_publicity"


def test_case_out_of_scope_is_the_same_404_as_absent(live: Live) -> None:
    ids = _ids(live)
    teacher, csrf = _sign_in(live, "teacher")
    cid = _declared(teacher, csrf, ids["subject"])
    up = teacher.post(
        f"/cases/{cid}/attachments",
        data={"csrf": csrf},
        files={"file": ("论文.pdf", PDF, "application/pdf")},
    )
    assert up.status_code == 303
    add_account(live, "other_county", "county_officer", ids["other_county"])
    other, other_csrf = _sign_in(live, "other_county")

    hidden = other.get(f"/cases/{cid}")
    absent = other.get("/cases/999999")
    assert hidden.status_code == absent.status_code == 404
    assert "事项不存在" in hidden.text
    _check_page(hidden.text)
    assert _main(hidden.text) == _main(absent.text), "nothing hints that the case exists"
    assert other.get("/cases/abc").status_code == 404

    state = _case(live, cid)
    fired = other.post(
        f"/cases/{cid}/fire",
        data={"csrf": other_csrf, "event": "school_approve", "expected_version": "2"},
    )
    commented = other.post(f"/cases/{cid}/comment", data={"csrf": other_csrf, "comment": "x"})
    assert fired.status_code == commented.status_code == 404
    assert _case(live, cid) == state

    own = teacher.get(f"/cases/{cid}")
    link = re.search(rf'href="(/cases/{cid}/attachments/\d+)"', own.text)
    assert link, "the attachment is listed with its download link"
    got = teacher.get(link[1])
    assert got.status_code == 200 and got.content == PDF
    assert "attachment" in got.headers["content-disposition"]
    assert other.get(link[1]).status_code == 404
    wrong_case = teacher.get(link[1].replace(f"/cases/{cid}/", f"/cases/{cid + 1}/"))
    assert wrong_case.status_code == 404

    county, _ = _sign_in(live, "county_officer")
    seen = county.get(f"/cases/{cid}")
    assert seen.status_code == 200 and "学校审核" in seen.text
    assert 'id="event-' not in seen.text, "the county has nothing to do at the school's step"


def test_declare_form_shows_errors_at_the_field(live: Live) -> None:
    ids = _ids(live)
    teacher, csrf = _sign_in(live, "teacher")
    page = teacher.get("/declare/title_review")
    assert page.status_code == 200
    _check_page(page.text)
    for name in ("target_title", "subject", "statement", "achievements"):
        assert f'for="declare-{name}"' in page.text, f"{name} has a label"
    assert f'<option value="{ids["subject"]}" selected>' in page.text, "starts from the record"
    assert '<option value="senior">高级教师</option>' in page.text or (
        '<option value="senior" selected>高级教师</option>' in page.text
    )
    before = _counts(live)

    blank = _declare(teacher, csrf, ids["subject"], statement="  ", achievements="论文三篇")
    assert blank.status_code == 422
    _check_page(blank.text)
    assert _field_error(blank.text, "declare-statement") == "个人述职为必填项"
    assert 'aria-invalid="true" aria-describedby="declare-statement-error"' in blank.text
    assert "论文三篇</textarea>" in blank.text, "what the person typed is kept"
    assert '<option value="senior" selected>' in blank.text

    bad = _declare(teacher, csrf, ids["subject"], target_title="boss")
    assert bad.status_code == 422
    assert "申报职称应为以下之一" in _field_error(bad.text, "declare-target_title")
    assert _counts(live) == before

    # A refusing rule is about the whole declaration: it is shown at the top.
    refused = _declare(teacher, csrf, ids["subject"], target_title="full_senior")
    assert refused.status_code == 422
    assert re.search(
        r'<div class="notice error" role="alert" id="problem">\s*应逐级申报', refused.text
    )
    assert 'class="error" id="declare-' not in refused.text
    # ... and the refused draft does not block a corrected declaration.
    cid = _declared(teacher, csrf, ids["subject"])
    shown = teacher.get(f"/cases/{cid}")
    assert "申报已提交" in shown.text and '<span class="state big" id="case-state">学校审核' in (
        shown.text
    )
    assert "高级教师" in shown.text, "choice codes are shown by their labels"
    assert teacher.get("/declare/nope").status_code == 404


def test_fire_errors_at_the_field_then_success(live: Live) -> None:
    ids = _ids(live)
    teacher, csrf = _sign_in(live, "teacher")
    cid = _declared(teacher, csrf, ids["subject"])
    officer, ocsrf = _sign_in(live, "school_officer")
    page = officer.get(f"/cases/{cid}")
    events = re.findall(r'id="event-(\w+)"', page.text)
    assert events == ["school_approve", "send_back", "reject"]
    assert "2026-09-08" in page.text and "<svg" in page.text
    _check_page(page.text)
    version = _case(live, cid).version

    no_reason = officer.post(
        f"/cases/{cid}/fire",
        data={
            "csrf": ocsrf,
            "event": "send_back",
            "expected_version": str(version),
            "comment": "请补充",
        },
    )
    assert no_reason.status_code == 422
    _check_page(no_reason.text)
    assert _field_error(no_reason.text, "send_back-reason") == "理由为必填项"
    # 退回补正's own 理由 is its one opinion box: no generic 意见 box beside it
    assert 'id="send_back-reason"' in no_reason.text
    assert 'id="send_back-comment"' not in no_reason.text
    # what the officer typed is kept beside the error
    too_long = officer.post(
        f"/cases/{cid}/fire",
        data={
            "csrf": ocsrf,
            "event": "send_back",
            "expected_version": str(version),
            "reason": "请补充" + "材" * 1000,
        },
    )
    assert too_long.status_code == 422
    assert _field_error(too_long.text, "send_back-reason")
    assert "请补充材材" in too_long.text

    stale = officer.post(
        f"/cases/{cid}/fire",
        data={"csrf": ocsrf, "event": "school_approve", "expected_version": str(version - 1)},
    )
    assert stale.status_code == 409 and "版本" in stale.text
    assert _case(live, cid).version == version

    ok = officer.post(
        f"/cases/{cid}/fire",
        data={
            "csrf": ocsrf,
            "event": "school_approve",
            "expected_version": str(version),
            "comment": "材料齐全，同意公示",
            "once": "abcdefgh12345678",
        },
    )
    assert ok.status_code == 303 and ok.headers["location"] == f"/cases/{cid}"
    again = officer.post(
        f"/cases/{cid}/fire",
        data={
            "csrf": ocsrf,
            "event": "school_approve",
            "expected_version": str(version),
            "comment": "材料齐全，同意公示",
            "once": "abcdefgh12345678",
        },
    )
    assert again.status_code == 303, "a resubmitted form replays, it does not fail"
    after = officer.get(f"/cases/{cid}")
    assert "已办理「学校审核通过」，事项当前状态：校内公示" in after.text
    assert "材料齐全，同意公示" in after.text and "学校审核 → 校内公示" in after.text
    assert 'id="event-' not in after.text
    assert "已办理" not in officer.get(f"/cases/{cid}").text, "the message shows once"


def test_inbox_tabs_and_batch(live: Live) -> None:
    ids = _ids(live)
    with live.services.db.connect() as conn:
        colleagues = conn.execute(
            select(Person.id, Teacher.subject, Teacher.title)
            .join(Teacher, Teacher.person_id == Person.id)
            .where(Teacher.school_id == ids["school"], Person.username.is_(None))
            .order_by(Person.id)
        ).all()
    teacher, csrf = _sign_in(live, "teacher")
    cases = [_declared(teacher, csrf, ids["subject"])]
    for i, (pid, subject, title) in enumerate(colleagues[:8]):
        add_account(live, f"t{i}", "teacher_login", ids["school"], person_id=pid)
        form = {"target_title": next_title(title), "subject": subject, "statement": "述职"}
        r = live.client(f"t{i}").post(
            "/api/v1/cases", json={"process": "title_review", "submit": True, "form": form}
        )
        if r.status_code == 201 and r.json()["to_state"] == "school_review":
            cases.append(r.json()["case_id"])
    assert len(cases) >= 2, "the seeded school has colleagues who may declare"

    officer, ocsrf = _sign_in(live, "school_officer")
    todo = officer.get("/inbox")
    _check_page(todo.text)
    assert f'待办 <span class="count">{len(cases)}</span>' in todo.text
    assert "已逾期" not in todo.text
    rows = re.findall(r'name="item" value="(\d+):(\d+)"', todo.text)
    assert {int(c) for c, _ in rows} == set(cases)
    assert '<option value="school_approve">学校审核通过</option>' in todo.text
    assert "send_back" not in todo.text, "events that need a reason are not offered in bulk"

    live.clock.advance(days=10)
    officer, ocsrf = _sign_in(live, "school_officer")  # the session outlived its 8 hours
    late = officer.get("/inbox")
    assert late.text.count('class="overdue"') == len(cases) and "已逾期" in late.text

    items = [f"{c}:{v}" for c, v in rows if int(c) != cases[0]] + [f"{cases[0]}:1"]  # stale
    nothing = officer.post("/inbox/batch", data={"csrf": ocsrf, "event": "school_approve"})
    assert nothing.status_code == 422 and "请先勾选" in nothing.text
    done = officer.post(
        "/inbox/batch",
        data={"csrf": ocsrf, "event": "school_approve", "item": items, "comment": "同意"},
    )
    assert done.status_code == 200
    _check_page(done.text)
    assert f"成功 {len(cases) - 1} 件，失败 1 件" in done.text
    assert f"事项 {cases[0]}</a>：事项已被他人更新" in done.text
    assert '待办 <span class="count">1</span>' in done.text
    finished = officer.get("/inbox?box=done").text
    _check_page(finished)
    listed = officer.get("/cases", params={"state": "school_publicity", "year": "2026"})
    _check_page(listed.text)
    assert set(map(int, re.findall(r'<a href="/cases/(\d+)">\d+</a>', listed.text))) == set(
        cases[1:]
    )
    assert {int(c) for c in re.findall(r'data-case="(\d+)"', finished)} == set(cases[1:])


def test_signers_countersign_and_comments(live: Live) -> None:
    ids = _ids(live)
    teacher, csrf = _sign_in(live, "teacher")
    cid = _declared(teacher, csrf, ids["subject"])
    second = add_account(live, "officer2", "school_officer", ids["school"])
    officer, ocsrf = _sign_in(live, "school_officer")
    page = officer.get(f"/cases/{cid}")
    assert f'<option value="{second}">' in page.text, "colleagues are offered as signers"
    version = _case(live, cid).version
    missing = officer.post(
        f"/cases/{cid}/signers",
        data={"csrf": ocsrf, "position": "after", "expected_version": str(version)},
    )
    assert missing.status_code == 422
    assert _field_error(missing.text, "signers-person_id") == "请选择加签人"
    added = officer.post(
        f"/cases/{cid}/signers",
        data={
            "csrf": ocsrf,
            "person_id": str(second),
            "position": "after",
            "expected_version": str(version),
        },
    )
    assert added.status_code == 303
    held = officer.post(
        f"/cases/{cid}/fire",
        data={
            "csrf": ocsrf,
            "event": "school_approve",
            "expected_version": str(_case(live, cid).version),
        },
    )
    assert held.status_code == 303
    assert "待加签人签署意见后生效" in officer.get(f"/cases/{cid}").text

    co, co_csrf = _sign_in(live, "officer2")
    signing = co.get(f"/cases/{cid}")
    assert 'id="countersign"' in signing.text and "后加签" in signing.text
    _check_page(signing.text)
    signed = co.post(
        f"/cases/{cid}/countersign",
        data={
            "csrf": co_csrf,
            "opinion": "agree",
            "comment": "同意",
            "expected_version": str(_case(live, cid).version),
        },
    )
    assert signed.status_code == 303 and _case(live, cid).state == "school_publicity"

    empty = teacher.post(f"/cases/{cid}/comment", data={"csrf": csrf, "comment": " "})
    assert empty.status_code == 422 and _field_error(empty.text, "remark-comment")
    said = teacher.post(f"/cases/{cid}/comment", data={"csrf": csrf, "comment": "谢谢审核"})
    assert said.status_code == 303 and "谢谢审核" in teacher.get(f"/cases/{cid}").text
    fake = teacher.post(
        f"/cases/{cid}/attachments",
        data={"csrf": csrf},
        files={"file": ("病毒.pdf", b"MZ\x90\x00", "application/pdf")},
    )
    assert fake.status_code == 422
    assert "不符" in _field_error(fake.text, "upload-file")


def test_public_page_masks_numbers(live: Live) -> None:
    ids = _ids(live)
    cid = declare(live, live.client("teacher"), ids["subject"])["case_id"]
    officer = live.client("school_officer")
    v = officer.get(f"/api/v1/cases/{cid}").json()["version"]
    officer.post(
        f"/api/v1/cases/{cid}/events", json={"event": "school_approve", "expected_version": v}
    )
    with live.services.db.connect() as conn:
        person = conn.execute(
            select(Person.id_number, Person.phone).where(Person.id == ids["teacher"])
        ).one()
    page = _client(live).get("/public/publicity")
    assert page.status_code == 200
    _check_page(page.text)
    assert person.id_number and person.id_number not in page.text
    assert mask_id_number(person.id_number) in page.text
    if person.phone:
        assert person.phone not in page.text and str(mask_phone(person.phone)) in page.text
    assert "校内公示" in page.text and "2026-09-08" in page.text and "公示截止" in page.text
    assert "提交异议" not in page.text, "objections are taken during the result publicity only"
    refused = _client(live).post(
        f"/public/publicity/{cid}/objection",
        data={"content": "x", "contact_name": "张三", "contact_phone": "13800138000"},
    )
    assert refused.status_code == 404 and "不在异议受理期内" in refused.text


def _to_result_publicity(live: Live, cid: int) -> None:
    """Walk a case through the school, the county and the committee, straight on the engine."""
    eng, db = live.services.engine, live.services.db

    def version() -> int:
        return int(_case(live, cid).version)

    def window_due() -> dt.date:
        with db.connect() as conn:
            due = conn.execute(
                select(Task.due_on).where(
                    Task.case_id == cid, Task.status == "open", Task.kind == "window"
                )
            ).scalar_one()
        assert due is not None
        return due

    with db.connect() as conn:
        school, county, city = (
            load_actor(conn, username=u)
            for u in ("school_officer", "county_officer", "city_officer")
        )
    eng.fire(cid, "school_approve", school, expected_version=version())
    day = window_due() + dt.timedelta(days=1)
    live.clock.set(bureau_time(day.year, day.month, day.day))
    eng.fire(cid, "close_publicity", SYSTEM_ACTOR, expected_version=version())
    eng.fire(cid, "recommend", school, expected_version=version())
    eng.fire(cid, "qualify", county, expected_version=version())
    with db.connect() as conn:
        experts = conn.execute(select(PanelSeat.expert_id).where(PanelSeat.case_id == cid)).all()
        voters = [load_actor(conn, person_id=e.expert_id) for e in experts]
    for voter in voters:
        eng.fire(cid, "vote", voter, {"choice": "yes"}, expected_version=version())
    eng.fire(cid, "close_sitting", city, expected_version=version())
    assert _case(live, cid).state == "result_publicity"


def test_objection_form(live: Live) -> None:
    ids = _ids(live)
    cid = declare(live, live.client("teacher"), ids["subject"])["case_id"]
    _to_result_publicity(live, cid)
    anon = _client(live)
    page = anon.get("/public/publicity")
    _check_page(page.text)
    assert "结果公示" in page.text and f'action="/public/publicity/{cid}/objection"' in page.text
    for name in ("content", "contact_name", "contact_phone"):
        assert f'for="obj{cid}-{name}"' in page.text
    url = f"/public/publicity/{cid}/objection"
    good = {"content": "业绩材料与事实不符", "contact_name": "张三", "contact_phone": "13800138000"}

    cross = anon.post(url, data=good, headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403 and _case(live, cid).state == "result_publicity"
    blank = anon.post(url, data={**good, "content": ""})
    assert blank.status_code == 422
    assert _field_error(blank.text, f"obj{cid}-content") == "异议内容为必填项"
    assert "13800138000" in blank.text and "<details open>" in blank.text
    phone = anon.post(url, data={**good, "contact_phone": "12345"})
    assert phone.status_code == 422
    _check_page(phone.text)
    assert "格式不正确" in _field_error(phone.text, f"obj{cid}-contact_phone")

    # The mobile is proved by an SMS code before the objection is taken.
    assert anon.post(f"{url}/code", data=good).status_code == 200
    with live.services.db.connect() as conn:
        sms = conn.execute(
            select(OutboxMessage.payload)
            .where(OutboxMessage.kind == "verification_code")
            .order_by(OutboxMessage.id.desc())
        ).scalars()
        code = next(str(p["code"]) for p in sms if p["phone"] == good["contact_phone"])
    ok = anon.post(
        url,
        data={**good, "code": code},
        headers={"Origin": live.url, "Referer": f"{live.url}/public/publicity"},
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/public/publicity"
    assert "异议已受理" in anon.get("/public/publicity").text
    assert _case(live, cid).state == "objection_review"
    county, _ = _sign_in(live, "county_officer")
    handling = county.get(f"/cases/{cid}").text
    _check_page(handling)
    assert "业绩材料与事实不符" in handling and 'id="event-dismiss_objection"' in handling
    teacher, _ = _sign_in(live, "teacher")
    assert "13800138000" not in teacher.get(f"/cases/{cid}").text, "the objector stays private"


# --- (b) a real browser ----------------------------------------------------------------------
def test_browser_declare_and_school_approval(live: Live) -> None:
    ids = _ids(live)
    with chromium() as browser:
        context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
        page = context.new_page()
        escaped = offline(page, live.url)
        errors = console_errors(page)

        sign_in(page, live.url, "teacher")
        page.get_by_role("link", name="职称评审申报").first.click()
        expect(page.get_by_role("heading", name="职称评审申报")).to_be_visible()
        page.get_by_label("申报职称").select_option(label="高级教师")
        page.get_by_label("申报学科").select_option(value=ids["subject"])
        page.get_by_label("个人述职").fill("任教十二年，担任班主任八年，指导青年教师三名。")
        shot(page, "01-declare-form")
        page.get_by_role("button", name="提交申报").click()
        expect(page.locator("#case-state")).to_have_text("学校审核")
        expect(page.get_by_role("status")).to_contain_text("申报已提交")
        case_url = page.url
        cid = int(case_url.rsplit("/", 1)[1])
        shot(page, "02-case-teacher")
        sign_out(page)

        sign_in(page, live.url, "school_officer")
        row = page.locator(f'tr[data-case="{cid}"]')
        expect(row).to_be_visible()
        expect(row).to_contain_text("2026-09-08")
        expect(row).to_contain_text("学校审核")
        todo_tab = page.get_by_role("link", name=re.compile(r"^待办"))
        before = int(todo_tab.locator(".count").inner_text())
        shot(page, "03-inbox-officer")
        phone_shot(browser, page.url, page, "04-inbox-officer-phone")

        row.get_by_role("link").first.click()
        expect(page.locator("#case-state")).to_have_text("学校审核")
        phone_shot(browser, page.url, page, "05-case-officer-phone")
        approve = page.locator("#event-school_approve")
        approve.get_by_label("意见").fill("材料齐全，同意公示。")
        approve.get_by_role("button", name="学校审核通过").click()
        expect(page.locator("#case-state")).to_have_text("校内公示")
        expect(page.get_by_role("status")).to_contain_text("已办理「学校审核通过」")
        expect(page.locator(".timeline")).to_contain_text("材料齐全，同意公示。")
        shot(page, "06-case-approved")
        phone_shot(browser, page.url, page, "07-case-approved-phone")

        page.get_by_role("link", name="待办", exact=True).click()
        expect(page.locator(f'tr[data-case="{cid}"]')).to_have_count(0)
        expect(todo_tab.locator(".count")).to_have_text(str(before - 1))
        page.get_by_role("link", name=re.compile(r"^已办")).click()
        expect(page.locator(f'tr[data-case="{cid}"]')).to_be_visible()
        shot(page, "08-inbox-done")

        page.get_by_role("link", name="公示").click()
        entry = page.locator(f"#entry-{cid}")
        expect(entry).to_contain_text("校内公示")
        expect(entry).to_contain_text("2026-09-08")
        expect(entry).to_contain_text("****")
        shot(page, "09-publicity")
        context.close()
    assert escaped == [], f"pages loaded from the network: {escaped}"
    assert errors == [], f"the pages reported errors: {errors}"


def test_urge_and_in_app_notices_on_the_pages(live: Live) -> None:
    """A county officer urges the school; the school officer sees the notice in the inbox
    and marks it read."""
    from notifications.dispatch import dispatch

    teacher, csrf = _sign_in(live, "teacher")
    cid = _declared(teacher, csrf, _ids(live)["subject"])
    county, ccsrf = _sign_in(live, "county_officer")
    page = county.get(f"/cases/{cid}").text
    assert 'id="urge"' in page, "an officer over the case may urge it"
    urged = county.post(f"/cases/{cid}/urge", data={"csrf": ccsrf, "note": "请今天办结"})
    assert urged.status_code == 303
    again = county.post(f"/cases/{cid}/urge", data={"csrf": ccsrf, "note": ""})
    assert again.status_code == 422 and "今天已催办" in again.text
    assert 'id="urge"' not in teacher.get(f"/cases/{cid}").text

    dispatch(live.services.db, live.clock, {}, catalogue=live.services.engine.processes)
    officer, ocsrf = _sign_in(live, "school_officer")
    inbox = officer.get("/inbox").text
    _check_page(inbox)
    assert "未读通知" in inbox and "催办" in inbox
    note_id = int(re.findall(r'action="/notifications/(\d+)/read"', inbox)[0])
    read = officer.post(f"/notifications/{note_id}/read", data={"csrf": ocsrf})
    assert read.status_code == 303
    assert f'action="/notifications/{note_id}/read"' not in officer.get("/inbox").text
