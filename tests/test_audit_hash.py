"""A chain written by a bulk step must verify exactly like one written case by case, and the
seal must be the standard HMAC-SHA256 an auditor can recompute with any tool."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from states.audit import (
    Sealer,
    canonical,
    event_body,
    event_hash,
    ledger_body,
    ledger_hash,
    ledger_hasher,
    step_hasher,
)

names = st.text(max_size=12)
states = st.one_of(st.none(), st.sampled_from(["examined", "shortlisted", "已审核", 'a"b\\c']))
digests = st.one_of(st.none(), st.text("0123456789abcdef", min_size=64, max_size=64))
moments = st.datetimes(
    min_value=dt.datetime(2000, 1, 1),
    max_value=dt.datetime(2100, 1, 1),
    timezones=st.just(dt.UTC),
)
KEY = Sealer(b"k" * 32)


@given(
    actor=st.one_of(st.none(), st.integers(0, 2**53)),
    label=names,
    event=names,
    payload=st.dictionaries(names, st.one_of(names, st.integers(), st.none()), max_size=3),
    case_id=st.integers(1, 2**53),
    seq=st.integers(1, 10_000),
    version=st.integers(1, 10_000),
    from_state=states,
    to_state=st.sampled_from(["shortlisted", "reserve", "招聘完成"]),
    at=moments,
    data=digests,
)
def test_step_hasher_spells_the_same_chain(
    actor: int | None,
    label: str,
    event: str,
    payload: dict[str, object],
    case_id: int,
    seq: int,
    version: int,
    from_state: str | None,
    to_state: str,
    at: dt.datetime,
    data: str | None,
) -> None:
    body = canonical(payload)
    prev = "f" * 64
    fast = step_hasher(KEY, at=at, actor_id=actor, actor_label=label, event=event, payload=body)
    assert fast(prev, case_id, seq, from_state, to_state, version, data) == event_hash(
        KEY,
        prev,
        case_id=case_id,
        seq=seq,
        version=version,
        at=at,
        actor_id=actor,
        actor_label=label,
        event=event,
        from_state=from_state,
        to_state=to_state,
        payload=body,
        data=data,
    )


@given(
    actor=st.one_of(st.none(), st.integers(0, 2**53)),
    label=names,
    event=names,
    payload=names,
    case_id=st.integers(1, 2**53),
    seq=st.integers(1, 10_000),
    version=st.one_of(st.none(), st.integers(1, 10_000)),
    from_state=states,
    to_state=names,
    at=moments,
    data=digests,
    secret=st.binary(min_size=16, max_size=100),
)
def test_the_event_body_is_the_canonical_json_of_the_event_sealed_by_hmac(
    actor: int | None,
    label: str,
    event: str,
    payload: str,
    case_id: int,
    seq: int,
    version: int | None,
    from_state: str | None,
    to_state: str,
    at: dt.datetime,
    data: str | None,
    secret: bytes,
) -> None:
    """The seal is defined as HMAC-SHA256 over the previous hash and ``canonical`` of the
    event; the fast spelling and the precomputed key pads must be exactly that."""
    defined = canonical(
        {
            "case": case_id,
            "seq": seq,
            "version": version,
            "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "actor": actor,
            "actor_label": label,
            "event": event,
            "from": from_state,
            "to": to_state,
            "payload": payload,
            "data": data,
        }
    )
    fields = dict(
        case_id=case_id, seq=seq, version=version, at=at, actor_id=actor, actor_label=label,
        event=event, from_state=from_state, to_state=to_state, payload=payload, data=data,
    )  # fmt: skip
    assert event_body(**fields) == defined
    prev = "e" * 64
    standard = hmac.new(secret, (prev + defined).encode(), "sha256").hexdigest()
    assert event_hash(Sealer(secret), prev, **fields) == standard
    # without the key, the plain hash of the same text is no seal at all
    assert hashlib.sha256((prev + defined).encode()).hexdigest() != standard


def test_a_key_is_named_by_its_fingerprint() -> None:
    assert Sealer(b"a" * 32).key_id == Sealer(b"a" * 32).key_id
    assert Sealer(b"a" * 32).key_id != Sealer(b"b" * 32).key_id
    assert len(Sealer(b"a" * 32).key_id) == 12


@given(
    seq=st.integers(1, 2**40),
    case_id=st.integers(1, 2**53),
    at=moments,
    first=st.text("0123456789abcdef", min_size=64, max_size=64),
    prev=st.text("0123456789abcdef", min_size=64, max_size=64),
)
def test_the_bulk_ledger_hasher_spells_the_same_ledger(
    seq: int, case_id: int, at: dt.datetime, first: str, prev: str
) -> None:
    fast = ledger_hasher(KEY, at)
    assert fast(prev, seq, case_id, first) == ledger_hash(
        KEY, prev, seq=seq, case_id=case_id, at=at, first_hash=first
    )


def test_the_ledger_body_is_canonical() -> None:
    at = dt.datetime(2026, 9, 1, 1, 0, tzinfo=dt.UTC)
    assert ledger_body(seq=3, case_id=7, at=at, first_hash="a" * 64) == canonical(
        {"seq": 3, "case": 7, "at": "2026-09-01T01:00:00.000000+00:00", "first": "a" * 64}
    )
