"""The rules of supervision (督查), described in ``docs/processes/supervision.md``: what a
finding, a rectification report, a re-inspection and a 通报 ask before they are taken.
Pure: facts in, verdict out."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from states.process.rules import Facts, Verdict


def cn_date(day: dt.date | str) -> str:
    d = dt.date.fromisoformat(day) if isinstance(day, str) else day
    return f"{d.year}年{d.month}月{d.day}日"


def ids_in(raw: object) -> list[int] | None:
    """Attachment numbers typed as "12, 13" (commas, 、 or spaces); None when one is not a
    number."""
    if raw is None or raw == "":
        return []
    parts = [p for p in re.split(r"[,，、\s]+", str(raw)) if p]
    if not all(p.isascii() and p.isdigit() and len(p) <= 16 for p in parts):
        return None
    return sorted({int(p) for p in parts})


def recused(own: tuple[str, ...], unit_path: str) -> bool:
    """Whether someone with these own units (their school, their bindings below the
    organiser) is a party to the unit at ``unit_path``."""
    return any(unit_path.startswith(p) for p in own)


# --- findings ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class FindingFacts:
    """What a finding is judged by: the actor's targets in the campaign, the checklist, and
    the files they uploaded for it that no finding uses yet."""

    assigned: Mapping[int, str]  # unit id -> name
    checklist: Mapping[str, tuple[str, bool]]  # code -> (text, evidence required)
    uploads: Mapping[int, str]  # attachment id -> file name


@dataclass(frozen=True)
class AssignedTarget:
    code: str = "supervision_assigned"
    label: str = "检查对象为本人抽取的单位"
    needs: frozenset[type] = frozenset({FindingFacts})

    def check(self, facts: Facts) -> Verdict:
        f = facts.get(FindingFacts)
        if int(facts.payload.get("target_id", 0)) not in f.assigned:
            return Verdict.failed("您未被抽取检查该单位，不能记录其问题", field="target_id")
        return Verdict.passed()


@dataclass(frozen=True)
class KnownItem:
    code: str = "supervision_item"
    label: str = "检查项目在检查清单内"
    needs: frozenset[type] = frozenset({FindingFacts})

    def check(self, facts: Facts) -> Verdict:
        f = facts.get(FindingFacts)
        if str(facts.payload.get("item", "")) not in f.checklist:
            codes = "、".join(f.checklist)
            return Verdict.failed(f"检查项目应为检查清单中的一项：{codes}", field="item")
        return Verdict.passed()


@dataclass(frozen=True)
class EvidenceAsRequired:
    """An item whose checklist line requires evidence is not recorded without it; the
    evidence named must be files this inspector uploaded for this campaign."""

    code: str = "supervision_evidence"
    label: str = "按检查清单要求附佐证材料"
    needs: frozenset[type] = frozenset({FindingFacts})

    def check(self, facts: Facts) -> Verdict:
        f = facts.get(FindingFacts)
        ids = ids_in(facts.payload.get("evidence"))
        if ids is None:
            return Verdict.failed("佐证材料应为附件编号，以逗号分隔", field="evidence")
        unknown = [i for i in ids if i not in f.uploads]
        if unknown:
            return Verdict.failed(
                f"附件{unknown[0]}不是您为本次督查上传的佐证材料，或已用于其他问题",
                field="evidence",
            )
        item = f.checklist.get(str(facts.payload.get("item", "")))
        if item is not None and item[1] and not ids:
            return Verdict.failed(
                f"检查项目「{item[0]}」须附佐证材料（照片或文件），请上传后再记录",
                field="evidence",
            )
        return Verdict.passed()


@dataclass(frozen=True)
class VisitsBegun:
    """The visits start on their first day: before it, an unannounced target must not hear
    of the campaign."""

    code: str = "supervision_visit_day"
    label: str = "检查日期已到"
    needs: frozenset[type] = frozenset()

    def check(self, facts: Facts) -> Verdict:
        first = dt.date.fromisoformat(str(facts.data["visit_from"]))
        if facts.today < first:
            return Verdict.failed(f"检查日期{cn_date(first)}未到，不能开始实地检查")
        return Verdict.passed()


# --- rectifications ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RectificationFacts:
    """A rectification and who stands where towards it: its unit, the actor's own units,
    the campaign's pool (with theirs), the files uploaded since the last report, and
    whether its deadline has passed."""

    unit: str
    unit_path: str
    actor_own: tuple[str, ...]
    pool: Mapping[int, tuple[str, tuple[str, ...]]]  # person id -> (name, own unit paths)
    new_evidence: int
    due_on: dt.date | None
    today: dt.date

    def overdue(self) -> bool:
        return self.due_on is not None and self.due_on < self.today


@dataclass(frozen=True)
class EvidenceReported:
    code: str = "rectification_evidence"
    label: str = "整改报告附佐证材料"
    needs: frozenset[type] = frozenset({RectificationFacts})

    def check(self, facts: Facts) -> Verdict:
        if facts.get(RectificationFacts).new_evidence < 1:
            return Verdict.failed(
                "整改报告须附整改佐证材料：请先上传照片或文件，再报告整改情况", field="evidence"
            )
        return Verdict.passed()


def _recusal(name: str, unit: str) -> str:
    return f"{name}是被检查单位（{unit}）的人员，应当回避，不能复查本单位的整改"


@dataclass(frozen=True)
class NotOwnUnit:
    """Re-inspection is never done by the inspected unit's own people."""

    code: str = "reinspection_recusal"
    label: str = "复查人员回避本单位"
    needs: frozenset[type] = frozenset({RectificationFacts})

    def check(self, facts: Facts) -> Verdict:
        r = facts.get(RectificationFacts)
        if recused(r.actor_own, r.unit_path):
            return Verdict.failed(_recusal("您", r.unit))
        return Verdict.passed()


@dataclass(frozen=True)
class ReinspectorEligible:
    code: str = "reinspector"
    label: str = "复查人员为督查员库成员且不属被检查单位"
    needs: frozenset[type] = frozenset({RectificationFacts})

    def check(self, facts: Facts) -> Verdict:
        r = facts.get(RectificationFacts)
        person = int(facts.payload.get("person_id", 0))
        found = r.pool.get(person)
        if found is None:
            return Verdict.failed("复查人员须为本次督查督查员库中的督查员", field="person_id")
        name, own = found
        if recused(own, r.unit_path):
            return Verdict.failed(_recusal(name, r.unit), field="person_id")
        return Verdict.passed()


@dataclass(frozen=True)
class PastDeadline:
    code: str = "rectification_overdue"
    label: str = "整改期限已过"
    needs: frozenset[type] = frozenset({RectificationFacts})

    def check(self, facts: Facts) -> Verdict:
        r = facts.get(RectificationFacts)
        if not r.overdue():
            due = f"（{cn_date(r.due_on)}）" if r.due_on is not None else ""
            return Verdict.failed(f"整改期限{due}未过，不能按逾期未整改通报")
        return Verdict.passed()
