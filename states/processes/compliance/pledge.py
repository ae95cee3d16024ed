"""The yearly ethics pledge (师德承诺书): issued to every teacher in service at the start of
the school year, read and signed by the teacher on the pledge page.

A pledge belongs to a school year (``year``: the year it starts on 1 September), as schools
have teachers sign at the start of each school year. Issuing is set-based and idempotent —
one INSERT … SELECT of the teachers in service without this year's pledge, the database's
unique key against a second — and runs before every pledge check (``prepare``), so a
teacher who joins in October has theirs the next morning. ``renshi compliance pledge
issue`` and the API issue at once.

Signing records the SHA-256 of the text exactly as the page showed it: the page sends the
digest of what it drew, and a text that changed in between (a new school, a new name) is
refused and shown again, so the record says what the teacher actually read. The signature
goes into the teacher record's sealed history too, beside every other change to the record,
and closes the teacher's open finding at once.

The clauses of a school year's pledge are the province's to set (``pledge_texts``: the
table ``PledgeText``, set on the page while nobody has signed); a year without its own uses
``PLEDGES``. Signing and setting the text of the same year never overlap: a signature takes
the year's lock shared, setting takes it alone (PostgreSQL's advisory lock; SQLite's
writers queue anyway), so a signed digest is always of the text the year still has.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, and_, exists, func, literal, or_, select, text, update

from states.clock import BUREAU_TZ, local_date
from states.errors import Conflict, FormError, NotFound, PermissionDenied
from states.org import Actor
from states.processes.compliance.tables import ComplianceFinding, EthicsPledge, PledgeText
from states.registry import history
from states.store.models import OrgUnit, Person, Teacher, table_of

pledges_t, findings_t = table_of(EthicsPledge), table_of(ComplianceFinding)
texts_t = table_of(PledgeText)
teachers_t, people_t, units_t = table_of(Teacher), table_of(Person), table_of(OrgUnit)

PLEDGE_RULE: Final = "ethics_pledge"
IN_SERVICE: Final = "active"
# Days a teacher has to sign after the pledge is issued, before the check lists them.
SIGN_DAYS: Final = 30
SIGNED_HOW: Final = "已整改（本人已签署承诺书）"
# The history's field for the pledge (states/registry/roster.py FIELD_LABELS names it).
HISTORY_FIELD: Final = "ethics_pledge"

# After 《新时代中小学教师职业行为十项准则》: one line each, in the teacher's own voice.
PLEDGES: Final = (
    "坚定政治方向，坚持以习近平新时代中国特色社会主义思想为指导，不在教育教学活动中发表"
    "损害党中央权威、违背党的路线方针政策的言行。",
    "自觉爱国守法，忠于祖国，忠于人民，恪守宪法原则，遵守法律法规，依法履行教师职责。",
    "传播优秀文化，带头践行社会主义核心价值观，弘扬真善美，传递正能量。",
    "潜心教书育人，落实立德树人根本任务，遵循教育规律和学生成长规律，因材施教，"
    "不违反教学纪律，不敷衍教学。",
    "关心爱护学生，严慈相济，诲人不倦，平等对待每一名学生，不歧视、侮辱学生，"
    "严禁体罚和变相体罚学生，严禁任何形式的猥亵、性骚扰行为。",
    "加强安全防范，增强安全意识，保护学生安全，防范事故风险，不在教育教学活动中遇突发"
    "事件时不顾学生安危、擅离职守。",
    "坚持言行雅正，为人师表，以身作则，举止文明，作风正派，自重自爱。",
    "秉持公平诚信，坚持原则，处事公道，光明磊落，为人正直，不在招生、考试、推优、保送、"
    "绩效考核、岗位聘用、职称评聘、评优评奖等工作中徇私舞弊、弄虚作假。",
    "坚守廉洁自律，严于律己，清廉从教，不索要、收受学生及家长财物，不参加由学生及家长"
    "付费的宴请、旅游、娱乐休闲等活动。",
    "规范从教行为，勤勉敬业，乐于奉献，不组织、不参与有偿补课，不为校外培训机构和他人"
    "介绍生源、提供相关信息。",
)
NUMERALS: Final = "一二三四五六七八九十"


def numeral(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十 (a pledge has at most a few dozen clauses)."""
    tens, ones = divmod(n, 10)
    if not tens:
        return NUMERALS[ones - 1]
    return (NUMERALS[tens - 1] if tens > 1 else "") + "十" + (NUMERALS[ones - 1] if ones else "")


def school_year(day: dt.date) -> int:
    """The school year ``day`` falls in, by the year it starts (1 September)."""
    return day.year if day.month >= 9 else day.year - 1


def year_label(year: int) -> str:
    return f"{year}—{year + 1}学年"


def pledge_text(
    year: int, name: str, school: str, clauses: tuple[str, ...] | list[str] = PLEDGES
) -> str:
    """The pledge as the teacher reads and signs it: their name, school and the school
    year in it, so that the signed digest is of this teacher's own pledge; ``clauses`` are
    the year's (``clauses_of``)."""
    lines = [
        f"师德承诺书（{year_label(year)}）",
        "",
        f"本人{name}，{school}教师，自觉遵守《新时代中小学教师职业行为十项准则》，郑重承诺：",
        *(f"{numeral(i)}、{clause}" for i, clause in enumerate(clauses, 1)),
        "",
        "如有违反，本人自愿接受组织处理，并承担相应责任。师德考核不合格的，"
        "当年年度考核、职称评审、评优评先实行一票否决。",
    ]
    return "\n".join(lines)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def clauses_of(conn: Connection, year: int) -> tuple[str, ...]:
    """The clauses of the year's pledge: the province's own for that year, else ``PLEDGES``."""
    own = conn.execute(select(texts_t.c.clauses).where(texts_t.c.year == year)).scalar_one_or_none()
    return tuple(str(c) for c in own) if own else PLEDGES


def lock_year(conn: Connection, year: int, *, shared: bool) -> None:
    """The year's pledge lock for the transaction: shared by signatures (they never wait
    for one another), alone by a change of the text. PostgreSQL only: SQLite's write
    transactions (``BEGIN IMMEDIATE``) queue already."""
    if conn.dialect.name == "postgresql":
        fn = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        key = zlib.crc32(f"compliance:pledge:{year}".encode())
        conn.execute(text(f"SELECT {fn}(:key)"), {"key": key})


# --- issuing --------------------------------------------------------------------------------
def issue(conn: Connection, year: int, now: dt.datetime) -> int:
    """This school year's pledge to every teacher in service who has none: one INSERT …
    SELECT, in the caller's transaction; a second run (or one racing it) issues nothing
    twice — the anti-join skips those issued, the unique key stops a racing one."""
    t, p = teachers_t, pledges_t
    missing = (
        select(t.c.person_id, literal(year), literal(now, p.c.issued_at.type))
        .where(t.c.status == IN_SERVICE)
        .where(~exists().where(p.c.person_id == t.c.person_id, p.c.year == year))
    )
    issued = select(func.count()).where(p.c.year == year)
    before = int(conn.execute(issued).scalar_one())
    conn.execute(
        _insert(conn)
        .from_select(["person_id", "year", "issued_at"], missing)
        .on_conflict_do_nothing(index_elements=["person_id", "year"])
    )
    # counted, not the INSERT's rowcount (which an INSERT … SELECT does not give on every driver)
    return int(conn.execute(issued).scalar_one()) - before


def _insert(conn: Connection) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(pledges_t)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(pledges_t)


def prepare(conn: Connection, today: dt.date, now: dt.datetime) -> Mapping[str, int]:
    """Before the pledge check: the current school year's pledges issued."""
    issued = issue(conn, school_year(today), now)
    return {"issued": issued} if issued else {}


def issue_now(engine: Any, year: int | None = None) -> tuple[int, int]:
    """Issue (the given or the current school year's) pledges now: (year, how many)."""
    now = engine.clock.now()
    year = school_year(local_date(now)) if year is None else year
    if not 2000 <= year <= 2100:
        raise FormError("year", "学年应在2000至2100之间")
    with engine.db.begin() as conn:
        return year, issue(conn, year, now)


# --- the check ------------------------------------------------------------------------------
def unsigned(conn: Connection, today: dt.date) -> Any:
    """Teachers in service whose pledge of this school year was issued ``SIGN_DAYS`` ago or
    more and is still unsigned: (teacher, their school, what is wrong)."""
    year = school_year(today)
    cutoff = dt.datetime.combine(today - dt.timedelta(days=SIGN_DAYS), dt.time.max, BUREAU_TZ)
    t, p = teachers_t, pledges_t
    detail = f"{year_label(year)}师德承诺书下发已满{SIGN_DAYS}天，本人尚未签署"
    return (
        select(t.c.person_id, t.c.school_id, literal(detail))
        .join(p, and_(p.c.person_id == t.c.person_id, p.c.year == year))
        .where(p.c.signed_at.is_(None), p.c.issued_at <= cutoff, t.c.status == IN_SERVICE)
    )


# --- the teacher's own pledge ----------------------------------------------------------------
@dataclass(frozen=True)
class MyPledge:
    """A teacher's pledge of the current school year as their page shows it."""

    id: int
    year: int
    year_label: str
    text: str
    sha256: str
    issued_at: dt.datetime
    signed_at: dt.datetime | None
    signed_sha256: str | None

    @property
    def signed(self) -> bool:
        return self.signed_at is not None


def _teacher(conn: Connection, actor: Actor) -> Any:
    if actor.person_id is None:
        raise PermissionDenied("只有教师本人可以查看和签署师德承诺书")
    found = conn.execute(
        select(people_t.c.name, units_t.c.name.label("school"), teachers_t.c.status)
        .join(teachers_t, teachers_t.c.person_id == people_t.c.id)
        .join(units_t, units_t.c.id == teachers_t.c.school_id)
        .where(people_t.c.id == actor.person_id)
    ).one_or_none()
    if found is None:  # no teacher record: the pledge is not theirs to sign
        raise PermissionDenied("只有教师本人可以查看和签署师德承诺书")
    return found


def mine(conn: Connection, actor: Actor, today: dt.date) -> MyPledge | None:
    """The teacher's pledge of the current school year (None: not issued to them yet)."""
    me = _teacher(conn, actor)
    year = school_year(today)
    row = conn.execute(
        select(pledges_t).where(pledges_t.c.person_id == actor.person_id, pledges_t.c.year == year)
    ).one_or_none()
    if row is None:
        return None
    shown = pledge_text(year, me.name, me.school, clauses_of(conn, year))
    return MyPledge(
        int(row.id), year, year_label(year), shown, digest(shown), row.issued_at,
        row.signed_at, row.text_sha256,
    )  # fmt: skip


def sign(engine: Any, actor: Actor, seen_sha256: str) -> MyPledge:
    """The teacher signs the pledge they read (``seen_sha256``: the digest of the text the
    page showed them). Refused when nothing is issued, when it is already signed, or when
    the text changed since the page was drawn. The signature, its history entry and the
    closing of the teacher's open finding are one transaction."""
    seen = (seen_sha256 or "").strip().lower()
    if len(seen) != 64 or any(c not in "0123456789abcdef" for c in seen):
        raise FormError("sha256", "承诺书摘要应为64位十六进制字符，请刷新页面后重新签署")
    now = engine.clock.now()
    today = local_date(now)
    year = school_year(today)
    with engine.db.begin() as conn:
        me = _teacher(conn, actor)
        row = conn.execute(
            select(pledges_t.c.id, pledges_t.c.signed_at)
            .where(pledges_t.c.person_id == actor.person_id, pledges_t.c.year == year)
            .with_for_update()
        ).one_or_none()
        if row is None:
            raise NotFound(f"{year_label(year)}师德承诺书尚未下发，请稍后再试")
        if row.signed_at is not None:
            raise Conflict(f"您已于{local_date(row.signed_at).isoformat()}签署本学年师德承诺书")
        lock_year(conn, year, shared=True)  # the year's text cannot change until this commits
        shown = pledge_text(year, me.name, me.school, clauses_of(conn, year))
        if digest(shown) != seen:
            raise Conflict("承诺书内容已更新，请重新阅读后再签署")
        conn.execute(
            update(pledges_t)
            .where(pledges_t.c.id == row.id, pledges_t.c.signed_at.is_(None))
            .values(signed_at=now, text_sha256=seen, signer_id=actor.person_id)
        )
        assert actor.person_id is not None  # _teacher refused anyone else
        history.record(
            conn,
            history.TEACHER,
            [history.Entry(actor.person_id, {HISTORY_FIELD: (None, f"{year_label(year)}已签署")})],
            actor=actor,
            at=now,
            source="edit",
            source_ref=f"sha256:{seen}",
        )
        f = findings_t
        conn.execute(
            update(f)
            .where(
                f.c.rule == PLEDGE_RULE,
                f.c.subject_kind == "teacher",
                f.c.subject_id == actor.person_id,
                f.c.closed_at.is_(None),
            )
            .values(closed_at=now, closed_how=SIGNED_HOW)
        )
    with engine.db.connect() as conn:
        found = mine(conn, actor, today)
    assert found is not None
    return found


def signed_share(conn: Connection, year: int, paths: list[str] | None) -> tuple[int, int]:
    """(signed, issued) pledges of the year among teachers of the units under ``paths``
    (None: the whole province)."""
    p, t, u = pledges_t, teachers_t, units_t
    query = (
        select(func.count(p.c.signed_at), func.count())
        .select_from(p.join(t, t.c.person_id == p.c.person_id).join(u, u.c.id == t.c.school_id))
        .where(p.c.year == year, t.c.status == IN_SERVICE)
    )
    if paths is not None:
        if not paths:
            return 0, 0
        query = query.where(or_(*(u.c.path.startswith(x, autoescape=True) for x in paths)))
    signed, issued = conn.execute(query).one()
    return int(signed or 0), int(issued or 0)
