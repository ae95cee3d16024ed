"""The province sets the ethics pledge's clauses of a school year (师德承诺书正文), on both
databases: the year's text is what a teacher reads and signs (the stored digest is of it), a
year without its own keeps the default clauses, the text is fixed once anyone has signed
(a signature in progress holds the change back until it is known), bad clauses and other
roles are refused with nothing written. Over HTTP: the JSON API and the province's page, and
a teacher signing the new text on theirs."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time

import pytest
from sqlalchemy import func, select, update

from states.clock import FrozenClock, bureau_time
from states.engine import CaseEngine
from states.errors import Conflict, FormError, PermissionDenied, RenshiError
from states.org import TEACHER, Actor, Binding
from states.processes.compliance import pledge, pledge_texts
from states.processes.compliance.tables import EthicsPledge, PledgeText
from states.store.models import Person, table_of
from tests.live import Live
from tests.test_pages import _sign_in
from tests.world import World

pledges_t, texts_t, people_t = table_of(EthicsPledge), table_of(PledgeText), table_of(Person)

OWN = ["一、爱岗敬业，依法执教，认真履行教师职责。", "2. 关爱学生，严禁体罚和变相体罚学生。"]
KEPT = ("爱岗敬业，依法执教，认真履行教师职责。", "关爱学生，严禁体罚和变相体罚学生。")


def _as_teacher(world: World, key: str) -> Actor:
    who, unit = world.teacher(key), world.units["urban"]
    return Actor(who.person_id, who.name, (Binding(TEACHER, unit.id, unit.path),))


def _rows(eng: CaseEngine) -> list[tuple[int, list[str]]]:
    with eng.db.connect() as conn:
        return [(r.year, list(r.clauses)) for r in conn.execute(select(texts_t)).all()]


def test_the_year_s_text_is_what_a_teacher_reads_and_signs_and_then_it_is_fixed(
    eng: CaseEngine, world: World, clock: FrozenClock
) -> None:
    province = world.actors["province_officer"]
    signer, other = _as_teacher(world, "签署人"), _as_teacher(world, "另一人")
    clock.set(bureau_time(2026, 9, 1, 8))
    pledge.issue_now(eng)
    with eng.db.connect() as conn:
        before = pledge_texts.view(conn, province, 2026)
        stale = pledge.mine(conn, signer, dt.date(2026, 9, 1))
    assert not before.own and before.clauses == pledge.PLEDGES and before.issued > 0
    assert stale is not None and "不组织、不参与有偿补课" in stale.text

    done = pledge_texts.set_clauses(eng, province, 2026, OWN)
    assert done.own and done.clauses == KEPT  # the typed numbering dropped: the pledge numbers
    assert done.set_by == province.name and done.set_at == clock.now() and not done.locked
    with eng.db.connect() as conn:
        mine = pledge.mine(conn, signer, dt.date(2026, 9, 1))
    assert mine is not None
    assert mine.text == pledge.pledge_text(2026, "签署人", "东县实验中学", KEPT)
    assert "一、爱岗敬业" in mine.text and "二、关爱学生" in mine.text
    assert "有偿补课" not in mine.text and "三、" not in mine.text

    # the page drawn before the change signs nothing; the new text is signed, its digest kept
    with pytest.raises(Conflict, match="承诺书内容已更新"):
        pledge.sign(eng, signer, stale.sha256)
    signed = pledge.sign(eng, signer, mine.sha256)
    assert signed.signed_sha256 == pledge.digest(mine.text)
    with eng.db.connect() as conn:
        kept = conn.execute(
            select(pledges_t.c.text_sha256).where(pledges_t.c.person_id == signer.person_id)
        ).scalar_one()
    assert kept == pledge.digest(mine.text)

    # once signed, the year's text is fixed: refused naming the field, nothing changed
    clock.set(bureau_time(2026, 9, 2, 8))
    with pytest.raises(Conflict, match="已有1名教师签署，承诺条款不能再修改") as fixed:
        pledge_texts.set_clauses(eng, province, 2026, ["另一条承诺。"])
    assert fixed.value.field == "clauses"
    with eng.db.connect() as conn:
        after = pledge_texts.view(conn, province, 2026)
        theirs = pledge.mine(conn, other, dt.date(2026, 9, 1))
    assert after.clauses == KEPT and after.set_at == done.set_at and after.locked
    assert theirs is not None and theirs.text.endswith(mine.text.split("东县实验中学教师")[1])
    assert pledge.sign(eng, other, theirs.sha256).signed  # the others sign the same clauses

    # next year can be prepared now; a year without its own text keeps the default clauses
    with eng.db.connect() as conn:
        assert pledge_texts.view(conn, province, 2027).clauses == pledge.PLEDGES
    many = [f"第{i}条承诺内容。" for i in range(1, pledge_texts.MAX_CLAUSES + 1)]
    ahead = pledge_texts.set_clauses(eng, province, 2027, many)
    assert len(ahead.clauses) == 20 and "十二、第12条" in ahead.preview
    assert "二十、第20条承诺内容。" in ahead.preview and "（教师姓名）" in ahead.preview
    assert pledge_texts.set_clauses(eng, province, 2027, OWN[:1]).clauses == KEPT[:1]
    with pytest.raises(FormError, match="已经过去") as past:
        pledge_texts.set_clauses(eng, province, 2025, OWN)
    assert past.value.field == "year"
    assert sorted(y for y, _ in _rows(eng)) == [2026, 2027]


def test_bad_clauses_and_other_roles_are_refused_with_nothing_written(
    eng: CaseEngine, world: World, clock: FrozenClock
) -> None:
    province = world.actors["province_officer"]
    bad: list[tuple[object, str]] = [
        ([], "请填写承诺条款（至少一条）"),
        (["爱岗敬业。", "   "], "承诺条款第2条为空"),
        (["一、"], "承诺条款第1条为空"),
        ([f"承诺{i}。" for i in range(21)], "承诺条款至多20条，现有21条"),
        (["爱岗敬业。", "长" * 201], "承诺条款第2条超过200字（现有201字）"),
        (["爱岗敬业。", "关爱学生。", "爱岗敬业。"], "承诺条款第3条与第1条相同"),
        (["爱岗敬业，\n关爱学生。"], "承诺条款第1条含有换行"),
        ("爱岗敬业。", "承诺条款应为逐条的列表"),
    ]
    for clauses, why in bad:
        with pytest.raises(FormError) as refused:
            pledge_texts.set_clauses(eng, province, 2026, clauses)  # type: ignore[arg-type]
        assert refused.value.field == "clauses" and why in refused.value.reason
    assert pledge_texts.set_clauses(eng, province, 2026, ["长" * 200]).clauses == ("长" * 200,)
    for who in ("county_officer", "city_officer", "school_officer"):
        with pytest.raises(PermissionDenied, match="由省教育厅教师工作处设置"):
            pledge_texts.set_clauses(eng, world.actors[who], 2026, ["另一条。"])
        with eng.db.connect() as conn, pytest.raises(PermissionDenied):
            pledge_texts.view(conn, world.actors[who], 2026)
    with pytest.raises(PermissionDenied):
        pledge_texts.set_clauses(eng, _as_teacher(world, "教师"), 2026, ["另一条。"])
    with pytest.raises(FormError) as year:
        pledge_texts.set_clauses(eng, province, 1999, ["另一条。"])
    assert year.value.field == "year"
    assert _rows(eng) == [(2026, ["长" * 200])]


def test_a_change_waits_for_a_signature_in_progress_and_then_refuses(
    eng: CaseEngine, world: World, clock: FrozenClock
) -> None:
    """A signature holds the year's lock until it commits: the change that came meanwhile
    then sees it and refuses, so the signed digest stays that of the year's text."""
    province = world.actors["province_officer"]
    signer = _as_teacher(world, "签署人")
    pledge.issue_now(eng)
    outcome: list[object] = []

    def change() -> None:
        try:
            outcome.append(pledge_texts.set_clauses(eng, province, 2026, OWN))
        except RenshiError as exc:
            outcome.append(exc)

    with eng.db.begin() as conn:  # a signature, as pledge.sign makes it, held open
        pledge.lock_year(conn, 2026, shared=True)
        conn.execute(
            update(pledges_t)
            .where(pledges_t.c.person_id == signer.person_id)
            .values(signed_at=clock.now(), text_sha256="0" * 64, signer_id=signer.person_id)
        )
        racing = threading.Thread(target=change)
        racing.start()
        time.sleep(0.5)
        assert racing.is_alive() and not outcome  # the change waits for the signature
    racing.join(30)
    assert isinstance(outcome[0], Conflict) and outcome[0].field == "clauses"
    assert _rows(eng) == []


# --- over HTTP --------------------------------------------------------------------------------
def test_the_api_and_the_page_set_the_text_a_teacher_signs_on_theirs(live: Live) -> None:
    eng = live.services.engine
    live.clock.set(bureau_time(2026, 9, 1, 8))
    pledge.issue_now(eng)
    api = live.client("province_officer")
    shown = api.get("/api/v1/compliance/pledge-texts/2026")
    assert shown.status_code == 200
    first = shown.json()
    assert first["own"] is False and first["clauses"] == list(pledge.PLEDGES)
    assert first["summary"].startswith("2026—2027学年师德承诺书正文：默认的10条承诺条款")
    county = live.client("county_officer")
    assert county.get("/api/v1/compliance/pledge-texts/2026").status_code == 403
    put = county.put("/api/v1/compliance/pledge-texts/2026", json={"clauses": OWN})
    assert put.status_code == 403 and "省教育厅教师工作处" in put.json()["message"]
    blank = api.put("/api/v1/compliance/pledge-texts/2026", json={"clauses": ["爱岗。", ""]})
    assert blank.status_code == 422 and blank.json()["field"] == "clauses"
    assert "承诺条款第2条为空" in blank.json()["message"]
    long = api.put("/api/v1/compliance/pledge-texts/2026", json={"clauses": ["长" * 201]})
    assert long.status_code == 422 and long.json()["field"] == "clauses"
    assert api.put("/api/v1/compliance/pledge-texts/1999", json={"clauses": OWN}).status_code == 422
    done = api.put("/api/v1/compliance/pledge-texts/2026", json={"clauses": OWN})
    assert done.status_code == 200 and done.json()["clauses"] == list(KEPT)
    assert done.json()["own"] and done.json()["set_by"]

    # the province changes it again on the page; the teacher reads and signs that text
    c, csrf = _sign_in(live, "province_officer")
    assert 'href="/compliance/pledge-text"' in c.get("/compliance").text
    page = c.get("/compliance/pledge-text")
    assert page.status_code == 200 and "师德承诺书正文 · 2026—2027学年" in page.text
    assert "爱岗敬业，依法执教" in page.text and 'id="pledge-text-form"' in page.text
    typed = "一、热爱祖国，依法执教。\n\n二、潜心育人，关爱学生。\n"
    wrong = c.post(
        "/compliance/pledge-text", data={"csrf": csrf, "year": "2026", "clauses": "\n \n"}
    )
    assert wrong.status_code == 422 and "请填写承诺条款（至少一条）" in wrong.text
    assert 'aria-invalid="true"' in wrong.text
    saved = c.post("/compliance/pledge-text", data={"csrf": csrf, "year": "2026", "clauses": typed})
    assert saved.status_code == 303
    assert saved.headers["location"] == "/compliance/pledge-text?year=2026"
    after = c.get(saved.headers["location"]).text
    assert "已设置2026—2027学年师德承诺书正文（2条）" in after
    assert "一、热爱祖国，依法执教。" in after and "（教师姓名）" in after  # the preview

    t, t_csrf = _sign_in(live, "teacher")
    assert t.get("/compliance/pledge-text").status_code == 404
    mine = t.get("/compliance/pledge")
    assert "一、热爱祖国，依法执教。" in mine.text and "爱岗敬业" not in mine.text
    digest = re.search(r'name="sha256" value="([0-9a-f]{64})"', mine.text)
    assert digest
    signed = t.post("/compliance/pledge", data={"csrf": t_csrf, "sha256": digest[1]})
    assert signed.status_code == 303
    me = live.client("teacher").get("/api/v1/compliance/pledge").json()
    assert me["signed"] and me["sha256"] == digest[1] == pledge.digest(me["text"])
    assert "二、潜心育人，关爱学生。" in me["text"]

    # signed: the page shows the text fixed, and a change is refused on both
    fixed = c.get("/compliance/pledge-text").text
    assert 'id="pledge-text-locked"' in fixed and 'id="pledge-text-form"' not in fixed
    late = c.post(
        "/compliance/pledge-text", data={"csrf": csrf, "year": "2026", "clauses": "另一条。"}
    )
    assert late.status_code == 409 and "已有1名教师签署，承诺条款不能再修改" in late.text
    refused = api.put("/api/v1/compliance/pledge-texts/2026", json={"clauses": ["另一条。"]})
    assert refused.status_code == 409 and refused.json()["field"] == "clauses"
    final = api.get("/api/v1/compliance/pledge-texts/2026").json()
    assert final["locked"] and final["signed"] == 1
    assert final["clauses"] == ["热爱祖国，依法执教。", "潜心育人，关爱学生。"]
    c2, _ = _sign_in(live, "county_officer")
    assert c2.get("/compliance/pledge-text").status_code == 404
    with eng.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(texts_t)).scalar_one() == 1
