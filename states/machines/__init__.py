"""The process catalogue: every process the engine can run, by name."""

from states.machines.recruitment import APPLICANT_SPEC, PLAN_SPEC
from states.machines.spec import ProcessSpec
from states.machines.title_review import SPEC as TITLE_REVIEW

PROCESSES: dict[str, ProcessSpec] = {
    spec.name: spec for spec in (TITLE_REVIEW, PLAN_SPEC, APPLICANT_SPEC)
}

__all__ = ["PROCESSES", "ProcessSpec"]
