"""Task books declared: who acts at each step of a book, a task, a scoring round and a
scorer's sheet, the deadlines and escalation, each event's rules and form, and what each
event changes besides the state (commands carried out in ``effects.py``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from states.blocks.children import ChildrenClosed, OpenChildren
from states.org import TIERS
from states.process.forms import REASON, Field, Form
from states.process.spec import (
    By,
    Command,
    EffectContext,
    EventSpec,
    ProcessSpec,
    RuleUse,
    StateSpec,
)
from states.process.visibility import STAFF, Shown, Visibility
from states.processes.task_book.machine import (
    BOOK,
    ROUND,
    SHEET,
    TASK,
    BookMachine,
    RoundMachine,
    SheetMachine,
    TaskMachine,
)
from states.processes.task_book.rules import (
    BookFacts,
    BookHasTasks,
    ChildrenDone,
    EvidenceOnCase,
    LaterDeadline,
    MilestonePending,
    NotSplit,
    ProgressForward,
    ScoresValid,
    ScoringOpen,
    SheetFacts,
    SplitBelow,
    TaskFacts,
    ids_in,
    parse_scores,
)

# How a task's time is watched (a province may set its own under ``work_task`` in its
# settings): reminders so many working days before a milestone or the deadline, "at risk"
# when the deadline is this near and the progress behind the time gone, "stagnant" after so
# many working days without a report.
POLICY_DEFAULTS: Mapping[str, Any] = {"remind_days": 3, "at_risk_days": 10, "stagnant_days": 10}


def _tier_above(tier: str) -> str:
    i = TIERS.index(tier)
    return TIERS[max(i - 1, 0)]


def resolve_tier(
    alias: str, data: Mapping[str, Any], school: Mapping[str, Any], policy: Mapping[str, Any]
) -> str:
    """The tier behind each alias: a book's owner and the unit above it that approves it; a
    task's lead unit and the unit that issued it; a round's organiser; a sheet's scorer.
    The unit itself is found on the case's own path (the issuer is an ancestor of the lead,
    the approver of the owner)."""
    if alias in ("owner", "organiser"):
        return str(data["owner_tier"])
    if alias == "approver":
        return _tier_above(str(data["owner_tier"]))
    if alias == "lead":
        return str(data["lead_tier"])
    if alias == "issuer":
        return str(data["issuer_tier"])
    if alias == "scorer":
        return str(data["scorer_tier"])
    return alias


# --- commands (their handlers are in effects.py) ----------------------------------------------
@dataclass(frozen=True)
class LinkIssued(Command):
    """The book's tasks, just opened as child cases (in the order of ``task_ids``), tied to
    their rows: issued today, their leads told."""

    task_ids: tuple[int, ...]


@dataclass(frozen=True)
class SplitTask(Command):
    """The task's parts for the units below, just opened as child cases: rows copied from
    the parent (title, deadline, milestones, progress so far)."""

    units: tuple[int, ...]


@dataclass(frozen=True)
class RecordProgress(Command):
    """A progress or completion report on the task's row and its parents' computed progress."""

    kind: str  # progress | completion


@dataclass(frozen=True)
class RequestExtension(Command):
    pass


@dataclass(frozen=True)
class DecideExtension(Command):
    approved: bool


@dataclass(frozen=True)
class CloseTask(Command):
    pass


@dataclass(frozen=True)
class Notify(Command):
    """A notice of this step to the officers of ``to`` (an alias: the lead, the issuer, a
    book's owner), saying ``detail``; ``date`` the day it is about."""

    to: str
    detail: str
    date: str = ""
    kind: str = "task_progress"


@dataclass(frozen=True)
class Note(Command):
    """A line the new state's task notices carry (why a book or a task was sent back)."""

    text: str


@dataclass(frozen=True)
class CloseRound(Command):
    """Scoring over: totals and ranking computed and kept, the scores unsealed into the
    round's record, sheets not submitted closed as missed."""


@dataclass(frozen=True)
class PublishRound(Command):
    pass


@dataclass(frozen=True)
class RecordScores(Command):
    scores: Mapping[int, float]


# --- the book -------------------------------------------------------------------------------
OWNER, APPROVER = By(officer="owner"), By(officer="approver")
REASONED = Form((REASON,))


def book_effects(ctx: EffectContext) -> Sequence[Command]:
    if ctx.event == "approve_book":
        book = ctx.facts.get(BookFacts)
        owner_tier = str(ctx.facts.data["owner_tier"])
        items = tuple(
            (lead, {"title": title, "lead_tier": tier, "issuer_tier": owner_tier})
            for _, lead, title, tier in book.tasks
        )
        return (
            OpenChildren(TASK, items),
            LinkIssued(tuple(t[0] for t in book.tasks)),
            Notify("owner", f"任务书已审批通过，{len(items)}项任务已下达", kind="task_progress"),
        )
    if ctx.event == "return_book":
        return (Note(f"退回理由：{ctx.payload['reason']}"),)
    return ()


BOOK_SPEC = ProcessSpec(
    name=BOOK,
    label="任务书",
    machine=BookMachine,
    states={
        "book_draft": StateSpec("book_draft", OWNER, escalation="none"),
        "book_review": StateSpec("book_review", APPROVER, 5),
        "book_in_force": StateSpec("book_in_force"),
        "book_closed": StateSpec("book_closed"),
    },
    events={
        e.name: e
        for e in (
            EventSpec("submit_book", "报送审批", OWNER, (RuleUse(BookHasTasks()),), decision=False),
            EventSpec("approve_book", "审批通过并下达任务"),
            EventSpec(
                "return_book", "退回修改", form=REASONED, overrides_signers=True, style="secondary"
            ),
            EventSpec(
                "close_book", "年度办结", OWNER, (RuleUse(ChildrenClosed()),), decision=False
            ),
        )
    },
    resolve_tier=resolve_tier,
    effects=book_effects,
    opened_by="county",
    once_per_year=False,
    main_path=("book_draft", "book_review", "book_in_force", "book_closed"),
    extra_needs={"approve_book": frozenset({BookFacts})},
    visibility=Visibility(
        open=frozenset({"book_id", "title", "owner_tier", "year", "children", "issued"})
    ),
)


# --- each task --------------------------------------------------------------------------------
LEAD, ISSUER = By(officer="lead"), By(officer="issuer")
PROGRESS = Form(
    (
        Field(
            "percent",
            "完成进度（%）",
            "int",
            min_value=0,
            max_value=100,
            help="0至100的整数；低于上次报告的进度须填写调低理由",
        ),
        Field("text", "进展情况", max_length=2000),
        Field("reason", "调低理由", required=False, max_length=500),
        Field(
            "milestone",
            "本次完成的时间节点（序号）",
            "int",
            required=False,
            min_value=1,
            max_value=99,
        ),
        Field(
            "evidence",
            "佐证材料（本任务附件编号，逗号分隔）",
            required=False,
            max_length=200,
            pattern=r"\d{1,16}([,，、 ]+\d{1,16}){0,19}",
        ),
    )
)
COMPLETION = Form(
    (
        Field("text", "完成情况", max_length=2000),
        Field(
            "evidence",
            "佐证材料（本任务附件编号，逗号分隔）",
            required=False,
            max_length=200,
            pattern=r"\d{1,16}([,，、 ]+\d{1,16}){0,19}",
        ),
    )
)
SPLIT = Form(
    (
        Field(
            "units",
            "分解到的下级单位（单位编号，逗号分隔）",
            max_length=4000,
            pattern=r"\d{1,16}([,，、 ]+\d{1,16}){0,999}",
        ),
    )
)
EXTENSION = Form(
    (
        Field("new_deadline", "延期后的完成时限", "date"),
        Field("reason", "延期理由", max_length=1000),
    )
)
TASK_FACTS = frozenset({TaskFacts})


def task_effects(ctx: EffectContext) -> Sequence[Command]:
    event, payload = ctx.event, ctx.payload
    if event == "acknowledge_task":
        return (Notify("issuer", "牵头单位已签收任务"),)
    if event == "report_progress":
        return (RecordProgress("progress"),)
    if event == "split_task":
        task = ctx.facts.get(TaskFacts)
        units = tuple(ids_in(payload["units"]) or ())
        issuer_tier = str(ctx.facts.data["lead_tier"])
        items = tuple(
            (u, {"title": task.title, "lead_tier": task.below[u][1], "issuer_tier": issuer_tier})
            for u in units
        )
        return (OpenChildren(TASK, items), SplitTask(units))
    if event == "request_extension":
        day = str(payload["new_deadline"])
        return (
            RequestExtension(),
            Notify("issuer", f"牵头单位申请延期至{day}：{payload['reason']}", day),
        )
    if event == "approve_extension":
        return (DecideExtension(True),)
    if event == "refuse_extension":
        return (DecideExtension(False), Note(f"不同意延期：{payload['reason']}"))
    if event == "report_completion":
        return (RecordProgress("completion"),)
    if event == "accept_completion":
        return (CloseTask(), Notify("lead", "任务已复核通过，予以办结"))
    if event == "return_completion":
        return (Note(f"退回理由：{payload['reason']}"),)
    return ()


TASK_SPEC = ProcessSpec(
    name=TASK,
    label="任务",
    machine=TaskMachine,
    states={
        # 签收 within three working days, or the unit above the lead unit is told (督责)
        "task_issued": StateSpec("task_issued", LEAD, 3),
        # the task's own deadline and milestones are watched by the package's sweep
        "task_doing": StateSpec("task_doing", LEAD, escalation="none"),
        "task_extension": StateSpec("task_extension", ISSUER, 5),
        "task_review": StateSpec("task_review", ISSUER, 5),
        "task_done": StateSpec("task_done"),
    },
    events={
        e.name: e
        for e in (
            EventSpec("acknowledge_task", "签收", decision=False),
            EventSpec(
                "report_progress",
                "报告进展",
                LEAD,
                (
                    RuleUse(NotSplit()),
                    RuleUse(ProgressForward()),
                    RuleUse(MilestonePending()),
                    RuleUse(EvidenceOnCase()),
                ),
                PROGRESS,
                decision=False,
            ),
            EventSpec(
                "split_task",
                "分解到下级单位",
                LEAD,
                (RuleUse(SplitBelow()),),
                SPLIT,
                decision=False,
                style="secondary",
            ),
            EventSpec(
                "request_extension",
                "申请延期",
                LEAD,
                (RuleUse(LaterDeadline()),),
                EXTENSION,
                decision=False,
                style="secondary",
            ),
            EventSpec("approve_extension", "同意延期"),
            EventSpec("refuse_extension", "不同意延期", form=REASONED, style="secondary"),
            EventSpec(
                "report_completion",
                "报告完成（反馈）",
                LEAD,
                (RuleUse(ChildrenDone()), RuleUse(EvidenceOnCase())),
                COMPLETION,
                decision=False,
            ),
            EventSpec("accept_completion", "复核通过，予以办结"),
            EventSpec(
                "return_completion",
                "退回重办",
                form=REASONED,
                overrides_signers=True,
                style="secondary",
            ),
        )
    },
    policy_defaults=POLICY_DEFAULTS,
    resolve_tier=resolve_tier,
    effects=task_effects,
    opened_by="county",
    once_per_year=False,
    main_path=("task_issued", "task_doing", "task_review", "task_done"),
    extra_needs={
        "split_task": TASK_FACTS,
        "request_extension": TASK_FACTS,
        "report_completion": TASK_FACTS,
    },
    visibility=Visibility(
        open=frozenset(
            {
                "title",
                "lead_tier",
                "issuer_tier",
                "children",
                "progress_from",
                "evidence_files",
                "milestone_title",
                "deadline_from",
                "deadline_to",
                "split",
            }
        )
    ),
)


# --- the year-end scoring round and each scorer's sheet --------------------------------------
ORGANISER = By(officer="organiser")


def round_effects(ctx: EffectContext) -> Sequence[Command]:
    if ctx.event == "close_scoring":
        return (CloseRound(),)
    if ctx.event == "publish_scores":
        return (PublishRound(),)
    return ()


ROUND_SPEC = ProcessSpec(
    name=ROUND,
    label="年终考核评分",
    machine=RoundMachine,
    states={
        "round_scoring": StateSpec("round_scoring"),
        "round_scored": StateSpec("round_scored", ORGANISER, 5),
        "round_published": StateSpec("round_published"),
    },
    events={
        e.name: e
        for e in (
            # the organiser closes it early once every sheet is in; the sweep at its last day
            EventSpec(
                "close_scoring", "结束评分", By(officer="organiser", system=True), decision=False
            ),
            EventSpec("publish_scores", "公布考核结果"),
        )
    },
    resolve_tier=resolve_tier,
    effects=round_effects,
    opened_by="county",
    once_per_year=False,
    main_path=("round_scoring", "round_scored", "round_published"),
    # Each scorer's scores, unsealed when scoring closes, are for those who answer for the
    # round (its organiser's officers and the inspectors); the totals and the ranking are
    # published to everyone on it.
    visibility=Visibility(
        payload={"scores": Shown(STAFF)},
        open=frozenset({"round_id", "title", "owner_tier", "results", "missed", "published"}),
    ),
)


SCORES = Form((Field("scores", "评分", max_length=200_000, help='{"任务编号": 分数, …}'),))


def sheet_effects(ctx: EffectContext) -> Sequence[Command]:
    if ctx.event == "submit_scores":
        parsed = parse_scores(ctx.payload["scores"]) or {}
        return (RecordScores({k: float(v) for k, v in parsed.items()}),)  # type: ignore[arg-type]
    return ()


SHEET_SPEC = ProcessSpec(
    name=SHEET,
    label="考核评分表",
    machine=SheetMachine,
    states={
        # the sheet's due date is the round's last day, set when the sheets are opened
        "sheet_open": StateSpec("sheet_open", By(officer="scorer"), escalation="none"),
        "sheet_done": StateSpec("sheet_done"),
        "sheet_missed": StateSpec("sheet_missed"),
    },
    events={
        e.name: e
        for e in (
            EventSpec(
                "submit_scores",
                "提交评分",
                rules=(RuleUse(ScoringOpen()), RuleUse(ScoresValid())),
                form=SCORES,
                decision=False,
                sealed=("scores",),
            ),
            EventSpec("miss_sheet", "评分截止未提交", By(system=True), decision=False),
        )
    },
    resolve_tier=resolve_tier,
    effects=sheet_effects,
    extra_needs={"submit_scores": frozenset({SheetFacts})},
    opened_by="county",
    once_per_year=False,
    main_path=("sheet_open", "sheet_done"),
    # A sheet's scores are kept off its trail (sealed) and out of its data: no reader of
    # the sheet learns them; the round's record unseals them when scoring closes.
    visibility=Visibility(
        data={"scores": Shown(frozenset())},
        open=frozenset({"sheet_id", "round_id", "party", "scorer_tier", "title"}),
    ),
)


SPECS = (BOOK_SPEC, TASK_SPEC, ROUND_SPEC, SHEET_SPEC)
