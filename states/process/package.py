"""The declaration a process package makes, and the catalogue built from the installed ones.

A process is one package under ``states/processes/<name>/`` (and its web twin under
``api/processes/<name>/``). It exposes one frozen ``ProcessPackage``; the composition roots
(the app, the CLI, the flows, the demo) hand the list of installed packages to the engine,
which builds a ``Catalogue``: specs by name, and the open registries the engine consults —
fact loaders by fact type, effect handlers by command type, hooks by state tag, contact
resolvers for applicants without an account. The generic core never imports a process.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True)
class Parts:
    """What a package or a building block adds to the engine's registries."""

    fact_loaders: Mapping[type, FactLoader] = field(default_factory=dict)
    effect_handlers: Mapping[type, EffectHandler] = field(default_factory=dict)
    leave_hooks: Mapping[str, LeaveHook] = field(default_factory=dict)


@dataclass(frozen=True)
class NavEntry:
    """A link in the pages' navigation, shown to holders of any of ``roles``. ``home``: the
    roles for whom it is the home page (a leader's board) — someone holding only such roles
    lands there after signing in, everyone else on their inbox."""

    label: str
    href: str
    roles: frozenset[str]
    home: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ScheduledCheck:
    """Work time drives for this process, run by the sweeps (and the Prefect flows)."""

    name: str
    run: Callable[[Any], Mapping[str, int]]  # (engine) -> counts of what it did


@dataclass(frozen=True)
class ProcessPackage:
    name: str
    label: str
    specs: tuple[ProcessSpec, ...]
    parts: Parts = field(default_factory=Parts)
    # process name -> where notices for its applicants go when they have no account
    contacts: Mapping[str, ContactLoader] = field(default_factory=dict)
    checks: tuple[ScheduledCheck, ...] = ()
    # the process's own tables (models on the shared declarative base), for the schema
    tables: tuple[type, ...] = ()
    # the dotted name of the web twin (api.processes.<name>); imported by the app only
    web: str | None = None
    nav: tuple[NavEntry, ...] = ()
    # click commands the CLI adds under ``renshi``
    cli: tuple[Any, ...] = ()


class Catalogue(Mapping[str, ProcessSpec]):
    """The installed processes by name, with the registries merged from every part.

    Two parts registering the same fact type, command type or tag hook is an error at
    start-up, not a silent override.
    """

    def __init__(self, packages: Sequence[ProcessPackage], base: Sequence[Parts] = ()) -> None:
        self.packages = tuple(packages)
        self._specs: dict[str, ProcessSpec] = {}
        self.fact_loaders: dict[type, FactLoader] = {}
        self.effect_handlers: dict[type, EffectHandler] = {}
        self.leave_hooks: dict[str, LeaveHook] = {}
        self.contacts: dict[str, ContactLoader] = {}
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

    def __getitem__(self, name: str) -> ProcessSpec:
        return self._specs[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def nav(self) -> list[NavEntry]:
        return [entry for p in self.packages for entry in p.nav]

    def checks(self) -> list[ScheduledCheck]:
        return [check for p in self.packages for check in p.checks]

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
