"""One request's view of its case: the row, the units above it, its open tasks, the
process's policy. Built once per transition and passed through the steps, rule fact
loaders and effect handlers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from states.clock import local_date
from states.engine.statements import HOT, unit_params
from states.org import TIERS, Actor
from states.process.spec import ProcessSpec, policy_for

UPWARD = tuple(reversed(TIERS))  # school, county, city, province
TIER_WORDS = {
    "school": "学校",
    "county": "县（区）教育局",
    "city": "市教育局",
    "province": "省教育厅",
}


@dataclass
class Unit:
    id: int
    tier: str
    path: str
    is_rural: bool
    is_weak: bool
    self_review_pilot: bool
    settings: Mapping[str, Any] | None


@dataclass
class CaseContext:
    case: Any  # the cases row
    spec: ProcessSpec
    actor: Actor
    now: dt.datetime
    today: dt.date
    units: dict[str, Unit]  # tier -> ancestor unit (school ... province)
    policy: dict[str, Any]
    open_tasks: list[Any]
    data: dict[str, Any] = field(default_factory=dict)
    waiting: list[Any] = field(default_factory=list)  # signers added "after", not yet asked

    def unit_for(self, alias: str) -> Unit:
        """The unit acting for a tier alias; a city-direct school's county work goes up to
        the city, so the nearest unit at or above the tier is taken."""
        own = self.units.get("school")
        school_flags = {"self_review_pilot": own.self_review_pilot} if own else {}
        tier = self.spec.resolve_tier(alias, self.data, school_flags, self.policy)
        for t in UPWARD[UPWARD.index(tier) :]:
            if t in self.units:
                return self.units[t]
        raise AssertionError(f"no unit at or above {tier}")

    def unit_ids(self) -> dict[str, int]:
        """Every tier alias the process's states name, resolved for this case."""
        out: dict[str, int] = {}
        for alias in {s.actor.officer for s in self.spec.states.values() if s.actor} - {None}:
            assert alias is not None
            try:
                out[alias] = self.unit_for(alias).id
            except KeyError:  # an alias that needs data the case does not have yet
                continue
        return out

    def window_due(self) -> dt.date | None:
        return next((t.due_on for t in self.open_tasks if t.kind == "window"), None)


def build_context(
    conn: Connection, case: Any, spec: ProcessSpec, actor: Actor, now: dt.datetime
) -> CaseContext:
    rows = HOT.units.all(conn, unit_params(case.org_path))
    units = {r.tier: Unit(*r) for r in rows}
    tasks = HOT.open_tasks.all(conn, {"case_id": case.id})
    return CaseContext(
        case=case,
        spec=spec,
        actor=actor,
        now=now,
        today=local_date(now),
        units=units,
        policy=policy_for(spec, units["province"].settings),
        open_tasks=[t for t in tasks if t.status == "open"],
        data=dict(case.data),
        waiting=[t for t in tasks if t.status == "waiting"],
    )
