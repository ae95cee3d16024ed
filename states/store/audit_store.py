"""Verifying the audit trail: recompute every chain and the case ledger with the audit keys
and compare them with what is stored.

What it proves without anything from outside the database: every event is as written
(its seal, under a key the database does not hold), no event was inserted, removed or
reordered inside a chain, every case row is where its chain ends (state, seq, version,
head, and the data and fixed columns the last writing event recorded), and every case
ever opened still exists (the province-wide ledger). What it cannot prove alone: that the
newest rows were not cut off whole — the end of a chain or of the ledger with everything
pointing at it moved back. The daily digest (states/audit_digest.py) proves that.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection, Select, select

from states import audit_keys
from states.audit import GENESIS, Sealer, digest_of_row, event_hash, ledger_hash
from states.audit_keys import KeyRing
from states.store.models import AuditEvent, AuditLedger, Case, table_of

audit_t = table_of(AuditEvent)
cases_t = table_of(Case)
ledger_t = table_of(AuditLedger)

CASE_COLUMNS = (
    cases_t.c.id, cases_t.c.seq, cases_t.c.audit_head, cases_t.c.state, cases_t.c.version,
    cases_t.c.process, cases_t.c.year, cases_t.c.org_unit_id, cases_t.c.org_path,
    cases_t.c.applicant_id, cases_t.c.subject_id, cases_t.c.parent_id, cases_t.c.slot_key,
    cases_t.c.data,
)  # fmt: skip
LEDGER = "全省事项总账"


@dataclass(frozen=True)
class Break:
    """One place where the stored trail is not what was written. ``case_id`` None: the
    ledger itself, where the case is unknown (its row is gone)."""

    case_id: int | None
    seq: int | None
    event: str | None
    problem: str

    def __str__(self) -> str:
        if self.case_id is None:
            return f"{LEDGER}：{self.problem}"
        where = f"事项{self.case_id}" + (f" 第{self.seq}条（{self.event}）" if self.seq else "")
        return f"{where}：{self.problem}"


class Keys:
    """The keys verification uses. Without a ring given, the process's ring, read again
    once when an event names a key it lacks (rotated by another process meanwhile)."""

    def __init__(self, ring: KeyRing | None = None) -> None:
        self.ring = ring if ring is not None else audit_keys.ring()
        self.refresh = ring is None
        self.missing: set[str] = set()

    def get(self, key_id: str | None) -> Sealer | None:
        if key_id is None or key_id in self.missing:
            return None
        found = self.ring.get(key_id)
        if found is None and self.refresh:
            self.ring, self.refresh = audit_keys.fresh(), False
            found = self.ring.get(key_id)
        if found is None:
            self.missing.add(key_id)
        return found


def _stream(conn: Connection, query: Select[Any]) -> Iterator[Any]:
    return iter(conn.execution_options(yield_per=5000).execute(query))


def verify_trail(
    conn: Connection, case_id: int | None = None, ring: KeyRing | None = None
) -> Iterator[Break]:
    """Yield every break: an edited row (its seal no longer matches), a row sealed with no
    key or with a key not in the ring (it cannot be proven — never passed over), a deleted
    or inserted row (the sequence or the links no longer line up), a chain that stops short
    of the case's recorded head, a case row its chain does not prove (its state, version,
    data, unit or applicant set apart from the events), and a case missing from the ledger
    or a ledger row whose case is gone. Streams cases, events and the ledger side by side
    in case order, so a province-sized trail is checked in constant memory."""
    keys = Keys(ring)
    cases = select(*CASE_COLUMNS).order_by(cases_t.c.id)
    events = select(audit_t).order_by(audit_t.c.case_id, audit_t.c.seq)
    entries = select(ledger_t).order_by(ledger_t.c.case_id)
    if case_id is not None:
        cases = cases.where(cases_t.c.id == case_id)
        events = events.where(audit_t.c.case_id == case_id)
        entries = entries.where(ledger_t.c.case_id == case_id)
    aligned = _aligned(_stream(conn, cases), _stream(conn, events), _stream(conn, entries))
    for cid, case, chain, entry in aligned:
        yield from _check_case(cid, case, chain, entry, keys)
    if case_id is None:
        yield from check_ledger(_stream(conn, select(ledger_t).order_by(ledger_t.c.seq)), keys)
    else:
        yield from _check_ledger_row(conn, case_id, keys)


def _aligned(
    cases: Iterator[Any], events: Iterator[Any], entries: Iterator[Any]
) -> Iterator[tuple[int, Any, list[Any], Any]]:
    """(case id, its case row or None, its events, its ledger row or None) for every case id
    any of the three streams names, in id order; each stream is sorted by case id."""
    chains = groupby(events, key=attrgetter("case_id"))
    case, chain, entry = next(cases, None), next(chains, None), next(entries, None)
    while case is not None or chain is not None or entry is not None:
        here = [
            x
            for x in (
                case.id if case is not None else None,
                chain[0] if chain is not None else None,
                entry.case_id if entry is not None else None,
            )
            if x is not None
        ]
        cid = min(here)
        row = case if case is not None and case.id == cid else None
        rows = list(chain[1]) if chain is not None and chain[0] == cid else []
        named = entry if entry is not None and entry.case_id == cid else None
        if row is not None:
            case = next(cases, None)
        if rows:
            chain = next(chains, None)
        if named is not None:
            entry = next(entries, None)
        yield cid, row, rows, named


def _check_case(cid: int, case: Any, chain: list[Any], entry: Any, keys: Keys) -> Iterator[Break]:
    if case is None:
        if chain:
            yield Break(cid, None, None, "审计记录所属的事项已不存在（事项被删除）")
        if entry is not None:
            yield Break(
                cid,
                None,
                None,
                f"{LEDGER}第{entry.seq}条记载的事项已不存在（事项连同其记录被删除）",
            )
        return
    if not chain:
        yield Break(cid, None, None, f"事项应有{case.seq}条审计记录，审计表中一条也没有")
    else:
        yield from _check_chain(cid, chain, keys)
        yield from _check_head(cid, chain, case)
    if entry is None:
        yield Break(cid, None, None, f"事项不在{LEDGER}中（事项是后来插入的，或总账被改写）")
    elif chain and chain[0].seq == 1 and entry.first_hash != chain[0].hash:
        yield Break(
            cid, 1, chain[0].event, f"与{LEDGER}记载的首条记录不符（事项的审计链被整体替换）"
        )


def _check_chain(cid: int, chain: list[Any], keys: Keys) -> Iterator[Break]:
    prev, expected_seq = GENESIS, 1
    for row in chain:
        if row.seq != expected_seq:
            yield Break(
                cid, row.seq, row.event, f"序号不连续：应为第{expected_seq}条（有记录被删除或插入）"
            )
        if row.prev_hash != prev:
            yield Break(cid, row.seq, row.event, "与前一条记录的链接不一致（前一条被修改或删除）")
        sealer = keys.get(row.key_id)
        if row.key_id is None:
            yield Break(
                cid, row.seq, row.event,
                "本条记录未以审计密钥封存（写于启用密钥之前，或被人以无密钥的哈希改写），无法证明未被改写",
            )  # fmt: skip
        elif sealer is None:
            yield Break(
                cid, row.seq, row.event, f"封存本条记录的审计密钥{row.key_id}不在密钥环中，无法校验"
            )
        elif _resealed(sealer, row) != row.hash:
            yield Break(
                cid, row.seq, row.event, "记录内容与其哈希不符（记录被修改，或被人用别的密钥重算）"
            )
        prev, expected_seq = row.hash, row.seq + 1


def _resealed(sealer: Sealer, row: Any) -> str:
    return event_hash(
        sealer,
        row.prev_hash,
        case_id=row.case_id,
        seq=row.seq,
        version=row.version,
        at=row.at,
        actor_id=row.actor_id,
        actor_label=row.actor_label,
        event=row.event,
        from_state=row.from_state,
        to_state=row.to_state,
        payload=row.payload,
        data=row.data_digest,
    )


def _check_head(cid: int, chain: list[Any], case: Any) -> Iterator[Break]:
    """The case row must be where its chain ends: same position and hash, the state the last
    event moved it to, the version that event recorded, and the row the last writing event
    recorded (data, slot, unit, applicant …)."""
    last = chain[-1]
    if last.seq != case.seq or last.hash != case.audit_head:
        yield Break(
            cid,
            last.seq,
            None,
            f"审计链止于第{last.seq}条，与事项当前版本{case.seq}不符（末尾记录被删除或修改）",
        )
        return
    if last.to_state != case.state:
        yield Break(
            cid,
            None,
            None,
            f"事项状态「{case.state}」与审计链末尾记录的状态「{last.to_state}」不符"
            "（事项状态被直接修改）",
        )
    if last.version is not None and last.version != case.version:
        yield Break(
            cid,
            None,
            None,
            f"事项版本{case.version}与审计链末尾记录的版本{last.version}不符（事项被直接修改）",
        )
    recorded = next((r.data_digest for r in reversed(chain) if r.data_digest is not None), None)
    if recorded is None:
        yield Break(cid, None, None, "审计链未记录事项数据的摘要，无法证明事项数据未被修改")
    elif recorded != digest_of_row(case):
        yield Break(
            cid,
            None,
            None,
            "事项数据与审计链记录的不符（事项的数据、名额、所属单位或申请人被直接修改）",
        )


def check_ledger(rows: Iterable[Any], keys: Keys) -> Iterator[Break]:
    """The ledger's own chain, in seq order: no row missing, inserted or changed."""
    prev, expected = GENESIS, 1
    for row in rows:
        if row.seq != expected:
            gone = f"第{expected}条" + (f"至第{row.seq - 1}条" if row.seq - 1 > expected else "")
            yield Break(None, None, None, f"{gone}缺失（有事项连同其总账记录被删除）")
        if row.prev_hash != prev:
            yield Break(
                row.case_id, None, None, f"{LEDGER}第{row.seq}条与前一条的链接不一致（总账被改写）"
            )
        yield from _ledger_seal(row, keys)
        prev, expected = row.hash, row.seq + 1


def _ledger_seal(row: Any, keys: Keys) -> Iterator[Break]:
    sealer = keys.get(row.key_id)
    if sealer is None:
        why = f"封存{LEDGER}第{row.seq}条的审计密钥{row.key_id}不在密钥环中，无法校验"
        yield Break(row.case_id, None, None, why)
        return
    again = ledger_hash(
        sealer, row.prev_hash, seq=row.seq, case_id=row.case_id, at=row.at,
        first_hash=row.first_hash,
    )  # fmt: skip
    if again != row.hash:
        yield Break(row.case_id, None, None, f"{LEDGER}第{row.seq}条内容与其哈希不符（总账被改写）")


def _check_ledger_row(conn: Connection, case_id: int, keys: Keys) -> Iterator[Break]:
    """One case's ledger row: its own seal and its link to the row before."""
    row = conn.execute(select(ledger_t).where(ledger_t.c.case_id == case_id)).one_or_none()
    if row is None:
        return  # reported with the case
    yield from _ledger_seal(row, keys)
    before = conn.execute(select(ledger_t.c.hash).where(ledger_t.c.seq == row.seq - 1))
    prev = before.scalar_one_or_none() if row.seq > 1 else GENESIS
    if prev != row.prev_hash:
        yield Break(case_id, None, None, f"{LEDGER}第{row.seq}条与前一条的链接不一致（总账被改写）")
