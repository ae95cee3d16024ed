"""The checks over the teacher record itself, and the honour certificates they read.

- Teacher-qualification registration (教师资格定期注册): every five years; a teacher in
  service holding a certificate whose registration lapses within six months, or has lapsed,
  or was never recorded, is listed.
- Thirty years in rural schools (乡村学校从教30年): a teacher in service whose record holds
  30 or more rural years (``teachers.rural_years``, the years the roster imported) and who
  has not received the honour certificate is listed. The province or a city records the
  certificates it issued (page, API, command line, or an .xlsx through the sheets kit); a
  certificate recorded closes the teacher's finding at once and enters the record's sealed
  history.

Each check is one SELECT over the roster (``hits``): the runner turns it into findings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, Date, String, case, cast, func, literal, literal_column, select
from sqlalchemy import exists as sql_exists

from states.clock import local_date
from states.errors import Conflict, FormError, NotFound, PermissionDenied
from states.identity import validate_id_number
from states.org import CITY_OFFICER, PROVINCE_OFFICER, SYSTEM, Actor, in_scope
from states.processes.compliance.tables import ComplianceFinding, RuralHonour
from states.registry import history
from states.registry.imports import ImportReport, chunks, row_error
from states.registry.roster_sheet import parse_date
from states.sheets import Column, Schema, Table, Validation
from states.sheets.columns import parse_id_number, text_up_to
from states.store.models import OrgUnit, Person, Teacher, table_of

teachers_t, people_t, units_t = table_of(Teacher), table_of(Person), table_of(OrgUnit)
honours_t, findings_t = table_of(RuralHonour), table_of(ComplianceFinding)

IN_SERVICE: Final = "active"
REGISTRATION_RULE: Final = "cert_registration"
HONOUR_RULE: Final = "rural_honour"
REGISTRATION_YEARS: Final = 5
WARN_MONTHS: Final = 6
RURAL_YEARS: Final = 30
HONOURED_HOW: Final = "已整改（已登记荣誉证书）"
HISTORY_FIELD: Final = "rural_honour"
# Who issues the certificate and records it here: the province, or a city for its teachers.
ISSUERS: Final = frozenset({PROVINCE_OFFICER, CITY_OFFICER, SYSTEM})


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _months_after(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _lapses_on(conn: Connection, registered: Any) -> Any:
    """The day a registration lapses (five years on), as ISO text, on either database."""
    if conn.dialect.name == "sqlite":
        return func.date(registered, f"+{REGISTRATION_YEARS} years")
    return cast(
        cast(registered + literal_column(f"interval '{REGISTRATION_YEARS} years'"), Date), String
    )


# --- the checks -----------------------------------------------------------------------------
def registration(conn: Connection, today: dt.date) -> Any:
    """Teachers in service with a certificate whose five-yearly registration lapses within
    six months of today, has lapsed, or was never recorded."""
    t = teachers_t
    horizon = _months_after(today, WARN_MONTHS)
    warn_from = _years_before(horizon, REGISTRATION_YEARS)  # registered on or before: lapsing
    lapsed_from = _years_before(today, REGISTRATION_YEARS)  # on or before: lapsed
    registered = t.c.cert_registered_on
    lapses = _lapses_on(conn, registered)
    detail = case(
        (registered.is_(None), literal("持有教师资格证书，但未登记定期注册日期")),
        (
            registered <= lapsed_from,
            literal("教师资格定期注册已于") + lapses + literal("期满，未见重新注册"),
        ),
        else_=literal("教师资格定期注册将于") + lapses + literal("期满，请在期满前办理注册"),
    )
    return select(t.c.person_id, t.c.school_id, detail).where(
        t.c.status == IN_SERVICE,
        t.c.cert_no.is_not(None),
        (registered.is_(None)) | (registered <= warn_from),
    )


def rural_unhonoured(conn: Connection, today: dt.date) -> Any:
    """Teachers in service with 30 or more years in rural schools on record and no honour
    certificate."""
    t, h = teachers_t, honours_t
    detail = literal(
        f"乡村学校从教已满{RURAL_YEARS}年，尚未颁发乡村学校从教{RURAL_YEARS}年荣誉证书"
    )
    return select(t.c.person_id, t.c.school_id, detail).where(
        t.c.status == IN_SERVICE,
        t.c.rural_years >= RURAL_YEARS,
        ~sql_exists().where(h.c.person_id == t.c.person_id),
    )


# --- recording certificates -----------------------------------------------------------------
@dataclass(frozen=True)
class Honour:
    person_id: int
    name: str
    school: str
    cert_no: str
    issued_on: dt.date


def _issuer(actor: Actor) -> tuple[int, str]:
    """The unit recording (and so issuing) the certificate: the actor's province or city
    binding. Anyone else is refused."""
    for b in actor.bindings:
        if b.role in ISSUERS:
            return b.unit_id, b.unit_path
    raise PermissionDenied("荣誉证书由省教育厅或市教育局颁发并登记")


def _cert_no(value: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValueError("证书编号不能为空")
    if len(text) > 32:
        raise ValueError(f"证书编号不能超过32个字符，实际为{len(text)}个")
    return text


def _issued_on(day: dt.date, today: dt.date) -> dt.date:
    if day > today:
        raise ValueError(f"颁发日期{day.isoformat()}晚于今天")
    if day.year < 1980:
        raise ValueError("颁发日期应在1980年以后")
    return day


def _targets(conn: Connection, actor: Actor, id_numbers: Sequence[str]) -> dict[str, Any]:
    """The teachers of these ID numbers whom the actor's binding covers, by ID number, with
    their rural years and any certificate already recorded."""
    paths = [b.unit_path for b in actor.bindings if b.role in ISSUERS]
    out: dict[str, Any] = {}
    for part in chunks(sorted(set(id_numbers))):
        rows = conn.execute(
            select(
                people_t.c.id, people_t.c.id_number, people_t.c.name,
                units_t.c.name.label("school"), units_t.c.path, teachers_t.c.rural_years,
                honours_t.c.cert_no.label("had_no"), honours_t.c.issued_on.label("had_on"),
            )
            .join(teachers_t, teachers_t.c.person_id == people_t.c.id)
            .join(units_t, units_t.c.id == teachers_t.c.school_id)
            .outerjoin(honours_t, honours_t.c.person_id == people_t.c.id)
            .where(people_t.c.id_number.in_(part))
        )  # fmt: skip
        for r in rows:
            if any(in_scope(p, r.path) for p in paths):
                out[r.id_number] = r
    return out


def _refusal(found: Any) -> str | None:
    if found is None:
        return "未找到该教师，或不在您的管理范围内"
    if found.had_no is not None:
        return f"该教师已于{found.had_on.isoformat()}登记荣誉证书（编号{found.had_no}）"
    if float(found.rural_years or 0) < RURAL_YEARS:
        years = float(found.rural_years or 0)
        return (
            f"该教师档案中乡村学校从教年限为{years:g}年，不足{RURAL_YEARS}年；"
            "如档案有误，请先更新教师档案"
        )
    return None


def _write(
    conn: Connection,
    actor: Actor,
    issuer_id: int,
    rows: Sequence[tuple[Any, str, dt.date]],
    now: dt.datetime,
    *,
    source: str,
    source_ref: str | None,
) -> None:
    """The certificates, their history entries and the findings they close: executemany."""
    if not rows:
        return
    conn.execute(
        honours_t.insert(),
        [
            {
                "person_id": int(found.id), "cert_no": no, "issued_on": on,
                "issuer_unit_id": issuer_id, "recorded_by": actor.person_id, "recorded_at": now,
            }
            for found, no, on in rows
        ],
    )  # fmt: skip
    history.record(
        conn,
        history.TEACHER,
        [
            history.Entry(
                int(found.id), {HISTORY_FIELD: (None, f"证书编号{no}，{on.isoformat()}颁发")}
            )
            for found, no, on in rows
        ],
        actor=actor,
        at=now,
        source=source,
        source_ref=source_ref,
    )
    f = findings_t
    for part in chunks([int(found.id) for found, _, _ in rows]):
        conn.execute(
            f.update()
            .where(
                f.c.rule == HONOUR_RULE,
                f.c.subject_kind == "teacher",
                f.c.subject_id.in_(part),
                f.c.closed_at.is_(None),
            )
            .values(closed_at=now, closed_how=HONOURED_HOW)
        )


def record(engine: Any, actor: Actor, id_number: str, cert_no: str, issued_on: dt.date) -> Honour:
    """One certificate issued to one teacher, recorded by the province or the city over
    the teacher's school; each field checked and refused by name."""
    issuer_id, _ = _issuer(actor)
    now = engine.clock.now()
    today = local_date(now)
    try:
        number = validate_id_number((id_number or "").strip())
    except ValueError as exc:
        raise FormError("id_number", str(exc)) from None
    try:
        no = _cert_no(cert_no)
    except ValueError as exc:
        raise FormError("cert_no", str(exc)) from None
    try:
        on = _issued_on(issued_on, today)
    except ValueError as exc:
        raise FormError("issued_on", str(exc)) from None
    with engine.db.begin() as conn:
        found = _targets(conn, actor, [number]).get(number)
        why = _refusal(found)
        if found is None:
            raise NotFound("教师不存在或不在您的管理范围内")
        if why is not None:
            if found.had_no is not None:
                raise Conflict(why)
            raise FormError("id_number", why)
        _write(conn, actor, issuer_id, [(found, no, on)], now, source="edit", source_ref=None)
    return Honour(int(found.id), found.name, found.school, no, on)


HONOUR_SCHEMA = Schema(
    "rural_honours",
    "乡村学校从教30年荣誉证书",
    (
        Column("id_number", "身份证号", ("身份证号码", "公民身份号码"), True, parse_id_number),
        Column("name", "姓名", (), False, text_up_to(30, "姓名")),
        Column("cert_no", "证书编号", ("编号",), True, _cert_no),
        Column("issued_on", "颁发日期", ("发证日期", "颁证日期"), True, parse_date),
    ),
)


def import_honours(
    engine: Any,
    actor: Actor,
    table: Table,
    *,
    valid_only: bool = False,
    source_ref: str | None = None,
) -> ImportReport:
    """Certificates from a spreadsheet (身份证号, 证书编号, 颁发日期; 姓名 optional and
    checked against the record). All or nothing unless ``valid_only``: a row naming a
    teacher outside the actor's scope, one already holding a certificate, one short of 30
    rural years, a date in the future is reported by row and column."""
    issuer_id, _ = _issuer(actor)
    now = engine.clock.now()
    today = local_date(now)
    checking = Validation(table, HONOUR_SCHEMA)
    rows = [r for part in checking.chunks(5000) for r in part]
    report = ImportReport.of(checking.result, valid_only=valid_only)
    with engine.db.begin() as conn:
        found = _targets(conn, actor, [r["id_number"] for r in rows])
        good: list[tuple[Any, str, dt.date]] = []
        for r in rows:
            target = found.get(r["id_number"])
            why = _refusal(target)
            if why is None and r.get("name") and target is not None and r["name"] != target.name:
                why = f"姓名与教师档案不符（档案为{target.name}）"
            if why is None:
                try:
                    _issued_on(r["issued_on"], today)
                except ValueError as exc:
                    report.add(row_error(HONOUR_SCHEMA, r, "issued_on", str(exc)))
                    continue
            if why is not None:
                report.add(row_error(HONOUR_SCHEMA, r, "id_number", why))
                continue
            assert target is not None
            good.append((target, r["cert_no"], r["issued_on"]))
        report.created = len(good)
        if report.error_count and not valid_only:
            return report  # refused: nothing written
        _write(
            conn, actor, issuer_id, good, now,
            source="import" if source_ref else "edit", source_ref=source_ref,
        )  # fmt: skip
        report.written = True
    return report
