"""The inbox's search box for applicants without an account: their name and ID number are in
recruitment's own table, not in ``people``, so the package names the cases they match."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, false, select

from states.processes.recruitment.tables import Applicant
from states.store.models import table_of

applicants_t = table_of(Applicant)


def find_applicants(name_part: str | None, id_number: str | None) -> Select[Any]:
    """The ids of applicant cases whose applicant's name contains ``name_part`` (wildcards
    taken literally, as the people match does) and whose ID number is ``id_number``
    (exactly: ``ix_applicants_id_number``). A registration voided as squatted still names its
    case: the officer looking the number up should see it too. Neither given: none."""
    a = applicants_t
    found = select(a.c.case_id)
    if name_part is None and id_number is None:
        return found.where(false())
    if id_number is not None:
        found = found.where(a.c.id_number == id_number)
    if name_part is not None:
        found = found.where(a.c.name.contains(name_part, autoescape=True))
    return found
