"""Recruitment's rules: eligibility for a post (checked at registration and again at the
qualification check), identity claims that hold the qualification check until an officer has
settled them, and the end of probation. Pure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from states.org import EDUCATION, EDUCATION_LABELS, SCHOOL_LEVELS, education_at_least
from states.process.rules import Facts, Verdict, full_years

# Minimum education by the post's school level (a plan may ask for more).
MIN_EDUCATION = {
    "kindergarten": "associate",
    "primary": "bachelor",
    "junior": "bachelor",
    "senior": "bachelor",
    "vocational": "bachelor",
}
# A certificate for a higher level qualifies for the levels below it; vocational stands apart.
CERT_ORDER = ("kindergarten", "primary", "junior", "senior")


@dataclass(frozen=True)
class Candidate:
    birth_date: dt.date
    education: str
    cert_level: str | None


@dataclass(frozen=True)
class PostNeeds:
    school_level: str
    min_education: str
    cert_required: bool
    max_age: int


def cert_covers(cert: str | None, level: str) -> bool:
    if cert is None:
        return False
    if cert == level:
        return True
    if cert in CERT_ORDER and level in CERT_ORDER:
        return CERT_ORDER.index(cert) >= CERT_ORDER.index(level)
    return cert == "senior" and level == "vocational"


def eligibility(c: Candidate, post: PostNeeds, on: dt.date) -> list[tuple[str, str]]:
    """Every reason this candidate cannot take this post: (field, reason). Pure."""
    out: list[tuple[str, str]] = []
    age = full_years(c.birth_date, on)
    if age > post.max_age:
        out.append(("birth_date", f"年龄超过{post.max_age}周岁（现{age}周岁）"))
    need = post.min_education
    if c.education not in EDUCATION or not education_at_least(c.education, need):
        have = EDUCATION_LABELS.get(c.education, c.education)
        out.append(("education", f"学历须为{EDUCATION_LABELS[need]}及以上（现为{have}）"))
    if post.cert_required and not cert_covers(c.cert_level, post.school_level):
        out.append(("cert_level", f"须持有{SCHOOL_LEVELS[post.school_level]}及以上教师资格证"))
    return out


def candidate_and_post(row: Any) -> tuple[Candidate, PostNeeds]:
    """Read a row of ``queries.eligibility_rows`` as the eligibility rule's two inputs."""
    return (
        Candidate(row.birth_date, row.education, row.cert_level),
        PostNeeds(row.school_level, row.min_education, row.cert_required, row.max_age),
    )


@dataclass(frozen=True)
class ApplicantFacts:
    """A registered applicant and the post they applied for, as the rules read them."""

    candidate: Candidate
    post: PostNeeds


@dataclass(frozen=True)
class Eligible:
    """The qualification check as a rule: facts carry the candidate and the post."""

    code: str = "eligibility"
    label: str = "报考资格"
    needs: frozenset[type] = frozenset({ApplicantFacts})

    def check(self, facts: Facts) -> Verdict:
        found = facts.get(ApplicantFacts)
        c, post = found.candidate, found.post
        problems = eligibility(c, post, facts.today)
        if problems:
            return Verdict.failed("资格审查不通过：" + "；".join(r for _, r in problems))
        return Verdict.passed()


@dataclass(frozen=True)
class IdentityClaims:
    """How many unsettled claims (``registration_conflicts``) another confirmed phone made
    on this registration's ID number."""

    open: int


@dataclass(frozen=True)
class NoOpenClaim:
    """Nobody is qualified on an ID number someone else has claimed: an officer first sees
    both in person and voids the squatted registration or confirms it."""

    code: str = "identity_claim"
    label: str = "身份冲突已核实"
    needs: frozenset[type] = frozenset({IdentityClaims})

    def check(self, facts: Facts) -> Verdict:
        if facts.get(IdentityClaims).open:
            return Verdict.failed(
                "该身份证号存在身份冲突（另有人用已验证的手机号申报），须先在资格审查页核实处理"
            )
        return Verdict.passed()


@dataclass(frozen=True)
class ClaimOpen:
    """Voiding a registration as squatted (or confirming it) answers a recorded claim; it
    is not a way to remove an applicant (that is 资格审查不通过, with its reason)."""

    code: str = "identity_claim_open"
    label: str = "存在待核实的身份冲突"
    needs: frozenset[type] = frozenset({IdentityClaims})

    def check(self, facts: Facts) -> Verdict:
        if not facts.get(IdentityClaims).open:
            return Verdict.failed("该报名没有待核实的身份冲突")
        return Verdict.passed()


@dataclass(frozen=True)
class ProbationOver:
    """转正: twelve months' probation from the day the post was chosen."""

    code: str = "probation"
    label: str = "试用期满"
    needs: frozenset[type] = frozenset()

    def check(self, facts: Facts) -> Verdict:
        hired = facts.data.get("hired_on")
        if not hired:
            return Verdict.failed("未记录入职日期，不能转正")
        start = dt.date.fromisoformat(str(hired))
        if full_years(start, facts.today) < 1:
            end = start.replace(year=start.year + 1)
            return Verdict.failed(f"试用期未满：{start.isoformat()}入职，{end.isoformat()}期满")
        return Verdict.passed()
