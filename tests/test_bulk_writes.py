"""Rows written by the bulk path are stored exactly as the ordinary path stores them.

Timestamps in particular: SQLite keeps them as text, and a differently spelled timestamp
would sort and compare wrongly against every other row.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from states.engine.statements import BULK_AUDIT, INSERT_AUDIT
from tests.world import Driver, World


def test_fast_executemany_stores_what_sqlalchemy_stores(d: Driver, world: World) -> None:
    case_id = d.declare(world.teacher("孙老师"))
    at = dt.datetime(2026, 3, 2, 8, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))  # whole second
    row = {
        "case_id": case_id,
        "version": 9,
        "at": at,
        "actor_id": None,
        "actor_label": "系统",
        "event": "shortlist",
        "from_state": "examined",
        "to_state": "shortlisted",
        "payload": "{}",
        "idempotency_key": None,
        "prev_hash": "0" * 64,
        "hash": "1" * 64,
        "key_id": "0123456789ab",
        "data_digest": None,
    }
    with d.eng.db.begin() as conn:
        conn.execute(INSERT_AUDIT, [{**row, "seq": 100}])
        columns = BULK_AUDIT.columns
        assert BULK_AUDIT.run(conn, [tuple({**row, "seq": 101}[c] for c in columns)]) == 1
    with d.eng.db.connect() as conn:
        stored = conn.execute(
            text(
                "select seq, at, actor_id, actor_label, event, from_state, to_state, payload, "
                "prev_hash, hash, key_id, data_digest from audit_events "
                "where case_id = :c and seq >= 100 order by seq"
            ),
            {"c": case_id},
        ).all()
    ordinary, bulk = (tuple(r)[1:] for r in stored)
    assert bulk == ordinary


def test_driver_level_statements_read_and_fail_like_sqlalchemy(d: Driver, world: World) -> None:
    """The transition's statements run on the driver's cursor: rows must come back typed as
    SQLAlchemy types them (aware timestamps, JSON as dicts), and a broken constraint must
    still be SQLAlchemy's IntegrityError, which the engine turns into a 409."""
    from sqlalchemy import bindparam, select
    from sqlalchemy.exc import IntegrityError

    from states.engine.statements import HOT, LOAD_CASE, cases_t
    from states.store.bulk import FastOne

    case_id = d.declare(world.teacher("孙老师"))
    whole = select(cases_t).where(cases_t.c.id == bindparam("case_id"))
    with d.eng.db.connect() as conn:
        fast = HOT.load_case.one_or_none(conn, {"case_id": case_id})
        core = conn.execute(LOAD_CASE, {"case_id": case_id}).one()
        assert tuple(fast) == tuple(core) and isinstance(fast.data, dict)
        every = FastOne(whole).one_or_none(conn, {"case_id": case_id})
        assert tuple(every) == tuple(conn.execute(whole, {"case_id": case_id}).one())
        assert every.opened_at.tzinfo is not None and isinstance(every.data, dict)
        assert HOT.load_case.one_or_none(conn, {"case_id": 10**9}) is None
    with d.eng.db.connect() as conn:
        first = conn.execute(
            text("select * from audit_events where case_id = :c order by seq limit 1"),
            {"c": case_id},
        ).one()
        row = {k: v for k, v in first._mapping.items() if k != "id"}
        row["at"] = dt.datetime.now(dt.UTC)
        with pytest.raises(IntegrityError):
            HOT.audit.run(conn, row)
