"""The audit chain: each event's seal covers the previous seal and the event's canonical
JSON, so changing or deleting any row breaks every seal after it. Pure.

A seal is HMAC-SHA256 under a key kept outside the database (``states.audit_keys``): whoever
can write the database but does not hold the key cannot recompute a chain after changing a
vote or a reason. Each event also records a digest of the case row it left behind (its data
and the columns fixed at opening), so the case row is proven from its chain as well.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol

GENESIS = "0" * 64
BLOCK = 64  # SHA-256's block size: HMAC pads its key to it


_canonical = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
).encode


def canonical(obj: Any) -> str:
    """One spelling per value: sorted keys, no spaces, UTF-8 kept as is. (``json.dumps``
    with these arguments, through one encoder built once.)"""
    return _canonical(obj)


def stamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


_dump = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def key_id_of(secret: bytes) -> str:
    """A key's name: a fingerprint of the key itself, so two different keys never share a
    name (a fresh key made by a misconfigured server is told apart from the real one)."""
    return hashlib.sha256(b"renshi-audit-key\0" + secret).hexdigest()[:12]


class Sealer:
    """HMAC-SHA256 (RFC 2104) under one key, with the padded key's inner and outer states
    computed once: a seal then costs two state copies and the message's own blocks — about
    half a microsecond over a plain SHA-256 of the same text. A test holds it equal to
    ``hmac.new(key, message, "sha256")``."""

    __slots__ = ("_inner", "_outer", "key_id")

    def __init__(self, secret: bytes, key_id: str | None = None) -> None:
        if len(secret) > BLOCK:
            secret = hashlib.sha256(secret).digest()
        block = secret.ljust(BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
        self.key_id: str = key_id or key_id_of(secret)

    def seal(self, message: bytes) -> str:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


def case_digest(
    *,
    process: str,
    year: int,
    org_unit_id: int,
    org_path: str,
    applicant_id: int | None,
    subject_id: int | None,
    parent_id: int | None,
    slot_key: str | None,
    data: Mapping[str, Any],
) -> str:
    """What an event records of the case row it leaves: everything but the chain's own
    position (state, version, seq, head) and the timestamps. The data and the slot change
    with events; the rest is fixed at opening, and moving a case to another school or
    applicant must break its proof as much as changing a score.

    SHA-256 of ``canonical`` of the row as a mapping."""
    row = {
        "applicant": applicant_id, "data": data, "parent": parent_id, "path": org_path,
        "process": process, "slot": slot_key, "subject": subject_id, "unit": org_unit_id,
        "year": year,
    }  # fmt: skip
    return hashlib.sha256(_canonical(row).encode()).hexdigest()


def digest_of_row(case: Any, data: Mapping[str, Any] | None = None, slot: Any = False) -> str:
    """``case_digest`` of a case row (any object with the case columns), with the data and
    the slot it is about to hold when they differ from the row's."""
    return case_digest(
        process=case.process, year=case.year, org_unit_id=case.org_unit_id,
        org_path=case.org_path, applicant_id=case.applicant_id, subject_id=case.subject_id,
        parent_id=case.parent_id, slot_key=case.slot_key if slot is False else slot,
        data=case.data if data is None else data,
    )  # fmt: skip


def event_body(
    *,
    case_id: int,
    seq: int,
    version: int | None,
    at: dt.datetime,
    actor_id: int | None,
    actor_label: str,
    event: str,
    from_state: str | None,
    to_state: str,
    payload: str,
    data: str | None,
) -> str:
    """What an event's seal covers: by definition ``canonical`` of the event as a mapping
    (``case``, ``seq``, ``version``, ``at``, ``actor``, ``actor_label``, ``event``, ``from``,
    ``to``, ``payload``, ``data``). Spelled here directly, keys in sorted order through the
    same encoder — a fifth of the cost of building the mapping and sorting it on every
    transition; a test holds the two spellings equal.

    ``data`` is the ``case_digest`` of the row after the event, or None for an event that
    does not write the row's data (a bulk move): the latest digest on the chain stands.
    """
    return (
        f'{{"actor":{_dump(actor_id)},"actor_label":{_dump(actor_label)},'
        f'"at":{_dump(stamp(at))},"case":{int(case_id)},"data":{_dump(data)},'
        f'"event":{_dump(event)},"from":{_dump(from_state)},"payload":{_dump(payload)},'
        f'"seq":{int(seq)},"to":{_dump(to_state)},"version":{_dump(version)}}}'
    )


def event_hash(
    sealer: Sealer,
    prev_hash: str,
    *,
    case_id: int,
    seq: int,
    version: int | None,
    at: dt.datetime,
    actor_id: int | None,
    actor_label: str,
    event: str,
    from_state: str | None,
    to_state: str,
    payload: str,
    data: str | None,
) -> str:
    """The chain link: the seal of the previous hash followed by the event's body."""
    body = event_body(
        case_id=case_id, seq=seq, version=version, at=at, actor_id=actor_id,
        actor_label=actor_label, event=event, from_state=from_state, to_state=to_state,
        payload=payload, data=data,
    )  # fmt: skip
    return sealer.seal((prev_hash + body).encode())


class StepHasher(Protocol):
    """What ``step_hasher`` returns: one case's link of a shared step."""

    def __call__(
        self,
        prev_hash: str,
        case_id: int,
        seq: int,
        from_state: str | None,
        to: str,
        version: int,
        data: str | None = None,
    ) -> str: ...


def step_hasher(
    sealer: Sealer,
    *,
    at: dt.datetime,
    actor_id: int | None,
    actor_label: str,
    event: str,
    payload: str,
) -> StepHasher:
    """``event_hash`` for many cases moved by one step: everything the step shares (time,
    actor, event, payload, the key) is spelled and prepared once, so a row costs one format
    and one seal. The hasher takes ``(prev_hash, case_id, seq, from_state, to_state,
    version, data)``.

    The text sealed is exactly ``canonical(...)`` of :func:`event_hash` — keys in sorted
    order, values through the same JSON encoder — so a chain written in bulk verifies like
    any other; a test holds the two equal.
    """
    dump = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    head = (
        f'{{"actor":{dump(actor_id)},"actor_label":{dump(actor_label)},'
        f'"at":{dump(stamp(at))},"case":'
    )
    mid = f',"event":{dump(event)},"from":'
    tail = f',"payload":{dump(payload)},"seq":'
    spelled: dict[str | None, str] = {}
    seal = sealer.seal

    def state(name: str | None) -> str:
        text = spelled.get(name)
        if text is None:
            text = spelled[name] = dump(name)
        return text

    def hasher(
        prev_hash: str,
        case_id: int,
        seq: int,
        from_state: str | None,
        to: str,
        version: int,
        data: str | None = None,
    ) -> str:
        digest = "null" if data is None else f'"{data}"'
        body = (
            f'{prev_hash}{head}{case_id},"data":{digest}{mid}{state(from_state)}{tail}{seq},'
            f'"to":{state(to)},"version":{version}}}'
        )
        return seal(body.encode())

    return hasher


def ledger_body(*, seq: int, case_id: int, at: dt.datetime, first_hash: str) -> str:
    """What a row of the province-wide case ledger covers: ``canonical`` of its position,
    the case it records and the seal of that case's first event."""
    return canonical({"at": stamp(at), "case": int(case_id), "first": first_hash, "seq": seq})


def ledger_hash(
    sealer: Sealer, prev_hash: str, *, seq: int, case_id: int, at: dt.datetime, first_hash: str
) -> str:
    """The ledger's link: the seal of the previous ledger hash followed by the row's body."""
    body = ledger_body(seq=seq, case_id=case_id, at=at, first_hash=first_hash)
    return sealer.seal((prev_hash + body).encode())


def ledger_hasher(sealer: Sealer, at: dt.datetime) -> Callable[[str, int, int, str], str]:
    """``ledger_hash`` for the rows one bulk opening appends at one moment: ``(prev_hash,
    seq, case_id, first_hash)``, the body spelled directly (hashes are hex, ids integers);
    a test holds it equal to ``ledger_hash``."""
    head = f'{{"at":{_dump(stamp(at))},"case":'
    seal = sealer.seal

    def hasher(prev_hash: str, seq: int, case_id: int, first_hash: str) -> str:
        body = f'{prev_hash}{head}{int(case_id)},"first":{_dump(first_hash)},"seq":{int(seq)}}}'
        return seal(body.encode())

    return hasher
