"""The runner of the automated compliance checks (合规检查): any installed package's rule
(``ComplianceRule``) turned into findings, set-based, one transaction per rule.

Per run of one rule:

1. its ``prepare`` (if any) brings the rule's own data up to date (the pledge's issuing);
2. its ``hits`` — every subject breaking the rule now — go into a temporary table with one
   INSERT … SELECT;
3. the open findings still hit are marked seen (their detail and unit refreshed: a teacher
   who moved school is followed);
4. the open findings no longer hit are closed, 已整改（数据已更新）;
5. a finding is opened for each new hit — INSERT … SELECT … ON CONFLICT DO NOTHING against
   the partial unique index of open findings, so neither a second run nor a racing one can
   open a second finding for the same open problem — except a hit whose finding of this
   rule an officer above closed by hand (人工销号) in the current school year (from 1
   September): that is not opened again until the next school year (counted ``waived``);
6. the officers of each unit with new findings are told once (one notice per unit and run,
   however many teachers);
7. the officers of each unit with open findings whose explanation's expected date (情况说明的
   预计整改日期) passed since the previous run are reminded once (``notify.due`` picks them
   before step 3 marks the findings seen, ``notify.remind`` writes one notice per unit).

All of it commits together or not at all: a rule failing at any step (a database refusal,
a query that cannot run) leaves the findings as they were and is reported as the run's
failure. On PostgreSQL runs of the same rule queue on an advisory lock (two runs updating
the same findings in different orders would otherwise deadlock); SQLite's writers queue
anyway.
"""

from __future__ import annotations

import datetime as dt
import logging
import zlib
from collections import Counter
from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    MetaData,
    Table,
    Text,
    exists,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError

from states.clock import BUREAU_TZ, local_date
from states.engine.outbox import notice, send_many
from states.errors import FormError, RenshiError
from states.org import OFFICER_OF_TIER
from states.process.package import COMPLIANCE_COUNTS, ComplianceRule
from states.processes.compliance import notify
from states.processes.compliance.pledge import school_year
from states.processes.compliance.tables import ComplianceFinding
from states.registry.imports import chunks
from states.store.models import OrgUnit, table_of

log = logging.getLogger(__name__)

findings_t, units_t = table_of(ComplianceFinding), table_of(OrgUnit)
CLOSED_HOW: Final = "已整改（数据已更新）"
NOTICE: Final = "compliance_found"

# This run's hits, private to the connection (a temporary table: two runs at once never see
# each other's), dropped at the end of the transaction.
hits_t = Table(
    "compliance_hits",
    MetaData(),
    Column("subject_id", BigInteger, primary_key=True),
    Column("unit_id", BigInteger),
    Column("detail", Text),
)


class CheckFailed(RenshiError):
    """A rule that could not run to the end: nothing of the run was kept."""

    status = 500
    code = "check_failed"


def _lock(conn: Connection, code: str) -> None:
    if conn.dialect.name == "postgresql":
        key = zlib.crc32(f"compliance:{code}".encode())
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _fill(conn: Connection, hits: Any) -> int:
    """The rule's hits into the temporary table (a subject listed twice kept once)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("DROP TABLE IF EXISTS pg_temp.compliance_hits")
        conn.exec_driver_sql(
            "CREATE TEMPORARY TABLE compliance_hits (subject_id BIGINT PRIMARY KEY, "
            "unit_id BIGINT, detail TEXT) ON COMMIT DROP"
        )
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement: Any = pg_insert(hits_t).on_conflict_do_nothing()
    else:
        conn.exec_driver_sql("DROP TABLE IF EXISTS temp.compliance_hits")
        conn.exec_driver_sql(
            "CREATE TEMPORARY TABLE compliance_hits (subject_id INTEGER PRIMARY KEY, "
            "unit_id INTEGER, detail TEXT)"
        )
        statement = hits_t.insert().prefix_with("OR IGNORE")
    conn.execute(statement.from_select(["subject_id", "unit_id", "detail"], hits))
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE compliance_hits")  # temporary tables are never analysed
    # counted, not the INSERT's rowcount (which an INSERT … SELECT does not give on every driver)
    return int(conn.execute(select(func.count()).select_from(hits_t)).scalar_one())


def _drop(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("DROP TABLE IF EXISTS temp.compliance_hits")
    # PostgreSQL drops it at the commit (ON COMMIT DROP)


def period_start(today: dt.date) -> dt.datetime:
    """The start of the period a finding closed by hand stays closed in: the school year
    (1 September, as the pledge's and rotation's years) that ``today`` falls in."""
    return dt.datetime(school_year(today), 9, 1, tzinfo=BUREAU_TZ)


def _waived(rule: ComplianceRule, since: dt.datetime) -> Any:
    """This run's hit closed by hand for the same rule and subject since ``since``."""
    f, h = findings_t, hits_t
    return exists().where(
        f.c.rule == rule.code,
        f.c.subject_kind == rule.subject,
        f.c.subject_id == h.c.subject_id,
        f.c.closed_by.is_not(None),
        f.c.closed_at >= since,
    )


def _open_new(conn: Connection, rule: ComplianceRule, now: Any, since: dt.datetime) -> list[int]:
    """A finding for each hit without an open one, unless closed by hand since ``since``;
    the units of those opened."""
    f, h, u = findings_t, hits_t, units_t
    new = (
        select(
            literal(rule.code),
            literal(rule.subject),
            h.c.subject_id,
            h.c.unit_id,
            u.c.path,
            h.c.detail,
            literal(now, f.c.opened_at.type),
            literal(now, f.c.last_seen_at.type),
        )
        .select_from(h.outerjoin(u, u.c.id == h.c.unit_id))
        .where(
            ~exists().where(
                f.c.rule == rule.code,
                f.c.subject_kind == rule.subject,
                f.c.subject_id == h.c.subject_id,
                f.c.closed_at.is_(None),
            ),
            ~_waived(rule, since),
        )
    )
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement: Any = pg_insert(f)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(f)
    statement = (
        statement.from_select(
            [
                "rule", "subject_kind", "subject_id", "unit_id", "unit_path", "detail",
                "opened_at", "last_seen_at",
            ],
            new,
        )
        .on_conflict_do_nothing(
            index_elements=["rule", "subject_kind", "subject_id"],
            index_where=f.c.closed_at.is_(None),
        )
        .returning(f.c.unit_id)
    )  # fmt: skip
    return [int(x) for x in conn.execute(statement).scalars()]


def _notify(
    conn: Connection, rule: ComplianceRule, opened: Counter[int], today: Any, now: Any
) -> int:
    """One notice to the officers of each unit with new findings, whatever their number."""
    if not opened:
        return 0
    units: dict[int, Any] = {}
    for part in chunks(sorted(opened)):
        for r in conn.execute(
            select(units_t.c.id, units_t.c.tier, units_t.c.name).where(units_t.c.id.in_(part))
        ):
            units[int(r.id)] = r
    rows = []
    for unit_id, n in sorted(opened.items()):
        unit = units.get(unit_id)
        if unit is None or unit.tier not in OFFICER_OF_TIER:
            continue
        body = {
            "task_title": rule.label,
            "task_detail": f"{unit.name}新发现{n}项问题：{rule.advice}",
            "task_date": today.isoformat(),
            "rule": rule.code,
            "count": n,
        }
        rows.append(
            notice(None, NOTICE, now, body, role=OFFICER_OF_TIER[unit.tier], unit_id=unit_id)
        )
    send_many(conn, rows)
    return len(rows)


def _run(conn: Connection, rule: ComplianceRule, now: Any) -> dict[str, int]:
    today = local_date(now)
    _lock(conn, rule.code)
    counts: dict[str, int] = dict(rule.prepare(conn, today, now)) if rule.prepare else {}
    hit = _fill(conn, rule.hits(conn, today))
    due = notify.due(conn, rule, hits_t, today)  # before this run marks the findings seen
    f, h, u = findings_t, hits_t, units_t
    mine = (f.c.rule == rule.code, f.c.subject_kind == rule.subject, f.c.closed_at.is_(None))
    conn.execute(
        update(f)
        .where(*mine, f.c.subject_id == h.c.subject_id, u.c.id == h.c.unit_id)
        .values(last_seen_at=now, detail=h.c.detail, unit_id=h.c.unit_id, unit_path=u.c.path)
    )
    closed = conn.execute(
        update(f)
        .where(*mine, ~exists().where(h.c.subject_id == f.c.subject_id))
        .values(closed_at=now, closed_how=CLOSED_HOW)
    ).rowcount
    since = period_start(today)
    waived = int(
        conn.execute(select(func.count()).select_from(h).where(_waived(rule, since))).scalar_one()
    )
    opened = _open_new(conn, rule, now, since)
    notified = _notify(conn, rule, Counter(opened), today, now)
    reminded = notify.remind(conn, rule, due, today, now)
    _drop(conn)
    counts.update(open=hit - waived, found=len(opened), closed=int(closed or 0), notified=notified)
    if waived:
        counts["waived"] = waived
    if reminded:
        counts["reminded"] = reminded
    return counts


# What a run's counts say, in the words of the command line and the API.
COUNT_WORDS: Final = COMPLIANCE_COUNTS  # the runner's contract says what its counts mean


def count_words(counts: Mapping[str, int]) -> str:
    return "，".join(f"{COUNT_WORDS.get(k, k)}{n}" for k, n in counts.items())


def run_rule(engine: Any, rule: ComplianceRule) -> Mapping[str, int]:
    """Run one rule now (the catalogue's ``compliance_check`` wraps this as each rule's
    scheduled job): counts of what is open, opened, closed and who was told."""
    now = engine.clock.now()
    try:
        with engine.db.begin() as conn:
            return _run(conn, rule, now)
    except DBAPIError as exc:
        log.exception("compliance check %s failed", rule.code)
        raise CheckFailed(
            f"合规检查「{rule.label}」未能完成，本次检查未作任何改动（数据库错误：{type(exc.orig).__name__}）"
        ) from exc


def rules_of(engine: Any, code: str | None = None) -> list[ComplianceRule]:
    """The installed rules, or the one named ``code`` (refused by name when unknown)."""
    rules = engine.processes.compliance_rules()
    if code is None:
        return list(rules)
    found = [r for r in rules if r.code == code]
    if not found:
        known = "、".join(f"{r.code}（{r.label}）" for r in rules)
        raise FormError("rule", f"没有检查项“{code}”；可选：{known}")
    return found


def run_all(engine: Any, code: str | None = None) -> dict[str, Mapping[str, int] | str]:
    """Every rule (or one), each in its own transaction: one failing is reported and never
    stops the others. rule code -> its counts, or the reason it failed."""
    out: dict[str, Mapping[str, int] | str] = {}
    for rule in rules_of(engine, code):
        try:
            out[rule.code] = run_rule(engine, rule)
        except RenshiError as exc:
            out[rule.code] = exc.message
    return out
