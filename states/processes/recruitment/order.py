"""The order of a round's bulk steps: a shortlist needs every written score in, a ranking
every interview score, a replacement a ranking. A step run too early would decide on half the
candidates — those still waiting for a score would be left behind in a state no later step
reads — so it is refused (``Conflict``, 409) before anything is written, saying what must
come first and how many candidates are still waiting for it.

"Scores are in" means: no candidate of the round is still at the step the score belongs to.
A score import moves every candidate it lists on, an absentee too (the sheet marks them
缺考), so a candidate still "资格审查通过" has neither a written score nor an absence mark, and
one still "入围面试" neither an interview score nor an absence mark. Registrations still
waiting for their qualification check hold the written exam's step up the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select

from states.errors import Conflict
from states.processes.recruitment.spec import PAST_RANKING, PAST_SHORTLIST
from states.processes.recruitment.tables import Applicant, Post
from states.store.models import Case, table_of

applicants_t, posts_t, cases_t = table_of(Applicant), table_of(Post), table_of(Case)

# The round-level steps officers run, in their order, as the pages, the API and the CLI
# name them, and how each one's result reads.
ACTIONS: Mapping[str, str] = {
    "qualify": "资格审查",
    "shortlist": "确定入围面试人选",
    "ranking": "计算综合成绩并排名",
    "replacements": "按排名递补",
}
COUNT_LABELS: Mapping[str, str] = {
    "qualified": "通过",
    "disqualified": "不通过",
    "shortlisted": "入围",
    "not_shortlisted": "未入围",
    "to_physical": "进入体检",
    "reserve": "列为候补",
    "moved_up": "递补",
    "held": "身份冲突待核实（暂不审查）",
}


def done(action: str, result: Mapping[str, int]) -> str:
    """What a step that worked says it did: 已办理「确定入围面试人选」：入围3人，未入围1人."""
    counts = "，".join(f"{COUNT_LABELS.get(k, k)}{v}人" for k, v in result.items())
    return f"已办理「{ACTIONS[action]}」：{counts}"


# The posts named in a refusal; the rest are counted.
NAMED_POSTS = 3


@dataclass
class Standing:
    """How many of a round's live registrations stand in each state, and at which posts."""

    count: dict[str, int] = field(default_factory=dict)
    posts: dict[str, set[str]] = field(default_factory=dict)

    def n(self, *states: str) -> int:
        return sum(self.count.get(s, 0) for s in states)

    def where(self, *states: str) -> str:
        """The posts of those in ``states``, as a refusal names them."""
        codes = sorted(set().union(*(self.posts.get(s, set()) for s in states)))
        named = "、".join(codes[:NAMED_POSTS])
        more = f"等{len(codes)}个岗位" if len(codes) > NAMED_POSTS else ""
        return f"（岗位{named}{more}）" if codes else ""


def standing(conn: Connection, round_id: int) -> Standing:
    """One grouped read of the round: state and post of every live registration."""
    out = Standing()
    rows = conn.execute(
        select(cases_t.c.state, posts_t.c.code, func.count())
        .select_from(applicants_t)
        .join(cases_t, cases_t.c.id == applicants_t.c.case_id)
        .join(posts_t, posts_t.c.id == applicants_t.c.post_id)
        .where(applicants_t.c.round_id == round_id, applicants_t.c.voided_at.is_(None))
        .group_by(cases_t.c.state, posts_t.c.code)
    )
    for state, code, n in rows:
        out.count[state] = out.count.get(state, 0) + int(n)
        out.posts.setdefault(state, set()).add(code)
    return out


@dataclass(frozen=True)
class Before:
    """A step that must be finished first: the state its candidates wait in, and what the
    refusal says of them (``{n}`` the number waiting, ``{posts}`` where)."""

    state: str
    says: str


QUALIFICATION = Before(
    "registered", "还有{n}人未完成资格审查{posts}，请先完成资格审查（身份冲突待核实的先核实处理）"
)
WRITTEN = Before(
    "qualified", "还有{n}人没有笔试成绩{posts}，请先导入他们的笔试成绩（缺考的标记“缺考”）"
)
SHORTLIST = Before("examined", "还有{n}人尚未确定是否入围面试{posts}，请先确定入围面试人选")
INTERVIEW = Before(
    "shortlisted", "还有{n}人没有面试成绩{posts}，请先导入他们的面试成绩（缺考的标记“缺考”）"
)


@dataclass(frozen=True)
class Step:
    """A round-level step: what it is called, the steps before it, the state its
    candidates wait in, the states of those it has already moved on, and what it says
    when there is nobody to move and nobody has been moved yet."""

    label: str
    before: Sequence[Before]
    waiting: str
    done: Sequence[str]
    nothing_yet: str


STEPS: Mapping[str, Step] = {
    "shortlist": Step(
        "确定入围面试人选",
        (QUALIFICATION, WRITTEN),
        "examined",
        ("not_shortlisted", *PAST_SHORTLIST),
        "本轮还没有导入笔试成绩",
    ),
    "ranking": Step(
        "计算综合成绩并排名",
        (QUALIFICATION, WRITTEN, SHORTLIST, INTERVIEW),
        "interviewed",
        PAST_RANKING,
        "本轮还没有导入面试成绩",
    ),
}


def why_not(now: Standing, step: str) -> str | None:
    """Why ``step`` (shortlist, ranking, replacements) may not run on a round standing so;
    None when it may. The deadline of replacements is the round's, not read here."""
    if step == "replacements":
        if now.n(*PAST_RANKING):
            return None
        waiting = now.n("registered", "qualified", "examined", "shortlisted", "interviewed")
        tail = f"（还有{waiting}人在排名之前的环节）" if waiting else ""
        return f"不能按排名递补：本轮尚未计算综合成绩并排名{tail}，请先排名"
    s = STEPS[step]
    for before in s.before:
        n = now.n(before.state)
        if n:
            said = before.says.format(n=n, posts=now.where(before.state))
            return f"不能{s.label}：{said}"
    if not now.n(s.waiting):
        if now.n(*s.done):
            return f"本轮已{s.label}，不能重复办理"
        return f"不能{s.label}：{s.nothing_yet}"
    return None


def ready(conn: Connection, round_id: int, step: str) -> None:
    """Refuse ``step`` while an earlier step is unfinished or when it has been done
    already, before anything is written (``Conflict``: 409 over HTTP, exit 1 on the CLI)."""
    said = why_not(standing(conn, round_id), step)
    if said is not None:
        raise Conflict(said)


def blocked(conn: Connection, round_id: int) -> dict[str, str]:
    """Each bulk step that may not run now, with why: what the round page says in place of
    a button that would only be refused."""
    now = standing(conn, round_id)
    out = {}
    for step in ("shortlist", "ranking", "replacements"):
        said = why_not(now, step)
        if said is not None:
            out[step] = said
    return out


__all__ = [
    "ACTIONS",
    "COUNT_LABELS",
    "STEPS",
    "Standing",
    "blocked",
    "done",
    "ready",
    "standing",
    "why_not",
]
