"""Child cases a parent opens and waits on: a task book's tasks, a finding's rectification.

An effect of the parent opens the children (``OpenChildren``), each a case of its own
process at its own unit, linked to the parent; the parent's closing event carries
``ChildrenClosed``, which refuses it while any child is still open, naming how many.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from states.process.rules import Facts, Verdict
from states.process.spec import Command


@dataclass(frozen=True)
class OpenChildren(Command):
    """Open one case of ``process`` per (unit id, data) item, as children of this case."""

    process: str
    items: tuple[tuple[int, Mapping[str, Any]], ...]


@dataclass(frozen=True)
class ChildrenFacts:
    total: int
    open: int


@dataclass(frozen=True)
class ChildrenClosed:
    code: str = "children_closed"
    label: str = "下级事项均已办结"
    needs: frozenset[type] = frozenset({ChildrenFacts})

    def check(self, facts: Facts) -> Verdict:
        children = facts.get(ChildrenFacts)
        if children.open:
            return Verdict.failed(
                f"尚有{children.open}项下级事项未办结（共{children.total}项），不能办结"
            )
        return Verdict.passed()
