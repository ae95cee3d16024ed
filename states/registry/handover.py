"""A teacher who leaves the school — transferred, retired, departed or deceased — leaves the
work named to them behind: it goes back to the role at its unit (the other holders see it in
their inbox), each move an audit event on its case. The roster's personnel moves call this in
the same transaction as the record's change (``states.registry.roster.on_teacher_left``), so
no task is left addressed to someone who can no longer do it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection

from states.clock import local_date
from states.engine.reassign import reassign
from states.org import SYSTEM_ACTOR, Actor
from states.registry.delegation import end_acting, plan_release
from states.registry.staff import names


def on_teacher_left(
    conn: Connection, person_id: int, at: dt.datetime, actor: Actor = SYSTEM_ACTOR
) -> int:
    """Hand the departed teacher's named work back to the roles it belongs to and end the
    delegations they were part of. Returns the cases touched."""
    moves, _stuck = plan_release(conn, person_id, local_date(at), leaving=True)
    who = names(conn, {person_id}).get(person_id, "该教师")
    touched = reassign(conn, moves, actor, at, f"{who}已离开原岗位，待办退回该角色办理")
    end_acting(conn, at, person_id, own=True)
    return touched
