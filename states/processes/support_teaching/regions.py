"""Paired regions (对口支援地区): a city supports a county far away (Xinjiang, Tibet …) by
sending its teachers there. The region is a county-tier unit of the org tree placed under
the pairing city, so its schools, officers and cases live in the city's subtree like any
county's; registering it here makes its schools receiving schools whose needs the city
approves and staffs from all its counties.

A city pairs a county-tier unit directly under it that is not closed and not registered
yet: either one it creates here, or one already in the org tree (``pairable`` lists those,
for the page's choice; ``register_region`` refuses any other, naming ``unit_id``).

Rows: ``RegionRow(unit_id, code, name, city_id, city, schools, registered_at)``;
``Pairable(unit_id, code, name)``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, func, insert, select

from states.errors import Conflict, FormError, PermissionDenied
from states.org import CITY_OFFICER, PROVINCE_OFFICER, SYSTEM, Actor
from states.processes.support_teaching.tables import SupportRegion
from states.registry import org_tree
from states.store.models import OrgUnit, table_of

regions_t, units_t = table_of(SupportRegion), table_of(OrgUnit)


@dataclass(frozen=True)
class RegionRow:
    unit_id: int
    code: str
    name: str
    city_id: int
    city: str
    schools: int
    registered_at: dt.datetime


@dataclass(frozen=True)
class Pairable:
    """A unit of the org tree the city may register as a paired region."""

    unit_id: int
    code: str
    name: str


def _city(conn: Connection, actor: Actor) -> tuple[int, str, str]:
    """(id, code, path) of the city the actor is the personnel officer of."""
    binding = next((b for b in actor.bindings if b.role == CITY_OFFICER), None)
    if binding is None:
        raise PermissionDenied("对口支援地区须由市教育局人事处登记")
    row = conn.execute(
        select(units_t.c.id, units_t.c.code, units_t.c.path, units_t.c.tier).where(
            units_t.c.id == binding.unit_id
        )
    ).one()
    if row.tier != "city":
        raise PermissionDenied("对口支援地区须由市教育局人事处登记")
    return int(row.id), str(row.code), str(row.path)


def register_region(
    conn: Connection,
    actor: Actor,
    name: str,
    *,
    at: dt.datetime,
    code: str | None = None,
    unit_id: int | None = None,
) -> int:
    """Register a paired region of the actor's city, in the caller's transaction; returns
    its unit id. ``unit_id``: a county-tier unit already under the city (made through the
    org tree; it keeps its code, so none is given; ``name``, if given, is the region's name
    on the lists); otherwise one is created there with ``name`` and ``code`` (the org tree's
    own checks and history)."""
    city_id, city_code, city_path = _city(conn, actor)
    name = (name or "").strip()
    if unit_id is None:
        if not name:
            raise FormError("name", "地区名称不能为空")
        if not code:
            count = conn.execute(
                select(func.count()).where(regions_t.c.city_id == city_id)
            ).scalar_one()
            code = f"{city_code}-ZY{int(count) + 1:02d}"
        unit = org_tree.create_unit(
            conn, actor, at=at, code=code, name=name, tier="county", parent_code=city_code
        )
    else:
        if code:
            raise FormError("code", "登记已有单位时不填单位代码（沿用该单位的代码）")
        found = org_tree.find_unit(conn, unit_id)
        if found is None or not found.path.startswith(city_path):
            raise FormError("unit_id", "单位不存在或不在本市")
        if found.tier != "county" or found.parent_id != city_id:
            raise FormError(
                "unit_id", f"{found.name}不是本市直属的县级单位，不能登记为对口支援地区"
            )
        if found.closed:
            raise FormError("unit_id", f"{found.name}已撤销")
        unit = found
        name = name or unit.name
    taken = conn.execute(select(regions_t.c.unit_id).where(regions_t.c.unit_id == unit.id)).first()
    if taken is not None:
        raise Conflict(f"{unit.name}已登记为对口支援地区", field="unit_id")
    conn.execute(
        insert(regions_t).values(
            unit_id=unit.id, city_id=city_id, name=name[:128], registered_at=at,
            registered_by=actor.person_id,
        )
    )  # fmt: skip
    return int(unit.id)


def pairable(conn: Connection, actor: Actor) -> list[Pairable]:
    """The units already in the org tree the actor's city may register (the rule
    ``register_region`` holds a ``unit_id`` to): county-tier, directly under the city, not
    closed, not registered yet; by code. None for anyone but a city's personnel officer."""
    try:
        city_id, _, _ = _city(conn, actor)
    except PermissionDenied:
        return []
    rows = conn.execute(
        select(units_t.c.id, units_t.c.code, units_t.c.name)
        .where(
            units_t.c.parent_id == city_id,
            units_t.c.tier == "county",
            units_t.c.closed_on.is_(None),
            units_t.c.id.not_in(select(regions_t.c.unit_id)),
        )
        .order_by(units_t.c.code)
    ).all()
    return [Pairable(int(r.id), str(r.code), str(r.name)) for r in rows]


def regions(conn: Connection, actor: Actor) -> list[RegionRow]:
    """The paired regions of the cities the actor works in or under (a province officer or
    the system: all), with how many schools each has."""
    query = (
        select(
            regions_t.c.unit_id, regions_t.c.name, regions_t.c.city_id,
            regions_t.c.registered_at, units_t.c.code, units_t.c.path,
        )
        .join(units_t, units_t.c.id == regions_t.c.unit_id)
        .order_by(regions_t.c.city_id, regions_t.c.unit_id)
    )  # fmt: skip
    rows = conn.execute(query).all()
    if not (actor.holds(SYSTEM) or actor.holds(PROVINCE_OFFICER)):
        paths = [b.unit_path for b in actor.bindings]
        # a region's own people, and the city's (a city officer or a county under it)
        rows = [
            r
            for r in rows
            if any(r.path.startswith(p) or p.startswith(_city_path(r.path)) for p in paths)
        ]
    cities = dict(
        conn.execute(
            select(units_t.c.id, units_t.c.name).where(
                units_t.c.id.in_({int(r.city_id) for r in rows})
            )
        )
        .tuples()
        .all()
    )
    out = []
    for r in rows:
        schools = conn.execute(
            select(func.count()).where(
                units_t.c.tier == "school", units_t.c.path.startswith(r.path, autoescape=True)
            )
        ).scalar_one()
        out.append(
            RegionRow(
                int(r.unit_id), str(r.code), str(r.name), int(r.city_id),
                str(cities.get(int(r.city_id), "")), int(schools), r.registered_at,
            )
        )  # fmt: skip
    return out


def _city_path(region_path: str) -> str:
    """The pairing city's path: the region sits directly under it."""
    return region_path[: region_path.rstrip("/").rfind("/") + 1]
