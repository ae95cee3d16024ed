"""The audit chain: each event's hash covers the previous hash and the event's canonical
JSON, so changing or deleting any row breaks every hash after it. Pure."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

GENESIS = "0" * 64


def canonical(obj: Any) -> str:
    """One spelling per value: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def stamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


_dump = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def event_body(
    *,
    case_id: int,
    seq: int,
    at: dt.datetime,
    actor_id: int | None,
    actor_label: str,
    event: str,
    from_state: str | None,
    to_state: str,
    payload: str,
) -> str:
    """What an event's hash covers: by definition ``canonical`` of the event as a mapping
    (``case``, ``seq``, ``at``, ``actor``, ``actor_label``, ``event``, ``from``, ``to``,
    ``payload``). Spelled here directly, keys in sorted order through the same encoder —
    a fifth of the cost of building the mapping and sorting it on every transition; a test
    holds the two spellings equal."""
    return (
        f'{{"actor":{_dump(actor_id)},"actor_label":{_dump(actor_label)},'
        f'"at":{_dump(stamp(at))},"case":{int(case_id)},"event":{_dump(event)},'
        f'"from":{_dump(from_state)},"payload":{_dump(payload)},"seq":{int(seq)},'
        f'"to":{_dump(to_state)}}}'
    )


def event_hash(
    prev_hash: str,
    *,
    case_id: int,
    seq: int,
    at: dt.datetime,
    actor_id: int | None,
    actor_label: str,
    event: str,
    from_state: str | None,
    to_state: str,
    payload: str,
) -> str:
    """The chain link: SHA-256 of the previous hash followed by the event's body."""
    body = event_body(
        case_id=case_id, seq=seq, at=at, actor_id=actor_id, actor_label=actor_label,
        event=event, from_state=from_state, to_state=to_state, payload=payload,
    )  # fmt: skip
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def step_hasher(
    *, at: dt.datetime, actor_id: int | None, actor_label: str, event: str, payload: str
) -> Callable[[str, int, int, str | None, str], str]:
    """``event_hash`` for many cases moved by one step: everything the step shares (time,
    actor, event, payload) is spelled once, so a row costs one format and one SHA-256.

    The text hashed is exactly ``canonical(...)`` of :func:`event_hash` — keys in sorted
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

    def state(name: str | None) -> str:
        text = spelled.get(name)
        if text is None:
            text = spelled[name] = dump(name)
        return text

    def hasher(prev_hash: str, case_id: int, seq: int, from_state: str | None, to: str) -> str:
        body = f'{prev_hash}{head}{case_id}{mid}{state(from_state)}{tail}{seq},"to":{state(to)}}}'
        return hashlib.sha256(body.encode()).hexdigest()

    return hasher
