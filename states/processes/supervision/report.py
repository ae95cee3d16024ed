"""The campaign's report: its targets, the findings by checklist item and by unit, and where
each rectification stands — rectified, overdue, reported (通报) or still open — as a page, a
JSON answer and an .xlsx export. Every field goes through the declared visibility of the
reader (a finding's 线索来源 only to those who inspect), the same for all three."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from states.clock import local_date
from states.engine import CaseEngine
from states.engine.visibility import shown_data, viewer_of
from states.errors import PermissionDenied
from states.org import INSPECTOR, Actor
from states.processes.supervision import campaigns, store
from states.processes.supervision.machine import RectificationMachine
from states.processes.supervision.spec import CAMPAIGN_SPEC, RECTIFICATION_SPEC
from states.store import queries


@dataclass(frozen=True)
class FindingLine:
    finding_id: int
    case_id: int
    unit_id: int
    unit: str
    item: str
    item_text: str
    text: str
    clue: str | None  # None: not for this reader
    inspector: str
    found_on: dt.date
    evidence: tuple[tuple[str, str], ...]  # (file name, SHA-256)
    state: str
    state_label: str
    due_on: dt.date | None
    overdue: bool  # past its deadline now, or escalated for it before

    @property
    def outcome(self) -> str:
        return {"rectified": "rectified", "publicized": "publicized"}.get(self.state, "open")


@dataclass
class Tally:
    findings: int = 0
    rectified: int = 0
    publicized: int = 0
    open: int = 0
    overdue: int = 0

    def add(self, line: FindingLine) -> None:
        self.findings += 1
        setattr(self, line.outcome, getattr(self, line.outcome) + 1)
        self.overdue += int(line.overdue)


@dataclass
class UnitLine:
    unit_id: int
    unit: str
    inspectors: tuple[str, ...]
    tally: Tally = field(default_factory=Tally)


@dataclass
class ItemLine:
    code: str
    text: str
    evidence: bool
    units: set[int] = field(default_factory=set)
    tally: Tally = field(default_factory=Tally)


@dataclass(frozen=True)
class Report:
    campaign: campaigns.Campaign
    total: Tally
    units: list[UnitLine]
    items: list[ItemLine]
    findings: list[FindingLine]
    clue_shown: bool


def report(engine: CaseEngine, actor: Actor, campaign_id: int) -> Report:
    today = local_date(engine.clock.now())
    with engine.db.connect() as conn:
        c = campaigns.read(conn, actor, campaign_id)
        if not (c.full or c.visited):
            raise PermissionDenied("实地检查开始前，督查报告仅供组织单位查看")
        case = queries.get_case(conn, actor, int(c.case_id))
        tasks = queries.case_tasks(conn, int(c.case_id))
        viewer = viewer_of(case or {"org_path": "", "applicant_id": None}, actor,
                           CAMPAIGN_SPEC, tasks, False)  # fmt: skip
        drawn = store.assignments(conn, c.id)
        f, u = store.findings_t, store.units_t
        rows = conn.execute(
            select(
                f.c.id, f.c.case_id, f.c.unit_id, u.c.name.label("unit"), f.c.item_code,
                f.c.text, f.c.clue, store.people_t.c.name.label("inspector"), f.c.recorded_at,
                f.c.evidence, store.cases_t.c.state, store.cases_t.c.data,
            )
            .join(u, u.c.id == f.c.unit_id)
            .join(store.people_t, store.people_t.c.id == f.c.inspector_id)
            .join(store.cases_t, store.cases_t.c.id == f.c.case_id)
            .where(f.c.campaign_id == c.id)
            .order_by(f.c.id)
        ).all()  # fmt: skip
        t = store.tasks_t
        deadlines = conn.execute(
            select(t.c.case_id, t.c.status, t.c.due_on, t.c.escalated_at).where(
                t.c.case_id.in_(select(f.c.case_id).where(f.c.campaign_id == c.id)),
                t.c.state == "to_rectify",
                t.c.kind == "act",
                t.c.role != INSPECTOR,
            )
        ).all()
    due: dict[int, dt.date | None] = {}
    late: set[int] = set()
    for d in deadlines:
        if d.status == "open":
            due[int(d.case_id)] = d.due_on
            if d.due_on is not None and d.due_on < today:
                late.add(int(d.case_id))
        if d.escalated_at is not None:
            late.add(int(d.case_id))
    checklist = {str(i["code"]): i for i in c.checklist}
    vis = RECTIFICATION_SPEC.visibility
    clue_shown = bool(shown_data(vis, {"clue": "x"}, viewer))
    findings = [
        FindingLine(
            finding_id=int(r.id), case_id=int(r.case_id), unit_id=int(r.unit_id), unit=r.unit,
            item=r.item_code, item_text=str(checklist.get(r.item_code, {}).get("text", "")),
            text=r.text, clue=r.clue if clue_shown else None, inspector=r.inspector,
            found_on=local_date(r.recorded_at),
            evidence=tuple((str(e["filename"]), str(e["sha256"])) for e in r.evidence or ()),
            state=r.state, state_label=str(getattr(RectificationMachine, r.state).name),
            due_on=due.get(int(r.case_id)) or _date((r.data or {}).get("due_on")),
            overdue=int(r.case_id) in late,
        )
        for r in rows
    ]  # fmt: skip
    units: dict[int, UnitLine] = {}
    visible_targets = c.full or c.visited
    for a in drawn:
        if not visible_targets and a.inspector_id != actor.person_id:
            continue
        at = units.setdefault(int(a.unit_id), UnitLine(int(a.unit_id), str(a.unit), ()))
        at.inspectors = (*at.inspectors, str(a.inspector))
    items = {
        code: ItemLine(code, str(i["text"]), bool(i["evidence"])) for code, i in checklist.items()
    }
    total = Tally()
    for line in findings:
        total.add(line)
        if line.unit_id in units:
            units[line.unit_id].tally.add(line)
        if line.item in items:
            items[line.item].tally.add(line)
            items[line.item].units.add(line.unit_id)
    return Report(c, total, list(units.values()), list(items.values()), findings, clue_shown)


def _date(raw: Any) -> dt.date | None:
    return dt.date.fromisoformat(str(raw)) if raw else None


EXPORT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("finding_id", "问题编号"),
    ("unit", "被检查单位"),
    ("item", "检查项目编码"),
    ("item_text", "检查项目"),
    ("text", "发现的问题"),
    ("clue", "线索来源"),
    ("inspector", "检查人员"),
    ("found_on", "发现日期"),
    ("evidence", "佐证材料（SHA-256）"),
    ("due_on", "整改期限"),
    ("state", "整改状态"),
    ("overdue", "是否逾期"),
    ("case_id", "整改事项编号"),
)


def export(r: Report) -> tuple[str, list[tuple[str, str]], Iterator[Mapping[str, Any]]]:
    """The report's findings as spreadsheet rows: the title, the columns this reader may
    read (线索来源 left out for whoever may not), and the rows."""
    columns = [c for c in EXPORT_COLUMNS if c[0] != "clue" or r.clue_shown]

    def rows() -> Iterator[Mapping[str, Any]]:
        for line in r.findings:
            yield {
                "finding_id": line.finding_id, "unit": line.unit, "item": line.item,
                "item_text": line.item_text, "text": line.text, "clue": line.clue or "",
                "inspector": line.inspector, "found_on": line.found_on,
                "evidence": "；".join(f"{n}（{h}）" for n, h in line.evidence),
                "due_on": line.due_on, "state": line.state_label, "overdue": line.overdue,
                "case_id": line.case_id,
            }  # fmt: skip

    return report_title(r.campaign.title), columns, rows()


def report_title(title: str) -> str:
    """「在职教师有偿补课专项督查」's report is 「…专项督查报告」, not 「…督查督查报告」."""
    return f"{title}报告" if title.endswith("督查") else f"{title}督查报告"
