"""Writing a case: its row, version-checked, and one event appended to its hash chain.

The chain is per case: each event's seal (HMAC under the audit key, states/audit_keys.py)
covers the previous hash and the canonical JSON of the event, which records a digest of the
case row it leaves; rows are never updated or deleted. ``seq`` counts the chain, ``version``
counts the changes a client must have seen (annotations extend the chain without moving it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from states.audit import canonical, digest_of_row, event_hash
from states.audit_keys import sealer
from states.engine.statements import HOT
from states.errors import Conflict
from states.org import Actor


@dataclass(frozen=True)
class Keyed:
    """An idempotency key and the digest of what its request asked (who, which event, at
    which version, with what payload): both go on the audit row the request wrote."""

    key: str
    request: str


def append_audit(
    conn: Connection,
    case_id: int,
    seq: int,
    version: int,
    prev_hash: str,
    now: dt.datetime,
    actor: Actor,
    event: str,
    source: str | None,
    target: str,
    payload: str,
    key: Keyed | None,
    data: str | None,
) -> str:
    """Append one event to a case's chain, sealed with the ring's current key; returns its
    hash, the chain's new head. ``data``: the ``case_digest`` of the row it leaves."""
    seal = sealer()
    head = event_hash(
        seal,
        prev_hash,
        case_id=case_id,
        seq=seq,
        version=version,
        at=now,
        actor_id=actor.person_id,
        actor_label=actor.label,
        event=event,
        from_state=source,
        to_state=target,
        payload=payload,
        data=data,
    )
    HOT.audit.run(
        conn,
        {
            "case_id": case_id,
            "seq": seq,
            "version": version,
            "at": now,
            "actor_id": actor.person_id,
            "actor_label": actor.label,
            "event": event,
            "from_state": source,
            "to_state": target,
            "payload": payload,
            "idempotency_key": key.key if key is not None else None,
            "idempotency_request": key.request if key is not None else None,
            "prev_hash": prev_hash,
            "hash": head,
            "key_id": seal.key_id,
            "data_digest": data,
        },
    )
    return head


def commit_case(
    conn: Connection,
    case: Any,
    actor: Actor,
    now: dt.datetime,
    event: str,
    target: str,
    data: Mapping[str, Any],
    payload: Mapping[str, Any],
    key: Keyed | None,
    *,
    final: bool,
    source_state: str | None = None,
    slot_key: str | bool | None = False,
    bump: bool = True,
) -> int:
    """Write the case row (version-checked) and its audit event; returns the version.

    ``bump=False`` is for annotations (comments, copies, attachments): they extend the
    trail without moving the version, so nobody's open approval goes stale because of them.
    ``slot_key``: False keeps the slot the case holds; a string or None sets it.
    """
    version = int(case.version) + (1 if bump else 0)
    seq = int(case.seq) + 1
    source = source_state or case.state
    slot = case.slot_key if slot_key is False else slot_key
    head = append_audit(
        conn, case.id, seq, version, case.audit_head, now, actor, event, source, target,
        canonical(payload), key, digest_of_row(case, data, slot),
    )  # fmt: skip
    moved = HOT.write_case.run(
        conn,
        {
            "p_id": case.id,
            "p_seq": case.seq,
            "p_state": target,
            "p_data": dict(data),
            "p_version": version,
            "p_new_seq": seq,
            "p_head": head,
            "p_now": now,
            "p_closed": now if final else case.closed_at,
            "p_slot": slot,
        },
    )
    if moved != 1:
        raise Conflict("事项已被他人同时更新，请刷新后重试")
    return version
