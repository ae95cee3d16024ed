"""The applicant's registration beside a recruitment case: who the applicant is (name, the ID
number masked, gender and age, education, certificate), the post applied for, and the scores
and ranking once recorded — what an officer checks a qualification, a physical or a choice of
school against.

Read from the applicant's row (``candidates.registration``) and cut by the process's one
declaration (``spec.REGISTRATION_VISIBILITY``): the officers over the case, the inspectors
and whoever handles a step of it read everything; anyone else who may open the case reads
the name and the post only. The applicant reads the same through their status lookup
(``/recruitment/status``); the public never reads a case."""

from __future__ import annotations

from sqlalchemy import Connection

from api.processes import RecordPanel, Row
from states.engine.visibility import case_file
from states.org import Actor
from states.processes.recruitment import candidates
from states.processes.recruitment.machine import APPLICANT
from states.processes.recruitment.spec import APPLICANT_SPEC, RECORD_PRIVATE

TITLE = "报名信息"


def applicant_record(conn: Connection, actor: Actor, row: Row) -> RecordPanel | None:
    """The registration of the case's applicant as ``actor`` may read it; None for a case
    they may not open (the caller has answered 404 by then)."""
    case = case_file(conn, {APPLICANT: APPLICANT_SPEC}, actor, int(row["id"]))
    if case is None:
        return None
    found = candidates.registration(conn, int(row["id"]))
    if found is None:
        return RecordPanel(TITLE, (), note="未找到该考生的报名信息")
    rows = tuple(candidates.record(found, case.viewer))
    shown = {label for label, _ in rows}
    private = {label for key, label in candidates.RECORD_LABELS if key in RECORD_PRIVATE}
    note = "身份证号已隐去出生日期；成绩和排名在录入后显示"
    if not shown & private:
        note = "身份证号、学历、成绩等仅限管辖范围内的人事干部、督查人员和考生本人查阅"
    elif found.voided_at is not None:
        note = "该报名已作为冒名报名注销，仅留存备查"
    return RecordPanel(TITLE, rows, note=note)


__all__ = ["applicant_record"]
