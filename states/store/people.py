"""Who someone is, as the engine needs it: their role bindings with each unit's path."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CompoundSelect, Connection, String, bindparam, literal, select, union_all

from states.errors import NotFound
from states.org import TEACHER, Actor, Binding
from states.store.models import OrgUnit, Person, RoleBinding, Teacher

_PERSON = select(Person.id, Person.name, Person.active)
PERSON_BY_ID = _PERSON.where(Person.id == bindparam("person_id"))
PERSON_BY_USERNAME = _PERSON.where(Person.username == bindparam("username"))
# The teacher role follows the teacher record; then the role bindings, each with its unit's
# path. Built once: every signed-in request runs it.
BINDINGS: CompoundSelect[Any] = union_all(
    select(
        literal(0).label("k"),
        literal(0).label("n"),
        literal(TEACHER).label("role"),
        Teacher.school_id.label("org_unit_id"),
        OrgUnit.path,
        literal(None, String).label("subject"),
    )
    .join(OrgUnit, OrgUnit.id == Teacher.school_id)
    .where(Teacher.person_id == bindparam("person_id")),
    select(
        literal(1).label("k"),
        RoleBinding.id.label("n"),
        RoleBinding.role,
        RoleBinding.org_unit_id,
        OrgUnit.path,
        RoleBinding.subject,
    )
    .join(OrgUnit, OrgUnit.id == RoleBinding.org_unit_id)
    .where(RoleBinding.person_id == bindparam("person_id")),
).order_by("k", "n")


def load_actor(
    conn: Connection,
    *,
    person_id: int | None = None,
    username: str | None = None,
    active_only: bool = False,
) -> Actor:
    """The actor for a person, with the teacher role following their teacher record.

    Two statements: the person, then their bindings and teacher record in one union, since
    every signed-in request pays for this. ``active_only`` makes a disabled account look
    like an unknown one, so it loses access at once whatever credentials it still holds.
    """
    if person_id is not None:
        person = conn.execute(PERSON_BY_ID, {"person_id": person_id}).one_or_none()
    elif username is not None:
        person = conn.execute(PERSON_BY_USERNAME, {"username": username}).one_or_none()
    else:
        raise ValueError("person_id or username")
    if person is None or (active_only and not person.active):
        raise NotFound(f"用户不存在：{username or person_id}")
    rows: list[Any] = list(conn.execute(BINDINGS, {"person_id": person.id}))
    bindings = tuple(Binding(r.role, r.org_unit_id, r.path, r.subject) for r in rows)
    return Actor(person.id, person.name, bindings)
