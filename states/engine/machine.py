"""Moving a process's python-statemachine ``StateMachine``.

An unguarded transition has one outcome, read from the table built once from the machine's
own transitions (as bulk moves do); only guarded branches run the machine. A machine
instance costs ~170 µs to build and ~70 µs to send through, so each thread keeps one per
process bound to a slot object and rebuilds it only after a final state (which stops the
machine) or an error (which may leave its queue dirty).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from states.process.spec import ProcessSpec


class _Slot:
    """The model object a reused machine reads its state from."""

    state: str | None = None


_machines = threading.local()


def transition(spec: ProcessSpec, source: str, event: str, kwargs: Mapping[str, Any]) -> str:
    """The state ``event`` leads to from ``source``; TransitionNotAllowed if none."""
    known = spec.target(source, event)
    if known is not None:
        return known
    cache: dict[str, tuple[Any, _Slot]] = _machines.__dict__.setdefault("cache", {})
    entry = cache.get(spec.name)
    if entry is None:
        slot = _Slot()
        slot.state = source
        entry = cache[spec.name] = (spec.machine(model=slot), slot)
    sm, slot = entry
    slot.state = source
    try:
        sm.send(event, **kwargs)
    except Exception:
        cache.pop(spec.name, None)
        raise
    target = slot.state
    assert target is not None
    if spec.is_final(target):
        cache.pop(spec.name, None)
    return target
