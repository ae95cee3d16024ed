"""Mobile verification codes: proof that whoever registers or objects holds the number.

Only a hash is kept in its table; the code itself travels to the SMS channel in the outbox
notice that delivers it. Ten minutes to use it; five tries; used once; and only for the
``purpose`` it was sent for (a registration code never confirms an objection).

Every text costs the bureau money and lands on someone's phone, so sending is limited in four
ways (:data:`CODE_LIMITS`): one a minute and a few a day per number, a few an hour per
address, and a ceiling for the whole service, counted in the database so every worker agrees.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from states.clock import Clock
from states.errors import FormError
from states.store.models import OutboxMessage, VerificationCode, table_of
from states.throttle import Limit, Throttle

codes_t, outbox_t = table_of(VerificationCode), table_of(OutboxMessage)
VALID = dt.timedelta(minutes=10)
TRIES = 5
REGISTRATION = "registration"

PER_PHONE_MINUTE = Limit("code-phone-minute", "1/minute", "验证码已发送，请1分钟后再试")
PER_PHONE_DAY = Limit(
    "code-phone-day", "5/day", "该手机号今日获取验证码已达 {amount} 次上限，请明天再试"
)
PER_ADDRESS_HOUR = Limit("code-address-hour", "10/hour", "本网络获取验证码过于频繁，请1小时后再试")
SERVICE_DAY = Limit(
    "code-service-day", "20000/day", "今日验证码发送量已达系统上限，请明天再试或联系招聘办公室"
)
CODE_LIMITS = (PER_PHONE_MINUTE, PER_PHONE_DAY, PER_ADDRESS_HOUR, SERVICE_DAY)


def _hash(phone: str, code: str) -> str:
    return hashlib.sha256(f"{phone}:{code}".encode()).hexdigest()


def issue_code(
    db: Engine,
    clock: Clock,
    phone: str,
    *,
    address: str,
    purpose: str = REGISTRATION,
    throttle: Throttle | None = None,
) -> None:
    """Send a code to ``phone`` for ``purpose``, asked from network ``address``; raises
    :class:`~states.errors.TooMany` when a limit is spent, before anything is written."""
    (throttle or Throttle(db, clock)).spend(
        (PER_PHONE_MINUTE, phone),
        (PER_PHONE_DAY, phone),
        (PER_ADDRESS_HOUR, address),
        (SERVICE_DAY, "all"),
    )
    now = clock.now()
    code = f"{secrets.randbelow(1_000_000):06d}"
    with db.begin() as conn:
        conn.execute(
            insert(codes_t).values(
                phone=phone,
                purpose=purpose,
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
        codes_t.c.purpose == bindparam("purpose"),
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


def check_code(
    db: Engine, clock: Clock, phone: str, code: str, *, purpose: str = REGISTRATION
) -> int:
    """The id of the number's newest live code for ``purpose`` if ``code`` matches it,
    without using it up: the caller consumes it (``use_code``) in the same transaction as
    what it proves. A wrong try is counted in its own transaction."""
    now = clock.now()
    with db.connect() as conn:
        row = conn.execute(
            LIVE_CODE, {"phone": phone, "purpose": purpose, "now": now}
        ).one_or_none()
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
