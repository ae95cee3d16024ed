"""Rotation's facts, loaded inside the transition that reads them: the campaign behind a
campaign case, and what an exemption's submission is judged by."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from states.engine.context import CaseContext
from states.processes.rotation import campaigns, lists
from states.processes.rotation.rules import CampaignFacts, ExemptionFacts
from states.processes.rotation.tables import RotationCampaign, RotationEligible, RotationPost
from states.store.models import Attachment, Case, OrgUnit, table_of

campaigns_t, eligible_t, posts_t = (
    table_of(RotationCampaign), table_of(RotationEligible), table_of(RotationPost)
)  # fmt: skip
attachments_t, units_t, cases_t = table_of(Attachment), table_of(OrgUnit), table_of(Case)
# The campaign's states in which an exemption is still applied for and decided.
BEFORE_RESULT = ("opened", "preferences", "confirming", "matching")


def campaign_facts(conn: Connection, ctx: CaseContext) -> CampaignFacts:
    c = campaigns.campaign_of_case(conn, ctx.case.id)
    eligible = conn.execute(
        select(func.count()).where(eligible_t.c.campaign_id == c.id)
    ).scalar_one()
    posts = conn.execute(
        select(func.count()).where(posts_t.c.campaign_id == c.id, posts_t.c.places > 0)
    ).scalar_one()
    return CampaignFacts(
        campaign_id=int(c.id),
        name=c.name,
        eligibility_computed=c.eligibility_at is not None,
        eligible=int(eligible),
        posts=int(posts),
        preferences_open=c.preferences_open,
        preferences_close=c.preferences_close,
        confirm_by=c.confirm_by,
        unconfirmed=tuple(lists.unconfirmed(conn, c)),
        candidates=len(lists.candidates(conn, c)),
        run=int(c.run),
    )


def exemption_facts(conn: Connection, ctx: CaseContext) -> ExemptionFacts:
    """The campaign named on the exemption, if it is the teacher's county's (read from the
    case's own unit, the school the teacher declared from)."""
    evidence = conn.execute(
        select(func.count()).where(attachments_t.c.case_id == ctx.case.id)
    ).scalar_one()
    found = conn.execute(
        select(campaigns_t, units_t.c.path, cases_t.c.state)
        .join(units_t, units_t.c.id == campaigns_t.c.county_id)
        .join(cases_t, cases_t.c.id == campaigns_t.c.case_id)
        .where(campaigns_t.c.id == int(ctx.data.get("campaign_id", 0)))
    ).one_or_none()
    if found is None or not str(ctx.case.org_path).startswith(found.path):
        return ExemptionFacts(None, False, (), False, False, int(evidence))
    line = conn.execute(
        select(eligible_t.c.exempt_case_id).where(
            eligible_t.c.campaign_id == found.id, eligible_t.c.person_id == ctx.case.applicant_id
        )
    ).one_or_none()
    return ExemptionFacts(
        campaign=found.name,
        open_for_exemptions=found.state in BEFORE_RESULT,
        kinds=tuple(found.exemption_kinds or ()),
        on_list=line is not None,
        exempt=line is not None and line.exempt_case_id is not None,
        evidence=int(evidence),
    )
