"""Sign-in, its limits, tokens, sessions and CSRF: the database parts on SQLite and PostgreSQL.

What a person at the other end notices (the owner not locked out, unknown names answered
alike, sessions ended by sign-out) is tested over HTTP in tests/test_sign_in.py."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, insert, select

from api.auth import (
    SECRET_ENV,
    AuthConfig,
    Credential,
    check_csrf,
    cookie_kwargs,
    csrf_for,
    hash_password,
    issue_session,
    issue_token,
    load_secret,
    read_session,
    read_token,
    token_expires_in,
    verify_password,
)
from api.signin import (
    BAD_CREDENTIALS,
    INACTIVE,
    PER_ADDRESS,
    PER_PAIR,
    PER_USERNAME,
    AuthError,
    sign_in,
)
from states.clock import FrozenClock, bureau_time
from states.errors import TooMany
from states.store.models import Person, table_of
from states.throttle import Throttle

PEOPLE = table_of(Person)
PASSWORD = "正确的密码-correct horse"
NOW = bureau_time(2026, 3, 2, 9, 0)
CFG = AuthConfig(secret=bytes(range(32)))
HOME = "10.1.1.1"
ME = Credential(42, 0)


@cache
def _password_hash() -> str:
    """One real argon2id hash for the whole module: hashing is the slow part of these tests."""
    return hash_password(PASSWORD)


def _add_person(
    engine: Engine,
    username: str = "zhang.wei",
    *,
    password_hash: str | None = None,
    active: bool = True,
) -> int:
    with engine.begin() as conn:
        person_id: int = conn.execute(
            insert(PEOPLE)
            .values(
                name="张伟",
                username=username,
                password_hash=password_hash or _password_hash(),
                active=active,
            )
            .returning(PEOPLE.c.id)
        ).scalar_one()
    return person_id


@pytest.fixture
def throttle(engine: Engine) -> Throttle:
    return Throttle(engine, FrozenClock(NOW))


def _clock(throttle: Throttle) -> FrozenClock:
    clock = throttle.clock
    assert isinstance(clock, FrozenClock)
    return clock


def _pair(username: str = "zhang.wei", address: str = HOME) -> str:
    return f"{address}/{username}"


def _refusal(
    engine: Engine, throttle: Throttle, username: str, password: str, address: str = HOME
) -> AuthError:
    with pytest.raises(AuthError) as caught:
        sign_in(engine, throttle, username, password, address)
    return caught.value


def _too_many(
    engine: Engine, throttle: Throttle, username: str, password: str, address: str = HOME
) -> TooMany:
    with pytest.raises(TooMany) as caught:
        sign_in(engine, throttle, username, password, address)
    return caught.value


# --- sign-in on both databases --------------------------------------------------------------


def test_correct_password_signs_in_and_clears_the_count(engine: Engine, throttle: Throttle) -> None:
    person_id = _add_person(engine)
    for _ in range(3):
        _refusal(engine, throttle, "zhang.wei", "wrong")
    assert throttle.count(PER_PAIR, _pair()) == 3
    assert sign_in(engine, throttle, "zhang.wei", PASSWORD, HOME) == Credential(person_id, 0)
    assert throttle.count(PER_PAIR, _pair()) == 0


def test_wrong_password_and_unknown_user_are_refused_alike(
    engine: Engine, throttle: Throttle
) -> None:
    _add_person(engine)
    wrong = _refusal(engine, throttle, "zhang.wei", "not-it")
    unknown = _refusal(engine, throttle, "nobody", PASSWORD)
    assert wrong.message == unknown.message == BAD_CREDENTIALS
    assert wrong.status == unknown.status == 401
    assert wrong.reason == unknown.reason == "credentials"


def test_account_without_password_cannot_sign_in(engine: Engine, throttle: Throttle) -> None:
    with engine.begin() as conn:
        conn.execute(insert(PEOPLE).values(name="李娜", username="li.na", active=True))
    assert _refusal(engine, throttle, "li.na", "", HOME).message == BAD_CREDENTIALS


def test_five_failures_slow_that_address_down_for_the_quarter_hour(
    engine: Engine, throttle: Throttle
) -> None:
    """Was: five failures locked the account for everyone for 15 minutes. Now the wait falls
    on the address that failed, and the password is not even checked while it lasts."""
    person_id = _add_person(engine)
    for _ in range(5):
        assert _refusal(engine, throttle, "zhang.wei", "guess").message == BAD_CREDENTIALS

    slowed = _too_many(engine, throttle, "zhang.wei", PASSWORD)
    assert slowed.status == 429 and slowed.limit == PER_PAIR.name
    assert slowed.message == "登录尝试过于频繁，请 15 分钟后再试"
    assert slowed.retry_after == 15 * 60
    assert throttle.count(PER_PAIR, _pair()) == 5, "a refused attempt is not counted"

    # The owner elsewhere is not held up by what happened at HOME.
    assert sign_in(engine, throttle, "zhang.wei", PASSWORD, "10.2.2.2").person_id == person_id

    _clock(throttle).advance(minutes=14)
    assert _too_many(engine, throttle, "zhang.wei", PASSWORD).message == (
        "登录尝试过于频繁，请 1 分钟后再试"
    )
    _clock(throttle).advance(minutes=1)
    assert sign_in(engine, throttle, "zhang.wei", PASSWORD, HOME).person_id == person_id


def test_counts_persist_across_transactions(engine: Engine, throttle: Throttle) -> None:
    """Each attempt's count is committed on its own: a refusal must not roll it back."""
    _add_person(engine)
    for _ in range(3):
        _refusal(engine, throttle, "zhang.wei", "wrong")
    assert throttle.count(PER_PAIR, _pair()) == 3
    assert throttle.count(PER_ADDRESS, HOME) == 3
    assert throttle.count(PER_USERNAME, "zhang.wei") == 3


def test_an_address_the_account_signed_in_from_is_held_to_its_own_count_only(
    engine: Engine, throttle: Throttle
) -> None:
    """The broad limits are for strangers: failures from the owner's usual address count
    only against that (username, address) pair, and a correct password from there does not
    use up the address's allowance for everybody else behind it."""
    _add_person(engine)
    sign_in(engine, throttle, "zhang.wei", PASSWORD, HOME)
    _refusal(engine, throttle, "zhang.wei", "typo")
    assert throttle.count(PER_PAIR, _pair()) == 1
    assert throttle.count(PER_ADDRESS, HOME) == 0
    assert throttle.count(PER_USERNAME, "zhang.wei") == 0


def test_inactive_account_is_named_only_to_someone_with_the_password(
    engine: Engine, throttle: Throttle
) -> None:
    _add_person(engine, active=False)
    assert _refusal(engine, throttle, "zhang.wei", "wrong").message == BAD_CREDENTIALS
    inactive = _refusal(engine, throttle, "zhang.wei", PASSWORD)
    assert inactive.message == INACTIVE
    assert inactive.status == 401


def test_an_outdated_hash_is_replaced_on_sign_in(engine: Engine, throttle: Throttle) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    person_id = _add_person(engine, password_hash=weak)
    assert sign_in(engine, throttle, "zhang.wei", PASSWORD, HOME).person_id == person_id
    with engine.connect() as conn:
        stored = conn.execute(
            select(PEOPLE.c.password_hash).where(PEOPLE.c.id == person_id)
        ).scalar_one()
    assert stored != weak
    assert verify_password(stored, PASSWORD)
    assert not PasswordHasher().check_needs_rehash(stored)


def test_concurrent_failures_are_all_counted(engine: Engine, throttle: Throttle) -> None:
    _add_person(engine)

    def attempt(n: int) -> str:
        with pytest.raises(AuthError) as caught:
            sign_in(engine, throttle, "zhang.wei", f"guess-{n}", HOME)
        return caught.value.message

    with ThreadPoolExecutor(max_workers=4) as pool:
        messages = list(pool.map(attempt, range(5)))
    assert messages == [BAD_CREDENTIALS] * 5
    assert throttle.count(PER_PAIR, _pair()) == 5
    assert throttle.count(PER_ADDRESS, HOME) == 5
    assert throttle.count(PER_USERNAME, "zhang.wei") == 5


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError):
        issue_token(ME, dt.datetime(2026, 3, 2, 9), CFG)
    with pytest.raises(ValueError):
        read_session("x.y", dt.datetime(2026, 3, 2, 9), CFG)


# --- passwords ------------------------------------------------------------------------------


def test_password_hash_is_argon2id_and_verifies() -> None:
    stored = _password_hash()
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, PASSWORD)
    assert not verify_password(stored, PASSWORD + " ")
    assert not verify_password("not a hash", PASSWORD)


# --- bearer tokens --------------------------------------------------------------------------


def test_token_round_trip_and_expiry() -> None:
    token = issue_token(Credential(42, 3), NOW, CFG)
    assert read_token(token, NOW, CFG) == Credential(42, 3)
    assert token_expires_in(CFG) == 1800
    assert read_token(token, NOW + dt.timedelta(minutes=29, seconds=59), CFG) == Credential(42, 3)
    assert read_token(token, NOW + dt.timedelta(minutes=30), CFG) is None


def _signed(claims: dict[str, object]) -> str:
    """Claims signed with the test key the way the server signs them (HMAC-SHA256 over the
    base64url JSON), to build credentials the current code would never issue."""
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    mac = hmac.new(CFG.secret, body, hashlib.sha256).digest()
    return f"{body.decode()}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


@pytest.mark.parametrize("gen", [None, "0", True, 1.0])
def test_a_credential_without_a_whole_number_generation_is_refused(gen: object) -> None:
    """Tokens and cookies signed before generations existed (no ``gen``) are refused, so
    their holders sign in once more rather than carrying a credential nothing can end."""
    exp = int((NOW + dt.timedelta(minutes=5)).timestamp())
    token: dict[str, object] = {"sub": 42, "exp": exp, "typ": "access"}
    cookie: dict[str, object] = {"sub": 42, "sid": "abc", "exp": exp, "typ": "session"}
    assert read_token(_signed({**token, "gen": 0}), NOW, CFG) == Credential(42, 0)
    assert read_session(_signed({**cookie, "gen": 0}), NOW, CFG) is not None
    if gen is not None:
        token["gen"] = cookie["gen"] = gen
    assert read_token(_signed(token), NOW, CFG) is None
    assert read_session(_signed(cookie), NOW, CFG) is None


@pytest.mark.parametrize("part", [0, 1])
def test_tampered_token_is_refused(part: int) -> None:
    pieces = issue_token(ME, NOW, CFG).split(".")
    target = pieces[part]
    pieces[part] = target[:5] + ("A" if target[5] != "A" else "B") + target[6:]
    assert read_token(".".join(pieces), NOW, CFG) is None


def test_token_signed_with_another_key_is_refused() -> None:
    other = AuthConfig(secret=b"another-secret-key-of-32-bytes!!")
    assert read_token(issue_token(ME, NOW, other), NOW, CFG) is None


@pytest.mark.parametrize("junk", ["", ".", "abc", "a.b.c", "é.é", "x" * 10_000])
def test_junk_is_not_a_token(junk: str) -> None:
    assert read_token(junk, NOW, CFG) is None
    assert read_session(junk, NOW, CFG) is None


def test_session_cookie_and_bearer_token_are_not_interchangeable() -> None:
    session = issue_session(ME, NOW, CFG)
    token = issue_token(ME, NOW, CFG)
    assert read_token(session.cookie, NOW, CFG) is None
    assert read_session(token, NOW, CFG) is None
    assert read_token(session.csrf, NOW, CFG) is None


# --- page sessions and CSRF -----------------------------------------------------------------


def test_session_round_trip_and_expiry() -> None:
    session = issue_session(Credential(42, 7), NOW, CFG)
    read = read_session(session.cookie, NOW, CFG)
    assert read is not None
    assert read == session
    assert read.person_id == 42 and read.gen == 7
    assert read.credential == Credential(42, 7)
    assert read.expires_at == NOW + dt.timedelta(hours=8)
    assert read_session(session.cookie, NOW + dt.timedelta(hours=8), CFG) is None
    assert session.cookie not in repr(session)
    assert session.csrf not in repr(session)


def test_each_session_gets_its_own_id() -> None:
    assert issue_session(ME, NOW, CFG).sid != issue_session(ME, NOW, CFG).sid


def test_csrf_is_derived_from_the_session() -> None:
    mine = issue_session(ME, NOW, CFG)
    theirs = issue_session(Credential(43, 0), NOW, CFG)
    reread = read_session(mine.cookie, NOW, CFG)
    assert reread is not None
    assert check_csrf(reread, csrf_for(mine))
    assert not check_csrf(reread, csrf_for(theirs))
    assert not check_csrf(reread, None)
    assert not check_csrf(reread, "")
    assert not check_csrf(reread, "令牌")


def test_cookie_kwargs() -> None:
    assert cookie_kwargs(CFG, secure=True) == {
        "httponly": True,
        "samesite": "lax",
        "max_age": 8 * 3600,
        "path": "/",
        "secure": True,
    }
    assert cookie_kwargs(CFG, secure=False)["secure"] is False


# --- the signing key ------------------------------------------------------------------------


def test_load_secret_creates_a_private_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    path = tmp_path / "var" / "secret.key"
    secret = load_secret(path)
    assert len(secret) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(path) == secret
    assert [p.name for p in path.parent.iterdir()] == ["secret.key"]  # no temp file left


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret.key"
    monkeypatch.delenv(SECRET_ENV, raising=False)
    from_file = load_secret(path)

    monkeypatch.setenv(SECRET_ENV, "ab" * 32)
    assert load_secret(path) == bytes.fromhex("ab" * 32) != from_file
    monkeypatch.setenv(SECRET_ENV, "a raw passphrase, not hex")
    assert load_secret(path) == b"a raw passphrase, not hex"
    monkeypatch.setenv(SECRET_ENV, "short")
    with pytest.raises(ValueError):
        load_secret(path)


def test_a_secret_from_the_environment_needs_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, "cd" * 32)
    path = tmp_path / "secret.key"
    assert load_secret(path) == bytes.fromhex("cd" * 32)
    assert not os.path.exists(path)


def test_config_refuses_a_short_secret() -> None:
    with pytest.raises(ValueError):
        AuthConfig(secret=b"short")
