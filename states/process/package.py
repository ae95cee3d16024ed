"""The declaration a process package makes, and the catalogue built from the installed ones.

A process is one package under ``states/processes/<name>/`` (and its web twin under
``api/processes/<name>/``). It exposes one frozen ``ProcessPackage``; the composition roots
(the app, the CLI, the flows, the demo) hand the list of installed packages to the engine,
which builds a ``Catalogue``: specs by name, and the open registries the engine consults —
fact loaders by fact type, effect handlers by command type, hooks by state tag, contact
resolvers and case finders for applicants without an account, the notice kinds the package
sends. The generic core never imports a process.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from states.org import Actor
from states.process.spec import ProcessSpec

# (connection, engine's view of the case) -> the fact; types kept loose so this contract
# stays free of the database layer.
FactLoader = Callable[[Any, Any], Any]
# (effect scope, command) -> None
EffectHandler = Callable[[Any, Any], None]
# (effect scope) -> None: run when a case leaves a state carrying the tag
LeaveHook = Callable[[Any], None]
# (connection, case ids) -> {case id: (name, mobile)}
ContactLoader = Callable[[Any, Sequence[int]], Mapping[int, tuple[str, str]]]
# (part of a name, full ID number) -> a SELECT of the ids of the process's cases whose
# applicant, kept in the package's own table, matches: the search box's match for
# applicants without an account. It only names cases; the caller keeps its own scope.
CaseFinder = Callable[[str | None, str | None], Any]


@dataclass(frozen=True)
class Parts:
    """What a package or a building block adds to the engine's registries."""

    fact_loaders: Mapping[type, FactLoader] = field(default_factory=dict)
    effect_handlers: Mapping[type, EffectHandler] = field(default_factory=dict)
    leave_hooks: Mapping[str, LeaveHook] = field(default_factory=dict)


# (connection, person, today) -> whether a nav link concerns them (connection kept loose)
NavShows = Callable[[Any, Actor, dt.date], bool]


@dataclass(frozen=True)
class NavEntry:
    """A link in the pages' navigation, shown to holders of any of ``roles``. ``home``: the
    roles for whom it is the home page (a leader's board) — someone holding only such roles
    lands there after signing in, everyone else on their inbox.

    ``shows``, if given, narrows it to the holders it concerns now (a teacher sees 交流轮岗
    only when their county runs one): called with a read connection, the actor and today,
    only for holders of ``roles``, on every page drawn — so at most one cheap indexed query,
    and none for those it can answer from the actor alone. The page itself stays reachable
    by its address; this only decides the link."""

    label: str
    href: str
    roles: frozenset[str]
    home: frozenset[str] = frozenset()
    shows: NavShows | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Schedule:
    """A check's own schedule: the check is then a job of its own on the operations page and
    a Prefect deployment of its own (flows/jobs.py builds both from the installed packages),
    instead of one of the checks the daily 「自动检查」 runs together. ``cron`` is bureau time,
    daily ("M H * * *") or monthly ("M H D * *"); ``counts`` names what its counts mean."""

    label: str  # the job's name, in Chinese
    what: str  # what it does, in Chinese
    cron: str
    counts: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ScheduledCheck:
    """Work time drives for this process, run by the sweeps (and the Prefect flows): with the
    daily checks, or on its ``own`` schedule."""

    name: str
    run: Callable[[Any], Mapping[str, int]]  # (engine) -> counts of what it did
    own: Schedule | None = None


@dataclass(frozen=True)
class ComplianceRule:
    """An automated compliance check (合规检查) a process declares about its own data.

    ``hits`` (connection, today) returns a set-based SELECT of ``(subject_id, unit_id,
    detail)`` — one row for every subject (a teacher, a unit, a case) breaking the rule
    right now, ``unit_id`` the unit whose officers answer for it, ``detail`` the problem in
    words. The rule says nothing about findings: the runner (the package keeping them)
    opens one per new hit and closes those no longer hit, so a rule is only its query.
    ``prepare`` (connection, today, now), if given, brings the rule's own data up to date
    in the same transaction first (the ethics pledge issues the year's pledges)."""

    code: str
    label: str  # in Chinese: 师德承诺书签署
    subject: Literal["teacher", "unit", "case"]
    hits: Callable[[Any, Any], Any]  # (Connection, date) -> Select; loose, as FactLoader
    advice: str  # what the unit should do, in Chinese
    # when it runs, a job and a deployment of its own (``COMPLIANCE_COUNTS`` are its counts)
    schedule: Schedule
    prepare: Callable[[Any, Any, Any], Mapping[str, int]] | None = None


# What a compliance runner's counts mean (the runner's contract, whichever package runs it).
COMPLIANCE_COUNTS: Mapping[str, str] = {
    "issued": "下发承诺书",
    "open": "现有问题",
    "found": "新发现",
    "closed": "已销号",
    "notified": "通知单位",
    "waived": "本学年已人工销号不再登记",
    "reminded": "预计整改日期已过提醒",
}


# (engine, rule) -> counts: runs one compliance rule over the data and keeps its findings
ComplianceRunner = Callable[[Any, ComplianceRule], Mapping[str, int]]


@dataclass(frozen=True, eq=False)  # one object per kind, compared and hashed by identity
class NoticeKind:
    """A kind of notice the package writes to the outbox (``notice(case_id, kind, ...)``).

    Its text is ``<folder>/<kind>.txt.j2``, a plain-text file of the package (by convention
    ``states/processes/<name>/notices/``) that the notifications adapter renders with its
    blocks ``subject``, ``body`` and ``short``. ``keys`` are the payload keys the template
    prints besides the common ones every notice has (recipient, case, process, applicant,
    unit, step, link): the dispatcher copies exactly these from the outbox payload, an empty
    string where one is absent, and refuses to render a context lacking any. ``about`` says in
    one line what the notice tells and to whom; ``sample`` is a complete context (the common
    keys and ``keys``) for proofreading (``renshi notify preview``) and the tests."""

    kind: str
    keys: frozenset[str]
    about: str
    sample: Mapping[str, Any]
    folder: Path


@dataclass(frozen=True)
class ProcessPackage:
    name: str
    label: str
    specs: tuple[ProcessSpec, ...]
    parts: Parts = field(default_factory=Parts)
    # process name -> where notices for its applicants go when they have no account
    contacts: Mapping[str, ContactLoader] = field(default_factory=dict)
    # process name -> its cases whose applicant (without an account) a search names
    finders: Mapping[str, CaseFinder] = field(default_factory=dict)
    checks: tuple[ScheduledCheck, ...] = ()
    # the process's own tables (models on the shared declarative base), for the schema
    tables: tuple[type, ...] = ()
    # the dotted name of the web twin (api.processes.<name>); imported by the app only
    web: str | None = None
    nav: tuple[NavEntry, ...] = ()
    # click commands the CLI adds under ``renshi``
    cli: tuple[Any, ...] = ()
    # automated compliance checks over this process's own data (合规检查)
    compliance: tuple[ComplianceRule, ...] = ()
    # runs any package's compliance rule and keeps the findings: given by the one package
    # that keeps them (compliance), so that the others only declare their rules
    compliance_runner: ComplianceRunner | None = None
    # the kinds of notice it sends, each with its template in the package (notices/)
    notices: tuple[NoticeKind, ...] = ()


class Catalogue(Mapping[str, ProcessSpec]):
    """The installed processes by name, with the registries merged from every part.

    Two parts registering the same fact type, command type or tag hook, or two packages
    declaring the same notice kind, contact loader or case finder, is an error at start-up,
    not a silent override.
    """

    def __init__(self, packages: Sequence[ProcessPackage], base: Sequence[Parts] = ()) -> None:
        self.packages = tuple(packages)
        self._specs: dict[str, ProcessSpec] = {}
        self.fact_loaders: dict[type, FactLoader] = {}
        self.effect_handlers: dict[type, EffectHandler] = {}
        self.leave_hooks: dict[str, LeaveHook] = {}
        self.contacts: dict[str, ContactLoader] = {}
        self.finders: dict[str, CaseFinder] = {}
        self._rules: dict[str, ComplianceRule] = {}
        # every installed package's notice kinds by kind, in the packages' order
        self.notices: dict[str, NoticeKind] = {}
        runners = [p.compliance_runner for p in self.packages if p.compliance_runner]
        if len(runners) > 1:
            raise ValueError("compliance runner registered twice")
        self.compliance_runner: ComplianceRunner | None = runners[0] if runners else None
        for parts in (*base, *(p.parts for p in self.packages)):
            _merge(self.fact_loaders, parts.fact_loaders, "fact type")
            _merge(self.effect_handlers, parts.effect_handlers, "command type")
            _merge(self.leave_hooks, parts.leave_hooks, "tag hook")
        for package in self.packages:
            for spec in package.specs:
                if spec.name in self._specs:
                    raise ValueError(f"process {spec.name} registered twice")
                self._specs[spec.name] = spec
            _merge(self.contacts, package.contacts, "contact loader")
            _merge(self.finders, package.finders, "case finder")
            for rule in package.compliance:
                if rule.code in self._rules:
                    raise ValueError(f"compliance rule {rule.code} registered twice")
                self._rules[rule.code] = rule
            for notice in package.notices:
                if notice.kind in self.notices:
                    raise ValueError(f"notice kind {notice.kind} registered twice")
                self.notices[notice.kind] = notice

    def __getitem__(self, name: str) -> ProcessSpec:
        return self._specs[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def nav(self) -> list[NavEntry]:
        return [entry for p in self.packages for entry in p.nav]

    def checks(self) -> list[ScheduledCheck]:
        """The checks the daily 「自动检查」 runs together (those without a schedule of
        their own)."""
        return [check for p in self.packages for check in p.checks if check.own is None]

    def own_checks(self) -> list[ScheduledCheck]:
        """The checks on schedules of their own, each a job and a deployment named by the
        check: the packages' own, then every compliance rule (``compliance-<code>``)."""
        own = [check for p in self.packages for check in p.checks if check.own is not None]
        if self.compliance_runner is not None:
            own += [self.compliance_check(code) for code in self._rules]
        return own

    def own_check(self, name: str) -> ScheduledCheck:
        """KeyError for a name no installed package schedules."""
        for check in self.own_checks():
            if check.name == name:
                return check
        raise KeyError(name)

    def compliance_rules(self) -> list[ComplianceRule]:
        """Every installed package's compliance rules, in the packages' order."""
        return list(self._rules.values())

    def compliance_check(self, code: str) -> ScheduledCheck:
        """The rule ``code`` as a check the runner carries out (each rule is a scheduled job
        of its own: flows/jobs.py). KeyError for an unknown rule; LookupError when no
        installed package keeps findings."""
        rule = self._rules[code]
        runner = self.compliance_runner
        if runner is None:
            raise LookupError("no installed package runs compliance checks")

        def run(engine: Any) -> Mapping[str, int]:
            return runner(engine, rule)

        own = Schedule(rule.schedule.label, rule.schedule.what, rule.schedule.cron,
                       COMPLIANCE_COUNTS)  # fmt: skip
        return ScheduledCheck(f"compliance-{code}", run, own)

    def landing(self, roles: Collection[str]) -> str | None:
        """The home page of someone holding ``roles``, if a package declares one for them."""
        held = set(roles)
        if not held:
            return None
        return next((e.href for e in self.nav() if held <= e.home), None)


def _merge(into: dict[Any, Any], more: Mapping[Any, Any], what: str) -> None:
    for key, value in more.items():
        if key in into and into[key] is not value:
            name = getattr(key, "__name__", key)
            raise ValueError(f"{what} {name} registered twice")
        into[key] = value
