"""A chain written by a bulk step must verify exactly like one written case by case."""

from __future__ import annotations

import datetime as dt
import hashlib

from hypothesis import given
from hypothesis import strategies as st

from states.audit import canonical, event_body, event_hash, step_hasher

names = st.text(max_size=12)
states = st.one_of(st.none(), st.sampled_from(["examined", "shortlisted", "已审核", 'a"b\\c']))


@given(
    actor=st.one_of(st.none(), st.integers(0, 2**53)),
    label=names,
    event=names,
    payload=st.dictionaries(names, st.one_of(names, st.integers(), st.none()), max_size=3),
    case_id=st.integers(1, 2**53),
    seq=st.integers(1, 10_000),
    from_state=states,
    to_state=st.sampled_from(["shortlisted", "reserve", "招聘完成"]),
    at=st.datetimes(
        min_value=dt.datetime(2000, 1, 1),
        max_value=dt.datetime(2100, 1, 1),
        timezones=st.just(dt.UTC),
    ),
)
def test_step_hasher_spells_the_same_chain(
    actor: int | None,
    label: str,
    event: str,
    payload: dict[str, object],
    case_id: int,
    seq: int,
    from_state: str | None,
    to_state: str,
    at: dt.datetime,
) -> None:
    body = canonical(payload)
    prev = "f" * 64
    fast = step_hasher(at=at, actor_id=actor, actor_label=label, event=event, payload=body)
    assert fast(prev, case_id, seq, from_state, to_state) == event_hash(
        prev,
        case_id=case_id,
        seq=seq,
        at=at,
        actor_id=actor,
        actor_label=label,
        event=event,
        from_state=from_state,
        to_state=to_state,
        payload=body,
    )


@given(
    actor=st.one_of(st.none(), st.integers(0, 2**53)),
    label=names,
    event=names,
    payload=names,
    case_id=st.integers(1, 2**53),
    seq=st.integers(1, 10_000),
    from_state=states,
    to_state=names,
    at=st.datetimes(
        min_value=dt.datetime(2000, 1, 1),
        max_value=dt.datetime(2100, 1, 1),
        timezones=st.just(dt.UTC),
    ),
)
def test_the_event_body_is_the_canonical_json_of_the_event(
    actor: int | None,
    label: str,
    event: str,
    payload: str,
    case_id: int,
    seq: int,
    from_state: str | None,
    to_state: str,
    at: dt.datetime,
) -> None:
    """The hash is defined over ``canonical`` of the event; the fast spelling must be it."""
    defined = canonical(
        {
            "case": case_id,
            "seq": seq,
            "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "actor": actor,
            "actor_label": label,
            "event": event,
            "from": from_state,
            "to": to_state,
            "payload": payload,
        }
    )
    fields = dict(
        case_id=case_id, seq=seq, at=at, actor_id=actor, actor_label=label, event=event,
        from_state=from_state, to_state=to_state, payload=payload,
    )  # fmt: skip
    assert event_body(**fields) == defined
    prev = "e" * 64
    assert event_hash(prev, **fields) == hashlib.sha256((prev + defined).encode()).hexdigest()
