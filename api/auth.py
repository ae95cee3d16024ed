"""Sign-in primitives: passwords, lockout, bearer tokens, page sessions and CSRF.

The routes live elsewhere; this module holds the parts that are easy to get subtly wrong, so
they are written once and tested on both databases:

* a wrong password and an unknown username answer alike, in message and in argon2 time, so
  sign-in cannot be used to list accounts;
* the failure counter is written even though the attempt fails, which means it must be
  committed before the error leaves (:func:`sign_in` does this; :func:`authenticate` leaves it
  to its caller);
* bearer tokens and session cookies are stateless HMAC-signed claims, each with its own
  ``typ``, so that one can never be replayed as the other;
* the CSRF token is derived from the session id, so nothing server-side has to store it.

Stateless tokens cannot be revoked before they expire: the router should still load the
person on every request (``states.store.people.load_actor``) and refuse inactive accounts.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, select, update

from states.clock import BUREAU_TZ
from states.store.db import reader
from states.store.models import Person, table_of

SESSION_COOKIE: Final = "renshi_session"
SECRET_ENV: Final = "RENSHI_SECRET_KEY"
MIN_SECRET_BYTES: Final = 16

BAD_CREDENTIALS: Final = "用户名或密码错误"
INACTIVE: Final = "账号已停用"
LOCKED: Final = "登录失败次数过多，账号已锁定至 {until}（北京时间），请稍后再试"

_ACCESS: Final = "access"
_SESSION: Final = "session"
_MAX_TOKEN_CHARS: Final = 4096  # far above any token issued here; bounds work on junk input

# One hasher for the process: its parameters are the policy that check_needs_rehash enforces.
_HASHER: Final = PasswordHasher()
_people = table_of(Person)


@dataclass(frozen=True)
class AuthConfig:
    """Everything sign-in depends on, passed in so tests and deployments can differ."""

    secret: bytes = field(repr=False)
    token_ttl: timedelta = timedelta(minutes=30)
    session_ttl: timedelta = timedelta(hours=8)
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        if len(self.secret) < MIN_SECRET_BYTES:
            raise ValueError(f"签名密钥至少需要 {MIN_SECRET_BYTES} 字节")
        if self.max_failures < 1:
            raise ValueError("max_failures 必须至少为 1")


def load_secret(path: Path) -> bytes:
    """The signing key: the environment wins so that containers can inject it; otherwise a
    file next to the data, created on first start so a fresh install signs nothing with a
    well-known default.

    The file is published with a hard link so that two processes starting together cannot
    each write their own key and then reject each other's cookies.
    """
    env = os.environ.get(SECRET_ENV)
    if env is not None and env.strip():
        return _parse_secret(env, SECRET_ENV)
    try:
        return _parse_secret(path.read_text(encoding="utf-8"), str(path))
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            os.fchmod(out.fileno(), 0o600)  # umask may only narrow 0600, but be explicit
            out.write(secrets.token_hex(32) + "\n")
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process won: use its key
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return _parse_secret(path.read_text(encoding="utf-8"), str(path))


def _parse_secret(text: str, source: str) -> bytes:
    value = text.strip()
    try:
        secret = bytes.fromhex(value)
    except ValueError:
        secret = value.encode("utf-8")
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"签名密钥过短（{source}）：至少需要 {MIN_SECRET_BYTES} 字节")
    return secret


# --- passwords ------------------------------------------------------------------------------


def hash_password(pw: str) -> str:
    return _HASHER.hash(pw)


def verify_password(hash: str, pw: str) -> bool:
    """False, never an exception, for a mismatch or an unreadable stored hash: either way
    the person may not sign in, and the caller should not need to know argon2's errors."""
    try:
        return _HASHER.verify(hash, pw)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    return _HASHER.hash(secrets.token_urlsafe(16))


def _spend_verify_time(pw: str) -> None:
    """Do the argon2 work a real account would cost, so that an unknown username is not
    answered measurably faster than a known one with a wrong password."""
    verify_password(_dummy_hash(), pw)


# --- sign-in and lockout --------------------------------------------------------------------


class AuthError(Exception):
    """A refused sign-in. Every refusal is 401: a distinct status for a locked account would
    only repeat what the message already says. ``reason`` is for code, ``message`` for people."""

    status: int = 401

    def __init__(self, message: str, *, reason: str, retry_after: datetime | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason  # "credentials" | "locked" | "inactive"
        self.retry_after = retry_after


def _bad_credentials() -> AuthError:
    return AuthError(BAD_CREDENTIALS, reason="credentials")


def _locked(until: datetime) -> AuthError:
    label = until.astimezone(BUREAU_TZ).strftime("%H:%M")
    return AuthError(LOCKED.format(until=label), reason="locked", retry_after=until)


@dataclass(frozen=True)
class _Account:
    id: int
    password_hash: str | None
    failed_logins: int
    locked_until: datetime | None
    active: bool

    def locked_at(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


@dataclass(frozen=True)
class _Check:
    """The outcome of argon2 against one stored hash, worked out before the write
    transaction so that it can be reused there if the hash has not changed meanwhile."""

    password_hash: str | None
    ok: bool
    new_hash: str | None  # set when the password is right but the hash's parameters are old


def _find(conn: Connection, username: str, *, for_update: bool) -> _Account | None:
    query = select(
        _people.c.id,
        _people.c.password_hash,
        _people.c.failed_logins,
        _people.c.locked_until,
        _people.c.active,
    ).where(_people.c.username == username)
    if for_update:
        query = query.with_for_update()  # PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises
    row = conn.execute(query).one_or_none()
    if row is None:
        return None
    return _Account(
        id=row.id,
        password_hash=row.password_hash,
        failed_logins=row.failed_logins or 0,
        locked_until=row.locked_until,
        active=bool(row.active),
    )


def _check(account: _Account | None, password: str) -> _Check:
    if account is None or account.password_hash is None:
        _spend_verify_time(password)
        return _Check(None, False, None)
    ok = verify_password(account.password_hash, password)
    new_hash = None
    if ok and _HASHER.check_needs_rehash(account.password_hash):
        new_hash = hash_password(password)
    return _Check(account.password_hash, ok, new_hash)


def _settle(
    conn: Connection,
    username: str,
    password: str,
    now: datetime,
    cfg: AuthConfig,
    precheck: _Check | None,
) -> int | AuthError:
    """Decide one attempt and write its effect on the counters, returning the refusal
    rather than raising it so that the caller can commit the counter update first."""
    account = _find(conn, username, for_update=True)
    if account is not None and account.locked_at(now):
        assert account.locked_until is not None
        return _locked(account.locked_until)  # no password check: a lock stops guessing
    stored = account.password_hash if account is not None else None
    if precheck is not None and precheck.password_hash == stored:
        check = precheck
    else:  # no earlier answer, or the row changed between the read and this transaction
        check = _check(account, password)
    if account is None or not check.ok:
        if account is not None:
            return _record_failure(conn, account, now, cfg)
        return _bad_credentials()
    if not account.active:
        # Said only to someone who knows the password, so it reveals nothing to a guesser.
        return AuthError(INACTIVE, reason="inactive")
    values: dict[str, Any] = {}
    if account.failed_logins:
        values["failed_logins"] = 0
    if account.locked_until is not None:
        values["locked_until"] = None
    if check.new_hash is not None:
        values["password_hash"] = check.new_hash
    if values:
        conn.execute(update(_people).where(_people.c.id == account.id).values(**values))
    return account.id


def _record_failure(
    conn: Connection, account: _Account, now: datetime, cfg: AuthConfig
) -> AuthError:
    failures = account.failed_logins + 1
    where = _people.c.id == account.id
    if failures >= cfg.max_failures:
        until = now + cfg.lockout
        conn.execute(update(_people).where(where).values(failed_logins=0, locked_until=until))
        return _locked(until)
    conn.execute(update(_people).where(where).values(failed_logins=failures))
    return _bad_credentials()


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("naive datetime: every timestamp in Renshi carries its zone")


def authenticate(
    conn: Connection, username: str, password: str, now: datetime, cfg: AuthConfig
) -> int:
    """The person id for a correct password, inside the caller's write transaction.

    On a refusal the failure counter has already been updated on ``conn`` when AuthError is
    raised, and it only counts if the caller commits: ``with engine.begin()`` rolls back when
    the error passes through it, which would give an attacker unlimited guesses. Catch the
    error inside the block and re-raise after it, or use :func:`sign_in`.

    The argon2 check runs while the transaction holds the row lock (and, on SQLite, the
    database write lock); :func:`sign_in` avoids that.
    """
    _require_aware(now)
    outcome = _settle(conn, username, password, now, cfg, None)
    if isinstance(outcome, AuthError):
        raise outcome
    return outcome


def sign_in(engine: Engine, username: str, password: str, now: datetime, cfg: AuthConfig) -> int:
    """:func:`authenticate` in its own transaction, with the counter committed before the
    refusal is raised.

    Argon2 runs before the write transaction opens, on a read-only snapshot, because on
    SQLite a write transaction holds the whole database's write lock and every case
    transition would queue behind each sign-in's hashing. The write transaction then re-reads
    the row and reuses that answer if the stored hash is unchanged. A correct password on a
    clean account needs no write at all.
    """
    _require_aware(now)
    with reader(engine).connect() as conn:
        seen = _find(conn, username, for_update=False)
    precheck = None if seen is not None and seen.locked_at(now) else _check(seen, password)
    if (
        seen is not None
        and precheck is not None
        and precheck.ok
        and precheck.new_hash is None
        and seen.active
        and seen.failed_logins == 0
        and seen.locked_until is None
    ):
        return seen.id
    with engine.begin() as conn:
        outcome = _settle(conn, username, password, now, cfg, precheck)
    if isinstance(outcome, AuthError):
        raise outcome
    return outcome


# --- signed claims --------------------------------------------------------------------------


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(cfg: AuthConfig, message: bytes) -> bytes:
    return hmac.new(cfg.secret, message, hashlib.sha256).digest()


def _seal(claims: dict[str, Any], cfg: AuthConfig) -> str:
    body = _b64encode(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_b64encode(_mac(cfg, body.encode('ascii')))}"


def _unseal(token: str, typ: str, now: datetime, cfg: AuthConfig) -> dict[str, Any] | None:
    """The claims of a token this server signed for ``typ`` that has not expired, else None.

    The signature is checked on the exact text received, before anything is decoded, so a
    forged token never reaches the JSON parser.
    """
    _require_aware(now)
    if len(token) > _MAX_TOKEN_CHARS:
        return None
    body, dot, signature = token.partition(".")
    if not dot:
        return None
    try:
        body_bytes = body.encode("ascii")
        signature_bytes = signature.encode("ascii")
    except UnicodeEncodeError:
        return None
    expected = _b64encode(_mac(cfg, body_bytes)).encode("ascii")
    if not hmac.compare_digest(expected, signature_bytes):
        return None
    try:
        claims = json.loads(_b64decode(body))
    except ValueError:  # bad base64, bad UTF-8 and bad JSON are all ValueErrors
        return None
    if not isinstance(claims, dict) or claims.get("typ") != typ:
        return None
    exp, sub = claims.get("exp"), claims.get("sub")
    if type(exp) is not int or type(sub) is not int:  # bool is an int; neither is meant
        return None
    if now.timestamp() >= exp:
        return None
    return claims


def _expiry(now: datetime, ttl: timedelta) -> int:
    _require_aware(now)
    return int((now + ttl).timestamp())


def issue_token(person_id: int, now: datetime, cfg: AuthConfig) -> str:
    return _seal({"sub": person_id, "exp": _expiry(now, cfg.token_ttl), "typ": _ACCESS}, cfg)


def read_token(token: str, now: datetime, cfg: AuthConfig) -> int | None:
    """The person a bearer token names, or None for anything expired, altered or not an
    access token (a session cookie sent as a bearer token included)."""
    claims = _unseal(token, _ACCESS, now, cfg)
    return None if claims is None else int(claims["sub"])


def token_expires_in(cfg: AuthConfig) -> int:
    """Seconds, for the ``expires_in`` field of an OAuth2-style token response."""
    return int(cfg.token_ttl.total_seconds())


# --- page sessions and CSRF -----------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """A signed-in browser. ``cookie`` and ``csrf`` are credentials: kept out of repr so
    they do not end up in logs."""

    person_id: int
    sid: str
    expires_at: datetime
    cookie: str = field(repr=False)
    csrf: str = field(repr=False)


def _derive_csrf(sid: str, cfg: AuthConfig) -> str:
    return hmac.new(cfg.secret, f"csrf:{sid}".encode(), hashlib.sha256).hexdigest()


def issue_session(person_id: int, now: datetime, cfg: AuthConfig) -> Session:
    """A new session with a fresh random id, so a sign-in never continues a session (and a
    CSRF token) that someone else may have planted or seen."""
    sid = secrets.token_urlsafe(16)
    exp = _expiry(now, cfg.session_ttl)
    cookie = _seal({"sub": person_id, "sid": sid, "exp": exp, "typ": _SESSION}, cfg)
    return Session(
        person_id=person_id,
        sid=sid,
        expires_at=datetime.fromtimestamp(exp, tz=UTC),
        cookie=cookie,
        csrf=_derive_csrf(sid, cfg),
    )


def read_session(cookie: str, now: datetime, cfg: AuthConfig) -> Session | None:
    claims = _unseal(cookie, _SESSION, now, cfg)
    if claims is None:
        return None
    sid = claims.get("sid")
    if not isinstance(sid, str) or not sid:
        return None
    return Session(
        person_id=int(claims["sub"]),
        sid=sid,
        expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=UTC),
        cookie=cookie,
        csrf=_derive_csrf(sid, cfg),
    )


def csrf_for(session: Session) -> str:
    """The token a page embeds in its forms. Sessions are only built by issue_session and
    read_session, both of which derive it from the signed session id."""
    return session.csrf


def check_csrf(session: Session, submitted: str | None) -> bool:
    if not submitted:
        return False
    return hmac.compare_digest(session.csrf.encode("utf-8"), submitted.encode("utf-8"))


def cookie_kwargs(cfg: AuthConfig, secure: bool) -> dict[str, Any]:
    """Keyword arguments for ``Response.set_cookie``: HttpOnly keeps scripts away from the
    session, Lax keeps it off cross-site POSTs (the CSRF token covers the rest). ``secure``
    forces the flag (``RENSHI_SECURE_COOKIES=1``); without it ``api.deps.SecureCookies`` adds
    it to every response to an HTTPS request, since a local HTTP demo has no TLS and a Secure
    cookie set over plain HTTP would be dropped by the browser."""
    return {
        "httponly": True,
        "samesite": "lax",
        "max_age": int(cfg.session_ttl.total_seconds()),
        "path": "/",
        "secure": secure,
    }
