"""The org tree, roles and data scope: the vocabulary every process and adapter shares.

Codes are English and stable (they are stored); labels are what a bureau user reads.
Pure: no database, no web framework.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

# --- tiers -------------------------------------------------------------------------------
TIERS = ("province", "city", "county", "school")
TIER_LABELS = {"province": "省", "city": "市", "county": "县（区）", "school": "学校"}

# How the catalogue names the personnel officer acting at a tier ("县级人事干部"), and at a
# tier a process resolves per case (``By(officer=...)`` aliases: the title review's
# committee sits at the county, the city or a self-review pilot school, by the title; a
# task book's approver is the unit above its owner).
TIER_LEVEL_LABELS = {"province": "省级", "city": "市级", "county": "县级", "school": "学校"}
ALIAS_OFFICER_LABELS = {
    "organizer": "组织评审单位的人事干部（县级、市级或自主评审学校）",
    "owner": "任务书所属单位的人事干部",
    "approver": "上级审批单位的人事干部",
    "lead": "牵头单位的人事干部",
    "issuer": "下达任务单位的人事干部",
    "organiser": "考核组织单位的人事干部",
    "scorer": "评分单位的人事干部",
    "campaign_organiser": "督查组织单位的人事干部",
}


def officer_label(tier: str) -> str:
    """The officer of a tier or a tier alias, in words: never the code glued to 级."""
    if tier in TIER_LEVEL_LABELS:
        return f"{TIER_LEVEL_LABELS[tier]}人事干部"
    return ALIAS_OFFICER_LABELS.get(tier, "经办单位的人事干部")


# --- roles -------------------------------------------------------------------------------
TEACHER = "teacher"
SCHOOL_OFFICER = "school_officer"
PRINCIPAL = "principal"
COUNTY_OFFICER = "county_officer"
CITY_OFFICER = "city_officer"
PROVINCE_OFFICER = "province_officer"
REVIEW_EXPERT = "review_expert"
INSPECTOR = "inspector"
LEADER = "leader"
PUBLIC = "public"
SYSTEM = "system"

ROLE_LABELS = {
    TEACHER: "教师",
    SCHOOL_OFFICER: "学校人事干部",
    PRINCIPAL: "校长",
    COUNTY_OFFICER: "县教育局人事股",
    CITY_OFFICER: "市教育局人事处",
    PROVINCE_OFFICER: "省教育厅教师工作处",
    REVIEW_EXPERT: "评委",
    INSPECTOR: "督查员",
    LEADER: "领导",
    PUBLIC: "公众",
    SYSTEM: "系统",
}

# Roles that see their unit's whole subtree. A teacher sees only their own cases and an
# expert only the cases they are seated on, whatever unit their binding names.
SCOPE_ROLES = frozenset(
    {
        SCHOOL_OFFICER,
        PRINCIPAL,
        COUNTY_OFFICER,
        CITY_OFFICER,
        PROVINCE_OFFICER,
        INSPECTOR,
        LEADER,
        SYSTEM,
    }
)

# The personnel officer who acts for a unit of each tier.
OFFICER_OF_TIER = {
    "school": SCHOOL_OFFICER,
    "county": COUNTY_OFFICER,
    "city": CITY_OFFICER,
    "province": PROVINCE_OFFICER,
}

# --- teacher record vocabularies ------------------------------------------------------------
GENDERS = {"M": "男", "F": "女"}

SCHOOL_LEVELS = {
    "kindergarten": "幼儿园",
    "primary": "小学",
    "junior": "初中",
    "senior": "高中",
    "vocational": "中职",
}

# The professional title ladder, lowest first (职称).
TITLES = ("grade3", "grade2", "grade1", "senior", "full_senior")
TITLE_LABELS = {
    "grade3": "三级教师",
    "grade2": "二级教师",
    "grade1": "一级教师",
    "senior": "高级教师",
    "full_senior": "正高级教师",
}

# Education levels, lowest first.
EDUCATION = ("secondary", "associate", "bachelor", "master", "doctor")
EDUCATION_LABELS = {
    "secondary": "中专",
    "associate": "大专",
    "bachelor": "本科",
    "master": "硕士研究生",
    "doctor": "博士研究生",
}

BACKBONE_LEVELS = {
    "school": "校级骨干",
    "county": "县级骨干",
    "city": "市级骨干",
    "province": "省级骨干",
}

SUBJECTS = (
    "语文",
    "数学",
    "英语",
    "物理",
    "化学",
    "生物",
    "历史",
    "地理",
    "政治",
    "音乐",
    "体育",
    "美术",
    "信息技术",
    "学前教育",
)


def next_title(title: str) -> str | None:
    """The rung above ``title`` on the ladder, or None at the top."""
    i = TITLES.index(title)
    return TITLES[i + 1] if i + 1 < len(TITLES) else None


def education_at_least(have: str, need: str) -> bool:
    return EDUCATION.index(have) >= EDUCATION.index(need)


# --- data scope ---------------------------------------------------------------------------
def unit_path(parent_path: str | None, unit_id: int) -> str:
    """Materialised path of a unit: '/1/' for the root, '/1/4/' for its child 4, ..."""
    return f"{parent_path or '/'}{unit_id}/"


def path_ids(path: str) -> list[int]:
    """Unit ids from the root down to the unit itself."""
    return [int(p) for p in path.strip("/").split("/") if p]


def in_scope(unit_path_: str, target_path: str) -> bool:
    """True when ``target_path`` lies in the subtree of the unit at ``unit_path_``."""
    return target_path.startswith(unit_path_)


@dataclass(frozen=True)
class Binding:
    """One role held at one org unit (its id and materialised path)."""

    role: str
    unit_id: int
    unit_path: str
    subject: str | None = None


@dataclass(frozen=True)
class Actor:
    """Who fires an event: a person with their role bindings, the system, or the public."""

    person_id: int | None
    name: str
    bindings: tuple[Binding, ...] = field(default=())

    def holds(self, role: str, unit_id: int | None = None) -> bool:
        return any(
            b.role == role and (unit_id is None or b.unit_id == unit_id) for b in self.bindings
        )

    def roles(self) -> set[str]:
        return {b.role for b in self.bindings}

    def scopes(self, roles: Iterable[str] | None = None) -> list[str]:
        """The subtree paths this actor sees, optionally only through ``roles``."""
        wanted = None if roles is None else set(roles)
        return [b.unit_path for b in self.bindings if wanted is None or b.role in wanted]

    def sees(self, target_path: str) -> bool:
        """Whether a unit-scoped role of this actor covers ``target_path``."""
        return any(in_scope(p, target_path) for p in self.scopes(SCOPE_ROLES))

    @property
    def label(self) -> str:
        labels = {ROLE_LABELS.get(b.role, b.role) for b in self.bindings} - {self.name}
        roles = "、".join(sorted(labels))
        return f"{self.name}（{roles}）" if roles else self.name


SYSTEM_ACTOR = Actor(person_id=None, name="系统", bindings=(Binding(SYSTEM, 0, "/"),))
PUBLIC_ACTOR = Actor(person_id=None, name="公众", bindings=(Binding(PUBLIC, 0, "/"),))
