"""The daily audit digest: every case's chain head and the ledger's, written outside the
database and announced to the province's inspectors, so that a later rewrite of anything
before it is caught even by someone who holds the audit key.

A digest is a gzip'd JSON-lines file: a header (when, which key sealed it, the ledger's
head, how many breaks the day's verification found), one line ``[case id, seq, hash]`` per
case, and a footer with the count and the seal (HMAC under the audit key over the SHA-256 of
everything before it). Its fingerprint, the SHA-256 of the file as stored, goes to every
inspector of the province in a notice: an independent copy, outside the database and the
server, of what the file must be.

``check_against`` proves that nothing named in a digest changed since: every case's event at
the digest's seq still has the digest's hash (chains may have grown since), and so does the
ledger row at its seq. Together with ``verify_trail`` (every chain consistent up to its
head) that proves each chain up to the digest untouched.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import hashlib
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select, tuple_

from states import audit_keys
from states.audit import stamp
from states.audit_keys import KeyRing
from states.clock import BUREAU_TZ, Clock
from states.engine.outbox import notice, send
from states.org import INSPECTOR
from states.store.audit_store import LEDGER, Break, verify_trail
from states.store.db import reader
from states.store.models import AuditEvent, AuditLedger, Case, OrgUnit, table_of

audit_t, cases_t = table_of(AuditEvent), table_of(Case)
ledger_t, units_t = table_of(AuditLedger), table_of(OrgUnit)

DIGESTS_ENV = "RENSHI_AUDIT_DIGESTS"
FORMAT = "renshi-audit-digest/1"
KIND = "audit_digest"  # the notice to the inspectors
CHUNK = 2000


class DigestError(ValueError):
    """A digest file that cannot be used as evidence: unreadable, not sealed by a key of
    the ring, or not the file the inspectors were told of."""


def digest_dir() -> Path:
    """``RENSHI_AUDIT_DIGESTS``, else ``audit-digests`` next to the other local state."""
    explicit = os.environ.get(DIGESTS_ENV, "").strip()
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("RENSHI_VAR", "var")) / "audit-digests"


@dataclass(frozen=True)
class Digest:
    path: Path
    fingerprint: str  # SHA-256 of the file as stored
    cases: int
    breaks: int  # what the verification before it found
    taken_at: dt.datetime
    key_id: str


def _seal_text(content_sha: str) -> bytes:
    return f"{FORMAT}\0{content_sha}".encode()


def fingerprint_of(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def write_digest(db: Engine, clock: Clock, directory: Path | None = None) -> Digest:
    """Verify the trail, write the digest of every chain head, and queue its fingerprint to
    the province's inspectors. The heads are read in one transaction: a consistent view."""
    now = clock.now()
    seal = audit_keys.sealer()
    directory = directory or digest_dir()
    directory.mkdir(parents=True, exist_ok=True)
    local = now.astimezone(BUREAU_TZ).strftime("%Y%m%d-%H%M%S")
    tmp = directory / f".digest-{secrets.token_hex(8)}.tmp"
    with _snapshot(db) as conn:
        breaks = sum(1 for _ in verify_trail(conn))
        last = conn.execute(
            select(ledger_t.c.seq, ledger_t.c.hash).order_by(ledger_t.c.seq.desc()).limit(1)
        ).one_or_none()
        header = {
            "format": FORMAT, "taken_at": stamp(now), "key": seal.key_id, "breaks": breaks,
            "ledger": [int(last.seq), last.hash] if last is not None else None,
        }  # fmt: skip
        content = hashlib.sha256()
        cases = 0
        try:
            with open(tmp, "xb") as raw:
                with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
                    _line(out, content, header)
                    heads = select(cases_t.c.id, cases_t.c.seq, cases_t.c.audit_head)
                    stream = conn.execution_options(yield_per=5000).execute(
                        heads.order_by(cases_t.c.id)
                    )
                    for row in stream:
                        _line(out, content, [int(row.id), int(row.seq), row.audit_head])
                        cases += 1
                    sealed = seal.seal(_seal_text(content.hexdigest()))
                    footer = {"cases": cases, "seal": sealed}
                    out.write((json.dumps(footer, separators=(",", ":")) + "\n").encode())
                raw.flush()
                os.fsync(raw.fileno())  # the gzip trailer included: closed above
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    path = _publish(tmp, directory, f"audit-digest-{local}")
    digest = Digest(path, fingerprint_of(path), cases, breaks, now, seal.key_id)
    _announce(db, digest)
    return digest


@contextlib.contextmanager
def _snapshot(db: Engine) -> Iterator[Connection]:
    """One read-only view for the verification and the heads: on PostgreSQL a repeatable
    read transaction, on SQLite the snapshot WAL gives a read transaction anyway."""
    with reader(db).connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def _line(out: gzip.GzipFile, content: Any, value: Any) -> None:
    data = (json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    content.update(data)
    out.write(data)


def _publish(tmp: Path, directory: Path, stem: str) -> Path:
    """Give the file its name without replacing any digest already there."""
    try:
        for n in range(1, 1000):
            path = directory / (f"{stem}.jsonl.gz" if n == 1 else f"{stem}-{n}.jsonl.gz")
            try:
                os.link(tmp, path)
            except FileExistsError:
                continue
            return path
        raise DigestError(f"审计摘要文件名已用尽：{directory / stem}")
    finally:
        tmp.unlink(missing_ok=True)


def _announce(db: Engine, digest: Digest) -> None:
    """The fingerprint to every inspector of the province: their copy is the one that
    cannot be rewritten together with the database and the file."""
    payload = {
        "fingerprint": digest.fingerprint, "file": digest.path.name, "cases": digest.cases,
        "breaks": digest.breaks,
        "taken_at": digest.taken_at.astimezone(BUREAU_TZ).strftime("%Y-%m-%d %H:%M"),
    }  # fmt: skip
    with db.begin() as conn:
        provinces = conn.execute(select(units_t.c.id).where(units_t.c.tier == "province"))
        for unit_id in provinces.scalars():
            send(
                conn, notice(None, KIND, digest.taken_at, payload, role=INSPECTOR, unit_id=unit_id)
            )


@dataclass(frozen=True)
class Header:
    taken_at: str
    key_id: str
    ledger: tuple[int, str] | None
    cases: int


def read_header(path: Path, ring: KeyRing | None = None, fingerprint: str | None = None) -> Header:
    """The digest's header once its seal (and, if given, its fingerprint) are proven."""
    if fingerprint is not None and fingerprint_of(path).lower() != fingerprint.strip().lower():
        raise DigestError(f"摘要文件与督查员收到的指纹不符（文件被替换或改动）：{path.name}")
    ring = ring if ring is not None else audit_keys.fresh()
    content = hashlib.sha256()
    first: Any = None
    last: Any = None
    try:
        with gzip.open(path, "rb") as f:
            for line in f:
                if last is not None:
                    content.update(last)
                last = line
                if first is None:
                    first = json.loads(line)
        footer = json.loads(last) if last is not None else None
    except (OSError, EOFError, ValueError):
        raise DigestError(f"摘要文件无法读取：{path.name}") from None
    if not isinstance(first, dict) or first.get("format") != FORMAT or not isinstance(footer, dict):
        raise DigestError(f"不是审计摘要文件：{path.name}")
    sealer = ring.get(first.get("key"))
    if sealer is None:
        raise DigestError(f"封存摘要的审计密钥{first.get('key')}不在密钥环中，无法证明摘要本身")
    if sealer.seal(_seal_text(content.hexdigest())) != footer.get("seal"):
        raise DigestError(f"摘要文件的封印不符（文件被改动）：{path.name}")
    ledger = first.get("ledger")
    return Header(
        taken_at=str(first["taken_at"]),
        key_id=str(first["key"]),
        ledger=(int(ledger[0]), str(ledger[1])) if ledger else None,
        cases=int(footer["cases"]),
    )


def _entries(path: Path) -> Iterator[tuple[int, int, str]]:
    with gzip.open(path, "rb") as f:
        next(f)
        for line in f:
            value = json.loads(line)
            if isinstance(value, list):
                yield int(value[0]), int(value[1]), str(value[2])


def check_against(
    conn: Connection,
    path: Path,
    *,
    fingerprint: str | None = None,
    ring: KeyRing | None = None,
    case_id: int | None = None,
) -> Iterator[Break]:
    """Every chain head and the ledger head the digest names, as they are now. Raises
    DigestError before yielding anything if the digest itself is not proven."""
    header = read_header(path, ring, fingerprint)
    when = header.taken_at
    chunk: list[tuple[int, int, str]] = []
    for entry in _entries(path):
        if case_id is not None and entry[0] != case_id:
            continue
        chunk.append(entry)
        if len(chunk) >= CHUNK:
            yield from _check_chunk(conn, chunk, when)
            chunk = []
    yield from _check_chunk(conn, chunk, when)
    if header.ledger is not None and case_id is None:
        seq, want = header.ledger
        now = conn.execute(select(ledger_t.c.hash).where(ledger_t.c.seq == seq)).scalar()
        if now is None:
            yield Break(
                None, None, None, f"摘要（{when}）记载的第{seq}条已不存在（总账末尾被删除）"
            )
        elif now != want:
            yield Break(None, None, None, f"第{seq}条与摘要（{when}）记载的不符（总账被改写）")


def _check_chunk(conn: Connection, chunk: list[tuple[int, int, str]], when: str) -> Iterator[Break]:
    if not chunk:
        return
    found = {
        (r.case_id, r.seq): (r.hash, r.event)
        for r in conn.execute(
            select(audit_t.c.case_id, audit_t.c.seq, audit_t.c.hash, audit_t.c.event).where(
                tuple_(audit_t.c.case_id, audit_t.c.seq).in_([(c, s) for c, s, _ in chunk])
            )
        )
    }
    for cid, seq, want in chunk:
        now = found.get((cid, seq))
        if now is None:
            yield Break(
                cid, None, None,
                f"摘要（{when}）记载的第{seq}条记录已不存在（记录或整个事项在摘要之后被删除）",
            )  # fmt: skip
        elif now[0] != want:
            yield Break(
                cid, seq, now[1],
                f"与摘要（{when}）记载的哈希不符（本条或之前的记录在摘要之后被改写）",
            )  # fmt: skip


__all__ = ["LEDGER", "Digest", "DigestError", "check_against", "write_digest"]
