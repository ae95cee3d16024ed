"""Work time drives for rotation, run by the sweeps (``renshi sweep checks`` and the
Prefect flow): preferences closed once their last day is over, and a reminder to the
teacher and the county a set number of working days before a term ends. Each fires an
engine event with an idempotency key, so a re-run does nothing twice; a check that found
nothing to do reports nothing."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from states.calendar import UnknownCalendarYear
from states.clock import local_date
from states.engine import DueStep
from states.processes.rotation.machine import CAMPAIGN, PLACEMENT
from states.processes.rotation.tables import RotationCampaign
from states.store.models import Case, table_of

campaigns_t, cases_t = table_of(RotationCampaign), table_of(Case)


def close_preferences(engine: Any) -> Mapping[str, int]:
    """Campaigns whose preferences' last day is over move on to the schools' confirmation."""
    today = local_date(engine.clock.now())
    with engine.db.connect() as conn:
        due = conn.execute(
            select(cases_t.c.id, cases_t.c.version)
            .join(campaigns_t, campaigns_t.c.case_id == cases_t.c.id)
            .where(
                cases_t.c.process == CAMPAIGN,
                cases_t.c.state == "preferences",
                campaigns_t.c.preferences_close < today,
            )
        ).all()
    closed = engine.fire_due(
        DueStep(c, v, "close_preferences", f"rotation-close:{c}:{v}") for c, v in due
    )["close_preferences"]
    return {"closed": closed} if closed else {}


def _near(engine: Any, conn: Any, today: dt.date, ends: dt.date, days: int) -> bool:
    """Whether ``ends`` is within ``days`` working days. In a year whose holidays are not
    loaded the reminder goes early rather than late: calendar days at seven for five."""
    if ends <= today:
        return True
    try:
        return bool(engine.calendar(conn).working_days_between(today, ends) <= days)
    except UnknownCalendarYear:
        return (ends - today).days <= math.ceil(days * 7 / 5)


def term_ending(engine: Any) -> Mapping[str, int]:
    """Teachers in service whose term ends within the campaign's reminder days are reminded
    once per end date (an extension sets a new one), and so is the county."""
    today = local_date(engine.clock.now())
    with engine.db.connect() as conn:
        remind = dict(conn.execute(select(campaigns_t.c.id, campaigns_t.c.remind_days)).all())
        rows = conn.execute(
            select(cases_t.c.id, cases_t.c.version, cases_t.c.data).where(
                cases_t.c.process == PLACEMENT, cases_t.c.state == "in_service"
            )
        ).all()
        due = []
        for r in rows:
            ends = r.data.get("term_ends_on")
            if not ends or r.data.get("reminded_for") == ends:
                continue
            days = int(remind.get(int(r.data.get("campaign_id", 0)), 20))
            if _near(engine, conn, today, dt.date.fromisoformat(str(ends)), days):
                due.append((r.id, r.version, ends))
    reminded = engine.fire_due(
        DueStep(c, v, "remind_term_end", f"rotation-term:{c}:{ends}") for c, v, ends in due
    )["remind_term_end"]
    return {"reminded": reminded} if reminded else {}
