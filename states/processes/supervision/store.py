"""Supervision against the store: the campaign behind a case, the units a campaign may draw,
the inspector pool with each member's own units, and who stands where towards a campaign.
One statement each, set-based; the package's other modules read through these."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, or_, select

from states.org import INSPECTOR, OFFICER_OF_TIER, SYSTEM, Actor
from states.processes.supervision.draw import PoolMember, ScopeUnit
from states.processes.supervision.tables import (
    SupervisionAssignment,
    SupervisionCampaign,
    SupervisionFinding,
    SupervisionPool,
    SupervisionScope,
    SupervisionTarget,
)
from states.store.models import (
    Attachment,
    Case,
    OrgUnit,
    Person,
    RoleBinding,
    Task,
    Teacher,
    table_of,
)

campaigns_t, scope_t, pool_t = (
    table_of(SupervisionCampaign), table_of(SupervisionScope), table_of(SupervisionPool)
)  # fmt: skip
targets_t, assignments_t, findings_t = (
    table_of(SupervisionTarget), table_of(SupervisionAssignment), table_of(SupervisionFinding)
)  # fmt: skip
units_t, people_t, bindings_t = table_of(OrgUnit), table_of(Person), table_of(RoleBinding)
teachers_t, cases_t, tasks_t = table_of(Teacher), table_of(Case), table_of(Task)
attachments_t = table_of(Attachment)

# Who runs and reads a campaign besides its inspectors: the personnel officers and leaders
# of the organising unit and the units above it.
OVERSEEING = frozenset({*OFFICER_OF_TIER.values(), "leader", SYSTEM})


def campaign_of_case(conn: Connection, case_id: int, *, lock: bool = False) -> Any:
    """The campaign a campaign case runs (locked: the steps that write its draw)."""
    query = select(campaigns_t).where(campaigns_t.c.case_id == case_id)
    return conn.execute(query.with_for_update() if lock else query).one()


def unit(conn: Connection, unit_id: int) -> Any:
    return conn.execute(
        select(units_t.c.id, units_t.c.name, units_t.c.tier, units_t.c.path, units_t.c.parent_id)
        .where(units_t.c.id == unit_id)
    ).one()  # fmt: skip


def scope_units(
    conn: Connection, organiser_path: str, counties: Sequence[str] | None
) -> list[ScopeUnit]:
    """The open schools under the organiser, or under the listed counties (their paths)."""
    under = [organiser_path] if not counties else list(counties)
    rows = conn.execute(
        select(units_t.c.id, units_t.c.path, units_t.c.name).where(
            units_t.c.tier == "school",
            units_t.c.closed_on.is_(None),
            or_(*(units_t.c.path.startswith(p, autoescape=True) for p in under)),
        )
    )
    return [ScopeUnit(int(r.id), str(r.path), str(r.name)) for r in rows]


def own_paths(
    conn: Connection, person_ids: Iterable[int], organiser_path: str
) -> dict[int, tuple[str, ...]]:
    """Each person's own units: the school their teacher record is at, and every unit they
    hold the inspector role at strictly below the organiser (a binding at the organiser or
    above ties them to no one school)."""
    ids = sorted(set(person_ids))
    out: dict[int, set[str]] = {p: set() for p in ids}
    if not ids:
        return {}
    for r in conn.execute(
        select(teachers_t.c.person_id, units_t.c.path)
        .join(units_t, units_t.c.id == teachers_t.c.school_id)
        .where(teachers_t.c.person_id.in_(ids))
    ):
        out[int(r.person_id)].add(str(r.path))
    for r in conn.execute(
        select(bindings_t.c.person_id, units_t.c.path)
        .join(units_t, units_t.c.id == bindings_t.c.org_unit_id)
        .where(bindings_t.c.person_id.in_(ids), bindings_t.c.role == INSPECTOR)
    ):
        path = str(r.path)
        if path != organiser_path and path.startswith(organiser_path):
            out[int(r.person_id)].add(path)
    return {p: tuple(sorted(paths)) for p, paths in out.items()}


def pool_members(conn: Connection, organiser_path: str) -> list[PoolMember]:
    """Everyone holding the inspector role in the organiser's subtree, with their own units."""
    rows = conn.execute(
        select(people_t.c.id, people_t.c.name)
        .join(bindings_t, bindings_t.c.person_id == people_t.c.id)
        .join(units_t, units_t.c.id == bindings_t.c.org_unit_id)
        .where(
            bindings_t.c.role == INSPECTOR,
            people_t.c.active.is_(True),
            units_t.c.path.startswith(organiser_path, autoescape=True),
        )
        .distinct()
    ).all()
    own = own_paths(conn, [int(r.id) for r in rows], organiser_path)
    return [PoolMember(int(r.id), own[int(r.id)], str(r.name)) for r in rows]


def stored_inputs(conn: Connection, campaign_id: int) -> tuple[list[ScopeUnit], list[PoolMember]]:
    """The draw's inputs as they were kept when it was drawn."""
    units = [
        ScopeUnit(int(r.unit_id), str(r.path), str(r.name))
        for r in conn.execute(
            select(scope_t.c.unit_id, scope_t.c.path, units_t.c.name)
            .join(units_t, units_t.c.id == scope_t.c.unit_id)
            .where(scope_t.c.campaign_id == campaign_id)
        )
    ]
    pool = [
        PoolMember(int(r.person_id), tuple(r.own or ()), str(r.name))
        for r in conn.execute(
            select(pool_t.c.person_id, pool_t.c.own, people_t.c.name)
            .join(people_t, people_t.c.id == pool_t.c.person_id)
            .where(pool_t.c.campaign_id == campaign_id)
        )
    ]
    return units, pool


def assignments(conn: Connection, campaign_id: int) -> list[Any]:
    """Each (target, inspector) of the campaign with their names, by target."""
    return list(
        conn.execute(
            select(
                assignments_t.c.unit_id,
                units_t.c.name.label("unit"),
                assignments_t.c.inspector_id,
                people_t.c.name.label("inspector"),
            )
            .join(units_t, units_t.c.id == assignments_t.c.unit_id)
            .join(people_t, people_t.c.id == assignments_t.c.inspector_id)
            .where(assignments_t.c.campaign_id == campaign_id)
            .order_by(assignments_t.c.unit_id, assignments_t.c.inspector_id)
        )
    )


def is_drawn(conn: Connection, campaign_id: int, person_id: int | None) -> bool:
    if person_id is None:
        return False
    found = conn.execute(
        select(assignments_t.c.unit_id)
        .where(
            assignments_t.c.campaign_id == campaign_id,
            assignments_t.c.inspector_id == person_id,
        )
        .limit(1)
    ).first()
    return found is not None


def oversees(actor: Actor, organiser_path: str) -> bool:
    """An officer or leader of the organising unit or one above it."""
    return any(
        b.role in OVERSEEING and organiser_path.startswith(b.unit_path) for b in actor.bindings
    )


def inspects_over(actor: Actor, organiser_path: str) -> bool:
    """An inspector bound at the organising unit or one above it."""
    return any(
        b.role == INSPECTOR and organiser_path.startswith(b.unit_path) for b in actor.bindings
    )
