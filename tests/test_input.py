"""What a client may send, over a real server on both databases: invisible or broken
characters are refused with 422 naming the field (never a 5xx, never stored), and a body
past the cap is refused with 413 before it is parsed — while uploads keep their own limits."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx

from api.hygiene import CONTROL, ENCODING, MAX_BODY
from tests.live import PASSWORD, Live
from tests.test_api import PDF, _ids, declare

SURROGATE = '"\\ud800"'  # the JSON text of a lone surrogate; no encoder will write one
BIG = 2 * 1024 * 1024


def _post_raw(client: httpx.Client, url: str, template: str, value: str) -> httpx.Response:
    """POST a JSON body written by hand, so that ``value`` (JSON text) goes out as it is."""
    body = template.replace("@", value).encode("utf-8")
    return client.post(url, content=body, headers={"Content-Type": "application/json"})


def _refused(r: httpx.Response, field: str, reason: str) -> None:
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "invalid" and body["field"] == field, body
    assert body["errors"][0] == {"field": field, "reason": reason}, body


def _comments(live: Live, cid: int) -> list[Any]:
    found: list[Any] = live.client("teacher").get(f"/api/v1/cases/{cid}/comments").json()
    return found


def test_sign_in_objection_and_comment_refuse_invisible_characters(live: Live) -> None:
    anon = live.client()
    token = "/api/v1/auth/token"
    sign_in = '{"username": @, "password": "x"}'
    _refused(_post_raw(anon, token, sign_in, SURROGATE), "username", ENCODING)
    _refused(_post_raw(anon, token, sign_in, '"a\\u0000b"'), "username", CONTROL)
    for c1 in ('"\\u0085"', '"\\u007f"', '"\\u001b"'):
        _refused(_post_raw(anon, token, sign_in, c1), "username", CONTROL)
    # tab, newline and carriage return are text
    assert _post_raw(anon, token, sign_in, '"a\\tb"').status_code == 401

    objection = "/api/v1/public/publicity/1/objections"
    shape = '{"content": @, "contact_name": "张三", "contact_phone": "13800000000"}'
    _refused(_post_raw(anon, objection, shape, SURROGATE), "content", ENCODING)
    _refused(_post_raw(anon, objection, shape, '"异议\\u0000"'), "content", CONTROL)

    ids = _ids(live)
    teacher = live.client("teacher")
    cid = declare(live, teacher, ids["subject"])["case_id"]
    before = _comments(live, cid)
    url = f"/api/v1/cases/{cid}/comments"
    _refused(_post_raw(teacher, url, '{"text": @}', SURROGATE), "text", ENCODING)
    _refused(_post_raw(teacher, url, '{"text": @}', '"同意\\u0000"'), "text", CONTROL)
    # raw bytes that are not UTF-8 (here an encoded surrogate) are refused the same way
    raw = teacher.post(
        url, content=b'{"text": "\xed\xa0\x80"}', headers={"Content-Type": "application/json"}
    )
    _refused(raw, "body", ENCODING)
    assert _comments(live, cid) == before


def test_nested_keys_and_query_parameters(live: Live) -> None:
    ids = _ids(live)
    teacher = live.client("teacher")
    form = '{"target_title": "senior", "subject": "@", "statement": "x", "a\\u0001b": "x"}'
    start = '{"process": "title_review", "submit": false, "form": %}'.replace("%", form)
    start = start.replace("@", ids["subject"])
    r = teacher.post("/api/v1/cases", content=start, headers={"Content-Type": "application/json"})
    _refused(r, "form.a\\x01b", f"字段名{CONTROL}")
    deep = '{"event": "x", "expected_version": 1, "payload": {"list": [{"k": @}]}}'
    _refused(
        _post_raw(teacher, "/api/v1/cases/1/fire", deep, '"\\u009b"'), "payload.list.0.k", CONTROL
    )

    _refused(teacher.get("/api/v1/cases?applicant=%00"), "applicant", CONTROL)
    _refused(teacher.get("/api/v1/cases?unknown=a%00"), "unknown", CONTROL)
    _refused(live.client().get("/api/v1/public/publicity?x=%ED%A0%80"), "x", ENCODING)
    assert teacher.get("/api/v1/cases?applicant=%E5%BC%A0").status_code == 200


def _sign_in_page(live: Live, username: str) -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=live.url, timeout=30)
    r = c.post("/login", data={"username": username, "password": PASSWORD})
    assert r.status_code == 303, r.text
    html = c.get("/inbox").text
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert found
    return c, found[1]


def test_page_forms_refuse_invisible_characters(live: Live) -> None:
    anon = httpx.Client(base_url=live.url, timeout=30)
    r = anon.post("/login", data={"username": "teacher\x00", "password": PASSWORD})
    assert r.status_code == 422 and "text/html" in r.headers["content-type"]
    assert CONTROL in r.text and "用户名" in r.text
    assert "renshi_session" not in r.cookies and not r.headers.get("set-cookie", "").startswith(
        "renshi_session"
    )

    ids = _ids(live)
    cid = declare(live, live.client("teacher"), ids["subject"])["case_id"]
    before = _comments(live, cid)
    page, csrf = _sign_in_page(live, "teacher")
    for bad in ("同意\x00", "同意\x85", "同意\ud800"):
        r = page.post(
            f"/cases/{cid}/comment",
            content=f"csrf={csrf}&comment={_quote(bad)}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert r.status_code == 422, (bad, r.status_code, r.text[:300])
        assert "意见" in r.text and (CONTROL in r.text or ENCODING in r.text)
    # a multipart form is checked where the pages parse it
    multipart = page.post(
        f"/cases/{cid}/comment",
        data={"csrf": csrf, "comment": "同意\x00"},
        files={"file": ("a.txt", b"", "text/plain")},
    )
    assert multipart.status_code == 422 and CONTROL in multipart.text
    assert _comments(live, cid) == before


def _quote(value: str) -> str:
    """Percent-encode as a browser would, a lone surrogate as the UTF-8 it cannot have."""
    from urllib.parse import quote

    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def _chunks(total: int) -> Iterator[bytes]:
    yield b'{"username": "'
    sent = 0
    while sent < total:
        yield b"a" * 65536
        sent += 65536
    yield b'", "password": "x"}'


def test_body_cap(live: Live) -> None:
    anon = live.client()
    body = b'{"username": "' + b"a" * BIG + b'", "password": "x"}'
    declared = anon.post(
        "/api/v1/auth/token", content=body, headers={"Content-Type": "application/json"}
    )
    assert declared.status_code == 413 and "过大" in declared.json()["message"]
    streamed = anon.post(
        "/api/v1/auth/token", content=_chunks(BIG), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413 and "过大" in streamed.json()["message"]
    # a form posted to a page has the same cap
    form = anon.post(
        "/login",
        content=b"username=" + b"a" * BIG,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 413
    # under the cap the route answers as before
    small = anon.post(
        "/api/v1/auth/token",
        content=b'{"username": "a", "password": "b"}' + b" " * (MAX_BODY // 2),
        headers={"Content-Type": "application/json"},
    )
    assert small.status_code == 401

    ids = _ids(live)
    teacher = live.client("teacher")
    cid = declare(live, teacher, ids["subject"])["case_id"]
    pdf = PDF + b"%" + b"0" * BIG + b"\n"
    up = teacher.post(
        f"/api/v1/cases/{cid}/attachments", files={"file": ("大文件.pdf", pdf, "application/pdf")}
    )
    assert up.status_code == 201, up.text
    assert up.json()["size"] == len(pdf)
