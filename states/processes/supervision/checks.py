"""Work time drives for supervision, run by the sweeps (``renshi sweep checks`` and the
Prefect flow): on a campaign's first visit day its visits start — an unannounced
campaign's targets are told then, and not a day before. Each start is an engine event with
an idempotency key, so a re-run does nothing twice; a check that found nothing to do
reports nothing. Overdue rectifications need nothing here: their deadline is their state's,
escalated once by the generic deadline sweep."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from states.clock import local_date
from states.errors import RenshiError
from states.org import SYSTEM_ACTOR
from states.processes.supervision.machine import CAMPAIGN
from states.processes.supervision.store import campaigns_t, cases_t


def start_visits(engine: Any) -> Mapping[str, int]:
    """Drawn campaigns whose first visit day has come move to the visits."""
    today = local_date(engine.clock.now())
    with engine.db.connect() as conn:
        due = conn.execute(
            select(cases_t.c.id, cases_t.c.version)
            .join(campaigns_t, campaigns_t.c.case_id == cases_t.c.id)
            .where(
                cases_t.c.process == CAMPAIGN,
                cases_t.c.state == "targets_drawn",
                campaigns_t.c.visit_from <= today,
            )
        ).all()
    started = 0
    for case_id, version in due:
        try:
            engine.fire(
                case_id, "start_visits", SYSTEM_ACTOR, expected_version=version,
                idempotency_key=f"supervision-visits:{case_id}:{version}",
            )  # fmt: skip
            started += 1
        except RenshiError:
            continue  # the organiser started it meanwhile; the next run looks again
    return {"started": started} if started else {}
