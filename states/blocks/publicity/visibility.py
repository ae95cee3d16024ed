"""Who reads what of an objection (异议) to a publicity.

Who objected, and what they said, is for the officers who look into it and the inspectors:
the person objected to (and anyone else reading the case) sees that the publicity was
suspended and how the objection was decided, never by whom — an objector named to the
person they objected to is an objector who will not object again.
"""

from __future__ import annotations

from states.process.visibility import STAFF, Shown, Visibility

VISIBILITY = Visibility(
    data={"objections": Shown(STAFF)},
    payload={
        "content": Shown(STAFF),
        "contact_name": Shown(STAFF),
        "contact_phone": Shown(STAFF),
    },
    # the window's days left while suspended, which window it is, an objection's receipt
    open=frozenset({"window_days_left", "publicity_round", "receipt"}),
)
