"""The rules of teacher rotation (交流轮岗), described in ``docs/processes/rotation.md``:
the targets (each sending school's required count and the backbone share), and what each
step of the campaign, a teacher's rotation and an exemption asks before it moves. Pure:
facts in, verdict out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from states.process.rules import Facts, Verdict

BACKBONE_RANK = {"school": 1, "county": 2, "city": 3, "province": 4}
DEFAULT_EXEMPTIONS = ("临近退休", "患病", "孕期或哺乳期")


def share(n: int, percent: int) -> int:
    """ceil(n × percent%), in whole numbers (0.1 × 30 is 3, never 4 through a float)."""
    return -(-n * percent // 100)


def cn_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def years_before(day: dt.date, years: int) -> dt.date:
    """The same day ``years`` earlier (28 February for a 29th in a common year)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def years_after(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


# --- the targets ------------------------------------------------------------------------------
@dataclass(frozen=True)
class SchoolCount:
    """One sending school's numbers in a campaign. ``placed`` counts the teachers the
    current matching result places (0 before any run)."""

    school_id: int
    school: str
    eligible: int  # on the list, exemptions left out
    exempted: int
    volunteers: int  # stated preferences themselves
    nominated: int  # nominated by the school without volunteering
    backbone_selected: int
    placed: int
    backbone_placed: int
    confirmed: bool
    target_percent: int
    backbone_percent: int

    @property
    def selected(self) -> int:
        """Volunteers first, then the school's nominations: who the school sends."""
        return self.volunteers + self.nominated

    @property
    def required(self) -> int:
        return share(self.eligible, self.target_percent)

    @property
    def backbone_required(self) -> int:
        return share(self.required, self.backbone_percent)

    def short(self, matched: bool) -> int:
        """How many more the school must send: against those placed once matching has run,
        against those selected before."""
        return max(0, self.required - (self.placed if matched else self.selected))


@dataclass(frozen=True)
class Shortfall:
    """A target the current result misses, with the shortfall in people."""

    code: str  # school | backbone
    school_id: int | None
    short: int
    text: str


def shortfalls(
    schools: tuple[SchoolCount, ...], placed: int, backbone_placed: int, backbone_percent: int
) -> tuple[Shortfall, ...]:
    """The targets the matching result misses: each sending school below its required
    count, and the campaign below its backbone share of those rotated."""
    out = [
        Shortfall(
            "school",
            s.school_id,
            s.short(True),
            f"{s.school}：应交流{s.required}人（符合条件{s.eligible}人的{s.target_percent}%），"
            f"已匹配{s.placed}人，差{s.short(True)}人",
        )
        for s in schools
        if s.short(True)
    ]
    need = share(placed, backbone_percent)
    if backbone_placed < need:
        out.append(
            Shortfall(
                "backbone",
                None,
                need - backbone_placed,
                f"骨干教师应占交流人数的{backbone_percent}%以上（{placed}人中至少{need}人），"
                f"现为{backbone_placed}人，差{need - backbone_placed}人",
            )
        )
    return tuple(out)


# --- the campaign -----------------------------------------------------------------------------
@dataclass(frozen=True)
class CampaignFacts:
    """The campaign behind a campaign case, as its steps' rules read it."""

    campaign_id: int
    name: str
    eligibility_computed: bool
    eligible: int
    posts: int
    preferences_open: dt.date
    preferences_close: dt.date
    confirm_by: dt.date
    unconfirmed: tuple[str, ...]  # schools with teachers selected that have not confirmed
    candidates: int
    run: int


@dataclass(frozen=True)
class ResultFacts:
    """The current matching result against the lists as they stand now."""

    run: int
    changed: str | None  # why the lists no longer match the result, if they do not
    shortfalls: tuple[Shortfall, ...]


def _campaign(facts: Facts) -> CampaignFacts:
    return facts.get(CampaignFacts)


@dataclass(frozen=True)
class ListReady:
    """The eligible list is published only once it was computed and the receiving posts
    are in: teachers choose among those posts."""

    code: str = "list_ready"
    label: str = "名单与接收岗位已就绪"
    needs: frozenset[type] = frozenset({CampaignFacts})

    def check(self, facts: Facts) -> Verdict:
        c = _campaign(facts)
        if not c.eligibility_computed:
            return Verdict.failed("尚未计算符合交流条件的教师名单", field="eligibility")
        if not c.posts:
            return Verdict.failed("尚未导入接收学校的岗位", field="posts")
        return Verdict.passed()


@dataclass(frozen=True)
class PreferencesOver:
    """Preferences close on their last day, not before: a teacher may still change them."""

    code: str = "preferences_over"
    label: str = "志愿填报已截止"
    needs: frozenset[type] = frozenset({CampaignFacts})

    def check(self, facts: Facts) -> Verdict:
        c = _campaign(facts)
        if facts.today <= c.preferences_close:
            return Verdict.failed(
                f"志愿填报截止日期为{cn_date(c.preferences_close)}（含当天），尚未截止",
                field="preferences_close",
            )
        return Verdict.passed()


@dataclass(frozen=True)
class ListsConfirmed:
    """Matching starts once every school sending teachers has confirmed its list, or once
    the confirmation date has passed (an unconfirmed list is then taken as it stands)."""

    code: str = "lists_confirmed"
    label: str = "学校已确认名单"
    needs: frozenset[type] = frozenset({CampaignFacts})

    def check(self, facts: Facts) -> Verdict:
        c = _campaign(facts)
        if c.unconfirmed and facts.today <= c.confirm_by:
            named = "、".join(c.unconfirmed[:5]) + ("等" if len(c.unconfirmed) > 5 else "")
            return Verdict.failed(
                f"{named}{len(c.unconfirmed)}所学校尚未确认交流名单"
                f"（确认截止{cn_date(c.confirm_by)}）",
                field="confirm_by",
            )
        return Verdict.passed()


@dataclass(frozen=True)
class HasCandidates:
    code: str = "has_candidates"
    label: str = "有待匹配的教师"
    needs: frozenset[type] = frozenset({CampaignFacts})

    def check(self, facts: Facts) -> Verdict:
        if not _campaign(facts).candidates:
            return Verdict.failed("没有填报志愿或被学校推荐的教师，无可匹配", field="candidates")
        return Verdict.passed()


@dataclass(frozen=True)
class ResultCurrent:
    """Only a result that matches the lists as they stand is published: a nomination, an
    exemption or a withdrawn preference since the run needs a new run."""

    code: str = "result_current"
    label: str = "匹配结果为最新"
    needs: frozenset[type] = frozenset({ResultFacts})

    def check(self, facts: Facts) -> Verdict:
        r = facts.get(ResultFacts)
        if not r.run:
            return Verdict.failed("尚未运行匹配", field="run")
        if r.changed:
            return Verdict.failed(f"匹配后名单有变化（{r.changed}），请重新运行匹配", field="run")
        return Verdict.passed()


@dataclass(frozen=True)
class TargetsMet:
    """Publication with a target unmet only with the county's reason on the record."""

    code: str = "targets_met"
    label: str = "交流比例达标"
    needs: frozenset[type] = frozenset({ResultFacts})

    def check(self, facts: Facts) -> Verdict:
        missed = facts.get(ResultFacts).shortfalls
        if not missed or str(facts.payload.get("shortfall_reason") or "").strip():
            return Verdict.passed()
        return Verdict.failed(
            "交流比例未达标，须填写未达标情况说明后才能公布："
            + "；".join(s.text for s in missed[:5])
            + ("等" if len(missed) > 5 else ""),
            field="shortfall_reason",
        )


# --- a teacher's rotation ---------------------------------------------------------------------
def _payload_date(facts: Facts, name: str) -> dt.date | None:
    raw = facts.payload.get(name)
    return dt.date.fromisoformat(str(raw)) if raw else None


@dataclass(frozen=True)
class NotLater:
    """A personnel move is recorded when it happened: never on a day still to come, never
    before the step it follows (``after``, a date in the case's data)."""

    field_name: str
    after: str
    code: str = "move_date"
    label: str = "日期"
    needs: frozenset[type] = frozenset()

    def check(self, facts: Facts) -> Verdict:
        on = _payload_date(facts, self.field_name)
        if on is None:
            return Verdict.passed()
        if on > facts.today:
            return Verdict.failed("日期不能晚于今天", field=self.field_name)
        since = facts.data.get(self.after)
        if since and on < dt.date.fromisoformat(str(since)):
            return Verdict.failed(
                f"日期不能早于{cn_date(dt.date.fromisoformat(str(since)))}", field=self.field_name
            )
        return Verdict.passed()


@dataclass(frozen=True)
class LaterEnd:
    """An extension moves the end of the term later, by at most one more term."""

    code: str = "later_end"
    label: str = "延长期限"
    needs: frozenset[type] = frozenset()

    def check(self, facts: Facts) -> Verdict:
        new_end = _payload_date(facts, "new_end")
        raw = facts.data.get("term_ends_on")
        if new_end is None or not raw:
            return Verdict.failed("缺少交流期满日期", field="new_end")
        ends = dt.date.fromisoformat(str(raw))
        if new_end <= ends:
            return Verdict.failed(f"新的期满日期应晚于现期满日期{cn_date(ends)}", field="new_end")
        term = int(facts.data.get("term_years", 3))
        if new_end > years_after(ends, term):
            return Verdict.failed(f"每次延长不超过{term}年", field="new_end")
        return Verdict.passed()


# --- an exemption -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ExemptionFacts:
    """What an exemption's submission is judged by: the campaign it names, the teacher on
    its eligible list, and the evidence attached to the case."""

    campaign: str | None  # its name; None when no campaign of the teacher's county has the id
    open_for_exemptions: bool
    kinds: tuple[str, ...]
    on_list: bool
    exempt: bool
    evidence: int


@dataclass(frozen=True)
class ExemptionAllowed:
    code: str = "exemption_allowed"
    label: str = "可申请免于交流"
    needs: frozenset[type] = frozenset({ExemptionFacts})

    def check(self, facts: Facts) -> Verdict:
        e = facts.get(ExemptionFacts)
        if e.campaign is None:
            return Verdict.failed("交流轮岗工作不存在或不属于您所在的县", field="campaign_id")
        if not e.open_for_exemptions:
            return Verdict.failed(
                f"{e.campaign}已公布交流结果，不再受理免于交流申请", field="campaign_id"
            )
        if not e.on_list:
            return Verdict.failed(
                f"您不在{e.campaign}符合交流条件的名单中，无需申请", field="campaign_id"
            )
        if e.exempt:
            return Verdict.failed("您已获批免于交流", field="campaign_id")
        kind = str(facts.data.get("kind", ""))
        if kind not in e.kinds:
            return Verdict.failed(f"免于交流的情形应为以下之一：{'、'.join(e.kinds)}", field="kind")
        return Verdict.passed()


@dataclass(frozen=True)
class EvidenceAttached:
    """An exemption is decided on its evidence (a medical certificate, a birth date, the
    county's document): none attached, nothing to decide on."""

    code: str = "evidence"
    label: str = "证明材料"
    needs: frozenset[type] = frozenset({ExemptionFacts})

    def check(self, facts: Facts) -> Verdict:
        if not facts.get(ExemptionFacts).evidence:
            return Verdict.failed("请上传证明材料（附件）后再提交", field="evidence")
        return Verdict.passed()
