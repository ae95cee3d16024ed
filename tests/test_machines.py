"""The transition table the engine reads for unguarded steps says what the machines say."""

from __future__ import annotations

import pytest

from states.engine import build_catalogue
from states.process.spec import ProcessSpec
from states.processes import installed

PROCESSES = build_catalogue(installed())


class _Model:
    state: str | None = None


@pytest.mark.parametrize("spec", PROCESSES.values(), ids=list(PROCESSES))
def test_table_agrees_with_the_machine(spec: ProcessSpec) -> None:
    checked = 0
    for st in spec.machine.states:
        for event in spec.events:
            target = spec.target(st.id, event)
            if target is None:
                continue
            model = _Model()
            model.state = st.id
            machine = spec.machine(model=model)
            machine.send(event)
            assert model.state == target, (spec.name, st.id, event)
            checked += 1
    assert checked >= len(spec.events) // 2, "most steps are unguarded"
