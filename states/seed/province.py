"""A synthetic province for demos, manual testing and benchmarks.

Processes only show their problems at a province's real shape and size: deep org trees,
twenty thousand schools, a tail of teachers with thirty rural years, thin expert pools in
small subjects. So the seed builds that shape at full scale (600,000 teachers in well under a
minute) rather than a handful of hand-written rows.

Speed comes from three choices: rows are generated as plain tuples from one
``random.Random`` (deterministic for a seed), primary keys are assigned here so no row has to
be read back, and rows reach the database in bulk through the driver itself (``executemany``
on SQLite, ``COPY`` on PostgreSQL), all in one transaction so a failed seed leaves the
database as empty as it found it.

Synthetic ID numbers use region prefix 66, which no province has been assigned, so no seeded
number can belong to a real person.
"""

from __future__ import annotations

import bisect
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import accumulate
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import Engine, Row, select
from sqlalchemy.engine import Connection

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
    unit_path,
)
from states.store.models import Person, Teacher

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
# each demo teacher account can declare (the demo prints it beside the account). The fourth,
# with no account, is the one the demo's command-line round walks, so that every printed
# teacher account still has its own declaration to make.
DEMO_TEACHERS: dict[int, tuple[str | None, str]] = {
    0: ("teacher", "senior"),
    1: ("teacher_grade1", "grade1"),
    2: ("teacher_full", "full_senior"),
    3: (None, "senior"),
}
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


@dataclass(frozen=True)
class SeedSummary:
    """What a seed built, for the CLI to print and tests to check."""

    cities: int
    counties: int
    schools: int
    units: int
    teachers: int
    experts: int  # review_expert role bindings (a person may sit at city and province)
    ethics: int
    quotas: int
    elapsed_seconds: float
    accounts: dict[str, str]  # username -> role label
    account_units: dict[str, str]  # username -> the unit the account acts at
    demo_password: str = field(repr=False)


class SeedError(RuntimeError):
    """The seed refused to run; the message is for the operator."""


@dataclass
class _School:
    id: int
    city: int  # index into the cities
    region: str  # 6-digit region code for the ID numbers of its teachers
    level: str
    rural: bool
    weak: bool
    pilot: bool
    size: int = 1


@dataclass
class _Org:
    units: list[tuple[Any, ...]]
    city_ids: list[int]
    county_ids: list[int]
    county_regions: list[str]
    schools: list[_School]
    demo_school: _School


def seed(
    engine: Engine,
    teachers: int,
    *,
    rng_seed: int = 20260901,
    demo_password: str = "renshi2026",
    year: int = 2026,
    as_of: date | None = None,
) -> SeedSummary:
    """Build a synthetic province with ``teachers`` teachers into an empty, migrated database.

    ``as_of`` is the day the records describe (default 31 August of ``year``, the end of the
    school year personnel statistics are taken at); it is a parameter rather than today so
    that a seed is the same data whenever it runs.
    """
    started = time.perf_counter()
    if not MIN_TEACHERS <= teachers <= MAX_TEACHERS:
        raise SeedError(f"教师人数应在 {MIN_TEACHERS} 到 {MAX_TEACHERS} 之间：{teachers}")
    as_of = as_of or date(year, 8, 31)
    password_hash = PasswordHasher().hash(demo_password)
    with engine.begin() as conn:
        _require_empty(conn)
        builder = _Builder(conn, teachers, random.Random(rng_seed), as_of, year, password_hash)
        summary = builder.run()
    return SeedSummary(
        **summary,
        elapsed_seconds=round(time.perf_counter() - started, 2),
        demo_password=demo_password,
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


class _Sink:
    """Bulk rows straight to the driver: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self, conn: Connection) -> None:
        self.dbapi: Any = conn.connection.driver_connection
        self.postgres = conn.dialect.name == "postgresql"

    def put(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        cols = ", ".join(columns)
        if self.postgres:
            with (
                self.dbapi.cursor() as cur,
                cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(columns))
            cur = self.dbapi.cursor()
            try:
                cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)
            finally:
                cur.close()

    def execute(self, sql: str, params: tuple[Any, ...]) -> None:
        if self.postgres:
            sql = sql.replace("?", "%s")
        cur = self.dbapi.cursor()
        try:
            cur.execute(sql, params)
        finally:
            cur.close()

    def fix_sequences(self, tables: Sequence[str]) -> None:
        """Move PostgreSQL's id sequences past the ids assigned here, so that the next
        ordinary insert does not collide with a seeded row."""
        if not self.postgres:
            return  # SQLite's rowid continues from max(id) by itself
        for table in tables:
            self.dbapi.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE(MAX(id), 0) + 1, false) FROM {table}"
            )


PEOPLE_COLUMNS = (
    "id",
    "name",
    "id_number",
    "username",
    "password_hash",
    "phone",
    "email",
    "active",
)
TEACHER_COLUMNS = (
    "person_id",
    "school_id",
    "gender",
    "birth_date",
    "subject",
    "school_level",
    "title",
    "title_date",
    "education",
    "started_teaching_on",
    "joined_school_on",
    "rural_years",
    "backbone_level",
    "cert_level",
    "cert_no",
    "cert_registered_on",
)
UNIT_COLUMNS = (
    "id",
    "parent_id",
    "tier",
    "code",
    "name",
    "path",
    "is_rural",
    "is_weak",
    "self_review_pilot",
    "settings",
)
BINDING_COLUMNS = ("id", "person_id", "role", "org_unit_id", "subject")
ETHICS_COLUMNS = ("id", "person_id", "occurred_on", "description")
QUOTA_COLUMNS = ("id", "org_unit_id", "year", "title", "posts")
DAYS_PER_YEAR = 365.2425


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


class _Builder:
    """One seed run: the random stream, the id counters and the rows on their way out."""

    def __init__(
        self,
        conn: Connection,
        teachers: int,
        rng: random.Random,
        as_of: date,
        year: int,
        password_hash: str,
    ) -> None:
        self.sink = _Sink(conn)
        self.n_teachers = teachers
        self.rng = rng
        self.as_of = as_of
        self.year = year
        self.password_hash = password_hash
        self.person_id = 0
        self.seen_ids: set[str] = set()
        self.surnames = [s for s, _ in SURNAMES]
        self.surname_cum = _cum([w for _, w in SURNAMES])
        # Dates as ordinals in the hot loop; these turn them into what the drivers take.
        self.day0 = date(as_of.year - 80, 1, 1).toordinal()
        span = as_of.toordinal() - self.day0 + 1
        self.dates = [date.fromordinal(self.day0 + i) for i in range(span)]
        self.iso = [d.isoformat() for d in self.dates]

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

    def person(
        self, region: str, female: bool, age_years: float, username: str | None = None
    ) -> tuple[Any, ...]:
        """A person who is not a teacher: staff behind a demo account, or an outside expert."""
        self.person_id += 1
        birth = self.as_of.toordinal() - int(age_years * DAYS_PER_YEAR)
        return (
            self.person_id,
            self.name(female),
            self.id_number(region, birth, female),
            username,
            self.password_hash if username else None,
            self.phone(),
            None,
            True,
        )

    # -- the run -----------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        org = self.plan_org()
        self.sink.put("org_units", UNIT_COLUMNS, org.units)
        candidates, subject_counts, ethics, demo_teacher = self.write_teachers(org)
        self.sink.put("ethics_records", ETHICS_COLUMNS, ethics)
        bindings, experts_people, demo_expert, expert_count = self.plan_experts(
            org, candidates, subject_counts, demo_teacher
        )
        accounts, account_units, staff, staff_bindings = self.plan_accounts(org)
        self.sink.put("people", PEOPLE_COLUMNS, experts_people + staff)
        binding_rows = [(i, *b) for i, b in enumerate(bindings + staff_bindings, start=1)]
        self.sink.put("role_bindings", BINDING_COLUMNS, binding_rows)
        self.sink.execute(
            "UPDATE people SET username = ?, password_hash = ? WHERE id = ?",
            ("expert", self.password_hash, demo_expert),
        )
        quotas = self.plan_quotas(org)
        self.sink.put("quotas", QUOTA_COLUMNS, quotas)
        self.sink.fix_sequences(
            ("org_units", "people", "role_bindings", "ethics_records", "quotas")
        )
        return {
            "cities": len(org.city_ids),
            "counties": len(org.county_ids),
            "schools": len(org.schools),
            "units": len(org.units),
            "teachers": self.n_teachers,
            "experts": expert_count,
            "ethics": len(ethics),
            "quotas": len(quotas),
            "accounts": accounts,
            "account_units": account_units,
        }

    def plan_org(self) -> _Org:
        """Province, cities, counties and schools, with each school's teacher count."""
        rng = self.rng
        n = self.n_teachers
        n_cities = max(2, round(n / TEACHERS_PER_CITY))
        n_counties = max(2 * n_cities, round(n / TEACHERS_PER_COUNTY))
        n_schools = max(n_counties + n_cities, round(n / TEACHERS_PER_SCHOOL))

        units: list[tuple[Any, ...]] = []
        next_id = 1

        def add(
            parent: tuple[Any, ...] | None, tier: str, code: str, name: str, *flags: bool
        ) -> tuple[Any, ...]:
            nonlocal next_id
            path = unit_path(parent[5] if parent else None, next_id)
            rural, weak, pilot = flags or (False, False, False)
            row = (
                next_id,
                parent[0] if parent else None,
                tier,
                code,
                name,
                path,
                rural,
                weak,
                pilot,
                None,
            )
            units.append(row)
            next_id += 1
            return row

        province = add(None, "province", PROVINCE_CODE, PROVINCE_NAME)
        cities = [
            add(province, "city", f"{PROVINCE_CODE}{c + 1:02d}", _pair_name(CITY_CHARS, c) + "市")
            for c in range(n_cities)
        ]
        # Counties round-robin over cities so every city has at least two.
        county_city = [i % n_cities for i in range(n_counties)]
        county_city.sort()
        counties: list[tuple[Any, ...]] = []
        county_is_district: list[bool] = []
        county_regions: list[str] = []
        per_city: dict[int, int] = {}
        for i, c in enumerate(county_city):
            k = per_city.get(c, 0) + 1
            per_city[c] = k
            in_city = county_city.count(c)
            district = k <= max(1, round(in_city * 0.25))
            name = _pair_name(COUNTY_CHARS, i) + ("区" if district else "县")
            counties.append(add(cities[c], "county", f"{cities[c][3]}{k:02d}", name))
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
        school_rows: list[tuple[Any, ...]] = []
        weights: list[float] = []
        county_level_cum = _cum([s for _, s, _ in COUNTY_LEVELS])
        city_level_cum = _cum([s for _, s, _ in CITY_LEVELS])

        def place(
            parent: tuple[Any, ...],
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
            school = _School(0, city, region, level, rural, weak, pilot)
            schools.append(school)
            school_rows.append((parent, f"{parent[3]}{number:04d}", name))
            weights.append(size * rng.lognormvariate(0.0, 0.35))

        for c, city in enumerate(cities):
            # City-direct schools (市直属学校) first, then the city's counties.
            counters: dict[str, int] = {}
            for j in range(per_direct[c]):
                level_i = bisect.bisect(city_level_cum, rng.random())
                level, _, size = CITY_LEVELS[level_i]
                counters[level] = counters.get(level, 0) + 1
                region = county_regions[county_city.index(c)]
                name = f"{city[4]}第{_cn_number(counters[level])}{_URBAN_SUFFIX[level]}"
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
                        name = f"{county[4]}{town}镇{_RURAL_SUFFIX[level]}"
                    else:
                        counters[level] = counters.get(level, 0) + 1
                        name = f"{county[4]}第{_cn_number(counters[level])}{_URBAN_SUFFIX[level]}"
                    place(county, c, county_regions[i], j + 1, level, size, rural, name)

        # The demo school: first school of the first county of the first city, a plain
        # urban junior school so the demo teacher's case walks the ordinary path.
        first_county_row = counties[0]
        demo_index = next(k for k, r in enumerate(school_rows) if r[0] is first_county_row)
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

        for school, (parent, code, name) in zip(schools, school_rows, strict=True):
            row = add(parent, "school", code, name, school.rural, school.weak, school.pilot)
            school.id = row[0]
        self.size_schools(schools, weights)
        return _Org(
            units=units,
            city_ids=[c[0] for c in cities],
            county_ids=[c[0] for c in counties],
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

    def write_teachers(
        self, org: _Org
    ) -> tuple[
        dict[tuple[int, str], list[tuple[int, int]]],
        dict[tuple[int, str], int],
        list[tuple[Any, ...]],
        tuple[int, str, int],
    ]:
        """Generate and write every teacher, CHUNK at a time.

        Returns the expert candidates per (city, subject) as (person id, school id), teacher
        counts per (city, subject), the ethics rows, and the demo teacher (id, subject,
        school id).
        """
        rng = self.rng
        rnd = rng.random
        bis = bisect.bisect
        iso = self.iso
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
        people: list[tuple[Any, ...]] = []
        rows: list[tuple[Any, ...]] = []
        candidates: dict[tuple[int, str], list[tuple[int, int]]] = {}
        counts: dict[tuple[int, str], int] = {}
        ethics: list[tuple[Any, ...]] = []
        demo_id = 0
        veteran_school = next(
            (s for s in org.schools if s.rural and s is not org.demo_school), None
        )

        for school in org.schools:
            lvl = school.level
            school_id = school.id
            region = school.region
            region4 = region[:4]
            cert_digit = CERT_DIGIT[lvl]
            s_pop, s_cum = subjects[lvl], subject_cum[lvl]
            e_cum = edu_cum[lvl]
            p_female = FEMALE_SHARE[lvl]
            for k in range(school.size):
                self.person_id += 1
                pid = self.person_id
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
                    demo_id, female, subject = pid, False, DEMO_SUBJECT
                    title, edu = "grade1", "bachelor"
                    birth = as_of - int(38.3 * DAYS_PER_YEAR)
                    start = birth + int(22.5 * DAYS_PER_YEAR)
                    title_on = as_of - int(8.2 * DAYS_PER_YEAR)
                    joined = start + int(4 * DAYS_PER_YEAR)
                    rural, backbone = 2.0, "county"
                elif aim == "senior":
                    # The same road for the teacher the command-line round walks.
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
                    cert_no = (
                        f"{iso[start - day0][:4]}{region4}{cert_digit}{2 if female else 1}{pid:07d}"
                    )
                    registered = max(start, as_of - int(rnd() * 5.3 * DAYS_PER_YEAR))
                    cert: tuple[str | None, ...] = (lvl, cert_no, iso[registered - day0])
                else:
                    cert = (None, None, None)
                flagged = pid != demo_id and rnd() < ETHICS_SHARE  # the same draws as ever
                if flagged and demo is None:  # demo teachers have a clean record
                    occurred = as_of - int(rnd() * 3 * DAYS_PER_YEAR)
                    kind = ETHICS_KINDS[int(rnd() * len(ETHICS_KINDS))]
                    ethics.append((len(ethics) + 1, pid, iso[occurred - day0], kind))
                elif title in EXPERT_TITLES and demo is None:
                    candidates.setdefault((school.city, subject), []).append((pid, school_id))
                key = (school.city, subject)
                counts[key] = counts.get(key, 0) + 1
                people.append(
                    (
                        pid,
                        name(female),
                        id_number(region, birth, female),
                        username,
                        self.password_hash if username else None,
                        phone(),
                        None,
                        True,
                    )
                )
                rows.append(
                    (
                        pid,
                        school_id,
                        "F" if female else "M",
                        iso[birth - day0],
                        subject,
                        lvl,
                        title,
                        iso[title_on - day0],
                        edu,
                        iso[start - day0],
                        iso[joined - day0],
                        round(rural, 1),
                        backbone,
                        *cert,
                    )
                )
                if len(rows) >= CHUNK:
                    self.sink.put("people", PEOPLE_COLUMNS, people)
                    self.sink.put("teachers", TEACHER_COLUMNS, rows)
                    people, rows = [], []
        self.sink.put("people", PEOPLE_COLUMNS, people)
        self.sink.put("teachers", TEACHER_COLUMNS, rows)
        return candidates, counts, ethics, (demo_id, DEMO_SUBJECT, org.demo_school.id)

    def plan_experts(
        self,
        org: _Org,
        candidates: dict[tuple[int, str], list[tuple[int, int]]],
        counts: dict[tuple[int, str], int],
        demo_teacher: tuple[int, str, int],
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], int, int]:
        """Expert pools per subject at every county, every city, the province, and every
        self-review pilot school: the tiers that organise a committee (一级/二级 at the
        county, 高级 at the city, 正高级 at the province, a pilot school its own).

        Experts are senior teachers bound as review_expert, so that recusal by school has
        something to act on; where a small seed has too few, outside experts (教研员 and
        university staff, people with no teacher record) fill the pool to the minimum.
        Returns role-binding rows without ids, the outside experts' people rows, the person
        behind the demo expert account, and the number of bindings.
        """
        rng = self.rng
        bindings: list[tuple[Any, ...]] = []
        outsiders: list[tuple[Any, ...]] = []
        chosen: set[int] = set()
        demo_expert = 0
        _, demo_subject, demo_school = demo_teacher

        def pool(
            pick: list[tuple[int, int]], need: int, unit: int, subject: str, region: str
        ) -> list[tuple[int, int]]:
            members = rng.sample(pick, min(need, len(pick)))
            while len(members) < need:
                row = self.person(region, rng.random() < 0.5, rng.uniform(40.0, 58.0))
                outsiders.append(row)
                members.append((row[0], 0))
            for pid, _ in members:
                chosen.add(pid)
                bindings.append((pid, REVIEW_EXPERT, unit, subject))
            return members

        for c, city_id in enumerate(org.city_ids):
            region = f"{PROVINCE_REGION}{c + 1:02d}01"  # the city's first county
            for subject in SUBJECTS:
                in_city = counts.get((c, subject), 0)
                need = max(
                    MIN_EXPERTS, min(MAX_CITY_EXPERTS, round(in_city / EXPERTS_PER_TEACHERS))
                )
                members = pool(candidates.get((c, subject), []), need, city_id, subject, region)
                if c == 0 and subject == demo_subject:
                    # The demo expert sits on the demo teacher's panel, so not from their school.
                    others = [pid for pid, school in members if school != demo_school]
                    demo_expert = (
                        others[0] if others else pool([], 1, city_id, subject, region)[0][0]
                    )
        # County pools: the county's own senior teachers, topped up with outside experts.
        # A county committee recuses the applicant's school, so the minimum holds there too.
        county_of = {row[0]: row[1] for row in org.units}
        by_county: dict[tuple[int, str], list[tuple[int, int]]] = {}
        for (_, subject), members in candidates.items():
            for pid, school in members:
                by_county.setdefault((county_of[school], subject), []).append((pid, school))
        for county_id, region in zip(org.county_ids, org.county_regions, strict=True):
            for subject in SUBJECTS:
                pick = [m for m in by_county.get((county_id, subject), []) if m[0] not in chosen]
                pool(pick, MIN_EXPERTS, county_id, subject, region)
        # A pilot school reviews its own teachers (no recusal by school there): a panel's
        # worth per subject, its own senior teachers first.
        for pilot in org.schools:
            if not pilot.pilot:
                continue
            for subject in SUBJECTS:
                own = [
                    m
                    for m in candidates.get((pilot.city, subject), [])
                    if m[1] == pilot.id and m[0] not in chosen
                ]
                pool(own, PILOT_EXPERTS, pilot.id, subject, pilot.region)
        province_id = org.units[0][0]
        for subject in SUBJECTS:
            total = sum(counts.get((c, subject), 0) for c in range(len(org.city_ids)))
            need = max(MIN_EXPERTS, min(MAX_PROVINCE_EXPERTS, round(total / EXPERTS_PER_TEACHERS)))
            rest = [
                m
                for c in range(len(org.city_ids))
                for m in candidates.get((c, subject), [])
                if m[0] not in chosen
            ]
            pool(rest, need, province_id, subject, org.county_regions[0])
        return bindings, outsiders, demo_expert, len(bindings)

    def plan_accounts(
        self, org: _Org
    ) -> tuple[dict[str, str], dict[str, str], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """Staff behind the demo accounts; the teacher and expert accounts are seeded people."""
        by_id = {row[0]: row for row in org.units}
        province_id = org.units[0][0]
        school = org.demo_school
        county_id = by_id[school.id][1]
        at = {
            PROVINCE_OFFICER: province_id,
            CITY_OFFICER: org.city_ids[0],
            COUNTY_OFFICER: county_id,
            SCHOOL_OFFICER: school.id,
            PRINCIPAL: school.id,
            TEACHER: school.id,
            REVIEW_EXPERT: org.city_ids[0],
            INSPECTOR: province_id,
            LEADER: province_id,
        }
        accounts: dict[str, str] = {}
        units: dict[str, str] = {}
        staff: list[tuple[Any, ...]] = []
        staff_bindings: list[tuple[Any, ...]] = []
        for username, role in DEMO_ROLES:
            accounts[username] = ROLE_LABELS[role]
            units[username] = by_id[at[role]][4]
            if role in (TEACHER, REVIEW_EXPERT):
                continue
            row = self.person(
                school.region, self.rng.random() < 0.5, self.rng.uniform(30, 55), username
            )
            staff.append(row)
            staff_bindings.append((row[0], role, at[role], None))
        return accounts, units, staff, staff_bindings

    def plan_quotas(self, org: _Org) -> list[tuple[Any, ...]]:
        """Free posts per title above grade3: a few, more in bigger schools."""
        rnd = self.rng.random
        rows: list[tuple[Any, ...]] = []
        for school in org.schools:
            size = school.size
            cap = 3 + size // 80
            for title in TITLES[1:]:
                if title == "full_senior":
                    posts = 1 if size >= 60 and rnd() < 0.25 else 0
                else:
                    posts = min(cap, int(rnd() * (2 + size / 30)))
                if school is org.demo_school:
                    # room for each demo teacher's declaration; 正高级 at its last free post
                    posts = 1 if title == "full_senior" else max(posts, 2)
                rows.append((len(rows) + 1, school.id, self.year, title, posts))
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
