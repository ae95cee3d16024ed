"""From the outbox to people: expand each notice into deliveries, then deliver them.

Guarantees, and how:
- Nothing twice on a channel: a delivery is one row per (notice, channel, target), unique in
  the database; in-app notices are written and marked sent in one transaction; every other
  send is committed as sent right after the channel accepts it.
- Nothing lost: a delivery is claimed with a lease before sending; a dispatcher that dies
  mid-batch leaves its claims to expire, and the next run takes them over. The one message
  in flight at the moment of a crash may be sent again; it carries the same Message-ID /
  idempotency key, so mail clients and robots can tell.
- A channel that is down: temporary failures are retried with exponential backoff, then
  recorded as failed with the reason, where officers can see them; the sweep carries on.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import TemplateError
from sqlalchemy import Connection, Engine, and_, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from notifications.channels import Channel, DeliveryError, Message
from notifications.config import ConfigError, public_url, validate_webhooks
from notifications.render import Notices, UnknownKind, notices_of
from states.clock import BUREAU_TZ, Clock
from states.process.package import Catalogue
from states.store.models import (
    Case,
    Delivery,
    Notification,
    OrgUnit,
    OutboxMessage,
    Person,
    RoleBinding,
    table_of,
)

log = logging.getLogger(__name__)

outbox_t, deliveries_t, notes_t = (
    table_of(OutboxMessage),
    table_of(Delivery),
    table_of(Notification),
)
people_t, bindings_t, units_t, cases_t = (
    table_of(Person),
    table_of(RoleBinding),
    table_of(OrgUnit),
    table_of(Case),
)

LEASE = dt.timedelta(minutes=2)
MAX_ATTEMPTS = 6
BACKOFF = dt.timedelta(seconds=30)
MAX_BACKOFF = dt.timedelta(hours=1)


@dataclass
class DispatchReport:
    expanded: int = 0
    sent: dict[str, int] = field(default_factory=dict)
    retried: int = 0
    failed: int = 0

    def count(self, channel: str, n: int = 1) -> None:
        self.sent[channel] = self.sent.get(channel, 0) + n


# --- quiet hours ------------------------------------------------------------------------------
def quiet_until(now: dt.datetime, quiet_hours: str | None) -> dt.datetime | None:
    """The end of the person's quiet hours if ``now`` falls inside them ("22:00-07:00")."""
    if not quiet_hours:
        return None
    try:
        start_s, end_s = quiet_hours.split("-")
        start, end = dt.time.fromisoformat(start_s), dt.time.fromisoformat(end_s)
    except ValueError:
        return None
    local = now.astimezone(BUREAU_TZ)
    t = local.time()
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, end, tzinfo=BUREAU_TZ)


# --- expansion --------------------------------------------------------------------------------
def _insert_ignore(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert deliveries, skipping any that exist: expansion may run again after a crash."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        stmt: Any = postgresql.insert(deliveries_t).on_conflict_do_nothing()
    else:
        stmt = sqlite.insert(deliveries_t).on_conflict_do_nothing()
    conn.execute(stmt, rows)


def expand(db: Engine, clock: Clock, enabled: Iterable[str], *, batch: int = 2000) -> int:
    """Turn pending outbox notices into one delivery per recipient and channel."""
    enabled = frozenset(enabled) | {"inapp"}
    now = clock.now()
    with db.begin() as conn:
        notices = conn.execute(
            select(outbox_t)
            .where(outbox_t.c.status == "pending")
            .order_by(outbox_t.c.id)
            .limit(batch)
            .with_for_update(skip_locked=True)
        ).all()
        if not notices:
            return 0
        named = {n.recipient_id for n in notices if n.recipient_id}
        roles = {(n.recipient_role, n.recipient_unit_id) for n in notices if n.recipient_role}
        members: dict[tuple[str, int], list[int]] = {}
        if roles:
            for b in conn.execute(
                select(bindings_t.c.person_id, bindings_t.c.role, bindings_t.c.org_unit_id).where(
                    bindings_t.c.org_unit_id.in_({u for _, u in roles})
                )
            ):
                members.setdefault((b.role, b.org_unit_id), []).append(b.person_id)
        everyone = named | {p for ps in members.values() for p in ps}
        people = {
            p.id: p
            for p in conn.execute(
                select(
                    people_t.c.id,
                    people_t.c.email,
                    people_t.c.phone,
                    people_t.c.active,
                    people_t.c.notify_channels,
                    people_t.c.quiet_hours,
                ).where(people_t.c.id.in_(everyone))
            )
        }
        robots: dict[int, list[str]] = {}
        if "webhook" in enabled and roles:
            for u in conn.execute(
                select(units_t.c.id, units_t.c.settings).where(
                    units_t.c.id.in_({u for _, u in roles})
                )
            ):
                if u.settings and u.settings.get("webhooks"):
                    try:
                        robots[u.id] = validate_webhooks(u.settings)
                    except ConfigError as exc:  # one unit's bad setting must not stop the rest
                        log.warning("unit %s: group robot settings ignored: %s", u.id, exc)
        rows: list[dict[str, Any]] = []
        for n in notices:
            recipients = (
                [n.recipient_id]
                if n.recipient_id
                else members.get((n.recipient_role, n.recipient_unit_id), [])
            )
            for pid in recipients:
                person = people.get(pid)
                if person is None or not person.active:
                    continue
                wants = {"inapp"} | (set(person.notify_channels or ()) & enabled)
                for channel in sorted(wants):
                    target = {"inapp": str(pid), "email": person.email, "sms": person.phone}.get(
                        channel
                    )
                    if not target:
                        continue
                    later = None if channel == "inapp" else quiet_until(now, person.quiet_hours)
                    rows.append(_delivery(n.id, pid, channel, target, later or now))
            for target in robots.get(n.recipient_unit_id or 0, []) if n.recipient_role else []:
                rows.append(_delivery(n.id, None, "webhook", target, now))
            if not n.recipient_id and not n.recipient_role and n.payload.get("phone"):
                # addressed to a number, not a person (a registrant's verification code)
                rows.append(_delivery(n.id, None, "sms", str(n.payload["phone"]), now))
        _insert_ignore(conn, rows)
        conn.execute(
            update(outbox_t)
            .where(outbox_t.c.id.in_([n.id for n in notices]))
            .values(status="expanded")
        )
    return len(notices)


def _delivery(
    outbox_id: int, person_id: int | None, channel: str, target: str, when: dt.datetime
) -> dict[str, Any]:
    return {
        "outbox_id": outbox_id,
        "person_id": person_id,
        "channel": channel,
        "target": target,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": when,
    }


# --- rendering --------------------------------------------------------------------------------
def _contexts(
    conn: Connection, rows: list[Any], catalogue: Catalogue, notices: Notices
) -> dict[int, dict[str, Any]]:
    """The template context of each delivery (the contract in notifications.render): the
    common keys, the generic kinds' keys, and a package's kind's declared keys copied from
    the payload."""
    case_ids = {r.case_id for r in rows if r.case_id}
    cases = {
        c.id: c
        for c in conn.execute(
            select(
                cases_t.c.id,
                cases_t.c.process,
                cases_t.c.state,
                people_t.c.name.label("applicant_name"),
                units_t.c.name.label("unit_name"),
            )
            .outerjoin(people_t, people_t.c.id == cases_t.c.applicant_id)
            .join(units_t, units_t.c.id == cases_t.c.org_unit_id)
            .where(cases_t.c.id.in_(case_ids))
        )
    }
    names = {
        p.id: p.name
        for p in conn.execute(
            select(people_t.c.id, people_t.c.name).where(
                people_t.c.id.in_({r.person_id for r in rows if r.person_id})
            )
        )
    }
    late_units = {
        u.id: u.name
        for u in conn.execute(
            select(units_t.c.id, units_t.c.name).where(
                units_t.c.id.in_(
                    {int(r.payload["late_unit_id"]) for r in rows if "late_unit_id" in r.payload}
                )
            )
        )
    }
    out: dict[int, dict[str, Any]] = {}
    site = public_url()  # absolute: an email or a text is opened on a phone
    for r in rows:
        p = dict(r.payload)
        case = cases.get(r.case_id)
        spec = catalogue.get(case.process) if case else None
        # a public applicant (no account) is addressed by the name and mobile they registered
        by_phone = not r.person_id and bool(p.get("phone"))
        ctx: dict[str, Any] = {
            "recipient_name": p.get("name", "") if by_phone else names.get(r.person_id, "各位同志"),
            "case_id": r.case_id,
            "process_label": spec.label if spec else "",
            "applicant_name": (case.applicant_name if case else "") or p.get("name", ""),
            "unit_name": case.unit_name if case else "",
            "state_label": spec.state_label(p.get("state", case.state)) if spec and case else "",
            "link": f"{site}/cases/{r.case_id}" if r.case_id and not by_phone else "",
            "due_on": p.get("due_on") or "",
            "reason": p.get("reason", ""),
            "by": p.get("by", ""),
            "note": p.get("note", ""),
            "sign": {"before": "前加签", "beside": "并加签", "after": "后加签"}.get(
                p.get("sign", ""), ""
            ),
            "code": p.get("code", ""),
            "minutes": p.get("minutes", ""),
            "handler_unit": late_units.get(int(p.get("late_unit_id", 0)), ""),
            # the daily audit digest (states/audit_digest.py)
            "taken_at": p.get("taken_at", ""),
            "fingerprint": p.get("fingerprint", ""),
            "digest_file": p.get("file", ""),
            "case_count": p.get("cases", ""),
            "breaks": p.get("breaks", ""),
            # a process's own kind: the keys its package declares, as the payload has them
            **{key: p.get(key, "") for key in notices.keys(r.kind)},
        }
        if spec and "event" in p:
            event = p["event"]
            ctx["event_label"] = spec.events[event].label if event in spec.events else event
        if spec and "to" in p:
            ctx["from_label"] = spec.state_label(p["from"]) if p.get("from") else ""
            ctx["to_label"] = spec.state_label(p["to"])
        if p.get("due_on"):
            due = dt.date.fromisoformat(p["due_on"])
            ctx["days_overdue"] = max(0, (r.created_at.astimezone(BUREAU_TZ).date() - due).days)
        out[r.id] = ctx
    return out


# --- delivery ---------------------------------------------------------------------------------
def _claim(conn: Connection, now: dt.datetime, channels: Iterable[str], batch: int) -> list[Any]:
    d = deliveries_t
    ids = (
        conn.execute(
            select(d.c.id)
            .where(
                d.c.channel.in_(list(channels)),
                or_(
                    and_(d.c.status == "pending", d.c.next_attempt_at <= now),
                    and_(d.c.status == "sending", d.c.lease_until < now),
                ),
            )
            .order_by(d.c.id)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    if not ids:
        return []
    conn.execute(
        update(d)
        .where(d.c.id.in_(ids))
        .values(status="sending", lease_until=now + LEASE, attempts=d.c.attempts + 1)
    )
    return list(
        conn.execute(
            select(
                d.c.id,
                d.c.channel,
                d.c.target,
                d.c.person_id,
                d.c.attempts,
                outbox_t.c.kind,
                outbox_t.c.payload,
                outbox_t.c.case_id,
                outbox_t.c.id.label("outbox_id"),
                outbox_t.c.created_at,
            )
            .join(outbox_t, outbox_t.c.id == d.c.outbox_id)
            .where(d.c.id.in_(ids))
            .order_by(d.c.id)
        )
    )


def _task_of(payload: Mapping[str, Any]) -> int | None:
    task_id = payload.get("task_id")
    return task_id if isinstance(task_id, int) and not isinstance(task_id, bool) else None


def deliver_inapp(db: Engine, clock: Clock, *, catalogue: Catalogue, batch: int = 2000) -> int:
    """In-app notices: written to the person's inbox and marked sent in one transaction."""
    now = clock.now()
    with db.begin() as conn:
        rows = _claim(conn, now, ["inapp"], batch)
        if not rows:
            return 0
        notices = notices_of(catalogue)
        contexts = _contexts(conn, rows, catalogue, notices)
        notes = []
        broken: list[dict[str, Any]] = []
        for r in rows:
            try:
                text = notices.render(r.kind, contexts[r.id])
            except (TemplateError, UnknownKind) as exc:
                # One bad notice is recorded as failed; it must not hold up everyone else's.
                broken.append({"d_id": r.id, "d_error": f"通知模板与数据不符：{exc}"[:2000]})
                continue
            notes.append(
                {
                    "outbox_id": r.outbox_id,
                    "person_id": r.person_id,
                    "case_id": r.case_id,
                    # the task a reminder, urge or escalation is about: it settles the notice
                    "task_id": _task_of(r.payload),
                    "kind": r.kind,
                    "title": text.subject[:255],
                    "body": text.body,
                    "created_at": now,
                }
            )
        stmt: Any = (
            postgresql.insert(notes_t)
            if conn.dialect.name == "postgresql"
            else sqlite.insert(notes_t)
        )
        if notes:
            conn.execute(stmt.on_conflict_do_nothing(), notes)
        failed = {b["d_id"] for b in broken}
        conn.execute(
            update(deliveries_t)
            .where(deliveries_t.c.id.in_([r.id for r in rows if r.id not in failed]))
            .values(status="sent", sent_at=now, lease_until=None)
        )
        if broken:
            log.warning("%d in-app notices could not be rendered", len(broken))
            conn.execute(
                update(deliveries_t)
                .where(deliveries_t.c.id == bindparam("d_id"))
                .values(status="failed", lease_until=None, last_error=bindparam("d_error")),
                broken,
            )
    return len(rows) - len(broken)


def deliver_external(
    db: Engine,
    clock: Clock,
    channels: Mapping[str, Channel],
    *,
    catalogue: Catalogue,
    batch: int = 200,
    report: DispatchReport | None = None,
) -> DispatchReport:
    """Email, SMS and group robots: claim a batch, then send and record one by one."""
    report = report or DispatchReport()
    now = clock.now()
    notices = notices_of(catalogue)
    with db.begin() as conn:
        rows = _claim(conn, now, ["email", "sms", "webhook"], batch)
        contexts = _contexts(conn, rows, catalogue, notices) if rows else {}
    done = update(deliveries_t).where(deliveries_t.c.id == bindparam("d_id"))
    for r in rows:
        channel = channels.get(r.channel)
        try:
            if channel is None:
                raise DeliveryError(f"渠道“{r.channel}”未启用或未配置", temporary=False)
            try:
                text = notices.render(r.kind, contexts[r.id])
            except (TemplateError, UnknownKind) as exc:
                raise DeliveryError(f"通知模板与数据不符：{exc}", temporary=False) from exc
            channel.send(
                Message(
                    kind=r.kind,
                    target=r.target,
                    subject=text.subject,
                    body=text.body,
                    short=text.short,
                    idempotency_key=f"renshi-{r.id}",
                )
            )
        except DeliveryError as exc:
            give_up = not exc.temporary or r.attempts >= MAX_ATTEMPTS
            wait = min(BACKOFF * (2 ** (r.attempts - 1)), MAX_BACKOFF)
            with db.begin() as conn:
                conn.execute(
                    done.values(
                        status="failed" if give_up else "pending",
                        next_attempt_at=bindparam("d_next"),
                        lease_until=None,
                        last_error=bindparam("d_error"),
                    ),
                    {"d_id": r.id, "d_next": clock.now() + wait, "d_error": str(exc)[:2000]},
                )
            if give_up:
                report.failed += 1
                log.warning("delivery %s on %s failed: %s", r.id, r.channel, exc)
            else:
                report.retried += 1
            continue
        with db.begin() as conn:
            conn.execute(
                done.values(status="sent", sent_at=bindparam("d_now"), lease_until=None),
                {"d_id": r.id, "d_now": clock.now()},
            )
        report.count(r.channel)
    return report


def dispatch(
    db: Engine,
    clock: Clock,
    channels: Mapping[str, Channel],
    *,
    catalogue: Catalogue,
    rounds: int = 50,
) -> DispatchReport:
    """One sweep: expand what is pending, then deliver until nothing is due (bounded).
    ``catalogue``: the installed processes, for the labels a notice names and the notice
    kinds their packages declare."""
    report = DispatchReport()
    enabled = set(channels) | {"inapp"}
    for _ in range(rounds):
        report.expanded += expand(db, clock, enabled)
        inapp = deliver_inapp(db, clock, catalogue=catalogue)
        if inapp:
            report.count("inapp", inapp)
        before = sum(report.sent.values()) + report.retried + report.failed
        deliver_external(db, clock, channels, catalogue=catalogue, report=report)
        after = sum(report.sent.values()) + report.retried + report.failed
        if not inapp and after == before and not _pending(db):
            break
    return report


def _pending(db: Engine) -> bool:
    with db.connect() as conn:
        return (
            conn.execute(
                select(outbox_t.c.id).where(outbox_t.c.status == "pending").limit(1)
            ).first()
            is not None
        )
