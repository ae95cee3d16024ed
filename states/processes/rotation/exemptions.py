"""Exemptions (免于交流): a teacher on a campaign's list applies with evidence — near
retirement, illness, pregnancy, or a case the county named — and the school, then the
county decide; an approved one takes the teacher off the count. Each application is a case
of its own (``EXEMPTION``), audited like any other.

The application is opened here, not through the generic declaration form: it belongs to a
campaign and is submitted only with its evidence attached (the adapter stores the file,
puts it on the case, then submits; the submission's rule checks the evidence is there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from states.engine import CaseEngine
from states.engine.scope import case_scope
from states.errors import Conflict, FormError, PermissionDenied
from states.org import Actor
from states.processes.rotation import campaigns
from states.processes.rotation.facts import BEFORE_RESULT
from states.processes.rotation.machine import EXEMPTION, ExemptionMachine
from states.processes.rotation.spec import EXEMPTION_FORM
from states.processes.rotation.tables import RotationEligible
from states.store.models import Case, OrgUnit, Person, Teacher, table_of

eligible_t, cases_t = table_of(RotationEligible), table_of(Case)
teachers_t, units_t, people_t = table_of(Teacher), table_of(OrgUnit), table_of(Person)


def open_exemption(
    engine: CaseEngine, actor: Actor, campaign_id: int, kind: str, statement: str
) -> tuple[int, int]:
    """The teacher's application, opened as a draft at their school; returns (case id,
    version). Everything its submission will judge is checked first, so a refused
    application leaves nothing behind."""
    if actor.person_id is None:
        raise PermissionDenied("请先登录")
    data = EXEMPTION_FORM.validate(
        {"campaign_id": campaign_id, "kind": kind, "statement": statement}
    )
    with engine.db.begin() as conn:
        c = campaigns.read(engine, conn, actor, campaign_id)
        if c.state not in BEFORE_RESULT:
            raise FormError("campaign_id", f"{c.name}已公布交流结果，不再受理免于交流申请")
        line = conn.execute(
            select(eligible_t.c.exempt_case_id).where(
                eligible_t.c.campaign_id == c.id, eligible_t.c.person_id == actor.person_id
            )
        ).one_or_none()
        if line is None or c.state == "opened":
            raise FormError("campaign_id", f"您不在{c.name}符合交流条件的名单中，无需申请")
        if line.exempt_case_id is not None:
            raise FormError("campaign_id", "您已获批免于交流")
        if data["kind"] not in (c.exemption_kinds or ()):
            raise FormError(
                "kind", f"免于交流的情形应为以下之一：{'、'.join(c.exemption_kinds or ())}"
            )
        pending = [
            int(r.id)
            for r in conn.execute(
                select(cases_t.c.id, cases_t.c.data).where(
                    cases_t.c.process == EXEMPTION,
                    cases_t.c.applicant_id == actor.person_id,
                    cases_t.c.closed_at.is_(None),
                )
            )
            if int((r.data or {}).get("campaign_id", 0)) == c.id
        ]
        if pending:
            raise Conflict(f"您已有办理中的免于交流申请（编号{pending[0]}）")
        school = conn.execute(
            select(teachers_t.c.school_id).where(teachers_t.c.person_id == actor.person_id)
        ).scalar_one()
        data["campaign"] = c.name
        [case_id] = engine.open_many(
            EXEMPTION, [(int(school), data)], actor, conn=conn, year=c.year,
            people=[actor.person_id],
        )  # fmt: skip
    return case_id, 1


@dataclass(frozen=True)
class ExemptionLine:
    case_id: int
    person_id: int
    name: str
    school: str
    kind: str
    state: str
    state_label: str
    opened_at: Any


def exemptions(engine: CaseEngine, actor: Actor, campaign_id: int) -> list[ExemptionLine]:
    """The campaign's exemption applications the actor may see (their own; their school's;
    the county's), newest first."""
    with engine.db.connect() as conn:
        c = campaigns.read(engine, conn, actor, campaign_id)
        rows = conn.execute(
            select(cases_t.c.id, cases_t.c.applicant_id, cases_t.c.state, cases_t.c.data,
                   cases_t.c.opened_at, people_t.c.name, units_t.c.name.label("school"))
            .join(people_t, people_t.c.id == cases_t.c.applicant_id)
            .join(units_t, units_t.c.id == cases_t.c.org_unit_id)
            .where(cases_t.c.process == EXEMPTION, case_scope(actor),
                   cases_t.c.org_path.startswith(c.county_path, autoescape=True))
            .order_by(cases_t.c.id.desc())
        ).all()  # fmt: skip
    return [
        ExemptionLine(
            int(r.id),
            int(r.applicant_id),
            r.name,
            r.school,
            str(r.data.get("kind", "")),
            r.state,
            str(getattr(ExemptionMachine, r.state).name),
            r.opened_at,
        )
        for r in rows
        if int((r.data or {}).get("campaign_id", 0)) == c.id
    ]
