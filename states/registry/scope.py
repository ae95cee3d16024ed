"""Who may change the bureau's own data, and where: the personnel officer of a unit manages
the units, teachers, accounts, quotas and expert pools of that unit's subtree (a county
edits its own schools, never a neighbour's). One rule for every registry page, API route and
CLI command, so the scope of an edit is decided here and nowhere else.

Outside one's scope is "not found" (404), never "forbidden": an officer does not learn which
schools or teachers exist beyond their county by probing ids.
"""

from __future__ import annotations

from states.errors import NotFound
from states.org import (
    CITY_OFFICER,
    COUNTY_OFFICER,
    PROVINCE_OFFICER,
    SCHOOL_OFFICER,
    Actor,
    Binding,
    in_scope,
)

MANAGERS = frozenset({SCHOOL_OFFICER, COUNTY_OFFICER, CITY_OFFICER, PROVINCE_OFFICER})
TIER_RANK = {"province": 0, "city": 1, "county": 2, "school": 3}
# The role an officer of each tier holds, and so the tiers whose roles they may grant: an
# officer grants roles at units in their subtree, never above it.
MANAGER_TIER = {
    PROVINCE_OFFICER: "province",
    CITY_OFFICER: "city",
    COUNTY_OFFICER: "county",
    SCHOOL_OFFICER: "school",
}


# Who loads a province before anyone has an account (the command line without --as, the demo
# seed): an officer over the whole tree, the province unit included.
OPERATOR = Actor(None, "系统管理员", (Binding(PROVINCE_OFFICER, 0, "/"),))


def managed_paths(actor: Actor) -> list[str]:
    """The subtree paths whose data this actor manages (empty: none)."""
    return [b.unit_path for b in actor.bindings if b.role in MANAGERS]


def manages(actor: Actor, unit_path: str) -> bool:
    return any(in_scope(p, unit_path) for p in managed_paths(actor))


def require_manages(actor: Actor, unit_path: str, what: str = "单位") -> None:
    """Refuse (as not found) a change to data outside the actor's subtree."""
    if not manages(actor, unit_path):
        raise NotFound(f"{what}不存在或不在您的管理范围内")


def is_manager(actor: Actor) -> bool:
    return bool(managed_paths(actor))
