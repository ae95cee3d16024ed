"""Mobile verification codes for registrations without an account.

A code proves the registrant holds the number. Only a hash is kept in its table; the code
itself travels to the SMS channel in the outbox notice that delivers it. One code a minute
per number; ten minutes to use it; five tries; used once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from states.clock import Clock
from states.errors import FormError, RuleRefused
from states.store.models import OutboxMessage, VerificationCode, table_of

codes_t, outbox_t = table_of(VerificationCode), table_of(OutboxMessage)
VALID = dt.timedelta(minutes=10)
EVERY = dt.timedelta(seconds=60)
TRIES = 5


def _hash(phone: str, code: str) -> str:
    return hashlib.sha256(f"{phone}:{code}".encode()).hexdigest()


def issue_code(db: Engine, clock: Clock, phone: str) -> None:
    now = clock.now()
    code = f"{secrets.randbelow(1_000_000):06d}"
    with db.begin() as conn:
        recent = conn.execute(
            select(codes_t.c.id).where(codes_t.c.phone == phone, codes_t.c.created_at > now - EVERY)
        ).first()
        if recent is not None:
            raise RuleRefused("code_rate", "验证码已发送，请1分钟后再试")
        conn.execute(
            insert(codes_t).values(
                phone=phone,
                code_hash=_hash(phone, code),
                created_at=now,
                expires_at=now + VALID,
                attempts=0,
            )
        )
        conn.execute(
            insert(outbox_t).values(
                case_id=None,
                kind="verification_code",
                recipient_id=None,
                recipient_role=None,
                recipient_unit_id=None,
                created_at=now,
                status="pending",
                payload={"phone": phone, "code": code, "minutes": int(VALID.total_seconds() // 60)},
            )
        )


# Built once: registration day runs these for every applicant.
LIVE_CODE = (
    select(codes_t)
    .where(
        codes_t.c.phone == bindparam("phone"),
        codes_t.c.used_at.is_(None),
        codes_t.c.expires_at > bindparam("now", type_=codes_t.c.expires_at.type),
    )
    .order_by(codes_t.c.id.desc())
    .limit(1)
)
USE_CODE = (
    update(codes_t)
    .where(codes_t.c.id == bindparam("code_id"), codes_t.c.used_at.is_(None))
    .values(used_at=bindparam("now", type_=codes_t.c.used_at.type))
)


def check_code(db: Engine, clock: Clock, phone: str, code: str) -> int:
    """The id of the number's newest live code if ``code`` matches it, without using it up:
    the caller consumes it (``use_code``) in the same transaction as what it proves, so a
    refused registration keeps its code. A wrong try is counted in its own transaction."""
    now = clock.now()
    with db.connect() as conn:
        row = conn.execute(LIVE_CODE, {"phone": phone, "now": now}).one_or_none()
    if row is None or row.attempts >= TRIES:
        raise FormError("code", "验证码已失效，请重新获取")
    if secrets.compare_digest(row.code_hash, _hash(phone, code)):
        return int(row.id)
    with db.begin() as conn:
        conn.execute(
            update(codes_t).where(codes_t.c.id == row.id).values(attempts=codes_t.c.attempts + 1)
        )
    raise FormError("code", "验证码错误")


def use_code(conn: Connection, code_id: int, now: dt.datetime) -> None:
    """Consume a checked code inside the caller's transaction; a code used meanwhile (the
    same code sent twice at once) makes the caller's whole transaction fail."""
    used = conn.execute(USE_CODE, {"code_id": code_id, "now": now}).rowcount
    if used != 1:
        raise FormError("code", "验证码已使用，请重新获取")
