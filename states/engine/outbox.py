"""The outbox: notices written in the case's own transaction, delivered after the commit by
the dispatcher. One row builder for every writer (transitions, bulk steps, annotations,
sweeps), so a notice has the same shape wherever it was raised."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection

from states.engine.statements import BULK_OUTBOX, HOT, OUTBOX_COLUMNS


def notice(
    case_id: int | None,
    kind: str,
    now: dt.datetime,
    payload: Mapping[str, Any],
    *,
    person_id: int | None = None,
    role: str | None = None,
    unit_id: int | None = None,
) -> dict[str, Any]:
    """One outbox row: to a named person, or to whoever holds ``role`` at ``unit_id``, or
    (neither) to the contact the payload carries (an applicant without an account)."""
    return {
        "case_id": case_id,
        "kind": kind,
        "recipient_id": person_id,
        "recipient_role": None if person_id else role,
        "recipient_unit_id": None if person_id else unit_id,
        "payload": dict(payload),
        "created_at": now,
        "status": "pending",
    }


def task_notice(
    task: Any, kind: str, now: dt.datetime, payload: Mapping[str, Any]
) -> dict[str, Any]:
    """A notice to whoever holds ``task`` (a task row or a task row dict)."""
    get = task.get if isinstance(task, Mapping) else lambda k: getattr(task, k)
    return notice(
        get("case_id"),
        kind,
        now,
        payload,
        person_id=get("assignee_id"),
        role=get("role"),
        unit_id=get("org_unit_id"),
    )


def case_update(
    case_id: int,
    process: str,
    event: str,
    source: str | None,
    target: str,
    now: dt.datetime,
    *,
    reason: str | None = None,
    contact: tuple[str, str] | None = None,
    person_id: int | None = None,
) -> dict[str, Any]:
    """The notice that a case moved, to its applicant: by account (``person_id``) or, for an
    applicant without one, to the name and mobile they registered (``contact``). Single
    transitions and bulk steps write the same."""
    body: dict[str, Any] = {
        "case_id": case_id, "process": process, "event": event, "from": source, "to": target,
    }  # fmt: skip
    if reason:
        body["reason"] = reason
    if contact is not None:
        body["name"], body["phone"] = contact
    return notice(case_id, "case_update", now, body, person_id=person_id)


def send(conn: Connection, row: Mapping[str, Any]) -> None:
    HOT.outbox.run(conn, row)


def send_many(conn: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
    BULK_OUTBOX.run(conn, [tuple(r[c] for c in OUTBOX_COLUMNS) for r in rows])
