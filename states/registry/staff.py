"""A person as the registry keeps them: the units they belong to, who manages their account,
which roles may be bound where. Read by the account operations (``accounts``) and the
delegations (``delegation``), so that both decide "whose account is this" the same way.

A person belongs to the units of their role bindings, the school of their teacher record,
and the unit their account was created at (``people.unit_id``, the only one left once every
role is gone — a person who left stays with the bureau that kept them). The rule of who may
change data at a unit is ``states.registry.scope``'s; this module only applies it to a
person's units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, union_all

from states.errors import FormError, NotFound, PermissionDenied
from states.org import (
    CITY_OFFICER,
    COUNTY_OFFICER,
    PRINCIPAL,
    PROVINCE_OFFICER,
    PUBLIC,
    ROLE_LABELS,
    SCHOOL_OFFICER,
    SYSTEM,
    TEACHER,
    TIER_LABELS,
    Actor,
)
from states.registry.scope import manages
from states.store.models import OrgUnit, Person, RoleBinding, Teacher, table_of

people_t, bindings_t, units_t, teachers_t = (
    table_of(Person),
    table_of(RoleBinding),
    table_of(OrgUnit),
    table_of(Teacher),
)

# Roles an officer binds to a person at a unit (the teacher role follows the teacher record).
BOUND_ROLES = tuple(r for r in ROLE_LABELS if r not in {TEACHER, PUBLIC, SYSTEM})
# Staff who may hold another's work: an acting holder (代理人) or a successor (接任人).
STAFF_ROLES = frozenset({SCHOOL_OFFICER, PRINCIPAL, COUNTY_OFFICER, CITY_OFFICER, PROVINCE_OFFICER})
# The tier a unit must have for the role to be bound there; roles not named go anywhere.
ROLE_TIERS = {
    SCHOOL_OFFICER: "school",
    PRINCIPAL: "school",
    COUNTY_OFFICER: "county",
    CITY_OFFICER: "city",
    PROVINCE_OFFICER: "province",
}
NOT_FOUND = "人员不存在或不在您的管理范围内"


def label(role: str) -> str:
    return ROLE_LABELS.get(role, role)


@dataclass(frozen=True)
class Unit:
    id: int
    code: str
    name: str
    tier: str
    path: str


def may_manage(actor: Actor, unit_path: str) -> bool:
    """``scope.manages``, and the server's own administrator (the CLI run as the system)
    who keeps every account."""
    return actor.holds(SYSTEM) or manages(actor, unit_path)


def person_paths(conn: Connection, person_id: int) -> tuple[list[str], str | None]:
    """(the paths of the units the person works at — roles and teacher record —, the path of
    the unit their account was created at or None)."""
    rows = conn.execute(
        union_all(
            select(units_t.c.path)
            .join(bindings_t, bindings_t.c.org_unit_id == units_t.c.id)
            .where(bindings_t.c.person_id == person_id),
            select(units_t.c.path)
            .join(teachers_t, teachers_t.c.school_id == units_t.c.id)
            .where(teachers_t.c.person_id == person_id),
        )
    ).scalars()
    home = conn.execute(
        select(units_t.c.path)
        .join(people_t, people_t.c.unit_id == units_t.c.id)
        .where(people_t.c.id == person_id)
    ).scalar()
    return sorted(set(rows)), home


def person(conn: Connection, person_id: int) -> Any:
    row = conn.execute(select(people_t).where(people_t.c.id == person_id)).one_or_none()
    if row is None:
        raise NotFound(NOT_FOUND)
    return row


def require_person(conn: Connection, actor: Actor, person_id: int, *, whole: bool = False) -> Any:
    """The person's row if ``actor`` manages them: any of their units in the actor's subtree
    (404 otherwise, exactly like an unknown id). ``whole``: a change to the account itself
    (password, disabling, leaving), which needs every unit they work at in the subtree, so
    that a county cannot switch off someone a neighbour or the city also relies on."""
    row = person(conn, person_id)
    if actor.holds(SYSTEM):
        return row
    paths, home = person_paths(conn, person_id)
    kept = [home] if home else []
    if not any(may_manage(actor, p) for p in paths + kept):
        raise NotFound(NOT_FOUND)
    if whole and not all(may_manage(actor, p) for p in paths or kept):
        raise PermissionDenied(
            "此人在您管辖范围以外的单位另有任职，停用、重置密码和离职转办须由共同的上级单位办理"
        )
    return row


def unit_by(conn: Connection, *, unit_id: int | None = None, code: str | None = None) -> Unit:
    query = select(units_t.c.id, units_t.c.code, units_t.c.name, units_t.c.tier, units_t.c.path)
    if unit_id is not None:
        row = conn.execute(query.where(units_t.c.id == unit_id)).one_or_none()
    else:
        row = conn.execute(query.where(units_t.c.code == (code or "").strip())).one_or_none()
    if row is None:
        raise NotFound("单位不存在或不在您的管理范围内")
    return Unit(*row)


def require_unit(
    conn: Connection,
    actor: Actor,
    *,
    unit_id: int | None = None,
    code: str | None = None,
    field: str = "unit_id",
) -> Unit:
    """A unit the actor manages, or FormError on ``field`` (an unknown code and one outside
    the subtree read the same)."""
    try:
        unit = unit_by(conn, unit_id=unit_id, code=code)
    except NotFound as exc:
        raise FormError(field, exc.message) from None
    if not may_manage(actor, unit.path):
        raise FormError(field, "单位不存在或不在您的管理范围内")
    return unit


def role_problem(role: str, unit: Unit) -> str | None:
    """Why ``role`` cannot be bound at ``unit``, or None."""
    if role == TEACHER:
        return "教师角色随教师档案所在学校，不在此授予"
    if role not in BOUND_ROLES:
        return f"角色不存在：{role}"
    tier = ROLE_TIERS.get(role)
    if tier is not None and unit.tier != tier:
        return f"“{label(role)}”只能授予{TIER_LABELS[tier]}级单位，{unit.name}不是"
    return None


def role_code(text: str) -> str:
    """A role by its code or its Chinese label ("学校人事干部"); ValueError otherwise."""
    value = text.strip()
    if value in BOUND_ROLES:
        return value
    for code in BOUND_ROLES:
        if ROLE_LABELS[code] == value:
            return code
    if value in (TEACHER, ROLE_LABELS[TEACHER]):
        raise ValueError("教师角色随教师档案所在学校，不在此授予")
    names = "、".join(ROLE_LABELS[r] for r in BOUND_ROLES)
    raise ValueError(f"角色不存在：{value}（可填：{names}）")


def names(conn: Connection, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = conn.execute(select(people_t.c.id, people_t.c.name).where(people_t.c.id.in_(ids)))
    return {r.id: r.name for r in rows}


def holders(conn: Connection, role: str, unit_id: int, *, besides: int | None = None) -> int:
    """How many active people hold ``role`` at the unit (other than ``besides``)."""
    query = (
        select(func.count())
        .select_from(bindings_t)
        .join(people_t, people_t.c.id == bindings_t.c.person_id)
        .where(
            bindings_t.c.role == role,
            bindings_t.c.org_unit_id == unit_id,
            people_t.c.active.is_(True),
        )
    )
    if besides is not None:
        query = query.where(bindings_t.c.person_id != besides)
    return int(conn.execute(query).scalar_one())


def staff_paths(conn: Connection, person_id: int) -> list[str]:
    """Where the person holds a staff role (officer or principal): the units whose work an
    acting holder or successor may take on."""
    return list(
        conn.execute(
            select(units_t.c.path)
            .join(bindings_t, bindings_t.c.org_unit_id == units_t.c.id)
            .where(bindings_t.c.person_id == person_id, bindings_t.c.role.in_(STAFF_ROLES))
        ).scalars()
    )
