"""Recruitment's web twin: the public registration pages and API, a candidate's status
lookup, the officers' round pages, imports and their templates, progress, identity claims and
post choice, running a round (opening it, closing its registration, the counties' post
plans), and the applicant's registration beside their case (``record``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, func, select

from api.processes import Row, WebPackage
from api.processes.recruitment import (
    candidate_routes,
    claim_pages,
    pages,
    record,
    round_pages,
    round_routes,
    routes,
    status_pages,
)
from states.org import SCHOOL_LEVELS
from states.processes.recruitment.machine import APPLICANT, PLAN
from states.processes.recruitment.tables import Applicant, Post, RecruitmentRound


def applicant_asks(conn: Connection, rows: Sequence[Row]) -> dict[int, str]:
    """What an applicant applied for, as the inbox says it: 报考Z-01 小学语文（2026年招聘）."""
    found = conn.execute(
        select(Applicant.case_id, Post.code, Post.school_level, Post.subject, RecruitmentRound.name)
        .join(Post, Post.id == Applicant.post_id)
        .join(RecruitmentRound, RecruitmentRound.id == Applicant.round_id)
        .where(Applicant.case_id.in_([int(r["case_id"]) for r in rows]))
    ).all()
    return {
        int(f.case_id): (
            f"报考{f.code} {SCHOOL_LEVELS.get(f.school_level, f.school_level)}{f.subject}"
            f"（{f.name}）"
        )
        for f in found
    }


def plan_asks(conn: Connection, rows: Sequence[Row]) -> dict[int, str]:
    """What a county's post plan asks approved: 2026年招聘：3个岗位共8人."""
    found = conn.execute(
        select(
            Post.plan_case_id,
            func.min(RecruitmentRound.name).label("round_name"),
            func.count().label("posts"),
            func.sum(Post.count).label("people"),
        )
        .join(RecruitmentRound, RecruitmentRound.id == Post.round_id)
        .where(Post.plan_case_id.in_([int(r["case_id"]) for r in rows]))
        .group_by(Post.plan_case_id)
    ).all()
    return {int(f.plan_case_id): f"{f.round_name}：{f.posts}个岗位共{f.people}人" for f in found}


WEB = WebPackage(
    routers=(
        # /recruitment/status before the round pages' /recruitment/{round_id}
        status_pages.status_pages,
        candidate_routes.candidate,
        routes.public,
        round_routes.public,
        routes.officer,
        round_routes.router,
        pages.recruitment_pages,
        round_pages.round_pages,
        claim_pages.claim_pages,
    ),
    asks={APPLICANT: applicant_asks, PLAN: plan_asks},
    case_record={APPLICANT: record.applicant_record},
)
