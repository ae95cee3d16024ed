"""Rows as the API and the pages show them: labels in Chinese, personal numbers masked."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from api import schemas as s
from states.engine import ANNOTATION_LABELS
from states.identity import mask_id_number
from states.org import TITLE_LABELS
from states.process.forms import Field
from states.process.package import Catalogue
from states.process.spec import ProcessSpec
from states.registry.roster import STATUSES as TEACHER_STATUSES


def event_label(spec: ProcessSpec, event: str) -> str:
    if event in spec.events:
        return spec.events[event].label
    return ANNOTATION_LABELS.get(event, event)


def field_out(f: Field) -> s.FieldOut:
    return s.FieldOut(
        name=f.name,
        label=f.label,
        kind=f.kind,
        required=f.required,
        choices=dict(f.choices) if f.choices else None,
        max_length=f.max_length if f.kind == "text" else None,
    )


def case_summary(catalogue: Catalogue, row: Mapping[str, Any]) -> s.CaseSummary:
    spec = catalogue[row["process"]]
    return s.CaseSummary(
        id=row["id"],
        process=row["process"],
        year=row["year"],
        state=row["state"],
        state_label=spec.state_label(row["state"]),
        version=row["version"],
        unit_id=row["org_unit_id"],
        unit_name=row["unit_name"],
        applicant_id=row["applicant_id"],
        applicant_name=row["applicant_name"],
        opened_at=row["opened_at"],
        updated_at=row["updated_at"],
        closed_at=row["closed_at"],
    )


def task_out(t: Mapping[str, Any], today: dt.date) -> s.TaskOut:
    due = t["due_on"]
    return s.TaskOut(
        id=t["id"],
        state=t["state"],
        kind=t["kind"],
        role=t["role"],
        unit_id=t["org_unit_id"],
        unit_name=t["unit_name"],
        assignee_id=t["assignee_id"],
        assignee_name=t["assignee_name"],
        due_on=due,
        due_flag=t["due_flag"],
        overdue=bool(due is not None and due < today and t["status"] == "open"),
        position=t["position"],
    )


def audit_row(spec: ProcessSpec, e: Mapping[str, Any]) -> s.AuditOut:
    return s.AuditOut(
        seq=e["seq"],
        at=e["at"],
        actor_id=e["actor_id"],
        actor_label=e["actor_label"],
        event=e["event"],
        event_label=event_label(spec, e["event"]),
        from_state=e["from_state"],
        to_state=e["to_state"],
        payload=e["payload"],
        hash=e["hash"],
        redacted=e["redacted"],
    )


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return None
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


def masked_publicity(spec: ProcessSpec, row: Mapping[str, Any], detail: str) -> s.PublicityItem:
    """A publicity entry as the public sees it; ``detail`` is the process's own line (what
    the person is publicised for)."""
    return s.PublicityItem(
        case_id=row["id"],
        process_label=spec.label,
        stage=spec.state_label(row["state"]),
        name=row["applicant_name"],
        id_number=mask_id_number(row["id_number"]) if row["id_number"] else None,
        phone=mask_phone(row["phone"]),
        unit_name=row["unit_name"],
        detail=detail,
        until=row["due_on"],
    )


def teacher_out(t: Mapping[str, Any]) -> s.TeacherOut:
    return s.TeacherOut(
        person_id=t["person_id"],
        name=t["name"],
        id_number=t["id_number"],
        phone=t["phone"],
        school_id=t["school_id"],
        school_name=t["school_name"],
        gender=t["gender"],
        birth_date=t["birth_date"],
        subject=t["subject"],
        school_level=t["school_level"],
        title=t["title"],
        title_label=TITLE_LABELS.get(t["title"], t["title"]),
        title_date=t["title_date"],
        education=t["education"],
        rural_years=t["rural_years"],
        backbone_level=t["backbone_level"],
        started_teaching_on=t.get("started_teaching_on"),
        joined_school_on=t.get("joined_school_on"),
        cert_level=t.get("cert_level"),
        cert_no=t.get("cert_no"),
        cert_registered_on=t.get("cert_registered_on"),
        status=t.get("status") or "active",
        status_label=TEACHER_STATUSES.get(t.get("status") or "active", ""),
        status_since=t.get("status_since"),
        version=t.get("version") or 1,
    )
