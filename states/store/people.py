"""Who someone is, as the engine needs it: their role bindings with each unit's path."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, String, literal, select, union_all

from states.errors import NotFound
from states.org import TEACHER, Actor, Binding
from states.store.models import OrgUnit, Person, RoleBinding, Teacher


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
    query = select(Person.id, Person.name, Person.active)
    if person_id is not None:
        query = query.where(Person.id == person_id)
    elif username is not None:
        query = query.where(Person.username == username)
    else:
        raise ValueError("person_id or username")
    person = conn.execute(query).one_or_none()
    if person is None or (active_only and not person.active):
        raise NotFound(f"用户不存在：{username or person_id}")
    teaching = (
        select(
            literal(0).label("k"),
            literal(0).label("n"),
            literal(TEACHER).label("role"),
            Teacher.school_id.label("org_unit_id"),
            OrgUnit.path,
            literal(None, String).label("subject"),
        )
        .join(OrgUnit, OrgUnit.id == Teacher.school_id)
        .where(Teacher.person_id == person.id)
    )
    bound = (
        select(
            literal(1).label("k"),
            RoleBinding.id.label("n"),
            RoleBinding.role,
            RoleBinding.org_unit_id,
            OrgUnit.path,
            RoleBinding.subject,
        )
        .join(OrgUnit, OrgUnit.id == RoleBinding.org_unit_id)
        .where(RoleBinding.person_id == person.id)
    )
    rows: list[Any] = list(conn.execute(union_all(teaching, bound).order_by("k", "n")))
    bindings = tuple(Binding(r.role, r.org_unit_id, r.path, r.subject) for r in rows)
    return Actor(person.id, person.name, bindings)
