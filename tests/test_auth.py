"""Sign-in, lockout, tokens, sessions and CSRF: the database parts on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, insert, select

from api.auth import (
    BAD_CREDENTIALS,
    INACTIVE,
    SECRET_ENV,
    AuthConfig,
    AuthError,
    authenticate,
    check_csrf,
    cookie_kwargs,
    csrf_for,
    hash_password,
    issue_session,
    issue_token,
    load_secret,
    read_session,
    read_token,
    sign_in,
    token_expires_in,
    verify_password,
)
from states.clock import bureau_time
from states.store.models import Person, table_of

PEOPLE = table_of(Person)
PASSWORD = "正确的密码-correct horse"
NOW = bureau_time(2026, 3, 2, 9, 0)
CFG = AuthConfig(secret=bytes(range(32)))


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
    failed_logins: int = 0,
) -> int:
    with engine.begin() as conn:
        person_id: int = conn.execute(
            insert(PEOPLE)
            .values(
                name="张伟",
                username=username,
                password_hash=password_hash or _password_hash(),
                active=active,
                failed_logins=failed_logins,
            )
            .returning(PEOPLE.c.id)
        ).scalar_one()
    return person_id


def _counters(engine: Engine, person_id: int) -> tuple[int, dt.datetime | None]:
    with engine.connect() as conn:
        row = conn.execute(
            select(PEOPLE.c.failed_logins, PEOPLE.c.locked_until).where(PEOPLE.c.id == person_id)
        ).one()
    return row.failed_logins, row.locked_until


def _refusal(engine: Engine, username: str, password: str, now: dt.datetime) -> AuthError:
    with pytest.raises(AuthError) as caught:
        sign_in(engine, username, password, now, CFG)
    return caught.value


# --- sign-in on both databases --------------------------------------------------------------


def test_correct_password_signs_in_and_resets_the_counter(engine: Engine) -> None:
    person_id = _add_person(engine, failed_logins=3)
    assert sign_in(engine, "zhang.wei", PASSWORD, NOW, CFG) == person_id
    assert _counters(engine, person_id) == (0, None)


def test_wrong_password_and_unknown_user_are_refused_alike(engine: Engine) -> None:
    _add_person(engine)
    wrong = _refusal(engine, "zhang.wei", "not-it", NOW)
    unknown = _refusal(engine, "nobody", PASSWORD, NOW)
    assert wrong.message == unknown.message == BAD_CREDENTIALS
    assert wrong.status == unknown.status == 401
    assert wrong.retry_after is None and unknown.retry_after is None


def test_account_without_password_cannot_sign_in(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(insert(PEOPLE).values(name="李娜", username="li.na", active=True))
    assert _refusal(engine, "li.na", "", NOW).message == BAD_CREDENTIALS


def test_five_failures_lock_the_account_for_fifteen_minutes(engine: Engine) -> None:
    person_id = _add_person(engine)
    for attempt in range(1, 5):
        assert _refusal(engine, "zhang.wei", f"guess-{attempt}", NOW).message == BAD_CREDENTIALS
        assert _counters(engine, person_id) == (attempt, None)

    fifth = _refusal(engine, "zhang.wei", "guess-5", NOW)
    until = NOW + dt.timedelta(minutes=15)
    assert fifth.message == "登录失败次数过多，账号已锁定至 09:15（北京时间），请稍后再试"
    assert fifth.retry_after == until
    assert fifth.status == 401
    assert _counters(engine, person_id) == (0, until)

    # While locked even the right password is refused, and the refusal costs no counter.
    later = NOW + dt.timedelta(minutes=14, seconds=59)
    locked = _refusal(engine, "zhang.wei", PASSWORD, later)
    assert locked.message == fifth.message and locked.retry_after == until
    assert _counters(engine, person_id) == (0, until)

    assert sign_in(engine, "zhang.wei", PASSWORD, until, CFG) == person_id
    assert _counters(engine, person_id) == (0, None)


def test_a_lapsed_lock_gives_a_fresh_set_of_attempts(engine: Engine) -> None:
    person_id = _add_person(engine)
    for _ in range(5):
        _refusal(engine, "zhang.wei", "wrong", NOW)
    after = NOW + dt.timedelta(minutes=16)
    assert _refusal(engine, "zhang.wei", "wrong", after).message == BAD_CREDENTIALS
    failed, _ = _counters(engine, person_id)
    assert failed == 1


def test_counters_persist_across_transactions(engine: Engine) -> None:
    """Each sign_in is its own transaction; the refusal must not roll its count back."""
    person_id = _add_person(engine)
    for _ in range(3):
        _refusal(engine, "zhang.wei", "wrong", NOW)
    assert _counters(engine, person_id) == (3, None)


def test_authenticate_counts_when_the_caller_commits(engine: Engine) -> None:
    person_id = _add_person(engine)
    # pytest.raises is the inner context: the error stops there, so the transaction commits.
    with engine.begin() as conn, pytest.raises(AuthError) as caught:
        authenticate(conn, "zhang.wei", "wrong", NOW, CFG)
    assert caught.value.message == BAD_CREDENTIALS
    assert _counters(engine, person_id) == (1, None)
    with engine.begin() as conn:
        assert authenticate(conn, "zhang.wei", PASSWORD, NOW, CFG) == person_id
    assert _counters(engine, person_id) == (0, None)


def test_inactive_account_is_named_only_to_someone_with_the_password(engine: Engine) -> None:
    _add_person(engine, active=False)
    assert _refusal(engine, "zhang.wei", "wrong", NOW).message == BAD_CREDENTIALS
    inactive = _refusal(engine, "zhang.wei", PASSWORD, NOW)
    assert inactive.message == INACTIVE
    assert inactive.status == 401


def test_an_outdated_hash_is_replaced_on_sign_in(engine: Engine) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    person_id = _add_person(engine, password_hash=weak)
    assert sign_in(engine, "zhang.wei", PASSWORD, NOW, CFG) == person_id
    with engine.connect() as conn:
        stored = conn.execute(
            select(PEOPLE.c.password_hash).where(PEOPLE.c.id == person_id)
        ).scalar_one()
    assert stored != weak
    assert verify_password(stored, PASSWORD)
    assert not PasswordHasher().check_needs_rehash(stored)


def test_concurrent_failures_are_all_counted(engine: Engine) -> None:
    person_id = _add_person(engine)
    cfg = AuthConfig(secret=CFG.secret, max_failures=50)

    def attempt(n: int) -> str:
        with pytest.raises(AuthError) as caught:
            sign_in(engine, "zhang.wei", f"guess-{n}", NOW, cfg)
        return caught.value.message

    with ThreadPoolExecutor(max_workers=4) as pool:
        messages = list(pool.map(attempt, range(6)))
    assert messages == [BAD_CREDENTIALS] * 6
    assert _counters(engine, person_id) == (6, None)


def test_naive_now_is_rejected(engine: Engine) -> None:
    with pytest.raises(ValueError):
        sign_in(engine, "zhang.wei", PASSWORD, dt.datetime(2026, 3, 2, 9), CFG)


# --- passwords ------------------------------------------------------------------------------


def test_password_hash_is_argon2id_and_verifies() -> None:
    stored = _password_hash()
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, PASSWORD)
    assert not verify_password(stored, PASSWORD + " ")
    assert not verify_password("not a hash", PASSWORD)


# --- bearer tokens --------------------------------------------------------------------------


def test_token_round_trip_and_expiry() -> None:
    token = issue_token(42, NOW, CFG)
    assert read_token(token, NOW, CFG) == 42
    assert token_expires_in(CFG) == 1800
    assert read_token(token, NOW + dt.timedelta(minutes=29, seconds=59), CFG) == 42
    assert read_token(token, NOW + dt.timedelta(minutes=30), CFG) is None


@pytest.mark.parametrize("part", [0, 1])
def test_tampered_token_is_refused(part: int) -> None:
    pieces = issue_token(42, NOW, CFG).split(".")
    target = pieces[part]
    pieces[part] = target[:5] + ("A" if target[5] != "A" else "B") + target[6:]
    assert read_token(".".join(pieces), NOW, CFG) is None


def test_token_signed_with_another_key_is_refused() -> None:
    other = AuthConfig(secret=b"another-secret-key-of-32-bytes!!")
    assert read_token(issue_token(42, NOW, other), NOW, CFG) is None


@pytest.mark.parametrize("junk", ["", ".", "abc", "a.b.c", "é.é", "x" * 10_000])
def test_junk_is_not_a_token(junk: str) -> None:
    assert read_token(junk, NOW, CFG) is None
    assert read_session(junk, NOW, CFG) is None


def test_session_cookie_and_bearer_token_are_not_interchangeable() -> None:
    session = issue_session(42, NOW, CFG)
    token = issue_token(42, NOW, CFG)
    assert read_token(session.cookie, NOW, CFG) is None
    assert read_session(token, NOW, CFG) is None
    assert read_token(session.csrf, NOW, CFG) is None


# --- page sessions and CSRF -----------------------------------------------------------------


def test_session_round_trip_and_expiry() -> None:
    session = issue_session(42, NOW, CFG)
    read = read_session(session.cookie, NOW, CFG)
    assert read is not None
    assert read == session
    assert read.person_id == 42
    assert read.expires_at == NOW + dt.timedelta(hours=8)
    assert read_session(session.cookie, NOW + dt.timedelta(hours=8), CFG) is None
    assert session.cookie not in repr(session)
    assert session.csrf not in repr(session)


def test_each_session_gets_its_own_id() -> None:
    assert issue_session(42, NOW, CFG).sid != issue_session(42, NOW, CFG).sid


def test_csrf_is_derived_from_the_session() -> None:
    mine = issue_session(42, NOW, CFG)
    theirs = issue_session(43, NOW, CFG)
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
