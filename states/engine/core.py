"""``CaseEngine``: the facade every adapter calls. It holds the catalogue, the clock and the
calendar, and hands each operation to the module responsible for it."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError

from states.audit import GENESIS, canonical, case_digest
from states.blocks.children import store as children_store
from states.blocks.panel import store as panel_store
from states.blocks.publicity import store as publicity_store
from states.blocks.slots import store as slots_store
from states.calendar import WorkingCalendar
from states.clock import Clock, SystemClock, local_date
from states.engine import annotate, bulk, ledger, signers
from states.engine import authorize as authz
from states.engine.bulk import BulkResult, Move
from states.engine.context import build_context
from states.engine.effects import CORE_EFFECTS
from states.engine.facts import CORE_FACTS
from states.engine.record import append_audit
from states.engine.scope import visible
from states.engine.statements import CREATE_CASE, HOT, cases_t
from states.engine.tasks import Deadlines, open_state_tasks
from states.engine.transition import (
    FireResult,
    Transition,
    check_replay,
    keyed,
    load_case,
    run,
)
from states.errors import Conflict, FormError, NotFound, PermissionDenied, RenshiError
from states.org import SYSTEM_ACTOR, Actor
from states.process.package import Catalogue, Parts, ProcessPackage
from states.store.db import reader

# What the core and its building blocks register, before any process's parts.
CORE_PARTS: tuple[Parts, ...] = (
    CORE_FACTS,
    CORE_EFFECTS,
    publicity_store.PARTS,
    panel_store.PARTS,
    slots_store.PARTS,
    children_store.PARTS,
)


def build_catalogue(packages: Sequence[ProcessPackage]) -> Catalogue:
    """The catalogue of the installed packages over the core's own parts."""
    return Catalogue(packages, CORE_PARTS)


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DueStep:
    """A step a scheduled check found due on a case: the event, the version the check read,
    and the idempotency key that makes a rerun (or a concurrent run) take it once."""

    case_id: int
    version: int
    event: str
    key: str
    payload: Mapping[str, Any] = field(default_factory=dict)


class CaseEngine:
    """Moves cases. One instance per process (it holds the calendar and the clock)."""

    def __init__(
        self,
        db: Engine,
        processes: Catalogue | Sequence[ProcessPackage],
        clock: Clock | None = None,
        calendar: WorkingCalendar | None = None,
    ) -> None:
        self.db = db
        self.clock: Clock = clock or SystemClock()
        self.processes = (
            processes if isinstance(processes, Catalogue) else build_catalogue(processes)
        )
        self.deadlines = Deadlines(calendar)

    # --- calendar ---------------------------------------------------------------------------
    def calendar(self, conn: Connection | None = None) -> WorkingCalendar:
        if conn is None:
            with self.db.connect() as c:
                return self.deadlines.calendar(c)
        return self.deadlines.calendar(conn)

    def reload_calendar(self, conn: Connection) -> WorkingCalendar:
        """Re-read the loaded years: an administrator may have loaded one since."""
        return self.deadlines.reload(conn)

    # --- opening and moving cases -----------------------------------------------------------
    def start(
        self,
        process: str,
        actor: Actor,
        form: Mapping[str, Any],
        *,
        year: int | None = None,
        submit: bool = False,
    ) -> FireResult:
        """Open a case for the actor (a teacher, the applicant) in the initial state.

        ``submit`` fires the first event in the same transaction: a declaration the rules
        refuse leaves nothing behind, not a stranded draft that blocks the next attempt.
        """
        spec = self.processes.get(process)
        if spec is None or spec.opened_by != "teacher":
            raise FormError("process", f"不能以教师申报方式发起此流程：{process}")
        if actor.person_id is None:
            raise PermissionDenied("请先登录")
        data = spec.start_form.validate(form)
        data.pop("comment", None)
        now = self.clock.now()
        year = year or local_date(now).year
        with self.db.begin() as conn:
            teacher = HOT.teacher_school.one_or_none(conn, {"person_id": actor.person_id})
            if teacher is None:
                raise PermissionDenied("只有在职教师可以申报")
            if teacher.closed_on is not None:
                # A closed (撤销 or 合并) school takes no new case (states/registry/org_tree.py).
                raise Conflict(
                    f"{teacher.name}已于{teacher.closed_on.isoformat()}撤销，不能发起新的申报；"
                    "请先办理人员调动"
                )
            if spec.once_per_year:
                found = HOT.open_this_year.all(
                    conn, {"process": process, "person_id": actor.person_id, "year": year}
                )
                if found:
                    raise Conflict(f"您本年度已有进行中的{spec.label}申报（编号{found[0].id}）")
            initial: str = spec.machine.initial_state.id
            case_id = conn.execute(
                CREATE_CASE,
                {
                    "process": process, "year": year, "state": initial,
                    "org_unit_id": teacher.school_id, "org_path": teacher.path,
                    "applicant_id": actor.person_id, "subject_id": actor.person_id,
                    "data": data, "version": 1, "seq": 1, "audit_head": GENESIS,
                    "opened_at": now, "updated_at": now,
                },
            ).scalar_one()  # fmt: skip
            opened = case_digest(
                process=process, year=year, org_unit_id=teacher.school_id,
                org_path=teacher.path, applicant_id=actor.person_id,
                subject_id=actor.person_id, parent_id=None, slot_key=None, data=data,
            )  # fmt: skip
            head = append_audit(
                conn, case_id, 1, 1, GENESIS, now, actor, "create", None, initial,
                canonical({"form": data}), None, opened,
            )  # fmt: skip
            HOT.set_head.run(conn, {"h_id": case_id, "h_head": head})
            case = HOT.load_case.one_or_none(conn, {"case_id": case_id})
            ctx = build_context(conn, case, spec, actor, now)
            open_state_tasks(conn, ctx, self.deadlines, spec.states[initial], case_id)
            result = FireResult(case_id, process, "create", None, initial, 1)
            if submit:
                first = spec.allowed_events(initial)[0]
                result = run(Transition(self, conn, case_id, first, actor, {}, 1, None))
            # Last in the transaction: appends to the ledger queue until the commit.
            ledger.append(conn, [(case_id, head)], now)
        return result

    def fire(
        self,
        case_id: int,
        event: str,
        actor: Actor,
        payload: Mapping[str, Any] | None = None,
        *,
        expected_version: int,
        idempotency_key: str | None = None,
        also: Callable[[Connection], None] | None = None,
    ) -> FireResult:
        """Fire ``event`` on a case, or raise a RenshiError and write nothing.

        ``also`` runs in the same transaction once the move is written (not on a replay),
        for what must stand or fall with it: using up the SMS code that proves who objected.
        """
        body = dict(payload or {})
        key = keyed(idempotency_key, actor, event, expected_version, body)
        try:
            with self.db.begin() as conn:
                result = run(
                    Transition(self, conn, case_id, event, actor, body, expected_version, key)
                )
                if also is not None and not result.replayed:
                    also(conn)
                return result
        except (Conflict, IntegrityError) as exc:
            # A concurrent request with the same key may have won: return its result.
            if key is not None:
                with self.db.connect() as conn:
                    case = load_case(self, conn, case_id, actor, expected_version, event=event,
                                     check_version=False)  # fmt: skip
                    replay = check_replay(conn, case, event, key)
                if replay is not None:
                    return replay
            if isinstance(exc, IntegrityError):
                raise Conflict("事项已被他人同时更新，请刷新后重试") from None
            raise

    def fire_in(
        self,
        conn: Connection,
        case_id: int,
        event: str,
        actor: Actor,
        payload: Mapping[str, Any] | None = None,
        *,
        expected_version: int,
    ) -> FireResult:
        """``fire`` inside the caller's transaction, for a process step that must change
        something else atomically with the case (a seat taken in post choice)."""
        return run(
            Transition(self, conn, case_id, event, actor, dict(payload or {}), expected_version,
                       None)
        )  # fmt: skip

    def fire_due(self, due: Iterable[DueStep]) -> Counter[str]:
        """A scheduled check's steps, each taken by the system in its own transaction: a case
        someone moved since the check read it is refused and left for the next run, never
        stopping the others. How many cases each event moved (a replay moves nothing)."""
        moved: Counter[str] = Counter()
        for d in due:
            try:
                fired = self.fire(
                    d.case_id, d.event, SYSTEM_ACTOR, d.payload, expected_version=d.version,
                    idempotency_key=d.key,
                )  # fmt: skip
            except RenshiError as exc:
                log.info("case %s: %s not taken: %s", d.case_id, d.event, exc.message)
                continue
            if not fired.replayed:
                moved[d.event] += 1
        return moved

    def open_many(
        self,
        process: str,
        items: Sequence[tuple[int, Mapping[str, Any]]],
        actor: Actor,
        *,
        conn: Connection,
        year: int | None = None,
        parent_id: int | None = None,
        people: Sequence[int | None] | None = None,
    ) -> list[int]:
        return bulk.open_many(
            self, process, items, actor, conn=conn, year=year, parent_id=parent_id, people=people
        )

    def fire_many(
        self,
        process: str,
        moves: Sequence[Move],
        actor: Actor,
        *,
        strict: bool = True,
        conn: Connection | None = None,
        chunk: int = 5000,
        rules_checked: bool = False,
    ) -> BulkResult:
        if conn is None:
            with self.db.begin() as own:
                return bulk.fire_many(
                    self, process, moves, actor, conn=own, strict=strict, chunk=chunk,
                    rules_checked=rules_checked,
                )  # fmt: skip
        return bulk.fire_many(
            self, process, moves, actor, conn=conn, strict=strict, chunk=chunk,
            rules_checked=rules_checked,
        )  # fmt: skip

    # --- annotations and signers ------------------------------------------------------------
    def transfer(
        self,
        task_id: int,
        to_person_id: int,
        actor: Actor,
        *,
        expected_version: int,
        comment: str | None = None,
    ) -> FireResult:
        return annotate.transfer(
            self, task_id, to_person_id, actor, expected_version=expected_version, comment=comment
        )

    def comment(self, case_id: int, actor: Actor, text: str) -> FireResult:
        return annotate.comment(self, case_id, actor, text)

    def copy_to(
        self, case_id: int, actor: Actor, person_ids: Sequence[int], note: str | None = None
    ) -> FireResult:
        return annotate.copy_to(self, case_id, actor, person_ids, note)

    def record_attachment(
        self,
        case_id: int,
        actor: Actor,
        *,
        filename: str,
        content_type: str,
        size: int,
        sha256: str,
    ) -> int:
        return annotate.record_attachment(
            self, case_id, actor, filename=filename, content_type=content_type, size=size,
            sha256=sha256,
        )  # fmt: skip

    def urge(self, case_id: int, actor: Actor, note: str | None = None) -> FireResult:
        return annotate.urge(self, case_id, actor, note)

    def read_notification(self, notification_id: int, actor: Actor) -> bool:
        return annotate.read_notification(self, notification_id, actor)

    def read_all_notifications(self, actor: Actor) -> int:
        return annotate.read_all_notifications(self, actor)

    def mark_read(self, case_id: int, actor: Actor) -> None:
        annotate.mark_read(self, case_id, actor)

    def add_signer(
        self,
        case_id: int,
        actor: Actor,
        person_id: int,
        position: str,
        *,
        expected_version: int,
        comment: str | None = None,
    ) -> FireResult:
        return signers.add_signer(
            self, case_id, actor, person_id, position, expected_version=expected_version,
            comment=comment,
        )  # fmt: skip

    def countersign(
        self,
        case_id: int,
        actor: Actor,
        opinion: str,
        *,
        expected_version: int,
        comment: str | None = None,
    ) -> FireResult:
        return signers.countersign(
            self, case_id, actor, opinion, expected_version=expected_version, comment=comment
        )

    # --- reading ----------------------------------------------------------------------------
    def available(self, case_id: int, actor: Actor) -> dict[str, Any]:
        """What this person may do on the case now: the events they may fire (not one the
        signer gate would refuse while a 前加签 is unsigned), whether they may add a signer
        or must sign, comment, copy the case, and which of its tasks they may hand on.
        Read-only; the same checks as ``fire`` and the annotations."""
        with reader(self.db).connect() as conn:
            case = self.ensure_visible(conn, case_id, actor)
            spec = self.processes[case.process]
            ctx = build_context(conn, case, spec, actor, self.clock.now())
            events: list[str] = []
            for name in spec.allowed_events(case.state):
                ev = spec.events[name]
                if ev.by.public:
                    continue
                by = authz.acting(spec.states[case.state].actor, ev)
                try:
                    authz.authorize(ctx, ev, by)
                except PermissionDenied:
                    continue
                if signers.waits_for_signers(ctx, ev, by):
                    continue
                events.append(name)
            signing = any(
                t.kind == "sign" and t.assignee_id == actor.person_id for t in ctx.open_tasks
            )
            comment = annotate.acts_on(conn, case, actor)
        return {
            "events": events,
            "add_signer": signers.may_add_signer(ctx),
            "countersign": signing,
            "comment": comment,
            "copy": actor.sees(case.org_path),
            "transfer": [
                t.id
                for t in ctx.open_tasks
                if annotate.transferable(t) and authz.may_take(actor, t)
            ],
        }

    def ensure_visible(self, conn: Connection, case_id: int, actor: Actor) -> Any:
        """The case row if the actor may see it; NotFound otherwise (never a hint)."""
        case = conn.execute(select(cases_t).where(cases_t.c.id == case_id)).one_or_none()
        if case is None or not visible(conn, case, actor):
            raise NotFound("事项不存在")
        return case
