"""A publicity window (公示) with objections (异议) that suspend and resume it.

A state tagged ``public_window`` opens a window task with a due date in working days; the
publicity sweep fires the state's ``on_expiry`` event once the last day is over, and
``WindowOver`` refuses it before. An objection suspends the window, keeping the working days
it had left; dismissing it resumes the window with exactly those days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from states.process.forms import Field, Form
from states.process.rules import Facts, Verdict
from states.process.spec import Command

# An objection from the public during a publicity window: anonymous objections are not taken.
OBJECTION = Form(
    (
        Field("content", "异议内容", max_length=2000),
        Field("contact_name", "联系人", max_length=50),
        Field("contact_phone", "联系电话", pattern=r"1[3-9]\d{9}|0\d{2,3}-?\d{7,8}"),
    )
)


@dataclass(frozen=True)
class WindowFacts:
    """The last day of the case's open window; None when it has none or no date yet."""

    due: dt.date | None


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
