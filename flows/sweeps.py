"""Prefect flows: each a thin wrapper over a plain function of the core.

One flow run per sweep, never per case: a run costs about a second of orchestration, a sweep
handles thousands of cases. Prefect schedules and retries; our tables stay the truth, and every
sweep is safe to run twice.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from prefect import flow, get_run_logger

from notifications.config import build_channels, from_env
from notifications.dispatch import dispatch
from states.audit_digest import write_digest
from states.clock import BUREAU_TZ, Clock, FrozenClock, SystemClock
from states.engine import CaseEngine, build_catalogue
from states.processes import installed
from states.store.db import make_engine
from states.sweeps import SweepReport, deadline_sweep, publicity_sweep, reminder_sweep


def _clock(at: str | None) -> Clock:
    """The real clock, or a fixed moment: a backfill or a rehearsal runs a sweep "as of"."""
    if not at:
        return SystemClock()
    moment = dt.datetime.fromisoformat(at)
    return FrozenClock(moment if moment.tzinfo else moment.replace(tzinfo=BUREAU_TZ))


def _engine(at: str | None) -> CaseEngine:
    return CaseEngine(make_engine(), installed(), _clock(at))


def _log(report: SweepReport) -> dict[str, Any]:
    logger = get_run_logger()
    if report.skipped:
        logger.info("%s skipped: %s", report.name, report.skipped)
    else:
        logger.info("%s: %s", report.name, report.counts)
    for error in report.errors:
        logger.warning(error)
    return {"skipped": report.skipped, **report.counts}


@flow(name="deadline-sweep", retries=2, retry_delay_seconds=30)
def deadline_sweep_flow(at: str | None = None) -> dict[str, Any]:
    """Escalate late work to the unit above (督责), or return it, as each state says."""
    engine = _engine(at)
    try:
        return _log(deadline_sweep(engine))
    finally:
        engine.db.dispose()


@flow(name="reminder-sweep", retries=2, retry_delay_seconds=30)
def reminder_sweep_flow(at: str | None = None) -> dict[str, Any]:
    """Morning reminders: due soon, due today, overdue — working days only."""
    engine = _engine(at)
    try:
        return _log(reminder_sweep(engine))
    finally:
        engine.db.dispose()


@flow(name="publicity-sweep", retries=2, retry_delay_seconds=30)
def publicity_sweep_flow(at: str | None = None) -> dict[str, Any]:
    """Close publicity windows whose last working day is over."""
    engine = _engine(at)
    try:
        return _log(publicity_sweep(engine))
    finally:
        engine.db.dispose()


@flow(name="notification-dispatch", retries=2, retry_delay_seconds=10)
def dispatch_flow(at: str | None = None) -> dict[str, Any]:
    """Deliver the outbox: in-app, email, SMS, group robots."""
    db = make_engine()
    channels = build_channels(from_env(os.environ))
    try:
        report = dispatch(db, _clock(at), channels, catalogue=build_catalogue(installed()))
    finally:
        db.dispose()
        for channel in channels.values():
            close = getattr(channel, "close", None)
            if close is not None:
                close()
    get_run_logger().info(
        "dispatch: expanded %s, sent %s, retried %s, failed %s",
        report.expanded,
        report.sent,
        report.retried,
        report.failed,
    )
    return {
        "expanded": report.expanded,
        **report.sent,
        "retried": report.retried,
        "failed": report.failed,
    }


@flow(name="audit-digest", retries=2, retry_delay_seconds=300)
def audit_digest_flow(at: str | None = None) -> dict[str, Any]:
    """Once a day: verify the audit trail, write the digest of every chain head outside the
    database, and send its fingerprint to the province's inspectors."""
    db = make_engine()
    try:
        digest = write_digest(db, _clock(at))
    finally:
        db.dispose()
    logger = get_run_logger()
    logger.info("audit digest %s: %s cases, %s", digest.path, digest.cases, digest.fingerprint)
    if digest.breaks:
        logger.warning("audit verification found %s breaks before the digest", digest.breaks)
    return {
        "file": str(digest.path),
        "fingerprint": digest.fingerprint,
        "cases": digest.cases,
        "breaks": digest.breaks,
    }
