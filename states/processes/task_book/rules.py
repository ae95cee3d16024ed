"""Task books' rules, pure: a task's schedule (milestones in order, the deadline not before
them), a progress report (within 0–100, never backwards without a reason, evidence from the
case's own files), an extension, a split to the units below, the four parties' weights, a
score and the scoring's totals and ranking.

Every refusal names the field at fault in the bureau's words, so the import's row report,
the pages and the API say the same thing.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from states.process.rules import Facts, Verdict

# --- vocabularies ------------------------------------------------------------------------------
SOURCES: Mapping[str, str] = {
    "work_points": "年度工作要点",
    "meeting": "会议决定",
    "instruction": "领导批示",
}
# The four parties of the year-end scoring (四方评价), in the order a form lists them.
PARTIES: Mapping[str, str] = {
    "self": "自评",
    "superior": "上级评价",
    "peers": "同级互评",
    "served": "服务对象评价",
}
# A task's standing as the board colours it; "done" is a closed task.
STATUSES: Mapping[str, str] = {
    "red": "逾期",
    "yellow": "预警",
    "green": "正常推进",
    "done": "已办结",
}
SCALE = 100  # scores are given out of 100
MAX_MILESTONES = 12
MAX_WEIGHT = 100.0


def cn_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


# --- a task's schedule -----------------------------------------------------------------------
@dataclass(frozen=True)
class Milestone:
    title: str
    due_on: dt.date


_ENTRY = re.compile(
    r"\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*(?:前|之前)?\s*[:：，,]?\s*(.*)"
)
_SPLIT = re.compile(r"[；;\n\r]+")


def parse_milestones(text: str) -> list[Milestone]:
    """Milestones as officers write them in one cell or box: "2026-03-31 完成调研；
    2026-06-30 形成方案" (one per line or separated by ；). Raises ValueError naming the
    entry that does not read as a date and a name."""
    out: list[Milestone] = []
    for raw in _SPLIT.split(text or ""):
        entry = raw.strip()
        if not entry:
            continue
        m = _ENTRY.fullmatch(entry)
        if m is None:
            raise ValueError(f"时间节点“{entry}”应写作“日期 节点名称”，如“2026-06-30 形成方案”")
        try:
            day = dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            raise ValueError(f"时间节点“{entry}”的日期无效") from None
        title = m[4].strip()
        if not title:
            raise ValueError(f"时间节点“{entry}”缺少节点名称")
        if len(title) > 100:
            raise ValueError(f"时间节点名称不能超过100字：“{title[:20]}…”")
        out.append(Milestone(title, day))
    if len(out) > MAX_MILESTONES:
        raise ValueError(f"时间节点不能超过{MAX_MILESTONES}个，现有{len(out)}个")
    return out


def milestones_text(milestones: Iterable[Milestone]) -> str:
    """The milestones as the form's box shows them, one a line."""
    return "\n".join(f"{m.due_on.isoformat()} {m.title}" for m in milestones)


def schedule_problems(
    deadline: dt.date | None, milestones: Sequence[Milestone]
) -> list[tuple[str, str]]:
    """What is wrong with a task's timetable (路线图), as (field, reason): milestones out of
    order, or a deadline before one of them."""
    out: list[tuple[str, str]] = []
    for before, after in pairwise(milestones):
        if after.due_on < before.due_on:
            out.append(
                (
                    "milestones",
                    f"时间节点应按时间先后排列：“{after.title}”（{after.due_on.isoformat()}）"
                    f"早于前一节点“{before.title}”（{before.due_on.isoformat()}）",
                )
            )
            break
    if deadline is not None and milestones:
        last = max(milestones, key=lambda m: m.due_on)
        if deadline < last.due_on:
            out.append(
                (
                    "deadline",
                    f"完成时限（{deadline.isoformat()}）早于时间节点“{last.title}”"
                    f"（{last.due_on.isoformat()}），请调整完成时限或时间节点",
                )
            )
    return out


# --- facts the task's rules read --------------------------------------------------------------
@dataclass(frozen=True)
class TaskFacts:
    """A task as its events are judged: where it stands, what was reported last, its
    milestones not yet reached, its children (a split task), its case's files."""

    task_id: int
    title: str
    progress: int
    deadline: dt.date
    issued_on: dt.date | None
    split: bool
    children_open: int
    # (seq, title, due_on, done_on)
    milestones: tuple[tuple[int, str, dt.date, dt.date | None], ...] = ()
    attachments: frozenset[int] = frozenset()
    # units the task may be split to (the lead unit's open units one level down):
    # id -> (name, tier)
    below: Mapping[int, tuple[str, str]] = field(default_factory=dict)
    lead_name: str = ""


def ids_in(text: object) -> list[int] | None:
    """ "12,13" (ids, as the form's text field carries them), or None when it is not that."""
    if not isinstance(text, str):
        return None
    parts = [p.strip() for p in re.split(r"[,，、\s]+", text) if p.strip()]
    if not all(p.isdigit() and len(p) <= 16 for p in parts):
        return None
    return [int(p) for p in parts]


@dataclass(frozen=True)
class ProgressForward:
    """A report never lowers the progress without saying why (a task re-planned, a figure
    corrected): the reason is kept on the record."""

    code: str = "progress_forward"
    label: str = "进展不倒退"
    needs: frozenset[type] = frozenset({TaskFacts})

    def check(self, facts: Facts) -> Verdict:
        task = facts.get(TaskFacts)
        percent = facts.payload.get("percent")
        lower = isinstance(percent, int | float) and percent < task.progress
        if lower and not str(facts.payload.get("reason") or "").strip():
            return Verdict.failed(
                f"本次进展（{percent:g}%）低于上次报告的{task.progress}%，"
                "如确需调低，请在“调低理由”中说明",
                field="reason",
            )
        return Verdict.passed()


@dataclass(frozen=True)
class NotSplit:
    """A split task's progress is its children's: it is not reported by hand."""

    code: str = "not_split"
    label: str = "未分解的任务"
    needs: frozenset[type] = frozenset({TaskFacts})

    def check(self, facts: Facts) -> Verdict:
        if facts.get(TaskFacts).split:
            return Verdict.failed(
                "该任务已分解到下级单位，进展按下级任务的进展自动计算，不能另行报告",
                field="percent",
            )
        return Verdict.passed()


@dataclass(frozen=True)
class EvidenceOnCase:
    """Evidence is a file already on the task's own record (uploaded to it)."""

    code: str = "evidence"
    label: str = "佐证材料"
    needs: frozenset[type] = frozenset({TaskFacts})

    def check(self, facts: Facts) -> Verdict:
        raw = facts.payload.get("evidence")
        if raw in (None, ""):
            return Verdict.passed()
        ids = ids_in(raw)
        if ids is None:
            return Verdict.failed("佐证材料应为本任务附件的编号，以逗号分隔", field="evidence")
        missing = [i for i in ids if i not in facts.get(TaskFacts).attachments]
        if missing:
            return Verdict.failed(
                f"佐证材料{'、'.join(map(str, missing))}不是本任务的附件，请先上传到本任务",
                field="evidence",
            )
        return Verdict.passed()


@dataclass(frozen=True)
class MilestonePending:
    """The milestone a report says was reached is one of the task's, not reached yet."""

    code: str = "milestone"
    label: str = "时间节点"
    needs: frozenset[type] = frozenset({TaskFacts})

    def check(self, facts: Facts) -> Verdict:
        seq = facts.payload.get("milestone")
        if seq is None:
            return Verdict.passed()
        found = [m for m in facts.get(TaskFacts).milestones if m[0] == seq]
        if not found:
            return Verdict.failed(f"本任务没有第{seq}个时间节点", field="milestone")
        if found[0][3] is not None:
            return Verdict.failed(
                f"时间节点“{found[0][1]}”已于{found[0][3].isoformat()}完成", field="milestone"
            )
        return Verdict.passed()


@dataclass(frozen=True)
class LaterDeadline:
    """An extension asks for a later deadline than the one in force."""

    code: str = "extension_date"
    label: str = "延期后的完成时限"
    needs: frozenset[type] = frozenset({TaskFacts})

    def check(self, facts: Facts) -> Verdict:
        raw = facts.payload.get("new_deadline")
        if raw is None:
            return Verdict.passed()
        wanted = dt.date.fromisoformat(str(raw))
        task = facts.get(TaskFacts)
        if wanted <= task.deadline:
            return Verdict.failed(
                f"延期后的完成时限应晚于现完成时限（{task.deadline.isoformat()}）",
                field="new_deadline",
            )
        if wanted <= facts.today:
            return Verdict.failed("延期后的完成时限应晚于今天", field="new_deadline")
        return Verdict.passed()


@dataclass(frozen=True)
class SplitBelow:
    """A task is split only to units one level below its lead unit (a county's task to its
    schools): never to a unit outside the issuing unit's subtree."""

    code: str = "split_units"
    label: str = "分解单位"
    needs: frozenset[type] = frozenset({TaskFacts})

    def check(self, facts: Facts) -> Verdict:
        task = facts.get(TaskFacts)
        ids = ids_in(facts.payload.get("units"))
        if not ids:
            return Verdict.failed("请选择要分解到的下级单位", field="units")
        if len(set(ids)) != len(ids):
            return Verdict.failed("分解单位有重复", field="units")
        outside = [i for i in ids if i not in task.below]
        if outside:
            return Verdict.failed(
                f"单位{'、'.join(map(str, outside))}不是{task.lead_name}的下一级单位，"
                "任务只能分解到本单位管辖范围内的下一级单位",
                field="units",
            )
        if task.split:
            return Verdict.failed("该任务已分解，不能重复分解", field="units")
        return Verdict.passed()


@dataclass(frozen=True)
class ChildrenDone:
    """A split task is reported complete only when every one of its children is closed."""

    code: str = "children_done"
    label: str = "下级任务均已办结"
    needs: frozenset[type] = frozenset({TaskFacts})

    def check(self, facts: Facts) -> Verdict:
        open_ = facts.get(TaskFacts).children_open
        if open_:
            return Verdict.failed(f"尚有{open_}项分解到下级单位的任务未办结，不能报告完成")
        return Verdict.passed()


@dataclass(frozen=True)
class BookFacts:
    """A book's tasks as its approval issues them: (task id, lead unit, title, lead tier)."""

    book_id: int
    tasks: tuple[tuple[int, int, str, str], ...]


@dataclass(frozen=True)
class BookHasTasks:
    code: str = "book_tasks"
    label: str = "任务书有任务"
    needs: frozenset[type] = frozenset({BookFacts})

    def check(self, facts: Facts) -> Verdict:
        if not facts.get(BookFacts).tasks:
            return Verdict.failed("任务书中还没有任务，请先导入或添加任务")
        return Verdict.passed()


# --- the four parties' weights and the scores ------------------------------------------------
def weight_problems(weights: Mapping[str, object]) -> list[tuple[str, str]]:
    """The issuing unit's weights of the four parties, in whole percent: each 0–100, all
    four given, summing to exactly 100."""
    out: list[tuple[str, str]] = []
    unknown = sorted(set(weights) - set(PARTIES))
    if unknown:
        out.append(("weights", f"不认识的评价主体：{'、'.join(unknown)}"))
    total = 0.0
    for party, label in PARTIES.items():
        value = weights.get(party)
        if isinstance(value, bool) or not isinstance(value, int | float):
            out.append((f"weights.{party}", f"{label}权重应为0至100之间的数（百分比）"))
            continue
        if not 0 <= value <= 100:
            out.append((f"weights.{party}", f"{label}权重应在0至100之间，现为{value:g}"))
        total += float(value)
    if not out and abs(total - 100) > 1e-9:
        out.append(("weights", f"四方评价权重之和应为100%，现为{total:g}%"))
    return out


def score_problem(title: str, value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return f"“{title}”的评分应为数字"
    if not 0 <= float(value) <= SCALE:
        return f"“{title}”的评分应在0至{SCALE}分之间，现为{float(value):g}"
    return None


@dataclass(frozen=True)
class SheetFacts:
    """A scorer's sheet as its submission is judged: the tasks it scores, the round's last
    day and whether the round still takes scores."""

    tasks: Mapping[int, str]  # task id -> title
    closes_on: dt.date
    open: bool


@dataclass(frozen=True)
class ScoringOpen:
    code: str = "scoring_open"
    label: str = "评分期内"
    needs: frozenset[type] = frozenset({SheetFacts})

    def check(self, facts: Facts) -> Verdict:
        sheet = facts.get(SheetFacts)
        if not sheet.open or facts.today > sheet.closes_on:
            return Verdict.failed(
                f"评分已于{sheet.closes_on.isoformat()}截止，不能再提交评分", field="scores"
            )
        return Verdict.passed()


def parse_scores(raw: object) -> dict[int, object] | None:
    """The sheet's scores as the form's text carries them: {"task id": score} in JSON."""
    if not isinstance(raw, str):
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    out: dict[int, object] = {}
    for key, score in value.items():
        if not str(key).isdigit() or len(str(key)) > 16:
            return None
        out[int(key)] = score
    return out


@dataclass(frozen=True)
class ScoresValid:
    """Every task on the sheet scored, each within the scale; nothing else."""

    code: str = "scores"
    label: str = "评分"
    needs: frozenset[type] = frozenset({SheetFacts})

    def check(self, facts: Facts) -> Verdict:
        sheet = facts.get(SheetFacts)
        scores = parse_scores(facts.payload.get("scores"))
        if scores is None:
            return Verdict.failed("评分格式不正确", field="scores")
        extra = sorted(set(scores) - set(sheet.tasks))
        if extra:
            return Verdict.failed(f"任务{'、'.join(map(str, extra))}不在本评分表中", field="scores")
        for task_id, title in sheet.tasks.items():
            if task_id not in scores:
                return Verdict.failed(f"请为“{title}”评分", field="scores")
            problem = score_problem(title, scores[task_id])
            if problem is not None:
                return Verdict.failed(problem, field="scores")
        return Verdict.passed()


# --- totals and ranking -----------------------------------------------------------------------
@dataclass(frozen=True)
class TaskResult:
    task_id: int
    unit_id: int
    weight: float
    parties: Mapping[str, float]  # party -> mean of its scorers' scores (parties that scored)
    total: float


@dataclass(frozen=True)
class UnitResult:
    unit_id: int
    total: float
    rank: int
    tied_with: tuple[int, ...]  # the other units of the same rank
    tasks: int


def task_total(parties: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """Σ weight × party score over the parties that scored the task, the weights of those
    that did not (nobody in that party, or no sheet submitted) shared out among the others
    in proportion: a task is never marked down for a party it does not have."""
    present = {p: w for p, w in weights.items() if p in parties and w > 0}
    share = sum(present.values())
    if not share:
        return 0.0
    return sum(parties[p] * w for p, w in present.items()) / share


def totals(
    tasks: Sequence[tuple[int, int, float]],  # (task id, lead unit id, task weight)
    scores: Iterable[tuple[int, str, float]],  # (task id, party, score)
    weights: Mapping[str, float],
) -> tuple[list[TaskResult], list[UnitResult]]:
    """Each task's total from the party means and the party weights; each unit's total the
    task-weighted mean of its tasks' totals (0–100); units ranked by it, highest first.
    Totals are compared at two decimals: units equal there share a rank (1, 2, 2, 4) and
    name each other."""
    by_task: dict[int, dict[str, list[float]]] = {}
    for task_id, party, score in scores:
        by_task.setdefault(task_id, {}).setdefault(party, []).append(float(score))
    results: list[TaskResult] = []
    for task_id, unit_id, weight in tasks:
        means = {p: sum(v) / len(v) for p, v in by_task.get(task_id, {}).items() if v}
        results.append(TaskResult(task_id, unit_id, weight, means, task_total(means, weights)))
    sums: dict[int, tuple[float, float, int]] = {}
    for r in results:
        num, den, n = sums.get(r.unit_id, (0.0, 0.0, 0))
        sums[r.unit_id] = (num + r.weight * r.total, den + r.weight, n + 1)
    unit_totals = {u: round(num / den, 2) if den else 0.0 for u, (num, den, _) in sums.items()}
    order = sorted(unit_totals, key=lambda u: (-unit_totals[u], u))
    units: list[UnitResult] = []
    for unit_id in order:
        total = unit_totals[unit_id]
        first = next(j for j, u in enumerate(order) if unit_totals[u] == total)
        tied = tuple(u for u in order if u != unit_id and unit_totals[u] == total)
        units.append(UnitResult(unit_id, total, first + 1, tied, sums[unit_id][2]))
    return results, units


def tie_note(result: UnitResult, names: Mapping[int, str]) -> str:
    """Why a unit shares its rank, in words: "与西县并列第2名（总分均为87.50分）"."""
    if not result.tied_with:
        return ""
    others = "、".join(names.get(u, str(u)) for u in result.tied_with)
    return f"与{others}并列第{result.rank}名（总分均为{result.total:.2f}分）"
