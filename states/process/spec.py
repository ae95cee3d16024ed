"""What a process is, declared: its machine, who may fire each event, the rules each event
runs, each state's tasks, deadline and tags, and the form of each payload.

The engine reads these declarations and nothing else about a process, so a new process is a
new package, not a change to the engine (see ``docs/architecture.md``). Pure: no database,
no web framework.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from statemachine import StateMachine

from states.process.forms import Form
from states.process.rules import Facts, Rule
from states.process.visibility import Visibility

# --- state tags: what sweeps, pages and routes read instead of state names ------------------
PUBLIC_WINDOW = "public_window"  # a publicity window the public sees; the system closes it
TERMINAL_NEGATIVE = "terminal_negative"  # an end that is not a success: frees what it held
PANEL_SITTING = "panel_sitting"  # a drawn panel sits and votes; its votes unseal on leaving
# the case's subject is exempt from being sent away this year (an approved exemption from
# rotation): another process that dispatches teachers reads it through the catalogue
EXEMPT = "exempt"
TAGS = frozenset({PUBLIC_WINDOW, TERMINAL_NEGATIVE, PANEL_SITTING, EXEMPT})


# --- who may act --------------------------------------------------------------------------
@dataclass(frozen=True)
class By:
    """Who may fire an event, or who is handed a state's task.

    ``officer`` is a tier alias the process resolves per case ("school", "county",
    "organizer" ...) to the unit whose personnel officer acts. ``panel``: a member of the
    panel drawn for the case (an expert, an inspector) who has not yet acted;
    ``panel_label`` names them as the catalogue says it to a person ("检查人员"), the
    committee's experts when left out.
    """

    officer: str | None = None
    applicant: bool = False
    panel: bool = False
    system: bool = False
    public: bool = False
    panel_label: str | None = None


STATE_ACTOR = By()  # "whoever the current state hands its task to"


# --- states and events -------------------------------------------------------------------
# What happens when a state's deadline passes: the unit above is told and given a
# supervision task (督责), the system fires the state's ``on_expiry`` event, or nothing.
Escalation = Literal["notify_superior", "fire_expiry", "none"]


@dataclass(frozen=True)
class StateSpec:
    name: str
    actor: By | None = None
    deadline_days: int | None = None  # working days
    remind_before: tuple[int, ...] = (2, 0)  # working days before due; 0 = on the day
    escalation: Escalation = "notify_superior"
    tags: frozenset[str] = frozenset()
    # the event the system fires when this state's time runs out (a publicity window
    # closing, an automatic return); read by the sweeps
    on_expiry: str | None = None

    def __post_init__(self) -> None:
        unknown = self.tags - TAGS
        if unknown:
            raise ValueError(f"state {self.name}: unknown tags {sorted(unknown)}")
        if self.window and self.on_expiry is None:
            raise ValueError(f"state {self.name}: a publicity window needs on_expiry")

    @property
    def window(self) -> bool:
        """A publicity window: the system closes it when it runs out."""
        return PUBLIC_WINDOW in self.tags


@dataclass(frozen=True)
class RuleUse:
    """A rule on an event. A failing rule refuses the event (nothing written), or, when it
    ``vetoes``, turns it into the process's ``reject_event`` with the rule's reason."""

    rule: Rule
    vetoes: bool = False


Style = Literal["primary", "secondary", "danger"]


@dataclass(frozen=True)
class EventSpec:
    name: str
    label: str
    by: By = STATE_ACTOR
    rules: tuple[RuleUse, ...] = ()
    form: Form = field(default_factory=Form)
    decision: bool = True  # a reviewer's decision: after the first one, withdrawal is over
    internal: bool = False  # fired by the engine itself (a veto), never by a person
    # fields kept out of this event's audit row (a vote stays secret until the sitting closes)
    sealed: tuple[str, ...] = ()
    # a decision that returns or ends the case is never held for an added signer (加签)
    overrides_signers: bool = False
    style: Style = "primary"  # how a page draws its button


# --- effects ------------------------------------------------------------------------------
class Command:
    """An effect a process asks for; the handler registered for its type carries it out."""


@dataclass(frozen=True)
class SetData(Command):
    """Merge into the case's data."""

    patch: Mapping[str, Any]


@dataclass(frozen=True)
class ApplicantTold(Command):
    """The applicant hears of this step from a notice the process sends in its own words
    (support teaching's 撤销选派): the engine's progress notice would tell them twice."""


@dataclass(frozen=True)
class UpdateTeacher(Command):
    """Change the teacher record of the case's subject (an appointment, a credit)."""

    fields: Mapping[str, Any]


@dataclass(frozen=True)
class EffectContext:
    """What a process's effect function sees when an event has passed its rules."""

    event: str
    source: str
    target: str
    payload: Mapping[str, Any]
    facts: Facts
    case_id: int
    applicant_id: int | None
    unit_ids: Mapping[str, int]  # resolved tier alias -> unit id


def _same_tier(
    alias: str, data: Mapping[str, Any], school: Mapping[str, Any], policy: Mapping[str, Any]
) -> str:
    return alias


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    label: str
    machine: type[StateMachine]
    states: Mapping[str, StateSpec]
    events: Mapping[str, EventSpec]
    start_form: Form = field(default_factory=Form)
    policy_defaults: Mapping[str, Any] = field(default_factory=dict)
    # tier alias -> concrete tier, given the case data and its school flags
    resolve_tier: Callable[[str, Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]], str] = (
        _same_tier
    )
    effects: Callable[[EffectContext], Sequence[Command]] = lambda ctx: ()
    # keyword arguments for the machine's guards, from the loaded facts
    guard_kwargs: Callable[[str, Facts], Mapping[str, Any]] = lambda event, facts: {}
    # fact types an event's effects or guards read beyond what its rules declare
    extra_needs: Mapping[str, frozenset[type]] = field(default_factory=dict)
    main_path: tuple[str, ...] = ()  # the usual road through the process, for its diagram
    # who opens a case: a teacher declaring, a county officer, or the public registering
    opened_by: Literal["teacher", "county", "public"] = "teacher"
    # a teacher may have one open case of this process a year
    once_per_year: bool = True
    # the internal event fired when a rule used with on_fail="reject" fails
    reject_event: str | None = None
    # who sees which parts of its cases (states/process/visibility.py); undeclared: everyone
    # who may open the case
    visibility: Visibility = field(default_factory=Visibility)

    def __post_init__(self) -> None:
        ids = {s.id for s in self.machine.states}
        if set(self.states) != ids:
            raise ValueError(f"{self.name}: states declared {sorted(self.states)} ≠ {sorted(ids)}")
        machine_events = {
            e for st in self.machine.states for e in _events_from(self.machine, st.id)
        }
        missing = machine_events - set(self.events)
        if missing:
            raise ValueError(f"{self.name}: events without a spec {sorted(missing)}")
        for st in self.states.values():
            if st.on_expiry is not None and st.on_expiry not in self.events:
                raise ValueError(f"{self.name}.{st.name}: unknown on_expiry {st.on_expiry}")
        if self.reject_event is not None and not self.events[self.reject_event].internal:
            raise ValueError(f"{self.name}: the reject event must be internal")

    def state_label(self, state: str) -> str:
        return str(getattr(self.machine, state).name)

    def needs(self, event: str) -> frozenset[type]:
        spec = self.events[event]
        out: set[type] = set(self.extra_needs.get(event, frozenset()))
        for use in spec.rules:
            out |= use.rule.needs
        return frozenset(out)

    def target(self, state: str, event: str) -> str | None:
        """Where ``event`` leads from ``state`` when that needs no guard; None otherwise.

        Bulk moves read this table instead of running the machine per row (the machine costs
        ~70 µs a transition); events with guarded branches are not moved in bulk.
        """
        return _targets(self.machine).get((state, event))

    def allowed_events(self, state: str) -> list[str]:
        """Events a person could fire from ``state`` (internal ones left out)."""
        return [e for e in _events_from(self.machine, state) if not self.events[e].internal]

    def is_final(self, state: str) -> bool:
        return bool(getattr(self.machine, state).final)

    def tagged(self, tag: str) -> tuple[str, ...]:
        """The states that carry ``tag``, in declaration order."""
        return tuple(s.name for s in self.states.values() if tag in s.tags)

    def public_event(self, state: str) -> str | None:
        """The event the public may fire from ``state`` (an objection), if any."""
        return next((e for e in self.allowed_events(state) if self.events[e].by.public), None)

    def names(self) -> frozenset[str]:
        """Every state and event name of this process (the architecture test looks for them
        in the generic modules)."""
        return frozenset(self.states) | frozenset(self.events)


_EVENTS_CACHE: dict[tuple[type[StateMachine], str], list[str]] = {}
_TARGETS: dict[type[StateMachine], dict[tuple[str, str], str]] = {}


def _targets(machine: type[StateMachine]) -> dict[tuple[str, str], str]:
    table = _TARGETS.get(machine)
    if table is None:
        found: dict[tuple[str, str], set[str]] = {}
        guarded: set[tuple[str, str]] = set()
        for st in machine.states:
            for t in st.transitions:
                for ev in str(t.event).split():
                    found.setdefault((st.id, ev), set()).add(t.target.id)
                    if len(list(t.cond)):  # a guard (cond or unless) decides the branch
                        guarded.add((st.id, ev))
        table = _TARGETS[machine] = {
            k: next(iter(v)) for k, v in found.items() if len(v) == 1 and k not in guarded
        }
    return table


def _events_from(machine: type[StateMachine], state: str) -> list[str]:
    key = (machine, state)
    cached = _EVENTS_CACHE.get(key)
    if cached is None:
        st = getattr(machine, state)
        seen: dict[str, None] = {}
        for t in st.transitions:
            for ev in str(t.event).split():
                seen[ev] = None
        cached = _EVENTS_CACHE[key] = list(seen)
    return cached


def policy_for(spec: ProcessSpec, settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """The province's settings for this process laid over the defaults, one level deep."""
    merged: dict[str, Any] = {
        k: (dict(v) if isinstance(v, Mapping) else v) for k, v in spec.policy_defaults.items()
    }
    overrides = (settings or {}).get(spec.name) or {}
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key].update(value)
        else:
            merged[key] = value
    return merged
