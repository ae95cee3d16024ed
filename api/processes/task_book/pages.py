"""Pages of the task books: the officers' list (their units' tasks, books, score sheets and
rounds), a book (import, edit, approval), a task (reports with evidence, its steps, its
parts, its timeline), the leaders' board with its charts and export, a scoring round and a
scorer's sheet. Same web kit and the same operations as the JSON API."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, Final
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from api import webkit
from api.processes.task_book import charts, views
from api.webkit import Posted, Problem, SignedIn, Who
from states.errors import FormError, NotFound, RenshiError
from states.org import OFFICER_OF_TIER, SYSTEM
from states.processes.task_book import books, scoring, work
from states.processes.task_book.machine import BOOK, ROUND, TASK
from states.processes.task_book.rules import PARTIES, SOURCES, STATUSES
from states.processes.task_book.spec import TASK_SPEC
from states.store.db import reader

task_pages = APIRouter(include_in_schema=False)
XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

OnTasks = Annotated[Who, Depends(webkit.guarded("/tasks"))]
OnBook = Annotated[Who, Depends(webkit.guarded("/tasks/books/{book_id}"))]
OnTask = Annotated[Who, Depends(webkit.guarded("/tasks/{task_id}"))]
OnRound = Annotated[Who, Depends(webkit.guarded("/tasks/scoring/{round_id}"))]
OnSheet = Annotated[Who, Depends(webkit.guarded("/tasks/scoring/sheets/{sheet_id}"))]


def _officer(who: Who) -> bool:
    return who.actor.holds(SYSTEM) or any(who.actor.holds(r) for r in OFFICER_OF_TIER.values())


def _xlsx(title: str, data: bytes) -> Response:
    return webkit.secure(
        Response(
            data,
            media_type=XLSX,
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(title)}.xlsx"},
        )
    )


# --- the officers' list -------------------------------------------------------------------------
def _index(
    request: Request,
    who: Who,
    *,
    problem: str | None = None,
    errors: Mapping[str, str] | None = None,
    report: Any = None,
    values: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    with reader(who.svc.db).connect() as conn:
        mine = work.mine(conn, who.actor)
        listed = books.books_for(conn, who.actor)
        sheets = scoring.sheets_of(conn, who.actor)
        rounds = scoring.rounds_for(conn, who.actor)
    year = who.svc.today().year
    return webkit.render(
        request,
        "task_book/index.html",
        who,
        {
            "nav": "/tasks",
            "mine": mine,
            "books": listed,
            "sheets": sheets,
            "rounds": rounds,
            "state_label": _state_label(who),
            "officer": _officer(who),
            "year": year,
            "problem": problem,
            "errors": errors or {},
            "report": report,
            "values": values or {},
            "parties": PARTIES,
            "today": who.svc.today(),
        },
        status=status,
    )


def _state_label(who: Who) -> Callable[[str, str], str]:
    catalogue = who.svc.engine.processes

    def label(process: str, state: str) -> str:
        return catalogue[process].state_label(state)

    return label


@task_pages.get("/tasks")
def index(request: Request, who: SignedIn) -> Response:
    return _index(request, who)


@task_pages.post("/tasks/books/import")
def import_book(request: Request, form: Posted, who: OnTasks) -> Response:
    upload = form.get("file")
    values = {"year": webkit.text(form, "year"), "title": webkit.text(form, "title")}
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise FormError("file", "请选择要导入的任务书文件（.xlsx 或 .csv）")
        year = _year(values["year"])
        data = upload.file.read(books.MAX_BYTES + 1)
        report = books.import_book(
            who.svc.engine,
            who.actor,
            data,
            upload.filename,
            year=year,
            title=values["title"].strip() or None,
        )
    except RenshiError as exc:
        return _index(
            request,
            who,
            problem=webkit.said(exc),
            errors=webkit.problems(exc),
            values=values,
            status=exc.status,
        )
    if report.refused:
        return _index(request, who, report=report, values=values, status=422)
    return webkit.redirect(
        f"/tasks/books/{report.book_id}",
        f"已导入任务书：{report.imported}项任务",
        secure_cookie=who.svc.secure_cookies,
    )


def _year(raw: str) -> int:
    text = raw.strip()
    if not text.isdigit() or not 2000 <= int(text) <= 2100:
        raise FormError("year", "年度应为2000至2100之间的年份")
    return int(text)


@task_pages.post("/tasks/books/new")
def new_book(request: Request, form: Posted, who: OnTasks) -> Response:
    values = {"new_year": webkit.text(form, "new_year")}
    try:
        book_id = books.create_book(who.svc.engine, who.actor, year=_year(values["new_year"]))
    except RenshiError as exc:
        return _index(
            request,
            who,
            problem=webkit.said(exc),
            errors=webkit.problems(exc),
            values=values,
            status=exc.status,
        )
    return webkit.redirect(
        f"/tasks/books/{book_id}",
        "已新建任务书，请逐项添加任务",
        secure_cookie=who.svc.secure_cookies,
    )


# --- a book -----------------------------------------------------------------------------------
def _book_page(
    request: Request,
    who: Who,
    book_id: int,
    *,
    problem: str | None = None,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    editing: int | None = None,
    status: int = 200,
) -> Response:
    engine = who.svc.engine
    with reader(who.svc.db).connect() as conn:
        try:
            book = books.read_row(conn, who.actor, book_id)
        except NotFound:
            return webkit.not_found(request, who, "任务书不存在")
        tasks = books.book_tasks(conn, book_id)
        unit = books.unit_row(conn, book.unit_id)
        codes = {u.id: u.code for u in books.Units(conn, unit).by_id.values()}
    available = engine.available(book.case_id, who.actor)["events"]
    spec = engine.processes[BOOK]
    draft = book.state == "book_draft"
    edits = draft and books.owns(who.actor, unit)
    form_values = dict(values or {})
    if editing is not None and not form_values:
        found = next((t for t in tasks if t.id == editing), None)
        if found is not None:
            form_values = found.form(codes.get(found.lead_unit_id, found.lead_name))
    return webkit.render(
        request,
        "task_book/book.html",
        who,
        {
            "nav": "/tasks",
            "book": book,
            "unit": unit,
            "tasks": tasks,
            "state_label": spec.state_label(book.state),
            "steps": [
                (e, spec.events[e].label, spec.events[e].style, bool(spec.events[e].form.fields))
                for e in available
            ],
            "edits": edits,
            "editing": editing,
            "fields": books.TASK_FIELDS,
            "values": form_values,
            "errors": errors or {},
            "problem": problem,
            "sources": SOURCES,
        },
        status=status,
    )


def _id(request: Request, who: Who, raw: str, what: str) -> int:
    found = webkit.parse_id(raw)
    if found is None:
        raise webkit.Halt(webkit.not_found(request, who, what))
    return found


@task_pages.get("/tasks/books/{book_id}")
def book_page(request: Request, book_id: str, who: SignedIn, edit: str | None = None) -> Response:
    bid = _id(request, who, book_id, "任务书不存在")
    return _book_page(request, who, bid, editing=webkit.parse_id(edit) if edit else None)


def _task_values(form: FormData) -> dict[str, str]:
    return {f.name: webkit.text(form, f.name) for f in books.TASK_FIELDS}


def _version(form: FormData) -> int:
    found = webkit.parse_id(webkit.text(form, "version"))
    if found is None:
        raise FormError("version", "页面已过期，请刷新后重试")
    return found


@task_pages.post("/tasks/books/{book_id}/tasks")
def add_task(request: Request, book_id: str, form: Posted, who: OnBook) -> Response:
    bid = _id(request, who, book_id, "任务书不存在")
    values = _task_values(form)
    payload = {k: v for k, v in values.items() if v.strip()}
    try:
        books.add_task(who.svc.engine, who.actor, bid, payload, expected_version=_version(form))
    except RenshiError as exc:
        return _book_page(
            request,
            who,
            bid,
            problem=webkit.said(exc),
            errors=webkit.problems(exc),
            values=values,
            status=exc.status,
        )
    return webkit.redirect(
        f"/tasks/books/{bid}",
        f"已添加任务“{values['title'].strip()}”",
        secure_cookie=who.svc.secure_cookies,
    )


@task_pages.post("/tasks/books/{book_id}/tasks/{task_id}")
def change_task(
    request: Request, book_id: str, task_id: str, form: Posted, who: OnBook
) -> Response:
    bid = _id(request, who, book_id, "任务书不存在")
    tid = _id(request, who, task_id, "任务不存在")
    values = _task_values(form)
    try:
        if webkit.text(form, "remove"):
            books.remove_task(who.svc.engine, who.actor, bid, tid, expected_version=_version(form))
            flash = "已删除任务"
        else:
            payload = {k: v for k, v in values.items() if v.strip()}
            books.change_task(
                who.svc.engine, who.actor, bid, tid, payload, expected_version=_version(form)
            )
            flash = "已修改任务"
    except RenshiError as exc:
        return _book_page(
            request,
            who,
            bid,
            problem=webkit.said(exc),
            errors=webkit.problems(exc),
            values=values,
            editing=tid,
            status=exc.status,
        )
    return webkit.redirect(f"/tasks/books/{bid}", flash, secure_cookie=who.svc.secure_cookies)


@task_pages.post("/tasks/books/{book_id}/step")
def book_step(request: Request, book_id: str, form: Posted, who: OnBook) -> Response:
    bid = _id(request, who, book_id, "任务书不存在")
    event = webkit.text(form, "event")
    reason = webkit.text(form, "reason").strip()
    try:
        result = books.step(
            who.svc.engine,
            who.actor,
            bid,
            event,
            {"reason": reason} if reason else {},
            expected_version=webkit.parse_id(webkit.text(form, "case_version")),
        )
    except RenshiError as exc:
        return _book_page(
            request,
            who,
            bid,
            problem=webkit.said(exc),
            errors=webkit.problems(exc),
            status=exc.status,
        )
    spec = who.svc.engine.processes[result.process]
    return webkit.redirect(
        f"/tasks/books/{bid}",
        f"已办理：{spec.events[result.event].label}",
        secure_cookie=who.svc.secure_cookies,
    )


# --- a task -----------------------------------------------------------------------------------
# The steps a task's page offers, with the fields each form shows.
FORMS: Final = {
    "acknowledge_task": (),
    "report_completion": ("text", "file"),
    "request_extension": ("new_deadline", "reason"),
    "approve_extension": ("comment",),
    "refuse_extension": ("reason",),
    "accept_completion": ("comment",),
    "return_completion": ("reason",),
}


def _task_page(
    request: Request,
    who: Who,
    task_id: int,
    *,
    problem: Problem | None = None,
    status: int = 200,
) -> Response:
    engine = who.svc.engine
    with reader(who.svc.db).connect() as conn:
        try:
            v = work.view(engine, conn, who.actor, task_id)
        except NotFound:
            return webkit.not_found(request, who, "任务不存在")
    available = engine.available(v.row.case_id, who.actor)["events"]
    spec = engine.processes[TASK]
    steps = [
        (e, spec.events[e].label, spec.events[e].style, FORMS[e]) for e in available if e in FORMS
    ]
    return webkit.render(
        request,
        "task_book/task.html",
        who,
        {
            "nav": "/tasks",
            "v": v,
            "t": v.row,
            "steps": steps,
            "reports": "report_progress" in available,
            "split": "split_task" in available and v.below and not v.parts,
            "problem": problem,
            "statuses": STATUSES,
            "today": who.svc.today(),
        },
        status=status,
    )


@task_pages.get("/tasks/by-case/{case_id}")
def by_case(request: Request, case_id: str, who: SignedIn) -> Response:
    cid = _id(request, who, case_id, "任务不存在")
    with reader(who.svc.db).connect() as conn:
        try:
            who.svc.engine.ensure_visible(conn, cid, who.actor)
            task_id = work.task_of_case_id(conn, cid)
        except NotFound:
            return webkit.not_found(request, who, "任务不存在")
    return webkit.redirect(f"/tasks/{task_id}")


@task_pages.post("/tasks/{task_id}/act")
def act(request: Request, task_id: str, form: Posted, who: OnTask) -> Response:
    tid = _id(request, who, task_id, "任务不存在")
    event = webkit.text(form, "event")
    names = ("percent", "text", "reason", "milestone", "comment", "new_deadline")
    values = {n: webkit.text(form, n) for n in names}
    payload: dict[str, Any] = {}
    for name in names:
        raw = values[name].strip()
        if raw:
            payload[name] = int(raw) if name in ("percent", "milestone") and raw.isdigit() else raw
    if event == "split_task":
        payload = {"units": ",".join(u for u in form.getlist("units") if isinstance(u, str))}
    upload = form.get("file")
    try:
        version = _version(form)
        if event in ("report_progress", "report_completion"):
            evidence = None
            if isinstance(upload, UploadFile) and upload.filename:
                try:
                    stored = who.svc.files.save(upload.filename, upload.file)
                except ValueError as exc:  # the file store's refusal, in the sender's words
                    raise FormError("file", str(exc)) from None
                evidence = work.Evidence(
                    stored.filename, stored.content_type, stored.size, stored.sha256
                )
            result = work.report(
                who.svc.engine, who.actor, tid, event, payload, evidence, expected_version=version
            )
        else:
            result = work.act(
                who.svc.engine,
                who.actor,
                tid,
                event,
                payload,
                expected_version=version,
                idempotency_key=webkit.once_key(who, form, event),
            )
    except RenshiError as exc:
        at = Problem(event, webkit.said(exc), exc.field, values)
        return _task_page(request, who, tid, problem=at, status=exc.status)
    label = TASK_SPEC.events[result.event].label if result.event in TASK_SPEC.events else event
    return webkit.redirect(
        f"/tasks/{tid}", f"已办理：{label}", secure_cookie=who.svc.secure_cookies
    )


# --- the board --------------------------------------------------------------------------------
def _filters(request: Request) -> dict[str, Any]:
    q = request.query_params
    out: dict[str, Any] = {}
    unit = webkit.parse_id(q.get("unit")) if q.get("unit") else None
    lead = webkit.parse_id(q.get("lead")) if q.get("lead") else None
    if unit:
        out["unit"] = unit
    if lead:
        out["lead"] = lead
    year = q.get("year", "")
    if year.isdigit() and len(year) == 4:
        out["year"] = int(year)
    for key in ("source", "status", "month"):
        value = (q.get(key) or "").strip()
        if value:
            out[key] = value[:16]
    return out


@task_pages.get("/tasks/board")
def board_page(request: Request, who: SignedIn) -> Response:
    filters = _filters(request)
    try:
        b = views.board_for(who.svc, who.actor, **filters)
    except NotFound:
        return webkit.not_found(request, who, "单位不存在")
    except RenshiError as exc:
        return webkit.message(request, who, "筛选条件有误", webkit.said(exc), exc.status)
    here = b.filters.query()
    labels = dict(STATUSES)
    current = (
        b.today.month
        if b.today.year == b.filters.year
        else (12 if b.today.year > b.filters.year else 0)
    )
    return webkit.render(
        request,
        "task_book/board.html",
        who,
        {
            "nav": "/tasks/board",
            "b": b,
            "statuses": labels,
            "sources": SOURCES,
            "bars": charts.status_bars([(g.name, g.counts) for g in b.groups], labels),
            "line": charts.completions(b.months, current or None),
            "here": here,
            "query": lambda **more: urlencode({**here, **{k: v for k, v in more.items() if v}}),
            "export": "/tasks/board.xlsx?" + urlencode({**here, "unit": b.unit.id}),
        },
    )


@task_pages.get("/tasks/board.xlsx")
def board_export(request: Request, who: SignedIn) -> Response:
    try:
        title, data = views.board_xlsx(who.svc, who.actor, **_filters(request))
    except NotFound:
        return webkit.not_found(request, who, "单位不存在")
    except RenshiError as exc:
        return webkit.message(request, who, "筛选条件有误", webkit.said(exc), exc.status)
    return _xlsx(title, data)


# --- scoring ----------------------------------------------------------------------------------
@task_pages.post("/tasks/scoring/new")
def open_round(request: Request, form: Posted, who: OnTasks) -> Response:
    values = {
        k: webkit.text(form, k)
        for k in ("round_year", "closes_on", "served", *(f"w_{p}" for p in PARTIES))
    }
    weights: dict[str, Any] = {}
    for p in PARTIES:
        raw = values[f"w_{p}"].strip()
        try:
            weights[p] = float(raw) if raw else None
        except ValueError:
            weights[p] = raw
    try:
        round_id = scoring.open_round(
            who.svc.engine,
            who.actor,
            {
                "year": _year(values["round_year"]),
                "closes_on": values["closes_on"],
                "weights": weights,
                "served": values["served"],
            },
        )
    except RenshiError as exc:
        errors = {k.replace("weights.", "w_"): v for k, v in webkit.problems(exc).items()}
        return _index(
            request, who, problem=webkit.said(exc), errors=errors, values=values, status=exc.status
        )
    return webkit.redirect(
        f"/tasks/scoring/{round_id}",
        "已开启年终考核评分，各评分单位已收到评分表",
        secure_cookie=who.svc.secure_cookies,
    )


def _round_page(
    request: Request, who: Who, round_id: int, *, problem: str | None = None, status: int = 200
) -> Response:
    try:
        found = views.round_view(who.svc, who.actor, round_id)
    except NotFound:
        return webkit.not_found(request, who, "考核评分不存在")
    r = found["round"]
    spec = who.svc.engine.processes[ROUND]
    events = who.svc.engine.available(r.case_id, who.actor)["events"] if found["answers"] else []
    return webkit.render(
        request,
        "task_book/round.html",
        who,
        {
            "nav": "/tasks",
            "r": r,
            "state_label": spec.state_label(r.state),
            "sheets": found["sheets"],
            "results": found["results"],
            "tasks": found["tasks"],
            "parties": PARTIES,
            "steps": [(e, spec.events[e].label) for e in events],
            "problem": problem,
        },
        status=status,
    )


@task_pages.get("/tasks/scoring/{round_id}")
def round_page(request: Request, round_id: str, who: SignedIn) -> Response:
    return _round_page(request, who, _id(request, who, round_id, "考核评分不存在"))


@task_pages.get("/tasks/scoring/{round_id}/export")
def round_export(request: Request, round_id: str, who: SignedIn) -> Response:
    rid = _id(request, who, round_id, "考核评分不存在")
    try:
        return _xlsx(*views.results_xlsx(who.svc, who.actor, rid))
    except NotFound:
        return webkit.not_found(request, who, "考核结果不存在")


@task_pages.post("/tasks/scoring/{round_id}/step")
def round_step(request: Request, round_id: str, form: Posted, who: OnRound) -> Response:
    rid = _id(request, who, round_id, "考核评分不存在")
    try:
        scoring.step(who.svc.engine, who.actor, rid, webkit.text(form, "event"))
    except RenshiError as exc:
        return _round_page(request, who, rid, problem=webkit.said(exc), status=exc.status)
    return webkit.redirect(f"/tasks/scoring/{rid}", "已办理", secure_cookie=who.svc.secure_cookies)


def _sheet_page(
    request: Request,
    who: Who,
    sheet_id: int,
    *,
    problem: str | None = None,
    values: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    with reader(who.svc.db).connect() as conn:
        try:
            sheet, r, tier = scoring.readable_sheet(conn, who.actor, sheet_id)
        except NotFound:
            return webkit.not_found(request, who, "评分表不存在")
        tasks = scoring.sheet_tasks(conn, r, sheet)
        mine = scoring.own_scores(conn, who.actor, sheet, tier)
        state = scoring.sheet_state(conn, sheet)
    return webkit.render(
        request,
        "task_book/sheet.html",
        who,
        {
            "nav": "/tasks",
            "sheet": sheet,
            "r": r,
            "party": PARTIES[sheet.party],
            "tasks": tasks,
            "mine": mine,
            "scorer": scoring.scorer_of(who.actor, sheet, tier),
            "open": state.state == "sheet_open",
            "version": state.version,
            "problem": problem,
            "values": values or {},
        },
        status=status,
    )


@task_pages.get("/tasks/scoring/sheets/{sheet_id}")
def sheet_page(request: Request, sheet_id: str, who: SignedIn) -> Response:
    return _sheet_page(request, who, _id(request, who, sheet_id, "评分表不存在"))


@task_pages.post("/tasks/scoring/sheets/{sheet_id}")
def submit_sheet(request: Request, sheet_id: str, form: Posted, who: OnSheet) -> Response:
    sid = _id(request, who, sheet_id, "评分表不存在")
    values: dict[str, str] = {}
    given: dict[int, Any] = {}
    for key, raw in form.multi_items():
        if key.startswith("score_") and isinstance(raw, str) and key[6:].isdigit():
            values[key] = raw
            text = raw.strip()
            try:
                given[int(key[6:])] = float(text) if text else None
            except ValueError:
                given[int(key[6:])] = text
    try:
        scoring.submit(
            who.svc.engine,
            who.actor,
            sid,
            {k: v for k, v in given.items() if v is not None},
            expected_version=webkit.parse_id(webkit.text(form, "version")),
        )
    except RenshiError as exc:
        return _sheet_page(
            request, who, sid, problem=webkit.said(exc), values=values, status=exc.status
        )
    return webkit.redirect(
        f"/tasks/scoring/sheets/{sid}", "评分已提交", secure_cookie=who.svc.secure_cookies
    )


# Last: every fixed address under /tasks above is matched before a task's number.
@task_pages.get("/tasks/{task_id}")
def task_page(request: Request, task_id: str, who: SignedIn) -> Response:
    return _task_page(request, who, _id(request, who, task_id, "任务不存在"))
