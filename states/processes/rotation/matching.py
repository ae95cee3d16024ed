"""County matching for teacher rotation (交流轮岗): who goes to which receiving post, and why.

No published 县管校聘 algorithm exists; the economics of teacher assignment gives the model.
Two steps, both over the whole campaign at once:

1. **Deferred acceptance, teachers proposing**, over the schools each teacher stated (up to
   three, each meaning the post at that school for their subject and level). Each post holds
   the teachers it ranks best by the county's priorities and lets the rest go on to their
   next choice. The result is stable — no teacher and post would both rather have each
   other — and no teacher gains by misstating their preferences, which is what makes it
   defensible when a teacher asks "why not the school I put first?".
   The rural and weak schools' claim on backbone teachers is a **reserve**, not a hidden
   weight: a post may keep some places for backbone teachers (软预留: filled by others only
   when no backbone teacher wants them). A post is two slots, its open places filled first
   and its reserved places after, each with its own priority order; a teacher ranks them in
   that order. Ties in every priority are broken by a lottery drawn from a seed that the
   campaign's audit records, so the run can be replayed.
2. **Placement (调剂)** of those still unplaced — no preference stated, or every stated post
   full of teachers ranked before them — onto the remaining places by a minimum-cost flow
   (OR-Tools): the cost is the preference rank where the place is one they named, and a
   penalty for a place that is not at a rural or weak school, so that those fill first.
   Teachers whose places cost the same are interchangeable, so they enter the flow as one
   node per kind: the flow has a few hundred arcs for a county, not millions.

Pure: no database, no clock. The package's steps load the campaign, call ``match`` and
write the placements with the reason this module gives each one.
"""

from __future__ import annotations

import heapq
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

# Costs of a 调剂 place: the teacher's own rank for it (first, second, third choice), a place
# they did not name, and the extra for a place that is not at a rural or weak school.
RANK_COST: Final = (0, 1, 2)
UNNAMED_COST: Final = 3
NOT_PRIORITY_COST: Final = 3
MAX_PREFERENCES: Final = 3

OPEN, RESERVED = "open", "reserved"
DEFERRED, ADJUSTED = "deferred_acceptance", "adjustment"


@dataclass(frozen=True)
class Candidate:
    """A teacher the sending school confirmed for rotation this campaign."""

    id: int
    subject: str
    level: str  # school level taught: primary | junior | senior …
    preferences: tuple[int, ...] = ()  # post ids, best first
    backbone: int = 0  # 0 none; 1 school … 4 province (higher ranks first)
    years: int = 0  # years at the current school (more ranks first)
    # the sending school: a teacher rotates away from it, never onto one of its own posts
    # (None: not known, any school fits)
    school_id: int | None = None


@dataclass(frozen=True)
class Post:
    """A receiving post: places for one subject and level at one school."""

    id: int
    school_id: int
    subject: str
    level: str
    places: int
    priority: bool = False  # a rural or weak school
    reserved: int = 0  # of ``places``, kept for backbone teachers first

    def fits(self, c: Candidate) -> bool:
        return (
            self.subject == c.subject
            and self.level == c.level
            and (c.school_id is None or c.school_id != self.school_id)
        )


@dataclass(frozen=True)
class Placement:
    """Where a teacher goes and why, in words the county can publish."""

    candidate: int
    post: int
    step: str  # DEFERRED | ADJUSTED
    slot: str = OPEN  # OPEN | RESERVED (deferred acceptance only)
    rank: int | None = None  # 1, 2, 3: which of their preferences, if one
    cost: int | None = None  # the 调剂 cost of the place (adjustment only)

    def reason(self) -> str:
        if self.step == DEFERRED:
            slot = "骨干教师预留名额" if self.slot == RESERVED else "普通名额"
            return f"第{self.rank}志愿录取（{slot}，按县级优先顺序）"
        named = f"第{self.rank}志愿" if self.rank else "未填报该校"
        return f"调剂：志愿学校均已满额，按最小调剂代价安排（{named}，代价{self.cost}）"


@dataclass(frozen=True)
class Matching:
    placements: tuple[Placement, ...]
    unplaced: tuple[int, ...]  # no place left that fits them
    seed: int
    adjust_cost: int
    lottery: Mapping[int, int] = field(default_factory=dict)

    def by_candidate(self) -> dict[int, Placement]:
        return {p.candidate: p for p in self.placements}


class MatchingError(ValueError):
    """Input the county's matching cannot run on, named for the officer."""


def lottery(seed: int, ids: Iterable[int]) -> dict[int, int]:
    """Each candidate's lottery number (0 draws first) from the campaign's recorded seed:
    the same seed and the same candidates give the same numbers, so a run can be replayed."""
    order = sorted(ids)
    random.Random(seed).shuffle(order)
    return {cid: n for n, cid in enumerate(order)}


def priority(c: Candidate, draw: int, slot: str) -> tuple[int, ...]:
    """The county's priority for ``c`` at a slot, larger first: backbone level, then years
    at the current school, then the lottery; a reserved slot puts any backbone teacher
    before every other."""
    general = (c.backbone, c.years, -draw)
    return ((1 if c.backbone else 0), *general) if slot == RESERVED else general


def validate(candidates: Sequence[Candidate], posts: Sequence[Post]) -> None:
    by_id = {p.id: p for p in posts}
    if len(by_id) != len(posts):
        raise MatchingError("岗位编号重复")
    for p in posts:
        if p.places < 0 or not 0 <= p.reserved <= p.places:
            raise MatchingError(f"岗位{p.id}：名额或预留名额不正确")
    seen: set[int] = set()
    for c in candidates:
        if c.id in seen:
            raise MatchingError(f"教师{c.id}出现两次：一位教师只能匹配一次")
        seen.add(c.id)
        if len(c.preferences) > MAX_PREFERENCES:
            raise MatchingError(f"教师{c.id}：志愿最多{MAX_PREFERENCES}个")
        if len(set(c.preferences)) != len(c.preferences):
            raise MatchingError(f"教师{c.id}：志愿学校重复")
        for pid in c.preferences:
            post = by_id.get(pid)
            if post is None or not post.fits(c):
                raise MatchingError(f"教师{c.id}：志愿岗位{pid}不存在或学科学段不符")


def defer_accept(
    candidates: Sequence[Candidate], posts: Sequence[Post], draws: Mapping[int, int]
) -> dict[int, Placement]:
    """Teacher-proposing deferred acceptance over the expanded slots (each post's open
    places, then its reserved ones). Each slot keeps a min-heap of the priorities it holds,
    so a proposal costs a log: 10,000 teachers with three choices run in milliseconds."""
    by_id = {p.id: p for p in posts}
    capacity: dict[tuple[int, str], int] = {}
    for p in posts:
        capacity[(p.id, OPEN)] = p.places - p.reserved
        capacity[(p.id, RESERVED)] = p.reserved
    lists: dict[int, list[tuple[int, str, int]]] = {}
    for c in candidates:
        lists[c.id] = [
            (pid, slot, rank)
            for rank, pid in enumerate(c.preferences, start=1)
            for slot in (OPEN, RESERVED)
            if capacity[(pid, slot)] > 0 and by_id[pid].fits(c)
        ]
    people = {c.id: c for c in candidates}
    held: dict[tuple[int, str], list[tuple[tuple[int, ...], int]]] = defaultdict(list)
    nxt = dict.fromkeys(lists, 0)
    free = [c.id for c in candidates if lists[c.id]]
    while free:
        cid = free.pop()
        choices = lists[cid]
        while nxt[cid] < len(choices):
            pid, slot, _ = choices[nxt[cid]]
            nxt[cid] += 1
            key = (pid, slot)
            heap = held[key]
            mine = (priority(people[cid], draws[cid], slot), cid)
            if len(heap) < capacity[key]:
                heapq.heappush(heap, mine)
                break
            if heap[0] < mine:  # the slot's weakest holder is let go, to propose on
                _, out = heapq.heapreplace(heap, mine)
                if nxt[out] < len(lists[out]):
                    free.append(out)
                break
    placed: dict[int, Placement] = {}
    for (pid, slot), heap in held.items():
        for _, cid in heap:
            rank = next(r for p, s, r in lists[cid] if p == pid and s == slot)
            placed[cid] = Placement(cid, pid, DEFERRED, slot=slot, rank=rank)
    return placed


def adjustment_cost(c: Candidate, post: Post) -> int:
    named = c.preferences.index(post.id) if post.id in c.preferences else None
    pref = RANK_COST[named] if named is not None else UNNAMED_COST
    return pref + (0 if post.priority else NOT_PRIORITY_COST)


def adjust(
    candidates: Sequence[Candidate],
    posts: Sequence[Post],
    remaining: Mapping[int, int],
    draws: Mapping[int, int],
) -> tuple[list[Placement], list[int], int]:
    """调剂: as many of ``candidates`` as fit onto the ``remaining`` places, at the least
    total cost (OR-Tools' max flow with min cost). Candidates with the same fit and the same
    costs to every place enter as one node; within a node, places go out in lottery order.
    Returns the placements, those left unplaced and the total cost."""
    from ortools.graph.python import min_cost_flow

    open_posts = [p for p in posts if remaining.get(p.id, 0) > 0]
    by_fit: dict[tuple[str, str], list[Post]] = defaultdict(list)
    for p in open_posts:
        by_fit[(p.subject, p.level)].append(p)
    # a sending school matters to the flow only where it also has an open place that fits
    receiving = {(p.school_id, p.subject, p.level) for p in open_posts}
    groups: dict[tuple[object, ...], list[Candidate]] = defaultdict(list)
    for c in candidates:
        named = tuple(pid for pid in c.preferences if remaining.get(pid, 0) > 0)
        home = c.school_id if (c.school_id, c.subject, c.level) in receiving else None
        groups[(c.subject, c.level, named, home)].append(c)
    flow = min_cost_flow.SimpleMinCostFlow()
    group_keys = list(groups)
    post_node = {p.id: len(group_keys) + i for i, p in enumerate(open_posts)}
    sink = len(group_keys) + len(open_posts)
    arcs: list[tuple[int, int, int]] = []  # (arc, group index, post id)
    for g, key in enumerate(group_keys):
        members = groups[key]
        sample = members[0]
        home = sample.school_id if key[3] is not None else None
        for p in by_fit.get((sample.subject, sample.level), ()):
            if home is not None and p.school_id == home:
                continue
            arc = flow.add_arc_with_capacity_and_unit_cost(
                g, post_node[p.id], len(members), adjustment_cost(sample, p)
            )
            arcs.append((arc, g, p.id))
        flow.set_node_supply(g, len(members))
    for p in open_posts:
        flow.add_arc_with_capacity_and_unit_cost(post_node[p.id], sink, remaining[p.id], 0)
    flow.set_node_supply(sink, -sum(len(m) for m in groups.values()))
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        raise MatchingError(f"调剂求解失败（状态{status}）")
    by_post = {p.id: p for p in open_posts}
    placements: list[Placement] = []
    queue = {g: sorted(groups[k], key=lambda c: draws[c.id]) for g, k in enumerate(group_keys)}
    total = 0
    for arc, g, pid in arcs:
        for _ in range(flow.flow(arc)):
            c = queue[g].pop(0)
            cost = adjustment_cost(c, by_post[pid])
            total += cost
            rank = c.preferences.index(pid) + 1 if pid in c.preferences else None
            placements.append(Placement(c.id, pid, ADJUSTED, rank=rank, cost=cost))
    unplaced = sorted(c.id for members in queue.values() for c in members)
    return placements, unplaced, total


def match(candidates: Sequence[Candidate], posts: Sequence[Post], seed: int) -> Matching:
    """Both steps: deferred acceptance over the stated preferences, then 调剂."""
    validate(candidates, posts)
    draws = lottery(seed, (c.id for c in candidates))
    placed = defer_accept(candidates, posts, draws)
    taken: dict[int, int] = defaultdict(int)
    for p in placed.values():
        taken[p.post] += 1
    remaining = {p.id: p.places - taken[p.id] for p in posts}
    rest = [c for c in candidates if c.id not in placed]
    adjusted, unplaced, cost = adjust(rest, posts, remaining, draws)
    return Matching(
        placements=(*sorted(placed.values(), key=lambda p: p.candidate), *adjusted),
        unplaced=tuple(unplaced),
        seed=seed,
        adjust_cost=cost,
        lottery=draws,
    )
