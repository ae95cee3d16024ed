"""Accounts and roles: the people who sign in, what they may do where, and what happens to
their work when that changes.

An officer manages the accounts of their subtree (``states.registry.staff``, through
``scope``): they create them one by one or from a sheet (a person already on the roster is
matched by ID number, not created twice), bind and unbind roles at their units, reset a
password, disable an account and, when someone leaves, hand all of their open work to a
successor in one action (离职转办). An officer-made password is temporary: the person sets
their own at first sign-in (``people.must_change_password``).

Every change is one transaction, writes the person's history (``history.record``, kind
PERSON — the password hash never), and moves the work a change would otherwise strand
(``states.registry.delegation``). Unbinding the last holder of a role at a unit that still
has work addressed to that role is refused, naming the cases.

Passwords are hashed by the caller (argon2 is slow and belongs outside the transaction);
this module generates them and stores the hashes it is given.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)

from states.clock import local_date
from states.engine.reassign import HUMAN, Handover, reassign
from states.engine.statements import cases_t, tasks_t
from states.errors import Conflict, FormError, NotFound, PermissionDenied
from states.identity import mask_id_number, validate_id_number, validate_phone
from states.org import REVIEW_EXPERT, ROLE_LABELS, SYSTEM, TEACHER, Actor
from states.process.package import Catalogue
from states.registry import history
from states.registry.delegation import (
    delegations,
    end_acting,
    plan_release,
    release_role,
    stuck_words,
)
from states.registry.scope import managed_paths
from states.registry.staff import (
    NOT_FOUND,
    ROLE_TIERS,
    Unit,
    bindings_t,
    holders,
    label,
    may_manage,
    names,
    people_t,
    require_person,
    require_unit,
    role_code,
    role_problem,
    staff_paths,
    teachers_t,
    units_t,
)
from states.sheets.columns import ID_NUMBER, Column, Schema, parse_name, parse_phone, text_up_to
from states.store.people import end_sessions

# Letters and digits nobody misreads over the phone (no 0/O, 1/l/I): 12 of them are ~70 bits,
# far beyond guessing, so a temporary password may be hashed more cheaply than a chosen one.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
GENERATED = 12
CHUNK = 500
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{2,31}")
USERNAME_RULE = "用户名应为3至32位字母、数字或 _ . -，以字母或数字开头"
SUBJECT_MAX = 32
HELD_WORK = (
    "{who}是{unit}唯一的“{role}”，该角色还有待办：{tasks}。"
    "请先为该单位另行授予此角色，或办理离职转办指定接任人"
)


def generate_password() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(GENERATED))


def check_username(value: str) -> str:
    text = value.strip()
    if not USERNAME.fullmatch(text):
        raise ValueError(USERNAME_RULE)
    return text


# --- reading --------------------------------------------------------------------------------
@dataclass(frozen=True)
class RoleView:
    role: str
    role_label: str
    unit_id: int
    unit_code: str
    unit_name: str
    subject: str | None
    manageable: bool


@dataclass(frozen=True)
class AccountRow:
    id: int
    name: str
    username: str | None
    active: bool
    must_change_password: bool
    id_number: str | None  # masked
    roles: list[RoleView]


def _in_scope(actor: Actor) -> Any:
    """People the actor manages, as a condition on ``people``."""
    if actor.holds(SYSTEM):
        return people_t.c.id.is_not(None)
    paths = managed_paths(actor)
    if not paths:
        return people_t.c.id.is_(None)
    units = select(units_t.c.id).where(
        or_(*[units_t.c.path.startswith(p, autoescape=True) for p in paths])
    )
    return or_(
        exists().where(
            bindings_t.c.person_id == people_t.c.id, bindings_t.c.org_unit_id.in_(units)
        ),
        exists().where(teachers_t.c.person_id == people_t.c.id, teachers_t.c.school_id.in_(units)),
        people_t.c.unit_id.in_(units),
    )


def _roles(conn: Connection, actor: Actor, ids: Sequence[int]) -> dict[int, list[RoleView]]:
    out: dict[int, list[RoleView]] = {i: [] for i in ids}
    for i in range(0, len(ids), CHUNK):
        rows = conn.execute(
            select(
                bindings_t.c.person_id, bindings_t.c.role, bindings_t.c.subject,
                units_t.c.id, units_t.c.code, units_t.c.name, units_t.c.path,
            )
            .join(units_t, units_t.c.id == bindings_t.c.org_unit_id)
            .where(bindings_t.c.person_id.in_(ids[i : i + CHUNK]))
            .order_by(bindings_t.c.id)
        )  # fmt: skip
        for r in rows:
            out[r.person_id].append(
                RoleView(
                    r.role, label(r.role), r.id, r.code, r.name, r.subject,
                    may_manage(actor, r.path),
                )
            )  # fmt: skip
    return out


def search(
    conn: Connection,
    actor: Actor,
    q: str = "",
    *,
    page: int = 1,
    page_size: int = 50,
) -> tuple[int, list[AccountRow]]:
    """People the actor manages: by name, username or ID number; with no words, the
    accounts only (a province's roster of teachers is the roster's page, not this one)."""
    cond = _in_scope(actor)
    words = q.strip()
    if not words:
        cond = and_(cond, people_t.c.username.is_not(None))
    elif len(words) == 18 and words[:17].isdigit():
        cond = and_(cond, people_t.c.id_number == words.upper())
    else:
        cond = and_(
            cond,
            or_(
                people_t.c.name.contains(words, autoescape=True),
                people_t.c.username.contains(words, autoescape=True),
            ),
        )
    total = int(conn.execute(select(func.count()).select_from(people_t).where(cond)).scalar_one())
    rows = conn.execute(
        select(
            people_t.c.id, people_t.c.name, people_t.c.username, people_t.c.active,
            people_t.c.must_change_password, people_t.c.id_number,
        )
        .where(cond)
        .order_by(people_t.c.id)
        .limit(page_size)
        .offset((max(page, 1) - 1) * page_size)
    ).all()  # fmt: skip
    roles = _roles(conn, actor, [r.id for r in rows])
    return total, [
        AccountRow(
            r.id, r.name, r.username, bool(r.active), bool(r.must_change_password),
            mask_id_number(r.id_number) if r.id_number else None, roles[r.id],
        )
        for r in rows
    ]  # fmt: skip


@dataclass(frozen=True)
class OpenTask:
    task_id: int
    case_id: int
    process: str
    state: str
    kind: str
    role: str | None
    delegated_from: int | None


@dataclass
class AccountDetail:
    account: AccountRow
    phone: str | None
    school: str | None
    unit: str | None
    whole: bool  # the actor may change the account itself (password, disabling, leaving)
    open_tasks: list[OpenTask]
    delegations: list[Any]
    history: list[history.HistoryEntry]


def detail(conn: Connection, actor: Actor, person_id: int, today: dt.date) -> AccountDetail:
    row = require_person(conn, actor, person_id)
    roles = _roles(conn, actor, [person_id])[person_id]
    school = conn.execute(
        select(units_t.c.name)
        .join(teachers_t, teachers_t.c.school_id == units_t.c.id)
        .where(teachers_t.c.person_id == person_id)
    ).scalar()
    unit = (
        conn.execute(select(units_t.c.name).where(units_t.c.id == row.unit_id)).scalar()
        if row.unit_id
        else None
    )
    try:
        require_person(conn, actor, person_id, whole=True)
        whole = True
    except PermissionDenied:  # they work elsewhere too: the account is not this actor's
        whole = False
    tasks = conn.execute(
        select(
            tasks_t.c.id, tasks_t.c.case_id, cases_t.c.process, tasks_t.c.state, tasks_t.c.kind,
            tasks_t.c.role, tasks_t.c.delegated_from,
        )
        .join(cases_t, cases_t.c.id == tasks_t.c.case_id)
        .where(
            tasks_t.c.assignee_id == person_id,
            tasks_t.c.status.in_(("open", "waiting")),
            tasks_t.c.kind.in_(HUMAN),
        )
        .order_by(tasks_t.c.id)
        .limit(200)
    ).all()  # fmt: skip
    account = AccountRow(
        row.id, row.name, row.username, bool(row.active), bool(row.must_change_password),
        mask_id_number(row.id_number) if row.id_number else None, roles,
    )  # fmt: skip
    entries = history.entries_of(conn, history.PERSON, person_id)
    return AccountDetail(
        account=account,
        phone=row.phone,
        school=school,
        unit=unit,
        whole=whole,
        open_tasks=[OpenTask(*t) for t in tasks],
        delegations=delegations(conn, person_id, today),
        history=entries[-20:][::-1],
    )


# --- describing work ------------------------------------------------------------------------
def describe(rows: Iterable[Any], processes: Catalogue | None) -> str:
    """Open tasks as an officer reads them: 事项12（职称评审·县级资格审查）."""
    parts = []
    for r in rows:
        if processes is not None and r.process in processes:
            spec = processes[r.process]
            parts.append(f"事项{r.case_id}（{spec.label}·{spec.state_label(r.state)}）")
        else:
            parts.append(f"事项{r.case_id}（{r.state}）")
    shown = parts[:20]
    more = f"等{len(parts)}件" if len(parts) > 20 else ""
    return "、".join(shown) + more


def role_work(conn: Connection, role: str, unit_id: int, person_id: int | None = None) -> list[Any]:
    """Open work of ``role`` at the unit that would be left with nobody if ``person_id``
    gave the role up: addressed to the role, named to them, or held for them."""
    whose: list[ColumnElement[bool]] = [tasks_t.c.assignee_id.is_(None)]
    if person_id is not None:
        whose += [tasks_t.c.assignee_id == person_id, tasks_t.c.delegated_from == person_id]
    return list(
        conn.execute(
            select(tasks_t.c.id, tasks_t.c.case_id, cases_t.c.process, tasks_t.c.state)
            .join(cases_t, cases_t.c.id == tasks_t.c.case_id)
            .where(
                tasks_t.c.role == role,
                tasks_t.c.org_unit_id == unit_id,
                tasks_t.c.status.in_(("open", "waiting")),
                tasks_t.c.kind.in_(HUMAN),
                or_(*whose),
            )
            .order_by(tasks_t.c.case_id)
        )
    )


# --- creating -------------------------------------------------------------------------------
@dataclass(frozen=True)
class NewAccount:
    name: str
    username: str
    unit_id: int
    roles: tuple[str, ...]
    id_number: str | None = None
    phone: str | None = None
    subject: str | None = None


def _clean(new: NewAccount) -> NewAccount:
    try:
        name = parse_name(new.name.strip())
    except ValueError as exc:
        raise FormError("name", str(exc)) from None
    if not name:
        raise FormError("name", "姓名不能为空")
    try:
        username = check_username(new.username)
    except ValueError as exc:
        raise FormError("username", str(exc)) from None
    number = None
    if new.id_number and new.id_number.strip():
        try:
            number = validate_id_number(new.id_number)
        except ValueError as exc:
            raise FormError("id_number", str(exc)) from None
    phone = None
    if new.phone and new.phone.strip():
        try:
            phone = validate_phone(new.phone)
        except ValueError as exc:
            raise FormError("phone", str(exc)) from None
    if not new.roles:
        raise FormError("role", "请选择角色")
    subject = (new.subject or "").strip() or None
    if subject is not None and len(subject) > SUBJECT_MAX:
        raise FormError("subject", f"学科不能超过{SUBJECT_MAX}个字")
    return NewAccount(name, username, new.unit_id, new.roles, number, phone, subject)


def _role_strings(pairs: Iterable[tuple[str, str]]) -> list[str]:
    return sorted(f"{role}@{code}" for role, code in pairs)


def _current_roles(conn: Connection, person_id: int) -> list[str]:
    rows = conn.execute(
        select(bindings_t.c.role, units_t.c.code)
        .join(units_t, units_t.c.id == bindings_t.c.org_unit_id)
        .where(bindings_t.c.person_id == person_id)
    ).all()
    return _role_strings((r.role, r.code) for r in rows)


def _username_taken(conn: Connection, usernames: Sequence[str]) -> set[str]:
    lowered = sorted({u.lower() for u in usernames})
    out: set[str] = set()
    for i in range(0, len(lowered), CHUNK):
        out |= set(
            conn.execute(
                select(func.lower(people_t.c.username)).where(
                    func.lower(people_t.c.username).in_(lowered[i : i + CHUNK])
                )
            ).scalars()
        )
    return out


@dataclass(frozen=True)
class Created:
    person_id: int
    username: str
    name: str
    matched: bool  # an existing person (from the roster) was given the account


def create(
    conn: Connection,
    actor: Actor,
    now: dt.datetime,
    new: NewAccount,
    password_hash: str,
) -> Created:
    """One account with its roles at one unit. A person already known by the ID number
    (the roster) gets the account; a second account for them is refused."""
    new = _clean(new)
    unit = require_unit(conn, actor, unit_id=new.unit_id)
    for role in new.roles:
        problem = role_problem(role, unit)
        if problem is not None:
            raise FormError("role", problem)
    if _username_taken(conn, [new.username]):
        raise FormError("username", f"用户名“{new.username}”已被使用")
    existing = None
    if new.id_number is not None:
        existing = conn.execute(
            select(people_t).where(people_t.c.id_number == new.id_number)
        ).one_or_none()
    if existing is not None:
        if existing.username:
            raise FormError("id_number", f"该身份证号已有账号（用户名 {existing.username}）")
        if existing.name != new.name:
            raise FormError("name", f"姓名与该身份证号登记的姓名（{existing.name}）不符")
    created = _write(
        conn, actor, now, [(new, unit, password_hash, existing)], source="edit", ref="create"
    )
    return created[0]


def _write(
    conn: Connection,
    actor: Actor,
    now: dt.datetime,
    items: Sequence[tuple[NewAccount, Unit, str, Any]],
    *,
    source: str,
    ref: str,
) -> list[Created]:
    """Insert the new people, give the matched ones their accounts, bind the roles and
    write the history: set-based, whatever the number of accounts."""
    fresh = [(n, u, h) for n, u, h, e in items if e is None]
    matched = [(n, u, h, e) for n, u, h, e in items if e is not None]
    ids: list[int] = []
    if fresh:
        ids = list(
            conn.execute(
                insert(people_t).returning(people_t.c.id, sort_by_parameter_order=True),
                [
                    {
                        "name": n.name, "id_number": n.id_number, "username": n.username,
                        "password_hash": h, "phone": n.phone, "active": True,
                        "session_generation": 0, "must_change_password": True,
                        "unit_id": u.id,
                    }
                    for n, u, h in fresh
                ],
            ).scalars()
        )  # fmt: skip
    if matched:
        conn.execute(
            update(people_t)
            .where(people_t.c.id == bindparam("p_id"))
            .values(
                username=bindparam("p_username"),
                password_hash=bindparam("p_hash"),
                phone=func.coalesce(people_t.c.phone, bindparam("p_phone")),
                unit_id=func.coalesce(people_t.c.unit_id, bindparam("p_unit")),
                must_change_password=True,
                active=True,
            ),
            [
                {"p_id": e.id, "p_username": n.username, "p_hash": h, "p_phone": n.phone,
                 "p_unit": u.id}
                for n, u, h, e in matched
            ],
        )  # fmt: skip
    people = [
        *[(pid, n, u, None) for pid, (n, u, _) in zip(ids, fresh, strict=True)],
        *[(e.id, n, u, e) for n, u, _, e in matched],
    ]
    before = {e.id: _current_roles(conn, e.id) for _, _, _, e in matched}
    have: set[tuple[int, str, int]] = set()
    if matched:
        have = {
            (r.person_id, r.role, r.org_unit_id)
            for r in conn.execute(
                select(bindings_t.c.person_id, bindings_t.c.role, bindings_t.c.org_unit_id).where(
                    bindings_t.c.person_id.in_([e.id for _, _, _, e in matched])
                )
            )
        }
    binds = [
        {"person_id": pid, "role": role, "org_unit_id": u.id,
         "subject": n.subject if role == REVIEW_EXPERT else None}
        for pid, n, u, _ in people
        for role in n.roles
        if role != TEACHER and (pid, role, u.id) not in have
    ]  # fmt: skip
    if binds:
        conn.execute(insert(bindings_t), binds)
    entries = []
    for pid, n, u, e in people:
        bound = _role_strings((r, u.code) for r in n.roles if r != TEACHER)
        roles = sorted(set(before.get(pid, [])) | set(bound))
        after = {
            "name": n.name, "username": n.username, "unit": u.code, "roles": roles,
            "active": True, "must_change_password": True,
        }  # fmt: skip
        was = None
        if e is not None:
            was = {
                "name": e.name, "username": None, "unit": None, "roles": before[pid],
                "active": bool(e.active), "must_change_password": bool(e.must_change_password),
            }  # fmt: skip
        entries.append(history.Entry(pid, history.diff(was, after)))
    history.record(
        conn, history.PERSON, entries, actor=actor, at=now, source=source, source_ref=ref
    )
    return [Created(pid, n.username, n.name, e is not None) for pid, n, _, e in people]


# --- the sheet ------------------------------------------------------------------------------
def _sheet_role(text: str) -> str:
    """A role as the sheet names it: a role bound at the row's unit, or 教师 — an account
    for a teacher on the roster, who needs one to declare; nothing is bound for it (the
    teacher role follows the record)."""
    if text.strip() in (TEACHER, ROLE_LABELS[TEACHER]):
        return TEACHER
    return role_code(text)


def parse_roles(text: str) -> tuple[str, ...]:
    parts = [p for p in re.split(r"[、,，;；/\s]+", text) if p]
    return tuple(dict.fromkeys(_sheet_role(p) for p in parts))


def _parse_username(text: str) -> str:
    return check_username(text)


ACCOUNTS = Schema(
    "accounts",
    "账号",
    (
        ID_NUMBER,
        Column("name", "姓名", ("名字", "name"), True, parse_name),
        Column("phone", "手机号", ("手机号码", "手机", "联系电话", "phone", "mobile"), False,
               parse_phone),
        Column("username", "用户名", ("账号", "登录名", "username"), True, _parse_username),
        Column("roles", "角色", ("角色名称", "岗位角色", "role", "roles"), True, parse_roles),
        Column("unit_code", "单位代码", ("单位编码", "机构代码", "unit"), True,
               text_up_to(32, "单位代码")),
        Column("subject", "学科", ("学科组", "评审学科", "subject"), False,
               text_up_to(SUBJECT_MAX, "学科")),
    ),
)  # fmt: skip


@dataclass
class ImportReport:
    created: list[tuple[int, Created]] = field(default_factory=list)  # (row, account)
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (row, column, reason)


def _schools_of(conn: Connection, person_ids: Sequence[int]) -> dict[int, int]:
    """The school of each person's teacher record (those with one)."""
    ids = sorted(set(person_ids))
    out: dict[int, int] = {}
    for i in range(0, len(ids), CHUNK):
        rows = conn.execute(
            select(teachers_t.c.person_id, teachers_t.c.school_id).where(
                teachers_t.c.person_id.in_(ids[i : i + CHUNK])
            )
        )
        out.update({int(pid): int(school) for pid, school in rows})
    return out


def _teacher_problem(person: Any, unit: Unit, schools: Mapping[int, int]) -> str | None:
    """Why a row may not open a teacher's account (角色 教师): the person must be on the
    roster, by ID number, as a teacher of the row's school."""
    if person is None or schools.get(int(person.id)) != unit.id:
        return f"“教师”账号只能为{unit.name}教师名册中已登记的教师开通（按身份证号核对）"
    return None


def import_rows(
    conn: Connection,
    actor: Actor,
    now: dt.datetime,
    rows: Sequence[Mapping[str, Any]],
    hashes: Mapping[int, str],
    *,
    valid_only: bool = False,
    source_ref: str = "import",
) -> ImportReport:
    """Create the accounts of validated sheet rows (each with its ``row`` number and the
    hash of its generated password in ``hashes``). Every row is checked against the
    database first — the unit in the officer's subtree, the role fit for the unit, the
    username free, the ID number without an account and with the same name — and, unless
    ``valid_only``, one refused row writes nothing. A row whose role is 教师 opens the
    account of a teacher on the roster of the row's school and binds nothing."""
    report = ImportReport()
    codes = sorted({str(r["unit_code"]) for r in rows})
    units: dict[str, Unit] = {}
    for i in range(0, len(codes), CHUNK):
        for u in conn.execute(
            select(units_t.c.id, units_t.c.code, units_t.c.name, units_t.c.tier, units_t.c.path)
            .where(units_t.c.code.in_(codes[i : i + CHUNK]))
        ):  # fmt: skip
            units[u.code] = Unit(*u)
    taken = _username_taken(conn, [str(r["username"]) for r in rows])
    numbers = sorted({str(r["id_number"]) for r in rows})
    known: dict[str, Any] = {}
    for i in range(0, len(numbers), CHUNK):
        for p in conn.execute(
            select(people_t).where(people_t.c.id_number.in_(numbers[i : i + CHUNK]))
        ):
            known[p.id_number] = p
    schools = _schools_of(conn, [p.id for p in known.values()])
    seen: dict[str, int] = {}
    good: list[tuple[int, tuple[NewAccount, Unit, str, Any]]] = []
    for r in rows:
        n = int(r["row"])
        problems: list[tuple[str, str]] = []
        unit = units.get(str(r["unit_code"]))
        if unit is None or not may_manage(actor, unit.path):
            problems.append(("单位代码", "单位代码不存在或不在您的管理范围内"))
        else:
            for role in r["roles"]:
                problem = (
                    _teacher_problem(known.get(str(r["id_number"])), unit, schools)
                    if role == TEACHER
                    else role_problem(role, unit)
                )
                if problem is not None:
                    problems.append(("角色", problem))
        username = str(r["username"])
        first = seen.setdefault(username.lower(), n)
        if first != n:
            problems.append(("用户名", f"与第{first}行的用户名重复"))
        elif username.lower() in taken:
            problems.append(("用户名", f"用户名“{username}”已被使用"))
        person = known.get(str(r["id_number"]))
        if person is not None and person.username:
            problems.append(("身份证号", f"该身份证号已有账号（用户名 {person.username}）"))
        elif person is not None and person.name != r["name"]:
            problems.append(("姓名", f"与该身份证号登记的姓名（{person.name}）不符"))
        if problems:
            report.errors += [(n, column, reason) for column, reason in problems]
            continue
        assert unit is not None
        new = NewAccount(
            name=str(r["name"]), username=username, unit_id=unit.id, roles=tuple(r["roles"]),
            id_number=str(r["id_number"]), phone=r.get("phone"), subject=r.get("subject"),
        )  # fmt: skip
        good.append((n, (new, unit, hashes[n], person)))
    if report.errors and not valid_only:
        return report
    if good:
        created = _write(
            conn, actor, now, [item for _, item in good], source="import", ref=source_ref
        )
        report.created = [(n, c) for (n, _), c in zip(good, created, strict=True)]
    return report


# --- roles ----------------------------------------------------------------------------------
def bind(
    conn: Connection,
    actor: Actor,
    now: dt.datetime,
    person_id: int,
    role: str,
    unit_id: int,
    subject: str | None = None,
) -> None:
    """Grant ``role`` at a unit of the actor's subtree."""
    require_person(conn, actor, person_id)
    unit = require_unit(conn, actor, unit_id=unit_id)
    problem = role_problem(role, unit)
    if problem is not None:
        raise FormError("role", problem)
    subject = (subject or "").strip() or None
    if subject is not None and len(subject) > SUBJECT_MAX:
        raise FormError("subject", f"学科不能超过{SUBJECT_MAX}个字")
    already = conn.execute(
        select(bindings_t.c.id).where(
            bindings_t.c.person_id == person_id,
            bindings_t.c.role == role,
            bindings_t.c.org_unit_id == unit.id,
        )
    ).first()
    if already is not None:
        raise Conflict(f"此人在{unit.name}已有“{label(role)}”角色")
    before = _current_roles(conn, person_id)
    conn.execute(
        insert(bindings_t).values(
            person_id=person_id, role=role, org_unit_id=unit.id,
            subject=subject if role == REVIEW_EXPERT else None,
        )
    )  # fmt: skip
    _roles_changed(conn, actor, now, person_id, before, "bind")


def _roles_changed(
    conn: Connection, actor: Actor, now: dt.datetime, person_id: int, before: list[str], ref: str
) -> None:
    after = _current_roles(conn, person_id)
    history.record(
        conn, history.PERSON, [history.Entry(person_id, {"roles": (before, after)})],
        actor=actor, at=now, source="edit", source_ref=ref,
    )  # fmt: skip


def unbind(
    conn: Connection,
    actor: Actor,
    now: dt.datetime,
    person_id: int,
    role: str,
    unit_id: int,
    processes: Catalogue | None = None,
) -> int:
    """Take ``role`` at the unit away. The work of that role there named to the person goes
    back to the role; if nobody else holds it and it has open work, refused (naming the
    cases). The person's sessions end. Returns the cases whose work moved."""
    who = require_person(conn, actor, person_id)
    if person_id == actor.person_id:
        raise FormError("person_id", "不能撤销本人的角色，请由同级或上级管理员办理")
    unit = require_unit(conn, actor, unit_id=unit_id)
    held = conn.execute(
        select(bindings_t.c.id).where(
            bindings_t.c.person_id == person_id,
            bindings_t.c.role == role,
            bindings_t.c.org_unit_id == unit.id,
        )
    ).first()
    if held is None:
        raise FormError("role", f"{who.name}在{unit.name}没有“{label(role)}”角色")
    if holders(conn, role, unit.id, besides=person_id) == 0:
        work = role_work(conn, role, unit.id, person_id)
        if work:
            raise Conflict(
                HELD_WORK.format(
                    who=who.name, unit=unit.name, role=label(role),
                    tasks=describe(work, processes),
                )
            )  # fmt: skip
    before = _current_roles(conn, person_id)
    moved = release_role(conn, actor, now, person_id, role, unit.id)
    conn.execute(delete(bindings_t).where(bindings_t.c.id == held.id))
    end_sessions(conn, person_id)
    _roles_changed(conn, actor, now, person_id, before, "unbind")
    return moved


# --- the account itself ---------------------------------------------------------------------
def reset_password(
    conn: Connection, actor: Actor, now: dt.datetime, person_id: int, password_hash: str
) -> Any:
    """A temporary password from the officer: every session ends, and the person sets
    their own at the next sign-in."""
    row = require_person(conn, actor, person_id, whole=True)
    if person_id == actor.person_id:
        raise FormError("person_id", "本人密码请在“修改密码”中修改")
    if not row.username:
        raise FormError("person_id", f"{row.name}还没有账号，请先开通")
    conn.execute(
        update(people_t)
        .where(people_t.c.id == person_id)
        .values(password_hash=password_hash, must_change_password=True)
    )
    end_sessions(conn, person_id)
    history.record(
        conn, history.PERSON,
        [history.Entry(person_id, {"password": ("", "管理员重置（须本人修改）")})],
        actor=actor, at=now, source="edit", source_ref="reset_password",
    )  # fmt: skip
    return row


@dataclass
class Released:
    """What disabling or a leaving moved: the cases touched, and signatures (加签) asked of
    the person that nobody else can give (the approver adds another signer)."""

    cases: int = 0
    stuck: list[Any] = field(default_factory=list)


def set_active(
    conn: Connection, actor: Actor, now: dt.datetime, person_id: int, active: bool
) -> Released:
    """Disable (or enable again) an account. Disabling ends its sessions and moves its open
    work: to the acting holder if one is in force, otherwise back to the role."""
    row = require_person(conn, actor, person_id, whole=True)
    if not active and person_id == actor.person_id:
        raise FormError("person_id", "不能停用本人的账号")
    out = Released()
    if bool(row.active) == active:
        return out
    conn.execute(update(people_t).where(people_t.c.id == person_id).values(active=active))
    if not active:
        moves, out.stuck = plan_release(conn, person_id, local_date(now))
        out.cases = reassign(conn, moves, actor, now, f"{row.name}的账号已停用")
        end_acting(conn, now, person_id, own=False)
        end_sessions(conn, person_id)
    history.record(
        conn, history.PERSON, [history.Entry(person_id, {"active": (bool(row.active), active)})],
        actor=actor, at=now, source="edit", source_ref="enable" if active else "disable",
    )  # fmt: skip
    return out


def handover(
    conn: Connection,
    actor: Actor,
    now: dt.datetime,
    person_id: int,
    successor_id: int | None,
    *,
    keep_account: bool = False,
    processes: Catalogue | None = None,
) -> Released:
    """离职转办: every open task of the person to ``successor_id`` (or, without one, back to
    the role at its unit), their roles unbound, their delegations ended and — unless
    ``keep_account`` — their account disabled, in one transaction. Work addressed to a
    role of which they are the last holder goes to the successor by name; without a
    successor that, and any signature asked of them, is refused, naming the cases."""
    row = require_person(conn, actor, person_id, whole=True)
    if person_id == actor.person_id:
        raise FormError("person_id", "不能为本人办理离职转办")
    successor = None
    if successor_id is not None:
        try:
            successor = require_person(conn, actor, successor_id)
        except NotFound:
            raise FormError("successor_id", "接任人不存在或不在您的管理范围内") from None
        if successor_id == person_id:
            raise FormError("successor_id", "接任人不能是本人")
        if not successor.active or not successor.username:
            raise FormError("successor_id", f"{successor.name}的账号未开通或已停用")
        if not staff_paths(conn, successor_id):
            raise FormError("successor_id", "接任人须为人事干部或校长")
    roles = conn.execute(
        select(bindings_t.c.role, bindings_t.c.org_unit_id, units_t.c.name)
        .join(units_t, units_t.c.id == bindings_t.c.org_unit_id)
        .where(bindings_t.c.person_id == person_id)
    ).all()
    orphans: list[Any] = []
    for r in roles:
        if holders(conn, r.role, r.org_unit_id, besides=person_id) == 0:
            work = role_work(conn, r.role, r.org_unit_id, person_id)
            if work and successor is None:
                raise Conflict(
                    HELD_WORK.format(
                        who=row.name, unit=r.name, role=label(r.role),
                        tasks=describe(work, processes),
                    )
                )  # fmt: skip
            orphans += role_work(conn, r.role, r.org_unit_id)
    moves, stuck = plan_release(
        conn, person_id, local_date(now), successor=successor_id, leaving=True
    )
    if stuck:
        raise Conflict(
            f"{row.name}还有加签待签署：{stuck_words(stuck)}，请指定接任人，或由承办人撤回加签"
        )
    moving = {m.task_id for m in moves}
    moves += [Handover(t.id, successor_id) for t in orphans if t.id not in moving]
    to = f"由{successor.name}接办" if successor is not None else "退回原角色办理"
    out = Released(cases=reassign(conn, moves, actor, now, f"{row.name}离职转办，{to}"))
    before = _current_roles(conn, person_id)
    conn.execute(delete(bindings_t).where(bindings_t.c.person_id == person_id))
    end_acting(conn, now, person_id, own=True)
    changes: dict[str, tuple[Any, Any]] = {"roles": (before, [])}
    if not keep_account and row.active:
        conn.execute(update(people_t).where(people_t.c.id == person_id).values(active=False))
        changes["active"] = (True, False)
    end_sessions(conn, person_id)
    history.record(
        conn, history.PERSON, [history.Entry(person_id, changes)],
        actor=actor, at=now, source="move",
        source_ref=f"handover:{successor_id}" if successor_id else "handover",
    )  # fmt: skip
    return out


def person_id_by_username(conn: Connection, username: str) -> int:
    pid = conn.execute(
        select(people_t.c.id).where(people_t.c.username == username.strip())
    ).scalar()
    if pid is None:
        raise NotFound(f"用户不存在：{username}")
    return int(pid)


__all__ = [
    "ACCOUNTS",
    "NOT_FOUND",
    "ROLE_TIERS",
    "AccountDetail",
    "AccountRow",
    "Created",
    "ImportReport",
    "NewAccount",
    "Released",
    "RoleView",
    "bind",
    "create",
    "describe",
    "detail",
    "generate_password",
    "handover",
    "import_rows",
    "names",
    "reset_password",
    "search",
    "set_active",
    "unbind",
]
