"""The province-wide case ledger: one sealed row per case ever opened, chained in the order
the cases were opened. A case's own chain proves what happened to it; the ledger proves the
case exists at all, so deleting a whole case with every row of it still breaks a chain.

Only opening a case touches the ledger — never ``fire`` — and a bulk open appends its
cases in one statement. Appending must see the ledger's last row and write after it, so
appends queue: on PostgreSQL on a transaction-scoped advisory lock, released by the commit
(SQLite already runs one writer at a time). Callers append last in their transaction, so
the lock is held only for the commit, and never while waiting for another lock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Connection, insert, select, text

from states.audit import GENESIS, ledger_hasher
from states.audit_keys import sealer
from states.store.bulk import FastMany
from states.store.models import AuditLedger, table_of

ledger_t = table_of(AuditLedger)

# Any constant will do, as long as nothing else takes this advisory lock: "RENSHI" in ASCII.
LOCK_KEY = 0x52454E534849
LAST = select(ledger_t.c.seq, ledger_t.c.hash).order_by(ledger_t.c.seq.desc()).limit(1)
APPEND = FastMany(
    insert(ledger_t), ("seq", "case_id", "at", "first_hash", "key_id", "prev_hash", "hash")
)


def append(conn: Connection, opened: Sequence[tuple[int, str]], now: dt.datetime) -> None:
    """Record newly opened cases, ``(case id, hash of its first event)`` each, in order."""
    if not opened:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
    last = conn.execute(LAST).one_or_none()
    seq, prev = (int(last.seq), str(last.hash)) if last is not None else (0, GENESIS)
    seal = sealer()
    link = ledger_hasher(seal, now)
    rows = []
    for case_id, first in opened:
        seq += 1
        head = link(prev, seq, case_id, first)
        rows.append((seq, case_id, now, first, seal.key_id, prev, head))
        prev = head
    APPEND.run(conn, rows)
