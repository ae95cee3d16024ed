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
from states.engine import DueStep
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
    started = engine.fire_due(
        DueStep(c, v, "start_visits", f"supervision-visits:{c}:{v}") for c, v in due
    )["start_visits"]
    return {"started": started} if started else {}
