"""The audit chain: each event's hash covers the previous hash and the event's canonical
JSON, so changing or deleting any row breaks every hash after it. Pure."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
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
