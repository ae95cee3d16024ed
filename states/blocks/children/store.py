"""Child cases against the store: opening them in the parent's transaction, counting them."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, func, select

from states.blocks.children import ChildrenFacts, OpenChildren
from states.engine.bulk import open_many
from states.engine.context import CaseContext
from states.engine.effects import EffectScope
from states.engine.statements import cases_t
from states.process.package import Parts
from states.store.bulk import FastOne

_count = FastOne(
    select(func.count().label("total"), func.count(cases_t.c.closed_at).label("closed")).where(
        cases_t.c.parent_id == bindparam("parent_id")
    )
)


def _facts(conn: Connection, ctx: CaseContext) -> ChildrenFacts:
    row = _count.all(conn, {"parent_id": ctx.case.id})[0]
    return ChildrenFacts(total=int(row.total), open=int(row.total) - int(row.closed))


def _open(scope: EffectScope, cmd: OpenChildren) -> None:
    ids = open_many(
        scope.engine, cmd.process, list(cmd.items), scope.ctx.actor, conn=scope.conn,
        year=scope.ctx.case.year, parent_id=scope.ctx.case.id,
    )  # fmt: skip
    scope.record["children"] = ids


PARTS = Parts(fact_loaders={ChildrenFacts: _facts}, effect_handlers={OpenChildren: _open})
