"""Rules are small pure objects: facts in, a verdict with a human-readable reason out.

The engine loads only the facts a rule declares it needs, evaluates rules in the order the
process spec lists them, and decides what a failure means there (refuse the event, or reject
the case); a rule itself never writes anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str = ""

    @classmethod
    def passed(cls, reason: str = "") -> Verdict:
        return cls(True, reason)

    @classmethod
    def failed(cls, reason: str) -> Verdict:
        return cls(False, reason)


@dataclass(frozen=True)
class TeacherFacts:
    person_id: int
    name: str
    school_id: int
    school_is_rural: bool
    school_is_weak: bool
    subject: str
    title: str
    title_date: dt.date | None
    education: str
    rural_years: float
    birth_date: dt.date
    ethics_dates: tuple[dt.date, ...] = ()


@dataclass(frozen=True)
class QuotaFacts:
    title: str
    posts: int
    used: int


@dataclass(frozen=True)
class PanelFacts:
    drawn: int
    yes: int
    no: int
    abstain: int
    my_choice: str | None = None  # the acting expert's vote, if seated
    seated: bool = False

    @property
    def cast(self) -> int:
        return self.yes + self.no + self.abstain


@dataclass(frozen=True)
class Facts:
    """Everything a rule may look at, loaded by the engine inside the transaction."""

    today: dt.date
    data: Mapping[str, Any]
    policy: Mapping[str, Any]
    state: str = ""
    teacher: TeacherFacts | None = None
    quota: QuotaFacts | None = None
    panel: PanelFacts | None = None
    window_due: dt.date | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


class Rule(Protocol):
    @property
    def code(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def needs(self) -> frozenset[str]: ...

    def check(self, facts: Facts) -> Verdict: ...


def full_years(start: dt.date, end: dt.date) -> int:
    """Whole years from start to end, as a personnel officer counts them (anniversary rule)."""
    years = end.year - start.year
    if (end.month, end.day) < (start.month, start.day):
        years -= 1
    return years
