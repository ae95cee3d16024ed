"""Registry adapter: 账号与角色 — the JSON API, the pages and the ``renshi user`` commands
over ``states.registry.accounts`` (accounts, roles, the account itself, 离职转办) and
``states.registry.delegation`` (委托/代理).

The three say the same things in the same words because they call the same functions:
each change is one transaction in ``states``; this module only reads the request, hashes
generated passwords before the transaction (argon2 must not hold the database's write lock)
and shows a generated password exactly once — in the response to the officer who made it,
or, for a sheet of accounts, in the file they download from the result page.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Annotated, Any, Final
from urllib.parse import quote, urlencode

import click
from fastapi import APIRouter, Depends, File, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine, select
from starlette.datastructures import FormData
from starlette.datastructures import UploadFile as PageUpload

from api import schemas as s
from api import webkit
from api.auth import hash_password, hash_temporaries, hash_temporary
from api.deps import ApiActor, Svc
from api.errors import ERRORS
from api.inbox_pages import TASK_KINDS
from api.present import mask_phone
from api.signin import password_problem
from api.webkit import Posted, SignedIn, Who
from states import commands
from states.clock import local_date
from states.errors import FormError, NotFound, RenshiError
from states.org import ROLE_LABELS, SYSTEM_ACTOR, Actor
from states.process.package import Catalogue
from states.registry import accounts as acc
from states.registry import delegation as dlg
from states.registry import history
from states.registry.scope import is_manager
from states.registry.staff import BOUND_ROLES, role_code, staff_paths, unit_by
from states.sheets import SheetError, read_table, template_xlsx, validate, write_xlsx
from states.store.db import make_engine, reader
from states.store.models import OrgUnit, Person, RoleBinding
from states.store.people import end_sessions, load_actor, set_password

TAG: Final = "账号与角色"
MAX_UPLOAD: Final = 10 * 1024 * 1024
PAGE_SIZE: Final = 50
XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PASSWORD_COLUMNS: Final = (
    ("row", "行号"),
    ("name", "姓名"),
    ("username", "用户名"),
    ("password", "初始密码"),
)

api_router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=[TAG])
page_router = APIRouter(include_in_schema=False)
LINKS: tuple[tuple[str, str], ...] = (
    ("/admin/accounts", "账号与角色"),
    ("/account/delegation", "休假代理"),
)


# --- shared by the API, the pages and the CLI ---------------------------------------------------
@dataclass(frozen=True)
class Made:
    """An account and the password made for it, to be shown once."""

    row: int
    person_id: int
    name: str
    username: str
    password: str
    matched: bool


@dataclass
class ImportOutcome:
    valid_only: bool
    created: list[Made] = field(default_factory=list)
    errors: list[tuple[int, str, str, str]] = field(default_factory=list)  # row, column, value, why
    error_count: int = 0
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        """Errors and nothing written, because the officer did not ask for the valid rows."""
        return bool(self.errors) and not self.created and not self.valid_only


def import_accounts(
    db: Engine,
    now: dt.datetime,
    actor: Actor,
    data: bytes,
    filename: str,
    *,
    valid_only: bool = False,
) -> ImportOutcome:
    """A sheet of accounts (身份证号, 姓名, 手机号, 用户名, 角色, 单位代码, 学科): every row
    checked — its cells, then against the database — before anything is written; with any
    error nothing is, unless ``valid_only``. Each account created gets a generated password,
    hashed here, before the one write transaction."""
    if len(data) > MAX_UPLOAD:
        raise FormError("file", f"文件过大：不能超过{MAX_UPLOAD // (1024 * 1024)}MB")
    try:
        table = read_table(data, filename, schema=acc.ACCOUNTS)
    except SheetError as exc:
        raise FormError("file", str(exc)) from None
    checked = validate(table, acc.ACCOUNTS)
    out = ImportOutcome(valid_only=valid_only, ignored_columns=list(checked.ignored_columns))
    out.errors = [(e.row, e.column, e.value, e.reason) for e in checked.errors]
    out.error_count = checked.error_count
    if (out.errors and not valid_only) or not checked.rows:
        return out
    passwords = {int(r["row"]): acc.generate_password() for r in checked.rows}
    hashes = dict(zip(passwords, hash_temporaries(list(passwords.values())), strict=True))
    ref = history.file_ref(filename, data)
    with db.begin() as conn:
        report = acc.import_rows(
            conn, actor, now, checked.rows, hashes, valid_only=valid_only, source_ref=ref
        )
    shown = {int(r["row"]): r for r in checked.rows}
    labels = {c.label: c.name for c in acc.ACCOUNTS.columns}
    for row, column, reason in report.errors:
        value = shown.get(row, {}).get(labels.get(column, ""), "")
        if isinstance(value, tuple):
            value = "、".join(str(ROLE_LABELS.get(v, v)) for v in value)
        out.errors.append((row, column, str(value or ""), reason))
    out.error_count += len(report.errors)
    out.errors.sort(key=lambda e: e[0])
    out.created = [
        Made(row, c.person_id, c.name, c.username, passwords[row], c.matched)
        for row, c in report.created
    ]
    return out


def passwords_xlsx(made: Sequence[Made]) -> bytes:
    rows = [
        {"row": m.row, "name": m.name, "username": m.username, "password": m.password} for m in made
    ]
    return write_xlsx(PASSWORD_COLUMNS, rows, title="初始密码", mask=())


def _catalogue(svc: Any) -> Catalogue:
    processes: Catalogue = svc.engine.processes
    return processes


# --- API shapes -----------------------------------------------------------------------------
Short = Annotated[s.Text, Field(min_length=1, max_length=64)]
Optional32 = Annotated[s.Text, Field(max_length=32)] | None


class RoleOut(BaseModel):
    role: str
    role_label: str
    unit_id: int
    unit_code: str
    unit_name: str
    subject: str | None
    manageable: bool


class AccountOut(BaseModel):
    person_id: int
    name: str
    username: str | None
    active: bool
    must_change_password: bool
    id_number: str | None  # masked
    roles: list[RoleOut]


class AccountList(BaseModel):
    total: int
    page: int
    page_size: int
    items: list[AccountOut]


class AccountIn(s.In):
    name: Annotated[s.Text, Field(min_length=1, max_length=30)]
    username: Short
    unit_id: s.Id
    roles: Annotated[list[Short], Field(min_length=1, max_length=10)]
    id_number: Optional32 = None
    phone: Optional32 = None
    subject: Optional32 = None


class PasswordOut(BaseModel):
    person_id: int
    name: str
    username: str
    initial_password: str = Field(description="只在此次答复中出现一次；本人首次登录须修改")
    matched: bool = Field(default=False, description="按身份证号匹配到名册中已有的人员")


class ImportRowError(BaseModel):
    row: int
    column: str
    value: str
    reason: str


class ImportCreated(BaseModel):
    row: int
    person_id: int
    name: str
    username: str
    initial_password: str
    matched: bool


class AccountImportOut(BaseModel):
    imported: int
    error_count: int
    errors: list[ImportRowError]
    ignored_columns: list[str]
    created: list[ImportCreated]


class RoleIn(s.In):
    role: Short
    unit_id: s.Id
    subject: Optional32 = None


class RoleRemoveIn(s.In):
    role: Short
    unit_id: s.Id


class MovedOut(BaseModel):
    cases_moved: int = Field(description="待办随之转办的事项数（每件事项记一条审计记录）")
    unsigned: list[int] = Field(
        default_factory=list, description="此人尚未签署、无人可代签的加签所在事项"
    )


class DelegationIn(s.In):
    acting_id: s.Id
    starts_on: dt.date
    ends_on: dt.date
    reason: Annotated[s.Text, Field(max_length=200)] | None = None


class DelegationOut(BaseModel):
    id: int
    person_id: int
    person_name: str
    acting_id: int
    acting_name: str
    starts_on: dt.date
    ends_on: dt.date
    reason: str | None
    status: str
    status_label: str


class HandoverIn(s.In):
    successor_id: s.Id | None = None
    keep_account: bool = False


class OpenTaskOut(BaseModel):
    task_id: int
    case_id: int
    process: str
    state: str
    state_label: str
    kind: str
    acting_for: int | None


class HistoryOut(BaseModel):
    seq: int
    at: dt.datetime
    actor_label: str
    source_label: str
    changes: dict[str, Any]


class AccountDetailOut(AccountOut):
    phone: str | None
    school: str | None
    unit: str | None
    manages_account: bool
    open_tasks: list[OpenTaskOut]
    delegations: list[DelegationOut]
    history: list[HistoryOut]


def _account_out(a: acc.AccountRow) -> AccountOut:
    return AccountOut(
        person_id=a.id,
        name=a.name,
        username=a.username,
        active=a.active,
        must_change_password=a.must_change_password,
        id_number=a.id_number,
        roles=[RoleOut(**vars(r)) for r in a.roles],
    )


def _delegation_out(d: dlg.DelegationView) -> DelegationOut:
    return DelegationOut(**{k: v for k, v in vars(d).items() if k != "set_by_name"})


def _roles_of(codes: Sequence[str]) -> tuple[str, ...]:
    out = []
    for code in codes:
        try:
            out.append(role_code(code))
        except ValueError as exc:
            raise FormError("roles", str(exc)) from None
    return tuple(dict.fromkeys(out))


def _role_of(code: str) -> str:
    try:
        return role_code(code)
    except ValueError as exc:
        raise FormError("role", str(exc)) from None


def _detail(svc: Any, actor: Actor, person_id: int) -> acc.AccountDetail:
    with reader(svc.db).connect() as conn:
        return acc.detail(conn, actor, person_id, svc.today())


PersonId = Annotated[int, Path(ge=1, le=2**53)]


# --- API ------------------------------------------------------------------------------------
@api_router.get("/accounts", response_model=AccountList, summary="查询人员与账号")
def api_search(
    svc: Svc,
    actor: ApiActor,
    q: Annotated[s.Text, Query(max_length=64)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = PAGE_SIZE,
) -> AccountList:
    """查询管辖范围内的人员：按姓名、用户名或身份证号；不填查询词时列出已开通账号的人员。"""
    with reader(svc.db).connect() as conn:
        total, rows = acc.search(conn, actor, q, page=page, page_size=page_size)
    return AccountList(
        total=total, page=page, page_size=page_size, items=[_account_out(r) for r in rows]
    )


@api_router.post("/accounts", response_model=PasswordOut, status_code=201, summary="开通账号")
def api_create(body: AccountIn, svc: Svc, actor: ApiActor) -> PasswordOut:
    """开通账号并在管辖范围内的单位授予角色。身份证号与名册中已有人员相同时为其开通，不另建
    人员。答复中的初始密码只出现这一次，本人首次登录须修改。"""
    new = acc.NewAccount(
        name=body.name, username=body.username, unit_id=body.unit_id,
        roles=_roles_of(body.roles), id_number=body.id_number, phone=body.phone,
        subject=body.subject,
    )  # fmt: skip
    password = acc.generate_password()
    hashed = hash_temporary(password)
    with svc.db.begin() as conn:
        made = acc.create(conn, actor, svc.now(), new, hashed)
    return PasswordOut(
        person_id=made.person_id, name=made.name, username=made.username,
        initial_password=password, matched=made.matched,
    )  # fmt: skip


@api_router.post("/accounts/import", response_model=AccountImportOut, summary="批量开通账号")
def api_import(
    svc: Svc,
    actor: ApiActor,
    file: Annotated[UploadFile, File()],
    valid_only: bool = False,
) -> JSONResponse:
    """批量开通账号（.xlsx 或 .csv；列：身份证号、姓名、手机号、用户名、角色、单位代码、学科）。
    有错误时逐行逐列列出原因，默认不开通任何账号；valid_only=true 时只开通无误的行。答复中列出
    每个新账号的初始密码（只出现这一次）。"""
    outcome = import_accounts(
        svc.db, svc.now(), actor, file.file.read(MAX_UPLOAD + 1), file.filename or "",
        valid_only=valid_only,
    )  # fmt: skip
    out = AccountImportOut(
        imported=len(outcome.created),
        error_count=outcome.error_count,
        errors=[
            ImportRowError(row=r, column=c, value=v, reason=w) for r, c, v, w in outcome.errors
        ],
        ignored_columns=outcome.ignored_columns,
        created=[
            ImportCreated(
                row=m.row, person_id=m.person_id, name=m.name, username=m.username,
                initial_password=m.password, matched=m.matched,
            )
            for m in outcome.created
        ],
    )  # fmt: skip
    return JSONResponse(out.model_dump(mode="json"), status_code=422 if outcome.refused else 200)


@api_router.get("/accounts/{person_id}", response_model=AccountDetailOut, summary="人员账号详情")
def api_detail(person_id: PersonId, svc: Svc, actor: ApiActor) -> AccountDetailOut:
    """人员的账号、角色、本人名下的待办、代理安排和账号变更记录（管辖范围外答复 404）。"""
    found = _detail(svc, actor, person_id)
    processes = _catalogue(svc)
    return AccountDetailOut(
        **_account_out(found.account).model_dump(),
        phone=mask_phone(found.phone),
        school=found.school,
        unit=found.unit,
        manages_account=found.whole,
        open_tasks=[
            OpenTaskOut(
                task_id=t.task_id, case_id=t.case_id, process=t.process, state=t.state,
                state_label=processes[t.process].state_label(t.state)
                if t.process in processes else t.state,
                kind=t.kind, acting_for=t.delegated_from,
            )
            for t in found.open_tasks
        ],
        delegations=[_delegation_out(d) for d in found.delegations],
        history=[
            HistoryOut(
                seq=h.seq, at=h.at, actor_label=h.actor_label, source_label=h.source_label,
                changes=h.changes,
            )
            for h in found.history
        ],
    )  # fmt: skip


@api_router.post(
    "/accounts/{person_id}/roles", response_model=AccountOut, status_code=201, summary="授予角色"
)
def api_bind(person_id: PersonId, body: RoleIn, svc: Svc, actor: ApiActor) -> AccountOut:
    """在管辖范围内的单位授予角色（人事干部、校长须为相应层级的单位）。"""
    with svc.db.begin() as conn:
        acc.bind(conn, actor, svc.now(), person_id, _role_of(body.role), body.unit_id, body.subject)
    return _account_out(_detail(svc, actor, person_id).account)


@api_router.post("/accounts/{person_id}/roles/remove", response_model=MovedOut, summary="撤销角色")
def api_unbind(person_id: PersonId, body: RoleRemoveIn, svc: Svc, actor: ApiActor) -> MovedOut:
    """撤销角色：此人名下该角色的待办退回该角色由其他人员办理；此人是该单位该角色的最后一人且
    仍有待办时拒绝（409，列出事项）。此人所有登录随即失效。"""
    with svc.db.begin() as conn:
        moved = acc.unbind(
            conn, actor, svc.now(), person_id, _role_of(body.role), body.unit_id, _catalogue(svc)
        )
    return MovedOut(cases_moved=moved)


@api_router.post("/accounts/{person_id}/password", response_model=PasswordOut, summary="重置密码")
def api_reset_password(person_id: PersonId, svc: Svc, actor: ApiActor) -> PasswordOut:
    """重置密码：生成临时密码（只在此次答复中出现一次），此人所有登录立即失效，下次登录须先
    修改密码。"""
    password = acc.generate_password()
    hashed = hash_temporary(password)
    with svc.db.begin() as conn:
        row = acc.reset_password(conn, actor, svc.now(), person_id, hashed)
    return PasswordOut(
        person_id=person_id, name=row.name, username=row.username, initial_password=password
    )


@api_router.post("/accounts/{person_id}/disable", response_model=MovedOut, summary="停用账号")
def api_disable(person_id: PersonId, svc: Svc, actor: ApiActor) -> MovedOut:
    """停用账号：不能再登录，所有登录立即失效；此人名下的待办转给其代理人（代理期内），否则退回
    原角色办理。"""
    with svc.db.begin() as conn:
        done = acc.set_active(conn, actor, svc.now(), person_id, False)
    return MovedOut(cases_moved=done.cases, unsigned=[t.case_id for t in done.stuck])


@api_router.post("/accounts/{person_id}/enable", response_model=AccountOut, summary="启用账号")
def api_enable(person_id: PersonId, svc: Svc, actor: ApiActor) -> AccountOut:
    """重新启用已停用的账号。"""
    with svc.db.begin() as conn:
        acc.set_active(conn, actor, svc.now(), person_id, True)
    return _account_out(_detail(svc, actor, person_id).account)


@api_router.post("/accounts/{person_id}/handover", response_model=MovedOut, summary="离职转办")
def api_handover(person_id: PersonId, body: HandoverIn, svc: Svc, actor: ApiActor) -> MovedOut:
    """离职转办：此人名下全部待办（含其为唯一人员的角色待办）一次转给接任人，或退回原角色；
    撤销其全部角色，结束其代理安排，停用账号（keep_account=true 时保留）。每件事项记一条
    审计记录。无接任人而有无人可办的待办时拒绝（409，列出事项）。"""
    with svc.db.begin() as conn:
        done = acc.handover(
            conn, actor, svc.now(), person_id, body.successor_id,
            keep_account=body.keep_account, processes=_catalogue(svc),
        )  # fmt: skip
    return MovedOut(cases_moved=done.cases)


@api_router.post(
    "/accounts/{person_id}/delegations",
    response_model=DelegationOut,
    status_code=201,
    summary="安排休假代理",
)
def api_delegate(
    person_id: PersonId, body: DelegationIn, svc: Svc, actor: ApiActor
) -> DelegationOut:
    """为管辖范围内的人员安排休假代理：期间其名下的待办（含期间新转给他的）由代理人办理，
    期满交回本人。代理人须为本单位或上级单位的人事干部或校长。"""
    return _delegate(svc, actor, person_id, body)


@api_router.get("/me/delegations", response_model=list[DelegationOut], summary="本人的代理安排")
def api_my_delegations(svc: Svc, actor: ApiActor) -> list[DelegationOut]:
    """本人的休假代理安排（本人休假与本人代理他人）。"""
    if actor.person_id is None:
        return []
    with reader(svc.db).connect() as conn:
        return [_delegation_out(d) for d in dlg.delegations(conn, actor.person_id, svc.today())]


@api_router.post(
    "/me/delegations", response_model=DelegationOut, status_code=201, summary="本人休假指定代理人"
)
def api_delegate_mine(body: DelegationIn, svc: Svc, actor: ApiActor) -> DelegationOut:
    """本人休假时指定代理人：期间本人名下的待办由代理人办理，期满交回本人。"""
    if actor.person_id is None:
        raise NotFound("人员不存在")
    return _delegate(svc, actor, actor.person_id, body)


@api_router.post(
    "/delegations/{delegation_id}/cancel",
    status_code=204,
    response_class=Response,
    summary="撤销代理安排",
)
def api_cancel_delegation(
    delegation_id: Annotated[int, Path(ge=1, le=2**53)], svc: Svc, actor: ApiActor
) -> Response:
    """撤销代理安排（提前返岗）：代理人尚未办理的待办交回本人。"""
    with svc.db.begin() as conn:
        dlg.cancel(conn, actor, svc.now(), delegation_id)
    return Response(status_code=204)


def _delegate(svc: Any, actor: Actor, person_id: int, body: DelegationIn) -> DelegationOut:
    with svc.db.begin() as conn:
        made = dlg.delegate(
            conn, actor, svc.now(), person_id, body.acting_id, body.starts_on, body.ends_on,
            body.reason,
        )  # fmt: skip
        found = next(d for d in dlg.delegations(conn, person_id, svc.today()) if d.id == made)
    return _delegation_out(found)


# --- pages ----------------------------------------------------------------------------------
OnAccounts = Annotated[Who, Depends(webkit.guarded("/admin/accounts"))]
OnAccount = Annotated[Who, Depends(webkit.guarded("/admin/accounts/{person_id}"))]
OnMine = Annotated[Who, Depends(webkit.guarded("/account/delegation"))]
ROLE_OPTIONS: Final = tuple((r, ROLE_LABELS[r]) for r in BOUND_ROLES)


@dataclass(frozen=True)
class Trouble:
    """A refusal to show: at the top and, when the form ``where`` has it, beside ``field``;
    ``values`` are what the person typed, drawn back into that form."""

    where: str
    message: str
    at: str | None = None
    values: dict[str, str] = field(default_factory=dict)


def _trouble(where: str, exc: RenshiError, values: dict[str, str]) -> Trouble:
    said = webkit.said(exc)
    return Trouble(where, said, exc.field, values)


def _values(form: FormData, *names: str) -> dict[str, str]:
    return {n: webkit.text(form, n).strip() for n in names}


def _list_page(
    request: Request,
    who: Who,
    *,
    q: str = "",
    page: int = 1,
    trouble: Trouble | None = None,
    outcome: ImportOutcome | None = None,
    status: int = 200,
) -> Response:
    with reader(who.svc.db).connect() as conn:
        total, rows = acc.search(conn, who.actor, q, page=page, page_size=PAGE_SIZE)
    made = None
    if outcome is not None and outcome.created:
        made = json.dumps(
            [[m.row, m.name, m.username, m.password] for m in outcome.created],
            ensure_ascii=False,
        )
    return webkit.render(
        request,
        "registry/accounts.html",
        who,
        {
            "nav": "/admin/accounts",
            "q": q,
            "rows": rows,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "base": "/admin/accounts?" + (urlencode({"q": q}) + "&" if q else ""),
            "roles": ROLE_OPTIONS,
            "trouble": trouble,
            "outcome": outcome,
            "made": made,
        },
        status=status,
    )


def _manager(request: Request, who: Who) -> Response | None:
    if not is_manager(who.actor):
        return webkit.not_found(request, who, "页面不存在")
    return None


@page_router.get("/admin/accounts")
def accounts_page(request: Request, who: SignedIn, q: str = "", page: str = "1") -> Response:
    refused = _manager(request, who)
    if refused is not None:
        return refused
    words = q.strip()[:64] if all(ord(c) >= 32 for c in q) else ""
    return _list_page(request, who, q=words, page=min(webkit.parse_id(page) or 1, 100_000))


@page_router.post("/admin/accounts")
def create_page(request: Request, form: Posted, who: OnAccounts) -> Response:
    refused = _manager(request, who)
    if refused is not None:
        return refused
    values = _values(form, "name", "id_number", "phone", "username", "unit_code", "role", "subject")
    password = acc.generate_password()
    try:
        with reader(who.svc.db).connect() as conn:
            try:
                unit_id = unit_by(conn, code=values["unit_code"]).id
            except NotFound:
                raise FormError("unit_code", "单位代码不存在或不在您的管理范围内") from None
        role = values["role"]
        if not role:
            raise FormError("role", "请选择角色")
        new = acc.NewAccount(
            name=values["name"], username=values["username"], unit_id=unit_id,
            roles=(_role_of(role),), id_number=values["id_number"], phone=values["phone"],
            subject=values["subject"],
        )  # fmt: skip
        hashed = hash_temporary(password)
        with who.svc.db.begin() as conn:
            made = acc.create(conn, who.actor, who.svc.now(), new, hashed)
    except RenshiError as exc:
        if exc.field == "unit_id":
            exc = FormError("unit_code", webkit.said(exc))
        trouble = _trouble("create", exc, values)
        return _list_page(request, who, trouble=trouble, status=exc.status)
    return _person_page(
        request, who, made.person_id, password=password, flash=f"已为{made.name}开通账号"
    )


@page_router.post("/admin/accounts/import")
def import_page(request: Request, form: Posted, who: OnAccounts) -> Response:
    refused = _manager(request, who)
    if refused is not None:
        return refused
    upload = form.get("file")
    try:
        if not isinstance(upload, PageUpload) or not upload.filename:
            raise FormError("file", "请选择要导入的 .xlsx 或 .csv 文件")
        outcome = import_accounts(
            who.svc.db, who.svc.now(), who.actor, upload.file.read(MAX_UPLOAD + 1),
            upload.filename, valid_only=webkit.text(form, "valid_only") == "1",
        )  # fmt: skip
    except RenshiError as exc:
        return _list_page(request, who, trouble=_trouble("import", exc, {}), status=exc.status)
    return _list_page(request, who, outcome=outcome, status=422 if outcome.refused else 200)


@page_router.post("/admin/accounts/passwords")
def passwords_file(request: Request, form: Posted, who: OnAccounts) -> Response:
    """The initial passwords of a sheet just imported, as the file the officer keeps: the
    page carries them (it shows them already), nothing stores them."""
    try:
        raw = json.loads(webkit.text(form, "made") or "[]")
        made = [Made(int(r[0]), 0, str(r[1]), str(r[2]), str(r[3]), False) for r in raw[:100_000]]
    except (ValueError, TypeError, IndexError):
        return webkit.message(request, who, "无法下载", "初始密码表已失效，请重新导入。", 422)
    response = Response(
        passwords_xlsx(made),
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote('初始密码.xlsx')}"},
    )
    return webkit.secure(response)


@page_router.get("/admin/accounts/template")
def template_file(request: Request, who: SignedIn) -> Response:
    response = Response(
        template_xlsx(acc.ACCOUNTS),
        media_type=XLSX,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote('批量开通账号模板.xlsx')}"
        },
    )
    return webkit.secure(response)


def _person_page(
    request: Request,
    who: Who,
    person_id: int,
    *,
    password: str | None = None,
    flash: str | None = None,
    trouble: Trouble | None = None,
    status: int = 200,
) -> Response:
    try:
        found = _detail(who.svc, who.actor, person_id)
    except NotFound:
        return webkit.not_found(request, who, "人员不存在")
    processes = webkit.catalogue(request)
    tasks = [
        {
            "case_id": t.case_id,
            "process": processes[t.process].label if t.process in processes else t.process,
            "state": processes[t.process].state_label(t.state)
            if t.process in processes
            else t.state,
            "kind": TASK_KINDS.get(t.kind, "办理"),
            "acting_for": t.delegated_from,
        }
        for t in found.open_tasks
    ]
    return webkit.render(
        request,
        "registry/account.html",
        who,
        {
            "nav": "/admin/accounts",
            "d": found,
            "a": found.account,
            "phone": mask_phone(found.phone),
            "tasks": tasks,
            "roles": ROLE_OPTIONS,
            "password": password,
            "done": flash,
            "trouble": trouble,
            "history": [
                {"at": webkit.local(h.at), "by": h.actor_label, "source": h.source_label,
                 "changes": _changes(h.changes)}
                for h in found.history
            ],
            "today": who.svc.today().isoformat(),
        },
        status=status,
    )  # fmt: skip


FIELD_WORDS: Final = {
    "name": "姓名",
    "username": "用户名",
    "unit": "所属单位",
    "roles": "角色",
    "active": "账号状态",
    "must_change_password": "须修改密码",
    "password": "密码",
}


def _changes(changes: dict[str, Any]) -> str:
    """A history entry in words: 角色：… → …；账号状态：正常 → 停用."""

    def show(key: str, value: Any) -> str:
        if value is None or value == "" or value == []:
            return "—"
        if key == "active":
            return "正常" if value else "停用"
        if isinstance(value, bool):
            return "是" if value else "否"
        if key == "roles" and isinstance(value, list):
            return "、".join(
                f"{ROLE_LABELS.get(v.split('@')[0], v)}@{v.split('@')[-1]}" for v in value
            )
        if isinstance(value, dict):
            return "，".join(f"{v}" for v in value.values() if v)
        return str(value)

    parts = []
    for key, (before, after) in changes.items():
        word = "代理安排" if key.startswith("delegation:") else FIELD_WORDS.get(key, key)
        parts.append(f"{word}：{show(key, before)} → {show(key, after)}")
    return "；".join(parts)


def _pid(raw: str) -> int | None:
    return webkit.parse_id(raw)


def _act(
    request: Request,
    who: Who,
    raw_id: str,
    where: str,
    values: dict[str, str],
    work: Callable[[Any, int], str | tuple[str, str]],
) -> Response:
    """Run one change on a person's page: redirect with its message, or draw the page again
    with the refusal beside the form that asked."""
    person_id = _pid(raw_id)
    if person_id is None or not is_manager(who.actor):
        return webkit.not_found(request, who, "人员不存在")
    try:
        said = work(who.svc, person_id)
    except NotFound:
        return webkit.not_found(request, who, "人员不存在")
    except RenshiError as exc:
        return _person_page(
            request, who, person_id, trouble=_trouble(where, exc, values), status=exc.status
        )
    if isinstance(said, tuple):  # a password to show once: no redirect
        flash, password = said
        return _person_page(request, who, person_id, password=password, flash=flash)
    return webkit.redirect(
        f"/admin/accounts/{person_id}", said, secure_cookie=who.svc.secure_cookies
    )


@page_router.get("/admin/accounts/{person_id}")
def person_page(request: Request, person_id: str, who: SignedIn) -> Response:
    pid = _pid(person_id)
    if pid is None or not is_manager(who.actor):
        return webkit.not_found(request, who, "人员不存在")
    return _person_page(request, who, pid)


def _person_by_username(conn: Any, username: str, field_name: str) -> int:
    pid = conn.execute(select(Person.id).where(Person.username == username.strip())).scalar()
    if not username.strip() or pid is None:
        raise FormError(field_name, f"用户名不存在：{username.strip() or '（未填写）'}")
    return int(pid)


@page_router.post("/admin/accounts/{person_id}/roles")
def bind_page(request: Request, person_id: str, form: Posted, who: OnAccount) -> Response:
    values = _values(form, "role", "unit_code", "subject")

    def work(svc: Any, pid: int) -> str:
        with svc.db.begin() as conn:
            try:
                unit = unit_by(conn, code=values["unit_code"])
            except NotFound:
                raise FormError("unit_code", "单位代码不存在或不在您的管理范围内") from None
            role = _role_of(values["role"]) if values["role"] else ""
            if not role:
                raise FormError("role", "请选择角色")
            acc.bind(conn, who.actor, svc.now(), pid, role, unit.id, values["subject"])
        return f"已授予“{ROLE_LABELS[role]}”（{unit.name}）"

    return _act(request, who, person_id, "bind", values, work)


@page_router.post("/admin/accounts/{person_id}/roles/remove")
def unbind_page(request: Request, person_id: str, form: Posted, who: OnAccount) -> Response:
    values = _values(form, "role", "unit_id")

    def work(svc: Any, pid: int) -> str:
        unit_id = webkit.parse_id(values["unit_id"])
        if unit_id is None:
            raise FormError("unit_id", "单位不存在")
        with svc.db.begin() as conn:
            moved = acc.unbind(
                conn, who.actor, svc.now(), pid, _role_of(values["role"]), unit_id,
                webkit.catalogue(request),
            )  # fmt: skip
        more = f"，{moved}件事项的待办已退回该角色" if moved else ""
        return f"已撤销“{ROLE_LABELS.get(values['role'], values['role'])}”{more}"

    return _act(request, who, person_id, "roles", values, work)


@page_router.post("/admin/accounts/{person_id}/password")
def reset_page(request: Request, person_id: str, form: Posted, who: OnAccount) -> Response:
    def work(svc: Any, pid: int) -> tuple[str, str]:
        password = acc.generate_password()
        hashed = hash_temporary(password)
        with svc.db.begin() as conn:
            row = acc.reset_password(conn, who.actor, svc.now(), pid, hashed)
        return f"已重置{row.name}的密码，其所有登录已失效", password

    return _act(request, who, person_id, "account", {}, work)


@page_router.post("/admin/accounts/{person_id}/disable")
def disable_page(request: Request, person_id: str, form: Posted, who: OnAccount) -> Response:
    def work(svc: Any, pid: int) -> str:
        with svc.db.begin() as conn:
            done = acc.set_active(conn, who.actor, svc.now(), pid, False)
        said = "账号已停用，其所有登录已失效"
        if done.cases:
            said += f"；{done.cases}件事项的待办已转给代理人或退回原角色"
        if done.stuck:
            said += f"；{dlg.stuck_words(done.stuck)}的加签尚待此人签署，请承办人另行加签"
        return said

    return _act(request, who, person_id, "account", {}, work)


@page_router.post("/admin/accounts/{person_id}/enable")
def enable_page(request: Request, person_id: str, form: Posted, who: OnAccount) -> Response:
    def work(svc: Any, pid: int) -> str:
        with svc.db.begin() as conn:
            acc.set_active(conn, who.actor, svc.now(), pid, True)
        return "账号已启用"

    return _act(request, who, person_id, "account", {}, work)


@page_router.post("/admin/accounts/{person_id}/handover")
def handover_page(request: Request, person_id: str, form: Posted, who: OnAccount) -> Response:
    values = _values(form, "successor", "keep_account")

    def work(svc: Any, pid: int) -> str:
        with svc.db.begin() as conn:
            successor = (
                _person_by_username(conn, values["successor"], "successor")
                if values["successor"]
                else None
            )
            try:
                done = acc.handover(
                    conn, who.actor, svc.now(), pid, successor,
                    keep_account=values["keep_account"] == "1",
                    processes=webkit.catalogue(request),
                )  # fmt: skip
            except FormError as exc:
                if exc.field == "successor_id":
                    raise FormError("successor", exc.reason) from None
                raise
        return f"离职转办已完成：{done.cases}件事项的待办已转出，角色已全部撤销"

    return _act(request, who, person_id, "handover", values, work)


def _delegation_values(form: FormData) -> dict[str, str]:
    return _values(form, "acting", "starts_on", "ends_on", "reason")


def _dates(values: dict[str, str]) -> tuple[dt.date, dt.date]:
    out = []
    for name in ("starts_on", "ends_on"):
        try:
            out.append(dt.date.fromisoformat(values[name]))
        except ValueError:
            word = "开始日期" if name == "starts_on" else "结束日期"
            raise FormError(name, f"请填写{word}（如 2026-09-01）") from None
    return out[0], out[1]


def _delegate_from_form(svc: Any, actor: Actor, person_id: int, values: dict[str, str]) -> str:
    starts_on, ends_on = _dates(values)
    with svc.db.begin() as conn:
        acting = _person_by_username(conn, values["acting"], "acting")
        try:
            dlg.delegate(
                conn, actor, svc.now(), person_id, acting, starts_on, ends_on,
                values["reason"] or None,
            )  # fmt: skip
        except FormError as exc:
            if exc.field == "acting_id":
                raise FormError("acting", exc.reason) from None
            raise
    return f"已安排代理：{starts_on.isoformat()}至{ends_on.isoformat()}"


@page_router.post("/admin/accounts/{person_id}/delegations")
def delegate_page(request: Request, person_id: str, form: Posted, who: OnAccount) -> Response:
    values = _delegation_values(form)
    return _act(
        request, who, person_id, "delegate", values,
        lambda svc, pid: _delegate_from_form(svc, who.actor, pid, values),
    )  # fmt: skip


@page_router.post("/admin/accounts/{person_id}/delegations/{delegation_id}/cancel")
def cancel_page(
    request: Request, person_id: str, delegation_id: str, form: Posted, who: OnAccount
) -> Response:
    def work(svc: Any, pid: int) -> str:
        did = webkit.parse_id(delegation_id)
        if did is None:
            raise NotFound("代理安排不存在")
        with svc.db.begin() as conn:
            dlg.cancel(conn, who.actor, svc.now(), did)
        return "代理安排已撤销，未办结的待办已交回本人"

    return _act(request, who, person_id, "delegations", {}, work)


# --- one's own delegation -------------------------------------------------------------------
def _mine_page(
    request: Request, who: Who, *, trouble: Trouble | None = None, status: int = 200
) -> Response:
    me = who.actor.person_id
    assert me is not None
    today = who.svc.today()
    with reader(who.svc.db).connect() as conn:
        mine = dlg.delegations(conn, me, today)
        working = bool(staff_paths(conn, me))
    return webkit.render(
        request,
        "registry/account_delegation.html",
        who,
        {
            "nav": "/account/delegation",
            "delegations": mine,
            "me_id": me,
            "working": working,
            "trouble": trouble,
            "today": today.isoformat(),
        },
        status=status,
    )


@page_router.get("/account/delegation")
def my_delegation(request: Request, who: SignedIn) -> Response:
    return _mine_page(request, who)


@page_router.post("/account/delegation")
def my_delegate(request: Request, form: Posted, who: OnMine) -> Response:
    values = _delegation_values(form)
    me = who.actor.person_id
    assert me is not None
    try:
        said = _delegate_from_form(who.svc, who.actor, me, values)
    except RenshiError as exc:
        return _mine_page(
            request, who, trouble=_trouble("delegate", exc, values), status=exc.status
        )
    return webkit.redirect("/account/delegation", said, secure_cookie=who.svc.secure_cookies)


@page_router.post("/account/delegation/{delegation_id}/cancel")
def my_cancel(request: Request, delegation_id: str, form: Posted, who: OnMine) -> Response:
    did = webkit.parse_id(delegation_id)
    try:
        if did is None:
            raise NotFound("代理安排不存在")
        with who.svc.db.begin() as conn:
            dlg.cancel(conn, who.actor, who.svc.now(), did)
    except NotFound:
        return webkit.not_found(request, who, "代理安排不存在")
    except RenshiError as exc:
        return _mine_page(request, who, trouble=_trouble("list", exc, {}), status=exc.status)
    return webkit.redirect(
        "/account/delegation", "代理安排已撤销，未办结的待办已交回本人",
        secure_cookie=who.svc.secure_cookies,
    )  # fmt: skip


# --- the command line: ``renshi user`` ------------------------------------------------------


def _person(conn: Any, username: str) -> Any:
    row = conn.execute(
        select(Person.id, Person.name, Person.active).where(Person.username == username)
    ).one_or_none()
    if row is None:
        commands.fail(f"用户不存在：{username}")
    return row


def _as(db: Engine, who: str) -> Actor:
    """``--as``: the officer the change is made in the name of (their scope applies, the
    history names them); ``system`` (the default) is the server's administrator."""
    if who == "system":
        return SYSTEM_ACTOR
    with reader(db).connect() as conn:
        try:
            return load_actor(conn, username=who, active_only=True)
        except NotFound:
            commands.fail(f"用户不存在：{who}")


AS_OPTION = click.option(
    "--as",
    "as_",
    default="system",
    metavar="USERNAME",
    help="以某位管理员的名义办理（按其管理范围，变更记录记其姓名）；默认为系统管理员。",
)


@click.group("user")
def cli() -> None:
    """账号与角色：开通（单个或批量）、授予与撤销角色、重置密码、停用与启用、休假代理、离职转办、强制退出。
    停用、重置密码、撤销角色都使该用户所有已登录的会话和访问令牌立即失效。"""


@cli.command("show")
@click.argument("username")
def user_show(username: str) -> None:
    """显示账号状态及其角色（撤销角色时需要角色代码和单位代码）。"""
    with reader(make_engine()).connect() as conn:
        person = _person(conn, username)
        roles = conn.execute(
            select(RoleBinding.role, OrgUnit.code, OrgUnit.name)
            .join(OrgUnit, OrgUnit.id == RoleBinding.org_unit_id)
            .where(RoleBinding.person_id == person.id)
            .order_by(RoleBinding.id)
        ).all()
        leaves = dlg.delegations(conn, person.id, local_date(commands.clock().now()))
    click.echo(f"{person.name}（{username}）：{'正常' if person.active else '已停用'}")
    for r in roles:
        click.echo(f"  {r.role}（{ROLE_LABELS.get(r.role, r.role)}） 单位 {r.code} {r.name}")
    for d in leaves:
        click.echo(
            f"  代理#{d.id} {d.person_name}→{d.acting_name} {d.starts_on}至{d.ends_on} "
            f"{d.status_label}"
        )


@cli.command("create")
@click.argument("username")
@click.option("--name", required=True, help="姓名")
@click.option("--role", "roles", required=True, multiple=True, help="角色（代码或名称，可多次）")
@click.option("--unit", required=True, help="单位代码")
@click.option("--id-number", default=None, help="身份证号（名册中已有此人时为其开通）")
@click.option("--phone", default=None, help="手机号")
@click.option("--subject", default=None, help="学科（评委）")
@AS_OPTION
def user_create(
    username: str,
    name: str,
    roles: tuple[str, ...],
    unit: str,
    id_number: str | None,
    phone: str | None,
    subject: str | None,
    as_: str,
) -> None:
    """开通账号并授予角色；生成的初始密码只显示一次，本人首次登录须修改。"""
    db = make_engine()
    actor = _as(db, as_)
    password = acc.generate_password()
    try:
        with reader(db).connect() as conn:
            try:
                unit_id = unit_by(conn, code=unit).id
            except NotFound:
                raise FormError("unit", f"单位代码不存在：{unit}") from None
        new = acc.NewAccount(
            name=name, username=username, unit_id=unit_id, roles=_roles_of(roles),
            id_number=id_number, phone=phone, subject=subject,
        )  # fmt: skip
        hashed = hash_temporary(password)
        with db.begin() as conn:
            made = acc.create(conn, actor, commands.clock().now(), new, hashed)
    except RenshiError as exc:
        commands.refuse(exc)
    click.echo(f"已为 {made.name}（{made.username}）开通账号。")
    click.echo(f"初始密码（只显示这一次，请当面或电话告知本人，首次登录须修改）：{password}")


@cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=FilePath))
@click.option("--valid-only", is_flag=True, help="仅开通有效行（有错误的行跳过）")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=FilePath),
    default=None,
    help="初始密码表（.xlsx）的保存位置；默认在导入文件旁，名为“原文件名-初始密码.xlsx”。",
)
@AS_OPTION
def user_import(path: FilePath, valid_only: bool, out: FilePath | None, as_: str) -> None:
    """批量开通账号（.xlsx 或 .csv：身份证号、姓名、手机号、用户名、角色、单位代码、学科）。"""
    db = make_engine()
    actor = _as(db, as_)
    try:
        outcome = import_accounts(
            db, commands.clock().now(), actor, path.read_bytes(), path.name, valid_only=valid_only
        )
    except RenshiError as exc:
        commands.refuse(exc)
    for row, column, value, reason in outcome.errors:
        shown = f"“{value}”" if value else ""
        click.echo(f"第{row}行【{column}】{shown}：{reason}", err=True)
    if outcome.created:
        target = out or path.with_name(f"{path.stem}-初始密码.xlsx")
        target.write_bytes(passwords_xlsx(outcome.created))
        click.echo(
            f"已开通 {len(outcome.created)} 个账号，初始密码表：{target}（请妥善保管，分发后删除）"
        )
    if outcome.refused:
        commands.fail(f"文件中有 {outcome.error_count} 处错误，未开通任何账号")


@cli.command("bind")
@click.argument("username")
@click.argument("role")
@click.argument("unit")
@click.option("--subject", default=None, help="学科（评委）")
@AS_OPTION
def user_bind(username: str, role: str, unit: str, subject: str | None, as_: str) -> None:
    """在单位（单位代码）授予角色。"""
    db = make_engine()
    actor = _as(db, as_)
    try:
        with db.begin() as conn:
            person = _person(conn, username)
            acc.bind(
                conn, actor, commands.clock().now(), person.id, _role_of(role),
                _unit_id(conn, unit), subject,
            )  # fmt: skip
    except RenshiError as exc:
        commands.refuse(exc)
    granted = ROLE_LABELS[_role_of(role)]
    click.echo(f"已授予 {person.name}（{username}）在单位 {unit} 的“{granted}”角色。")


def _unit_id(conn: Any, code: str) -> int:
    unit_id = conn.execute(select(OrgUnit.id).where(OrgUnit.code == code)).scalar()
    if unit_id is None:
        commands.fail(f"单位代码不存在：{code}")
    return int(unit_id)


@cli.command("password")
@click.argument("username")
@click.option(
    "--stdin",
    "from_stdin",
    is_flag=True,
    help="从标准输入读取新密码（一行）；不加此项时生成一个随机密码并显示一次。",
)
@click.option("--temporary", is_flag=True, help="作为临时密码：本人下次登录须先修改。")
def user_password(username: str, from_stdin: bool, temporary: bool) -> None:
    """为用户设置新密码（忘记密码、密码泄露时），并使其所有登录立即失效。"""
    if from_stdin:
        chosen = sys.stdin.readline().rstrip("\r\n")
        problem = password_problem(chosen, username=username)
        if problem is not None:
            commands.fail(problem)
    else:
        chosen = acc.generate_password()
    new_hash = hash_password(chosen)  # before the write transaction: argon2 takes a while
    with make_engine().begin() as conn:
        person = _person(conn, username)
        set_password(conn, person.id, new_hash, must_change=temporary)
        history.record(
            conn, history.PERSON,
            [history.Entry(person.id, {"password": ("", "系统管理员设置")})],
            actor=SYSTEM_ACTOR, at=commands.clock().now(), source="edit", source_ref="password",
        )  # fmt: skip
    click.echo(f"已为 {person.name}（{username}）设置新密码，其所有登录均已失效。")
    if not from_stdin:
        after = "首次登录须修改" if temporary else "登录后尽快修改"
        click.echo(f"新密码（只显示这一次，请当面或电话告知本人，{after}）：{chosen}")


def _account_change(username: str, change: Callable[[Any, Any], Any]) -> Any:
    with make_engine().begin() as conn:
        person = _person(conn, username)
        try:
            return person, change(conn, person)
        except RenshiError as exc:
            commands.refuse(exc)


@cli.command("disable")
@click.argument("username")
def user_disable(username: str) -> None:
    """停用账号：不能再登录，已登录的会话和访问令牌立即失效；名下待办转给代理人或退回原角色。"""
    person, done = _account_change(
        username,
        lambda conn, p: acc.set_active(conn, SYSTEM_ACTOR, commands.clock().now(), p.id, False),
    )
    click.echo(f"已停用 {person.name}（{username}），其所有登录均已失效。")
    if done.cases:
        click.echo(f"{done.cases}件事项的待办已转给代理人或退回原角色。")


@cli.command("enable")
@click.argument("username")
def user_enable(username: str) -> None:
    """重新启用已停用的账号。"""
    person, _ = _account_change(
        username,
        lambda conn, p: acc.set_active(conn, SYSTEM_ACTOR, commands.clock().now(), p.id, True),
    )
    click.echo(f"已启用 {person.name}（{username}）。")


@cli.command("revoke")
@click.argument("username")
@click.argument("role", type=click.Choice(sorted(BOUND_ROLES)))
@click.argument("unit")
def user_revoke(username: str, role: str, unit: str) -> None:
    """撤销用户在某单位（单位代码）的角色，其所有登录立即失效，重新登录后按剩余角色办理；
    名下该角色的待办退回该角色。"""
    processes = _processes()

    def change(conn: Any, p: Any) -> int:
        return acc.unbind(
            conn, SYSTEM_ACTOR, commands.clock().now(), p.id, role, _unit_id(conn, unit), processes
        )

    person, moved = _account_change(username, change)
    click.echo(f"已撤销 {person.name}（{username}）在单位 {unit} 的“{ROLE_LABELS[role]}”角色。")
    if moved:
        click.echo(f"{moved}件事项的待办已退回该角色。")


def _processes() -> Catalogue:
    """The installed processes, from the CLI's composition root (names the cases' steps)."""
    from api.cli_case import PROCESSES

    return PROCESSES


@cli.command("signout")
@click.argument("username")
def user_signout(username: str) -> None:
    """强制退出：用户在所有设备上的登录和访问令牌立即失效（如手机丢失）。"""
    with make_engine().begin() as conn:
        person = _person(conn, username)
        end_sessions(conn, person.id)
    click.echo(f"{person.name}（{username}）的所有登录均已失效。")


@cli.command("delegate")
@click.argument("username")
@click.argument("acting")
@click.option("--from", "starts_on", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "ends_on", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--reason", default=None, help="事由（如 年休假）")
@AS_OPTION
def user_delegate(
    username: str, acting: str, starts_on: dt.datetime, ends_on: dt.datetime,
    reason: str | None, as_: str,
) -> None:  # fmt: skip
    """休假代理：USERNAME 在 --from 至 --to 期间不在岗，其名下待办由 ACTING 办理，期满交回。"""
    db = make_engine()
    actor = _as(db, as_)
    try:
        with db.begin() as conn:
            person, holder = _person(conn, username), _person(conn, acting)
            made = dlg.delegate(
                conn, actor, commands.clock().now(), person.id, holder.id, starts_on.date(),
                ends_on.date(), reason,
            )  # fmt: skip
    except RenshiError as exc:
        commands.refuse(exc)
    click.echo(
        f"已安排代理#{made}：{person.name}（{username}）{starts_on.date()}至{ends_on.date()}"
        f"不在岗，由{holder.name}（{acting}）代理。"
    )


@cli.command("undelegate")
@click.argument("delegation_id", type=int)
@AS_OPTION
def user_undelegate(delegation_id: int, as_: str) -> None:
    """撤销代理安排（提前返岗）：未办结的待办交回本人。"""
    db = make_engine()
    actor = _as(db, as_)
    try:
        with db.begin() as conn:
            dlg.cancel(conn, actor, commands.clock().now(), delegation_id)
    except RenshiError as exc:
        commands.refuse(exc)
    click.echo(f"代理#{delegation_id}已撤销。")


@cli.command("handover")
@click.argument("username")
@click.option("--to", "successor", default=None, metavar="USERNAME", help="接任人的用户名")
@click.option("--keep-account", is_flag=True, help="保留账号（不停用），如调往他处另行授予角色")
@AS_OPTION
def user_handover(username: str, successor: str | None, keep_account: bool, as_: str) -> None:
    """离职转办：名下全部待办一次转给接任人（不指定时退回原角色），撤销全部角色，停用账号。"""
    db = make_engine()
    actor = _as(db, as_)
    processes = _processes()
    try:
        with db.begin() as conn:
            person = _person(conn, username)
            to = _person(conn, successor).id if successor else None
            done = acc.handover(
                conn, actor, commands.clock().now(), person.id, to, keep_account=keep_account,
                processes=processes,
            )  # fmt: skip
    except RenshiError as exc:
        commands.refuse(exc)
    click.echo(
        f"{person.name}（{username}）离职转办已完成：{done.cases}件事项的待办已转出，角色已全部撤销"
        + ("。" if keep_account else "，账号已停用。")
    )
