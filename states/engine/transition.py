"""``fire``: one transition as an ordered list of steps over one ``Transition``.

In the spirit of Prefect's orchestration policies, each step is one small function with
one concern, run in a declared order; a step may end the transition early with a result
(an idempotent replay, a decision held for added signers) or refuse it by raising — and a
refusal writes nothing, because every step runs in the caller's transaction.

    load → replay → version → event allowed → authorize → form → signer gate → rules
    → machine → effects → case + audit → tasks → notices

An idempotency key is looked at only once the case is loaded and the actor may see it: a
key belongs to (actor, case, event, version, payload), and reused for anything else it is
refused with a 422 naming it, never silently replayed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, select
from statemachine.exceptions import TransitionNotAllowed

from states.audit import canonical
from states.engine import authorize as authz
from states.engine.context import CaseContext, build_context
from states.engine.effects import EffectScope, apply
from states.engine.facts import load_facts
from states.engine.machine import transition
from states.engine.outbox import case_update, send
from states.engine.record import Keyed, commit_case
from states.engine.scope import visible
from states.engine.statements import HOT, audit_t
from states.engine.tasks import close_state_tasks, open_state_tasks
from states.engine.visibility import APPLICANT_VIEW, shown_payload
from states.errors import Conflict, EventNotAllowed, FormError, NotFound, RuleRefused
from states.org import Actor
from states.process.rules import Facts
from states.process.spec import By, EffectContext, EventSpec, ProcessSpec

if TYPE_CHECKING:
    from states.engine.core import CaseEngine


@dataclass(frozen=True)
class FireResult:
    case_id: int
    process: str
    event: str
    from_state: str | None
    to_state: str
    version: int
    replayed: bool = False
    reason: str | None = None  # why a veto turned the event into a rejection


@dataclass
class Transition:
    """One request to fire an event, filled in as the steps run."""

    engine: CaseEngine
    conn: Connection
    case_id: int
    event: str
    actor: Actor
    payload: dict[str, Any]
    expected_version: int
    key: Keyed | None
    gate: bool = True  # False when a held decision is released by its last signer
    case: Any = None
    spec: ProcessSpec = field(init=False)
    ev: EventSpec = field(init=False)
    ctx: CaseContext = field(init=False)
    by: By | None = None
    clean: dict[str, Any] = field(default_factory=dict)
    facts: Facts = field(init=False)
    fired: str = ""
    reason: str | None = None
    source: str = ""
    target: str = ""
    effects: EffectScope = field(init=False)
    version: int = 0


Step = Callable[[Transition], FireResult | None]


def load(t: Transition) -> None:
    t.case = load_case(
        t.engine, t.conn, t.case_id, t.actor, t.expected_version, event=t.event,
        check_version=False,
    )  # fmt: skip
    t.spec = t.engine.processes[t.case.process]


def replay(t: Transition) -> FireResult | None:
    """A repeated idempotency key returns the first result and writes nothing."""
    return check_replay(t.conn, t.case, t.event, t.key) if t.key else None


def version(t: Transition) -> None:
    ensure_version(t.case, t.expected_version)


def event_allowed(t: Transition) -> None:
    spec, state = t.spec, t.case.state
    ev = spec.events.get(t.event)
    allowed = spec.allowed_events(state)
    if ev is None or ev.internal or t.event not in allowed:
        labels = "、".join(spec.events[e].label for e in allowed) or "无"
        what = ev.label if ev is not None else t.event
        raise EventNotAllowed(
            f"当前状态「{spec.state_label(state)}」不能执行「{what}」；可执行：{labels}", allowed
        )
    t.ev = ev


def authorize(t: Transition) -> None:
    t.ctx = build_context(t.conn, t.case, t.spec, t.actor, t.engine.clock.now())
    t.by = authz.acting(t.spec.states[t.case.state].actor, t.ev)
    authz.authorize(t.ctx, t.ev, t.by)


def form(t: Transition) -> None:
    t.clean = t.ev.form.validate(t.payload)


def signer_gate(t: Transition) -> FireResult | None:
    if not (t.gate and t.ev.decision and not t.ev.overrides_signers and t.by and t.by.officer):
        return None
    from states.engine.signers import hold_for_signers

    return hold_for_signers(t.conn, t.ctx, t.event, t.clean, t.key)


def rules(t: Transition) -> None:
    """The event's rules in declared order; a failing rule refuses the event, or for a veto
    turns it into the process's reject event with the reason."""
    t.facts = load_facts(t.engine.processes, t.conn, t.ctx, t.spec.needs(t.event), t.clean)
    t.fired = t.event
    for use in t.ev.rules:
        verdict = use.rule.check(t.facts)
        if verdict.ok:
            continue
        if not use.vetoes or t.spec.reject_event is None:
            raise RuleRefused(use.rule.code, verdict.reason, field=verdict.field)
        t.fired, t.reason = t.spec.reject_event, verdict.reason
        t.clean = {
            **t.clean, "rule": use.rule.code, "reason": verdict.reason, "requested": t.event,
        }  # fmt: skip
        break


def move(t: Transition) -> None:
    t.source = t.case.state
    try:
        t.target = transition(t.spec, t.source, t.fired, t.spec.guard_kwargs(t.fired, t.facts))
    except TransitionNotAllowed:
        raise EventNotAllowed(
            f"当前状态「{t.spec.state_label(t.source)}」不能执行「{t.ev.label}」",
            t.spec.allowed_events(t.source),
        ) from None


def effects(t: Transition) -> None:
    spec, ctx = t.spec, t.ctx
    commands = spec.effects(
        EffectContext(
            event=t.fired,
            source=t.source,
            target=t.target,
            payload=t.clean,
            facts=t.facts,
            case_id=t.case.id,
            applicant_id=t.case.applicant_id,
            unit_ids=ctx.unit_ids(),
        )
    )
    fired = spec.events[t.fired]
    if fired.decision and not fired.internal and t.actor.person_id is not None:
        ctx.data["decisions"] = int(ctx.data.get("decisions", 0)) + 1
    t.effects = apply(t.engine, t.conn, ctx, commands, t.clean, t.target)


def write(t: Transition) -> None:
    on_record = {k: v for k, v in t.clean.items() if k not in t.spec.events[t.fired].sealed}
    if t.target != t.source:
        t.ctx.data.pop("pending_decision", None)
        t.ctx.data.pop("signatures", None)
    t.version = commit_case(
        t.conn, t.case, t.actor, t.ctx.now, t.fired, t.target, t.ctx.data, on_record, t.key,
        final=t.spec.is_final(t.target), source_state=t.source, slot_key=t.effects.slot_key,
    )  # fmt: skip


def tasks(t: Transition) -> None:
    if t.target == t.source:
        return
    close_state_tasks(t.conn, t.case.id, t.actor, t.ctx.now, waiting=bool(t.ctx.waiting))
    open_state_tasks(
        t.conn, t.ctx, t.engine.deadlines, t.spec.states[t.target], t.case.id, t.effects.tasks,
        days=t.effects.window_days, note=t.effects.note,
    )  # fmt: skip


def notices(t: Transition) -> FireResult:
    """The applicant hears of every move of their case (by SMS when they have no account),
    with the reason given when the applicant may read it (states/engine/visibility.py),
    unless an effect told them in the process's own words (``EffectScope.applicant_told``)."""
    if t.target != t.source and not t.effects.applicant_told:
        moved = (t.case.id, t.spec.name, t.fired, t.source, t.target, t.ctx.now)
        reason = t.clean.get("reason")
        if reason is not None:
            told = shown_payload(t.spec.visibility, {"reason": reason}, APPLICANT_VIEW)
            reason = told.get("reason")
        contacts = t.engine.processes.contacts.get(t.spec.name)
        applicant = t.case.applicant_id
        if contacts is not None:
            found = contacts(t.conn, [t.case.id]).get(t.case.id)
            if found is not None:
                send(t.conn, case_update(*moved, reason=reason, contact=found))
        elif applicant is not None and applicant != t.actor.person_id:
            send(t.conn, case_update(*moved, reason=reason, person_id=applicant))
    return FireResult(
        t.case.id, t.spec.name, t.fired, t.source, t.target, t.version, reason=t.reason
    )


STEPS: tuple[Step, ...] = (
    load, replay, version, event_allowed, authorize, form, signer_gate, rules, move, effects,
    write, tasks, notices,
)  # fmt: skip


def run(t: Transition) -> FireResult:
    for step in STEPS:
        result = step(t)
        if result is not None:
            return result
    raise AssertionError("the last step returns the result")


def keyed(
    key: str | None, actor: Actor, event: str, expected_version: int, payload: Any
) -> Keyed | None:
    """The key with the digest of what its request asks."""
    if key is None:
        return None
    asked = canonical(
        {"actor": actor.person_id, "event": event, "version": expected_version, "payload": payload}
    )
    return Keyed(key, hashlib.sha256(asked.encode()).hexdigest())


def load_case(
    engine: CaseEngine,
    conn: Connection,
    case_id: int,
    actor: Actor,
    expected_version: int,
    *,
    event: str | None = None,
    check_version: bool = True,
) -> Any:
    """The case row, locked, if the actor may see it (or ``event`` is open to the public in
    the case's process, known only once the row is read); a stale version is a conflict."""
    # The row lock (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers) makes
    # every read below fresh: a concurrent writer waits here, then sees the new version.
    case = HOT.load_case.one_or_none(conn, {"case_id": case_id})
    public = False
    if case is not None and event is not None:
        ev = engine.processes[case.process].events.get(event)
        public = ev is not None and ev.by.public
    # Out of scope looks exactly like absent: no hint that the case exists.
    if case is None or not (public or visible(conn, case, actor)):
        raise NotFound("事项不存在")
    if check_version:
        ensure_version(case, expected_version)
    return case


def ensure_version(case: Any, expected_version: int) -> None:
    if case.version != expected_version:
        raise Conflict(
            f"事项已被他人更新（当前版本{case.version}，您提交的版本{expected_version}），"
            "请刷新后重试"
        )


REUSED = "该幂等键已用于另一请求（操作人、操作、版本或内容不同），请使用新的幂等键"


def check_replay(conn: Connection, case: Any, event: str, key: Keyed) -> FireResult | None:
    """The first result of the request that used ``key`` on this case, exactly as it was
    returned then (its version, not its place in the audit chain) — if this request asks the
    same: the same actor, event, version and payload. Anything else is refused."""
    row = conn.execute(
        select(audit_t).where(
            and_(audit_t.c.case_id == case.id, audit_t.c.idempotency_key == key.key)
        )
    ).one_or_none()
    if row is None:
        return None
    if row.idempotency_request != key.request:
        raise FormError("Idempotency-Key", REUSED)
    payload = json.loads(row.payload)
    return FireResult(
        case.id, case.process, row.event, row.from_state, row.to_state, row.version, True,
        reason=payload.get("reason") if row.event != event else None,
    )  # fmt: skip
