"""Recruitment's reads: each applicant with the requirements of their post (what the
eligibility rule reads, for one case or a whole round), the identity claims open on a
registration, and where an applicant's notices go (they have no account: the mobile they
confirmed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Select, func, select

from states.engine.context import CaseContext
from states.processes.recruitment.rules import ApplicantFacts, IdentityClaims, candidate_and_post
from states.processes.recruitment.tables import (
    Applicant,
    Post,
    RecruitmentRound,
    RegistrationConflict,
)
from states.store.models import Case, table_of

applicants_t, posts_t = table_of(Applicant), table_of(Post)
rounds_t, cases_t = table_of(RecruitmentRound), table_of(Case)
claims_t = table_of(RegistrationConflict)


def eligibility_rows() -> Select[Any]:
    return (
        select(
            applicants_t.c.case_id,
            applicants_t.c.birth_date,
            applicants_t.c.education,
            applicants_t.c.cert_level,
            posts_t.c.school_level,
            posts_t.c.min_education,
            posts_t.c.cert_required,
            rounds_t.c.max_age,
            cases_t.c.org_path,
        )
        .join(posts_t, posts_t.c.id == applicants_t.c.post_id)
        .join(rounds_t, rounds_t.c.id == applicants_t.c.round_id)
        .join(cases_t, cases_t.c.id == applicants_t.c.case_id)
    )


def applicant_facts(conn: Connection, ctx: CaseContext) -> ApplicantFacts:
    row = conn.execute(eligibility_rows().where(applicants_t.c.case_id == ctx.case.id)).one()
    return ApplicantFacts(*candidate_and_post(row))


def identity_claims(conn: Connection, ctx: CaseContext) -> IdentityClaims:
    open_ = conn.execute(
        select(func.count())
        .select_from(claims_t)
        .where(claims_t.c.case_id == ctx.case.id, claims_t.c.resolved_at.is_(None))
    ).scalar_one()
    return IdentityClaims(int(open_))


def applicant_contacts(conn: Connection, case_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """Name and mobile of applicants (no account): where their progress notices go."""
    a = applicants_t
    return {
        r.case_id: (r.name, r.phone)
        for r in conn.execute(
            select(a.c.case_id, a.c.name, a.c.phone).where(a.c.case_id.in_(list(case_ids)))
        )
    }
