"""Who someone is, as the engine needs it: their role bindings with each unit's path."""

from __future__ import annotations

from sqlalchemy import Connection, select

from states.errors import NotFound
from states.org import TEACHER, Actor, Binding
from states.store.models import OrgUnit, Person, RoleBinding, Teacher


def load_actor(
    conn: Connection, *, person_id: int | None = None, username: str | None = None
) -> Actor:
    """The actor for a person, with the teacher role following their teacher record."""
    query = select(Person.id, Person.name)
    if person_id is not None:
        query = query.where(Person.id == person_id)
    elif username is not None:
        query = query.where(Person.username == username)
    else:
        raise ValueError("person_id or username")
    person = conn.execute(query).one_or_none()
    if person is None:
        raise NotFound(f"用户不存在：{username or person_id}")
    bindings = [
        Binding(r.role, r.org_unit_id, r.path, r.subject)
        for r in conn.execute(
            select(RoleBinding.role, RoleBinding.org_unit_id, OrgUnit.path, RoleBinding.subject)
            .join(OrgUnit, OrgUnit.id == RoleBinding.org_unit_id)
            .where(RoleBinding.person_id == person.id)
            .order_by(RoleBinding.id)
        )
    ]
    school = conn.execute(
        select(Teacher.school_id, OrgUnit.path)
        .join(OrgUnit, OrgUnit.id == Teacher.school_id)
        .where(Teacher.person_id == person.id)
    ).one_or_none()
    if school is not None:
        bindings.insert(0, Binding(TEACHER, school.school_id, school.path))
    return Actor(person.id, person.name, tuple(bindings))
