"""A synthetic province for demos, manual testing and benchmarks, loaded the way a bureau
loads its own: from spreadsheets, through the registry's imports.

Processes only show their problems at a province's real shape and size: deep org trees,
twenty thousand schools, a tail of teachers with thirty rural years, thin expert pools in
small subjects. So the seed builds that shape at full scale rather than a handful of
hand-written rows.

The seed is the import path. ``write_province`` generates the province as the five files a
bureau fills in — the org tree (``org.xlsx``), the teacher roster (``roster.xlsx``), the
accounts (``accounts.xlsx``), the expert pools (``experts.xlsx``) and the posts per school
(``quotas.xlsx``), each under the headers of its import template — and ``load_province``
loads them through the same import functions the pages, the API and ``renshi org import``
call, as the province's office, each file in one transaction, every record's history
naming the file it came from. Whatever the demo shows was loaded by code a bureau's own
files go through. Two steps are the seed's own: the printed demo accounts keep the printed
password (a bureau's accounts must change theirs at first sign-in), and the province's
title-review year is opened for the demo's teachers.

Rows are generated from one ``random.Random`` (deterministic for a seed) and streamed to the
files, so memory stays bounded at any size.

Synthetic ID numbers use region prefix 66, which no province has been assigned, so no seeded
number can belong to a real person.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import random
import secrets
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import Date, Engine, Row, bindparam, select, text, update
from sqlalchemy.engine import Connection

from states.clock import bureau_time
from states.identity import make_id_number
from states.org import (
    CITY_OFFICER,
    COUNTY_OFFICER,
    EDUCATION,
    INSPECTOR,
    LEADER,
    PRINCIPAL,
    PROVINCE_OFFICER,
    REVIEW_EXPERT,
    ROLE_LABELS,
    SCHOOL_OFFICER,
    SUBJECTS,
    TEACHER,
    TITLES,
    Actor,
    Binding,
)
from states.registry import history
from states.registry.accounts import ACCOUNTS, import_rows
from states.registry.experts import EXPERTS, import_experts, write_experts
from states.registry.history import Entry, file_ref
from states.registry.imports import ImportReport
from states.registry.org_tree import ORG, ROOT_OPERATOR, import_org, write_org
from states.registry.quotas import QUOTAS, import_quotas, write_quotas
from states.registry.roster import RosterReport, import_roster
from states.registry.roster_sheet import COLUMNS as ROSTER_COLUMNS
from states.registry.roster_sheet import MAX_ROWS, ROSTER, shown, write_roster
from states.sheets import open_table, read_table, validate, write_xlsx
from states.store.models import OrgUnit, Person, Teacher, table_of

# --- shape of the province ------------------------------------------------------------------
PROVINCE_CODE = "SX"
PROVINCE_NAME = "示范省"
PROVINCE_REGION = "66"  # unassigned: synthetic ID numbers can never be a real person's
TEACHERS_PER_CITY = 60_000
TEACHERS_PER_COUNTY = 6_000
TEACHERS_PER_SCHOOL = 30
MIN_TEACHERS = 50
MAX_TEACHERS = 2_000_000  # keeps city and county codes within two digits
CHUNK = 50_000  # teachers generated and written per batch: bounds memory at any size

# level, share of a county's schools, relative size
COUNTY_LEVELS = (
    ("kindergarten", 0.22, 0.5),
    ("primary", 0.48, 0.9),
    ("junior", 0.18, 1.5),
    ("senior", 0.07, 2.6),
    ("vocational", 0.05, 1.8),
)
# City-direct schools are the big urban ones: flagship senior, experimental primary ...
CITY_LEVELS = (
    ("kindergarten", 0.10, 0.8),
    ("primary", 0.25, 1.4),
    ("junior", 0.25, 1.8),
    ("senior", 0.25, 3.0),
    ("vocational", 0.15, 2.0),
)
CITY_DIRECT_SHARE = 0.04
RURAL_SHARE_COUNTY = 0.55  # 县: most schools outside the county town
RURAL_SHARE_DISTRICT = 0.12  # 区: urban districts
RURAL_FACTOR = {"kindergarten": 1.0, "primary": 1.0, "junior": 0.8, "senior": 0.35}
WEAK_SHARE = 0.10
PILOT_SHARE = {"senior": 0.12, "junior": 0.05}

# --- teachers -------------------------------------------------------------------------------
TITLE_SHARE = (0.05, 0.30, 0.40, 0.22, 0.03)  # grade3 .. full_senior
# Years of teaching before a title can be held, and the oldest age at which a teacher still
# plausibly holds it.
MIN_YEARS = {"grade3": 1, "grade2": 1, "grade1": 5, "senior": 10, "full_senior": 15}
MAX_AGE = {"grade3": 35, "grade2": 52, "grade1": 60, "senior": 60, "full_senior": 60}
START_AGE = {"secondary": 19.0, "associate": 21.0, "bachelor": 22.0, "master": 25.0}
# secondary, associate, bachelor, master by school level
EDUCATION_SHARE = {
    "kindergarten": (0.05, 0.55, 0.38, 0.02),
    "primary": (0.02, 0.35, 0.60, 0.03),
    "junior": (0.00, 0.15, 0.78, 0.07),
    "senior": (0.00, 0.03, 0.80, 0.17),
    "vocational": (0.00, 0.15, 0.75, 0.10),
}
FEMALE_SHARE = {
    "kindergarten": 0.97,
    "primary": 0.75,
    "junior": 0.60,
    "senior": 0.50,
    "vocational": 0.50,
}
_ALL_BUT_PRESCHOOL = (
    ("语文", 16),
    ("数学", 15),
    ("英语", 13),
    ("物理", 7),
    ("化学", 6),
    ("生物", 6),
    ("历史", 6),
    ("地理", 5),
    ("政治", 6),
    ("音乐", 4),
    ("体育", 6),
    ("美术", 4),
    ("信息技术", 4),
)
SUBJECT_SHARE: dict[str, tuple[tuple[str, float], ...]] = {
    "kindergarten": (("学前教育", 90), ("音乐", 4), ("美术", 3), ("体育", 3)),
    "primary": (
        ("语文", 30),
        ("数学", 25),
        ("英语", 10),
        ("政治", 5),
        ("音乐", 7),
        ("体育", 9),
        ("美术", 7),
        ("信息技术", 4),
        ("地理", 1),
        ("生物", 2),
    ),
    "junior": _ALL_BUT_PRESCHOOL,
    "senior": _ALL_BUT_PRESCHOOL,
    "vocational": (
        ("语文", 20),
        ("数学", 18),
        ("英语", 15),
        ("信息技术", 20),
        ("政治", 8),
        ("体育", 8),
        ("美术", 6),
        ("音乐", 5),
    ),
}
# (province, city, county, school) backbone shares by title; most teachers are none.
BACKBONE_SHARE = {"grade1": (0.002, 0.01, 0.04, 0.08), "senior": (0.01, 0.04, 0.10, 0.12)}
BACKBONE_SHARE["full_senior"] = (0.20, 0.30, 0.20, 0.10)
BACKBONE_CODES = ("province", "city", "county", "school")
CERT_DIGIT = {"kindergarten": "1", "primary": "2", "junior": "3", "senior": "4", "vocational": "5"}
ETHICS_SHARE = 0.003
ETHICS_KINDS = (
    "组织、参与有偿补课",
    "体罚或变相体罚学生",
    "索要、收受学生家长财物",
    "在招生、考试中徇私舞弊",
    "学术不端（论文抄袭）",
    "言行失范，损害教师形象",
    "未经批准在校外培训机构兼职",
)
# A rural teacher whose rural years would reach 30 keeps them only this often; the rest
# moved to town at some point. Calibrated to a few hundred per 100,000 teachers.
RURAL_30_KEEP = 0.25

# --- experts --------------------------------------------------------------------------------
MIN_EXPERTS = 10  # per subject and scope: a committee of 7 must be drawable after recusal
PILOT_EXPERTS = 8  # a pilot school reviews its own: 7 drawable once the applicant recuses
EXPERTS_PER_TEACHERS = 400
MAX_CITY_EXPERTS = 60
MAX_PROVINCE_EXPERTS = 120
EXPERT_TITLES = ("senior", "full_senior")

# --- demo -----------------------------------------------------------------------------------
DEMO_SUBJECT = "数学"
# The demo school's first teachers, each eligible on every rule for the next title: what
# each demo teacher account can declare (the demo prints it beside the account). The fourth
# and fifth, with no account, are the ones the demo's command-line walk declares for (one
# case to appointment, one left at the committee for the printed expert), so that every
# printed teacher account still has its own declaration to make.
DEMO_TEACHERS: dict[int, tuple[str | None, str]] = {
    0: ("teacher", "senior"),
    1: ("teacher_grade1", "grade1"),
    2: ("teacher_full", "full_senior"),
    3: (None, "senior"),
    4: (None, "senior"),
}
# 高级 posts at the demo school: the teacher account's declaration and the walk's two.
DEMO_SENIOR_POSTS = 3
DEMO_DECLARES = {name: aim for name, aim in DEMO_TEACHERS.values() if name is not None}
DEMO_ROLES = (
    ("province_officer", PROVINCE_OFFICER),
    ("city_officer", CITY_OFFICER),
    ("county_officer", COUNTY_OFFICER),
    # a second officer at the demo county and school: 转交 needs a colleague to hand to
    ("county_officer2", COUNTY_OFFICER),
    ("school_officer", SCHOOL_OFFICER),
    ("school_officer2", SCHOOL_OFFICER),
    ("principal", PRINCIPAL),
    ("teacher", TEACHER),
    ("teacher_grade1", TEACHER),
    ("teacher_full", TEACHER),
    ("expert", REVIEW_EXPERT),
    ("inspector", INSPECTOR),
    ("leader", LEADER),
)

# --- names ----------------------------------------------------------------------------------
SURNAMES = (
    ("王", 72),
    ("李", 71),
    ("张", 68),
    ("刘", 52),
    ("陈", 45),
    ("杨", 31),
    ("黄", 24),
    ("赵", 20),
    ("吴", 20),
    ("周", 19),
    ("徐", 15),
    ("孙", 15),
    ("马", 14),
    ("朱", 13),
    ("胡", 13),
    ("郭", 12),
    ("何", 12),
    ("林", 11),
    ("高", 11),
    ("罗", 11),
    ("郑", 10),
    ("梁", 9),
    ("谢", 8),
    ("宋", 7),
    ("唐", 7),
    ("许", 7),
    ("韩", 7),
    ("冯", 7),
    ("邓", 7),
    ("曹", 6),
    ("彭", 6),
    ("曾", 6),
    ("肖", 6),
    ("田", 6),
    ("董", 5),
    ("袁", 5),
    ("潘", 5),
    ("于", 5),
    ("蒋", 5),
    ("蔡", 5),
    ("余", 5),
    ("杜", 5),
    ("叶", 5),
    ("程", 5),
    ("苏", 4),
    ("魏", 4),
    ("吕", 4),
    ("丁", 4),
    ("任", 4),
    ("沈", 4),
    ("姚", 4),
    ("卢", 4),
    ("姜", 3),
    ("崔", 3),
    ("钟", 3),
    ("谭", 3),
    ("陆", 3),
    ("汪", 3),
    ("范", 3),
    ("金", 3),
    ("石", 3),
    ("廖", 3),
    ("贾", 3),
    ("夏", 3),
    ("韦", 3),
    ("方", 3),
    ("白", 3),
    ("邹", 2),
    ("孟", 2),
    ("熊", 2),
    ("秦", 2),
    ("邱", 2),
    ("江", 2),
    ("尹", 2),
    ("薛", 2),
    ("段", 2),
    ("雷", 2),
    ("侯", 2),
    ("龙", 2),
    ("史", 2),
    ("陶", 2),
    ("贺", 2),
    ("顾", 2),
    ("毛", 2),
    ("郝", 2),
    ("龚", 2),
    ("邵", 2),
    ("万", 2),
    ("钱", 2),
    ("严", 2),
    ("武", 2),
    ("戴", 2),
    ("孔", 1),
    ("汤", 1),
    ("欧阳", 1),
)
GIVEN_F = "丽芳娟敏静婷雪燕霞玲红梅琳颖慧洁倩莉萍艳佳欣悦雅琴瑶楠媛蕾薇菲璐晶月兰秀英凤珍丹晴怡"
GIVEN_M = "伟强磊军勇杰涛明斌超刚平辉鹏华飞鑫波宇浩凯健俊帆旭宁龙林峰亮成建志国东海锋"
GIVEN_ANY = "文晓春秋子思雨嘉一宏立新永安德玉云晨阳小"
# Mobile network prefixes (130, 131, ... 199) as digit pairs after the leading 1.
_PREFIX_PAIRS = "3031323334353637383950515253555657585966707375767778808182838586878889919899"
PHONE_PREFIXES = tuple("1" + _PREFIX_PAIRS[i : i + 2] for i in range(0, len(_PREFIX_PAIRS), 2))
CITY_CHARS = (
    "东南西北青云临安长清白金玉丰永明凤龙桃嘉",
    "川岭津原阳台江平宁河石泉城安溪州门源禾山",
)
COUNTY_CHARS = (
    "青石松柳桂兴汉宜昌德林华远新福和泰乐顺宝广盛开化祥",
    "山水坪溪川塘阳城原湖桥林河源陵口峰冈坝关谷田滨浦洲",
)
TOWN_CHARS = ("大小上下东西南北中前后高新马黄杨沙石龙凤白", "庄店集铺寨坝湾桥岗堡庙营场坪沟岭圩渡")


# --- the files ------------------------------------------------------------------------------
ORG_FILE, ACCOUNTS_FILE = "org.xlsx", "accounts.xlsx"
EXPERTS_FILE, QUOTAS_FILE = "experts.xlsx", "quotas.xlsx"
ROSTER_FORMATS = ("xlsx", "csv")  # roster.xlsx, or roster.csv (UTF-8)
# Outside experts (教研员, university staff) are registered through the accounts sheet,
# the only registry of people who are not teachers: usernames pw00001, pw00002 ...
OUTSIDE_USERNAME = "pw{:05d}"
DEMO_REF = "演示账号：使用打印的演示密码，无须首次修改"
# The province's title-review year, open for declarations from 1 September to the year's
# end (month, day): the demo's and the tests' teachers can declare. The table is title
# review's (its package's tables); the seed writes it by name, the core importing no process.
YEAR_COLUMNS = ("province_id", "year", "opens_on", "closes_on")
DECLARATION_WINDOW = ((9, 1), (12, 31))
DAYS_PER_YEAR = 365.2425


@dataclass(frozen=True)
class SeedSummary:
    """What a seed built, for the CLI to print and tests to check."""

    cities: int
    counties: int
    schools: int
    units: int
    teachers: int
    experts: int  # review_expert role bindings, one per pool seat
    ethics: int
    quotas: int
    elapsed_seconds: float
    accounts: dict[str, str]  # the printed demo accounts: username -> role label
    account_units: dict[str, str]  # username -> the unit the account acts at
    demo_password: str = field(repr=False)
    directory: str | None = None  # where the files were kept (None: deleted)


class SeedError(RuntimeError):
    """The seed refused to run; the message is for the operator."""


@dataclass(frozen=True)
class ProvinceFiles:
    """A province as the files a bureau fills in, and what the seed knows of them: the
    counts to report and the printed demo accounts (username -> role label, and the unit
    each acts at)."""

    directory: Path
    roster: Path
    cities: int
    counties: int
    schools: int
    units: int
    teachers: int
    experts: int
    ethics: int
    quotas: int
    year: int
    accounts: dict[str, str]
    account_units: dict[str, str]

    def path(self, name: str) -> Path:
        return self.directory / name


def seed(
    engine: Engine,
    teachers: int,
    *,
    rng_seed: int = 20260901,
    demo_password: str = "renshi2026",
    year: int = 2026,
    as_of: date | None = None,
    directory: Path | None = None,
    roster_format: str = "xlsx",
) -> SeedSummary:
    """Build a synthetic province with ``teachers`` teachers into an empty, migrated database:
    its files written (into ``directory``, kept; else a temporary directory, deleted), then
    loaded through the registry's imports (``load_province``).

    ``as_of`` is the day the records describe (default 31 August of ``year``, the end of the
    school year personnel statistics are taken at), and the day the files are imported on;
    it is a parameter rather than today so that a seed is the same data whenever it runs.
    """
    started = time.perf_counter()
    if not MIN_TEACHERS <= teachers <= MAX_TEACHERS:
        raise SeedError(f"教师人数应在 {MIN_TEACHERS} 到 {MAX_TEACHERS} 之间：{teachers}")
    if roster_format not in ROSTER_FORMATS:
        raise SeedError(f"教师名册的文件格式应为 {' 或 '.join(ROSTER_FORMATS)}：{roster_format}")
    as_of = as_of or date(year, 8, 31)
    with engine.connect() as conn:
        _require_empty(conn)
    with tempfile.TemporaryDirectory(prefix="renshi-seed-") as tmp:
        where = Path(tmp) if directory is None else Path(directory)
        where.mkdir(parents=True, exist_ok=True)
        files = write_province(
            where, teachers, rng_seed=rng_seed, year=year, as_of=as_of, roster_format=roster_format
        )
        load_province(engine, files, demo_password=demo_password, as_of=as_of)
    return SeedSummary(
        cities=files.cities,
        counties=files.counties,
        schools=files.schools,
        units=files.units,
        teachers=files.teachers,
        experts=files.experts,
        ethics=files.ethics,
        quotas=files.quotas,
        elapsed_seconds=round(time.perf_counter() - started, 2),
        accounts=files.accounts,
        account_units=files.account_units,
        demo_password=demo_password,
        directory=None if directory is None else str(directory),
    )


def demo_teacher(conn: Connection) -> Row[Any]:
    """The teacher behind the demo account (``person_id``, ``subject``, ``school_id``,
    ``title``): the seed makes them eligible for 高级, so demos and tests declare as them."""
    return conn.execute(
        select(Person.id.label("person_id"), Teacher.subject, Teacher.school_id, Teacher.title)
        .join(Teacher, Teacher.person_id == Person.id)
        .where(Person.username == "teacher")
    ).one()


def _require_empty(conn: Connection) -> None:
    for table in ("org_units", "people"):
        if conn.exec_driver_sql(f"SELECT 1 FROM {table} LIMIT 1").first() is not None:
            raise SeedError(
                f"数据库不是空的（{table} 表已有数据）：示例数据只能生成到新建的空库中。"
                "请换一个新的数据库（RENSHI_DATABASE_URL），或先清空现有数据。"
            )


# --- writing the files ----------------------------------------------------------------------
def write_province(
    directory: Path,
    teachers: int,
    *,
    rng_seed: int = 20260901,
    year: int = 2026,
    as_of: date | None = None,
    roster_format: str = "xlsx",
) -> ProvinceFiles:
    """The province as a bureau's files in ``directory``: ``org.xlsx``, ``roster.xlsx`` (or
    ``roster.csv``), ``accounts.xlsx``, ``experts.xlsx`` and ``quotas.xlsx``, each under its
    import's headers. The same seed writes the same rows."""
    as_of = as_of or date(year, 8, 31)
    builder = _Builder(teachers, random.Random(rng_seed), as_of, year)
    return builder.write(directory, roster_format)


def _csv_roster(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    """The roster as UTF-8 CSV (with the BOM Excel looks for), in the words ``shown`` uses."""
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow([c.label for c in ROSTER_COLUMNS])
        names = [c.name for c in ROSTER_COLUMNS]
        for row in rows:
            values = shown(row)
            out.writerow(
                [
                    "" if (v := values[n]) is None else v.isoformat() if isinstance(v, date) else v
                    for n in names
                ]
            )


# --- loading them ---------------------------------------------------------------------------
@lru_cache(maxsize=8)
def _hash(password: str) -> str:
    """argon2 is slow on purpose: one hash a password a process (each carries its salt)."""
    return PasswordHasher().hash(password)


@lru_cache(maxsize=1)
def _unknown_password() -> str:
    """The initial password of the accounts the seed opens besides the printed ones: random,
    never shown, so such an account signs in only after an officer resets it."""
    return secrets.token_urlsafe(24)


def _refused(name: str, errors: Sequence[Any], total: int) -> SeedError:
    """A file the seed wrote that its import refused: a fault in the seed, reported with
    the import's own words. The files before it stay imported (each is its own
    transaction), so the operator is told to start again on a new database."""
    shown_ = "；".join(str(e) for e in errors[:3])
    return SeedError(
        f"示例数据文件 {name} 导入失败（{total}处错误）：{shown_}。"
        "此前的文件已导入，请换一个新的空数据库重试"
    )


def _check(name: str, report: ImportReport | RosterReport) -> None:
    if report.error_count:
        raise _refused(name, report.errors, report.error_count)


def load_province(engine: Engine, files: ProvinceFiles, *, demo_password: str, as_of: date) -> None:
    """Load the files through the registry's imports, each in its own transaction, as the
    province's office: the org tree (as the administrator who loads a province before any
    account exists), the roster, the accounts, the expert pools, the posts. Then the seed's
    own two steps: the printed accounts keep ``demo_password`` without having to change it,
    and the year's title review opens for declarations."""
    at = bureau_time(as_of.year, as_of.month, as_of.day, 18)
    org = files.path(ORG_FILE)
    with engine.begin() as conn:
        _require_empty(conn)
        data = org.read_bytes()
        report = import_org(
            conn, read_table(data, org.name, schema=ORG), actor=ROOT_OPERATOR, at=at,
            source_ref=file_ref(org.name, data),
        )  # fmt: skip
        _check(org.name, report)
        province = conn.execute(
            select(units_t.c.id, units_t.c.path).where(units_t.c.code == PROVINCE_CODE)
        ).one()
    office = Actor(
        None,
        f"{PROVINCE_NAME}教育厅（演示数据）",
        (Binding(PROVINCE_OFFICER, int(province.id), province.path),),
    )
    roster = files.roster
    table = open_table(roster, roster.name, schema=ROSTER, max_rows=MAX_ROWS)
    with roster.open("rb") as f:
        ref = file_ref(roster.name, f)
    with engine.begin() as conn:
        _check(roster.name, import_roster(conn, table, actor=office, at=at, source_ref=ref))
    _load_accounts(engine, files.path(ACCOUNTS_FILE), office, at, files, demo_password)
    for name, importer, schema in (
        (EXPERTS_FILE, import_experts, EXPERTS),
        (QUOTAS_FILE, import_quotas, QUOTAS),
    ):
        path = files.path(name)
        data = path.read_bytes()
        with engine.begin() as conn:
            report = importer(
                conn, read_table(data, name, schema=schema), actor=office, at=at,
                source_ref=file_ref(name, data),
            )  # fmt: skip
            _check(name, report)
    (m1, d1), (m2, d2) = DECLARATION_WINDOW
    with engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO title_review_years ({', '.join(YEAR_COLUMNS)}) "
                "VALUES (:province_id, :year, :opens_on, :closes_on)"
            ).bindparams(bindparam("opens_on", type_=Date), bindparam("closes_on", type_=Date)),
            {
                "province_id": int(province.id),
                "year": files.year,
                "opens_on": date(files.year, m1, d1),
                "closes_on": date(files.year, m2, d2),
            },
        )


def _load_accounts(
    engine: Engine,
    path: Path,
    office: Actor,
    at: dt.datetime,
    files: ProvinceFiles,
    demo_password: str,
) -> None:
    """The accounts sheet through its import; the printed accounts get the printed password
    and are spared the first sign-in's change of it (the seed's own step, on each account's
    history), every other account a random password nobody is told."""
    data = path.read_bytes()
    checked = validate(read_table(data, path.name, schema=ACCOUNTS), ACCOUNTS)
    if checked.error_count:
        raise _refused(path.name, checked.errors, checked.error_count)
    demo, other = _hash(demo_password), _hash(_unknown_password())
    hashes = {
        int(r["row"]): demo if r["username"] in files.accounts else other for r in checked.rows
    }
    with engine.begin() as conn:
        report = import_rows(
            conn, office, at, checked.rows, hashes, source_ref=file_ref(path.name, data)
        )
        if report.errors:
            errors = [f"第{row}行【{column}】{reason}" for row, column, reason in report.errors]
            raise _refused(path.name, errors, len(errors))
        ids = [c.person_id for _, c in report.created if c.username in files.accounts]
        conn.execute(
            update(people_t).where(people_t.c.id.in_(ids)).values(must_change_password=False)
        )
        history.record(
            conn, history.PERSON,
            [Entry(pid, {"must_change_password": (True, False)}) for pid in ids],
            actor=office, at=at, source="seed", source_ref=DEMO_REF,
        )  # fmt: skip


units_t, people_t = table_of(OrgUnit), table_of(Person)


# --- generating the rows --------------------------------------------------------------------
def _cum(weights: Sequence[float]) -> list[float]:
    """Cumulative shares normalised to 1, for ``bisect`` against ``random()``."""
    total = sum(weights)
    cum = [w / total for w in accumulate(weights)]
    cum[-1] = 1.0 + 1e-9  # random() < 1 always lands inside
    return cum


def _cn_number(n: int) -> str:
    """Chinese numerals as school names use them: 第三, 第十二, 第一百零五."""
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 20:
        return "十" + (digits[n % 10] if n % 10 else "")
    if n < 100:
        return digits[n // 10] + "十" + (digits[n % 10] if n % 10 else "")
    if n < 1000:
        rest = n % 100
        tail = "" if rest == 0 else ("零" + digits[rest] if rest < 10 else _cn_number(rest))
        if 10 <= rest < 20:
            tail = "一" + tail
        return digits[n // 100] + "百" + tail
    return str(n)


def _pair_name(chars: tuple[str, str], i: int) -> str:
    """The i-th of len(a) * len(b) distinct two-character names."""
    a, b = chars
    q, r = divmod(i, len(a))
    return a[r] + b[(q + 7 * r) % len(b)]


@dataclass
class _School:
    code: str
    parent: str  # the code of its county, or of its city (a city-direct school)
    city: int  # index into the cities
    region: str  # 6-digit region code for the ID numbers of its teachers
    level: str
    rural: bool
    weak: bool
    pilot: bool
    size: int = 1


@dataclass
class _Org:
    units: list[dict[str, Any]]  # org.xlsx, parents first
    city_codes: list[str]
    county_codes: list[str]
    county_regions: list[str]
    schools: list[_School]
    demo_school: _School


# A pool's member: (ID number, school code or "" for an outside expert, name).
Member = tuple[str, str, str]


class _Builder:
    """One seed run: the random stream and the rows on their way to the files."""

    def __init__(self, teachers: int, rng: random.Random, as_of: date, year: int) -> None:
        self.n_teachers = teachers
        self.rng = rng
        self.as_of = as_of
        self.year = year
        self.serial = 0  # people generated, numbering the teachers' certificates
        self.seen_ids: set[str] = set()
        self.surnames = [s for s, _ in SURNAMES]
        self.surname_cum = _cum([w for _, w in SURNAMES])
        # Dates as ordinals in the hot loop; these turn them into dates.
        self.day0 = date(as_of.year - 80, 1, 1).toordinal()
        span = as_of.toordinal() - self.day0 + 1
        self.dates = [date.fromordinal(self.day0 + i) for i in range(span)]
        # filled as the roster is written
        self.candidates: dict[tuple[int, str], list[Member]] = {}
        self.counts: dict[tuple[int, str], int] = {}
        self.ethics = 0
        self.demo_people: dict[int, Member] = {}  # the demo school's k-th teacher

    # -- people ------------------------------------------------------------------------------
    def name(self, female: bool) -> str:
        rnd = self.rng.random
        surname = self.surnames[bisect.bisect(self.surname_cum, rnd())]
        pool = GIVEN_F if female else GIVEN_M
        given = pool[int(rnd() * len(pool))]
        if rnd() < 0.6:
            given = GIVEN_ANY[int(rnd() * len(GIVEN_ANY))] + given
        return surname + given if len(surname) == 1 else surname + given[-1]

    def id_number(self, region: str, birth_day: int, female: bool) -> str:
        birth = self.dates[birth_day - self.day0]
        gender = "F" if female else "M"
        rnd = self.rng.random
        while True:
            number = make_id_number(region, birth, int(rnd() * 1000), gender)
            if number not in self.seen_ids:
                self.seen_ids.add(number)
                return number

    def phone(self) -> str:
        rnd = self.rng.random
        return f"{PHONE_PREFIXES[int(rnd() * len(PHONE_PREFIXES))]}{int(rnd() * 1e8):08d}"

    def person(self, region: str, female: bool, age_years: float) -> dict[str, str]:
        """A person who is not a teacher: staff behind a demo account, or an outside expert
        (an accounts-sheet row's person: ID number, name, mobile)."""
        self.serial += 1
        birth = self.as_of.toordinal() - int(age_years * DAYS_PER_YEAR)
        return {
            "name": self.name(female),
            "id_number": self.id_number(region, birth, female),
            "phone": self.phone(),
        }

    # -- the run -----------------------------------------------------------------------------
    def write(self, directory: Path, roster_format: str) -> ProvinceFiles:
        org = self.plan_org()
        write_org(directory / ORG_FILE, org.units)
        roster = directory / f"roster.{roster_format}"
        rows = self.teachers(org)
        if roster_format == "csv":
            _csv_roster(roster, rows)
        else:
            write_roster(roster, rows)
        pools, outsiders, demo_expert = self.plan_experts(org)
        accounts, account_units, staff = self.plan_accounts(org, demo_expert)
        sheet = [*outsiders, *staff]
        columns = [(c.name, c.label) for c in ACCOUNTS.columns]
        (directory / ACCOUNTS_FILE).write_bytes(
            write_xlsx(columns, sheet, title=ACCOUNTS.label, mask=())
        )
        write_experts(directory / EXPERTS_FILE, pools)
        quotas = self.plan_quotas(org)
        write_quotas(directory / QUOTAS_FILE, quotas)
        return ProvinceFiles(
            directory=directory,
            roster=roster,
            cities=len(org.city_codes),
            counties=len(org.county_codes),
            schools=len(org.schools),
            units=len(org.units),
            teachers=self.n_teachers,
            experts=len(pools),
            ethics=self.ethics,
            quotas=len(quotas),
            year=self.year,
            accounts=accounts,
            account_units=account_units,
        )

    def plan_org(self) -> _Org:
        """Province, cities, counties and schools, with each school's teacher count."""
        rng = self.rng
        n = self.n_teachers
        n_cities = max(2, round(n / TEACHERS_PER_CITY))
        n_counties = max(2 * n_cities, round(n / TEACHERS_PER_COUNTY))
        n_schools = max(n_counties + n_cities, round(n / TEACHERS_PER_SCHOOL))

        units: list[dict[str, Any]] = []

        def add(parent: tuple[str, str] | None, tier: str, code: str, name: str) -> tuple[str, str]:
            units.append(
                {
                    "code": code,
                    "name": name,
                    "tier": tier,
                    "parent_code": parent[0] if parent else None,
                }
            )
            return code, name

        province = add(None, "province", PROVINCE_CODE, PROVINCE_NAME)
        cities = [
            add(province, "city", f"{PROVINCE_CODE}{c + 1:02d}", _pair_name(CITY_CHARS, c) + "市")
            for c in range(n_cities)
        ]
        # Counties round-robin over cities so every city has at least two.
        county_city = [i % n_cities for i in range(n_counties)]
        county_city.sort()
        counties: list[tuple[str, str]] = []
        county_is_district: list[bool] = []
        county_regions: list[str] = []
        per_city: dict[int, int] = {}
        for i, c in enumerate(county_city):
            k = per_city.get(c, 0) + 1
            per_city[c] = k
            in_city = county_city.count(c)
            district = k <= max(1, round(in_city * 0.25))
            name = _pair_name(COUNTY_CHARS, i) + ("区" if district else "县")
            counties.append(add(cities[c], "county", f"{cities[c][0]}{k:02d}", name))
            county_is_district.append(district)
            county_regions.append(f"{PROVINCE_REGION}{c + 1:02d}{k:02d}")

        # Schools per county and city-direct schools per city, then each school's level.
        extra = n_schools - n_counties - n_cities
        n_direct_extra = round(extra * CITY_DIRECT_SHARE)
        county_weight = [rng.uniform(0.6, 1.4) for _ in counties]
        per_county = [1] * n_counties
        for i in rng.choices(range(n_counties), weights=county_weight, k=extra - n_direct_extra):
            per_county[i] += 1
        per_direct = [1] * n_cities
        for c in rng.choices(range(n_cities), k=n_direct_extra):
            per_direct[c] += 1

        schools: list[_School] = []
        names: list[str] = []
        weights: list[float] = []
        county_level_cum = _cum([s for _, s, _ in COUNTY_LEVELS])
        city_level_cum = _cum([s for _, s, _ in CITY_LEVELS])

        def place(
            parent: tuple[str, str],
            city: int,
            region: str,
            number: int,
            level: str,
            size: float,
            rural: bool,
            name: str,
        ) -> None:
            weak = rng.random() < WEAK_SHARE
            pilot = rng.random() < PILOT_SHARE.get(level, 0.0)
            code = f"{parent[0]}{number:04d}"
            schools.append(_School(code, parent[0], city, region, level, rural, weak, pilot))
            names.append(name)
            weights.append(size * rng.lognormvariate(0.0, 0.35))

        for c, city in enumerate(cities):
            # City-direct schools (市直属学校) first, then the city's counties.
            counters: dict[str, int] = {}
            for j in range(per_direct[c]):
                level_i = bisect.bisect(city_level_cum, rng.random())
                level, _, size = CITY_LEVELS[level_i]
                counters[level] = counters.get(level, 0) + 1
                region = county_regions[county_city.index(c)]
                name = f"{city[1]}第{_cn_number(counters[level])}{_URBAN_SUFFIX[level]}"
                place(city, c, region, j + 1, level, size, False, name)
            for i in (i for i, cc in enumerate(county_city) if cc == c):
                county = counties[i]
                counters = {}
                towns = 0
                rural_share = RURAL_SHARE_DISTRICT if county_is_district[i] else RURAL_SHARE_COUNTY
                for j in range(per_county[i]):
                    level_i = bisect.bisect(county_level_cum, rng.random())
                    level, _, size = COUNTY_LEVELS[level_i]
                    rural = rng.random() < rural_share * RURAL_FACTOR.get(level, 0.3)
                    if i == 0 and j == 0:
                        level, size, rural = "junior", COUNTY_LEVELS[2][2], False
                    if rural:
                        town = _pair_name(TOWN_CHARS, towns)
                        towns += 1
                        name = f"{county[1]}{town}镇{_RURAL_SUFFIX[level]}"
                    else:
                        counters[level] = counters.get(level, 0) + 1
                        name = f"{county[1]}第{_cn_number(counters[level])}{_URBAN_SUFFIX[level]}"
                    place(county, c, county_regions[i], j + 1, level, size, rural, name)

        # The demo school: first school of the first county of the first city, a plain
        # urban junior school so the demo teacher's case walks the ordinary path.
        demo_index = next(k for k, s in enumerate(schools) if s.parent == counties[0][0])
        demo = schools[demo_index]
        demo.weak = demo.pilot = False
        if not any(s.rural for s in schools):
            last = max(k for k in range(len(schools)) if k != demo_index)
            schools[last].rural = True
        if not any(s.pilot for s in schools):
            eligible = [
                k
                for k, s in enumerate(schools)
                if s.level in ("senior", "junior") and k != demo_index
            ]
            if eligible:
                schools[max(eligible, key=lambda k: weights[k])].pilot = True

        for school, name in zip(schools, names, strict=True):
            units.append(
                {
                    "code": school.code,
                    "name": name,
                    "tier": "school",
                    "parent_code": school.parent,
                    "is_rural": school.rural,
                    "is_weak": school.weak,
                    "self_review_pilot": school.pilot,
                }
            )
        self.size_schools(schools, weights)
        # the demo school has a teacher for each demo role, however small the province
        while demo.size < len(DEMO_TEACHERS):
            donor = max((s for s in schools if s is not demo), key=lambda s: s.size)
            donor.size -= 1
            demo.size += 1
        return _Org(
            units=units,
            city_codes=[c[0] for c in cities],
            county_codes=[c[0] for c in counties],
            county_regions=county_regions,
            schools=schools,
            demo_school=demo,
        )

    def size_schools(self, schools: list[_School], weights: list[float]) -> None:
        """Share the teachers out by weight, every school at least one, exactly n in all."""
        remaining = self.n_teachers - len(schools)
        total = sum(weights)
        shares = [remaining * w / total for w in weights]
        for school, share in zip(schools, shares, strict=True):
            school.size = 1 + int(share)
        left = self.n_teachers - sum(s.size for s in schools)
        by_fraction = sorted(range(len(schools)), key=lambda k: int(shares[k]) - shares[k])
        for k in by_fraction[:left]:
            schools[k].size += 1

    def teachers(self, org: _Org) -> Iterator[dict[str, Any]]:
        """Every teacher as a roster row (``roster_sheet``'s column names, stored codes and
        dates), generated as the file is written.

        On the way it notes the expert candidates per (city, subject) as (ID number, school
        code, name), teacher counts per (city, subject), the ethics records, and the demo
        school's first teachers."""
        rng = self.rng
        rnd = rng.random
        bis = bisect.bisect
        dates = self.dates
        day0 = self.day0
        as_of = self.as_of.toordinal()
        titles = TITLES
        title_cum = _cum(TITLE_SHARE)
        education = EDUCATION[:4]
        edu_cum = {lvl: _cum(s) for lvl, s in EDUCATION_SHARE.items()}
        subjects = {lvl: [s for s, _ in pairs] for lvl, pairs in SUBJECT_SHARE.items()}
        subject_cum = {lvl: _cum([w for _, w in pairs]) for lvl, pairs in SUBJECT_SHARE.items()}
        min_days = {t: int(y * DAYS_PER_YEAR) for t, y in MIN_YEARS.items()}
        backbone_cum = {t: list(accumulate(s)) for t, s in BACKBONE_SHARE.items()}
        name = self.name
        id_number = self.id_number
        phone = self.phone
        candidates = self.candidates
        counts = self.counts
        veteran_school = next(
            (s for s in org.schools if s.rural and s is not org.demo_school), None
        )

        for school in org.schools:
            lvl = school.level
            code = school.code
            region = school.region
            region4 = region[:4]
            cert_digit = CERT_DIGIT[lvl]
            s_pop, s_cum = subjects[lvl], subject_cum[lvl]
            e_cum = edu_cum[lvl]
            p_female = FEMALE_SHARE[lvl]
            for k in range(school.size):
                self.serial += 1
                serial = self.serial
                female = rnd() < p_female
                title = titles[bis(title_cum, rnd())]
                edu = education[bis(e_cum, rnd())]
                if title == "grade3" and edu == "master":
                    title = "grade2"  # a master's degree starts at grade2
                subject = s_pop[bis(s_cum, rnd())]
                start_age = START_AGE[edu] + rnd() * 2.0
                lo = max(22.0, start_age + MIN_YEARS[title] + 0.3)
                hi = MAX_AGE[title]
                age = lo + (hi - lo) * (rnd() + rnd()) * 0.5
                birth = as_of - int(age * DAYS_PER_YEAR)
                start = birth + int(start_age * DAYS_PER_YEAR)
                career = as_of - start
                need = min_days[title]
                title_on = start + need + int((career - need) * rnd())
                joined = start if rnd() < 0.45 else start + int(career * rnd())
                if school.rural:
                    rural = (as_of - joined + (joined - start) * rnd()) / DAYS_PER_YEAR
                    if rural >= 30.0 and rnd() >= RURAL_30_KEEP:
                        rural = (as_of - joined) / DAYS_PER_YEAR
                        rural = rural if rural < 30.0 else 29.0
                elif rnd() < 0.18:
                    rural = min(career / DAYS_PER_YEAR, 1.0 + rnd() * 2.0)  # support teaching
                else:
                    rural = 0.0
                backbone = None
                if title in backbone_cum:
                    b = bis(backbone_cum[title], rnd())
                    if b < 4:
                        backbone = BACKBONE_CODES[b]
                demo = DEMO_TEACHERS.get(k) if school is org.demo_school else None
                username, aim = demo if demo is not None else (None, None)
                if username == "teacher":
                    # The demo teacher: eligible for 高级 on every rule the review checks.
                    female, subject = False, DEMO_SUBJECT
                    title, edu = "grade1", "bachelor"
                    birth = as_of - int(38.3 * DAYS_PER_YEAR)
                    start = birth + int(22.5 * DAYS_PER_YEAR)
                    title_on = as_of - int(8.2 * DAYS_PER_YEAR)
                    joined = start + int(4 * DAYS_PER_YEAR)
                    rural, backbone = 2.0, "county"
                elif aim == "senior":
                    # The same road for the teachers the command-line walk declares for.
                    title, edu, subject = "grade1", "bachelor", DEMO_SUBJECT
                    birth = as_of - int(41.7 * DAYS_PER_YEAR)
                    start = birth + int(22.4 * DAYS_PER_YEAR)
                    title_on = as_of - int(9.4 * DAYS_PER_YEAR)
                    joined = start + int(2 * DAYS_PER_YEAR)
                    rural, backbone = 1.5, None
                elif aim == "grade1":
                    # 二级 for six years: eligible for 一级 (a county committee).
                    female, subject = True, DEMO_SUBJECT
                    title, edu = "grade2", "bachelor"
                    birth = as_of - int(31.4 * DAYS_PER_YEAR)
                    start = joined = birth + int(22.6 * DAYS_PER_YEAR)
                    title_on = as_of - int(6.1 * DAYS_PER_YEAR)
                    rural, backbone = 0.0, None
                elif aim == "full_senior":
                    # 高级 for seven years, with rural service: eligible for 正高级.
                    female, subject = False, DEMO_SUBJECT
                    title, edu = "senior", "master"
                    birth = as_of - int(47.2 * DAYS_PER_YEAR)
                    start = joined = birth + int(25.1 * DAYS_PER_YEAR)
                    title_on = as_of - int(7.3 * DAYS_PER_YEAR)
                    rural, backbone = 3.0, "city"
                elif school is veteran_school and k == 0:
                    # At least one teacher the 30-rural-year quota exception applies to.
                    title, edu = "grade1", "associate"
                    birth = as_of - int(56.5 * DAYS_PER_YEAR)
                    start = joined = birth + int(21.2 * DAYS_PER_YEAR)
                    title_on = start + int(12 * DAYS_PER_YEAR)
                    rural = (as_of - start) / DAYS_PER_YEAR
                if rnd() >= 0.005:
                    start_year = dates[start - day0].year
                    cert_no = f"{start_year}{region4}{cert_digit}{2 if female else 1}{serial:07d}"
                    registered = max(start, as_of - int(rnd() * 5.3 * DAYS_PER_YEAR))
                    cert: tuple[Any, ...] = (lvl, cert_no, dates[registered - day0])
                else:
                    cert = (None, None, None)
                ethics: tuple[tuple[date, str], ...] = ()
                flagged = username != "teacher" and rnd() < ETHICS_SHARE  # the same draws
                if flagged and demo is None:  # demo teachers have a clean record
                    occurred = as_of - int(rnd() * 3 * DAYS_PER_YEAR)
                    kind = ETHICS_KINDS[int(rnd() * len(ETHICS_KINDS))]
                    ethics = ((dates[occurred - day0], kind),)
                person = name(female)
                number = id_number(region, birth, female)
                mobile = phone()
                if ethics:
                    self.ethics += 1
                elif title in EXPERT_TITLES and demo is None:
                    candidates.setdefault((school.city, subject), []).append((number, code, person))
                if demo is not None:
                    self.demo_people[k] = (number, code, person)
                key = (school.city, subject)
                counts[key] = counts.get(key, 0) + 1
                yield {
                    "id_number": number,
                    "name": person,
                    "gender": "F" if female else "M",
                    "birth_date": dates[birth - day0],
                    "school_code": code,
                    "subject": subject,
                    "school_level": lvl,
                    "title": title,
                    "title_date": dates[title_on - day0],
                    "education": edu,
                    "started_teaching_on": dates[start - day0],
                    "joined_school_on": dates[joined - day0],
                    "rural_years": round(rural, 1),
                    "backbone_level": backbone,
                    "cert_level": cert[0],
                    "cert_no": cert[1],
                    "cert_registered_on": cert[2],
                    "phone": mobile,
                    "ethics": ethics,
                }

    def plan_experts(self, org: _Org) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Member]:
        """Expert pools per subject at every county, every city, the province, and every
        self-review pilot school: the tiers that organise a committee (一级/二级 at the
        county, 高级 at the city, 正高级 at the province, a pilot school its own).

        Experts are senior teachers, so that recusal by school has something to act on;
        where a small province has too few, outside experts (教研员 and university staff,
        people with no teacher record) fill the pool to the minimum: they are registered
        through the accounts sheet, with the pool's role. Returns the expert-pool rows, the
        outside experts' accounts rows, and the member behind the demo expert account.
        """
        rng = self.rng
        candidates, counts = self.candidates, self.counts
        rows: list[dict[str, Any]] = []
        outsiders: list[dict[str, Any]] = []
        chosen: set[str] = set()
        demo_expert: Member | None = None
        demo_school = org.demo_school.code

        def pool(
            pick: list[Member], need: int, unit: str, subject: str, region: str
        ) -> list[Member]:
            members = rng.sample(pick, min(need, len(pick)))
            while len(members) < need:
                person = self.person(region, rng.random() < 0.5, rng.uniform(40.0, 58.0))
                username = OUTSIDE_USERNAME.format(len(outsiders) + 1)
                outsiders.append(
                    {**person, "username": username, "roles": ROLE_LABELS[REVIEW_EXPERT],
                     "unit_code": unit, "subject": subject}
                )  # fmt: skip
                members.append((person["id_number"], "", person["name"]))
            for member in members:
                chosen.add(member[0])
                rows.append({"id_number": member[0], "code": unit, "subject": subject})
            return members

        for c, city in enumerate(org.city_codes):
            region = f"{PROVINCE_REGION}{c + 1:02d}01"  # the city's first county
            for subject in SUBJECTS:
                in_city = counts.get((c, subject), 0)
                need = max(
                    MIN_EXPERTS, min(MAX_CITY_EXPERTS, round(in_city / EXPERTS_PER_TEACHERS))
                )
                members = pool(candidates.get((c, subject), []), need, city, subject, region)
                if c == 0 and subject == DEMO_SUBJECT:
                    # The demo expert sits on the demo teacher's panel, so not from their school.
                    others = [m for m in members if m[1] != demo_school]
                    demo_expert = others[0] if others else pool([], 1, city, subject, region)[0]
        # County pools: the county's own senior teachers, topped up with outside experts.
        # A county committee recuses the applicant's school, so the minimum holds there too.
        parent = {s.code: s.parent for s in org.schools}
        by_county: dict[tuple[str, str], list[Member]] = {}
        for (_, subject), members in candidates.items():
            for m in members:
                by_county.setdefault((parent[m[1]], subject), []).append(m)
        for county, region in zip(org.county_codes, org.county_regions, strict=True):
            for subject in SUBJECTS:
                pick = [m for m in by_county.get((county, subject), []) if m[0] not in chosen]
                pool(pick, MIN_EXPERTS, county, subject, region)
        # A pilot school reviews its own teachers (no recusal by school there): a panel's
        # worth per subject, its own senior teachers first.
        for pilot in org.schools:
            if not pilot.pilot:
                continue
            for subject in SUBJECTS:
                own = [
                    m
                    for m in candidates.get((pilot.city, subject), [])
                    if m[1] == pilot.code and m[0] not in chosen
                ]
                pool(own, PILOT_EXPERTS, pilot.code, subject, pilot.region)
        for subject in SUBJECTS:
            total = sum(counts.get((c, subject), 0) for c in range(len(org.city_codes)))
            need = max(MIN_EXPERTS, min(MAX_PROVINCE_EXPERTS, round(total / EXPERTS_PER_TEACHERS)))
            rest = [
                m
                for c in range(len(org.city_codes))
                for m in candidates.get((c, subject), [])
                if m[0] not in chosen
            ]
            pool(rest, need, PROVINCE_CODE, subject, org.county_regions[0])
        assert demo_expert is not None
        for row in outsiders:
            if row["id_number"] == demo_expert[0]:
                row["username"] = "expert"  # an outside expert behind the demo account
        return rows, outsiders, demo_expert

    def plan_accounts(
        self, org: _Org, demo_expert: Member
    ) -> tuple[dict[str, str], dict[str, str], list[dict[str, Any]]]:
        """The printed demo accounts as accounts-sheet rows: new staff at the province, the
        demo city, county and school; the demo school's teachers (角色 教师: the account of
        a teacher on the roster); the demo expert, a member of the demo city's pool. Returns
        username -> role label, username -> unit name, and the rows."""
        school = org.demo_school
        names = {u["code"]: u["name"] for u in org.units}
        at = {
            PROVINCE_OFFICER: PROVINCE_CODE,
            CITY_OFFICER: org.city_codes[0],
            COUNTY_OFFICER: school.parent,
            SCHOOL_OFFICER: school.code,
            PRINCIPAL: school.code,
            TEACHER: school.code,
            REVIEW_EXPERT: org.city_codes[0],
            INSPECTOR: PROVINCE_CODE,
            LEADER: PROVINCE_CODE,
        }
        teachers = {name: k for k, (name, _) in DEMO_TEACHERS.items() if name is not None}
        accounts: dict[str, str] = {}
        units: dict[str, str] = {}
        rows: list[dict[str, Any]] = []
        for username, role in DEMO_ROLES:
            accounts[username] = ROLE_LABELS[role]
            units[username] = names[at[role]]
            row: dict[str, Any] = {
                "username": username,
                "roles": ROLE_LABELS[role],
                "unit_code": at[role],
            }
            if role == TEACHER:
                number, _, name = self.demo_people[teachers[username]]
                row.update(id_number=number, name=name)
            elif role == REVIEW_EXPERT:
                number, home, name = demo_expert
                if not home:
                    continue  # an outside expert: their row (with this username) is written
                row.update(id_number=number, name=name, subject=DEMO_SUBJECT)
            else:
                row.update(
                    self.person(school.region, self.rng.random() < 0.5, self.rng.uniform(30, 55))
                )
            rows.append(row)
        return accounts, units, rows

    def plan_quotas(self, org: _Org) -> list[dict[str, Any]]:
        """Free posts per title above grade3: a few, more in bigger schools."""
        rnd = self.rng.random
        rows: list[dict[str, Any]] = []
        for school in org.schools:
            size = school.size
            cap = 3 + size // 80
            for title in TITLES[1:]:
                if title == "full_senior":
                    posts = 1 if size >= 60 and rnd() < 0.25 else 0
                else:
                    posts = min(cap, int(rnd() * (2 + size / 30)))
                if school is org.demo_school:
                    # room for each demo declaration; 正高级 at its last free post
                    floor = DEMO_SENIOR_POSTS if title == "senior" else 2
                    posts = 1 if title == "full_senior" else max(posts, floor)
                rows.append(
                    {"code": school.code, "year": self.year, "title": title, "posts": posts}
                )
        return rows


_URBAN_SUFFIX = {
    "kindergarten": "幼儿园",
    "primary": "小学",
    "junior": "中学",
    "senior": "高级中学",
    "vocational": "职业中学",
}
_RURAL_SUFFIX = {
    "kindergarten": "中心幼儿园",
    "primary": "中心小学",
    "junior": "初级中学",
    "senior": "高级中学",
    "vocational": "职业中学",
}
