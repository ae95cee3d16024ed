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
    body = canonical(
        {
            "case": case_id,
            "seq": seq,
            "at": stamp(at),
            "actor": actor_id,
            "actor_label": actor_label,
            "event": event,
            "from": from_state,
            "to": to_state,
            "payload": payload,
        }
    )
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
