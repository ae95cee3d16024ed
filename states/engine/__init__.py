"""The engine: the only way a case changes.

``CaseEngine.fire()`` runs the whole contract in one transaction — version check and
idempotency key, role and data-scope authorization, the process's rules in declared order,
the python-statemachine transition, effects, one hash-chained audit event, tasks closed and
opened with working-day due dates, outbox rows — as the ordered steps of
``states.engine.transition``. A refused request writes nothing. The engine knows cases,
never a particular process: processes come in as packages (``docs/architecture.md``).
"""

from states.engine.annotate import ANNOTATION_LABELS
from states.engine.bulk import BulkResult, Move
from states.engine.core import CaseEngine, DueStep, build_catalogue
from states.engine.signers import OPINIONS, SIGN_POSITIONS
from states.engine.transition import FireResult
from states.errors import RenshiError

__all__ = [
    "ANNOTATION_LABELS",
    "OPINIONS",
    "SIGN_POSITIONS",
    "BulkResult",
    "CaseEngine",
    "DueStep",
    "FireResult",
    "Move",
    "RenshiError",
    "build_catalogue",
]
