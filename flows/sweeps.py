"""Prefect flows: each a thin wrapper over one job of ``flows.jobs``.

One flow run per sweep, never per case: a run costs about a second of orchestration, a sweep
handles thousands of cases. Prefect schedules and retries; our tables stay the truth, every
sweep is safe to run twice, and every run is recorded in our own ``job_runs`` (the province's
operations page reads those, not Prefect's history).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from prefect import Flow, flow, get_run_logger
from prefect.exceptions import MissingContextError

from flows.jobs import OWN_CHECKS, run_job
from states.clock import BUREAU_TZ, Clock, FrozenClock, SystemClock
from states.engine import CaseEngine
from states.ops import Outcome, Start
from states.processes import installed
from states.store.db import make_engine


def _clock(at: str | None) -> Clock:
    """The real clock, or a fixed moment: a backfill or a rehearsal runs a sweep "as of"."""
    if not at:
        return SystemClock()
    moment = dt.datetime.fromisoformat(at)
    return FrozenClock(moment if moment.tzinfo else moment.replace(tzinfo=BUREAU_TZ))


def _run(key: str, at: str | None) -> Outcome:
    """The job as the schedule runs it: recorded, and raised again if it fails, so that
    Prefect retries it (each retry is a run of its own in the record)."""
    engine = CaseEngine(make_engine(), installed(), _clock(at))
    try:
        _, outcome = run_job(key, engine, Start.schedule(), reraise=True)
    finally:
        engine.db.dispose()
    assert outcome is not None  # a failure was raised
    logger = _logger()
    if outcome.skipped:
        logger.info("%s skipped: %s", key, outcome.skipped)
    else:
        logger.info("%s: %s", key, outcome.counts)
    for problem in outcome.problems:
        logger.warning(problem)
    return outcome


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The flow run's logger (its lines show in Prefect); a flow's body called directly, as
    the tests do, logs to the module's."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


def _swept(key: str, at: str | None) -> dict[str, Any]:
    outcome = _run(key, at)
    return {"skipped": outcome.skipped, **outcome.counts}


def _done(key: str, at: str | None) -> dict[str, Any]:
    outcome = _run(key, at)
    return {**outcome.counts, **({"skipped": outcome.skipped} if outcome.skipped else {})}


@flow(name="deadline-sweep", retries=2, retry_delay_seconds=30)
def deadline_sweep_flow(at: str | None = None) -> dict[str, Any]:
    """Escalate late work to the unit above (督责), or return it, as each state says."""
    return _swept("deadlines", at)


@flow(name="reminder-sweep", retries=2, retry_delay_seconds=30)
def reminder_sweep_flow(at: str | None = None) -> dict[str, Any]:
    """Morning reminders: due soon, due today, overdue — working days only."""
    return _swept("reminders", at)


@flow(name="publicity-sweep", retries=2, retry_delay_seconds=30)
def publicity_sweep_flow(at: str | None = None) -> dict[str, Any]:
    """Close publicity windows whose last working day is over."""
    return _swept("publicity", at)


@flow(name="notification-dispatch", retries=2, retry_delay_seconds=10)
def dispatch_flow(at: str | None = None) -> dict[str, Any]:
    """Deliver the outbox: in-app, email, SMS, group robots."""
    return _done("dispatch", at)


@flow(name="audit-digest", retries=2, retry_delay_seconds=300)
def audit_digest_flow(at: str | None = None) -> dict[str, Any]:
    """Once a day: verify the audit trail, write the digest of every chain head outside the
    database, and send its fingerprint to the province's inspectors."""
    return _done("audit-digest", at)


@flow(name="process-checks", retries=2, retry_delay_seconds=60)
def checks_sweep_flow(at: str | None = None) -> dict[str, Any]:
    """Each installed process's own scheduled checks; one failing never stops the others."""
    return _swept("checks", at)


@flow(name="process-check", retries=2, retry_delay_seconds=60)
def process_check_flow(key: str, at: str | None = None) -> dict[str, Any]:
    """A process's check on a schedule of its own (the monthly support-teaching check-ins,
    each compliance check): the job ``key``, one deployment each with its key as parameter."""
    if key not in OWN_KEYS:
        raise ValueError(f"no such scheduled check {key!r}: one of {sorted(OWN_KEYS)}")
    return _done(key, at)


OWN_KEYS = frozenset(check.name for check in OWN_CHECKS)

# The flow that runs each scheduled job (flows/serve.py deploys them under the job's key,
# with the parameters below).
FLOWS: dict[str, Flow[..., dict[str, Any]]] = {
    "deadlines": deadline_sweep_flow,
    "reminders": reminder_sweep_flow,
    "publicity": publicity_sweep_flow,
    "dispatch": dispatch_flow,
    "audit-digest": audit_digest_flow,
    "checks": checks_sweep_flow,
    **dict.fromkeys(sorted(OWN_KEYS), process_check_flow),
}
PARAMETERS: dict[str, dict[str, Any]] = {key: {"key": key} for key in sorted(OWN_KEYS)}
