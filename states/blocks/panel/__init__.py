"""A panel drawn at random with recusal, sealed votes and a tally (评审委员会; later the
inspectors of a 双随机 check).

Drawing seats ``size`` members of a pool at random, leaving out the applicant and (unless
the panel sits at the applicant's own school) colleagues from their school; the pool and the
seed go on the record, so an inspector can redraw it and get the same members. A vote is
sealed — kept off the audit row — while the panel sits; when the case leaves a state tagged
``panel_sitting`` the votes become part of the record. A sitting decides with two thirds of
the drawn members voting; a case passes with two thirds of the votes cast.
"""

from __future__ import annotations

from dataclasses import dataclass

from states.org import INSPECTOR, REVIEW_EXPERT
from states.process.rules import Facts, Verdict
from states.process.spec import Command
from states.process.visibility import OVERSIGHT, Shown, Visibility

PANEL_ROLES = frozenset({REVIEW_EXPERT, INSPECTOR})
VOTE_CHOICES = {"yes": "同意", "no": "不同意", "abstain": "弃权"}


@dataclass(frozen=True)
class DrawPanel(Command):
    """Seat ``size`` members of ``subject`` bound with ``role`` at ``unit_id``, recusing
    ``recuse_school_id`` and ``recuse_person_id``."""

    unit_id: int
    subject: str
    size: int
    recuse_school_id: int | None
    recuse_person_id: int | None
    role: str = REVIEW_EXPERT


@dataclass(frozen=True)
class RecordVote(Command):
    choice: str


@dataclass(frozen=True)
class PanelFacts:
    drawn: int
    yes: int
    no: int
    abstain: int
    my_choice: str | None = None  # the acting member's vote, if seated
    seated: bool = False

    @property
    def cast(self) -> int:
        return self.yes + self.no + self.abstain


@dataclass(frozen=True)
class SeatedNotVoted:
    code: str = "panel_vote"
    label: str = "评委投票"
    needs: frozenset[type] = frozenset({PanelFacts})

    def check(self, facts: Facts) -> Verdict:
        p = facts.get(PanelFacts)
        if not p.seated:
            return Verdict.failed("您不是本事项评审委员会的评委")
        if p.my_choice is not None:
            return Verdict.failed("您已投票，不能重复投票")
        return Verdict.passed()


@dataclass(frozen=True)
class Quorum:
    """A sitting decides only with two thirds of the drawn members voting."""

    code: str = "quorum"
    label: str = "法定人数"
    needs: frozenset[type] = frozenset({PanelFacts})

    def check(self, facts: Facts) -> Verdict:
        p = facts.get(PanelFacts)
        if p.cast * 3 < p.drawn * 2:
            return Verdict.failed(
                f"未达法定人数：须有三分之二以上评委（{-(-p.drawn * 2 // 3)}人）投票，"
                f"现已投票{p.cast}人"
            )
        return Verdict.passed()


def passed(facts: Facts) -> bool:
    """At least two thirds of the votes cast are in favour."""
    p = facts.find(PanelFacts)
    return p is not None and p.cast > 0 and p.yes * 3 >= p.cast * 2


def tally(choices: list[str | None], drawn: int) -> dict[str, int | bool]:
    """A closed sitting as everyone on the case may read it: how many voted which way, and
    whether two thirds of the drawn members voted — never who."""
    counts: dict[str, int | bool] = {c: choices.count(c) for c in VOTE_CHOICES}
    cast = sum(1 for c in choices if c is not None)
    counts["drawn"] = drawn
    counts["quorum"] = cast * 3 >= drawn * 2
    return counts


# Who sits and how each voted is for those who answer for the committee: the officers of the
# unit it sits at and the inspectors. The applicant and the other members see the tally.
VISIBILITY = Visibility(
    payload={"panel": Shown(OVERSIGHT), "votes": Shown(OVERSIGHT)},
    open=frozenset({"tally"}),
    anonymous=OVERSIGHT,
)
