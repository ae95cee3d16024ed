"""Title review's own facts: a school's posts per title level (岗位职数) and those held."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, select

from states.blocks.slots.store import held_by_others
from states.engine.context import CaseContext
from states.processes.title_review.rules import QuotaFacts
from states.processes.title_review.spec import slot_key
from states.store.models import Quota, table_of

quotas_t = table_of(Quota)
QUOTA_POSTS = (
    select(quotas_t.c.posts)
    .where(
        quotas_t.c.org_unit_id == bindparam("unit"),
        quotas_t.c.year == bindparam("year"),
        quotas_t.c.title == bindparam("title"),
    )
    .with_for_update()
)


def quota_facts(conn: Connection, ctx: CaseContext) -> QuotaFacts:
    """Free posts and those already held, with the quota row locked (PostgreSQL) so two
    officers recommending at once cannot both take the last post."""
    case = ctx.case
    title = str(ctx.data["target_title"])
    posts = conn.execute(
        QUOTA_POSTS, {"unit": case.org_unit_id, "year": case.year, "title": title}
    ).scalar()
    used = held_by_others(conn, ctx, slot_key(title))
    return QuotaFacts(title=title, posts=int(posts or 0), used=used)
