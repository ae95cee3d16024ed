"""Support teaching (支教) as one package: receiving schools' needs (rural, weak, or in a
city's paired region), candidates volunteered or nominated against them and selected by the
county (the city for a paired region), each selected teacher's term — publicity, dispatch,
monthly check-ins by the receiving school, the end-of-term assessment or an approved early
end — and the time served credited to the service ledger that title review reads.
Described for bureau staff in ``docs/processes/support_teaching.md``."""

from __future__ import annotations

from states.org import (
    CITY_OFFICER,
    COUNTY_OFFICER,
    PRINCIPAL,
    PROVINCE_OFFICER,
    SCHOOL_OFFICER,
    SYSTEM,
    TEACHER,
)
from states.process.package import NavEntry, Parts, ProcessPackage, Schedule, ScheduledCheck
from states.processes.support_teaching import applications, checkins, needs, terms
from states.processes.support_teaching.cli import support_cli
from states.processes.support_teaching.facts import application_facts, checkin_facts, need_facts
from states.processes.support_teaching.notice_kinds import NOTICES
from states.processes.support_teaching.rules import ApplicationFacts, CheckinFacts, NeedFacts
from states.processes.support_teaching.spec import (
    APPLICATION_SPEC,
    NEED_SPEC,
    TERM_SPEC,
    ConfirmSelection,
    CorrectCheckin,
    CreditTerm,
    EndTerm,
    NeedNotice,
    NotExempt,
    OpenTerm,
    RecordCheckin,
    RecordDispatch,
    ReleasePlace,
    ReopenCheckins,
    RevokeSelection,
    TakePlace,
    TermNotice,
)
from states.processes.support_teaching.tables import (
    SupportCheckin,
    SupportCheckinCorrection,
    SupportNeed,
    SupportRegion,
    SupportTerm,
)

# Who finds the support pages in the navigation: the needs board, a school's page, a teacher's
# own page (``/support`` sends each to theirs).
VIEWERS = frozenset(
    {COUNTY_OFFICER, CITY_OFFICER, PROVINCE_OFFICER, SYSTEM, SCHOOL_OFFICER, PRINCIPAL, TEACHER}
)

PACKAGE = ProcessPackage(
    name="support_teaching",
    label="支教",
    specs=(NEED_SPEC, APPLICATION_SPEC, TERM_SPEC),
    parts=Parts(
        fact_loaders={
            NeedFacts: need_facts,
            ApplicationFacts: application_facts,
            CheckinFacts: checkin_facts,
        },
        effect_handlers={
            NeedNotice: needs.need_notice,
            NotExempt: applications.not_exempt,
            TakePlace: applications.take_place,
            OpenTerm: applications.open_term,
            ReleasePlace: applications.release_place,
            ConfirmSelection: terms.confirm_selection,
            RevokeSelection: terms.revoke_selection,
            CorrectCheckin: checkins.correct_checkin,
            RecordDispatch: terms.record_dispatch,
            EndTerm: terms.end_term,
            CreditTerm: terms.credit_term,
            TermNotice: terms.term_notice,
            RecordCheckin: checkins.record_checkin,
            ReopenCheckins: checkins.reopen_checkins,
        },
    ),
    checks=(
        # a deployment of its own, monthly: opens the month's check-ins (and any month a
        # missed run left unopened)
        ScheduledCheck(
            "support-checkins",
            checkins.open_checkins,
            Schedule(
                "支教月度考勤",
                "为每位在岗支教教师开启本月考勤（补开以前漏开的月份），由接收学校在次月5个工作日内填报；"
                "每所学校通知一次。",
                "30 6 1 * *",
                {
                    "opened": "开启考勤",
                    "schools": "通知学校",
                    "reopened": "恢复待办",
                    "raced": "并发",
                },
            ),
        ),
        # daily, with the other checks: a need whose term has begun stops taking candidates
        ScheduledCheck("support_need_intake", needs.end_intake),
        # daily, with the other checks: a term ends once its last month is filed or late
        ScheduledCheck("support_term_end", checkins.end_terms),
    ),
    tables=(SupportRegion, SupportNeed, SupportTerm, SupportCheckin, SupportCheckinCorrection),
    web="api.processes.support_teaching",
    nav=(NavEntry("支教", "/support", VIEWERS),),
    cli=(support_cli,),
    notices=NOTICES,
)

__all__ = ["PACKAGE"]
