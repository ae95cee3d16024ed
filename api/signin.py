"""Signing in with a password, and changing it: how guessing is limited without handing
anyone a way to lock an officer out by name.

* A wrong password and an unknown username answer alike — in message, status, argon2 time,
  and in how they are counted and slowed down — so sign-in cannot be used to list accounts.
* Failures count per (username, address), per address and per username (the limits below,
  counted by ``states.throttle`` in the database so that every API worker agrees); the two
  broad limits spare an address the username has signed in from before.
* Argon2 runs outside any write transaction: on SQLite a write transaction holds the whole
  database's write lock, and every case transition would queue behind each sign-in.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import Connection, Engine, select, update

from api.auth import Credential, hash_password, needs_rehash, spend_verify_time, verify_password
from states.errors import FormError, TooMany
from states.org import Actor
from states.registry import history
from states.store.db import reader
from states.store.models import Person, table_of
from states.store.people import set_password
from states.throttle import Limit, Throttle

BAD_CREDENTIALS: Final = "用户名或密码错误"
INACTIVE: Final = "账号已停用"
MUST_CHANGE: Final = "首次登录（或密码被管理员重置后）须先修改密码"
MIN_PASSWORD: Final = 8
MAX_PASSWORD: Final = 256

# How guessing is slowed, and why these numbers (fixed windows, counted in the database so
# every API worker agrees):
# - PER_PAIR: 5 wrong passwords for one username from one address, then wait out the
#   quarter hour. Every attempt counts before argon2 runs and a right password clears the
#   count, so only failures stay counted. An attacker elsewhere never touches the owner's
#   own count: failing 50 times on an officer's name does not keep the officer out.
# - PER_ADDRESS: 30 failures across all usernames from one address in a quarter hour stops
#   password spraying (one common password tried on many names) at ~2,900 tries a day per
#   address, while an office behind one NAT address rarely mistypes 30 times in 15 minutes.
# - PER_USERNAME: 30 failures an hour on one username from all addresses together bounds a
#   guesser with many addresses to 720 tries a day on any one account.
# The two broad limits apply only to strangers: an address the username signed in from in
# the last 30 days (KNOWN_PAIR) is held to PER_PAIR alone, so neither a sprayer on the same
# network nor a botnet hammering one name can keep the owner out of their usual network.
PER_PAIR = Limit("signin-pair", "5/15 minutes", "登录尝试过于频繁")
PER_ADDRESS = Limit("signin-address", "30/15 minutes", "本网络登录失败次数过多")
PER_USERNAME = Limit(
    "signin-username", "30/hour", "该用户名近期登录失败次数过多（在常用网络登录不受影响）"
)
KNOWN_PAIR = Limit("signin-known", "1/30 days", "")  # a window in which the pair signed in

_people = table_of(Person)


def password_problem(new: str, *, username: str | None, current: str | None = None) -> str | None:
    """Why ``new`` cannot be a password, in words for the person choosing it; None if it
    can. Length is what makes a password hard to guess; the rest refuses the obvious."""
    if len(new) < MIN_PASSWORD:
        return f"新密码至少需要 {MIN_PASSWORD} 个字符"
    if len(new) > MAX_PASSWORD:
        return f"新密码不能超过 {MAX_PASSWORD} 个字符"
    if not new.strip():
        return "新密码不能全是空格"
    if username and new.strip().casefold() == username.casefold():
        return "新密码不能与用户名相同"
    if current is not None and new == current:
        return "新密码不能与当前密码相同"
    return None


class AuthError(Exception):
    """A refused sign-in: 401. ``reason`` is for code, ``message`` for people. Too many
    attempts are :class:`~states.errors.TooMany` instead (429 with Retry-After)."""

    status: int = 401

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason  # "credentials" | "inactive" | "must_change"


class MustChangePassword(AuthError):
    """The right password, but one an officer handed over (a new account, a reset): no
    credential until the person sets their own (``change_initial_password``; the page
    ``/account/first-password``, the API ``POST /api/v1/auth/initial-password``)."""

    status = 403

    def __init__(self) -> None:
        super().__init__(MUST_CHANGE, reason="must_change")


@dataclass(frozen=True)
class _Account:
    id: int
    password_hash: str | None
    active: bool
    gen: int
    must_change: bool


def _find(engine: Engine, username: str) -> _Account | None:
    with reader(engine).connect() as conn:
        row = conn.execute(
            select(
                _people.c.id,
                _people.c.password_hash,
                _people.c.active,
                _people.c.session_generation,
                _people.c.must_change_password,
            ).where(_people.c.username == username)
        ).one_or_none()
    if row is None:
        return None
    return _Account(
        row.id,
        row.password_hash,
        bool(row.active),
        row.session_generation,
        bool(row.must_change_password),
    )


def _slow_down(refused: TooMany) -> TooMany:
    """The throttle's refusal with the wait in minutes, as people read it."""
    minutes = max(1, math.ceil(refused.retry_after / 60))
    return TooMany(
        f"{refused.message}，请 {minutes} 分钟后再试",
        retry_after=refused.retry_after,
        limit=refused.limit,
    )


def _verified(
    engine: Engine, throttle: Throttle, username: str, password: str, address: str
) -> _Account | None:
    """The account if ``password`` is its password, None if not; :class:`TooMany` when a
    limit is spent, before argon2 runs (so a refusal costs the server nothing).

    Nothing here depends on whether the username exists until the password is known to be
    right: an unknown name is counted, limited and hashed exactly like a known one.
    """
    pair = f"{address}/{username}"  # an address has no "/", so the split is unambiguous
    known = throttle.count(KNOWN_PAIR, pair) > 0
    broad = () if known else ((PER_ADDRESS, address), (PER_USERNAME, username))
    refused = throttle.refusal(*broad)
    if refused is not None:
        raise _slow_down(refused)
    try:
        # counted as it starts, not after argon2: guesses sent together are held to the limit
        throttle.spend((PER_PAIR, pair))
    except TooMany as exc:
        raise _slow_down(exc) from None
    account = _find(engine, username)
    if account is None or account.password_hash is None:
        spend_verify_time(password)
        ok = False
    else:
        ok = verify_password(account.password_hash, password)
    if not ok or account is None:
        for check in broad:  # one by one: a limit spent meanwhile must not skip the others
            with contextlib.suppress(TooMany):
                throttle.spend(check)
        return None
    throttle.forget(PER_PAIR, pair)
    if account.active and not known:
        with contextlib.suppress(TooMany):  # another worker marked it first
            throttle.spend((KNOWN_PAIR, pair))
    if account.password_hash is not None and needs_rehash(account.password_hash):
        with engine.begin() as conn:  # only if nobody changed the password meanwhile
            conn.execute(
                update(_people)
                .where(
                    _people.c.id == account.id,
                    _people.c.password_hash == account.password_hash,
                )
                .values(password_hash=hash_password(password))
            )
    return account


def sign_in(
    engine: Engine, throttle: Throttle, username: str, password: str, address: str
) -> Credential:
    """The credential a correct password earns from network ``address``.

    Raises :class:`AuthError` (401) for a wrong password or an unknown username alike, and
    for a disabled account only to someone who knows its password; :class:`TooMany` (429)
    when a limit is spent. The counts live in ``rate_counters``: each is its own short
    transaction, committed whether or not the attempt succeeds.
    """
    account = _verified(engine, throttle, username, password, address)
    if account is None:
        raise AuthError(BAD_CREDENTIALS, reason="credentials")
    if not account.active:
        # Said only to someone who knows the password, so it reveals nothing to a guesser.
        raise AuthError(INACTIVE, reason="inactive")
    if account.must_change:
        raise MustChangePassword()
    return Credential(account.id, account.gen)


def change_password(
    engine: Engine,
    throttle: Throttle,
    person_id: int,
    current: str,
    new: str,
    address: str,
) -> Credential:
    """A signed-in person's new password, proved by their current one; every session and
    token they hold ends, and the credential returned is the one fresh session to hand back.

    The current password is checked under the same limits as a sign-in, so a stolen session
    cannot be used to guess it. :class:`FormError` names the field at fault.
    """
    with reader(engine).connect() as conn:
        username = conn.execute(
            select(_people.c.username).where(_people.c.id == person_id)
        ).scalar_one_or_none()
    if not username:
        raise FormError("current_password", "此账号不能用密码登录，请联系管理员")
    problem = password_problem(new, username=username, current=current)
    if problem is not None:
        raise FormError("new_password", problem)
    account = _verified(engine, throttle, username, current, address)
    if account is None or account.id != person_id:
        raise FormError("current_password", "当前密码不正确")
    new_hash = hash_password(new)  # outside the write transaction, as in sign-in
    with engine.begin() as conn:
        gen = set_password(conn, person_id, new_hash)
        _remember(conn, person_id, throttle.clock.now())
    return Credential(person_id, gen)


def change_initial_password(
    engine: Engine,
    throttle: Throttle,
    username: str,
    current: str,
    new: str,
    address: str,
) -> Credential:
    """The first sign-in of an account whose password an officer handed over: the username
    and that password prove who it is (under the sign-in limits, answering an unknown name
    and a wrong password alike), the person's own password replaces it, and the credential
    returned is their first session."""
    problem = password_problem(new, username=username, current=current)
    if problem is not None:
        raise FormError("new_password", problem)
    account = _verified(engine, throttle, username, current, address)
    if account is None:
        raise FormError("current_password", "用户名或当前密码不正确")
    if not account.active:
        raise AuthError(INACTIVE, reason="inactive")
    new_hash = hash_password(new)
    with engine.begin() as conn:
        gen = set_password(conn, account.id, new_hash)
        _remember(conn, account.id, throttle.clock.now())
    return Credential(account.id, gen)


def _remember(conn: Connection, person_id: int, now: datetime) -> None:
    """The account's history notes that its owner set the password (never the hash)."""
    name = conn.execute(select(_people.c.name).where(_people.c.id == person_id)).scalar_one()
    history.record(
        conn,
        history.PERSON,
        [history.Entry(person_id, {"password": ("", "本人修改")})],
        actor=Actor(person_id, name),
        at=now,
        source="edit",
        source_ref="password",
    )
