"""Who may see a case: the one definition.

Officers see their subtree, applicants their own case, and experts, signers and copy
recipients the cases they were handed (including those already done). The same grounds are
rendered twice — as a check on one loaded row (``visible``, the engine's) and as a SQL
condition over many (``case_scope``, the lists'); a test holds the two equal.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, false, or_, select

from states.engine.statements import HOT, cases_t, copies_t, tasks_t
from states.org import SCOPE_ROLES, Actor


def visible(conn: Connection, case: Any, actor: Actor) -> bool:
    if actor.sees(case.org_path):  # officer over the case's unit
        return True
    if actor.person_id is None:
        return False
    if actor.person_id == case.applicant_id:  # the applicant
        return True
    # handed: a task named to them (expert, signer, transferee), or a copy
    return bool(HOT.handed.all(conn, {"case_id": case.id, "person_id": actor.person_id}))


def case_scope(actor: Actor) -> ColumnElement[bool]:
    """``visible`` as a SQL condition on ``cases``."""
    terms: list[ColumnElement[bool]] = [
        cases_t.c.org_path.startswith(p, autoescape=True) for p in actor.scopes(SCOPE_ROLES)
    ]
    if actor.person_id is not None:
        me = actor.person_id
        terms.append(cases_t.c.applicant_id == me)
        terms.append(cases_t.c.id.in_(select(tasks_t.c.case_id).where(tasks_t.c.assignee_id == me)))
        terms.append(cases_t.c.id.in_(select(copies_t.c.case_id).where(copies_t.c.person_id == me)))
    return or_(*terms) if terms else false()
