"""Automated compliance checks (合规检查), on both databases: each rule — the ethics pledge,
the qualification registration, the rural honour certificate, rotation's targets, the task
books' deadlines — opens its findings and closes them as the data changes; a check run twice,
or twice at once, never opens a second finding for the same problem; a rule failing midway
leaves nothing half-done; the pledge is issued, signed (its digest and history kept) and its
finding closed; the units' officers are told once per unit and run. Over HTTP: the board,
its API and its export show each role the fields declared for it; a teacher signs the pledge
on the page. The command line, and the scheduled jobs each check is."""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import case, func, insert, literal, null, select, update
from sqlalchemy.exc import IntegrityError

from api.cli import main
from flows.jobs import OWN_CHECKS, run_job
from states.clock import FrozenClock, bureau_time
from states.engine import CaseEngine
from states.errors import Conflict, FormError, NotFound, PermissionDenied, RenshiError
from states.identity import make_id_number
from states.ops import Start
from states.org import TEACHER, Actor, Binding
from states.process.package import ComplianceRule, Schedule
from states.processes.compliance import checks, pledge, records
from states.processes.compliance.tables import ComplianceFinding, EthicsPledge
from states.processes.rotation.tables import RotationPlacement
from states.registry import history
from states.store.models import JobRun, OutboxMessage, Person, RecordChange, Teacher, table_of
from tests.live import Live
from tests.test_pages import _sign_in
from tests.world import World

ROOT = Path(__file__).resolve().parent.parent
findings_t, teachers_t = table_of(ComplianceFinding), table_of(Teacher)
people_t, outbox_t = table_of(Person), table_of(OutboxMessage)


def _run(eng: CaseEngine, code: str) -> dict[str, int]:
    """The rule as its scheduled job runs it."""
    return dict(eng.processes.compliance_check(code).run(eng))


def _open(eng: CaseEngine, rule: str) -> dict[int, str]:
    with eng.db.connect() as conn:
        rows = conn.execute(
            select(findings_t.c.subject_id, findings_t.c.detail).where(
                findings_t.c.rule == rule, findings_t.c.closed_at.is_(None)
            )
        ).all()
    return {int(r.subject_id): r.detail for r in rows}


def _closed(eng: CaseEngine, rule: str) -> dict[int, str]:
    with eng.db.connect() as conn:
        rows = conn.execute(
            select(findings_t.c.subject_id, findings_t.c.closed_how).where(
                findings_t.c.rule == rule, findings_t.c.closed_at.is_not(None)
            )
        ).all()
    return {int(r.subject_id): r.closed_how for r in rows}


def _notices(eng: CaseEngine) -> list[tuple[int, str, str]]:
    with eng.db.connect() as conn:
        rows = conn.execute(
            select(outbox_t.c.recipient_unit_id, outbox_t.c.recipient_role, outbox_t.c.payload)
            .where(outbox_t.c.kind == checks.NOTICE)
            .order_by(outbox_t.c.id)
        ).all()
    return [(int(r[0]), r[1], r[2]["task_title"]) for r in rows]


def _set(eng: CaseEngine, who: Actor, **values: Any) -> None:
    with eng.db.begin() as conn:
        conn.execute(
            update(teachers_t).where(teachers_t.c.person_id == who.person_id).values(**values)
        )


def _as_teacher(world: World, who: Actor, school: str = "urban") -> Actor:
    unit = world.units[school]
    return Actor(who.person_id, who.name, (Binding(TEACHER, unit.id, unit.path),))


# --- the teacher record ---------------------------------------------------------------------------
def test_registration_and_rural_honour_open_then_close_as_the_record_changes(
    eng: CaseEngine, world: World, clock: FrozenClock
) -> None:
    lapsing = world.teacher("将满")  # registered 2022-01-10: lapses 2027-01-10, within 6 months
    lapsed = world.teacher("已满")
    fine = world.teacher("未满")
    unknown = world.teacher("无日期", "rural")
    rural30 = world.teacher("乡村三十年", "rural", rural_years=31)
    rural29 = world.teacher("乡村二十九年", "rural", rural_years=29.5)
    _set(eng, lapsing, cert_no="20221", cert_registered_on=dt.date(2022, 1, 10))
    _set(eng, lapsed, cert_no="20212", cert_registered_on=dt.date(2021, 3, 1))
    _set(eng, fine, cert_no="20243", cert_registered_on=dt.date(2024, 1, 1))
    _set(eng, unknown, cert_no="20004")

    done = _run(eng, records.REGISTRATION_RULE)
    assert (done["open"], done["found"], done["closed"]) == (3, 3, 0)
    found = _open(eng, records.REGISTRATION_RULE)
    assert found == {
        lapsing.person_id: "教师资格定期注册将于2027-01-10期满，请在期满前办理注册",
        lapsed.person_id: "教师资格定期注册已于2026-03-01期满，未见重新注册",
        unknown.person_id: "持有教师资格证书，但未登记定期注册日期",
    }
    # one notice a unit, whatever the number of teachers: two at the urban school, one rural
    assert sorted(_notices(eng)) == [
        (world.unit("urban"), "school_officer", "教师资格定期注册即将期满"),
        (world.unit("rural"), "school_officer", "教师资格定期注册即将期满"),
    ]
    assert _run(eng, records.HONOUR_RULE)["found"] == 1
    assert set(_open(eng, records.HONOUR_RULE)) == {rural30.person_id}

    # twice more: nothing new opened, nobody told again
    for _ in range(2):
        again = _run(eng, records.REGISTRATION_RULE)
        assert (again["open"], again["found"], again["closed"], again["notified"]) == (3, 0, 0, 0)
    assert len(_notices(eng)) == 3

    # the record mended: re-registered, the date recorded, one retired; a certificate recorded
    _set(eng, lapsing, cert_registered_on=dt.date(2026, 8, 20))
    _set(eng, unknown, cert_registered_on=dt.date(2025, 5, 1))
    _set(eng, lapsed, status="retired")
    clock.advance(days=1)
    mended = _run(eng, records.REGISTRATION_RULE)
    assert (mended["open"], mended["found"], mended["closed"]) == (0, 0, 3)
    assert set(_closed(eng, records.REGISTRATION_RULE).values()) == {checks.CLOSED_HOW}

    province = world.actors["province_officer"]
    with pytest.raises(FormError, match="不足30年") as short:
        records.record(eng, province, _id_number(eng, rural29), "HR-2", dt.date(2026, 8, 1))
    assert short.value.field == "id_number"
    with pytest.raises(FormError) as future:
        records.record(eng, province, _id_number(eng, rural30), "HR-1", dt.date(2026, 12, 1))
    assert future.value.field == "issued_on"
    with pytest.raises(PermissionDenied):  # a school does not issue it
        records.record(eng, world.actors["rural_officer"], _id_number(eng, rural30), "HR-1",
                       dt.date(2026, 8, 1))  # fmt: skip
    with world.engine.begin() as conn:
        world.add_unit(conn, "city2", "city", "另一市", "province")
    other_city = world.officer("city2_officer", "city_officer", "city2")
    with pytest.raises(NotFound):  # another city's officer does not reach the teacher
        records.record(eng, other_city, _id_number(eng, rural30), "HR-1", dt.date(2026, 8, 1))
    records.record(eng, province, _id_number(eng, rural30), "HR-1", dt.date(2026, 8, 1))
    assert _closed(eng, records.HONOUR_RULE) == {rural30.person_id: records.HONOURED_HOW}
    with pytest.raises(Conflict, match="已于2026-08-01登记荣誉证书"):
        records.record(eng, province, _id_number(eng, rural30), "HR-9", dt.date(2026, 8, 2))
    assert _run(eng, records.HONOUR_RULE)["open"] == 0  # not reopened
    with eng.db.connect() as conn:
        trail = history.entries_of(conn, history.TEACHER, rural30.person_id)
    assert trail[-1].changes == {"rural_honour": [None, "证书编号HR-1，2026-08-01颁发"]}


def _id_number(eng: CaseEngine, who: Actor) -> str:
    with eng.db.connect() as conn:
        return str(
            conn.execute(
                select(people_t.c.id_number).where(people_t.c.id == who.person_id)
            ).scalar_one()
        )


# --- the ethics pledge ----------------------------------------------------------------------------
def test_the_pledge_is_issued_signed_with_its_digest_and_closes_the_teachers_finding(
    eng: CaseEngine, world: World, clock: FrozenClock
) -> None:
    signer = _as_teacher(world, world.teacher("签署人"))
    clock.set(bureau_time(2026, 9, 1, 7))
    first = _run(eng, pledge.PLEDGE_RULE)
    with eng.db.connect() as conn:
        teachers = int(
            conn.execute(select(func.count()).where(teachers_t.c.status == "active")).scalar_one()
        )
    assert (first["issued"], first["open"]) == (teachers, 0)  # thirty days to sign
    assert "issued" not in _run(eng, pledge.PLEDGE_RULE)  # issued once

    with eng.db.connect() as conn:
        mine = pledge.mine(conn, signer, dt.date(2026, 9, 1))
    assert mine is not None and not mine.signed
    assert mine.text.startswith("师德承诺书（2026—2027学年）")
    assert "本人签署人，东县实验中学教师" in mine.text and "不组织、不参与有偿补课" in mine.text

    clock.set(bureau_time(2026, 10, 2, 7))
    late = _run(eng, pledge.PLEDGE_RULE)
    assert late["open"] == late["found"] == teachers
    with eng.db.connect() as conn:
        schools = conn.execute(select(func.count(teachers_t.c.school_id.distinct()))).scalar_one()
    assert len(_notices(eng)) == late["notified"] == schools  # one a school, not a teacher

    with pytest.raises(FormError) as bad:
        pledge.sign(eng, signer, "not-a-digest")
    assert bad.value.field == "sha256"
    with pytest.raises(Conflict, match="承诺书内容已更新"):  # not what the page showed
        pledge.sign(eng, signer, pledge.digest(mine.text + "改"))
    with pytest.raises(PermissionDenied):  # an officer has no pledge to sign
        pledge.sign(eng, world.actors["county_officer"], mine.sha256)
    signed = pledge.sign(eng, signer, mine.sha256)
    assert signed.signed and signed.signed_sha256 == mine.sha256
    assert _closed(eng, pledge.PLEDGE_RULE) == {signer.person_id: pledge.SIGNED_HOW}
    with pytest.raises(Conflict, match="已于2026-10-02签署"):
        pledge.sign(eng, signer, mine.sha256)
    with eng.db.connect() as conn:
        trail = history.entries_of(conn, history.TEACHER, signer.person_id)
        row = conn.execute(
            select(table_of(EthicsPledge)).where(EthicsPledge.person_id == signer.person_id)
        ).one()
    assert trail[-1].changes == {"ethics_pledge": [None, "2026—2027学年已签署"]}
    assert trail[-1].source == "edit" and trail[-1].source_ref == f"sha256:{mine.sha256}"
    assert (row.signer_id, row.text_sha256) == (signer.person_id, mine.sha256)

    # the next run keeps it closed, opens nothing new, tells nobody again
    told = len(_notices(eng))
    after = _run(eng, pledge.PLEDGE_RULE)
    assert (after["open"], after["found"], after["closed"]) == (teachers - 1, 0, 0)
    assert len(_notices(eng)) == told
    # a teacher joining mid-year has theirs the next morning, and thirty days to sign
    newcomer = world.teacher("新入职")
    assert _run(eng, pledge.PLEDGE_RULE)["issued"] == 1
    assert newcomer.person_id not in _open(eng, pledge.PLEDGE_RULE)


# --- the other packages' rules --------------------------------------------------------------------
def test_a_task_past_its_deadline_opens_a_finding_closed_when_the_task_is(
    eng: CaseEngine, world: World, clock: FrozenClock
) -> None:
    from states.processes.task_book import work
    from tests.test_task_book import issued_book

    ids = issued_book(eng, world)
    subsidy = ids["乡村教师生活补助发放"]  # due 2026-10-30, led by the rural school
    rural, county = world.actors["rural_officer"], world.actors["county_officer"]
    work.act(eng, rural, subsidy, "acknowledge_task")
    assert _run(eng, "task_overdue")["open"] == 0
    clock.set(bureau_time(2026, 11, 2, 7))
    assert _run(eng, "task_overdue")["found"] == 1
    [(case_id, detail)] = _open(eng, "task_overdue").items()
    assert detail == "任务“乡村教师生活补助发放”完成时限为2026-10-30，已逾期未办结"
    assert _notices(eng) == [(world.unit("rural"), "school_officer", "任务逾期未办结")]
    assert _run(eng, "task_overdue")["found"] == 0
    work.act(eng, rural, subsidy, "report_completion", {"text": "已全部发放"})
    assert _run(eng, "task_overdue")["open"] == 1  # reported, not yet closed
    work.act(eng, county, subsidy, "accept_completion")
    assert _run(eng, "task_overdue")["closed"] == 1
    assert _closed(eng, "task_overdue") == {case_id: checks.CLOSED_HOW}


def test_a_county_below_its_rotation_targets_is_found_until_the_result_meets_them(
    eng: CaseEngine, world: World, clock: FrozenClock
) -> None:
    from states.processes.rotation import campaigns, lists
    from states.processes.rotation import posts as posts_mod
    from tests.test_rotation import CAMPAIGN, _county, _to

    county = _county(world)
    officer = world.actors["county_officer"]
    cid = campaigns.open_campaign(eng, officer, CAMPAIGN)
    table = posts_mod.table_of_rows(
        [
            {"school_code": "Urural", "subject": "数学", "level": "初中", "places": 3},
            {"school_code": "Uweak", "subject": "数学", "level": "初中", "places": 2},
        ]
    )
    assert posts_mod.import_posts(eng, officer, cid, table).written
    for event in ("compute_eligibility", "open_preferences"):
        campaigns.step(eng, officer, cid, event)
    for t in county.urban[:20] + county.pilot:
        lists.nominate(eng, officer, cid, int(t.person_id))
    _to(clock, dt.date(2026, 9, 16))
    for event in ("close_preferences", "start_matching", "run_match"):
        campaigns.step(eng, officer, cid, event)
    assert _run(eng, "rotation_targets")["open"] == 0  # not published yet
    campaigns.step(eng, officer, cid, "publish", {"shortfall_reason": "本县骨干教师不足"})
    # 31 eligible: 3 + 1 required, 5 placed, but no backbone teacher among them (1 needed)
    assert _run(eng, "rotation_targets")["found"] == 1
    assert _open(eng, "rotation_targets") == {
        world.unit("east"): "2026学年交流轮岗：应交流4人，已交流5人；骨干教师应至少1人，现为0人"
    }
    assert _notices(eng) == [(world.unit("east"), "county_officer", "交流轮岗比例未达标")]
    # the result corrected: a placed teacher is a backbone teacher after all
    placements_t = table_of(RotationPlacement)
    with eng.db.begin() as conn:
        first = conn.execute(
            select(func.min(placements_t.c.id)).where(placements_t.c.post_id.is_not(None))
        ).scalar_one()
        conn.execute(update(placements_t).where(placements_t.c.id == first).values(backbone=True))
    assert _run(eng, "rotation_targets")["closed"] == 1


# --- twice, at once, and failing midway -----------------------------------------------------------
def _rule(hits: Any) -> ComplianceRule:
    return ComplianceRule(
        "probe", "测试检查", "teacher", hits, "请整改", Schedule("测试检查", "测试", "0 7 * * *")
    )


def test_a_rule_failing_midway_keeps_nothing_and_the_database_refuses_a_second_open_finding(
    eng: CaseEngine, world: World, clock: FrozenClock
) -> None:
    a, b, c = (world.teacher(n) for n in ("甲", "乙", "丙"))
    t = teachers_t

    def only(*who: Actor, broken: Actor | None = None) -> ComplianceRule:
        ids = [w.person_id for w in who]
        detail = case((t.c.person_id == broken.person_id, null()), else_=literal("有问题")) if (
            broken
        ) else literal("有问题")  # fmt: skip
        return _rule(
            lambda conn, today: select(t.c.person_id, t.c.school_id, detail).where(
                t.c.person_id.in_(ids)
            )
        )

    assert checks.run_rule(eng, only(a, b))["found"] == 2
    before = _snapshot(eng)
    # a closes, b stays, c is new but cannot be written: the close of a must not stay either
    with pytest.raises(RenshiError, match="本次检查未作任何改动"):
        checks.run_rule(eng, only(b, c, broken=c))
    assert _snapshot(eng) == before
    assert checks.run_rule(eng, only(b, c)) == {"open": 2, "found": 1, "closed": 1, "notified": 1}
    # whatever the code does, the database keeps one open finding per rule and subject
    with pytest.raises(IntegrityError), eng.db.begin() as conn:
        conn.execute(
            insert(findings_t).values(
                rule="probe", subject_kind="teacher", subject_id=b.person_id,
                unit_id=world.unit("urban"), unit_path=world.units["urban"].path,
                detail="重复", opened_at=clock.now(), last_seen_at=clock.now(),
            )
        )  # fmt: skip


def _snapshot(eng: CaseEngine) -> list[tuple[Any, ...]]:
    with eng.db.connect() as conn:
        rows = conn.execute(select(findings_t).order_by(findings_t.c.id)).all()
        told = conn.execute(select(func.count()).select_from(outbox_t)).scalar_one()
    return [tuple(r) for r in rows] + [(told,)]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_runs_at_once_open_each_finding_once(
    eng: CaseEngine, world: World, clock: FrozenClock
) -> None:
    for i in range(12):
        who = world.teacher(f"并发{i}", "rural" if i % 2 else "urban")
        _set(eng, who, cert_no=f"C{i}", cert_registered_on=dt.date(2020, 1, 1))
    start = threading.Barrier(4)
    outcomes: list[Any] = [None] * 4

    def work(i: int) -> None:
        start.wait()
        try:
            outcomes[i] = _run(eng, records.REGISTRATION_RULE)
        except BaseException as exc:  # pragma: no cover - shown by the assertion
            outcomes[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert all(isinstance(o, dict) for o in outcomes), outcomes
    assert sorted(o["found"] for o in outcomes) == [0, 0, 0, 12]
    assert len(_open(eng, records.REGISTRATION_RULE)) == 12
    assert len(_notices(eng)) == 2  # once per school, by the run that found them


# --- the scheduled jobs ---------------------------------------------------------------------------
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_each_installed_rule_is_a_scheduled_job_and_deployment_of_its_own(
    eng: CaseEngine, world: World
) -> None:
    from flows.serve import deployments

    codes = {r.code for r in eng.processes.compliance_rules()}
    assert {c.name for c in OWN_CHECKS if c.name.startswith("compliance-")} == {
        f"compliance-{code}" for code in codes
    }
    served = {d.name: d.parameters for d in deployments()}
    listed = yaml.safe_load((ROOT / "deploy/prefect.yaml").read_text(encoding="utf-8"))
    declared = {d["name"]: d.get("parameters", {}) for d in listed["deployments"]}
    for code in codes:
        key = f"compliance-{code}"
        assert served[key] == declared[key] == {"key": key}
    run, outcome = run_job("compliance-cert_registration", eng, Start.cli())
    assert run.outcome == "ok" and outcome is not None and outcome.counts["open"] == 0
    with eng.db.connect() as conn:
        assert conn.execute(select(JobRun.job)).scalars().all() == ["compliance-cert_registration"]


def test_the_command_line_runs_lists_issues_and_records(
    db_url: str, world: World, tmp_path: Path
) -> None:
    who = world.teacher("命令行", "rural", rural_years=30)
    with world.engine.begin() as conn:
        conn.execute(
            update(people_t).where(people_t.c.id == world.actors["province_officer"].person_id)
            .values(username="province")
        )  # fmt: skip
        number = conn.execute(
            select(people_t.c.id_number).where(people_t.c.id == who.person_id)
        ).scalar_one()

    def renshi(*args: str) -> Any:
        return CliRunner().invoke(
            main, ["--at", "2026-09-01T07:00", *args], env={"RENSHI_DATABASE_URL": db_url}
        )

    issued = renshi("compliance", "pledge", "issue")
    assert issued.exit_code == 0 and "2026—2027学年师德承诺书：新下发" in issued.stdout
    ran = renshi("compliance", "run")
    assert ran.exit_code == 0, ran.output
    assert "乡村从教30年荣誉证书未颁发：现有问题1，新发现1" in ran.stdout
    assert "交流轮岗比例未达标：现有问题0" in ran.stdout  # every package's rules run
    unknown = renshi("compliance", "run", "--rule", "nope")
    assert unknown.exit_code == 1 and "[rule] 没有检查项“nope”" in unknown.stderr
    listed = renshi("compliance", "findings", "--as", "province")
    assert listed.exit_code == 0 and "命令行" in listed.stdout and "尚未颁发" in listed.stdout
    bad = renshi("compliance", "honour", "record", "--as", "province", "--id-number", number,
                 "--cert-no", "", "--issued-on", "2026-08-01")  # fmt: skip
    assert bad.exit_code == 1 and "[cert_no] 证书编号不能为空" in bad.stderr
    sheet = tmp_path / "荣誉证书.csv"
    sheet.write_text(f"身份证号,证书编号,颁发日期\n{number},HR-7,2026-08-01\n", encoding="utf-8")
    imported = renshi("compliance", "honour", "import", str(sheet), "--as", "province")
    assert imported.exit_code == 0 and "新增1条" in imported.stdout, imported.output
    again = renshi("compliance", "honour", "import", str(sheet), "--as", "province")
    assert again.exit_code == 1 and "已于2026-08-01登记荣誉证书" in again.stderr
    closed = renshi("compliance", "findings", "--as", "province", "--closed")
    assert "已整改（已登记荣誉证书）" not in closed.stdout  # the list shows the problem itself
    assert "命令行" in closed.stdout


# --- over HTTP: who reads what, and the teacher's pledge page -------------------------------------
ID = re.compile(r"^\d{17}[\dX]$")


def test_the_board_its_api_and_its_export_show_each_role_what_is_declared(live: Live) -> None:
    clients: dict[str, httpx.Client] = {}

    def api(username: str) -> httpx.Client:
        if username not in clients:
            clients[username] = live.client(username)
        return clients[username]

    def board(username: str, **params: str) -> httpx.Response:
        return api(username).get("/api/v1/compliance/findings", params=params)

    # the pledges issued on 1 September; on 8 October the province runs the checks now
    live.clock.set(bureau_time(2026, 9, 1, 7))
    checks.run_all(live.services.engine)
    live.clock.set(bureau_time(2026, 10, 8, 7))
    assert api("county_officer").post("/api/v1/compliance/run", json={}).status_code == 403
    ran = api("province_officer").post("/api/v1/compliance/run", json={"rule": "ethics_pledge"})
    first = ran.json()
    assert first["summary"] == "已运行1项检查" and first["results"][0]["counts"]["found"] > 290
    refused = api("province_officer").post("/api/v1/compliance/run", json={"rule": "x"})
    assert refused.status_code == 422 and refused.json()["field"] == "rule"
    again = api("province_officer").post("/api/v1/compliance/pledges/issue", json={}).json()
    assert again == {"year": 2026, "issued": 0, "summary": "2026—2027学年师德承诺书新下发0份"}

    inspector = board("inspector", rule="ethics_pledge", limit="5").json()
    assert inspector["summary"].startswith("示范省：未整改问题共")
    line = inspector["items"][0]
    assert ID.match(line["id_number"]) and "*" not in line["name"]
    assert line["detail"] == "2026—2027学年师德承诺书下发已满30天，本人尚未签署"
    assert inspector["total"] > 290

    officer = board("county_officer", rule="ethics_pledge", limit="1000").json()
    assert all("*" in x["id_number"] and "*" not in x["name"] for x in officer["items"])
    assert 0 < officer["total"] < inspector["total"]  # the county's own teachers only
    leader = board("leader", rule="ethics_pledge", limit="5").json()
    assert leader["items"][0]["name"].endswith("*") and "*" in leader["items"][0]["id_number"]
    assert board("teacher").status_code == 403
    assert board("county_officer", rule="nope").json()["field"] == "rule"
    assert board("county_officer", unit_id="1").status_code == 404  # the province
    rules = api("leader").get("/api/v1/compliance/rules").json()
    assert {r["code"] for r in rules} == {
        c.name.removeprefix("compliance-") for c in OWN_CHECKS if c.name.startswith("compliance-")
    }
    assert all(r["label"] and r["advice"] for r in rules)
    nobody = make_id_number("110101", dt.date(1960, 1, 1), 999, "M")
    honour = {"id_number": nobody, "cert_no": "HR-1", "issued_on": "2026-08-01"}
    unknown = api("province_officer").post("/api/v1/compliance/honours", json=honour)
    assert unknown.status_code == 404 and unknown.json()["message"]
    blank = api("province_officer").post(
        "/api/v1/compliance/honours", json={**honour, "cert_no": " "}
    )
    assert blank.status_code == 422 and blank.json()["field"] == "cert_no"
    assert api("leader").post("/api/v1/compliance/honours", json=honour).status_code == 403

    xlsx = api("leader").get("/api/v1/compliance/findings.xlsx", params={"rule": "ethics_pledge"})
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    header = [c.value for c in sheet[1]]
    first_row = dict(zip(header, [c.value for c in sheet[2]], strict=True))
    assert first_row["检查项"] == "师德承诺书未签署" and first_row["姓名"].endswith("*")
    assert "*" in first_row["身份证号"] and sheet.max_row == inspector["total"] + 1

    c, _ = _sign_in(live, "inspector")
    page = c.get("/compliance?rule=ethics_pledge")
    assert page.status_code == 200 and "合规检查 · 示范省" in page.text
    assert line["id_number"] in page.text and line["name"] in page.text
    c, _ = _sign_in(live, "leader")
    shown = c.get("/compliance").text
    assert 'href="/compliance" aria-current="page">合规检查' in shown
    assert line["id_number"] not in shown and "师德承诺书未签署" in shown
    c, _ = _sign_in(live, "teacher")
    assert c.get("/compliance").headers["location"] == "/compliance/pledge"
    assert c.get("/compliance/honours").status_code == 404  # the province's or a city's page

    c, csrf = _sign_in(live, "province_officer")
    assert "立即检查" in c.get("/compliance").text
    form = c.get("/compliance/honours")
    assert form.status_code == 200 and "登记一张证书" in form.text
    wrong = c.post(
        "/compliance/honours",
        data={"csrf": csrf, "id_number": nobody, "cert_no": "", "issued_on": "2026-08-01"},
    )
    assert wrong.status_code == 422 and "证书编号不能为空" in wrong.text
    assert f'value="{nobody}"' in wrong.text  # what was typed is kept
    empty = c.post("/compliance/honours/import", data={"csrf": csrf})
    assert empty.status_code == 422 and "请选择要导入的荣誉证书表格" in empty.text


def test_a_teacher_signs_the_pledge_on_the_page(live: Live) -> None:
    eng = live.services.engine
    live.clock.set(bureau_time(2026, 9, 1, 7))
    year, issued = pledge.issue_now(eng)
    assert (year, issued > 300 - 5) == (2026, True)
    c, csrf = _sign_in(live, "teacher")
    assert 'href="/compliance/pledge">师德承诺书' in c.get("/inbox").text
    page = c.get("/compliance/pledge")
    assert page.status_code == 200 and "师德承诺书（2026—2027学年）" in page.text
    assert "待签署" in page.text and "签署</button>" in page.text
    digest = re.search(r'name="sha256" value="([0-9a-f]{64})"', page.text)
    assert digest
    forged = c.post("/compliance/pledge", data={"sha256": digest[1]})
    assert forged.status_code == 403  # no CSRF token: nothing signed
    changed = c.post("/compliance/pledge", data={"csrf": csrf, "sha256": "0" * 64})
    assert changed.status_code == 409 and "承诺书内容已更新" in changed.text
    signed = c.post("/compliance/pledge", data={"csrf": csrf, "sha256": digest[1]})
    assert signed.status_code == 303 and signed.headers["location"] == "/compliance/pledge"
    after = c.get("/compliance/pledge").text
    assert "已签署2026—2027学年师德承诺书，谢谢！" in after and "已签署</span>" in after
    assert digest[1] in after and "签署</button>" not in after
    me = live.client("teacher").get("/api/v1/compliance/pledge").json()
    assert me["signed"] and me["sha256"] == digest[1] and me["summary"].startswith("已于2026-09-01")
    with eng.db.connect() as conn:
        teacher_id = conn.execute(
            select(people_t.c.id).where(people_t.c.username == "teacher")
        ).scalar_one()
        kept = conn.execute(
            select(RecordChange.changes).where(
                RecordChange.subject_kind == "teacher", RecordChange.subject_id == teacher_id
            ).order_by(RecordChange.seq.desc())
        ).scalars().first()  # fmt: skip
    assert kept is not None and "ethics_pledge" in kept  # in the record's sealed history
