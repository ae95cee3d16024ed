"""Loading the facts an event's rules and effects declared, through the registered loaders.

Only what is declared is loaded, inside the transaction: a transition whose rules read
nothing costs no extra query. The teacher record is the core's own fact (several processes
judge a teacher by it); blocks and processes register loaders for theirs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from states.engine.context import CaseContext
from states.engine.statements import HOT
from states.errors import NotFound
from states.process.package import Catalogue, Parts
from states.process.rules import Facts, TeacherFacts


def load_facts(
    catalogue: Catalogue,
    conn: Connection,
    ctx: CaseContext,
    needs: frozenset[type],
    payload: Mapping[str, Any] | None = None,
) -> Facts:
    loaded = {}
    for kind in needs:
        loader = catalogue.fact_loaders.get(kind)
        if loader is None:
            raise AssertionError(f"no loader registered for {kind.__name__}")
        loaded[kind] = loader(conn, ctx)
    return Facts(
        today=ctx.today, data=ctx.data, policy=ctx.policy, state=ctx.case.state, loaded=loaded,
        payload=payload or {},
    )  # fmt: skip


def teacher_facts(conn: Connection, ctx: CaseContext) -> TeacherFacts:
    """The teacher the case is about, with the dates of their ethics records."""
    rows = HOT.teacher.all(conn, {"person_id": ctx.case.subject_id})
    if not rows:
        raise NotFound("教师档案不存在")
    r = rows[0]
    return TeacherFacts(
        person_id=r.person_id,
        name=r.name,
        school_id=r.school_id,
        school_is_rural=r.is_rural,
        school_is_weak=r.is_weak,
        subject=r.subject,
        title=r.title,
        title_date=r.title_date,
        education=r.education,
        rural_years=r.rural_years,
        birth_date=r.birth_date,
        ethics_dates=tuple(x.occurred_on for x in rows if x.occurred_on is not None),
        credited_years=round(int(r.credited_months or 0) / 12, 2),
    )


CORE_FACTS = Parts(fact_loaders={TeacherFacts: teacher_facts})
