"""Rewriting history, every way someone with write access to the database might try it, and
`renshi audit verify` catching each: plain (what the database and the audit key prove) and
`--against` a digest taken before the tampering (what only an outside copy can prove).

The province: case A declared, sent back with a reason and resubmitted (four events), case B
declared and approved by its school, case C declared last. A digest is taken, then one
tampering, then the real command line on the same database.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, Engine, Table, delete, select, text, update

from api.cli import main
from states import audit_keys
from states.audit import GENESIS, Sealer, event_body
from states.audit_digest import write_digest
from states.clock import FrozenClock, bureau_time
from states.engine import CaseEngine
from states.org import INSPECTOR
from states.processes import installed
from states.store.audit_store import verify_trail
from states.store.models import (
    AuditEvent,
    AuditLedger,
    Base,
    Case,
    JobRun,
    OutboxMessage,
    table_of,
)
from tests.cli import renshi_here as here
from tests.world import DECLARE, Driver, World, build_world

RENSHI = str(Path(sys.executable).parent / "renshi")
audit_t, cases_t, ledger_t = table_of(AuditEvent), table_of(Case), table_of(AuditLedger)
REASON = "继续教育学时证明缺2024年度"


def renshi(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed ``renshi`` command in a process of its own, as an operator runs it."""
    env = {**os.environ, "RENSHI_DATABASE_URL": db_url}
    return subprocess.run([RENSHI, *args], capture_output=True, text=True, env=env, timeout=120)


def verify(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``renshi audit verify`` through the same entry point, run in this process: the matrix
    runs it sixty times, and a fresh interpreter costs two seconds each."""
    result = CliRunner().invoke(
        main, ["audit", "verify", *args], env={"RENSHI_DATABASE_URL": db_url}
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


@dataclass
class Province:
    engine: Engine
    db_url: str
    a: int  # create, submit, send_back (with a reason), resubmit
    b: int  # create, submit, school_approve
    c: int  # create, submit: the last case opened
    a_before_resubmit: dict[str, Any]  # case A's row as it stood before its last event
    digest: Path


@pytest.fixture
def province(d: Driver, world: World, engine: Engine, db_url: str, tmp_path: Path) -> Province:
    a = d.declare(world.teacher("甲老师"))
    d.fire(a, "send_back", "school_officer", {"reason": REASON})
    before = dict(d.case(a)._mapping)
    d.fire(a, "resubmit", world.actors["甲老师"])
    b = d.declare(world.teacher("乙老师"))
    d.fire(b, "school_approve", "school_officer", {"comment": "材料齐全，同意"})
    c = d.declare(world.teacher("丙老师"))
    with engine.connect() as conn:
        assert list(verify_trail(conn)) == []
    digest = write_digest(engine, d.clock, tmp_path / "digests")
    return Province(engine, db_url, a, b, c, before, digest.path)


# --- the tamperings --------------------------------------------------------------------------
def _rows(conn: Connection, case_id: int) -> list[Any]:
    return list(
        conn.execute(select(audit_t).where(audit_t.c.case_id == case_id).order_by(audit_t.c.seq))
    )


def _rechain(conn: Connection, case_id: int, seal: Callable[[bytes], str], key: str | None) -> None:
    """Recompute a case's whole chain as its rows now read, and point the case at it."""
    prev = GENESIS
    for row in _rows(conn, case_id):
        body = event_body(
            case_id=row.case_id, seq=row.seq, version=row.version, at=row.at,
            actor_id=row.actor_id, actor_label=row.actor_label, event=row.event,
            from_state=row.from_state, to_state=row.to_state, payload=row.payload,
            data=row.data_digest,
        )  # fmt: skip
        head = seal((prev + body).encode())
        conn.execute(
            update(audit_t)
            .where(audit_t.c.id == row.id)
            .values(prev_hash=prev, hash=head, key_id=key)
        )
        prev = head
    conn.execute(update(cases_t).where(cases_t.c.id == case_id).values(audit_head=prev))


def _change_reason(conn: Connection, p: Province) -> None:
    conn.execute(
        update(audit_t)
        .where(audit_t.c.case_id == p.a, audit_t.c.seq == 3)
        .values(payload=json.dumps({"reason": "材料齐全"}, ensure_ascii=False))
    )


def _purge(conn: Connection, table: Table, where: Any) -> None:
    """Delete rows and, first, every row anywhere that refers to them."""
    for child in Base.metadata.sorted_tables:
        for fk in child.foreign_keys:
            if fk.column.table is table and child is not table:
                _purge(conn, child, fk.parent.in_(select(fk.column).where(where)))
    conn.execute(delete(table).where(where))


def row_edit(conn: Connection, p: Province) -> None:
    conn.execute(
        text("update audit_events set actor_label = '校长' where case_id = :c and seq = 3"),
        {"c": p.a},
    )


def row_delete(conn: Connection, p: Province) -> None:
    conn.execute(delete(audit_t).where(audit_t.c.case_id == p.a, audit_t.c.seq == 2))


def row_insert(conn: Connection, p: Province) -> None:
    """A made-up approval appended to case B, the case pointed at it."""
    last = _rows(conn, p.b)[-1]
    forged = {k: v for k, v in last._mapping.items() if k != "id"}
    fake = hashlib.sha256(b"forged").hexdigest()
    forged.update(seq=last.seq + 1, prev_hash=last.hash, hash=fake, event="appoint")
    forged.update(from_state=last.to_state, to_state="appointed", version=last.version + 1)
    conn.execute(audit_t.insert().values(**forged))
    conn.execute(
        update(cases_t)
        .where(cases_t.c.id == p.b)
        .values(seq=last.seq + 1, audit_head=fake, state="appointed", version=last.version + 1)
    )


def reorder(conn: Connection, p: Province) -> None:
    moves = ((2, 100), (3, 2), (100, 3))
    for old, new in moves:
        conn.execute(
            update(audit_t).where(audit_t.c.case_id == p.a, audit_t.c.seq == old).values(seq=new)
        )


def tail_delete_head_moved_back(conn: Connection, p: Province) -> None:
    """The resubmission deleted and the case's seq and head set back to the row before."""
    rows = _rows(conn, p.a)
    conn.execute(delete(audit_t).where(audit_t.c.id == rows[-1].id))
    conn.execute(
        update(cases_t)
        .where(cases_t.c.id == p.a)
        .values(seq=rows[-2].seq, audit_head=rows[-2].hash)
    )


def tail_delete_case_restored(conn: Connection, p: Province) -> None:
    """The same, and the whole case row put back as it stood before the last event."""
    rows = _rows(conn, p.a)
    conn.execute(delete(audit_t).where(audit_t.c.id == rows[-1].id))
    before = p.a_before_resubmit
    keep = ("seq", "audit_head", "state", "version", "data", "slot_key", "updated_at", "closed_at")
    conn.execute(update(cases_t).where(cases_t.c.id == p.a).values({k: before[k] for k in keep}))


def state_alone(conn: Connection, p: Province) -> None:
    conn.execute(update(cases_t).where(cases_t.c.id == p.b).values(state="appointed"))


def data_alone(conn: Connection, p: Province) -> None:
    data = dict(conn.execute(select(cases_t.c.data).where(cases_t.c.id == p.b)).scalar_one())
    conn.execute(
        update(cases_t)
        .where(cases_t.c.id == p.b)
        .values(data={**data, "target_title": "full_senior"})
    )


def unit_alone(conn: Connection, p: Province) -> None:
    """The case moved to another county's school (out of its officers' sight)."""
    other = conn.execute(text("select id, path from org_units where name = '西县一中'")).one()
    conn.execute(
        update(cases_t).where(cases_t.c.id == p.b).values(org_unit_id=other.id, org_path=other.path)
    )


def recomputed_plain(conn: Connection, p: Province) -> None:
    """The reason changed and the chain recomputed as it used to be hashed: plain SHA-256."""
    _change_reason(conn, p)
    key = conn.execute(select(audit_t.c.key_id).limit(1)).scalar_one()
    _rechain(conn, p.a, lambda m: hashlib.sha256(m).hexdigest(), key)


def recomputed_unkeyed(conn: Connection, p: Province) -> None:
    """The same, claiming the rows were written before events were keyed."""
    _change_reason(conn, p)
    _rechain(conn, p.a, lambda m: hashlib.sha256(m).hexdigest(), None)


def recomputed_wrong_key(conn: Connection, p: Province) -> None:
    """The reason changed and the chain resealed with a key of the forger's own."""
    _change_reason(conn, p)
    forger = Sealer(secrets.token_bytes(32))
    _rechain(conn, p.a, forger.seal, forger.key_id)


def recomputed_leaked_key(conn: Connection, p: Province) -> None:
    """The reason changed and the chain resealed with the real key (it leaked)."""
    _change_reason(conn, p)
    real = audit_keys.sealer()
    _rechain(conn, p.a, real.seal, real.key_id)


def case_deleted(conn: Connection, p: Province) -> None:
    """Case B and every row of it gone; its ledger row left."""
    _purge(conn, cases_t, cases_t.c.id == p.b)


def case_deleted_with_ledger_row(conn: Connection, p: Province) -> None:
    """Case B, every row of it and its ledger row gone."""
    _purge(conn, cases_t, cases_t.c.id == p.b)
    conn.execute(delete(ledger_t).where(ledger_t.c.case_id == p.b))


def last_case_deleted_with_ledger_row(conn: Connection, p: Province) -> None:
    """Case C, the last one opened: every row of it and the ledger's last row gone."""
    _purge(conn, cases_t, cases_t.c.id == p.c)
    conn.execute(delete(ledger_t).where(ledger_t.c.case_id == p.c))


# (tampering, the case the messages name or None for the ledger, what plain verify says —
# None where the database alone cannot tell, what --against says)
MATRIX: list[tuple[Callable[[Connection, Province], None], str, str | None, str]] = [
    (row_edit, "a", "记录内容与其哈希不符", "事项{a}"),
    (row_delete, "a", "序号不连续", "事项{a}"),
    (row_insert, "b", "记录内容与其哈希不符", "事项{b}"),
    (reorder, "a", "链接不一致", "事项{a}"),
    (tail_delete_head_moved_back, "a", "事项状态", "第4条记录已不存在"),
    (tail_delete_case_restored, "a", None, "第4条记录已不存在"),
    (state_alone, "b", "事项状态「appointed」", "事项{b}"),
    (data_alone, "b", "事项数据与审计链记录的不符", "事项{b}"),
    (unit_alone, "b", "事项数据与审计链记录的不符", "事项{b}"),
    (recomputed_plain, "a", "记录内容与其哈希不符", "与摘要"),
    (recomputed_unkeyed, "a", "未以审计密钥封存", "与摘要"),
    (recomputed_wrong_key, "a", "不在密钥环中", "与摘要"),
    (recomputed_leaked_key, "a", None, "与摘要"),
    (case_deleted, "b", "记载的事项已不存在", "第3条记录已不存在"),
    (case_deleted_with_ledger_row, "ledger", "第2条缺失", "事项{b}"),
    (last_case_deleted_with_ledger_row, "c", None, "事项{c}"),
]


@pytest.mark.parametrize(
    ("tamper", "who", "plain", "against"), MATRIX, ids=[m[0].__name__ for m in MATRIX]
)
def test_every_tampering_is_caught(
    province: Province,
    tamper: Callable[[Connection, Province], None],
    who: str,
    plain: str | None,
    against: str,
) -> None:
    p = province
    with p.engine.begin() as conn:
        tamper(conn, p)
    named = {"a": p.a, "b": p.b, "c": p.c}
    where = "全省事项总账" if who == "ledger" else f"事项{named[who]}"

    alone = verify(p.db_url)
    if plain is None:
        # What the database and the key cannot prove: only the digest knows what was there.
        assert alone.returncode == 0, alone.stderr
    else:
        assert alone.returncode == 1, alone.stdout
        assert "审计链损坏" in alone.stderr and where in alone.stderr, alone.stderr
        assert plain in alone.stderr, alone.stderr

    checked = verify(p.db_url, "--against", str(p.digest))
    assert checked.returncode == 1, checked.stdout
    said = against.format(**named)
    assert said in checked.stderr, checked.stderr
    if who != "ledger":
        assert f"事项{named[who]}" in checked.stderr, checked.stderr


def test_an_untouched_trail_verifies_against_its_digest_after_growing(
    province: Province, d: Driver
) -> None:
    """Chains grow after a digest: that is not a rewrite."""
    p = province
    d.fire(p.c, "school_approve", "school_officer", {"comment": "同意"})
    shown = verify(p.db_url, "--against", str(p.digest))
    assert shown.returncode == 0, shown.stderr
    assert "审计链完整" in shown.stdout and "与摘要" in shown.stdout


def test_a_digest_is_proven_before_it_is_believed(province: Province, tmp_path: Path) -> None:
    """A doctored digest (one made to match a rewritten database) is refused on its seal, and
    a digest swapped whole is refused on the fingerprint the inspectors hold."""
    p = province
    lines = gzip.decompress(p.digest.read_bytes()).decode().splitlines()
    lines[1] = json.dumps([p.a, 4, "0" * 64])
    doctored = tmp_path / "doctored.jsonl.gz"
    doctored.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    refused = verify(p.db_url, "--against", str(doctored))
    assert refused.returncode == 1 and "封印不符" in refused.stderr, refused.stderr

    held = hashlib.sha256(p.digest.read_bytes()).hexdigest()
    ok = verify(p.db_url, "--against", str(p.digest), "--fingerprint", held)
    assert ok.returncode == 0, ok.stderr
    other = renshi(
        p.db_url, "audit", "verify", "--against", str(p.digest), "--fingerprint", "ab" * 32
    )
    assert other.returncode == 1 and "指纹不符" in other.stderr


# --- keys ----------------------------------------------------------------------------------
@pytest.fixture
def keys(tmp_path: Path) -> Iterator[Path]:
    """A key ring of this test's own, for this process and the commands it starts."""
    before = os.environ["RENSHI_AUDIT_KEYS"]
    os.environ["RENSHI_AUDIT_KEYS"] = str(tmp_path / "keys")
    audit_keys.fresh()
    yield tmp_path / "keys"
    os.environ["RENSHI_AUDIT_KEYS"] = before
    audit_keys.fresh()


def test_rotated_keys_seal_new_events_and_old_ones_still_verify(
    d: Driver, world: World, db_url: str, tmp_path: Path, keys: Path
) -> None:
    first = d.declare(world.teacher("丁老师"))
    assert [f.name for f in keys.iterdir()] == ["0001.key"]
    assert oct((keys / "0001.key").stat().st_mode & 0o777) == "0o600"

    rotated = renshi(db_url, "audit", "rotate-key")
    assert rotated.returncode == 0, rotated.stderr
    assert "已新增审计密钥" in rotated.stdout
    audit_keys.fresh()  # a running server notices within RECHECK_SECONDS
    d.fire(first, "school_approve", "school_officer", {"comment": "同意"})
    with d.eng.db.connect() as conn:
        sealed = (
            conn.execute(
                select(audit_t.c.key_id).where(audit_t.c.case_id == first).order_by(audit_t.c.seq)
            )
            .scalars()
            .all()
        )
    old, new = (f.key_id for f in audit_keys.read_ring(keys).files())
    assert sealed == [old, old, new]
    listed = here(db_url, "audit", "keys")
    assert old in listed.stdout and f"{new}" in listed.stdout and "（当前）" in listed.stdout
    assert verify(db_url).returncode == 0

    # A key removed from the ring: what it sealed is reported by name, never passed over.
    (keys / "0001.key").rename(tmp_path / "away.key")
    missing = renshi(db_url, "audit", "verify")
    assert missing.returncode == 1
    assert f"审计密钥{old}不在密钥环中" in missing.stderr and f"事项{first}" in missing.stderr
    (tmp_path / "away.key").rename(keys / "0001.key")
    assert renshi(db_url, "audit", "verify").returncode == 0


# --- the digest and its notice ---------------------------------------------------------------
def test_digest_command_writes_the_file_and_tells_the_inspectors(
    d: Driver, world: World, db_url: str, tmp_path: Path
) -> None:
    inspector = world.officer("inspector", INSPECTOR, "province")
    case_id = d.declare(world.teacher("戊老师"))
    out = tmp_path / "digests"
    made = renshi(db_url, "--at", "2026-09-02T01:30", "audit", "digest", "--out", str(out))
    assert made.returncode == 0, made.stderr
    [path] = out.iterdir()
    fingerprint = hashlib.sha256(path.read_bytes()).hexdigest()
    assert fingerprint in made.stdout and path.name.startswith("audit-digest-20260902-013000")
    with d.eng.db.connect() as conn:
        [note] = conn.execute(
            select(OutboxMessage).where(OutboxMessage.kind == "audit_digest")
        ).all()
    assert note.recipient_role == INSPECTOR and note.recipient_unit_id == world.unit("province")
    assert note.payload["fingerprint"] == fingerprint and note.payload["breaks"] == 0

    from notifications.dispatch import dispatch
    from states.store.models import Notification

    dispatch(d.eng.db, d.clock, {}, catalogue=d.eng.processes)
    with d.eng.db.connect() as conn:
        [inbox] = conn.execute(
            select(Notification).where(Notification.person_id == inspector.person_id)
        ).all()
    assert "审计摘要" in inbox.title and fingerprint in inbox.body
    assert "校验未发现异常" in inbox.body and path.name in inbox.body
    assert note.payload["cases"] == 1 and case_id
    assert verify(db_url, "--against", str(path)).returncode == 0
    # taken by hand, it is listed on the 系统运行 page beside the nightly runs of the same job
    with d.eng.db.connect() as conn:
        [run] = conn.execute(select(JobRun).where(JobRun.job == "audit-digest")).all()
    assert (run.trigger, run.outcome) == ("cli", "ok")
    assert run.counts["fingerprint"] == fingerprint and run.counts["file"] == str(path)


# --- many openings at once ---------------------------------------------------------------------
@pytest.fixture
def pg(pg_engine: Engine) -> Engine:
    """The session's PostgreSQL schema, emptied for this test (SQLite runs one writer at a
    time: there is nothing to race there)."""
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with pg_engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    return pg_engine


def test_concurrent_openings_queue_on_the_ledger(pg: Engine) -> None:
    """Sixteen teachers declaring at the same moment on PostgreSQL, beside a bulk opening:
    every case opens, none fails or deadlocks, and the ledger holds them all in one chain."""
    world = build_world(pg, experts=0)
    eng = CaseEngine(pg, installed(), FrozenClock(bureau_time(2026, 9, 1)))
    teachers = [world.teacher(f"并发{i}") for i in range(16)]
    officer = world.actors["county_officer"]
    barrier = threading.Barrier(17)
    outcomes: list[Any] = [None] * 17

    def declare(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            outcomes[i] = [eng.start("title_review", teachers[i], DECLARE, submit=True).case_id]
        except Exception as exc:  # the outcome under test, whatever it is
            outcomes[i] = exc

    def bulk() -> None:
        barrier.wait(timeout=30)
        try:
            with pg.begin() as conn:
                items = [(world.unit("urban"), {"n": n}) for n in range(50)]
                outcomes[16] = eng.open_many("title_review", items, officer, conn=conn)
        except Exception as exc:  # the outcome under test, whatever it is
            outcomes[16] = exc

    threads = [threading.Thread(target=declare, args=(i,)) for i in range(16)]
    threads.append(threading.Thread(target=bulk))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert all(isinstance(o, list) for o in outcomes), outcomes
    opened = sorted(c for o in outcomes for c in o)
    with pg.connect() as conn:
        ledger = conn.execute(select(ledger_t.c.seq, ledger_t.c.case_id).order_by(ledger_t.c.seq))
        seqs, cases = zip(*ledger, strict=True)
        assert list(seqs) == list(range(1, 67)) and sorted(cases) == opened
        assert [str(b) for b in verify_trail(conn)] == []
