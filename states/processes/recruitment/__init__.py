"""New-teacher recruitment (新任教师公开招聘, "province examines, city selects, county
hires") as one package: the county's post plan and each applicant's case, their rules, the
set-based steps (registration, scores, shortlist, ranking, replacement) and post choice.
Described for bureau staff in ``docs/processes/recruitment.md``."""

from __future__ import annotations

from states.org import CITY_OFFICER, COUNTY_OFFICER, PROVINCE_OFFICER, SYSTEM
from states.process.package import NavEntry, Parts, ProcessPackage
from states.processes.recruitment.cli import recruitment_cli
from states.processes.recruitment.facts import (
    applicant_contacts,
    applicant_facts,
    identity_claims,
)
from states.processes.recruitment.finder import find_applicants
from states.processes.recruitment.machine import APPLICANT
from states.processes.recruitment.registration import settle_claims
from states.processes.recruitment.rules import ApplicantFacts, IdentityClaims
from states.processes.recruitment.spec import APPLICANT_SPEC, PLAN_SPEC, SettleClaims
from states.processes.recruitment.tables import (
    Applicant,
    Post,
    PostSeat,
    RecruitmentRound,
    RegistrationConflict,
)

PACKAGE = ProcessPackage(
    name="recruitment",
    label="新任教师招聘",
    specs=(PLAN_SPEC, APPLICANT_SPEC),
    parts=Parts(
        fact_loaders={ApplicantFacts: applicant_facts, IdentityClaims: identity_claims},
        effect_handlers={SettleClaims: settle_claims},
    ),
    contacts={APPLICANT: applicant_contacts},
    finders={APPLICANT: find_applicants},
    tables=(RecruitmentRound, Post, PostSeat, Applicant, RegistrationConflict),
    web="api.processes.recruitment",
    nav=(
        NavEntry(
            "招聘",
            "/recruitment",
            frozenset({COUNTY_OFFICER, CITY_OFFICER, PROVINCE_OFFICER, SYSTEM}),
        ),
    ),
    cli=(recruitment_cli,),
)

__all__ = ["PACKAGE"]
