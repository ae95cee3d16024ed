"""Credentials: the signing key, password hashes, bearer tokens, page sessions and CSRF.

How a password earns a credential (and how guessing is limited) is ``api.signin``'s; this
module holds the primitives that are easy to get subtly wrong, written once:

* bearer tokens and session cookies are stateless HMAC-signed claims, each with its own
  ``typ``, so that one can never be replayed as the other;
* each carries the person's session generation (``gen``); raising it
  (``states.store.people.end_sessions``) ends every credential issued before, though none is
  stored, because every request checks the claim against the person's row
  (``states.store.people.load_actor``);
* the CSRF token is derived from the session id, so nothing server-side has to store it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

SESSION_COOKIE: Final = "renshi_session"
SECRET_ENV: Final = "RENSHI_SECRET_KEY"
MIN_SECRET_BYTES: Final = 16

_ACCESS: Final = "access"
_SESSION: Final = "session"
_MAX_TOKEN_CHARS: Final = 4096  # far above any token issued here; bounds work on junk input

# One hasher for the process: its parameters are the policy that check_needs_rehash enforces.
_HASHER: Final = PasswordHasher()


@dataclass(frozen=True)
class AuthConfig:
    """Everything signing credentials depends on, passed in so tests and deployments can
    differ."""

    secret: bytes = field(repr=False)
    token_ttl: timedelta = timedelta(minutes=30)
    session_ttl: timedelta = timedelta(hours=8)

    def __post_init__(self) -> None:
        if len(self.secret) < MIN_SECRET_BYTES:
            raise ValueError(f"签名密钥至少需要 {MIN_SECRET_BYTES} 字节")


@dataclass(frozen=True)
class Credential:
    """Who signed in, and the session generation they signed in under: what every token and
    session cookie claims, and what each request checks against the person's row."""

    person_id: int
    gen: int


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


# A temporary password (a new account's, a reset's) is 12 random characters (~70 bits): no
# guessing reaches it however fast the hash, so it is hashed with argon2's lightest sensible
# parameters (~10 ms rather than ~100 ms), which is what lets a sheet of a county's thousand
# accounts be created in seconds. The person replaces it at first sign-in, under the policy's
# parameters; ``needs_rehash`` reports these hashes as weak, so nothing keeps them longer.
_TEMPORARY: Final = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


def hash_temporary(pw: str) -> str:
    """The hash of a generated, temporary password (never one a person chose)."""
    return _TEMPORARY.hash(pw)


def hash_temporaries(passwords: list[str]) -> list[str]:
    """``hash_temporary`` of each, in threads (argon2 releases the GIL while it works)."""
    if len(passwords) < 8:
        return [hash_temporary(p) for p in passwords]
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 2)) as pool:
        return list(pool.map(hash_temporary, passwords))


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


def spend_verify_time(pw: str) -> None:
    """Do the argon2 work a real account would cost, so that an unknown username is not
    answered measurably faster than a known one with a wrong password."""
    verify_password(_dummy_hash(), pw)


def needs_rehash(hash: str) -> bool:
    """True for a hash made with weaker parameters than the current policy's."""
    return _HASHER.check_needs_rehash(hash)


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("naive datetime: every timestamp in Renshi carries its zone")


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
    exp, sub, gen = claims.get("exp"), claims.get("sub"), claims.get("gen")
    # bool is an int; none of them is meant. A credential issued before generations existed
    # has no "gen" and is refused: its person signs in once more.
    if type(exp) is not int or type(sub) is not int or type(gen) is not int:
        return None
    if now.timestamp() >= exp:
        return None
    return claims


def _expiry(now: datetime, ttl: timedelta) -> int:
    _require_aware(now)
    return int((now + ttl).timestamp())


def issue_token(who: Credential, now: datetime, cfg: AuthConfig) -> str:
    exp = _expiry(now, cfg.token_ttl)
    return _seal({"sub": who.person_id, "gen": who.gen, "exp": exp, "typ": _ACCESS}, cfg)


def read_token(token: str, now: datetime, cfg: AuthConfig) -> Credential | None:
    """Who a bearer token names, or None for anything expired, altered or not an access
    token (a session cookie sent as a bearer token included). Whether its generation is
    still the person's is the database's to say (``states.store.people.load_actor``)."""
    claims = _unseal(token, _ACCESS, now, cfg)
    return None if claims is None else Credential(int(claims["sub"]), int(claims["gen"]))


def token_expires_in(cfg: AuthConfig) -> int:
    """Seconds, for the ``expires_in`` field of an OAuth2-style token response."""
    return int(cfg.token_ttl.total_seconds())


# --- page sessions and CSRF -----------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """A signed-in browser. ``cookie`` and ``csrf`` are credentials: kept out of repr so
    they do not end up in logs."""

    person_id: int
    gen: int
    sid: str
    expires_at: datetime
    cookie: str = field(repr=False)
    csrf: str = field(repr=False)

    @property
    def credential(self) -> Credential:
        return Credential(self.person_id, self.gen)


def _derive_csrf(sid: str, cfg: AuthConfig) -> str:
    return hmac.new(cfg.secret, f"csrf:{sid}".encode(), hashlib.sha256).hexdigest()


def issue_session(who: Credential, now: datetime, cfg: AuthConfig) -> Session:
    """A new session with a fresh random id, so a sign-in never continues a session (and a
    CSRF token) that someone else may have planted or seen."""
    sid = secrets.token_urlsafe(16)
    exp = _expiry(now, cfg.session_ttl)
    claims = {"sub": who.person_id, "gen": who.gen, "sid": sid, "exp": exp, "typ": _SESSION}
    return Session(
        person_id=who.person_id,
        gen=who.gen,
        sid=sid,
        expires_at=datetime.fromtimestamp(exp, tz=UTC),
        cookie=_seal(claims, cfg),
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
        gen=int(claims["gen"]),
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
