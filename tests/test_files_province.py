"""A province loaded from files alone, on both databases: the spreadsheets a bureau fills in,
written here cell by cell as an officer types them (no seed code), imported through the
registry's imports, then a title-review case from declaration to appointment and a
recruitment round from opening to hiring, each step by the officer whose step it is.

Nothing is written to the database except through an import or a process step: whatever
the processes need of a province (officers, a teacher's record and account, an expert pool,
posts, schools to recruit for) comes from the files.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import Workbook  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import Engine, select

from states.clock import FrozenClock, bureau_time, local_date
from states.engine import CaseEngine
from states.identity import make_id_number
from states.org import Actor
from states.processes import installed
from states.processes.recruitment import rounds
from states.processes.recruitment import steps as rec
from states.processes.recruitment.sheets import APPLICANTS, SCHEMAS
from states.processes.recruitment.tables import Applicant, PostSeat
from states.processes.title_review import years
from states.processes.title_review.seed import appointment
from states.registry import history
from states.registry.accounts import ACCOUNTS, import_rows
from states.registry.experts import EXPERTS, import_experts
from states.registry.org_tree import ORG, ROOT_OPERATOR, import_org
from states.registry.quotas import QUOTAS, import_quotas
from states.registry.roster import import_roster
from states.registry.roster_sheet import ROSTER
from states.seed.builders import close_window, fire_current, seated
from states.sheets import Schema, read_table, validate
from states.store.audit_store import verify_trail
from states.store.models import Case, Teacher
from states.store.people import load_actor

YEAR = 2026
SCHOOL, OTHER, PRIMARY = "TP010101", "TP010102", "TP010103"


def _xlsx(schema: Schema, rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> bytes:
    """A sheet as an officer fills it in Excel: a title line above the header (as bureau
    files have), the template's headers for ``columns``, every cell typed as text."""
    book = Workbook()
    sheet = book.active
    labels = {c.name: c.label for c in schema.columns}
    sheet.append([f"{schema.label}（{YEAR}年）"])
    sheet.append([labels[c] for c in columns])
    for row in rows:
        sheet.append(["" if v is None else str(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _id(birth: dt.date, serial: int, gender: str = "F") -> str:
    return make_id_number("660101", birth, serial, gender)


APPLICANT_TEACHER = _id(dt.date(1985, 3, 1), 7)
# Eight senior mathematics teachers at the county's other schools: the city's pool.
EXPERTS_IDS = [_id(dt.date(1970 + i, 5, 1), 20 + i, "M") for i in range(8)]
OFFICERS = [
    ("sheng", "省教育厅教师工作处", "TP", _id(dt.date(1975, 1, 1), 31)),
    ("shi", "市教育局人事处", "TP01", _id(dt.date(1976, 1, 1), 33)),
    ("xian", "县教育局人事股", "TP0101", _id(dt.date(1977, 1, 1), 35)),
    ("xiao", "学校人事干部", SCHOOL, _id(dt.date(1978, 1, 1), 37)),
]


def _province_files() -> dict[str, bytes]:
    org = _xlsx(
        ORG,
        [
            ("TP", "测试省", "省", None, None, None, None),
            ("TP01", "甲市", "市", "TP", None, None, None),
            ("TP0101", "乙县", "县（区）", "TP01", None, None, None),
            (SCHOOL, "乙县第一中学", "学校", "TP0101", "否", "否", "否"),
            (OTHER, "乙县第二中学", "学校", "TP0101", "否", "是", "否"),
            (PRIMARY, "乙县第一小学", "学校", "TP0101", "是", "否", "否"),
        ],
        ("code", "name", "tier", "parent_code", "is_rural", "is_weak", "self_review_pilot"),
    )
    teachers = [
        # eligible for 高级: 一级 for eight years, a bachelor's degree, two rural years
        (APPLICANT_TEACHER, "李晓燕", SCHOOL, "数学", "初中", "一级教师", "2018-09-01", "本科",
         "2008-09-01", "2", "13900000001"),
    ] + [
        (number, f"评委{i}", OTHER if i % 2 else PRIMARY, "数学", "初中" if i % 2 else "小学",
         "高级教师", "2012-09-01", "本科", "1995-09-01", "0", f"1390000010{i}")
        for i, number in enumerate(EXPERTS_IDS)
    ]  # fmt: skip
    roster = _xlsx(
        ROSTER,
        teachers,
        ("id_number", "name", "school_code", "subject", "school_level", "title", "title_date",
         "education", "started_teaching_on", "rural_years", "phone"),
    )  # fmt: skip
    accounts = _xlsx(
        ACCOUNTS,
        [(n, f"{role[:2]}干部", username, role, unit) for username, role, unit, n in OFFICERS]
        + [(APPLICANT_TEACHER, "李晓燕", "laoshi", "教师", SCHOOL)],
        ("id_number", "name", "username", "roles", "unit_code"),
    )  # fmt: skip
    experts = _xlsx(
        EXPERTS, [(n, "TP01", "数学") for n in EXPERTS_IDS], ("id_number", "code", "subject")
    )
    quotas = _xlsx(
        QUOTAS,
        [(SCHOOL, YEAR, "高级教师", 1), (SCHOOL, YEAR, "一级教师", 2)],
        ("code", "year", "title", "posts"),
    )
    return {"org": org, "roster": roster, "accounts": accounts, "experts": experts,
            "quotas": quotas}  # fmt: skip


def _load(engine: Engine, files: dict[str, bytes], at: dt.datetime) -> None:
    """Each file through its import, as the officer who would load it: the administrator
    the org tree, the roster and the accounts (nobody has one yet); the province the expert
    pools; the county its schools' posts."""

    def table(name: str, schema: Schema) -> Any:
        return read_table(files[name], f"{name}.xlsx", schema=schema)

    with engine.begin() as conn:
        report = import_org(conn, table("org", ORG), actor=ROOT_OPERATOR, at=at, source_ref="org")
        assert (report.created, report.error_count) == (6, 0), report.errors
    with engine.begin() as conn:
        roster = import_roster(
            conn, table("roster", ROSTER), actor=ROOT_OPERATOR, at=at, source_ref="roster"
        )
        assert (roster.created, roster.error_count) == (9, 0), roster.errors
    rows = validate(table("accounts", ACCOUNTS), ACCOUNTS).rows
    hashes = {int(r["row"]): "unused" for r in rows}
    # 教师 is an account for a teacher on the roster of that school, and no other
    wrong = [{**r, "unit_code": OTHER} if r["username"] == "laoshi" else r for r in rows]
    with engine.begin() as conn:
        refused = import_rows(conn, ROOT_OPERATOR, at, wrong, hashes)
        assert [(column, reason[:8]) for _, column, reason in refused.errors] == [
            ("角色", "“教师”账号只能")
        ]
        assert not refused.created, "one refused row writes nothing"
    with engine.begin() as conn:
        made = import_rows(conn, ROOT_OPERATOR, at, rows, hashes, source_ref="accounts")
        assert (len(made.created), made.errors) == (5, [])
    with engine.connect() as conn:
        province = load_actor(conn, username="sheng")
        county = load_actor(conn, username="xian")
    with engine.begin() as conn:
        pools = import_experts(conn, table("experts", EXPERTS), actor=province, at=at)
        assert (pools.created, pools.error_count) == (8, 0), pools.errors
        posts = import_quotas(conn, table("quotas", QUOTAS), actor=county, at=at)
        assert (posts.created, posts.error_count) == (2, 0), posts.errors


@pytest.fixture
def loaded(engine: Engine) -> tuple[CaseEngine, FrozenClock, dict[str, Actor]]:
    clock = FrozenClock(bureau_time(YEAR, 8, 31, 9))
    _load(engine, _province_files(), clock.now())
    eng = CaseEngine(engine, installed(), clock)
    with engine.connect() as conn:
        actors = {
            u: load_actor(conn, username=u) for u in ("sheng", "shi", "xian", "xiao", "laoshi")
        }
    return eng, clock, actors


def _state(eng: CaseEngine, case_id: int) -> str:
    with eng.db.connect() as conn:
        return str(conn.execute(select(Case.state).where(Case.id == case_id)).scalar_one())


def test_a_title_review_case_from_declaration_to_appointment(
    loaded: tuple[CaseEngine, FrozenClock, dict[str, Actor]],
) -> None:
    eng, clock, who = loaded
    clock.set(bureau_time(YEAR, 9, 1, 9))
    years.open_year(
        eng, who["sheng"], year=YEAR, opens_on=dt.date(YEAR, 9, 1), closes_on=dt.date(YEAR, 9, 30)
    )
    teacher = who["laoshi"]  # signed in with the account opened from the sheet
    form = {"target_title": "senior", "subject": "数学", "statement": "任教以来认真履职。"}
    case_id = eng.start("title_review", teacher, form, submit=True).case_id
    assert _state(eng, case_id) == "school_review"

    fire_current(eng, case_id, "school_approve", who["xiao"], {"comment": "材料齐全，同意公示"})
    close_window(eng, clock, case_id)  # the school's publicity runs out
    fire_current(eng, case_id, "recommend", who["xiao"])
    fire_current(eng, case_id, "qualify", who["xian"])
    assert _state(eng, case_id) == "committee"
    panel = seated(eng.db, case_id)
    with eng.db.connect() as conn:
        members = [load_actor(conn, person_id=p) for p in panel]
        ids = {
            conn.execute(select(Teacher.person_id).where(Teacher.person_id == p)).scalar()
            for p in panel
        }
    assert len(panel) == 7 and None not in ids, "seven of the city's pool, all from the file"
    for member in members:
        fire_current(eng, case_id, "vote", member, {"choice": "yes"})
    fire_current(eng, case_id, "close_sitting", who["shi"])
    close_window(eng, clock, case_id)  # the result's publicity runs out
    assert _state(eng, case_id) == "appointment"
    fire_current(eng, case_id, "appoint", who["shi"], appointment(local_date(clock.now())))
    assert _state(eng, case_id) == "appointed"

    with eng.db.connect() as conn:
        record = conn.execute(
            select(Teacher.title, Teacher.title_date).where(Teacher.person_id == teacher.person_id)
        ).one()
        trail = history.entries_of(conn, history.TEACHER, int(teacher.person_id or 0))
        assert list(verify_trail(conn)) == []
    assert record.title == "senior"
    # the record from the roster file, then the appointment, one sealed trail
    assert [(e.source, e.source_ref) for e in trail] == [
        ("import", "roster"),
        ("case", f"事项{case_id}"),
    ]


def test_a_recruitment_round_from_opening_to_hiring(
    loaded: tuple[CaseEngine, FrozenClock, dict[str, Actor]], engine: Engine
) -> None:
    eng, clock, who = loaded
    clock.set(bureau_time(YEAR, 10, 8, 9))
    round_id = rounds.open_round_as(
        eng,
        who["sheng"],
        {
            "name": f"{YEAR}年测试省新任教师公开招聘",
            "announcement": "面向社会公开招聘小学数学教师一名。",
            "registration_opens": "2026-10-08",
            "registration_closes": "2026-10-20",
            "written_weight": 50,
            "interview_weight": 50,
            "shortlist_ratio": 3,
        },
    )
    with engine.connect() as conn:
        primary = conn.execute(
            select(Teacher.school_id).where(Teacher.school_level == "primary").limit(1)
        ).scalar_one()
    post = {"code": "YX-01", "subject": "数学", "school_level": "primary",
            "min_education": "bachelor", "seats": [{"school_id": primary, "seats": 1}]}  # fmt: skip
    plan = rounds.declare_posts(eng, who["xian"], round_id, [post])
    fire_current(eng, plan, "city_pass", who["shi"])
    fire_current(eng, plan, "approve", who["sheng"])

    # registration: the province imports the applicants' sheet
    people = [
        (_id(dt.date(1999, 1, 1 + i), 100 + i, "F" if i % 2 else "M"), f"考生{i}",
         f"1370000000{i}", "本科", "小学", "YX-01")
        for i in range(3)
    ]  # fmt: skip
    sheet = _xlsx(
        APPLICANTS, people, ("id_number", "name", "phone", "education", "cert_level", "post_code")
    )
    applicants = validate(read_table(sheet, "报名.xlsx", schema=APPLICANTS), APPLICANTS)
    assert applicants.errors == []
    report = rec.register_many(eng, who["sheng"], round_id, applicants.rows)
    assert (report.created, report.errors) == (3, [])
    assert rec.qualify_all(eng, who["xian"], round_id) == {"qualified": 3, "disqualified": 0}

    def scores(kind: str, values: Sequence[str]) -> list[tuple[str, float | None]]:
        schema = SCHEMAS[kind]
        data = _xlsx(schema, [(p[0], v) for p, v in zip(people, values, strict=True)],
                     ("id_number", "score"))  # fmt: skip
        rows = validate(read_table(data, f"{kind}.xlsx", schema=schema), schema).rows
        return [(r["id_number"], float(Decimal(r["score"]))) for r in rows]

    assert (
        rec.record_scores(
            eng, who["sheng"], round_id, "written", scores("written", ["88", "92", "75"])
        )
        == 3
    )
    assert rec.shortlist(eng, who["shi"], round_id) == {"shortlisted": 3, "not_shortlisted": 0}
    assert (
        rec.record_scores(
            eng, who["shi"], round_id, "interview", scores("interview", ["90", "80", "85"])
        )
        == 3
    )
    # composites 89, 86, 80: the first goes on to the physical, the others wait in reserve
    assert rec.rank(eng, who["shi"], round_id) == {"to_physical": 1, "reserve": 2}
    with engine.connect() as conn:
        first = conn.execute(
            select(Applicant.case_id).where(Applicant.rank == 1, Applicant.round_id == round_id)
        ).scalar_one()
        number = conn.execute(
            select(Applicant.id_number).where(Applicant.case_id == first)
        ).scalar_one()
        seat = conn.execute(select(PostSeat.id).where(PostSeat.school_id == primary)).scalar_one()
    assert number == people[0][0]
    fire_current(eng, first, "pass_physical", who["xian"])
    fire_current(eng, first, "pass_background", who["xian"])
    close_window(eng, clock, first)  # the hiring publicity runs out
    with engine.connect() as conn:
        version = conn.execute(select(Case.version).where(Case.id == first)).scalar_one()
    rec.choose_post(eng, who["xian"], first, seat, expected_version=version)
    assert _state(eng, first) == "probation", "hired at the primary school of the file"
    with engine.connect() as conn:
        assert list(verify_trail(conn)) == []
