"""The "双随机" draw of an inspection campaign: targets at random from the units in scope at
the campaign's ratio, then inspectors at random from the pool, with recusal.

Anyone can re-draw: the inputs are sorted before they are used and each draw takes its own
``random.Random(seed)``, so the same seeds over the same units and pool give the same
targets and the same inspectors (``redraw``). The seeds go on the campaign's audit trail,
the inputs into its tables with their digests on the trail (``digest``), so a later reader
can prove the inputs were not changed either.

Recusal: an inspector never inspects their own unit — the school they are employed at, or
a unit they hold the inspector role at (and its subtree) below the organiser. A binding at
the organiser's own unit (or above) is what makes them the organiser's inspector, not a
tie to any one school. Pure: no database.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass

from states.errors import RuleRefused


@dataclass(frozen=True)
class ScopeUnit:
    """A unit the campaign may draw (a school), with its path for recusal."""

    id: int
    path: str
    name: str = ""


@dataclass(frozen=True)
class PoolMember:
    """An inspector of the pool and the paths of their own units (recused)."""

    person_id: int
    own: tuple[str, ...]
    name: str = ""

    def recused_from(self, unit: ScopeUnit) -> bool:
        return any(unit.path.startswith(p) for p in self.own)


@dataclass(frozen=True)
class DrawResult:
    targets: tuple[int, ...]  # unit ids, ascending
    assignments: tuple[tuple[int, tuple[int, ...]], ...]  # (unit id, inspector ids), by unit

    def as_record(self) -> dict[str, object]:
        return {
            "targets": list(self.targets),
            "assignments": {str(u): list(p) for u, p in self.assignments},
        }

    def inspectors(self) -> tuple[int, ...]:
        return tuple(sorted({p for _, ps in self.assignments for p in ps}))


def target_count(units: int, percent: int) -> int:
    """The targets a ratio draws: whole units, rounded down (10% of 25 schools is 2)."""
    return units * percent // 100


def digest(units: Sequence[ScopeUnit], pool: Sequence[PoolMember]) -> str:
    """SHA-256 of the draw's inputs in their canonical order: what the trail keeps so that
    the inputs stored beside it can be checked."""
    body = {
        "units": [[u.id, u.path] for u in sorted(units, key=lambda u: u.id)],
        "pool": [[m.person_id, sorted(m.own)] for m in sorted(pool, key=lambda m: m.person_id)],
    }
    canonical = json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def redraw(
    units: Sequence[ScopeUnit],
    pool: Sequence[PoolMember],
    percent: int,
    per_target: int,
    target_seed: int,
    inspector_seed: int,
) -> DrawResult:
    """The draw from its seeds: refused (``RuleRefused``) when the ratio draws no unit or
    the pool, after recusal, cannot staff a target.

    Targets: ``random.Random(target_seed).sample`` of the units sorted by id. Inspectors: a
    random order of the pool (``random.Random(inspector_seed)``, members sorted by id); each
    target in ascending id takes ``per_target`` of the members not recused from it, those
    with the fewest targets so far first, ties by the random order — so the work is spread
    as evenly as recusal allows and nobody is picked by hand."""
    ordered = sorted(units, key=lambda u: u.id)
    if not ordered:
        raise RuleRefused("supervision_scope", "督查范围内没有可抽取的学校", field="scope")
    count = target_count(len(ordered), percent)
    if count < 1:
        least = -(-100 // len(ordered))
        raise RuleRefused(
            "supervision_ratio",
            f"按抽取比例{percent}%，督查范围内{len(ordered)}所学校应抽取0所；"
            f"请将抽取比例提高到{least}%以上",
            field="ratio_percent",
        )
    chosen = sorted(random.Random(target_seed).sample(ordered, count), key=lambda u: u.id)
    members = sorted(pool, key=lambda m: m.person_id)
    order = random.Random(inspector_seed).sample(members, len(members))
    rank = {m.person_id: i for i, m in enumerate(order)}
    load = {m.person_id: 0 for m in members}
    assignments: list[tuple[int, tuple[int, ...]]] = []
    for unit in chosen:
        free = [m for m in order if not m.recused_from(unit)]
        if len(free) < per_target:
            recused = len(members) - len(free)
            raise RuleRefused(
                "supervision_pool",
                f"督查员人数不足：{unit.name or unit.id}需要{per_target}名检查人员，"
                f"督查员库共{len(members)}人，回避{recused}人后仅{len(free)}人可抽取，"
                f"还差{per_target - len(free)}人",
                field="pool",
            )
        picked = sorted(free, key=lambda m: (load[m.person_id], rank[m.person_id]))[:per_target]
        for m in picked:
            load[m.person_id] += 1
        assignments.append((unit.id, tuple(sorted(m.person_id for m in picked))))
    return DrawResult(tuple(u.id for u in chosen), tuple(assignments))
