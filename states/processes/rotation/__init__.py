"""Teacher rotation (交流轮岗, under 县管校聘) as one package: the county's campaign, each
rotating teacher's case and the exemptions; the eligible list computed from the records,
preferences and nominations, the county matching (``matching``), publication, dispatch and
return through the roster. Described for bureau staff in ``docs/processes/rotation.md``."""

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
from states.process.package import NavEntry, Parts, ProcessPackage, ScheduledCheck
from states.processes.rotation import campaigns, checks, lists, moves, results
from states.processes.rotation.cli import rotation_cli
from states.processes.rotation.compliance import SCHOOL_TARGETS, TARGETS
from states.processes.rotation.facts import campaign_facts, exemption_facts
from states.processes.rotation.notice_kinds import NOTICES
from states.processes.rotation.rules import CampaignFacts, ExemptionFacts, ResultFacts
from states.processes.rotation.spec import (
    CAMPAIGN_SPEC,
    EXEMPTION_SPEC,
    PLACEMENT_SPEC,
    ApplyExemption,
    ComputeEligibility,
    CreditService,
    MoveSchool,
    PublishList,
    PublishResult,
    RotationNotice,
    RunMatching,
)
from states.processes.rotation.tables import (
    RotationCampaign,
    RotationEligible,
    RotationPlacement,
    RotationPost,
    RotationPreference,
    RotationSchoolList,
)

# Who finds the rotation pages in the navigation: the county's board, a school's list, a
# teacher's own page (``/rotation`` sends each to theirs).
VIEWERS = frozenset(
    {COUNTY_OFFICER, CITY_OFFICER, PROVINCE_OFFICER, SYSTEM, SCHOOL_OFFICER, PRINCIPAL, TEACHER}
)

PACKAGE = ProcessPackage(
    name="rotation",
    label="交流轮岗",
    specs=(CAMPAIGN_SPEC, PLACEMENT_SPEC, EXEMPTION_SPEC),
    parts=Parts(
        fact_loaders={
            CampaignFacts: campaign_facts,
            ResultFacts: results.result_facts,
            ExemptionFacts: exemption_facts,
        },
        effect_handlers={
            ComputeEligibility: lists.compute_handler,
            PublishList: lists.publish_list_handler,
            RunMatching: results.run_handler,
            PublishResult: results.publish_handler,
            MoveSchool: moves.move_school,
            CreditService: moves.credit_service,
            RotationNotice: moves.rotation_notice,
            ApplyExemption: moves.apply_exemption,
        },
    ),
    checks=(
        ScheduledCheck("rotation_preferences", checks.close_preferences),
        ScheduledCheck("rotation_term_ending", checks.term_ending),
    ),
    tables=(
        RotationCampaign,
        RotationPost,
        RotationEligible,
        RotationPreference,
        RotationSchoolList,
        RotationPlacement,
    ),
    web="api.processes.rotation",
    # schools and teachers see it when their county runs a campaign (``campaigns.concerns``)
    nav=(NavEntry("交流轮岗", "/rotation", VIEWERS, shows=campaigns.concerns),),
    cli=(rotation_cli,),
    compliance=(TARGETS, SCHOOL_TARGETS),
    notices=NOTICES,
)

__all__ = ["PACKAGE"]
