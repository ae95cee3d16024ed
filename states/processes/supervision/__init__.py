"""Supervision (督查) as one package: inspection campaigns (专项督查) with their "双随机"
draw of targets and inspectors (seeds on the trail, ``draw.redraw`` to check them), the
inspectors' findings with evidence, each opening a rectification (整改) at the inspected
unit, its report, re-inspection (复查) and 通报, and the campaign's report. Described for
bureau staff in ``docs/processes/supervision.md``."""

from __future__ import annotations

from states.org import (
    CITY_OFFICER,
    COUNTY_OFFICER,
    INSPECTOR,
    LEADER,
    PROVINCE_OFFICER,
    SYSTEM,
)
from states.process.package import NavEntry, Parts, ProcessPackage, ScheduledCheck
from states.processes.supervision import checks
from states.processes.supervision.cli import supervision_cli
from states.processes.supervision.effects import HANDLERS
from states.processes.supervision.facts import finding_facts, rectification_facts
from states.processes.supervision.notice_kinds import NOTICES
from states.processes.supervision.rules import FindingFacts, RectificationFacts
from states.processes.supervision.spec import SPECS
from states.processes.supervision.tables import TABLES

# Who finds the campaigns in the navigation: the offices that organise them and read them,
# and the inspectors (``/supervision`` lists each their own; a drawn inspector's targets
# and the finding form are a click away). A school reads its rectifications in its inbox.
VIEWERS = frozenset({COUNTY_OFFICER, CITY_OFFICER, PROVINCE_OFFICER, LEADER, INSPECTOR, SYSTEM})

PACKAGE = ProcessPackage(
    name="supervision",
    label="专项督查",
    specs=SPECS,
    parts=Parts(
        fact_loaders={FindingFacts: finding_facts, RectificationFacts: rectification_facts},
        effect_handlers=HANDLERS,
    ),
    checks=(ScheduledCheck("supervision_visits", checks.start_visits),),
    tables=TABLES,
    web="api.processes.supervision",
    nav=(NavEntry("专项督查", "/supervision", VIEWERS),),
    cli=(supervision_cli,),
    notices=NOTICES,
)

__all__ = ["PACKAGE"]
