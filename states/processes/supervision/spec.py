"""Supervision declared: the inspection campaign and each rectification — who acts at each
step, deadlines and escalation, each event's rules and form, what each event changes besides
the state (commands carried out in ``effects.py``), and who reads which part of the cases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from states.blocks.children import ChildrenClosed
from states.process.forms import REASON, Field, Form
from states.process.spec import (
    TERMINAL_NEGATIVE,
    By,
    Command,
    EffectContext,
    EventSpec,
    ProcessSpec,
    RuleUse,
    SetData,
    StateSpec,
)
from states.process.visibility import OVERSIGHT, Audience, Shown, Visibility
from states.processes.supervision.machine import (
    CAMPAIGN,
    RECTIFICATION,
    CampaignMachine,
    RectificationMachine,
)
from states.processes.supervision.rules import (
    AssignedTarget,
    EvidenceAsRequired,
    EvidenceReported,
    KnownItem,
    NotOwnUnit,
    PastDeadline,
    ReinspectorEligible,
    VisitsBegun,
    ids_in,
)

ORGANISER = By(officer="campaign_organiser")
# An inspector the campaign drew, holding the step's task; the one re-inspecting a finding
# (the inspector who found it, or another the organiser named). The catalogue names each.
INSPECTORS = By(panel=True, panel_label="检查人员（抽取的督查员）")
REINSPECTORS = By(panel=True, panel_label="复查人员")

# Notice kinds (notices/<kind>.txt.j2, declared in notice_kinds.py); each carries supervision_title,
# supervision_detail and supervision_date in its payload.
VISIT_NOTICE = "supervision_visit"
FINDING_NOTICE = "supervision_finding"
RECTIFIED_NOTICE = "supervision_rectified"
PUBLICIZED_NOTICE = "supervision_publicized"

# Who reads what only those who inspect may: the organiser's officers, the inspectors over
# the organiser, and the inspectors the campaign drew (a 线索来源 — who tipped the inspectors
# off — never reaches the inspected unit).
SUPERVISORS = OVERSIGHT | {Audience.PANEL}


def resolve_tier(
    alias: str, data: Mapping[str, Any], school: Mapping[str, Any], policy: Mapping[str, Any]
) -> str:
    """The organiser is a county, a city or the province: the campaign says which."""
    if alias == "campaign_organiser":
        return str(data["organiser_tier"])
    return alias


# --- commands (their handlers are in effects.py) ----------------------------------------------
@dataclass(frozen=True)
class DrawCampaign(Command):
    """The 双随机 draw: targets and inspectors, both seeds and the inputs' digest recorded;
    the drawn inspectors given their task; an announced campaign's targets told."""


@dataclass(frozen=True)
class StartVisits(Command):
    """The visit date: the draw published on the trail, an unannounced campaign's targets
    told now, the inspectors given their inspection task."""


@dataclass(frozen=True)
class RecordFinding(Command):
    """A finding at a target, its evidence copied to the rectification it opens."""

    target_id: int
    item: str
    text: str
    clue: str
    evidence: tuple[int, ...]


@dataclass(frozen=True)
class ClaimEvidence(Command):
    """The files the unit uploaded since its last report, put on this report."""

    text: str


@dataclass(frozen=True)
class OpenReinspection(Command):
    """The re-inspector's task: the inspector named for it, else the one who found it."""


@dataclass(frozen=True)
class AssignReinspector(Command):
    person_id: int


@dataclass(frozen=True)
class RestartDeadline(Command):
    """Sent back: the unit rectifies again, with the campaign's working days afresh."""

    reason: str


@dataclass(frozen=True)
class RectificationNotice(Command):
    """A notice of the outcome to the unit's officers (``superior``: also to the officers of
    the unit above it — a 通报)."""

    kind: str
    detail: str
    superior: bool = False


# --- the campaign ----------------------------------------------------------------------------
FINDING = Form(
    (
        Field("target_id", "被检查单位", "int", min_value=1, max_value=2**53),
        Field("item", "检查项目", max_length=16),
        Field("text", "发现的问题", max_length=2000),
        Field(
            "clue",
            "线索来源",
            required=False,
            max_length=500,
            help="仅督查人员和组织单位可见，不告知被检查单位",
        ),
        Field(
            "evidence",
            "佐证材料（附件编号，逗号分隔）",
            required=False,
            max_length=200,
            pattern=r"\d{1,16}([,，、 ]+\d{1,16}){0,19}",
        ),
    )
)

CAMPAIGN_STATES: Mapping[str, StateSpec] = {
    "preparing": StateSpec("preparing", ORGANISER, escalation="none"),
    # the drawn inspectors hold tasks (opened by the draw); the system starts the visits
    "targets_drawn": StateSpec("targets_drawn"),
    "inspecting": StateSpec("inspecting", ORGANISER, escalation="none"),
    "following_up": StateSpec("following_up", ORGANISER, escalation="none"),
    "concluded": StateSpec("concluded"),
    "withdrawn_campaign": StateSpec("withdrawn_campaign", tags=frozenset({TERMINAL_NEGATIVE})),
}

CAMPAIGN_EVENTS: Mapping[str, EventSpec] = {
    e.name: e
    for e in (
        EventSpec("draw_lots", "抽取检查对象和检查人员", decision=False),
        EventSpec(
            "start_visits",
            "开始实地检查",
            By(officer="campaign_organiser", system=True),
            (RuleUse(VisitsBegun()),),
            decision=False,
        ),
        EventSpec(
            "record_finding",
            "记录发现的问题",
            INSPECTORS,
            (RuleUse(AssignedTarget()), RuleUse(KnownItem()), RuleUse(EvidenceAsRequired())),
            FINDING,
            decision=False,
        ),
        EventSpec("finish_visits", "结束实地检查，转入整改跟踪", decision=False),
        EventSpec(
            "conclude_campaign", "办结本次督查", rules=(RuleUse(ChildrenClosed()),), decision=False
        ),
        EventSpec(
            "call_off_campaign",
            "撤销本次督查",
            ORGANISER,
            form=Form((REASON,)),
            decision=False,
            style="danger",
        ),
    )
}


def campaign_effects(ctx: EffectContext) -> Sequence[Command]:
    if ctx.event == "draw_lots":
        return (DrawCampaign(),)
    if ctx.event == "start_visits":
        return (StartVisits(),)
    if ctx.event == "record_finding":
        p = ctx.payload
        return (
            RecordFinding(
                int(p["target_id"]),
                str(p["item"]),
                str(p["text"]),
                str(p.get("clue") or ""),
                tuple(ids_in(p.get("evidence")) or ()),
            ),
        )
    return ()


# What the case page shows of a campaign (its data, as an officer set it).
CAMPAIGN_FACTS = Form(
    (
        Field("title", "督查事项", max_length=128),
        Field("organiser", "组织单位", max_length=128),
        Field("visit_from", "检查开始日期", "date"),
        Field("visit_to", "检查结束日期", "date"),
        Field("ratio_percent", "抽取比例（%）", "int"),
        Field("per_target", "每所学校检查人员数", "int"),
        Field("announced", "提前告知被检查单位", "bool"),
        Field("rectify_days", "整改期限（工作日）", "int"),
    )
)

CAMPAIGN_SPEC = ProcessSpec(
    name=CAMPAIGN,
    label="专项督查",
    machine=CampaignMachine,
    states=CAMPAIGN_STATES,
    events=CAMPAIGN_EVENTS,
    start_form=CAMPAIGN_FACTS,
    resolve_tier=resolve_tier,
    effects=campaign_effects,
    opened_by="county",
    once_per_year=False,
    main_path=("preparing", "targets_drawn", "inspecting", "following_up", "concluded"),
    # The draw as drawn — the seeds, the inputs' digest, the targets and who inspects each —
    # is for the organiser's officers until the visit date; then it is published on the trail
    # (``published``) to everyone on the campaign. Until then an inspector reads their own
    # targets on their page: an inspector may teach at a target (兼职督学), and an
    # unannounced target must not hear of its inspection through them.
    visibility=Visibility(
        payload={"draw": Shown(frozenset({Audience.ORGANISER})), "clue": Shown(SUPERVISORS)},
        open=frozenset(
            {
                # the campaign's data
                "campaign_id", "organiser_id", "organiser_tier", "targets", "inspectors",
                "findings",
                # what its steps recorded
                "published", "notified", "finding_id", "rectification", "evidence_files",
                "target",
            }
        ),
    ),
)  # fmt: skip


# --- a rectification -------------------------------------------------------------------------
RECTIFICATION_FACTS = Form(
    (
        Field("campaign", "督查事项", max_length=128),
        Field("item_text", "检查项目", max_length=200),
        Field("text", "发现的问题", max_length=2000),
        Field("found_by", "检查人员", max_length=64),
        Field("found_on", "发现日期", "date"),
        Field("evidence_list", "检查佐证材料", max_length=2000),
        Field("clue", "线索来源", max_length=500),
        Field("due_on", "整改期限", "date"),
    )
)
REPORT = Form(
    (
        Field(
            "text",
            "整改情况",
            max_length=2000,
            help="说明已采取的整改措施和结果；整改佐证材料请先在“附件”中上传",
        ),
    )
)

RECTIFICATION_STATES: Mapping[str, StateSpec] = {
    # the campaign sets the working days (rectify_days); overdue escalates once to the unit
    # above (the generic deadline sweep)
    "to_rectify": StateSpec("to_rectify", By(officer="school"), 20),
    "reinspection": StateSpec("reinspection", REINSPECTORS, 10, escalation="none"),
    "rectified": StateSpec("rectified"),
    "publicized": StateSpec("publicized", tags=frozenset({TERMINAL_NEGATIVE})),
}

RECTIFICATION_EVENTS: Mapping[str, EventSpec] = {
    e.name: e
    for e in (
        EventSpec(
            "report_rectification",
            "报告整改情况",
            rules=(RuleUse(EvidenceReported()),),
            form=REPORT,
            decision=False,
        ),
        EventSpec(
            "assign_reinspector",
            "指定复查人员",
            ORGANISER,
            (RuleUse(ReinspectorEligible()),),
            Form((Field("person_id", "复查人员", "int", min_value=1, max_value=2**53),)),
            decision=False,
            style="secondary",
        ),
        EventSpec("accept_rectification", "复查通过，整改到位", rules=(RuleUse(NotOwnUnit()),)),
        EventSpec(
            "return_rectification",
            "复查未通过，退回整改",
            rules=(RuleUse(NotOwnUnit()),),
            form=Form((REASON,)),
            style="secondary",
        ),
        EventSpec(
            "escalate_rectification",
            "整改不到位，予以通报",
            rules=(RuleUse(NotOwnUnit()),),
            form=Form((REASON,)),
            style="danger",
        ),
        EventSpec(
            "report_overdue",
            "逾期未整改，予以通报",
            ORGANISER,
            (RuleUse(PastDeadline()),),
            Form((REASON,)),
            style="danger",
        ),
    )
}


def rectification_effects(ctx: EffectContext) -> Sequence[Command]:
    today = ctx.facts.today.isoformat()
    p = ctx.payload
    if ctx.event == "report_rectification":
        return (ClaimEvidence(str(p["text"])), OpenReinspection())
    if ctx.event == "assign_reinspector":
        return (AssignReinspector(int(p["person_id"])),)
    if ctx.event == "accept_rectification":
        return (
            SetData({"rectified_on": today}),
            RectificationNotice(RECTIFIED_NOTICE, "经复查，整改到位，予以销号"),
        )
    if ctx.event == "return_rectification":
        return (RestartDeadline(str(p["reason"])),)
    if ctx.event in ("escalate_rectification", "report_overdue"):
        why = "逾期未整改" if ctx.event == "report_overdue" else "整改不到位"
        return (
            SetData({"publicized_on": today, "publicized_reason": str(p["reason"])}),
            RectificationNotice(PUBLICIZED_NOTICE, f"{why}：{p['reason']}", superior=True),
        )
    return ()


RECTIFICATION_SPEC = ProcessSpec(
    name=RECTIFICATION,
    label="督查整改",
    machine=RectificationMachine,
    states=RECTIFICATION_STATES,
    events=RECTIFICATION_EVENTS,
    start_form=RECTIFICATION_FACTS,
    resolve_tier=resolve_tier,
    effects=rectification_effects,
    opened_by="county",
    once_per_year=False,
    main_path=("to_rectify", "reinspection", "rectified"),
    visibility=Visibility(
        data={"clue": Shown(SUPERVISORS)},
        open=frozenset(
            {
                # the finding behind it (its evidence with SHA-256) and where it stands
                "campaign_id", "finding_id", "item", "evidence", "inspector_id",
                "organiser_id", "organiser_tier", "rectify_days", "reports", "evidence_upto",
                "reinspector_id", "returns", "rectified_on", "publicized_on",
                "publicized_reason",
                # what the steps recorded: the report's files, the re-inspector named
                "evidence_files",
            }
        ),
    ),
)  # fmt: skip

SPECS = (CAMPAIGN_SPEC, RECTIFICATION_SPEC)
