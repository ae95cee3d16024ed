"""A county-sized rotation campaign: 10,000 eligible teachers, each stating up to three
receiving schools, over 2,000 places at 200 receiving schools (a third of them rural or
weak, some places reserved for backbone teachers).

Timed: the county matching's two steps together (deferred acceptance, then 调剂 by
minimum-cost flow). Checked in the same run: the 调剂 step's total cost beside the optimum
an independent solver (scipy's assignment over the same leftovers and places) finds.

``rotation_eligibility_s``: a county's eligible list computed through the engine (the
campaign's ``compute_eligibility`` step, one INSERT … SELECT) from a province's roster of
600,000 teachers, built with the roster benchmark's province and rows.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from sqlalchemy import func, insert, select

from benchmarks import roster
from benchmarks.common import fresh_db
from states.clock import FrozenClock, bureau_time
from states.engine import CaseEngine
from states.org import COUNTY_OFFICER, Actor, Binding
from states.processes import installed
from states.processes.rotation import campaigns
from states.processes.rotation.matching import (
    ADJUSTED,
    Candidate,
    Post,
    adjustment_cost,
    match,
)
from states.processes.rotation.tables import RotationEligible
from states.store.models import OrgUnit, Person, Teacher, table_of

SUBJECTS = ("语文", "数学", "英语", "物理", "化学", "生物", "历史", "地理", "道德与法治")
LEVELS = ("primary", "junior", "senior")


def campaign(
    teachers: int, places: int, schools: int, seed: int = 11
) -> tuple[list[Candidate], list[Post]]:
    rng = random.Random(seed)
    posts: list[Post] = []
    left = places
    while left > 0:
        n = min(left, rng.randint(1, 5))
        priority = rng.random() < 1 / 3
        posts.append(
            Post(
                id=len(posts) + 1,
                school_id=rng.randrange(schools),
                subject=rng.choice(SUBJECTS),
                level=rng.choice(LEVELS),
                places=n,
                priority=priority,
                reserved=(n + 4) // 5 if priority else 0,
            )
        )
        left -= n
    # Teachers ask for the schools they know: town schools five times as often as rural or
    # weak ones, whose places are then left to 调剂.
    by_fit: dict[tuple[str, str], list[int]] = {}
    for p in posts:
        by_fit.setdefault((p.subject, p.level), []).extend([p.id] * (1 if p.priority else 5))
    people = []
    for i in range(teachers):
        subject, level = rng.choice(SUBJECTS), rng.choice(LEVELS)
        fitting = by_fit.get((subject, level), [])
        wanted = rng.choice((0, 0, 1, 2, 3, 3))
        chosen: list[int] = []
        while fitting and len(chosen) < min(wanted, len(set(fitting))):
            pid = rng.choice(fitting)
            if pid not in chosen:
                chosen.append(pid)
        people.append(
            Candidate(
                id=i + 1,
                subject=subject,
                level=level,
                preferences=tuple(chosen),
                backbone=rng.choice((0, 0, 0, 0, 1, 2, 3)),
                years=rng.randint(6, 30),
            )
        )
    return people, posts


def independent_optimum(
    people: list[Candidate], posts: list[Post], leftovers: set[int], remaining: dict[int, int]
) -> int:
    """The least total 调剂 cost for the same leftovers and places, by scipy's assignment:
    one column per remaining place, an unfit pair at a cost no real pairing reaches."""
    left = [c for c in people if c.id in leftovers]
    by_id = {p.id: p for p in posts}
    columns = [pid for pid, n in remaining.items() for _ in range(n)]
    if not left or not columns:
        return 0
    big = 1_000_000
    cost = np.full((len(left), len(columns)), big, dtype=np.int64)
    for j, pid in enumerate(columns):
        post = by_id[pid]
        for i, c in enumerate(left):
            if post.fits(c):
                cost[i, j] = adjustment_cost(c, post)
    rows, cols = linear_sum_assignment(cost)
    chosen = cost[rows, cols]
    return int(chosen[chosen < big].sum())


def run(*, teachers: int, places: int, schools: int) -> dict[str, float]:
    people, posts = campaign(teachers, places, schools)
    t0 = time.perf_counter()
    result = match(people, posts, seed=20260901)
    elapsed = time.perf_counter() - t0
    deferred = {p.candidate for p in result.placements if p.step != ADJUSTED}
    taken: dict[int, int] = {}
    for p in result.placements:
        if p.step != ADJUSTED:
            taken[p.post] = taken.get(p.post, 0) + 1
    remaining = {
        p.id: p.places - taken.get(p.id, 0) for p in posts if p.places > taken.get(p.id, 0)
    }
    leftovers = {c.id for c in people} - deferred
    optimum = independent_optimum(people, posts, leftovers, remaining)
    adjusted = len(result.placements) - len(deferred)
    print(f"rotation: {len(deferred)} placed by preference, {adjusted} by 调剂, "
          f"{len(result.unplaced)} unplaced")  # fmt: skip
    return {
        "rotation_match_s": round(elapsed, 3),
        "rotation_adjust_cost": float(result.adjust_cost),
        "rotation_adjust_optimum": float(optimum),
    }


# --- eligibility from a province's roster ---------------------------------------------------------
TEACHER_COLUMNS = (
    "gender", "birth_date", "subject", "school_level", "title", "title_date", "education",
    "started_teaching_on", "joined_school_on", "rural_years", "backbone_level", "cert_level",
    "cert_no", "cert_registered_on",
)  # fmt: skip
CHUNK = 50_000


def _roster(path: Path, teachers: int) -> Any:
    """The roster benchmark's province and teachers, written straight into the tables
    (their import is timed there, not here)."""
    db = fresh_db(path)
    codes = roster.build_province(db, max(1, teachers // roster.TEACHERS_PER_SCHOOL))
    people_t, teachers_t, units_t = table_of(Person), table_of(Teacher), table_of(OrgUnit)
    with db.begin() as conn:
        unit_of = {
            code: uid for code, uid in conn.execute(select(units_t.c.code, units_t.c.id)).tuples()
        }
        people: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        for i, row in enumerate(roster.teachers(teachers, codes), start=1):
            people.append({"id": i, "name": row["name"], "id_number": row["id_number"],
                           "phone": row["phone"], "active": True})  # fmt: skip
            rows.append(
                {"person_id": i, "school_id": unit_of[row["school_code"]], "status": "active",
                 **{k: row[k] for k in TEACHER_COLUMNS}}
            )  # fmt: skip
            if len(rows) >= CHUNK:
                conn.execute(insert(people_t), people)
                conn.execute(insert(teachers_t), rows)
                people, rows = [], []
        if rows:
            conn.execute(insert(people_t), people)
            conn.execute(insert(teachers_t), rows)
    return db


def eligibility(path: Path, *, teachers: int) -> dict[str, float]:
    """Open a campaign in the province's first county and time its eligible list."""
    os.environ.setdefault("RENSHI_AUDIT_KEYS", str(path.parent / "audit-keys"))
    db = _roster(path, teachers)
    units_t = table_of(OrgUnit)
    with db.connect() as conn:
        county = conn.execute(
            select(units_t.c.id, units_t.c.path)
            .where(units_t.c.tier == "county")
            .order_by(units_t.c.id)
            .limit(1)
        ).one()
    engine = CaseEngine(db, installed(), FrozenClock(bureau_time(2026, 9, 1)))
    officer = Actor(
        None, "县教育局人事股（基准）", (Binding(COUNTY_OFFICER, county.id, county.path),)
    )
    form = {
        "name": "基准县2026学年教师交流轮岗", "year": 2026,
        "preferences_open": dt.date(2026, 9, 1), "preferences_close": dt.date(2026, 9, 15),
        "confirm_by": dt.date(2026, 9, 20),
    }  # fmt: skip
    campaign = campaigns.open_campaign(engine, officer, form, county_id=county.id)
    t0 = time.perf_counter()
    campaigns.step(engine, officer, campaign, "compute_eligibility")
    elapsed = time.perf_counter() - t0
    with db.connect() as conn:
        eligible = conn.execute(
            select(func.count()).where(table_of(RotationEligible).c.campaign_id == campaign)
        ).scalar_one()
    db.dispose()
    print(f"rotation: {eligible} eligible in one county of a {teachers:,}-teacher roster")
    return {"rotation_eligibility_s": round(elapsed, 3)}


def eligibility_figures(quick: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="renshi-rotation-") as tmp:
        return eligibility(Path(tmp) / "rotation.db", teachers=20_000 if quick else 600_000)
