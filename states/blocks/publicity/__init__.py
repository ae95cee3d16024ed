"""A publicity window (公示) with objections (异议) that suspend and resume it.

A state tagged ``public_window`` opens a window task with a due date in working days; the
publicity sweep fires the state's ``on_expiry`` event once the last day is over, and
``WindowOver`` refuses it before. An objection suspends the window, keeping the working days
it had left; dismissing it resumes the window with exactly those days.

Objections come from the public, so each is confirmed by an SMS code sent to the objector's
mobile (checked by the adapter, used up in the objection's own transaction) and gets a
receipt number (回执编号, ``YY-<case>-<n>``) that the objector and the officers both quote.
Every process's objection event runs the two rules of :data:`OBJECTION_RULES`:

* one mobile objects once per case per window. A window suspended by an objection and
  resumed by its dismissal is the *same* window (the same publicity, its remaining days), so
  whoever objected before the dismissal cannot object again in it. A window ends when the
  case leaves it other than by an objection, or when an objection is upheld; publicising the
  case again later opens a new window (``ROUND`` counts them) in which every mobile may
  object once more;
* an objection found unfounded is not taken again with the same content (compared after
  Unicode NFKC, case folding and dropping whitespace and punctuation), in any window: its
  facts were looked into. New facts make new content.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from states.errors import FormError
from states.identity import validate_phone
from states.process.forms import REASON, Field, Form
from states.process.rules import Facts, Verdict
from states.process.spec import By, Command, EventSpec, RuleUse

# An objection from the public during a publicity window: anonymous objections are not taken,
# and the mobile is the one the SMS code went to.
OBJECTION = Form(
    (
        Field("content", "异议内容", max_length=2000),
        Field("contact_name", "联系人", max_length=50),
        Field(
            "contact_phone",
            "手机号码",
            max_length=11,
            pattern=r"1[3-9]\d{9}",
            help="用于接收验证码；核查时主管部门将与您联系",
        ),
    )
)

OBJECTIONS = "objections"  # in the case's data: every objection filed, oldest first
ROUND = "publicity_round"  # in the case's data: which window the case is in (absent: the 1st)
Outcome = Literal["dismissed", "upheld"]
DISMISSED: Final[Outcome] = "dismissed"  # looked into and found unfounded (异议不成立)
UPHELD: Final[Outcome] = "upheld"  # looked into and found true (异议成立)


def code_purpose(case_id: int) -> str:
    """What an objection's SMS code proves: a code sent for registration, or for an
    objection to another case, never confirms this one."""
    return f"objection:{case_id}"


def receipt_number(case_id: int, n: int) -> str:
    """The receipt of the case's n-th objection. The case number is in it, so an officer
    told the receipt on the phone opens the case without a search."""
    return f"YY-{case_id}-{n}"


def objector_phone(raw: str) -> str:
    """The objector's mobile as the record keeps it (spaces, dashes and +86 dropped): the
    number the code goes to, and the one "once per window" counts."""
    if not raw.strip():
        raise FormError("contact_phone", "手机号码为必填项")
    try:
        return validate_phone(raw)
    except ValueError:
        raise FormError(
            "contact_phone", "手机号码格式不正确（须为11位手机号，用于接收验证码）"
        ) from None


def same_content(text: str) -> str:
    """What two objections share when they say the same thing: full-width and half-width
    forms, letter case, spacing and punctuation do not make an objection new."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(c for c in folded if unicodedata.category(c)[0] not in "PZC")


@dataclass(frozen=True)
class WindowFacts:
    """The last day of the case's open window; None when it has none or no date yet."""

    due: dt.date | None


@dataclass(frozen=True)
class ObjectionFacts:
    """The objections already on the case, as the objection rules read them."""

    window: int  # the window the case is in, from 1
    this_window: Mapping[str, str]  # mobile -> receipt, of the objections filed in it
    dismissed: Mapping[str, str]  # same_content -> receipt, of the objections found unfounded


def objection_facts(data: Mapping[str, Any]) -> ObjectionFacts:
    window = int(data.get(ROUND, 1))
    filed: list[Mapping[str, Any]] = list(data.get(OBJECTIONS, []))
    return ObjectionFacts(
        window=window,
        this_window={
            str(o.get("contact_phone")): str(o.get("receipt", ""))
            for o in filed
            if int(o.get("window", 1)) == window
        },
        dismissed={
            same_content(str(o.get("content", ""))): str(o.get("receipt", ""))
            for o in filed
            if o.get("outcome") == DISMISSED
        },
    )


def _receipt(receipt: str) -> str:
    return f"（回执编号{receipt}）" if receipt else ""


@dataclass(frozen=True)
class OncePerWindow:
    """One mobile objects to a case once per publicity window."""

    code: str = "objection_once_per_window"
    label: str = "同一手机号每次公示限提一次异议"
    needs: frozenset[type] = frozenset({ObjectionFacts})

    def check(self, facts: Facts) -> Verdict:
        phone = str(facts.payload.get("contact_phone", ""))
        earlier = facts.get(ObjectionFacts).this_window.get(phone)
        if earlier is None:
            return Verdict.passed()
        return Verdict.failed(
            f"该手机号已在本次公示期内对此人提出过异议{_receipt(earlier)}，"
            "同一手机号每次公示限提一次",
            field="contact_phone",
        )


@dataclass(frozen=True)
class NotRefiled:
    """An objection found unfounded is not taken again with the same content."""

    code: str = "objection_not_refiled"
    label: str = "已认定不成立的异议不重复受理"
    needs: frozenset[type] = frozenset({ObjectionFacts})

    def check(self, facts: Facts) -> Verdict:
        content = same_content(str(facts.payload.get("content", "")))
        earlier = facts.get(ObjectionFacts).dismissed.get(content)
        if earlier is None:
            return Verdict.passed()
        return Verdict.failed(
            f"相同内容的异议{_receipt(earlier)}已经核查，认定异议不成立，不再重复受理；"
            "如有新的事实或证据，请写明后再提出",
            field="content",
        )


# The rules of every process's objection event.
OBJECTION_RULES = (RuleUse(OncePerWindow()), RuleUse(NotRefiled()))


@dataclass(frozen=True)
class FileObjection(Command):
    """Put the objection (the event's payload) on the case with its receipt number and the
    window it was filed in; the officers' task notice names the receipt."""


@dataclass(frozen=True)
class SettleObjection(Command):
    """The objection under review was looked into: unfounded (the window resumes, and its
    content is not taken again) or upheld (the window is over)."""

    outcome: Outcome


@dataclass(frozen=True)
class SuspendWindow(Command):
    """Stop the open window's clock, keeping the working days it had left."""


@dataclass(frozen=True)
class ResumeWindow(Command):
    """Reopen the window suspended last with the working days it had left."""


@dataclass(frozen=True)
class WindowOver:
    """A publicity window closes only once its last working day is over."""

    code: str = "window_over"
    label: str = "公示期满"
    needs: frozenset[type] = frozenset({WindowFacts})

    def check(self, facts: Facts) -> Verdict:
        due = facts.get(WindowFacts).due
        if due is None:
            return Verdict.failed("公示期截止日期未确定（节假日安排未导入），不能结束公示")
        if facts.today <= due:
            return Verdict.failed(f"公示期未满，公示至{due.isoformat()}（含）")
        return Verdict.passed()


def window_closing(name: str, *before: RuleUse) -> EventSpec:
    """The event that closes a process's window (its state's ``on_expiry``, named by the
    process): the system fires it, and :class:`WindowOver` refuses it before the last day is
    over, after the process's own rules (``before``: title review's ethics veto)."""
    return EventSpec(name, "公示期满", By(system=True), (*before, RuleUse(WindowOver())))


@dataclass(frozen=True)
class ObjectionSteps:
    """A process's objection steps: the public objects (the window suspended), the officers
    find the objection unfounded (the window resumed) or true (the window over).

    The block declares the events, their effects and what they load; the process names the
    events (its states and events are its own: generic code never names them) and says what
    upholding means for it, on the button (``upheld_label``) and in its effects function,
    which adds its own commands after the block's (support teaching revokes the selection).
    """

    objection: str  # the public's objection, fired from the window's state
    dismissal: str  # 异议不成立: the window resumes with the days it had left
    upholding: str  # 异议成立: the window is over
    upheld_label: str  # the upholding button, as the process says it ("异议成立，取消交流")

    def events(self) -> tuple[EventSpec, EventSpec, EventSpec]:
        reasoned = Form((REASON,))
        return (
            EventSpec(
                self.objection, "提出异议", By(public=True), OBJECTION_RULES, form=OBJECTION,
                decision=False,
            ),
            EventSpec(self.dismissal, "异议不成立", form=reasoned, style="secondary"),
            EventSpec(self.upholding, self.upheld_label, form=reasoned, style="danger"),
        )  # fmt: skip

    def effects(self, event: str) -> tuple[Command, ...]:
        """The block's commands for ``event``, first of the event's; none for an event that
        is not one of these steps."""
        if event == self.objection:
            return (FileObjection(), SuspendWindow())
        if event == self.dismissal:
            return (SettleObjection(DISMISSED), ResumeWindow())
        if event == self.upholding:
            return (SettleObjection(UPHELD),)
        return ()

    @property
    def needs(self) -> Mapping[str, frozenset[type]]:
        """The facts the steps load beyond their rules', for the spec's ``extra_needs``."""
        return {self.objection: frozenset({WindowFacts})}
