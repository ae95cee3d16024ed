"""A county-sized rotation campaign: 10,000 eligible teachers, each stating up to three
receiving schools, over 2,000 places at 200 receiving schools (a third of them rural or
weak, some places reserved for backbone teachers).

Timed: the county matching's two steps together (deferred acceptance, then 调剂 by
minimum-cost flow). Checked in the same run: the 调剂 step's total cost beside the optimum
an independent solver (scipy's assignment over the same leftovers and places) finds.
"""

from __future__ import annotations

import random
import time

import numpy as np
from scipy.optimize import linear_sum_assignment

from states.processes.rotation.matching import (
    ADJUSTED,
    Candidate,
    Post,
    adjustment_cost,
    match,
)

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
