"""Title review (职称评审), as one package: the machine, its spec and rules, the quota
fact, and the province's title-review year whose window a declaration must fall in. The
steps, rules and who acts are described for bureau staff in
``docs/processes/title_review.md``."""

from __future__ import annotations

from states.org import CITY_OFFICER, COUNTY_OFFICER, PROVINCE_OFFICER, SCHOOL_OFFICER, SYSTEM
from states.process.package import NavEntry, Parts, ProcessPackage
from states.processes.title_review.cli import title_review_cli
from states.processes.title_review.facts import quota_facts
from states.processes.title_review.notice_kinds import NOTICES
from states.processes.title_review.record import (
    appoint_title,
    appointment_notice,
    service_facts,
)
from states.processes.title_review.rules import QuotaFacts, ServiceFacts, YearFacts
from states.processes.title_review.spec import SPEC, AppointmentNotice, AppointTitle
from states.processes.title_review.tables import TitleReviewYear
from states.processes.title_review.years import year_facts

PACKAGE = ProcessPackage(
    name="title_review",
    label="职称评审",
    specs=(SPEC,),
    parts=Parts(
        fact_loaders={
            QuotaFacts: quota_facts,
            YearFacts: year_facts,
            ServiceFacts: service_facts,
        },
        effect_handlers={AppointTitle: appoint_title, AppointmentNotice: appointment_notice},
    ),
    tables=(TitleReviewYear,),
    web="api.processes.title_review",
    nav=(
        NavEntry(
            "职称评审年度",
            "/title-review/years",
            frozenset({PROVINCE_OFFICER, CITY_OFFICER, COUNTY_OFFICER, SCHOOL_OFFICER, SYSTEM}),
        ),
    ),
    cli=(title_review_cli,),
    notices=NOTICES,
)

__all__ = ["PACKAGE", "SPEC"]
