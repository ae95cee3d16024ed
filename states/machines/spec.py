"""What a process is, declared: its machine, who may fire each event, the rules each event
runs, each state's tasks and deadline, and the form of each payload.

The engine reads these declarations and nothing else about a process, so a new process is a
new module here, not a change to the engine. Pure: no database, no web framework.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from statemachine import StateMachine

from states.errors import FormError
from states.rules.base import Facts, Rule

# --- forms --------------------------------------------------------------------------------
FieldKind = Literal["text", "int", "float", "date", "choice", "bool"]


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: FieldKind = "text"
    required: bool = True
    choices: Mapping[str, str] | None = None  # code -> label
    max_length: int = 2000
    min_value: float | None = None
    max_value: float | None = None
    pattern: str | None = None
    help: str = ""

    def parse(self, raw: Any) -> Any:
        """Coerce one submitted value, or raise FormError naming this field and why."""
        name = self.name
        if self.kind == "text":
            if not isinstance(raw, str):
                raise FormError(name, f"{self.label}应为文本")
            value = raw.strip()
            if not value and self.required:
                raise FormError(name, f"{self.label}不能为空")
            if len(value) > self.max_length:
                raise FormError(name, f"{self.label}不能超过{self.max_length}字")
            if self.pattern and value and not re.fullmatch(self.pattern, value):
                raise FormError(name, f"{self.label}格式不正确")
            return value
        if self.kind == "choice":
            assert self.choices is not None
            if raw not in self.choices:
                options = "、".join(self.choices.values())
                raise FormError(name, f"{self.label}应为以下之一：{options}")
            return raw
        if self.kind == "bool":
            if not isinstance(raw, bool):
                raise FormError(name, f"{self.label}应为是或否")
            return raw
        if self.kind in ("int", "float"):
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                raise FormError(name, f"{self.label}应为数字")
            if self.kind == "int" and not float(raw).is_integer():
                raise FormError(name, f"{self.label}应为整数")
            num: int | float = int(raw) if self.kind == "int" else float(raw)
            if self.min_value is not None and num < self.min_value:
                raise FormError(name, f"{self.label}不能小于{self.min_value:g}")
            if self.max_value is not None and num > self.max_value:
                raise FormError(name, f"{self.label}不能大于{self.max_value:g}")
            return num
        if self.kind == "date":
            if isinstance(raw, dt.date):
                return raw.isoformat()
            try:
                return dt.date.fromisoformat(str(raw)).isoformat()
            except ValueError:
                raise FormError(name, f"{self.label}应为有效日期（YYYY-MM-DD）") from None
        raise AssertionError(self.kind)


@dataclass(frozen=True)
class Form:
    fields: tuple[Field, ...] = ()

    def validate(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Every field checked, unknown fields refused: a typo must not vanish silently."""
        known = {f.name for f in self.fields} | {"comment"}
        for key in payload:
            if key not in known:
                raise FormError(str(key), "不是此表单的字段")
        out: dict[str, Any] = {}
        for f in self.fields:
            raw = payload.get(f.name)
            if raw is None or raw == "":
                if f.required:
                    raise FormError(f.name, f"{f.label}为必填项")
                continue
            out[f.name] = f.parse(raw)
        comment = payload.get("comment")
        if comment is not None:
            out["comment"] = COMMENT.parse(comment)
        return out


COMMENT = Field("comment", "意见", required=False, max_length=1000)
REASON = Field("reason", "理由", max_length=1000)
# An objection from the public during a publicity window: anonymous objections are not taken.
OBJECTION = Form(
    (
        Field("content", "异议内容", max_length=2000),
        Field("contact_name", "联系人", max_length=50),
        Field("contact_phone", "联系电话", pattern=r"1[3-9]\d{9}|0\d{2,3}-?\d{7,8}"),
    )
)


# --- who may act --------------------------------------------------------------------------
@dataclass(frozen=True)
class By:
    """Who may fire an event, or who is handed a state's task.

    ``officer`` is a tier alias the process resolves per case ("school", "county",
    "organizer" ...) to the unit whose personnel officer acts.
    """

    officer: str | None = None
    applicant: bool = False
    panel: bool = False
    system: bool = False
    public: bool = False


STATE_ACTOR = By()  # "whoever the current state hands its task to"


# --- states and events -------------------------------------------------------------------
Escalation = Literal["notify_superior", "auto_return", "none"]


@dataclass(frozen=True)
class StateSpec:
    name: str
    actor: By | None = None
    deadline_days: int | None = None  # working days
    remind_before: tuple[int, ...] = (2, 0)  # working days before due; 0 = on the day
    escalation: Escalation = "notify_superior"
    window: bool = False  # a publicity window that the system closes when it runs out


@dataclass(frozen=True)
class RuleUse:
    rule: Rule
    on_fail: Literal["refuse", "reject"] = "refuse"


@dataclass(frozen=True)
class EventSpec:
    name: str
    label: str
    by: By = STATE_ACTOR
    rules: tuple[RuleUse, ...] = ()
    form: Form = field(default_factory=Form)
    decision: bool = True  # a reviewer's decision: after the first one, withdrawal is over
    internal: bool = False  # fired by the engine itself (veto), never by a person
    # fields kept out of this event's audit row (a vote stays secret until the sitting closes)
    sealed: tuple[str, ...] = ()


# --- effects ------------------------------------------------------------------------------
@dataclass(frozen=True)
class SetData:
    """Merge into the case's data."""

    patch: Mapping[str, Any]


@dataclass(frozen=True)
class UpdateTeacher:
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class DrawPanel:
    """Seat ``size`` experts of ``subject`` bound at ``unit_id``, recusing ``recuse_school_id``."""

    unit_id: int
    subject: str
    size: int
    recuse_school_id: int | None
    recuse_person_id: int | None


@dataclass(frozen=True)
class RecordVote:
    choice: str


@dataclass(frozen=True)
class SuspendWindow:
    """Stop the open window's clock, keeping the working days it had left."""


@dataclass(frozen=True)
class ResumeWindow:
    """Reopen the window suspended last with the working days it had left."""


@dataclass(frozen=True)
class HoldQuota:
    key: str | None  # None releases


Command = (
    SetData | UpdateTeacher | DrawPanel | RecordVote | SuspendWindow | ResumeWindow | HoldQuota
)


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


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    label: str
    machine: type[StateMachine]
    states: Mapping[str, StateSpec]
    events: Mapping[str, EventSpec]
    start_form: Form
    policy_defaults: Mapping[str, Any]
    # tier alias -> concrete tier, given the case data and its school flags
    resolve_tier: Callable[[str, Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]], str]
    effects: Callable[[EffectContext], Sequence[Command]] = lambda ctx: ()
    # keyword arguments for the machine's guards, from the loaded facts
    guard_kwargs: Callable[[str, Facts], Mapping[str, Any]] = lambda event, facts: {}
    extra_needs: Mapping[str, frozenset[str]] = field(default_factory=dict)
    main_path: tuple[str, ...] = ()  # the usual road through the process, for its diagram
    # who opens a case: a teacher declaring, a county officer, or the public registering
    opened_by: Literal["teacher", "county", "public"] = "teacher"

    def state_label(self, state: str) -> str:
        return str(getattr(self.machine, state).name)

    def needs(self, event: str) -> frozenset[str]:
        spec = self.events[event]
        out: set[str] = set(self.extra_needs.get(event, frozenset()))
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
