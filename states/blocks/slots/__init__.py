"""Counted slots a case holds: a school's posts per title level (岗位职数), later places and
seats. A case takes a slot by key when an effect says so (``HoldSlot``) and keeps it until
an effect releases it or the case ends in a state tagged ``terminal_negative``; the slots
held at a unit in a year are counted from the cases themselves, so nothing can drift."""

from __future__ import annotations

from dataclasses import dataclass

from states.process.spec import Command


@dataclass(frozen=True)
class HoldSlot(Command):
    key: str | None  # None releases
