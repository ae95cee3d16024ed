"""Pages for the yearly teacher recruitment (省考、市选、县用): the public registration page,
and the officers' round page, imports, progress and post choice.

They are drawn the way the other pages are, with the same web kit (``api.webkit``: session
cookie, CSRF token in every signed-in form, errors beside the field, redirect after a POST that
worked), and they call the same functions as the JSON API (``views``), so a page and an
endpoint can never disagree on who sees what or what an import found wrong.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Annotated, Any, Final, NamedTuple
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.datastructures import FormData, UploadFile

from api import webkit
from api.deps import client_address
from api.present import mask_phone
from api.processes.recruitment import claims, views
from api.webkit import Posted, Problem, SignedIn, Who
from states.errors import FormError, NotFound, RenshiError
from states.identity import validate_phone
from states.org import (
    CITY_OFFICER,
    COUNTY_OFFICER,
    EDUCATION_LABELS,
    PROVINCE_OFFICER,
    SCHOOL_LEVELS,
    SYSTEM,
    Actor,
    path_ids,
)
from states.process.forms import Field
from states.processes.recruitment import order
from states.processes.recruitment import rounds as round_ops
from states.processes.recruitment import steps as rec
from states.processes.recruitment.spec import APPLICANT_SPEC, PLAN_SPEC
from states.processes.recruitment.tables import RecruitmentRound
from states.store.db import reader
from states.verification import issue_code

recruitment_pages = APIRouter(include_in_schema=False)

# --- public registration ---------------------------------------------------------------------
REGISTER: Final = "register"
ID_NUMBER = Field("id_number", "身份证号", max_length=18, help="18位居民身份证号，末位X请大写")
NAME = Field("name", "姓名", max_length=30)
PHONE = Field("phone", "手机号码", max_length=11, help="用于接收验证码和审查结果")
CODE = Field("code", "短信验证码", max_length=6, help="6位数字，10分钟内有效，只能用于一次报名")
EDUCATION = Field("education", "学历", "choice", choices=EDUCATION_LABELS)
CERT = Field(
    "cert_level",
    "教师资格证学段",
    "choice",
    required=False,
    choices=SCHOOL_LEVELS,
    help="尚未取得教师资格证的不选",
)
# Said instead of "a code was sent" when the deployment has no SMS channel.
NO_SMS: Final = "本系统暂未开通短信验证码，无法网上报名，请联系招聘办公室（电话见招聘公告）"
# Where an engine error about a field the form does not have is shown: the age is read
# from the ID number, so "too old" belongs beside the ID number.
FIELD_OF: Final = {"birth_date": "id_number", "gender": "id_number"}


def _post_field(posts: list[views.OpenPost]) -> Field:
    return Field(
        "post_code",
        "报考岗位",
        "choice",
        choices={p.code: f"{p.code} {p.county} {p.subject}" for p in posts},
    )


def _requirement(post: views.OpenPost) -> str:
    need = f"{EDUCATION_LABELS.get(post.min_education, post.min_education)}及以上"
    if post.cert_required:
        level = SCHOOL_LEVELS.get(post.school_level, post.school_level)
        need += f"；须持{level}及以上教师资格证"
    return need


def _register_page(
    request: Request,
    round_id: int,
    *,
    values: Mapping[str, str] | None = None,
    problem: Problem | None = None,
    sent: str | None = None,
    status: int = 200,
) -> Response:
    svc = webkit.services(request)
    rnd = views.get_round(svc, round_id)
    if rnd is None:
        return webkit.not_found(request, webkit.who(request), "招聘轮次不存在")
    posts = views.open_posts(svc, round_id)
    schools = views.post_schools(svc, round_id)
    today = svc.today()
    kept = values or {}
    fields = [
        webkit.field_view(f, "reg", problem, REGISTER, kept.get(f.name, ""))
        for f in (ID_NUMBER, NAME, PHONE, CODE, EDUCATION, CERT, _post_field(posts))
    ]
    by_name = {f.name: f for f in fields}
    return webkit.render(
        request,
        "recruitment/register.html",
        webkit.who(request),
        {
            "nav": "recruitment-register",
            "round": rnd,
            "round_id": round_id,
            "open": round_ops.registration_open(rnd, today) and bool(posts),
            "status": round_ops.registration_status(rnd, today),
            # no "a code was sent" when nothing can send one
            "sms": svc.sms,
            "posts": [
                {
                    "post": p,
                    "level": SCHOOL_LEVELS.get(p.school_level, p.school_level),
                    "schools": "、".join(f"{s}（{n}人）" for s, n in schools.get(p.code, [])),
                    "needs": _requirement(p),
                }
                for p in posts
            ],
            "before_code": [by_name[n] for n in ("id_number", "name", "phone")],
            "code": by_name["code"],
            "after_code": [by_name[n] for n in ("education", "cert_level", "post_code")],
            "problem": problem,
            "top_error": problem.message if problem and problem.field is None else None,
            "sent": sent,
        },
        status=status,
    )


def _registration_values(form: FormData) -> dict[str, str]:
    return {
        f.name: webkit.text(form, f.name).strip()
        for f in (ID_NUMBER, NAME, PHONE, CODE, EDUCATION, CERT)
    } | {"post_code": webkit.text(form, "post_code").strip()}


def _phone(values: Mapping[str, str]) -> str:
    if not values["phone"]:
        raise FormError("phone", "请填写手机号码")
    try:
        return validate_phone(values["phone"])
    except ValueError as exc:
        raise FormError("phone", str(exc)) from None


def _checked(values: Mapping[str, str], posts: list[views.OpenPost]) -> dict[str, Any]:
    """The form as the registration expects it, or the first field at fault, in the order
    the page shows them."""
    if not values["id_number"]:
        raise FormError("id_number", "请填写身份证号")
    if not values["name"]:
        raise FormError("name", "请填写姓名")
    NAME.parse(values["name"])
    phone = _phone(values)
    code = values["code"]
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        raise FormError("code", "请填写短信中的6位数字验证码" if code else "请填写短信验证码")
    if values["education"] not in EDUCATION_LABELS:
        raise FormError("education", "请选择学历")
    cert = values["cert_level"] or None
    if cert is not None and cert not in SCHOOL_LEVELS:
        raise FormError("cert_level", "请选择教师资格证学段")
    if values["post_code"] not in {p.code for p in posts}:
        raise FormError("post_code", "请选择报考岗位")
    return {**values, "phone": phone, "cert_level": cert}


def _public_problem(exc: RenshiError, values: Mapping[str, str]) -> Problem:
    field = FIELD_OF.get(exc.field or "", exc.field)
    text = webkit.said(exc)
    known = field in {"id_number", "name", "phone", "code", "education", "cert_level", "post_code"}
    return Problem(REGISTER, text, field if known else None, values)


@recruitment_pages.get("/recruitment/{round_id}/register")
def register_form(request: Request, round_id: str) -> Response:
    rid = webkit.parse_id(round_id)
    if rid is None:
        return webkit.not_found(request, webkit.who(request), "招聘轮次不存在")
    return _register_page(request, rid)


@recruitment_pages.post("/recruitment/{round_id}/register/code")
def send_code(request: Request, round_id: str, form: Posted) -> Response:
    """The "获取验证码" button: a plain form post (no script needed) that sends the code and
    draws the page again with everything typed so far kept."""
    if not webkit.same_origin(request):
        return webkit.forbidden(request, None)
    rid = webkit.parse_id(round_id)
    if rid is None:
        return webkit.not_found(request, webkit.who(request), "招聘轮次不存在")
    values = _registration_values(form)
    svc = webkit.services(request)
    try:
        phone = _phone(values)
        if not svc.sms:
            raise FormError("phone", NO_SMS)
        issue_code(
            svc.db,
            svc.clock,
            phone,
            address=client_address(request),
            throttle=svc.throttle,
        )
    except RenshiError as exc:
        if exc.field is None:  # sent less than a minute ago: say so beside the number
            exc = FormError("phone", exc.message)
        return _register_page(
            request, rid, values=values, problem=_public_problem(exc, values), status=exc.status
        )
    text = f"验证码已发送至{mask_phone(phone)}，10分钟内有效"
    return _register_page(request, rid, values={**values, "code": ""}, sent=text)


@recruitment_pages.post("/recruitment/{round_id}/register")
def register(request: Request, round_id: str, form: Posted) -> Response:
    """No session, so no CSRF token: like the public objection form, the browser's
    Origin/Referer must name this site; the SMS code proves the person holds the number."""
    if not webkit.same_origin(request):
        return webkit.forbidden(request, None)
    rid = webkit.parse_id(round_id)
    if rid is None:
        return webkit.not_found(request, webkit.who(request), "招聘轮次不存在")
    svc = webkit.services(request)
    values = _registration_values(form)
    try:
        case_id = views.register_online(svc, rid, _checked(values, views.open_posts(svc, rid)))
    except NotFound:
        return webkit.not_found(request, webkit.who(request), "招聘轮次不存在")
    except RenshiError as exc:
        problem = _public_problem(exc, values)
        return _register_page(request, rid, values=values, problem=problem, status=exc.status)
    return webkit.redirect(
        f"/recruitment/{rid}/register/done?" + urlencode({"no": case_id}),
        secure_cookie=svc.secure_cookies,
    )


@recruitment_pages.get("/recruitment/{round_id}/register/done")
def registered(request: Request, round_id: str, no: str = "") -> Response:
    """Only the number and what comes next: nothing personal, so the address can be kept."""
    rid, number = webkit.parse_id(round_id), webkit.parse_id(no)
    rnd = views.get_round(webkit.services(request), rid) if rid is not None else None
    if rnd is None or number is None:
        return webkit.not_found(request, webkit.who(request), "报名记录不存在")
    return webkit.render(
        request,
        "recruitment/registered.html",
        webkit.who(request),
        {"nav": "recruitment-register", "round": rnd, "number": number},
    )


# --- officers ----------------------------------------------------------------------------------
IMPORT_LABELS: Final = {"applicants": "报名人员", "written": "笔试成绩", "interview": "面试成绩"}
SELECTORS: Final = (CITY_OFFICER, PROVINCE_OFFICER, SYSTEM)
EXPORT_LABELS: Final = {
    "shortlist": "入围面试名单",
    "ranking": "综合成绩排名",
    "publicity": "拟聘用人员公示名单",
}
# Round-level buttons: what each is called (the order the steps run in is ``order``'s).
ACTIONS: Final = order.ACTIONS


def _blocked(who: Who, round_id: int, rnd: Any) -> dict[str, str]:
    """Why each bulk step may not run now: said beside its button, in the words its
    refusal would use, before anyone presses it."""
    with reader(who.svc.db).connect() as conn:
        out = order.blocked(conn, round_id)
    deadline = rnd.replacement_deadline
    if deadline is not None and who.svc.today() > deadline:
        out["replacements"] = f"递补截止日期{deadline.isoformat()}已过，不再递补"
    return out


# The steps of a round in order: what each is, and the states that show how far it got.
STEPS: Final = (
    ("报名", "考生网上报名，或由省教育厅批量导入报名人员。", ("registered",), "applicants", None),
    (
        "资格审查",
        "按年龄、学历、教师资格逐人复核报名信息；身份证号被他人冒用的，先核实身份冲突。",
        ("qualified", "disqualified", "voided"),
        None,
        "qualify",
    ),
    (
        "笔试",
        "省教育厅导入笔试成绩，缺考的标记“缺考”；全部资格审查通过的考生都有成绩或缺考标记后，"
        "才能确定入围面试人选。",
        ("examined",),
        "written",
        None,
    ),
    (
        "入围面试",
        "每岗位按笔试成绩从高到低确定入围人选，末位同分者一并入围。",
        ("shortlisted", "not_shortlisted"),
        None,
        "shortlist",
    ),
    (
        "面试",
        "市教育局人事处导入面试成绩，缺考的标记“缺考”；全部入围考生都有成绩或缺考标记后，才能排名。",
        ("interviewed",),
        "interview",
        None,
    ),
    (
        "综合排名",
        "按权重计算综合成绩并排名，每岗位前N名进入体检，其余列为候补。",
        ("physical", "reserve"),
        None,
        "ranking",
    ),
    (
        "体检与考察",
        "由县（区）教育局人事股在事项页逐人办理。",
        ("background", "failed_physical", "failed_background"),
        None,
        None,
    ),
    (
        "递补",
        "有人放弃或体检、考察不合格时，候补人员按排名依次递补（递补截止日前）。",
        ("withdrew",),
        None,
        "replacements",
    ),
    ("公示", "考察合格人员公示7个工作日。", ("publicity",), None, None),
    ("选岗", "公示期满后按排名顺序选择学校。", ("choosing",), None, None),
    (
        "录用",
        "选岗后进入一年试用期，期满转正。",
        ("probation", "confirmed", "not_hired"),
        None,
        None,
    ),
)


class _At(NamedTuple):
    who: Who
    rid: int
    rnd: Any


def round_for(request: Request, who: Who, round_id: str) -> _At:
    """The round, for an officer who works on rounds; the same 404 otherwise."""
    rid = webkit.parse_id(round_id)
    rnd = views.get_round(who.svc, rid) if rid is not None else None
    if rid is None or rnd is None or not views.works_on_rounds(who.actor):
        raise webkit.Halt(webkit.not_found(request, who, "招聘轮次不存在"))
    return _At(who, rid, rnd)


def _viewing(request: Request, round_id: str, who: SignedIn) -> _At:
    """A round page asked for: signed in (or off to the login page) and allowed to see it."""
    return round_for(request, who, round_id)


# A form posted on a round page: signed in, with the form's CSRF token right; otherwise off
# to sign in and back to the page the form was on (post choice has its own), or the 403 page.
OnRound = Annotated[Who, Depends(webkit.guarded("/recruitment/{round_id}"))]
OnChoice = Annotated[Who, Depends(webkit.guarded("/recruitment/{round_id}/choice"))]


def _posting(request: Request, round_id: str, who: OnRound) -> _At:
    """A form posted on a round page, by someone allowed on the round."""
    return round_for(request, who, round_id)


def _choosing(request: Request, round_id: str, who: OnChoice) -> _At:
    """A post choice made on the round's choice page, by someone allowed on the round."""
    return round_for(request, who, round_id)


Viewing = Annotated[_At, Depends(_viewing)]
Posting = Annotated[_At, Depends(_posting)]
Choosing = Annotated[_At, Depends(_choosing)]


def _may_act(actor: Actor, action: str) -> bool:
    if action == "qualify":
        return any(actor.holds(r) for r in (COUNTY_OFFICER, *SELECTORS))
    return any(actor.holds(r) for r in SELECTORS)


def _round_page(
    request: Request,
    who: Who,
    round_id: int,
    rnd: Any,
    *,
    report: views.ImportResult | None = None,
    problem: Problem | None = None,
    status: int = 200,
) -> Response:
    actor = who.actor
    counts = views.state_counts(who.svc, actor, round_id)
    blocked = _blocked(who, round_id, rnd)
    steps = []
    for title, text, states, kind, action in STEPS:
        imports = None
        if kind is not None and views.may_import(actor, kind):
            where = f"import:{kind}"
            mine = problem if problem is not None and problem.where == where else None
            imports = {
                "kind": kind,
                "label": IMPORT_LABELS[kind],
                "file_error": mine.message if mine and mine.field == "file" else None,
                "report": report if report is not None and report.kind == kind else None,
            }
        may = action is not None and _may_act(actor, action)
        steps.append(
            {
                "title": title,
                "text": text,
                "counts": [(APPLICANT_SPEC.state_label(s), counts.get(s, 0)) for s in states],
                "imports": imports,
                "action": (action, ACTIONS[action]) if action is not None and may else None,
                "blocked": blocked.get(action or "") if may else None,
            }
        )
    return webkit.render(
        request,
        "recruitment/round.html",
        who,
        {
            "nav": "/recruitment",
            "round": rnd,
            "round_id": round_id,
            "total": sum(counts.values()),
            "steps": steps,
            "exports": EXPORT_LABELS,
            "claims_open": claims.open_claims(who.svc, actor, round_id),
            "status": round_ops.registration_status(rnd, who.svc.today()),
            "closer": round_ops.may_open(actor),
            "plan_counts": [
                (PLAN_SPEC.state_label(state), n)
                for state, n in Counter(
                    p.state for p in round_ops.plans(who.svc.engine, actor, round_id)
                ).items()
            ],
            "problem": problem,
            "top_error": problem.message
            if problem is not None and problem.field != "file"
            else None,
        },
        status=status,
    )


@recruitment_pages.get("/recruitment")
def rounds(request: Request, who: SignedIn) -> Response:
    if not views.works_on_rounds(who.actor):
        return webkit.not_found(request, who, "招聘轮次不存在")
    # Rounds of the provinces the officer's units lie in; the system's root sees them all.
    paths = [b.unit_path for b in who.actor.bindings if b.role in views.ROUND_ROLES]
    provinces = {path_ids(p)[0] for p in paths if path_ids(p)}
    everything = any(not path_ids(p) for p in paths)
    query = select(
        RecruitmentRound.id,
        RecruitmentRound.year,
        RecruitmentRound.name,
        RecruitmentRound.registration_opens,
        RecruitmentRound.registration_closes,
        RecruitmentRound.registration_closed_at,
    ).order_by(RecruitmentRound.year.desc(), RecruitmentRound.id.desc())
    if not everything:
        query = query.where(RecruitmentRound.province_id.in_(provinces))
    with reader(who.svc.db).connect() as conn:
        found = conn.execute(query.limit(100)).all()
    today = who.svc.today()
    return webkit.render(
        request,
        "recruitment/rounds.html",
        who,
        {
            "nav": "/recruitment",
            "rounds": [(r, round_ops.registration_status(r, today)) for r in found],
            "opener": round_ops.may_open(who.actor),
        },
    )


@recruitment_pages.get("/recruitment/{round_id}")
def round_page(request: Request, at: Viewing) -> Response:
    return _round_page(request, *at)


@recruitment_pages.post("/recruitment/{round_id}/steps/{action}")
def step(request: Request, action: str, at: Posting) -> Response:
    who, rid, rnd = at
    if action not in ACTIONS:
        return webkit.not_found(request, who, "办理操作不存在")
    try:
        result = rec.run(who.svc.engine, who.actor, rid, action)
    except RenshiError as exc:
        text = webkit.said(exc)
        return _round_page(request, who, rid, rnd, problem=Problem("step", text), status=exc.status)
    return webkit.redirect(
        f"/recruitment/{rid}", order.done(action, result), secure_cookie=who.svc.secure_cookies
    )


@recruitment_pages.post("/recruitment/{round_id}/imports/{kind}")
def import_sheet(request: Request, kind: str, form: Posted, at: Posting) -> Response:
    who, rid, rnd = at
    if kind not in IMPORT_LABELS:
        return webkit.not_found(request, who, "导入类型不存在")
    upload = form.get("file")
    where = f"import:{kind}"
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise FormError("file", "请选择要导入的 .xlsx 或 .csv 文件")
        result = views.import_sheet(
            who.svc,
            who.actor,
            rid,
            kind,
            upload.file,
            upload.filename,
            valid_only=webkit.text(form, "valid_only") == "1",
        )
    except RenshiError as exc:
        problem = Problem(where, webkit.said(exc))
        if isinstance(exc, FormError) and exc.field == "file":
            problem = Problem(where, exc.reason, "file")
        return _round_page(request, who, rid, rnd, problem=problem, status=exc.status)
    if result.errors:
        return _round_page(
            request, who, rid, rnd, report=result, status=422 if result.refused else 200
        )
    return webkit.redirect(
        f"/recruitment/{rid}",
        f"{IMPORT_LABELS[kind]}已导入{result.imported}行",
        secure_cookie=who.svc.secure_cookies,
    )


@recruitment_pages.get("/recruitment/{round_id}/imports/{kind}/template")
def import_template(request: Request, kind: str, at: Viewing) -> Response:
    """An import's template, from the round page beside its upload form."""
    who = at.who
    if kind not in IMPORT_LABELS:
        return webkit.not_found(request, who, "导入类型不存在")
    title, data = round_ops.import_template(who.svc.engine, at.rid, kind)
    response = Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(title)}.xlsx"},
    )
    return webkit.secure(response)


@recruitment_pages.get("/recruitment/{round_id}/exports/{name}")
def export(request: Request, name: str, at: Viewing) -> Response:
    who = at.who
    if name not in EXPORT_LABELS:
        return webkit.not_found(request, who, "导出名单不存在")
    try:
        title, data = views.export_sheet(who.svc, who.actor, at.rid, name)
    except RenshiError as exc:
        return webkit.message(request, who, "无法导出", exc.message, exc.status)
    response = Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(title)}.xlsx"},
    )
    return webkit.secure(response)


@recruitment_pages.get("/recruitment/{round_id}/progress")
def progress(request: Request, at: Viewing) -> Response:
    who, rid, rnd = at
    lines = views.progress(who.svc, who.actor, rid)
    totals = {
        key: sum(getattr(line, key) for line in lines)
        for key in ("count", "registered", "qualified", "shortlisted", "hired")
    }
    return webkit.render(
        request,
        "recruitment/progress.html",
        who,
        {"nav": "/recruitment", "round": rnd, "round_id": rid, "lines": lines, "totals": totals},
    )


# --- post choice ----------------------------------------------------------------------------------
def _choice_page(
    request: Request,
    who: Who,
    round_id: int,
    rnd: Any,
    *,
    problem: Problem | None = None,
    status: int = 200,
) -> Response:
    return webkit.render(
        request,
        "recruitment/choice.html",
        who,
        {
            "nav": "/recruitment",
            "round": rnd,
            "round_id": round_id,
            "posts": views.choice_queue(who.svc, who.actor, round_id),
            "problem": problem,
        },
        status=status,
    )


@recruitment_pages.get("/recruitment/{round_id}/choice")
def choice(request: Request, at: Viewing) -> Response:
    return _choice_page(request, *at)


@recruitment_pages.post("/recruitment/{round_id}/choice/{case_id}")
def choose(request: Request, case_id: str, form: Posted, at: Choosing) -> Response:
    who, rid, rnd = at
    cid = webkit.parse_id(case_id)
    if cid is None:
        return webkit.not_found(request, who)
    version = webkit.parse_id(webkit.text(form, "expected_version")) or 0
    skip = webkit.text(form, "action") == "skip"
    try:
        if skip:
            rec.skip_choice(who.svc.engine, who.actor, cid, expected_version=version)
        else:
            seat = webkit.parse_id(webkit.text(form, "seat_id"))
            if seat is None:
                raise FormError("seat_id", "请选择学校")
            rec.choose_post(who.svc.engine, who.actor, cid, seat, expected_version=version)
    except NotFound:
        return webkit.not_found(request, who)
    except RenshiError as exc:
        text = webkit.said(exc)
        problem = Problem(f"choice:{cid}", text)
        return _choice_page(request, who, rid, rnd, problem=problem, status=exc.status)
    return webkit.redirect(
        f"/recruitment/{rid}/choice",
        "已顺延至本岗位最后" if skip else "选岗已确认",
        secure_cookie=who.svc.secure_cookies,
    )


__all__ = ["recruitment_pages"]
