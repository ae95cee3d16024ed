"""The synthetic province: shape, validity and the demo accounts, on both databases."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, aliased

from states.identity import validate_id_number
from states.org import (
    CITY_OFFICER,
    COUNTY_OFFICER,
    INSPECTOR,
    LEADER,
    PRINCIPAL,
    PROVINCE_OFFICER,
    REVIEW_EXPERT,
    SCHOOL_OFFICER,
    SUBJECTS,
    TITLES,
    education_at_least,
)
from states.registry.accounts import ACCOUNTS
from states.seed import SeedError, SeedSummary, demo_teacher, seed
from states.store.db import make_engine
from states.store.migrate import upgrade
from states.store.models import EthicsRecord, OrgUnit, Person, Quota, RoleBinding, Teacher
from tests.cli import renshi_here
from tests.test_cli import run

TEACHERS = 300
YEAR = 2026
AS_OF = date(YEAR, 8, 31)


@pytest.fixture
def seeded(engine: Engine) -> SeedSummary:
    return seed(engine, TEACHERS, year=YEAR)


def _years_before(day: date, years: int) -> date:
    return day.replace(year=day.year - years, day=28 if day.month == 2 else day.day)


def test_counts_match_the_database(engine: Engine, seeded: SeedSummary) -> None:
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Teacher)) == TEACHERS
        assert s.scalar(select(func.count()).select_from(OrgUnit)) == seeded.units
        assert s.scalar(select(func.count()).select_from(EthicsRecord)) == seeded.ethics
        assert s.scalar(select(func.count()).select_from(Quota)) == seeded.quotas
        experts = select(func.count()).where(RoleBinding.role == REVIEW_EXPERT)
        assert s.scalar(experts) == seeded.experts
    assert seeded.teachers == TEACHERS
    assert seeded.units == 1 + seeded.cities + seeded.counties + seeded.schools
    assert seeded.cities >= 2 and seeded.counties >= 2 * seeded.cities


def test_every_id_number_is_valid_and_unique(engine: Engine, seeded: SeedSummary) -> None:
    with Session(engine) as s:
        numbers = s.scalars(select(Person.id_number)).all()
        rows = s.execute(select(Person.id_number, Teacher.birth_date, Teacher.gender).join(Teacher))
        for number, birth, gender in rows:
            assert number is not None
            assert number[6:14] == f"{birth:%Y%m%d}"
            assert (int(number[16]) % 2 == 1) == (gender == "M")
    assert all(validate_id_number(n) == n for n in numbers if n is not None)
    assert len(set(numbers)) == len(numbers)


def test_teacher_records_are_plausible(engine: Engine, seeded: SeedSummary) -> None:
    with Session(engine) as s:
        teachers = s.scalars(select(Teacher)).all()
        levels = {u: tier for u, tier in s.execute(select(OrgUnit.id, OrgUnit.tier))}
        school_of = {t.person_id: t.school_id for t in teachers}
    assert len({t.title for t in teachers}) >= 4
    assert {t.gender for t in teachers} == {"M", "F"}
    for t in teachers:
        assert levels[school_of[t.person_id]] == "school"
        assert t.title in TITLES and t.subject in SUBJECTS
        if t.subject == "学前教育":
            assert t.school_level == "kindergarten"
        assert _years_before(AS_OF, 61) < t.birth_date <= _years_before(AS_OF, 22)
        assert t.birth_date < t.started_teaching_on <= t.joined_school_on <= AS_OF
        assert t.title_date is not None and t.started_teaching_on <= t.title_date <= AS_OF
        assert 0 <= t.rural_years <= (AS_OF - t.started_teaching_on).days / 365 + 0.1


def test_schools_hang_under_counties_and_cities(engine: Engine, seeded: SeedSummary) -> None:
    parent = aliased(OrgUnit)
    with Session(engine) as s:
        rows = s.execute(
            select(OrgUnit, parent.tier, parent.path).join(parent, OrgUnit.parent_id == parent.id)
        ).all()
        cities = s.scalars(select(OrgUnit.id).where(OrgUnit.tier == "city")).all()
    schools = [(u, tier) for u, tier, _ in rows if u.tier == "school"]
    assert len(schools) == seeded.schools
    assert {tier for _, tier in schools} == {"county", "city"}
    direct = {u.parent_id for u, tier in schools if tier == "city"}
    assert direct == set(cities)  # at least one 市直属学校 in every city
    assert any(u.is_rural for u, _ in schools)
    assert all(u.path == f"{path}{u.id}/" for u, _, path in rows)
    pilots = [u for u, _ in schools if u.self_review_pilot]
    assert pilots
    with Session(engine) as s:
        for unit in pilots:
            level = s.scalar(select(Teacher.school_level).where(Teacher.school_id == unit.id))
            assert level in ("senior", "junior")


def test_every_school_has_quotas_for_the_year(engine: Engine, seeded: SeedSummary) -> None:
    with Session(engine) as s:
        schools = set(s.scalars(select(OrgUnit.id).where(OrgUnit.tier == "school")))
        quotas = s.execute(select(Quota.org_unit_id, Quota.title, Quota.posts, Quota.year)).all()
    assert {(q.org_unit_id, q.title) for q in quotas} == {
        (school, title) for school in schools for title in TITLES[1:]
    }
    assert all(q.year == YEAR and q.posts >= 0 for q in quotas)
    assert sum(q.posts for q in quotas) > 0


def test_expert_pools_are_deep_enough_at_city_and_province(
    engine: Engine, seeded: SeedSummary
) -> None:
    with Session(engine) as s:
        province = s.scalars(select(OrgUnit).where(OrgUnit.tier == "province")).one()
        city = s.scalars(select(OrgUnit).where(OrgUnit.tier == "city").order_by(OrgUnit.id)).first()
        assert city is not None
        used = set(
            s.scalars(
                select(Teacher.subject)
                .join(OrgUnit, OrgUnit.id == Teacher.school_id)
                .where(OrgUnit.path.startswith(city.path))
            )
        )
        pool_rows = s.execute(
            select(RoleBinding.org_unit_id, RoleBinding.subject, func.count())
            .where(RoleBinding.role == REVIEW_EXPERT)
            .group_by(RoleBinding.org_unit_id, RoleBinding.subject)
        )
        pools = {(unit, subject): n for unit, subject, n in pool_rows}
        expert_teachers = s.scalars(
            select(Teacher.title).join(RoleBinding, RoleBinding.person_id == Teacher.person_id)
        ).all()
        experts = s.execute(
            select(Person.username, Person.must_change_password, Teacher.person_id)
            .join(RoleBinding, RoleBinding.person_id == Person.id)
            .outerjoin(Teacher, Teacher.person_id == Person.id)
            .where(RoleBinding.role == REVIEW_EXPERT)
        ).all()
    assert used
    for subject in used:
        assert pools.get((city.id, subject), 0) >= 10, subject
        assert pools.get((province.id, subject), 0) >= 10, subject
    # Experts drawn from teachers are senior: recusal by school has records to act on.
    assert expert_teachers and set(expert_teachers) <= {"senior", "full_senior"}
    # Outside experts (no teacher record) were registered through the accounts sheet, so
    # each has an account, with a password they have yet to be given; the teachers in the
    # pools have none, but for the printed demo expert.
    outside = [e for e in experts if e.person_id is None]
    assert outside and all(
        e.username and e.must_change_password for e in outside if e.username != "expert"
    )
    assert {e.username for e in experts if e.person_id is not None} <= {None, "expert"}
    assert sum(1 for e in experts if e.username == "expert") == 1


def _bindings(s: Session, username: str) -> set[tuple[str, int]]:
    rows = s.execute(
        select(RoleBinding.role, RoleBinding.org_unit_id)
        .join(Person, Person.id == RoleBinding.person_id)
        .where(Person.username == username)
    )
    return {(role, unit) for role, unit in rows}


def test_demo_accounts_cover_every_role(engine: Engine, seeded: SeedSummary) -> None:
    expected = {
        "province_officer",
        "city_officer",
        "county_officer",
        "county_officer2",
        "school_officer",
        "school_officer2",
        "principal",
        "teacher",
        "teacher_grade1",
        "teacher_full",
        "expert",
        "inspector",
        "leader",
    }
    assert set(seeded.accounts) == expected
    assert seeded.accounts["teacher"] == "教师" and seeded.accounts["expert"] == "评委"
    assert set(seeded.account_units) == expected
    with Session(engine) as s:
        people = {
            p.username: p for p in s.scalars(select(Person).where(Person.username.in_(expected)))
        }
        assert set(people) == expected
        hashes = {p.password_hash for p in people.values()}
        assert len(hashes) == 1  # hashed once, reused
        assert PasswordHasher().verify(hashes.pop() or "", seeded.demo_password)
        # the printed accounts sign in with the printed password, no change demanded
        assert not any(p.must_change_password for p in people.values())

        province = s.scalars(select(OrgUnit.id).where(OrgUnit.tier == "province")).one()
        teacher = s.get(Teacher, people["teacher"].id)
        assert teacher is not None
        school = s.get(OrgUnit, teacher.school_id)
        assert school is not None and school.parent_id is not None
        county = s.get(OrgUnit, school.parent_id)
        assert county is not None and county.tier == "county" and county.parent_id is not None
        city = county.parent_id
        assert city == s.scalars(select(OrgUnit.id).where(OrgUnit.tier == "city")).first()

        assert _bindings(s, "province_officer") == {(PROVINCE_OFFICER, province)}
        assert _bindings(s, "city_officer") == {(CITY_OFFICER, city)}
        assert _bindings(s, "county_officer") == {(COUNTY_OFFICER, county.id)}
        assert _bindings(s, "school_officer") == {(SCHOOL_OFFICER, school.id)}
        # a colleague at the same desk, so that 转交 has someone to go to
        assert _bindings(s, "county_officer2") == {(COUNTY_OFFICER, county.id)}
        assert _bindings(s, "school_officer2") == {(SCHOOL_OFFICER, school.id)}
        assert _bindings(s, "principal") == {(PRINCIPAL, school.id)}
        assert _bindings(s, "inspector") == {(INSPECTOR, province)}
        assert _bindings(s, "leader") == {(LEADER, province)}
        assert _bindings(s, "teacher") == set()  # the teacher role follows the record
        assert (REVIEW_EXPERT, city) in _bindings(s, "expert")
        expert_subject = s.scalar(
            select(RoleBinding.subject).where(
                RoleBinding.person_id == people["expert"].id, RoleBinding.org_unit_id == city
            )
        )
        assert expert_subject == teacher.subject
        expert_record = s.get(Teacher, people["expert"].id)
        assert expert_record is None or expert_record.school_id != school.id


def test_demo_teacher_is_eligible_for_senior(engine: Engine, seeded: SeedSummary) -> None:
    with Session(engine) as s:
        person = s.scalars(select(Person).where(Person.username == "teacher")).one()
        teacher = s.get(Teacher, person.id)
        assert teacher is not None
        school = s.get(OrgUnit, teacher.school_id)
        ethics = s.scalar(select(func.count()).where(EthicsRecord.person_id == person.id))
        senior_posts = s.scalar(
            select(Quota.posts).where(
                Quota.org_unit_id == teacher.school_id, Quota.title == "senior"
            )
        )
    assert school is not None and not school.self_review_pilot
    assert teacher.title == "grade1"
    assert teacher.title_date is not None
    assert teacher.title_date <= _years_before(AS_OF, 6)
    assert teacher.title_date <= _years_before(date.today(), 6)
    assert education_at_least(teacher.education, "bachelor")
    assert teacher.education == "bachelor"
    assert ethics == 0
    assert teacher.rural_years >= 1
    assert senior_posts is not None and senior_posts >= 1


def test_seeding_a_non_empty_database_fails_and_changes_nothing(
    engine: Engine, seeded: SeedSummary
) -> None:
    with pytest.raises(SeedError, match="数据库不是空的"):
        seed(engine, TEACHERS)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Teacher)) == TEACHERS


def test_too_few_teachers_is_refused(engine: Engine) -> None:
    with pytest.raises(SeedError, match="教师人数"):
        seed(engine, 10)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(OrgUnit)) == 0


def test_later_inserts_get_fresh_ids(engine: Engine, seeded: SeedSummary) -> None:
    """Seeded rows carry explicit ids: PostgreSQL's sequences must have moved past them."""
    with Session(engine) as s:
        top = s.scalar(select(func.max(Person.id)))
        person = Person(name="新同事")
        s.add(person)
        s.flush()
        assert top is not None and person.id > top
        binding = RoleBinding(person_id=person.id, role=LEADER, org_unit_id=1)
        quota = Quota(org_unit_id=1, year=YEAR + 1, title="senior", posts=1)
        record = EthicsRecord(person_id=person.id, occurred_on=AS_OF, description="测试")
        unit = OrgUnit(tier="school", code="NEW", name="新学校", path="/x/", parent_id=1)
        s.add_all([binding, quota, record, unit])
        s.flush()
        s.rollback()


def test_same_seed_same_province_on_either_database(
    engine: Engine, seeded: SeedSummary, tmp_path: Path
) -> None:
    """Determinism across runs and backends: a bug report can name a seed and a person id."""
    other = make_engine(f"sqlite:///{tmp_path / 'again.db'}")
    upgrade(other)
    # the roster as a UTF-8 .csv this time: the same teachers, read the same way
    seed(other, TEACHERS, year=YEAR, roster_format="csv")

    def snapshot(eng: Engine) -> list[tuple[object, ...]]:
        with Session(eng) as s:
            rows = s.execute(
                select(Person.id, Person.name, Person.id_number, Person.username, Teacher)
                .outerjoin(Teacher)
                .order_by(Person.id)
            )
            return [(*r[:4], None if r[4] is None else _row(r[4])) for r in rows]

    try:
        assert snapshot(engine) == snapshot(other)
    finally:
        other.dispose()


def _row(teacher: Teacher) -> tuple[object, ...]:
    """The record, without the digest of the file's row it came from (the same teacher
    reads as other bytes from a .csv than from an .xlsx)."""
    return tuple(
        getattr(teacher, column.key)
        for column in Teacher.__table__.columns
        if column.key != "import_digest"
    )


def test_cli_seed(db_url: str, tmp_path: Path) -> None:
    kept = tmp_path / "示例省表格"
    first = run(db_url, "seed", "--teachers", "200", "--dir", str(kept))
    assert first.returncode == 0, first.stderr
    assert "200 名教师" in first.stdout
    assert "renshi2026" in first.stdout
    for username in ("province_officer", "teacher", "expert", "leader"):
        assert username in first.stdout
    # the files it loaded are there for the operator to open
    assert f"导入的表格保存在 {kept}" in first.stdout
    assert sorted(p.name for p in kept.iterdir()) == sorted(
        ["org.xlsx", "roster.xlsx", "accounts.xlsx", "experts.xlsx", "quotas.xlsx"]
    )
    again = renshi_here(db_url, "seed", "--teachers", "200")  # in this process (tests/cli.py)
    assert again.returncode == 1
    assert "数据库不是空的" in again.stderr


def test_county_and_pilot_committees_can_be_drawn(engine: Engine, seeded: SeedSummary) -> None:
    """一级 and 二级 are reviewed by a county committee, a pilot school reviews its own: each
    has a pool deep enough for a committee of seven in every subject, so such a case reaches
    its committee instead of stopping at "评委库人数不足"."""
    from states.clock import FrozenClock, bureau_time
    from states.engine import CaseEngine
    from states.errors import RenshiError
    from states.processes import installed
    from states.processes.title_review import seed as title_review
    from states.seed.builders import Unit, fire_current, seated, stand_in
    from states.store.models import Case, PanelSeat
    from states.store.people import load_actor

    with Session(engine) as s:
        counties = s.scalars(select(OrgUnit).where(OrgUnit.tier == "county")).all()
        pilots = s.scalars(select(OrgUnit).where(OrgUnit.self_review_pilot.is_(True))).all()
        pools = dict(
            s.execute(
                select(RoleBinding.org_unit_id, func.count())
                .where(RoleBinding.role == REVIEW_EXPERT)
                .group_by(RoleBinding.org_unit_id, RoleBinding.subject)
                .having(func.count() < 7)
            ).all()
        )
        grade2 = s.execute(
            select(Teacher.person_id, Teacher.subject, OrgUnit.id, OrgUnit.path)
            .join(OrgUnit, OrgUnit.id == Teacher.school_id)
            .where(Teacher.title == "grade2")
            .order_by(Teacher.person_id)
        ).all()
    assert counties and pilots
    assert pools == {}, "every pool holds at least a committee of seven"
    clock = FrozenClock(bureau_time(YEAR, 9, 1))
    eng = CaseEngine(engine, installed(), clock)
    reached = 0
    for person_id, subject, school_id, path in grade2:
        if len(path.strip("/").split("/")) != 4:
            continue  # a city-direct school: its county step is the city's
        county_id = int(path.strip("/").split("/")[-2])
        with engine.connect() as conn:
            teacher = load_actor(conn, person_id=person_id)
            county_path = conn.execute(
                select(OrgUnit.path).where(OrgUnit.id == county_id)
            ).scalar_one()
        try:
            case_id = title_review.declare(
                eng, teacher, title_review.declaration(subject, title="grade1")
            )
            officer = stand_in(None, SCHOOL_OFFICER, [Unit(school_id, path)])
            title_review.through_school(eng, clock, case_id, officer)
        except RenshiError:
            continue  # not eligible, or the school has no free 一级 post: not what is tested
        county = stand_in(None, COUNTY_OFFICER, [Unit(county_id, county_path)])
        fire_current(eng, case_id, "qualify", county)  # a pool short of 7 would refuse here
        assert len(seated(engine, case_id)) == 7
        with engine.connect() as conn:
            state = conn.execute(select(Case.state).where(Case.id == case_id)).scalar_one()
            drawn_at = set(
                conn.execute(
                    select(RoleBinding.org_unit_id)
                    .join(PanelSeat, PanelSeat.expert_id == RoleBinding.person_id)
                    .where(PanelSeat.case_id == case_id, RoleBinding.role == REVIEW_EXPERT)
                ).scalars()
            )
        assert state == "committee" and county_id in drawn_at
        reached += 1
        if reached == 3:
            break
    assert reached, "no 二级 teacher of the demo province could declare 一级"


def test_each_demo_teacher_can_declare_what_the_demo_says(
    engine: Engine, seeded: SeedSummary
) -> None:
    """The demo prints each teacher account with the title it can declare: 一级, 高级 and
    正高级 are each accepted at the door and reach their school, whose 正高级 quota is at its
    last free post."""
    from states.clock import FrozenClock, bureau_time
    from states.engine import CaseEngine
    from states.processes import installed
    from states.processes.title_review import seed as title_review
    from states.seed.province import DEMO_DECLARES
    from states.store.models import Case
    from states.store.people import load_actor

    eng = CaseEngine(engine, installed(), FrozenClock(bureau_time(YEAR, 9, 1)))
    schools = set()
    for username, title in DEMO_DECLARES.items():
        with engine.connect() as conn:
            actor = load_actor(conn, username=username)
            record = conn.execute(
                select(Teacher.subject, Teacher.school_id).where(
                    Teacher.person_id == actor.person_id
                )
            ).one()
        case_id = title_review.declare(
            eng, actor, title_review.declaration(record.subject, title=title)
        )
        with engine.connect() as conn:
            state = conn.execute(select(Case.state).where(Case.id == case_id)).scalar_one()
        assert state == "school_review", username
        schools.add(record.school_id)
    [school] = schools
    with Session(engine) as s:
        posts = dict(
            s.execute(select(Quota.title, Quota.posts).where(Quota.org_unit_id == school)).all()
        )
    assert posts["full_senior"] == 1 and posts["grade1"] >= 2 and posts["senior"] >= 2


def test_the_province_is_its_files(engine: Engine, tmp_path: Path) -> None:
    """The seed writes the five files a bureau fills in, under their import templates'
    headers, and loads them through the imports: every record's history names the file it
    came from, and importing the files again finds nothing to change."""
    from states.clock import bureau_time
    from states.registry import history
    from states.registry.experts import EXPERTS, import_experts
    from states.registry.org_tree import ORG, ROOT_OPERATOR, import_org
    from states.registry.quotas import QUOTAS, import_quotas
    from states.registry.roster import import_roster
    from states.registry.roster_sheet import ROSTER
    from states.seed.province import DEMO_REF
    from states.sheets import open_table, read_table

    directory = tmp_path / "province"
    summary = seed(engine, TEACHERS, year=YEAR, directory=directory)
    assert summary.directory == str(directory)
    for name, schema in (
        ("org.xlsx", ORG),
        ("roster.xlsx", ROSTER),
        ("accounts.xlsx", ACCOUNTS),
        ("experts.xlsx", EXPERTS),
        ("quotas.xlsx", QUOTAS),
    ):
        table = read_table((directory / name).read_bytes(), name, schema=schema)
        assert table.columns == [c.label for c in schema.columns], name

    at = bureau_time(YEAR, 9, 1)
    with engine.begin() as conn:
        roster = directory / "roster.xlsx"
        again = import_roster(
            conn,
            open_table(roster, roster.name, schema=ROSTER),
            actor=ROOT_OPERATOR,
            at=at,
            source_ref="again",
        )
        assert (again.created, again.updated, again.unchanged) == (0, 0, TEACHERS)
        for name, importer, schema, rows in (
            ("org.xlsx", import_org, ORG, summary.units),
            ("quotas.xlsx", import_quotas, QUOTAS, summary.quotas),
            ("experts.xlsx", import_experts, EXPERTS, summary.experts),
        ):
            table = read_table((directory / name).read_bytes(), name, schema=schema)
            report = importer(conn, table, actor=ROOT_OPERATOR, at=at)
            assert (report.created, report.updated, report.unchanged) == (0, 0, rows), name
        conn.rollback()

    with engine.connect() as conn:
        teacher = demo_teacher(conn).person_id
        school = conn.execute(select(Teacher.school_id).where(Teacher.person_id == teacher))
        [first] = history.entries_of(conn, history.TEACHER, teacher)
        unit = history.entries_of(conn, history.UNIT, school.scalar_one())
        account = history.entries_of(conn, history.PERSON, teacher)
    assert first.source == "import"
    assert first.source_ref is not None and first.source_ref.startswith("roster.xlsx sha256:")
    # the school from the org tree, then its posts
    assert [(e.source, (e.source_ref or "")[:10]) for e in unit] == [
        ("import", "org.xlsx s"),
        ("import", "quotas.xls"),
    ]
    # the account from the accounts sheet, then the seed's own step: the printed password
    assert [(e.source, e.source_ref or "") for e in account] == [
        ("import", account[0].source_ref),
        ("seed", DEMO_REF),
    ]
    assert (account[0].source_ref or "").startswith("accounts.xlsx sha256:")
    assert account[-1].changes == {"must_change_password": [True, False]}
