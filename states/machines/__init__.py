"""The process catalogue: every process the engine can run, by name."""

from states.machines.spec import ProcessSpec
from states.machines.title_review import SPEC as TITLE_REVIEW

PROCESSES: dict[str, ProcessSpec] = {TITLE_REVIEW.name: TITLE_REVIEW}

__all__ = ["PROCESSES", "ProcessSpec"]
