"""Rules and the facts they read: small pure objects, facts in, a verdict with a reason out.

Facts are open: a rule names the fact *types* it needs (``needs``), and whoever provides a
type registers a loader for it (the core for the teacher record, a block for a panel or a
publicity window, a process for its own tables). The engine loads only what the event's
rules and effects need, inside the transaction; a rule never writes anything. See
``docs/architecture.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str = ""
    # the payload field at fault, when a rule judges what was submitted (the refusal names it)
    field: str | None = None

    @classmethod
    def passed(cls, reason: str = "") -> Verdict:
        return cls(True, reason)

    @classmethod
    def failed(cls, reason: str, *, field: str | None = None) -> Verdict:
        return cls(False, reason, field)


@dataclass(frozen=True)
class TeacherFacts:
    """The teacher record of the case's subject: several processes judge a teacher by it."""

    person_id: int
    name: str
    school_id: int
    school_is_rural: bool
    school_is_weak: bool
    subject: str
    title: str
    title_date: dt.date | None
    education: str
    rural_years: float  # imported with the record: service before Renshi
    birth_date: dt.date
    ethics_dates: tuple[dt.date, ...] = ()
    # credited by the service ledger (support teaching, rotation), in years
    credited_years: float = 0.0

    @property
    def rural_service(self) -> float:
        """Every year of rural or weak-school service that counts: imported plus credited."""
        return round(self.rural_years + self.credited_years, 2)


@dataclass(frozen=True)
class Facts:
    """Everything a rule may look at: the case's own data and policy always, the typed
    facts its event declared, loaded by their registered loaders, and what the event's
    payload asks (validated): a rule may judge the submission against the case."""

    today: dt.date
    data: Mapping[str, Any]
    policy: Mapping[str, Any]
    state: str = ""
    loaded: Mapping[type, Any] = field(default_factory=dict)
    payload: Mapping[str, Any] = field(default_factory=dict)

    def get(self, kind: type[T]) -> T:
        """The loaded fact of ``kind``; a rule that did not declare it is a programming error."""
        try:
            value: T = self.loaded[kind]
        except KeyError:
            raise AssertionError(f"fact {kind.__name__} was not declared by the rule") from None
        return value

    def find(self, kind: type[T]) -> T | None:
        """The fact of ``kind`` if it was loaded and exists (a case with no panel yet)."""
        value: T | None = self.loaded.get(kind)
        return value


class Rule(Protocol):
    @property
    def code(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def needs(self) -> frozenset[type]: ...

    def check(self, facts: Facts) -> Verdict: ...


def full_years(start: dt.date, end: dt.date) -> int:
    """Whole years from start to end, as a personnel officer counts them (anniversary rule)."""
    years = end.year - start.year
    if (end.month, end.day) < (start.month, start.day):
        years -= 1
    return years
