"""The installed processes: the one list a composition root (the app, the CLI, the flows,
the demo, the benchmarks) hands to the engine. A new process is a package beside these and
one line here; no generic module changes for it."""

from __future__ import annotations

from states.process.package import ProcessPackage


def installed() -> tuple[ProcessPackage, ...]:
    """Imported here, when asked, so that importing one process never loads the others."""
    from states.processes import (
        compliance,
        recruitment,
        rotation,
        supervision,
        support_teaching,
        task_book,
        title_review,
    )

    return (
        title_review.PACKAGE,
        recruitment.PACKAGE,
        rotation.PACKAGE,
        task_book.PACKAGE,
        support_teaching.PACKAGE,
        compliance.PACKAGE,
        supervision.PACKAGE,
    )
