"""The recruitment round as officers run it: the province opens it (announcement,
registration window, shortlist ratio, composite weights, replacement deadline, age limit)
and may close registration; each county declares its posts in it through the post-plan
process (``PLAN``: county → city check → province approval), which is what opens a post for
registration.

Everything here checks what an officer sends before anything is written, and says what is
wrong with every field at once (``Problems``): the pages show each error beside its field,
the API lists them, the CLI prints them. The set-based steps that follow (registration,
scores, shortlist …) are in ``steps.py`` and ``registration.py``.

Who: the province's teacher-affairs office opens and closes a round ("province examines");
the counties declare posts ("county hires"); the city checks the plans ("city selects").
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from states.clock import local_date
from states.engine import CaseEngine
from states.errors import Conflict, FormError, NotFound, PermissionDenied, Problems
from states.org import (
    COUNTY_OFFICER,
    EDUCATION_LABELS,
    PROVINCE_OFFICER,
    SCHOOL_LEVELS,
    SUBJECTS,
    SYSTEM,
    Actor,
    education_at_least,
    path_ids,
)
from states.process.forms import Field
from states.processes.recruitment import sheets
from states.processes.recruitment.machine import PLAN
from states.processes.recruitment.rules import MIN_EDUCATION
from states.processes.recruitment.sheets import SCHEMAS
from states.processes.recruitment.steps import declare_plan, open_round
from states.processes.recruitment.tables import Post, PostSeat, RecruitmentRound
from states.store.models import Case, OrgUnit, table_of

rounds_t, posts_t, seats_t = table_of(RecruitmentRound), table_of(Post), table_of(PostSeat)
cases_t, units_t = table_of(Case), table_of(OrgUnit)

MAX_POSTS = 200  # posts in one plan: a county declares more in several
MAX_SCHOOLS = 50  # schools one post's hires go to
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")


# --- the round --------------------------------------------------------------------------------
ROUND_FIELDS = (
    Field("name", "招聘名称", max_length=128, help="如“2026年示范省新任教师公开招聘”"),
    Field(
        "announcement",
        "招聘公告",
        max_length=20000,
        help="报名页面向考生展示：报考条件、考试安排、咨询电话等",
    ),
    Field("registration_opens", "报名开始日期", "date"),
    Field("registration_closes", "报名截止日期", "date", help="含当天"),
    Field("written_weight", "笔试成绩占比（%）", "float", min_value=0, max_value=100),
    Field("interview_weight", "面试成绩占比（%）", "float", min_value=0, max_value=100),
    Field(
        "shortlist_ratio",
        "入围比例（1:N）",
        "int",
        min_value=1,
        max_value=10,
        help="每个招聘名额按笔试成绩入围面试的人数，如3即1:3",
    ),
    Field(
        "replacement_deadline",
        "递补截止日期",
        "date",
        required=False,
        help="此后有人放弃不再递补；不填则不设截止",
    ),
    Field("max_age", "年龄上限（周岁）", "int", required=False, min_value=18, max_value=60),
)
ROUND_FIELD_NAMES = frozenset(f.name for f in ROUND_FIELDS)


@dataclass(frozen=True)
class RoundForm:
    """A round as checked: weights as fractions, dates as dates."""

    name: str
    announcement: str
    registration_opens: dt.date
    registration_closes: dt.date
    written_weight: float  # 0.5 for 50%
    shortlist_ratio: int
    replacement_deadline: dt.date | None
    max_age: int


def _parsed(
    fields: Sequence[Field], form: Mapping[str, Any]
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Each field parsed on its own, every problem kept (not only the first)."""
    problems: list[tuple[str, str]] = [
        (str(k), "不是此表单的字段") for k in form if k not in {f.name for f in fields}
    ]
    values: dict[str, Any] = {}
    for f in fields:
        raw = form.get(f.name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if f.required:
                problems.append((f.name, f"{f.label}为必填项"))
            continue
        try:
            values[f.name] = f.parse(raw)
        except FormError as exc:
            problems.append((f.name, exc.reason))
        except (OverflowError, ValueError):  # a number beyond any float
            problems.append((f.name, f"{f.label}超出范围"))
    return values, problems


def check_round(form: Mapping[str, Any], today: dt.date) -> RoundForm:
    """The round an officer asked for, or ``Problems`` naming every field at fault."""
    v, problems = _parsed(ROUND_FIELDS, form)
    for name in ("written_weight", "interview_weight"):
        if name in v and not math.isfinite(v[name]):
            problems.append((name, "应为0至100之间的数字"))
            del v[name]
    day = {k: dt.date.fromisoformat(v[k]) for k in v if k in ("registration_opens",
           "registration_closes", "replacement_deadline")}  # fmt: skip
    opens, closes = day.get("registration_opens"), day.get("registration_closes")
    if opens and closes and closes < opens:
        problems.append(("registration_closes", "报名截止日期不能早于报名开始日期"))
    elif closes and closes < today:
        problems.append(("registration_closes", f"报名截止日期{closes.isoformat()}已过"))
    written, interview = v.get("written_weight"), v.get("interview_weight")
    if written is not None and interview is not None and abs(written + interview - 100) > 1e-6:
        problems.append(
            (
                "interview_weight",
                f"笔试与面试成绩占比之和应为100%（现为{written:g}%+{interview:g}%"
                f"={written + interview:g}%）",
            )
        )
    late = day.get("replacement_deadline")
    if late and closes and late < closes:
        problems.append(("replacement_deadline", "递补截止日期不能早于报名截止日期"))
    if problems:
        raise Problems(problems)
    assert opens is not None and closes is not None and written is not None
    return RoundForm(
        name=v["name"],
        announcement=v["announcement"],
        registration_opens=opens,
        registration_closes=closes,
        written_weight=round(written / 100, 4),
        shortlist_ratio=int(v["shortlist_ratio"]),
        replacement_deadline=late,
        max_age=int(v.get("max_age") or 35),
    )


def may_open(actor: Actor) -> bool:
    """Whether the actor opens and closes rounds (the province's office, or the system)."""
    return actor.holds(PROVINCE_OFFICER) or actor.holds(SYSTEM)


def _province_of(actor: Actor, province_id: int | None) -> int:
    own = sorted({b.unit_id for b in actor.bindings if b.role == PROVINCE_OFFICER})
    if not own and not actor.holds(SYSTEM):
        raise PermissionDenied("招聘由省教育厅教师工作处开启（省考、市选、县用）")
    if province_id is None:
        if len(own) != 1:
            raise FormError("province_id", "请指定省份")
        return own[0]
    if own and province_id not in own and not actor.holds(SYSTEM):
        raise NotFound("省份不存在或不在您的管理范围内")
    return province_id


def open_round_as(
    engine: CaseEngine,
    actor: Actor,
    form: Mapping[str, Any],
    *,
    province_id: int | None = None,
) -> int:
    """Open a round in the actor's province; returns its id. Its year is the year its
    registration opens (one application per ID number a year)."""
    today = local_date(engine.clock.now())
    province = _province_of(actor, province_id)
    checked = check_round(form, today)
    with engine.db.begin() as conn:
        tier = conn.execute(select(units_t.c.tier).where(units_t.c.id == province)).scalar()
        if tier != "province":
            raise FormError("province_id", "应为省级单位")
        year = checked.registration_opens.year
        same = conn.execute(
            select(rounds_t.c.id).where(
                rounds_t.c.province_id == province,
                rounds_t.c.year == year,
                rounds_t.c.name == checked.name,
            )
        ).scalar()
        if same is not None:
            raise Problems([("name", f"本省{year}年已有同名招聘（编号{same}）")])
        return open_round(
            conn,
            province_id=province,
            year=year,
            name=checked.name,
            registration_opens=checked.registration_opens,
            registration_closes=checked.registration_closes,
            replacement_deadline=checked.replacement_deadline,
            written_weight=checked.written_weight,
            shortlist_ratio=checked.shortlist_ratio,
            max_age=checked.max_age,
            announcement=checked.announcement,
        )


def _provinces(actor: Actor) -> set[int] | None:
    """The provinces whose rounds the actor reads (None: every province, the system)."""
    if actor.holds(SYSTEM):
        return None
    return {path_ids(b.unit_path)[0] for b in actor.bindings if path_ids(b.unit_path)}


def rounds_for(engine: CaseEngine, actor: Actor) -> list[Any]:
    """The rounds of the provinces the actor works in, newest first. What a round asks of
    applicants is public (its registration page), so anyone signed in may read it."""
    provinces = _provinces(actor)
    query = select(rounds_t).order_by(rounds_t.c.year.desc(), rounds_t.c.id.desc())
    if provinces is not None:
        query = query.where(rounds_t.c.province_id.in_(sorted(provinces)))
    with engine.db.connect() as conn:
        return list(conn.execute(query.limit(200)).all())


def get_round(engine: CaseEngine, actor: Actor | None, round_id: int) -> Any:
    """The round's row, for the public (``actor`` None) or within the actor's provinces;
    not found otherwise."""
    with engine.db.connect() as conn:
        rnd = conn.execute(select(rounds_t).where(rounds_t.c.id == round_id)).one_or_none()
    provinces = _provinces(actor) if actor is not None else None
    if rnd is None or (provinces is not None and rnd.province_id not in provinces):
        raise NotFound("招聘轮次不存在")
    return rnd


def _round_for(conn: Connection, round_id: int) -> Any:
    row = conn.execute(
        select(rounds_t).where(rounds_t.c.id == round_id).with_for_update()
    ).one_or_none()
    if row is None:
        raise NotFound("招聘轮次不存在")
    return row


def close_registration(engine: CaseEngine, actor: Actor, round_id: int) -> None:
    """End registration now, whatever day the window said; registrations made stand."""
    now = engine.clock.now()
    with engine.db.begin() as conn:
        rnd = _round_for(conn, round_id)
        if not (actor.holds(SYSTEM) or actor.holds(PROVINCE_OFFICER, int(rnd.province_id))):
            raise NotFound("招聘轮次不存在或不在您的管理范围内")
        if rnd.registration_closed_at is not None:
            day = local_date(rnd.registration_closed_at).isoformat()
            raise Conflict(f"本轮报名已于{day}截止")
        conn.execute(
            update(rounds_t).where(rounds_t.c.id == round_id).values(registration_closed_at=now)
        )


NOT_YET, OPEN, OVER = "未开始", "报名中", "已截止"


def registration_status(rnd: Any, today: dt.date) -> str:
    """Where a round's registration stands today: 未开始, 报名中 or 已截止."""
    if rnd.registration_closed_at is not None or today > rnd.registration_closes:
        return OVER
    return NOT_YET if today < rnd.registration_opens else OPEN


def registration_open(rnd: Any, today: dt.date) -> bool:
    return registration_status(rnd, today) == OPEN


# --- the counties' posts ----------------------------------------------------------------------
def _county_of(conn: Connection, actor: Actor, county_id: int | None) -> Any:
    own = sorted({b.unit_id for b in actor.bindings if b.role == COUNTY_OFFICER})
    if not own:
        raise PermissionDenied("岗位计划须由本县（区）教育局人事股申报")
    if county_id is None:
        if len(own) != 1:
            raise FormError("county_id", "请指定县（区）")
        county_id = own[0]
    if county_id not in own:
        raise NotFound("县（区）不存在或不在您的管理范围内")
    return conn.execute(select(units_t).where(units_t.c.id == county_id)).one()


def _text(raw: Any) -> str:
    return raw.strip() if isinstance(raw, str) else ""


def check_posts(
    conn: Connection, round_id: int, county: Any, posts: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The posts of a plan as ``declare_plan`` takes them (``count`` the sum of the seats),
    or ``Problems`` naming each bad field as ``posts.<i>.<field>`` (``posts.<i>.seats.<j>.
    school_id`` for a school): codes unique in the round, a subject and level the registry
    knows, an education requirement no lower than the level's minimum, the county's own
    schools."""
    problems: list[tuple[str, str]] = []
    if not posts:
        raise Problems([("posts", "请至少填写一个岗位")])
    if len(posts) > MAX_POSTS:
        raise Problems([("posts", f"一次最多申报{MAX_POSTS}个岗位，请分次申报")])
    codes = [_text(p.get("code")) for p in posts]
    used = set(
        conn.execute(
            select(posts_t.c.code).where(
                posts_t.c.round_id == round_id, posts_t.c.code.in_([c for c in codes if c])
            )
        ).scalars()
    )
    school_ids = {
        s.get("school_id")
        for p in posts
        for s in (p.get("seats") or [])
        if isinstance(s, Mapping) and isinstance(s.get("school_id"), int)
    }
    schools = {
        r.id: r.name
        for r in conn.execute(
            select(units_t.c.id, units_t.c.name).where(
                units_t.c.id.in_(sorted(i for i in school_ids if isinstance(i, int))),
                units_t.c.tier == "school",
                units_t.c.path.startswith(county.path),
            )
        )
    }
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, p in enumerate(posts):
        at = f"posts.{i}"
        code = codes[i]
        if not code:
            problems.append((f"{at}.code", "请填写岗位代码"))
        elif not CODE.fullmatch(code):
            problems.append((f"{at}.code", "岗位代码应为32位以内的字母、数字、“-”或“_”"))
        elif code in seen:
            problems.append((f"{at}.code", f"岗位代码{code}重复"))
        elif code in used:
            problems.append((f"{at}.code", f"岗位代码{code}本轮已被使用"))
        seen.add(code)
        subject = _text(p.get("subject"))
        if subject not in SUBJECTS:
            problems.append((f"{at}.subject", "请选择学科（学科目录中的学科）"))
        level = _text(p.get("school_level"))
        if level not in SCHOOL_LEVELS:
            problems.append((f"{at}.school_level", "请选择学段"))
        education = _text(p.get("min_education"))
        if education not in EDUCATION_LABELS:
            problems.append((f"{at}.min_education", "请选择学历要求"))
        elif level in MIN_EDUCATION and not education_at_least(education, MIN_EDUCATION[level]):
            need = EDUCATION_LABELS[MIN_EDUCATION[level]]
            problems.append(
                (f"{at}.min_education", f"{SCHOOL_LEVELS[level]}岗位学历要求不能低于{need}")
            )
        cert = p.get("cert_required", True)
        if not isinstance(cert, bool):
            problems.append((f"{at}.cert_required", "应为是或否"))
        seats_in = p.get("seats") or []
        if not isinstance(seats_in, list) or not seats_in:
            problems.append((f"{at}.seats", "请填写名额所在学校"))
            seats_in = []
        elif len(seats_in) > MAX_SCHOOLS:
            problems.append((f"{at}.seats", f"一个岗位最多分布在{MAX_SCHOOLS}所学校"))
        seats: list[dict[str, int]] = []
        for j, s in enumerate(seats_in):
            where = f"{at}.seats.{j}"
            school = s.get("school_id") if isinstance(s, Mapping) else None
            n = s.get("seats") if isinstance(s, Mapping) else None
            if not isinstance(school, int) or school not in schools:
                problems.append((f"{where}.school_id", "学校不存在或不属于本县（区）"))
            elif any(x["school_id"] == school for x in seats):
                problems.append((f"{where}.school_id", f"{schools[school]}重复填写"))
            if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 500:
                problems.append((f"{where}.seats", "名额应为1至500的整数"))
            elif isinstance(school, int) and school in schools:
                seats.append({"school_id": school, "seats": n})
        total = sum(x["seats"] for x in seats)
        count = p.get("count")
        if count is not None and count != total and len(seats) == len(seats_in):
            problems.append((f"{at}.count", f"招聘人数应等于各校名额之和（{total}）"))
        out.append(
            {
                "code": code,
                "subject": subject,
                "school_level": level,
                "min_education": education,
                "cert_required": cert,
                "count": total,
                "seats": seats,
            }
        )
    if problems:
        raise Problems(problems)
    return out


def declare_posts(
    engine: CaseEngine,
    actor: Actor,
    round_id: int,
    posts: Sequence[Mapping[str, Any]],
    *,
    county_id: int | None = None,
    note: str | None = None,
    submit: bool = True,
) -> int:
    """A county's posts in the round, as a plan case (``declare_plan``), sent to the city
    at once when ``submit`` (otherwise the county sends it from the case's page). Posts are
    declared until registration closes; returns the plan's case id."""
    today = local_date(engine.clock.now())
    with engine.db.connect() as conn:
        county = _county_of(conn, actor, county_id)
        rnd = conn.execute(select(rounds_t).where(rounds_t.c.id == round_id)).one_or_none()
        if rnd is None or path_ids(county.path)[0] != rnd.province_id:
            raise NotFound("招聘轮次不存在")
        if registration_status(rnd, today) == OVER:
            raise Conflict("本轮报名已截止，不能再申报岗位")
        checked = check_posts(conn, round_id, county, posts)
    if note is not None and len(note) > 1000:
        raise FormError("note", "计划说明不能超过1000字")
    try:
        case_id = declare_plan(
            engine, actor, round_id, int(county.id), checked, note=(note or "").strip() or None
        )
    except IntegrityError:  # another county took a code at the same moment
        raise Conflict("岗位代码刚被其他县（区）使用，请刷新后换一个代码") from None
    if submit:
        engine.fire(case_id, "submit", actor, expected_version=1)
    return case_id


@dataclass(frozen=True)
class PlanPost:
    code: str
    subject: str
    school_level: str
    min_education: str
    cert_required: bool
    count: int
    schools: tuple[tuple[str, int], ...]  # (school, seats)


@dataclass(frozen=True)
class Plan:
    case_id: int
    county_id: int
    county: str
    state: str
    version: int
    posts: tuple[PlanPost, ...]

    @property
    def count(self) -> int:
        return sum(p.count for p in self.posts)


def plans(engine: CaseEngine, actor: Actor, round_id: int) -> list[Plan]:
    """The round's plans in the actor's scope (a county its own, a city its counties, the
    province all of them), with their posts and the schools' seats, by county."""
    with engine.db.connect() as conn:
        rows = conn.execute(
            select(
                posts_t.c.id,
                posts_t.c.code,
                posts_t.c.subject,
                posts_t.c.school_level,
                posts_t.c.min_education,
                posts_t.c.cert_required,
                posts_t.c.count.label("places"),
                posts_t.c.county_id,
                units_t.c.name.label("county"),
                units_t.c.path,
                cases_t.c.id.label("case_id"),
                cases_t.c.state,
                cases_t.c.version,
            )
            .join(cases_t, cases_t.c.id == posts_t.c.plan_case_id)
            .join(units_t, units_t.c.id == posts_t.c.county_id)
            .where(posts_t.c.round_id == round_id, cases_t.c.process == PLAN)
            .order_by(units_t.c.path, cases_t.c.id, posts_t.c.code)
        ).all()
        mine = [r for r in rows if actor.holds(SYSTEM) or actor.sees(r.path)]
        school = units_t.alias("school")
        seats: dict[int, list[tuple[str, int]]] = {}
        ids = [r.id for r in mine]
        for start in range(0, len(ids), 500):
            for s in conn.execute(
                select(seats_t.c.post_id, school.c.name, seats_t.c.seats)
                .join(school, school.c.id == seats_t.c.school_id)
                .where(seats_t.c.post_id.in_(ids[start : start + 500]))
                .order_by(seats_t.c.post_id, school.c.name)
            ):
                seats.setdefault(s.post_id, []).append((s.name, int(s.seats)))
    found: dict[int, Plan] = {}
    for r in mine:
        post = PlanPost(
            r.code, r.subject, r.school_level, r.min_education, bool(r.cert_required),
            int(r.places), tuple(seats.get(r.id, ())),
        )  # fmt: skip
        plan = found.get(r.case_id)
        found[r.case_id] = Plan(
            int(r.case_id), int(r.county_id), r.county, r.state, int(r.version),
            (*(plan.posts if plan else ()), post),
        )  # fmt: skip
    return list(found.values())


def import_template(engine: CaseEngine, round_id: int, kind: str) -> tuple[str, bytes]:
    """(file name without extension, .xlsx) of the template for an import of ``kind``
    (applicants, written, interview) in the round: the headers the import reads, the notes
    and, for applicants, the round's approved posts to choose from."""
    if kind not in SCHEMAS:
        raise NotFound("导入类型不存在")
    with engine.db.connect() as conn:
        rnd = conn.execute(select(rounds_t).where(rounds_t.c.id == round_id)).one_or_none()
        if rnd is None:
            raise NotFound("招聘轮次不存在")
        posts: list[tuple[str, str]] = []
        if kind == "applicants":
            county = units_t.alias("county")
            posts = [
                (r.code, f"{r.county} {SCHOOL_LEVELS.get(r.school_level, r.school_level)}"
                 f"{r.subject} {r.count}人")
                for r in conn.execute(
                    select(posts_t.c.code, posts_t.c.school_level, posts_t.c.subject,
                           posts_t.c.count, county.c.name.label("county"))
                    .join(cases_t, cases_t.c.id == posts_t.c.plan_case_id)
                    .join(county, county.c.id == posts_t.c.county_id)
                    .where(posts_t.c.round_id == round_id, cases_t.c.state == "approved")
                    .order_by(posts_t.c.code)
                )
            ]  # fmt: skip
    schema = SCHEMAS[kind]
    return f"{rnd.name}{schema.label}导入模板", sheets.import_template(kind, rnd.name, posts)


def county_schools(
    engine: CaseEngine, actor: Actor
) -> dict[int, tuple[str, list[tuple[int, str]]]]:
    """The schools of each county the actor declares posts for: county id → (county name,
    [(school id, school name)])."""
    counties = sorted({b.unit_id for b in actor.bindings if b.role == COUNTY_OFFICER})
    out: dict[int, tuple[str, list[tuple[int, str]]]] = {}
    with engine.db.connect() as conn:
        for c in conn.execute(select(units_t).where(units_t.c.id.in_(counties))):
            rows = conn.execute(
                select(units_t.c.id, units_t.c.name)
                .where(units_t.c.tier == "school", units_t.c.path.startswith(c.path))
                .order_by(units_t.c.name)
            ).all()
            out[int(c.id)] = (c.name, [(int(r.id), r.name) for r in rows])
    return out


__all__ = [
    "ROUND_FIELDS",
    "Plan",
    "PlanPost",
    "Problems",
    "RoundForm",
    "check_posts",
    "check_round",
    "close_registration",
    "county_schools",
    "declare_posts",
    "get_round",
    "import_template",
    "may_open",
    "open_round_as",
    "plans",
    "registration_open",
    "registration_status",
    "rounds_for",
]
