"""Rate limits on what the public and sign-in can ask for: codes, sign-in attempts, objections.

The limits themselves (``5/day``, fixed windows) are the ``limits`` library's; its counters
are kept in Renshi's own database (:class:`SqlStorage`, table ``rate_counters``) rather than
in one process's memory, so that every API worker behind the proxy counts the same attempts
and a restart forgets nothing. Windows are measured on the injected :class:`~states.clock.Clock`
so that tests and the demo's fast-forwarded time see the windows move.

A request usually answers to several limits at once (a code: per phone, per address, and the
ceiling for the whole service). :meth:`Throttle.spend` tests all of them before it counts any,
so an attempt refused by one limit does not use up the others.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Final

from limits import RateLimitItem, parse
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from states.clock import Clock
from states.errors import TooMany
from states.store.db import reader
from states.store.models import RateCounter, table_of

counters_t = table_of(RateCounter)
_KEY_CHARS: Final = 255


@dataclass(frozen=True)
class Limit:
    """One rule: how many (``rate``, in the ``limits`` notation such as ``"5/day"``), counted
    per what (``name``, which namespaces the keys), and the Chinese sentence a refused person
    reads. ``{amount}`` in the message is the rate's count."""

    name: str
    rate: str
    message: str
    item: RateLimitItem = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "item", parse(self.rate))

    @property
    def text(self) -> str:
        return self.message.format(amount=self.item.amount)


class SqlStorage(Storage):
    """A ``limits`` storage on a SQLAlchemy engine: a fixed-window counter per key.

    Each increment is one short write transaction (SQLite's ``BEGIN IMMEDIATE`` and
    PostgreSQL's row lock serialise two workers counting the same key); a key whose window
    has passed starts again at the amount.
    """

    STORAGE_SCHEME: list[str] | None = ["renshi+sql"]  # noqa: RUF012 (declared so by limits)

    def __init__(self, db: Engine, clock: Clock) -> None:
        super().__init__()
        self.db = db
        self.clock = clock

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    def _now(self) -> dt.datetime:
        return self.clock.now()

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        key = key[:_KEY_CHARS]
        for _ in range(2):  # a second pass only if another worker inserted the key meanwhile
            now = self._now()
            with self.db.begin() as conn:
                row = conn.execute(
                    select(counters_t.c.count.label("n"), counters_t.c.expires_at)
                    .where(counters_t.c.key == key)
                    .with_for_update()
                ).one_or_none()
                fresh = {"count": amount, "expires_at": now + dt.timedelta(seconds=expiry)}
                if row is None:
                    try:
                        with conn.begin_nested():
                            conn.execute(insert(counters_t).values(key=key, **fresh))
                    except IntegrityError:
                        continue
                    return amount
                where = counters_t.c.key == key
                if row.expires_at <= now:
                    conn.execute(update(counters_t).where(where).values(**fresh))
                    return amount
                conn.execute(update(counters_t).where(where).values(count=row.n + amount))
                return int(row.n) + amount
        raise SQLAlchemyError(f"rate counter {key!r} could not be written")

    def get(self, key: str) -> int:
        with reader(self.db).connect() as conn:
            row = conn.execute(
                select(counters_t.c.count.label("n"), counters_t.c.expires_at).where(
                    counters_t.c.key == key[:_KEY_CHARS]
                )
            ).one_or_none()
        if row is None or row.expires_at <= self._now():
            return 0
        return int(row.n)

    def get_expiry(self, key: str) -> float:
        """When the key's window ends, as a POSIX timestamp (now, for a key with none)."""
        with reader(self.db).connect() as conn:
            expires = conn.execute(
                select(counters_t.c.expires_at).where(counters_t.c.key == key[:_KEY_CHARS])
            ).scalar_one_or_none()
        now = self._now()
        return (expires if expires is not None and expires > now else now).timestamp()

    def check(self) -> bool:
        try:
            with reader(self.db).connect() as conn:
                conn.execute(select(1))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self.db.begin() as conn:
            return conn.execute(delete(counters_t)).rowcount

    def clear(self, key: str) -> None:
        with self.db.begin() as conn:
            conn.execute(delete(counters_t).where(counters_t.c.key == key[:_KEY_CHARS]))

    def purge(self) -> int:
        """Forget every counter whose window has passed; the daily sweep calls it so that
        one row per address and phone ever seen does not pile up."""
        with self.db.begin() as conn:
            return conn.execute(
                delete(counters_t).where(counters_t.c.expires_at <= self._now())
            ).rowcount


class Throttle:
    """The one way Renshi rate-limits: ``spend`` a set of (limit, identifier) pairs."""

    def __init__(self, db: Engine, clock: Clock) -> None:
        self.storage = SqlStorage(db, clock)
        self.limiter = FixedWindowRateLimiter(self.storage)
        self.clock = clock

    def refusal(self, *checks: tuple[Limit, str]) -> TooMany | None:
        """The first spent limit among ``checks``, as the error to raise, without counting."""
        for limit, ident in checks:
            if not self.limiter.test(limit.item, limit.name, ident):
                reset = self.storage.get_expiry(limit.item.key_for(limit.name, ident))
                wait = math.ceil(reset - self.clock.now().timestamp())
                return TooMany(limit.text, retry_after=wait, limit=limit.name)
        return None

    def spend(self, *checks: tuple[Limit, str]) -> None:
        """Count one attempt against every limit, or raise :class:`TooMany` for the first
        that is spent without counting against any."""
        refused = self.refusal(*checks)
        if refused is not None:
            raise refused
        for limit, ident in checks:
            self.limiter.hit(limit.item, limit.name, ident)

    def forget(self, limit: Limit, ident: str) -> None:
        """Start ``ident``'s count for ``limit`` again (a correct password clears its
        account's failures)."""
        self.storage.clear(limit.item.key_for(limit.name, ident))

    def count(self, limit: Limit, ident: str) -> int:
        return self.storage.get(limit.item.key_for(limit.name, ident))

    def purge(self) -> int:
        return self.storage.purge()
