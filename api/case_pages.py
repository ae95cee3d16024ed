"""The case list and one case's page: its record, timeline, diagram and the forms for what
the signed-in person may do on it now.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response
from markupsafe import Markup
from sqlalchemy import Connection, select
from starlette.datastructures import FormData, UploadFile

from api import webkit
from api.files import UploadRejected
from api.inbox_pages import TASK_KINDS, applicant_names
from api.present import event_label
from api.processes import web_of
from api.routes import case_detail, detail_out
from api.webkit import FieldView, Posted, Problem, SignedIn, Who
from states.blocks.panel import VOTE_CHOICES
from states.engine import OPINIONS, SIGN_POSITIONS, FireResult
from states.engine.annotate import CLOSED_FILE
from states.errors import FormError, NotFound, PermissionDenied, RenshiError
from states.org import ROLE_LABELS, SCOPE_ROLES, SYSTEM, Actor, path_ids
from states.process.diagram import diagram_svg
from states.process.forms import COMMENT, Field, Form
from states.process.package import Catalogue
from states.process.spec import TERMINAL_NEGATIVE, ProcessSpec
from states.store import queries
from states.store.db import reader
from states.store.models import CaseCopy, OrgUnit, Person, RoleBinding, Task

CASES_PAGE: Final = 20


# The case page's smaller forms, declared like an event's form so they draw the same way.
OPINION: Final = Field("opinion", "签署意见", "choice", choices=OPINIONS)
POSITION: Final = Field("position", "加签方式", "choice", choices=SIGN_POSITIONS)
REMARK: Final = Field("comment", "意见", max_length=1000)
COPY_NOTE: Final = Field("note", "抄送说明", required=False, max_length=1000)
REMARK_OPTIONAL: Final = Field("comment", "转交说明", required=False, max_length=1000)
# An event whose own form asks for its reasons draws no second opinion box: its reason is
# the opinion (退回补正、不予通过 and the like carry a 理由).
OWN_OPINION: Final = frozenset({"reason", "comment"})

# Signed in, with the form's CSRF token right; otherwise off to sign in and back to the page
# the form was on (or the 403 page).
OnCase = Annotated[Who, Depends(webkit.guarded("/cases/{case_id}"))]

case_pages = APIRouter(include_in_schema=False)


# --- case list -------------------------------------------------------------------------------
def _state_options(catalogue: Catalogue) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for spec in catalogue.values():
        for state in spec.states:
            seen.setdefault(state, spec.state_label(state))
    return list(seen.items())


@case_pages.get("/cases")
def cases(
    request: Request,
    who: SignedIn,
    state: str = "",
    year: str = "",
    applicant: str = "",
    process: str = "",
    page: str = "1",
) -> Response:
    states = _state_options(webkit.catalogue(request))
    state = state if state in dict(states) else ""
    process = process if process in webkit.catalogue(request) else ""
    year_value = webkit.parse_id(year.strip())
    year_value = year_value if year_value is not None and 2000 <= year_value <= 2100 else None
    applicant = applicant.strip()
    applicant = applicant[:32] if all(ord(c) >= 32 for c in applicant) else ""
    page_no = min(webkit.parse_id(page) or 1, 100_000)
    with reader(who.svc.db).connect() as conn:
        result = queries.list_cases(
            conn,
            who.actor,
            process=process or None,
            state=state or None,
            year=year_value,
            applicant=applicant or None,
            finders=webkit.catalogue(request).finders,
            page=page_no,
            page_size=CASES_PAGE,
        )
        names = applicant_names(webkit.catalogue(request), conn, result.items, "id")
    items = [
        {
            **row,
            "applicant_name": row["applicant_name"] or names.get(row["id"]),
            "process_label": webkit.catalogue(request)[row["process"]].label,
            "state_label": webkit.catalogue(request)[row["process"]].state_label(row["state"]),
            "updated": webkit.local(row["updated_at"]),
        }
        for row in result.items
    ]
    query = {
        k: v
        for k, v in {
            "state": state,
            "year": str(year_value or ""),
            "applicant": applicant,
            "process": process,
        }.items()
        if v
    }
    return webkit.render(
        request,
        "cases.html",
        who,
        {
            "nav": "cases",
            "items": items,
            "total": result.total,
            "page": page_no,
            "pages": max(1, -(-result.total // CASES_PAGE)),
            "states": states,
            "processes": [(n, p.label) for n, p in webkit.catalogue(request).items()],
            "filters": {
                "state": state,
                "year": str(year_value or ""),
                "applicant": applicant,
                "process": process,
            },
            "query": urlencode(query),
        },
    )


# --- one case --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    at: str
    actor: str
    label: str
    move: str | None
    notes: list[tuple[str, str]]


@dataclass(frozen=True)
class Action:
    event: str
    label: str
    tone: str
    fields: list[FieldView]
    comment: FieldView | None  # the generic opinion box, unless the form has its own
    error: str | None  # an error of this form that no field of it owns
    open: bool  # drawn unfolded: the usual decision, or the form the last error came from


def _names(conn: Connection, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = conn.execute(select(Person.id, Person.name).where(Person.id.in_(wanted)))
    return {r.id: r.name for r in rows}


def _people_in(payload: Mapping[str, Any]) -> list[int]:
    out: list[int] = []
    for key in ("signer", "to"):
        value = payload.get(key)
        if isinstance(value, int):
            out.append(value)
        elif isinstance(value, list):
            out.extend(v for v in value if isinstance(v, int))
    votes = payload.get("votes")
    if isinstance(votes, dict):
        out.extend(int(p) for p in votes if str(p).isdigit())
    return out


def _notes(
    spec: ProcessSpec, event: str, payload: Mapping[str, Any], names: Mapping[int, str]
) -> list[tuple[str, str]]:
    """What a timeline row says besides who and what: opinions, reasons and the like.

    ``payload`` is already what this reader may see (states/engine/visibility.py): an
    objection's content and its objector's name and telephone reach only officers and
    inspectors, a committee's votes only those who answer for it, the rest the tally.
    """
    ev = spec.events.get(event)
    fields = {f.name: f for f in ev.form.fields} if ev is not None else {}

    def person(pid: Any) -> str:
        return names.get(pid, f"人员{pid}") if isinstance(pid, int) else str(pid)

    # a correction keeps the old values of what it changed beside the new (``before``, cut
    # for this reader field by field as the fields are): each drawn "出勤天数：21 → 20"
    before = payload.get("before")
    was: Mapping[str, Any] = before if isinstance(before, Mapping) else {}

    def shown(f: Field, value: Any) -> str:
        return "（空）" if value is None or value == "" else webkit.show(f, value)

    out: list[tuple[str, str]] = []
    for key, value in payload.items():
        if key in was and key in fields:
            out.append(
                (fields[key].label, f"{shown(fields[key], was[key])} → {shown(fields[key], value)}")
            )
            continue
        if value is None or value == "":
            continue
        if key in fields:
            out.append((fields[key].label, webkit.show(fields[key], value)))
        elif key == "comment":
            out.append(("意见", str(value)))
        elif key == "reason":
            out.append(("否决理由" if event == spec.reject_event else "理由", str(value)))
        elif key == "opinion":
            out.append(("签署意见", OPINIONS.get(str(value), str(value))))
        elif key == "position":
            out.append(("加签方式", SIGN_POSITIONS.get(str(value), str(value))))
        elif key == "signer":
            out.append(("加签人", person(value)))
        elif key == "to":
            people = value if isinstance(value, list) else [value]
            word = "转交给" if event == "transfer" else "抄送给"
            out.append((word, "、".join(person(p) for p in people) or "无"))
        elif key == "filename":
            out.append(("文件", str(value)))
        elif key == "event":
            out.append(("待生效决定", event_label(spec, str(value))))
        elif key == "requested":
            out.append(("原办理操作", event_label(spec, str(value))))
        elif key == "tally" and isinstance(value, dict):
            out.append(("表决结果", _tally_text(value)))
        elif key == "votes" and isinstance(value, dict):
            cast = (
                f"{person(int(p)) if str(p).isdigit() else p}：{VOTE_CHOICES.get(v, '未投票')}"
                for p, v in value.items()
            )
            out.append(("各评委表决", "；".join(cast)))
    return out


def timeline_notes(
    conn: Connection, spec: ProcessSpec, trail: Sequence[Mapping[str, Any]]
) -> list[list[tuple[str, str]]]:
    """What each row of a trail (already cut for its reader) says besides who and what, in
    the timeline's words: the audit dossier (api/dossier.py) prints them as the page shows
    them."""
    names = _names(conn, (p for e in trail for p in _people_in(e["payload"])))
    return [
        [] if e["event"] == "create" else _notes(spec, e["event"], e["payload"], names)
        for e in trail
    ]


def _tally_text(t: Mapping[str, Any]) -> str:
    quorum = "达到" if t.get("quorum") else "未达到"
    return (
        f"同意{t.get('yes', 0)}票、不同意{t.get('no', 0)}票、弃权{t.get('abstain', 0)}票；"
        f"评委{t.get('drawn', 0)}人，{quorum}法定人数"
    )


def _staff_over(
    conn: Connection, org_path: str, actor: Actor, *, leave_out: Iterable[int] = ()
) -> list[tuple[str, str]]:
    """Staff who answer for the case: a unit-wide role at one of the units on its path.
    Exactly whom the engine accepts as an added signer (加签) and as a copy's recipient
    (抄送), so the pickers offer no one it would refuse."""
    skip = {actor.person_id or -1, *leave_out}
    rows = conn.execute(
        select(Person.id, Person.name, RoleBinding.role, OrgUnit.name.label("unit"))
        .join(RoleBinding, RoleBinding.person_id == Person.id)
        .join(OrgUnit, OrgUnit.id == RoleBinding.org_unit_id)
        .where(
            OrgUnit.id.in_(path_ids(org_path)),
            RoleBinding.role.in_(sorted(SCOPE_ROLES - {SYSTEM})),
            Person.active.is_(True),
            Person.id.not_in(sorted(skip)),
        )
        .order_by(OrgUnit.path.desc(), Person.id)
        .limit(200)
    ).all()
    out: dict[str, str] = {}
    for r in rows:
        out.setdefault(str(r.id), f"{r.name}（{r.unit}·{ROLE_LABELS.get(r.role, r.role)}）")
    return list(out.items())


def _colleagues(
    conn: Connection, role: str | None, unit_id: int | None, actor: Actor
) -> list[tuple[str, str]]:
    """Who a task may be handed to (转交): the others holding its role at its unit."""
    if role is None or unit_id is None:
        return []
    rows = conn.execute(
        select(Person.id, Person.name)
        .join(RoleBinding, RoleBinding.person_id == Person.id)
        .where(
            RoleBinding.role == role,
            RoleBinding.org_unit_id == unit_id,
            Person.active.is_(True),
            Person.id != (actor.person_id or -1),
        )
        .order_by(Person.id)
        .limit(200)
    ).all()
    return [(str(r.id), r.name) for r in rows]


@dataclass(frozen=True)
class Transfer:
    """The 转交 form for one task of this reader's."""

    task_id: int
    state_label: str
    fields: list[FieldView]


@dataclass(frozen=True)
class CopyForm:
    """The 抄送 form: whom it may go to (ticked again after a refusal), a note."""

    people: list[tuple[str, str, bool]]
    error: str | None
    note: FieldView


def _case_page(
    request: Request,
    who: Who,
    case_id: int,
    *,
    problem: Problem | None = None,
    status: int = 200,
) -> Response:
    from api import dossier  # it prints this page's timeline words (timeline_notes)

    svc, actor = who.svc, who.actor
    try:
        case = case_detail(svc, actor, case_id, with_trail=True)
    except NotFound:
        return webkit.not_found(request, who)
    detail = detail_out(svc, actor, case, web_of(request))
    spec, row, data, trail = case.spec, case.row, case.data, case.trail
    closed = detail.closed_at is not None
    mine = next((t for t in detail.tasks if t.id in detail.may_transfer), None)
    with reader(svc.db).connect() as conn:
        files = queries.attachments(conn, case_id)
        candidates = _staff_over(conn, row["org_path"], actor) if detail.may_add_signer else []
        names = _names(conn, (p for e in trail for p in _people_in(e["payload"])))
        colleagues = _colleagues(conn, mine.role, mine.unit_id, actor) if mine else []
        recipients = (
            _staff_over(
                conn,
                row["org_path"],
                actor,
                leave_out=conn.execute(
                    select(CaseCopy.person_id).where(CaseCopy.case_id == case_id)
                ).scalars(),
            )
            if detail.may_copy and not closed
            else []
        )
    officer = actor.sees(row["org_path"])
    facts = [
        (f.label, webkit.show(f, data[f.name]))
        for f in spec.start_form.fields
        if data.get(f.name) not in (None, "")
    ]
    back_with = spec.states[detail.state].actor
    if data.get("return_reason") and back_with is not None and back_with.applicant:
        facts.append(("退回原因", str(data["return_reason"])))
    pending = data.get("pending_decision")
    steps = [
        Step(
            at=webkit.local(e["at"]),
            actor=e["actor_label"],
            label=event_label(webkit.catalogue(request)[detail.process], e["event"]),
            move=(
                f"{spec.state_label(e['from_state'])} → {spec.state_label(e['to_state'])}"
                if e["from_state"] and e["from_state"] != e["to_state"]
                else (spec.state_label(e["to_state"]) if not e["from_state"] else None)
            ),
            notes=[] if e["event"] == "create" else _notes(spec, e["event"], e["payload"], names),
        )
        for e in trail
    ]
    actions = []
    for name in detail.may:
        ev = spec.events[name]
        where = f"event:{name}"
        failed = problem if problem is not None and problem.where == where else None
        own_opinion = any(f.name in OWN_OPINION for f in ev.form.fields)
        actions.append(
            Action(
                event=name,
                label=ev.label,
                # ending a case is red, sending it back is plain (each event's declared style)
                tone="" if ev.style == "primary" else ev.style,
                fields=[webkit.field_view(f, name, problem, where) for f in ev.form.fields],
                comment=None if own_opinion else webkit.field_view(COMMENT, name, problem, where),
                error=failed.message if failed is not None and failed.field is None else None,
                open=failed is not None or ev.style == "primary",
            )
        )
    transfer = (
        Transfer(
            task_id=mine.id,
            state_label=spec.state_label(mine.state),
            fields=[
                webkit.field_view(
                    Field("to_person_id", "转交给", "choice", choices=dict(colleagues)),
                    "transfer",
                    problem,
                    "transfer",
                ),
                webkit.field_view(REMARK_OPTIONAL, "transfer", problem, "transfer"),
            ],
        )
        if mine is not None and colleagues and not closed
        else None
    )
    copy_form = None
    if recipients:
        ticked = set(problem.values.get("person_ids", "").split(",")) if problem else set()
        where_copy = problem is not None and problem.where == "copies"
        copy_form = CopyForm(
            people=[(pid, label, where_copy and pid in ticked) for pid, label in recipients],
            error=problem.message if where_copy and problem is not None else None,
            note=webkit.field_view(COPY_NOTE, "copies", problem, "copies"),
        )
    objections = data.get("objections", [])
    return webkit.render(
        request,
        "case.html",
        who,
        {
            "nav": "cases",
            "case": detail,
            "spec_label": spec.label,
            "facts": facts,
            "record": detail.record,
            "pending": event_label(webkit.catalogue(request)[detail.process], pending["event"])
            if pending
            else None,
            # a 前加签 not yet signed: the decision waits for it (the engine would refuse it)
            "waiting_on": (
                ("、".join(n for n in detail.waiting_on if n) or "加签人")
                if detail.waiting_on
                else None
            ),
            "sign_first": any(
                t.kind == "sign" and t.position == "before" and t.assignee_id == actor.person_id
                for t in detail.tasks
            ),
            "tasks": [
                {
                    **t.model_dump(),
                    "state_label": spec.state_label(t.state),
                    "kind_label": TASK_KINDS.get(t.kind, t.kind),
                    "role_label": ROLE_LABELS.get(t.role or "", t.role or ""),
                }
                for t in detail.tasks
            ],
            # diagram_svg escapes every label it draws, so its markup is safe to embed.
            "diagram": Markup(diagram_svg(spec, current=detail.state)),
            "steps": steps,
            "files": files,
            "actions": actions,
            "countersign_fields": (
                [
                    webkit.field_view(f, "countersign", problem, "countersign")
                    for f in (OPINION, COMMENT)
                ]
                if detail.may_countersign
                else []
            ),
            "signer_fields": (
                [
                    webkit.field_view(
                        Field("person_id", "加签人", "choice", choices=dict(candidates)),
                        "signers",
                        problem,
                        "signers",
                    ),
                    *(
                        webkit.field_view(f, "signers", problem, "signers")
                        for f in (POSITION, COMMENT)
                    ),
                ]
                if detail.may_add_signer
                else []
            ),
            "transfer": transfer,
            "copy": copy_form,
            "may_comment": detail.may_comment,
            "comment_field": webkit.field_view(REMARK, "remark", problem, "comment"),
            "upload_error": problem.message if problem and problem.where == "upload" else None,
            # an ended case is what was decided on: nothing more goes into its file
            "may_upload": not closed and (officer or actor.person_id == row["applicant_id"]),
            # 催办: an officer over the case may press whoever holds its open work
            "may_urge": officer
            and not closed
            and any(
                t.kind in ("act", "sign") and t.assignee_id != actor.person_id for t in detail.tasks
            )
            and not detail.may,
            "objections": objections,
            "problem": problem,
            "once": secrets.token_urlsafe(12),
            "closed": closed,
            # an end that is not a success (未通过、已撤回) is not drawn in success's green
            "ended_otherwise": closed and TERMINAL_NEGATIVE in spec.states[detail.state].tags,
            "closed_on": webkit.local(detail.closed_at) if detail.closed_at else None,
            # 审计档案: for the inspectors and the officers over the case (api/dossier.py)
            "dossier": dossier.page_link(actor, row),
        },
        status=status,
    )


def _json(text: Any) -> dict[str, Any]:
    value = json.loads(text) if isinstance(text, str) else text
    return value if isinstance(value, dict) else {}


@case_pages.get("/cases/{case_id}")
def case(request: Request, case_id: str, who: SignedIn) -> Response:
    cid = webkit.parse_id(case_id)
    if cid is None:
        return webkit.not_found(request, who)
    return _case_page(request, who, cid)


def _fired_message(spec: ProcessSpec, result: FireResult) -> str:
    if result.event == "hold":
        return "您的决定已记录，待加签人签署意见后生效"
    if result.event == spec.reject_event:
        return f"事项因规则否决未通过：{result.reason or ''}"
    return (
        f"已办理「{event_label(spec, result.event)}」，"
        f"事项当前状态：{spec.state_label(result.to_state)}"
    )


def _version(form: FormData) -> int:
    """The version the page was drawn at; a missing one counts as stale (version 0)."""
    return webkit.parse_id(webkit.text(form, "expected_version")) or 0


@case_pages.post("/cases/{case_id}/fire")
def fire(request: Request, case_id: str, form: Posted, who: OnCase) -> Response:
    cid = webkit.parse_id(case_id)
    if cid is None:
        return webkit.not_found(request, who)
    with reader(who.svc.db).connect() as conn:
        row = queries.get_case(conn, who.actor, cid)
    if row is None:
        return webkit.not_found(request, who)
    spec = webkit.catalogue(request)[row["process"]]
    event = webkit.text(form, "event")
    ev = spec.events.get(event)
    payload, values = webkit.payload(ev.form if ev is not None else Form(), form)
    try:
        result = who.svc.engine.fire(
            cid,
            event,
            who.actor,
            payload,
            expected_version=_version(form),
            idempotency_key=webkit.once_key(who, form, event),
        )
    except NotFound:
        return webkit.not_found(request, who)
    except RenshiError as exc:
        names = [f.name for f in ev.form.fields] if ev is not None else []
        problem = webkit.problem(exc, f"event:{event}", [*names, "comment"], values)
        return _case_page(request, who, cid, problem=problem, status=exc.status)
    return webkit.redirect(
        f"/cases/{cid}", _fired_message(spec, result), secure_cookie=who.svc.secure_cookies
    )


def _annotation(
    request: Request,
    who: Who,
    case_id: str,
    form: FormData,
    where: str,
    fields: Sequence[str],
    act: Callable[[Who, int, Mapping[str, str]], str | None],
    done: str,
    *,
    values: Mapping[str, str] | None = None,
) -> Response:
    """The shared shape of the smaller case forms (guarded by ``OnCase``): act, then
    redirect (with what ``act`` says was done, or ``done``) or redraw."""
    cid = webkit.parse_id(case_id)
    if cid is None:
        return webkit.not_found(request, who)
    got = {name: webkit.text(form, name) for name in fields}
    got.update(values or {})
    try:
        said = act(who, cid, got)
    except NotFound:
        return webkit.not_found(request, who)
    except RenshiError as exc:
        problem = webkit.problem(exc, where, fields, got)
        return _case_page(request, who, cid, problem=problem, status=exc.status)
    return webkit.redirect(f"/cases/{cid}", said or done, secure_cookie=who.svc.secure_cookies)


@case_pages.post("/cases/{case_id}/urge")
def urge(request: Request, case_id: str, form: Posted, who: OnCase) -> Response:
    def act(who: Who, cid: int, values: Mapping[str, str]) -> None:
        who.svc.engine.urge(cid, who.actor, values["note"] or None)

    return _annotation(
        request, who, case_id, form, "urge", ["note"], act, "已催办，办理人将收到提醒"
    )


@case_pages.post("/cases/{case_id}/comment")
def comment(request: Request, case_id: str, form: Posted, who: OnCase) -> Response:
    def act(who: Who, cid: int, values: Mapping[str, str]) -> None:
        who.svc.engine.comment(cid, who.actor, values["comment"])

    return _annotation(request, who, case_id, form, "comment", ["comment"], act, "意见已发表")


@case_pages.post("/cases/{case_id}/signers")
def add_signer(request: Request, case_id: str, form: Posted, who: OnCase) -> Response:
    def act(who: Who, cid: int, values: Mapping[str, str]) -> None:
        person = webkit.parse_id(values["person_id"])
        if person is None:
            raise FormError("person_id", "请选择加签人")
        who.svc.engine.add_signer(
            cid,
            who.actor,
            person,
            values["position"],
            expected_version=_version(form),
            comment=values["comment"].strip() or None,
        )

    return _annotation(
        request,
        who,
        case_id,
        form,
        "signers",
        ["person_id", "position", "comment"],
        act,
        "已加签，待加签人签署意见",
    )


@case_pages.post("/cases/{case_id}/countersign")
def countersign(request: Request, case_id: str, form: Posted, who: OnCase) -> Response:
    def act(who: Who, cid: int, values: Mapping[str, str]) -> None:
        who.svc.engine.countersign(
            cid,
            who.actor,
            values["opinion"],
            expected_version=_version(form),
            comment=values["comment"].strip() or None,
        )

    return _annotation(
        request, who, case_id, form, "countersign", ["opinion", "comment"], act, "加签意见已签署"
    )


@case_pages.post("/cases/{case_id}/transfer")
def transfer(request: Request, case_id: str, form: Posted, who: OnCase) -> Response:
    """转交: one of my tasks on this case to a colleague holding its role at its unit."""

    def act(who: Who, cid: int, values: Mapping[str, str]) -> str:
        task = webkit.parse_id(values["task_id"])
        with reader(who.svc.db).connect() as conn:
            on_case = (
                conn.execute(select(Task.case_id).where(Task.id == task)).scalar()
                if task is not None
                else None
            )
            if on_case != cid:
                raise FormError("to_person_id", "此待办不属于本事项，或已办结")
            to = webkit.parse_id(values["to_person_id"])
            if to is None:
                raise FormError("to_person_id", "请选择接收人")
            name = conn.execute(select(Person.name).where(Person.id == to)).scalar()
        assert task is not None
        who.svc.engine.transfer(
            task,
            to,
            who.actor,
            expected_version=_version(form),
            comment=values["comment"].strip() or None,
        )
        return f"待办已转交给{name}"

    return _annotation(
        request,
        who,
        case_id,
        form,
        "transfer",
        ["task_id", "to_person_id", "comment"],
        act,
        "待办已转交",
    )


@case_pages.post("/cases/{case_id}/copies")
def copy(request: Request, case_id: str, form: Posted, who: OnCase) -> Response:
    """抄送: the engine takes only staff who answer for the case and names anyone else."""
    picked = [v for v in form.getlist("person_ids") if isinstance(v, str)]

    def act(who: Who, cid: int, values: Mapping[str, str]) -> None:
        ids = [webkit.parse_id(v) for v in picked]
        if any(i is None for i in ids):
            raise FormError("person_ids", "抄送对象无效，请从列表中选择")
        who.svc.engine.copy_to(
            cid, who.actor, [i for i in ids if i is not None], values["note"].strip() or None
        )

    return _annotation(
        request,
        who,
        case_id,
        form,
        "copies",
        ["person_ids", "note"],
        act,
        "已抄送，对方可查阅本事项",
        values={"person_ids": ",".join(picked)},
    )


@case_pages.post("/cases/{case_id}/attachments")
def upload(request: Request, case_id: str, form: Posted, who: OnCase) -> Response:
    upload_file = form.get("file")

    def act(who: Who, cid: int, values: Mapping[str, str]) -> None:
        if not isinstance(upload_file, UploadFile) or not upload_file.filename:
            raise FormError("file", "请选择要上传的文件")
        with reader(who.svc.db).connect() as conn:
            row = queries.get_case(conn, who.actor, cid)
        if row is None:
            raise NotFound("事项不存在")
        if row["closed_at"] is not None:  # refused before the file is kept, as the engine does
            raise PermissionDenied(CLOSED_FILE)
        try:
            stored = who.svc.files.save(upload_file.filename, upload_file.file)
        except UploadRejected as exc:
            raise FormError("file", str(exc)) from None
        who.svc.engine.record_attachment(
            cid,
            who.actor,
            filename=stored.filename,
            content_type=stored.content_type,
            size=stored.size,
            sha256=stored.sha256,
        )

    return _annotation(request, who, case_id, form, "upload", ["file"], act, "附件已上传")


@case_pages.get("/cases/{case_id}/attachments/{attachment_id}")
def download(request: Request, case_id: str, attachment_id: str, who: SignedIn) -> Response:
    cid, aid = webkit.parse_id(case_id), webkit.parse_id(attachment_id)
    row = None
    if cid is not None and aid is not None:
        with reader(who.svc.db).connect() as conn:
            row = queries.attachment(conn, who.actor, aid)
    if row is None or row["case_id"] != cid:
        return webkit.not_found(request, who, "附件不存在")
    path = who.svc.files.path(row["sha256"])
    if not path.is_file():
        return webkit.not_found(request, who, "附件文件不存在")
    response = FileResponse(path, media_type=row["content_type"], filename=row["filename"])
    return webkit.secure(response)
