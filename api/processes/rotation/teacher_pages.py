"""A teacher's own page of a campaign (``/rotation/{id}/me``): am I on the list and why, my
exemption application (with its evidence, into the exemption's case: school, then county),
my preferences (up to three schools offering a post of my subject and level, within the
window), and once the result is published my placement with its reason and, once
dispatched, my term.

Only the teacher's own line is read (``lists.my_status``, ``results`` through it), the
posts everyone in the county reads, and the placement's case as the engine shows it to them
(``case_file``: the declared visibility)."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from api import webkit
from api.processes.rotation.pages import At, campaign_for, home_of, teaches_in
from api.webkit import Posted, Problem, SignedIn, Who
from states.engine.visibility import case_file
from states.errors import FormError, RenshiError
from states.org import SCHOOL_LEVELS
from states.processes.rotation import exemptions, lists, posts
from states.processes.rotation.facts import BEFORE_RESULT
from states.processes.rotation.machine import EXEMPTION
from states.processes.rotation.spec import EXEMPTION_FORM
from states.store.db import reader

teacher_pages = APIRouter(include_in_schema=False)

PENDING: Final = ("draft", "school_review", "county_review")
SLOTS: Final = lists.MAX_PREFERENCES


def _viewing(request: Request, campaign_id: str, who: SignedIn) -> At:
    return campaign_for(request, who, campaign_id)


OnMine = Annotated[Who, Depends(webkit.guarded("/rotation/{campaign_id}/me"))]


def _posting(request: Request, campaign_id: str, who: OnMine) -> At:
    at = campaign_for(request, who, campaign_id)
    if not teaches_in(who.actor, at.c):
        raise webkit.Halt(webkit.not_found(request, who, "交流轮岗工作不存在"))
    return at


Viewing = Annotated[At, Depends(_viewing)]
Posting = Annotated[At, Depends(_posting)]


def _term(who: Who, case_id: int | None) -> dict[str, Any]:
    """The placement's case data the teacher reads: dispatched, the term's end, extensions,
    the return."""
    if case_id is None:
        return {}
    with reader(who.svc.db).connect() as conn:
        found = case_file(conn, who.svc.engine.processes, who.actor, int(case_id))
    return dict(found.data) if found is not None else {}


def _page(
    request: Request,
    at: At,
    *,
    problem: Problem | None = None,
    status: int = 200,
) -> Response:
    who, c = at.who, at.c
    engine = who.svc.engine
    m = lists.my_status(engine, who.actor, at.cid)
    me = m.listed
    fitting = []
    if me is not None:
        fitting = [
            p
            for p in posts.post_lines(engine, who.actor, at.cid)
            if p.subject == me.subject
            and p.level == me.level
            and p.places > 0
            and p.school_id != me.school_id
        ]
    today = who.svc.today()
    window_open = c.state == "preferences" and c.preferences_open <= today <= c.preferences_close
    mine = [
        x
        for x in exemptions.exemptions(engine, who.actor, at.cid)
        if x.person_id == who.actor.person_id
    ]
    pending = any(x.state in PENDING for x in mine)
    chosen = _chosen(problem, me, fitting)
    placement = m.placement
    return webkit.render(
        request,
        "rotation/teacher.html",
        who,
        {
            "nav": "/rotation",
            "c": c,
            "m": m,
            "own": me,
            "fitting": fitting,
            "chosen": chosen,
            "slots": range(1, SLOTS + 1),
            "window_open": window_open,
            "before_window": c.state == "preferences" and today < c.preferences_open,
            "exemptions": mine,
            "may_apply": me is not None
            and me.exempt_case_id is None
            and c.state in BEFORE_RESULT
            and not pending,
            "kinds": list(c.exemption_kinds or ()),
            "placement": placement,
            "term": _term(who, placement.get("case_id") if placement else None),
            "levels": SCHOOL_LEVELS,
            "home": home_of(who.actor, c),
            "problem": problem,
            "kept": problem.values if problem is not None else {},
        },
        status=status,
    )


def _chosen(problem: Problem | None, me: Any, fitting: list[Any]) -> list[str]:
    """What each of the three selects shows: the last attempt, or the stated preferences
    (schools by name, as the list keeps them)."""
    if problem is not None and problem.where == "preferences":
        return [problem.values.get(f"school_{n}", "") for n in range(1, SLOTS + 1)]
    ids = {p.school: str(p.school_id) for p in fitting}
    stated = [ids.get(name, "") for name in (me.preferences if me is not None else ())]
    return (stated + [""] * SLOTS)[:SLOTS]


@teacher_pages.get("/rotation/{campaign_id}/me")
def my_page(request: Request, at: Viewing) -> Response:
    if not teaches_in(at.who.actor, at.c):
        home = home_of(at.who.actor, at.c)
        if home is None:
            return webkit.not_found(request, at.who, "交流轮岗工作不存在")
        return webkit.redirect(home)
    return _page(request, at)


def _schools(form: FormData) -> tuple[list[int], dict[str, str]]:
    """The schools in the order the selects give them (a blank select skipped), and the
    raw values to redraw the form with. More than three are passed on: the list refuses."""
    raw = [v for v in form.getlist("school") if isinstance(v, str)]
    values = {f"school_{n}": v for n, v in enumerate(raw, start=1)}
    ids: list[int] = []
    for n, v in enumerate(raw, start=1):
        if not v.strip():
            continue
        parsed = webkit.parse_id(v.strip())
        if parsed is None:
            raise FormError("schools", f"第{n}志愿学校无效")
        ids.append(parsed)
    return ids, values


@teacher_pages.post("/rotation/{campaign_id}/preferences")
def state_preferences(request: Request, form: Posted, at: Posting) -> Response:
    who = at.who
    withdraw = webkit.text(form, "withdraw") == "1"
    values: dict[str, str] = {}
    try:
        schools, values = _schools(form)
        if withdraw:
            schools = []
        elif not schools:
            raise FormError(
                "schools", "请至少选择1所志愿学校；如需撤回已填报的志愿，请点击“撤回志愿”"
            )
        names = lists.set_preferences(who.svc.engine, who.actor, at.cid, schools)
    except RenshiError as exc:
        field = "schools" if exc.field == "schools" else None
        problem = Problem("preferences", webkit.said(exc), field, values)
        return _page(request, at, problem=problem, status=exc.status)
    done = (
        "已撤回志愿"
        if not names
        else "已填报志愿：" + "、".join(f"第{n}志愿{name}" for n, name in enumerate(names, start=1))
    )
    return webkit.redirect(f"/rotation/{at.cid}/me", done, secure_cookie=who.svc.secure_cookies)


@teacher_pages.post("/rotation/{campaign_id}/exemption")
def apply_exemption(request: Request, form: Posted, at: Posting) -> Response:
    """The application with its evidence: the form checked, the file stored and put on the
    case, then submitted to the school — the steps the JSON API takes, in its order."""
    who = at.who
    values = {"kind": webkit.text(form, "kind"), "statement": webkit.text(form, "statement")}
    evidence = form.get("evidence")
    try:
        EXEMPTION_FORM.validate({"campaign_id": at.cid, **values})
        if not isinstance(evidence, UploadFile) or not (evidence.filename or "").strip():
            raise FormError("evidence", "请上传证明材料（附件）")
        try:
            stored = who.svc.files.save(evidence.filename or "", evidence.file)
        except ValueError as exc:
            raise FormError("evidence", str(exc)) from None
        case_id, version = exemptions.open_exemption(
            who.svc.engine, who.actor, at.cid, values["kind"], values["statement"]
        )
        who.svc.engine.record_attachment(
            case_id, who.actor, filename=stored.filename, content_type=stored.content_type,
            size=stored.size, sha256=stored.sha256,
        )  # fmt: skip
        fired = who.svc.engine.fire(case_id, "submit", who.actor, {}, expected_version=version)
    except RenshiError as exc:
        field = exc.field if exc.field in ("kind", "statement", "evidence") else None
        return _page(
            request,
            at,
            problem=Problem("exemption", webkit.said(exc), field, values),
            status=exc.status,
        )
    label = who.svc.engine.processes[EXEMPTION].state_label(fired.to_state)
    return webkit.redirect(
        f"/rotation/{at.cid}/me",
        f"免于交流申请已提交（事项{case_id}），当前环节：{label}",
        secure_cookie=who.svc.secure_cookies,
    )


__all__ = ["teacher_pages"]
