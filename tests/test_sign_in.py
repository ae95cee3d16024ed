"""Sign-in as the people at either end notice it, over a real server on both databases: the
owner is never locked out by a guesser elsewhere, an unknown name is answered exactly like a
known one, spraying from one address stops, and signing out, a new password, a disabled
account or a withdrawn role end every session and token at once. The command that ends them
runs as a real process beside the server; the commands around it through the same entry
point in this process (tests/cli.py).

Addresses are told to the server the way the deployment's proxy tells it (X-Forwarded-For
from the loopback address, which uvicorn believes by default)."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import select

from states.store.models import OrgUnit, Person, RoleBinding
from tests.cli import renshi_here
from tests.cli import renshi_process as _renshi
from tests.live import PASSWORD, TLS, Live
from tests.test_pages import _check_page as check_page

CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
TOKEN = "/api/v1/auth/token"
HOME, ATTACKER, ELSEWHERE = "10.8.0.21", "203.0.113.9", "198.51.100.7"
NEW_PASSWORD = "换个新密码-2026"


def _from(live: Live, address: str) -> httpx.Client:
    """A client that the server sees at ``address``."""
    return httpx.Client(
        base_url=live.url,
        timeout=30,
        follow_redirects=False,
        headers={"X-Forwarded-For": address},
        verify=TLS,
    )


def _token(c: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    return c.post(TOKEN, json={"username": username, "password": password})


def _bearer(c: httpx.Client, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = _token(c, username, password)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _browser(
    live: Live, username: str, address: str = HOME, password: str = PASSWORD
) -> tuple[httpx.Client, str, str]:
    """A signed-in browser: the client, its session cookie as sent, and its CSRF token."""
    c = _from(live, address)
    r = c.post("/login", data={"username": username, "password": password})
    assert r.status_code == 303, r.text
    found = CSRF.search(c.get("/inbox").text)
    assert found
    return c, c.cookies["renshi_session"], found[1]


def _replayed(live: Live, cookie: str) -> httpx.Response:
    """The inbox asked for with a copy of a session cookie, as whoever kept one would."""
    with _from(live, HOME) as c:
        return c.get("/inbox", headers={"Cookie": f"renshi_session={cookie}"})


def _me(live: Live, headers: dict[str, str]) -> httpx.Response:
    with _from(live, HOME) as c:
        return c.get("/api/v1/me", headers=headers)


def _ended(live: Live, cookie: str, headers: dict[str, str]) -> None:
    page = _replayed(live, cookie)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    api = _me(live, headers)
    assert api.status_code == 401 and api.json()["message"] == "登录已失效，请重新登录"


def _alive(live: Live, cookie: str, headers: dict[str, str]) -> None:
    assert _replayed(live, cookie).status_code == 200
    assert _me(live, headers).status_code == 200


def _answer(r: httpx.Response) -> tuple[int, Any, str | None]:
    return r.status_code, r.json(), r.headers.get("retry-after")


# --- back-off that never locks the owner out ------------------------------------------------
def test_an_attacker_elsewhere_does_not_lock_the_owner_out(live: Live) -> None:
    attacker = _from(live, ATTACKER)
    answers = [_token(attacker, "county_officer", f"guess{n}").status_code for n in range(50)]
    assert answers == [401] * 5 + [429] * 45, "the attacker waits; nobody else does"

    owner = _from(live, HOME)
    assert _token(owner, "county_officer").status_code == 200
    page = owner.post("/login", data={"username": "county_officer", "password": PASSWORD})
    assert page.status_code == 303 and page.headers["location"] == "/inbox"


def test_guessing_from_many_addresses_slows_strangers_but_not_the_owners_network(
    live: Live,
) -> None:
    """Thirty failures an hour on one name from everywhere together is the ceiling; past it,
    only addresses the name has not signed in from lately wait."""
    owner = _from(live, HOME)
    assert _token(owner, "county_officer").status_code == 200  # HOME is known from now on
    statuses = []
    for n in range(10):
        with _from(live, f"203.0.113.{n + 10}") as bot:
            statuses += [_token(bot, "county_officer", f"guess{i}").status_code for i in range(5)]
    assert statuses == [401] * 30 + [429] * 20

    assert _token(owner, "county_officer").status_code == 200
    travelling = _token(_from(live, ELSEWHERE), "county_officer")
    assert travelling.status_code == 429
    assert travelling.json()["message"].startswith("该用户名近期登录失败次数过多")
    assert travelling.headers["retry-after"] == "3600"
    live.clock.advance(hours=1)
    assert _token(_from(live, ELSEWHERE), "county_officer").status_code == 200


def test_an_unknown_username_is_answered_exactly_like_a_known_one(live: Live) -> None:
    c = _from(live, ATTACKER)
    for attempt in range(8):
        known = _answer(_token(c, "county_officer", "wrong-password"))
        unknown = _answer(_token(c, "no_such_officer", "wrong-password"))
        assert known == unknown, attempt
        assert known[0] == (401 if attempt < 5 else 429)
    assert unknown == (
        429,
        {
            "code": "too_many",
            "message": "登录尝试过于频繁，请 15 分钟后再试",
            "limit": "signin-pair",
            "retry_after": 900,
        },
        "900",
    )
    # The sign-in page says the same for both, in the same words and status.
    known_page = c.post("/login", data={"username": "county_officer", "password": "x"})
    unknown_page = c.post("/login", data={"username": "no_such_officer", "password": "x"})
    assert known_page.status_code == unknown_page.status_code == 429
    assert known_page.headers["retry-after"] == unknown_page.headers["retry-after"] == "900"
    assert "登录尝试过于频繁，请 15 分钟后再试" in known_page.text
    assert known_page.text.replace("county_officer", "no_such_officer") == unknown_page.text


def test_spraying_many_usernames_from_one_address_is_stopped(live: Live) -> None:
    sprayer = _from(live, ATTACKER)
    assert _token(sprayer, "teacher").status_code == 200  # someone there signs in first
    names = ["school_officer", "principal", "city_officer"] + [f"user{n}" for n in range(27)]
    assert [_token(sprayer, name, "123456").status_code for name in names] == [401] * 30

    stopped = _token(sprayer, "province_officer", "123456")
    assert stopped.status_code == 429 and stopped.headers["retry-after"] == "900"
    assert stopped.json()["message"] == "本网络登录失败次数过多，请 15 分钟后再试"
    page = sprayer.post("/login", data={"username": "inspector", "password": "123456"})
    assert page.status_code == 429 and "本网络登录失败次数过多" in page.text
    # Whoever has signed in from that network lately goes on; so does everyone elsewhere.
    assert _token(sprayer, "teacher").status_code == 200
    assert _token(_from(live, HOME), "province_officer").status_code == 200


# --- sessions and tokens end at once ---------------------------------------------------------
def test_signing_out_ends_the_old_cookie_and_token_at_once(live: Live) -> None:
    browser, cookie, csrf = _browser(live, "teacher")
    _, other_cookie, _ = _browser(live, "teacher", ELSEWHERE)
    headers = _bearer(_from(live, HOME), "teacher")
    _alive(live, cookie, headers)

    out = browser.post("/logout", data={"csrf": csrf})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    _ended(live, cookie, headers)
    _ended(live, other_cookie, headers)

    # Over the API: the token signs itself out, and the browser's session with it.
    _, cookie, _ = _browser(live, "teacher")
    headers = _bearer(_from(live, HOME), "teacher")
    with _from(live, HOME) as c:
        assert c.post("/api/v1/auth/logout", headers=headers).status_code == 204
    _ended(live, cookie, headers)
    assert _me(live, _bearer(_from(live, HOME), "teacher")).status_code == 200


def test_a_new_password_ends_every_other_session_and_token(live: Live) -> None:
    me, _, csrf = _browser(live, "school_officer")
    _, other_cookie, _ = _browser(live, "school_officer", ELSEWHERE)
    headers = _bearer(_from(live, HOME), "school_officer")

    form = me.get("/account/password")
    assert form.status_code == 200 and form.text.count('type="password"') == 3
    check_page(form.text)  # labels, ids, the CSRF token in the form
    assert 'href="/account/password"' in me.get("/inbox").text, "linked from every page"
    attempts: list[tuple[dict[str, str], str, str]] = [
        (
            {"current_password": PASSWORD, "new_password": "short", "confirm_password": "short"},
            "new_password",
            "新密码至少需要 8 个字符",
        ),
        (
            {
                "current_password": PASSWORD,
                "new_password": NEW_PASSWORD,
                "confirm_password": NEW_PASSWORD + "x",
            },
            "confirm_password",
            "两次输入的新密码不一致",
        ),
        (
            {
                "current_password": "not-it",
                "new_password": NEW_PASSWORD,
                "confirm_password": NEW_PASSWORD,
            },
            "current_password",
            "当前密码不正确",
        ),
    ]
    for data, field, reason in attempts:
        r = me.post("/account/password", data={**data, "csrf": csrf})
        assert r.status_code == 422, r.text
        check_page(r.text)
        assert f'<p class="error" id="{field}-error">{reason}</p>' in r.text
        assert PASSWORD not in r.text, "no password is written back into the page"
    no_csrf = me.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert no_csrf.status_code == 403
    _alive(live, other_cookie, headers)  # nothing above changed anything

    changed = me.post(
        "/account/password",
        data={
            "csrf": csrf,
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert changed.status_code == 303 and changed.headers["location"] == "/inbox"
    assert me.get("/inbox").status_code == 200, "the browser that changed it stays signed in"
    _ended(live, other_cookie, headers)
    assert _token(_from(live, HOME), "school_officer").status_code == 401
    assert _token(_from(live, HOME), "school_officer", NEW_PASSWORD).status_code == 200

    # Over the API: a new token comes back and every earlier credential ends.
    _, cookie, _ = _browser(live, "school_officer", password=NEW_PASSWORD)
    old = _bearer(_from(live, HOME), "school_officer", NEW_PASSWORD)
    with _from(live, HOME) as c:
        weak = c.post(
            "/api/v1/auth/password",
            headers=old,
            json={"current_password": NEW_PASSWORD, "new_password": "school_officer"},
        )
        assert weak.status_code == 422 and weak.json()["field"] == "new_password"
        assert weak.json()["message"] == "新密码不能与用户名相同"
        r = c.post(
            "/api/v1/auth/password",
            headers=old,
            json={"current_password": NEW_PASSWORD, "new_password": PASSWORD},
        )
    assert r.status_code == 200, r.text
    _ended(live, cookie, old)
    assert _me(live, {"Authorization": f"Bearer {r.json()['access_token']}"}).status_code == 200


def test_guessing_the_current_password_through_a_session_is_limited(live: Live) -> None:
    """A stolen session cannot be used to find the password it was opened with."""
    headers = _bearer(_from(live, ATTACKER), "principal")
    with _from(live, ATTACKER) as c:
        answers = [
            c.post(
                "/api/v1/auth/password",
                headers=headers,
                json={"current_password": f"guess{n}", "new_password": NEW_PASSWORD},
            )
            for n in range(6)
        ]
    assert [a.status_code for a in answers] == [422] * 5 + [429]
    assert answers[-1].headers["retry-after"] == "900"


def test_disabling_an_account_ends_its_sessions(live: Live, db_url: str) -> None:
    _, cookie, _ = _browser(live, "school_officer")
    headers = _bearer(_from(live, HOME), "school_officer")

    done = _renshi(db_url, "user", "disable", "school_officer")
    assert done.returncode == 0, done.stderr
    assert "已停用" in done.stdout
    _ended(live, cookie, headers)
    refused = _token(_from(live, HOME), "school_officer")
    assert refused.status_code == 401 and refused.json()["message"] == "账号已停用"

    assert renshi_here(db_url, "user", "enable", "school_officer").returncode == 0
    assert _token(_from(live, HOME), "school_officer").status_code == 200
    missing = renshi_here(db_url, "user", "disable", "nobody")
    assert missing.returncode == 1 and "用户不存在：nobody" in missing.stderr


def test_removing_a_role_ends_sessions(live: Live, db_url: str) -> None:
    with live.services.db.connect() as conn:
        unit = conn.execute(
            select(OrgUnit.code)
            .join(RoleBinding, RoleBinding.org_unit_id == OrgUnit.id)
            .join(Person, Person.id == RoleBinding.person_id)
            .where(Person.username == "principal")
        ).scalar_one()
    _, cookie, _ = _browser(live, "principal")
    headers = _bearer(_from(live, HOME), "principal")
    shown = renshi_here(db_url, "user", "show", "principal")
    assert shown.returncode == 0 and f"principal（校长） 单位 {unit}" in shown.stdout

    done = _renshi(db_url, "user", "revoke", "principal", "principal", unit)
    assert done.returncode == 0, done.stderr
    _ended(live, cookie, headers)
    again = _me(live, _bearer(_from(live, HOME), "principal"))
    assert again.status_code == 200 and again.json()["roles"] == []
    twice = renshi_here(db_url, "user", "revoke", "principal", "principal", unit)
    assert twice.returncode == 1 and "没有“校长”角色" in twice.stderr


def test_an_administrator_resets_a_forgotten_password(live: Live, db_url: str) -> None:
    headers = _bearer(_from(live, HOME), "inspector")
    _, cookie, _ = _browser(live, "inspector")
    reset = _renshi(db_url, "user", "password", "inspector")
    assert reset.returncode == 0, reset.stderr
    found = re.search(r"新密码（[^）]*）：(\S+)", reset.stdout)
    assert found
    _ended(live, cookie, headers)
    assert _token(_from(live, HOME), "inspector").status_code == 401
    assert _token(_from(live, HOME), "inspector", found[1]).status_code == 200

    short = renshi_here(db_url, "user", "password", "inspector", "--stdin", stdin="abc\n")
    assert short.returncode == 1 and "新密码至少需要 8 个字符" in short.stderr
    chosen = renshi_here(
        db_url, "user", "password", "inspector", "--stdin", stdin=NEW_PASSWORD + "\n"
    )
    assert chosen.returncode == 0, chosen.stderr
    assert _token(_from(live, HOME), "inspector", NEW_PASSWORD).status_code == 200
