"""Applying a process's :class:`~states.process.visibility.Visibility` to one reader.

Every adapter that shows a case — the API's case and audit endpoints, the case page, the
exports, the notices — asks :func:`viewer_of` where its reader stands and passes what it
shows through :func:`shown_data`, :func:`shown_event` and :func:`shown_task`. The rules are
declared by the blocks and processes; this module only works out the reader's standing and
applies them, so the same person sees the same fields whichever door they come through.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection

from states.blocks.panel import PANEL_ROLES
from states.org import INSPECTOR, LEADER, OFFICER_OF_TIER, SYSTEM, Actor
from states.process.spec import ProcessSpec
from states.process.visibility import EVERYONE, Audience, Shown, Visibility
from states.store import queries

OFFICER_ROLES: Final = frozenset({*OFFICER_OF_TIER.values(), LEADER})
# How a committee member appears to someone who may not know who sits on it.
ANONYMOUS_MEMBER: Final = "评审委员会委员"


@dataclass(frozen=True)
class Viewer:
    """One person reading one case: where they stand, and the committee members whose names
    they may not learn (empty for those who answer for the committee)."""

    audiences: frozenset[Audience]
    person_id: int | None
    hidden: frozenset[int] = frozenset()

    def may(self, shown: Shown) -> bool:
        return not self.audiences.isdisjoint(shown.to)

    def hides(self, person_id: Any) -> bool:
        return (
            isinstance(person_id, int)
            and person_id in self.hidden
            and (person_id != self.person_id)
        )


# Everyone at once: the system, and the applicant-facing notice written by the engine itself.
OMNISCIENT: Final = Viewer(EVERYONE, None)
APPLICANT_VIEW: Final = Viewer(frozenset({Audience.APPLICANT}), None)


def viewer_of(
    case: Mapping[str, Any],
    actor: Actor,
    spec: ProcessSpec,
    tasks: Sequence[Mapping[str, Any]],
    copied: bool,
) -> Viewer:
    """Where ``actor`` stands towards ``case`` (a row with id, org_path, applicant_id), given
    every task of the case (with ``unit_path``) and whether it was copied to them."""
    if actor.holds(SYSTEM):
        return OMNISCIENT
    me = actor.person_id
    path = case["org_path"]
    panel = {t["assignee_id"] for t in tasks if t["role"] in PANEL_ROLES} - {None}
    panel_paths = {t["unit_path"] for t in tasks if t["role"] in PANEL_ROLES}
    found: set[Audience] = set()
    if me is not None:
        if me == case["applicant_id"]:
            found.add(Audience.APPLICANT)
        if me in panel:
            found.add(Audience.PANEL)
        if any(t["assignee_id"] == me and t["role"] not in PANEL_ROLES for t in tasks):
            found.add(Audience.HANDLER)
        if copied:
            found.add(Audience.COPIED)
    for b in actor.bindings:
        if not path.startswith(b.unit_path):
            continue
        if b.role in OFFICER_ROLES:
            found.add(Audience.OFFICER)
            if any(p is not None and p.startswith(b.unit_path) for p in panel_paths):
                found.add(Audience.ORGANISER)
        elif b.role == INSPECTOR:
            found.add(Audience.INSPECTOR)
        else:
            found.add(Audience.READER)
    audiences = frozenset(found)
    anonymous = spec.visibility.anonymous
    knows_panel = anonymous is None or not audiences.isdisjoint(anonymous)
    return Viewer(audiences, me, frozenset() if knows_panel else frozenset(panel))


def _filtered(
    declared: Mapping[str, Shown], values: Mapping[str, Any], viewer: Viewer
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        rule = declared.get(key)
        if rule is None or viewer.may(rule):
            out[key] = value
        elif rule.others is not None:
            out[key] = rule.others(value)
    return out


def shown_data(vis: Visibility, data: Mapping[str, Any], viewer: Viewer) -> dict[str, Any]:
    """The case's data as ``viewer`` may see it."""
    return _filtered(vis.data, data, viewer)


def shown_payload(vis: Visibility, payload: Mapping[str, Any], viewer: Viewer) -> dict[str, Any]:
    """One audit payload as ``viewer`` may see it (also what a notice may quote from it).

    A correction's ``before`` (the old values of the fields it changed) is cut field by field
    by the same declaration as the fields themselves: who may not read a field reads neither
    its new value nor its old one."""
    out = _filtered(vis.payload, payload, viewer)
    before = out.get("before")
    if isinstance(before, Mapping):
        was = _filtered(vis.payload, before, viewer)
        if was:
            out["before"] = was
        else:
            del out["before"]
    return out


def shown_record(vis: Visibility, record: Mapping[str, Any], viewer: Viewer) -> dict[str, Any]:
    """The applicant's record (keyed as ``Visibility.record`` names it) as ``viewer`` may
    read it beside the case. Unlike a case's own keys, a record key nobody declared is left
    out for everyone."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        rule = vis.record.get(key)
        if rule is None:
            if key in vis.record_open:
                out[key] = value
        elif viewer.may(rule):
            out[key] = value
        elif rule.others is not None:
            out[key] = rule.others(value)
    return out


def shown_event(vis: Visibility, event: Mapping[str, Any], viewer: Viewer) -> dict[str, Any]:
    """An audit row (actor_id, actor_label, payload as a mapping) as ``viewer`` may see it:
    restricted payload fields left out, a committee member's name replaced. ``redacted``
    says that something was left out, so a reader knows the row is not all there is."""
    payload = event["payload"]
    shown = shown_payload(vis, payload, viewer)
    out = {**event, "payload": shown, "redacted": shown != payload}
    if viewer.hides(event["actor_id"]):
        out.update(actor_id=None, actor_label=ANONYMOUS_MEMBER, redacted=True)
    return out


def shown_task(task: Mapping[str, Any], viewer: Viewer) -> dict[str, Any]:
    """A task row as ``viewer`` may see it: a committee seat names nobody to the others."""
    if viewer.hides(task.get("assignee_id")):
        return {**task, "assignee_id": None, "assignee_name": ANONYMOUS_MEMBER}
    return dict(task)


@dataclass(frozen=True)
class CaseFile:
    """One case as one person may read it: what every adapter shows, already filtered."""

    row: dict[str, Any]  # the case row with unit_name and applicant_name
    spec: ProcessSpec
    viewer: Viewer
    data: dict[str, Any]
    tasks: list[dict[str, Any]]  # open and waiting tasks
    trail: list[dict[str, Any]]  # audit rows, payloads decoded; empty unless asked for
    unread_copy: bool = False  # it was copied to the reader, who has not opened it yet


def case_file(
    conn: Connection,
    processes: Mapping[str, ProcessSpec],
    actor: Actor,
    case_id: int,
    *,
    with_trail: bool = False,
) -> CaseFile | None:
    """``case_id`` as ``actor`` may read it, or None where they may not read it at all (the
    same None for a case that does not exist, so a probe learns nothing). Three reads — the
    case, its tasks, a copy to the reader — and the trail when asked for."""
    row = queries.get_case(conn, actor, case_id)
    if row is None:
        return None
    spec = processes[row["process"]]
    events = queries.audit_trail(conn, case_id) if with_trail else []
    tasks = queries.case_tasks(conn, case_id)
    copied, unread = queries.copy_of(conn, case_id, actor)
    viewer = viewer_of(row, actor, spec, tasks, copied)
    vis = spec.visibility
    trail = [shown_event(vis, {**e, "payload": _decoded(e["payload"])}, viewer) for e in events]
    return CaseFile(
        row=row,
        spec=spec,
        viewer=viewer,
        data=shown_data(vis, row["data"] or {}, viewer),
        tasks=[shown_task(t, viewer) for t in tasks if t["status"] in queries.OPEN_STATUSES],
        trail=trail,
        unread_copy=unread,
    )


def _decoded(payload: Any) -> dict[str, Any]:
    value = json.loads(payload) if isinstance(payload, str) else payload
    return value if isinstance(value, dict) else {}
