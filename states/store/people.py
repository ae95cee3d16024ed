"""Who someone is, as the engine needs it: their role bindings with each unit's path; and the
changes to a person that must end the sessions and tokens they hold."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Connection,
    String,
    bindparam,
    delete,
    literal,
    select,
    union_all,
    update,
)

from states.errors import NotFound
from states.org import TEACHER, Actor, Binding
from states.store.models import OrgUnit, Person, RoleBinding, Teacher, table_of

people_t, bindings_t = table_of(Person), table_of(RoleBinding)

_PERSON = select(Person.id, Person.name, Person.active, Person.session_generation)
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
NEXT_GENERATION = (
    update(people_t)
    .where(people_t.c.id == bindparam("person_id"))
    .values(session_generation=people_t.c.session_generation + 1)
    .returning(people_t.c.session_generation)
)


def load_actor(
    conn: Connection,
    *,
    person_id: int | None = None,
    username: str | None = None,
    active_only: bool = False,
    generation: int | None = None,
) -> Actor:
    """The actor for a person, with the teacher role following their teacher record.

    Two statements: the person, then their bindings and teacher record in one union, since
    every signed-in request pays for this. ``active_only`` makes a disabled account look
    like an unknown one, so it loses access at once whatever credentials it still holds;
    ``generation`` (the one a session or token was issued under) does the same for a
    credential that sign-out, a new password or a lost role has ended since.
    """
    if person_id is not None:
        person = conn.execute(PERSON_BY_ID, {"person_id": person_id}).one_or_none()
    elif username is not None:
        person = conn.execute(PERSON_BY_USERNAME, {"username": username}).one_or_none()
    else:
        raise ValueError("person_id or username")
    if (
        person is None
        or (active_only and not person.active)
        or (generation is not None and person.session_generation != generation)
    ):
        raise NotFound(f"用户不存在：{username or person_id}")
    rows: list[Any] = list(conn.execute(BINDINGS, {"person_id": person.id}))
    bindings = tuple(Binding(r.role, r.org_unit_id, r.path, r.subject) for r in rows)
    return Actor(person.id, person.name, bindings)


# --- changes that end every session -------------------------------------------------------------
# Each runs inside the caller's transaction, so that the change and the end of the sessions
# it invalidates commit together: there is no moment where one is written without the other.


def end_sessions(conn: Connection, person_id: int) -> int:
    """Make every session cookie and bearer token the person holds useless at once, and
    return the new generation (for the one fresh session the caller may hand out)."""
    generation = conn.execute(NEXT_GENERATION, {"person_id": person_id}).scalar_one_or_none()
    if generation is None:
        raise NotFound(f"用户不存在：{person_id}")
    return int(generation)


def set_password(
    conn: Connection, person_id: int, password_hash: str, *, must_change: bool = False
) -> int:
    """A new password (already hashed); whoever signed in with the old one is signed out.
    ``must_change``: a temporary one an officer hands over, to be replaced at the next
    sign-in; a password the person chose themself clears that."""
    conn.execute(
        update(people_t)
        .where(people_t.c.id == person_id)
        .values(password_hash=password_hash, must_change_password=must_change)
    )
    return end_sessions(conn, person_id)


def set_active(conn: Connection, person_id: int, active: bool) -> None:
    """Disable (or enable again) an account; disabling ends its sessions."""
    conn.execute(update(people_t).where(people_t.c.id == person_id).values(active=active))
    if not active:
        end_sessions(conn, person_id)


def remove_binding(conn: Connection, person_id: int, role: str, unit_id: int) -> bool:
    """Take a role at a unit away; False if the person did not hold it. The person signs in
    again to go on with what is left, so no page keeps showing what the role allowed."""
    removed = conn.execute(
        delete(bindings_t).where(
            bindings_t.c.person_id == person_id,
            bindings_t.c.role == role,
            bindings_t.c.org_unit_id == unit_id,
        )
    ).rowcount
    if removed:
        end_sessions(conn, person_id)
    return bool(removed)
