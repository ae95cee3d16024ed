"""Rotation's county matching on random small campaigns (hypothesis): the placements are
stable for the stated preferences and the county's priorities (no teacher and post would
both rather have each other), no post takes more than its places nor a reserve more than
it keeps, nobody is placed twice, and the 调剂 step's total cost is the optimum an
independent solver (scipy's assignment) finds for the same leftovers and places."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from states.processes.rotation.matching import (
    ADJUSTED,
    DEFERRED,
    OPEN,
    RESERVED,
    Candidate,
    MatchingError,
    Post,
    adjustment_cost,
    lottery,
    match,
    priority,
)

SUBJECTS, LEVELS = ("数学", "语文"), ("primary", "junior")


@st.composite
def campaigns(draw: st.DrawFn) -> tuple[list[Candidate], list[Post], int]:
    posts = []
    for i in range(draw(st.integers(1, 6))):
        places = draw(st.integers(0, 3))
        posts.append(
            Post(
                id=100 + i,
                school_id=10 + i,
                subject=draw(st.sampled_from(SUBJECTS)),
                level=draw(st.sampled_from(LEVELS)),
                places=places,
                priority=draw(st.booleans()),
                reserved=draw(st.integers(0, places)),
            )
        )
    candidates = []
    for i in range(draw(st.integers(0, 12))):
        subject, level = draw(st.sampled_from(SUBJECTS)), draw(st.sampled_from(LEVELS))
        fitting = [p.id for p in posts if p.subject == subject and p.level == level]
        prefs = draw(st.lists(st.sampled_from(fitting), unique=True, max_size=3)) if fitting else []
        candidates.append(
            Candidate(
                id=i + 1,
                subject=subject,
                level=level,
                preferences=tuple(prefs),
                backbone=draw(st.integers(0, 2)),
                years=draw(st.integers(0, 10)),
            )
        )
    return candidates, posts, draw(st.integers(0, 2**31))


def _slots(c: Candidate, posts: dict[int, Post]) -> list[tuple[int, str]]:
    """The teacher's stated choices as slots, in the order they rank them."""
    out = []
    for pid in c.preferences:
        p = posts[pid]
        out += [(pid, s) for s, n in ((OPEN, p.places - p.reserved), (RESERVED, p.reserved)) if n]
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(campaigns())
def test_matching_is_stable_never_overfills_and_adjusts_at_the_optimum(
    case: tuple[list[Candidate], list[Post], int],
) -> None:
    candidates, posts, seed = case
    result = match(candidates, posts, seed)
    by_post = {p.id: p for p in posts}
    people = {c.id: c for c in candidates}
    draws = lottery(seed, people)

    placed = [p.candidate for p in result.placements]
    assert len(placed) == len(set(placed)), "a teacher placed twice"
    assert set(placed) | set(result.unplaced) == set(people)
    per_post = Counter(p.post for p in result.placements)
    per_slot = Counter((p.post, p.slot) for p in result.placements if p.step == DEFERRED)
    for p in posts:
        assert per_post[p.id] <= p.places
        assert per_slot[(p.id, RESERVED)] <= p.reserved
        assert per_slot[(p.id, OPEN)] <= p.places - p.reserved
    for pl in result.placements:
        assert by_post[pl.post].fits(people[pl.candidate])

    # stability: a slot a teacher ranks above where they ended is full of teachers the
    # county ranks before them there
    where = {p.candidate: (p.post, p.slot) for p in result.placements if p.step == DEFERRED}
    holders: dict[tuple[int, str], list[int]] = {}
    for cid, slot in where.items():
        holders.setdefault(slot, []).append(cid)
    for c in candidates:
        choices = _slots(c, by_post)
        mine = where.get(c.id)
        better = choices[: choices.index(mine)] if mine else choices
        for pid, kind in better:
            p = by_post[pid]
            cap = p.reserved if kind == RESERVED else p.places - p.reserved
            held = holders.get((pid, kind), [])
            assert len(held) == cap, f"teacher {c.id} and post {pid} would both rather"
            mine_key = priority(c, draws[c.id], kind)
            assert all(priority(people[h], draws[h], kind) > mine_key for h in held)

    # the 调剂 optimum, found independently
    left = [c for c in candidates if c.id not in where]
    remaining = [
        pid for p in posts for pid in [p.id] * (p.places - per_slot[(p.id, OPEN)]
                                               - per_slot[(p.id, RESERVED)])
    ]  # fmt: skip
    adjusted = [p for p in result.placements if p.step == ADJUSTED]
    if not left or not remaining:
        assert not adjusted and result.adjust_cost == 0
        return
    big = 10_000
    cost = np.full((len(left), len(remaining)), big)
    for i, c in enumerate(left):
        for j, pid in enumerate(remaining):
            if by_post[pid].fits(c):
                cost[i, j] = adjustment_cost(c, by_post[pid])
    rows, cols = linear_sum_assignment(cost)
    chosen = cost[rows, cols]
    feasible = chosen[chosen < big]
    assert len(adjusted) == len(feasible)
    assert result.adjust_cost == int(feasible.sum()) == sum(p.cost or 0 for p in adjusted)


def test_the_lottery_replays_from_its_seed_and_names_each_reason() -> None:
    posts = [Post(1, 10, "数学", "primary", 1, priority=True), Post(2, 11, "数学", "primary", 2)]
    people = [
        Candidate(1, "数学", "primary", (1,), backbone=0, years=8),
        Candidate(2, "数学", "primary", (1,), backbone=0, years=8),
        Candidate(3, "数学", "primary", ()),
    ]
    first, again = match(people, posts, 42), match(people, posts, 42)
    assert first == again
    by = first.by_candidate()
    winner = next(c for c in (1, 2) if by[c].step == DEFERRED)
    loser = 3 - winner
    assert by[winner].reason().startswith("第1志愿录取")
    assert by[loser].step == ADJUSTED and by[loser].post == 2
    assert by[loser].reason().startswith("调剂")
    assert by[3].post == 2


@pytest.mark.parametrize(
    ("people", "message"),
    [
        ([Candidate(1, "数学", "primary", (1, 1))], "志愿学校重复"),
        ([Candidate(1, "数学", "primary", (1, 2, 3, 4))], "志愿最多3个"),
        ([Candidate(1, "语文", "primary", (1,))], "学科学段不符"),
        ([Candidate(1, "数学", "primary"), Candidate(1, "数学", "primary")], "只能匹配一次"),
    ],
)
def test_bad_campaigns_are_refused_with_the_reason(people: list[Candidate], message: str) -> None:
    posts = [Post(i, 10 + i, "数学", "primary", 1) for i in (1, 2, 3, 4)]
    with pytest.raises(MatchingError, match=message):
        match(people, posts, 1)
