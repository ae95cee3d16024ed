"""Our own record of the scheduled jobs: every run, however it was started, and the notices
that could not be delivered.

Prefect keeps a history of its flow runs, but the province's officers never open Prefect,
and the page they do open must work when the Prefect server is down. So every run — by the
schedule, by an officer's 「立即运行」, by ``renshi sweep`` — goes through
:func:`run_recorded`, which writes one ``job_runs`` row: when, how it was started and by
whom, what it did (its counts), and how it ended. One wrapper, so the three doors cannot
record differently.

A run that is still going holds its job (a partial unique index on the unfinished row): a
second start meanwhile is recorded as skipped instead of doing the same work twice at once;
a run whose process died is taken as interrupted once it is older than the job's limit.
"""

from __future__ import annotations

import datetime as dt
import getpass
import logging
import os
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import Connection, Engine, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from states.clock import BUREAU_TZ, Clock
from states.engine.visibility import ANONYMOUS_MEMBER, case_file
from states.errors import RenshiError
from states.org import PROVINCE_OFFICER, Actor
from states.process.spec import ProcessSpec
from states.store.models import Delivery, JobRun, OutboxMessage, Person, table_of

log = logging.getLogger(__name__)

runs_t, deliveries_t = table_of(JobRun), table_of(Delivery)
outbox_t, people_t = table_of(OutboxMessage), table_of(Person)

OUTCOMES: Final = {
    "running": "运行中",
    "ok": "成功",
    "partial": "部分失败",
    "failed": "失败",
    "skipped": "跳过",
}
TRIGGERS: Final = {"schedule": "定时", "manual": "手动", "cli": "命令行"}
# How long runs are kept: a month, and always each job's last screenful whatever its age.
KEEP: Final = dt.timedelta(days=30)
KEEP_LAST: Final = 20
# A run not finished after this long is taken as interrupted (its process died on another
# machine; on this one a dead process is seen at once).
STALE: Final = dt.timedelta(hours=1)

ERROR_MAX: Final = 4000


def may_operate(actor: Actor) -> bool:
    """The operations page and its API are the province's: its officers (教师工作处) run the
    platform for every unit, so they see every job and every notice that failed."""
    return actor.holds(PROVINCE_OFFICER)


# --- how a run was started and how it ended -------------------------------------------------
@dataclass(frozen=True)
class Start:
    """How a run was started: by the schedule, by an officer on the page, or on the command
    line (with the account of the machine's user who typed it)."""

    trigger: str
    person_id: int | None = None
    name: str | None = None

    @classmethod
    def schedule(cls) -> Start:
        return cls("schedule")

    @classmethod
    def manual(cls, actor: Actor) -> Start:
        return cls("manual", actor.person_id, actor.name[:64])

    @classmethod
    def cli(cls) -> Start:
        try:
            user: str | None = getpass.getuser()[:64]
        except (KeyError, OSError):  # no login name (a container without a passwd entry)
            user = None
        return cls("cli", None, user)


@dataclass
class Outcome:
    """What a job's work reports: its counts (JSON), why it did nothing, or what went wrong
    in part while the rest was done."""

    counts: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def code(self) -> str:
        if self.skipped:
            return "skipped"
        return "partial" if self.problems else "ok"


@dataclass(frozen=True)
class Run:
    """One recorded run, as the page, the API and the CLI read it."""

    id: int
    job: str
    trigger: str
    person_id: int | None
    started_by: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    outcome: str
    counts: dict[str, Any]
    reason: str | None
    error: str | None

    @property
    def outcome_label(self) -> str:
        return OUTCOMES.get(self.outcome, self.outcome)

    @property
    def trigger_label(self) -> str:
        label = TRIGGERS.get(self.trigger, self.trigger)
        return f"{label}（{self.started_by}）" if self.started_by else label

    @property
    def troubled(self) -> bool:
        return self.outcome in ("failed", "partial")

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


def _run(row: Any) -> Run:
    return Run(
        id=row.id,
        job=row.job,
        trigger=row.trigger,
        person_id=row.person_id,
        started_by=row.started_by,
        started_at=row.started_at,
        finished_at=row.finished_at,
        outcome=row.outcome,
        counts=dict(row.counts or {}),
        reason=row.reason,
        error=row.error,
    )


def error_text(exc: BaseException) -> str:
    """What a failed run says: our own errors in their words; anything else with its kind,
    which is what the engineer asked to look will need first."""
    if isinstance(exc, RenshiError):
        text = exc.message
    elif isinstance(exc, KeyboardInterrupt | SystemExit):
        text = "运行被中止"
    elif isinstance(exc, ValueError) and str(exc):
        text = str(exc)  # configuration errors name the variable to fix
    else:
        text = f"程序错误（{type(exc).__name__}）：{exc}"
    return text[:ERROR_MAX]


# --- the one wrapper -------------------------------------------------------------------------
def run_recorded(
    db: Engine,
    clock: Clock,
    job: str,
    start: Start,
    work: Callable[[], Outcome],
    *,
    stale_after: dt.timedelta = STALE,
    reraise: bool = False,
) -> tuple[Run, Outcome | None]:
    """Run ``work`` as one recorded run of ``job``. Returns the run as recorded and what the
    work reported (None when it raised). ``reraise``: a failure is recorded and raised again
    (the flows: Prefect retries a failed flow run); otherwise it is only recorded (the page
    and the CLI show it)."""
    run_id, skipped = _begin(db, job, start, clock.now(), stale_after)
    if run_id is None:
        held = _get(db, skipped)
        return held, Outcome(skipped=held.reason)
    try:
        outcome = work()
    except BaseException as exc:
        _end(db, job, run_id, clock.now(), "failed", None, None, error_text(exc))
        log.warning("job %s failed: %s", job, exc)
        if reraise or not isinstance(exc, Exception):
            raise
        return _get(db, run_id), None
    problems = "\n".join(outcome.problems)[:ERROR_MAX] or None
    _end(db, job, run_id, clock.now(), outcome.code, outcome.counts, outcome.skipped, problems)
    return _get(db, run_id), outcome


def _begin(
    db: Engine, job: str, start: Start, now: dt.datetime, stale_after: dt.timedelta
) -> tuple[int | None, int]:
    """The new run's id, or (None, the id of the skipped run recorded instead)."""
    values = {
        "job": job,
        "trigger": start.trigger,
        "person_id": start.person_id,
        "started_by": start.name,
        "started_at": now,
        "runner": f"{socket.gethostname()}:{os.getpid()}"[-128:],
    }
    for _ in range(3):
        try:
            with db.begin() as conn:
                new = conn.execute(
                    insert(runs_t).values(**values, outcome="running").returning(runs_t.c.id)
                ).scalar_one()
            return int(new), 0
        except IntegrityError:
            pass  # another run of the job has not finished
        with db.begin() as conn:
            holder = conn.execute(
                select(runs_t.c.id, runs_t.c.started_at, runs_t.c.runner).where(
                    runs_t.c.job == job, runs_t.c.finished_at.is_(None)
                )
            ).first()
            if holder is None:
                continue  # it finished meanwhile
            since = holder.started_at.astimezone(BUREAU_TZ).strftime("%m-%d %H:%M")
            if _gone(holder.runner) or holder.started_at < now - stale_after:
                conn.execute(
                    update(runs_t)
                    .where(runs_t.c.id == holder.id, runs_t.c.finished_at.is_(None))
                    .values(
                        finished_at=now,
                        outcome="failed",
                        error=f"运行中断：{since}开始后一直未结束（运行它的进程可能已退出）",
                    )
                )
                continue
            skipped = conn.execute(
                insert(runs_t)
                .values(
                    **values,
                    finished_at=now,
                    outcome="skipped",
                    reason=f"上一次运行（{since}开始）尚未结束",
                )
                .returning(runs_t.c.id)
            ).scalar_one()
            return None, int(skipped)
    raise RuntimeError(f"job {job}: could not start a run")


def _gone(runner: str | None) -> bool:
    """Whether the process that started a run is known to be gone: it ran on this host and
    no process has its id any more. On another host only its age can tell."""
    host, _, pid = (runner or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists, under another user
        return False
    return False


def _end(
    db: Engine,
    job: str,
    run_id: int,
    now: dt.datetime,
    outcome: str,
    counts: Mapping[str, Any] | None,
    reason: str | None,
    error: str | None,
) -> None:
    """Close the run, and forget the job's runs older than ``KEEP`` beyond its last few."""
    with db.begin() as conn:
        conn.execute(
            update(runs_t)
            .where(runs_t.c.id == run_id)
            .values(
                finished_at=now,
                outcome=outcome,
                counts=dict(counts) if counts is not None else None,
                reason=reason,
                error=error,
            )
        )
        newest = (
            select(runs_t.c.id)
            .where(runs_t.c.job == job)
            .order_by(runs_t.c.started_at.desc(), runs_t.c.id.desc())
            .limit(KEEP_LAST)
            .subquery()
        )
        conn.execute(
            delete(runs_t).where(
                runs_t.c.job == job,
                runs_t.c.finished_at.is_not(None),
                runs_t.c.started_at < now - KEEP,
                runs_t.c.id.not_in(select(newest.c.id)),
            )
        )


def _get(db: Engine, run_id: int) -> Run:
    with db.connect() as conn:
        return _run(conn.execute(select(runs_t).where(runs_t.c.id == run_id)).one())


# --- reading the record ---------------------------------------------------------------------
def recent_runs(
    conn: Connection, *, job: str | None = None, limit: int = 20, troubled: bool = False
) -> list[Run]:
    """The newest runs first, of one job or of all; ``troubled``: failed or partly failed."""
    query = select(runs_t).order_by(runs_t.c.started_at.desc(), runs_t.c.id.desc()).limit(limit)
    if job is not None:
        query = query.where(runs_t.c.job == job)
    if troubled:
        query = query.where(runs_t.c.outcome.in_(("failed", "partial")))
    return [_run(r) for r in conn.execute(query)]


def runs_by_job(
    conn: Connection, jobs: Iterable[str], per_job: int = KEEP_LAST
) -> dict[str, list[Run]]:
    """Each job's newest runs (one indexed read per job: a job's schedule may make thousands
    of runs a day and another's one)."""
    return {job: recent_runs(conn, job=job, limit=per_job) for job in jobs}


def get_run(conn: Connection, run_id: int) -> Run | None:
    row = conn.execute(select(runs_t).where(runs_t.c.id == run_id)).first()
    return _run(row) if row is not None else None


def count_words(
    counts: Mapping[str, Any],
    labels: Mapping[str, str],
    processes: Mapping[str, ProcessSpec],
) -> list[str]:
    """A run's counts as the bureau reads them ("督办 3"), the empty ones left out. A sweep
    that moved cases counts them by ``event:state``; those are named by the process's own
    labels (「公示期满 → 学校推荐」), so a new process needs no words here."""
    out = []
    for key, value in counts.items():
        if value in (None, 0, "", False) or key == "skipped" or labels.get(key) == "":
            continue
        label = labels.get(key) or _moved(key, processes) or key
        out.append(f"{label} {value}")
    return out


def _moved(key: str, processes: Mapping[str, ProcessSpec]) -> str | None:
    event, sep, state = key.partition(":")
    if not sep:
        return None
    for spec in processes.values():
        if event in spec.events and state in spec.states:
            return f"{spec.events[event].label}（转入“{spec.state_label(state)}”）"
    return None


# --- notices that did not go out ------------------------------------------------------------
DELIVERY_STATES: Final = {
    "failed": "发送失败（已停止重试）",
    "retrying": "重试中",
    "requeued": "等待重新发送",
    "sending": "发送中",
}


@dataclass(frozen=True)
class Trouble:
    """A delivery that failed or is being retried, with its recipient as the reader may
    see them (a committee member's name is not shown to whoever may not know it)."""

    id: int
    channel: str
    target: str
    person_name: str | None
    state: str
    attempts: int
    last_error: str | None
    next_attempt_at: dt.datetime | None
    kind: str
    case_id: int | None
    created_at: dt.datetime
    hidden: bool = False  # the recipient sits on a committee this reader may not name

    @property
    def state_label(self) -> str:
        return DELIVERY_STATES.get(self.state, self.state)


def troubled_deliveries(
    conn: Connection, processes: Mapping[str, ProcessSpec], actor: Actor, *, limit: int = 100
) -> tuple[list[Trouble], int]:
    """Deliveries given up on, or waiting to be tried again after an error, newest first,
    with how many there are in all. A case's notice is listed only to someone who may open
    the case, and its recipient named only as the case's visibility rules allow them."""
    d = deliveries_t
    # by status first (indexed): the unsent are few, the sent are everything ever delivered
    unsent = d.c.status.in_(("failed", "pending", "sending"))
    troubled = or_(d.c.status == "failed", d.c.last_error.is_not(None))
    total = conn.execute(select(func.count()).select_from(d).where(unsent, troubled)).scalar_one()
    rows = conn.execute(
        select(
            d.c.id,
            d.c.channel,
            d.c.target,
            d.c.person_id,
            d.c.status,
            d.c.attempts,
            d.c.last_error,
            d.c.next_attempt_at,
            people_t.c.name.label("person_name"),
            outbox_t.c.kind,
            outbox_t.c.case_id,
            outbox_t.c.created_at,
        )
        .join(outbox_t, outbox_t.c.id == d.c.outbox_id)
        .outerjoin(people_t, people_t.c.id == d.c.person_id)
        .where(troubled, unsent)
        .order_by(d.c.id.desc())
        .limit(limit)
    ).all()
    viewers: dict[int, Any] = {}
    out: list[Trouble] = []
    for r in rows:
        hidden = False
        if r.case_id is not None:
            if r.case_id not in viewers:
                found = case_file(conn, processes, actor, r.case_id)
                viewers[r.case_id] = found.viewer if found is not None else None
            viewer = viewers[r.case_id]
            if viewer is None:
                continue  # a case this reader may not open: its notices are not theirs
            hidden = viewer.hides(r.person_id)
        if r.status == "failed":
            state = "failed"
        elif r.status == "sending":
            state = "sending"
        else:
            state = "retrying" if r.attempts else "requeued"
        out.append(
            Trouble(
                id=r.id,
                channel=r.channel,
                target=r.target,
                person_name=ANONYMOUS_MEMBER if hidden else r.person_name,
                state=state,
                attempts=r.attempts,
                last_error=r.last_error,
                next_attempt_at=r.next_attempt_at if r.status == "pending" else None,
                kind=r.kind,
                case_id=r.case_id,
                created_at=r.created_at,
                hidden=hidden,
            )
        )
    return out, int(total)


def requeue(
    conn: Connection, processes: Mapping[str, ProcessSpec], actor: Actor, delivery_id: int,
    now: dt.datetime,
) -> bool:  # fmt: skip
    """Send a failed delivery again at the next dispatch, with its attempts counted afresh.
    False when there is no such failed delivery the actor may see (sent meanwhile, resent
    already, or a case outside their view): nothing is changed then."""
    row = conn.execute(
        select(deliveries_t.c.id, outbox_t.c.case_id)
        .join(outbox_t, outbox_t.c.id == deliveries_t.c.outbox_id)
        .where(deliveries_t.c.id == delivery_id, deliveries_t.c.status == "failed")
    ).first()
    if row is None:
        return False
    if row.case_id is not None and case_file(conn, processes, actor, row.case_id) is None:
        return False
    done = conn.execute(
        update(deliveries_t)
        .where(deliveries_t.c.id == delivery_id, deliveries_t.c.status == "failed")
        .values(status="pending", attempts=0, next_attempt_at=now, lease_until=None)
    )
    return done.rowcount == 1


__all__ = [
    "OUTCOMES",
    "TRIGGERS",
    "Outcome",
    "Run",
    "Start",
    "Trouble",
    "count_words",
    "get_run",
    "may_operate",
    "recent_runs",
    "requeue",
    "run_recorded",
    "runs_by_job",
    "troubled_deliveries",
]
