"""An inspector at a school with a phone (390 px, Chromium): from the first page after
signing in to the campaign's targets, a finding recorded with a photo from the camera input
and a second file picked in the same input; the rectification it opens holds both, by their
SHA-256."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from states.clock import FrozenClock, bureau_time
from states.processes.supervision import campaigns, store
from states.store.models import Attachment
from tests.browser import PHONE, chromium, console_errors, offline, shot, sign_in
from tests.live import Live, serve
from tests.test_supervision import FORM, PDF, PNG, County, _county
from tests.world import World

SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def county(world: World) -> County:
    return _county(world)


@pytest.fixture
def live(db_url: str, county: County, tmp_path: Path, clock: FrozenClock) -> Iterator[Live]:
    with serve(db_url, clock, tmp_path / "files") as server:
        yield server


@SQLITE
def test_an_inspector_records_a_finding_with_a_photo_on_a_phone(live: Live, county: County) -> None:
    eng, w = live.services.engine, county.world
    urban = w.unit("urban")
    cid = campaigns.open_campaign(eng, county.organiser, {**FORM, "ratio_percent": 100})
    campaigns.step(eng, county.organiser, cid, "draw_lots")
    live.clock.set(bureau_time(2026, 9, 7))
    campaigns.step(eng, county.organiser, cid, "start_visits")
    target = next(t for t in campaigns.targets(eng, county.organiser, cid) if t.unit_id == urban)
    inspector = target.inspectors[0][1]
    with chromium() as browser:
        context = browser.new_context(
            viewport=PHONE, device_scale_factor=2, is_mobile=True, locale="zh-CN"
        )
        page = context.new_page()
        escaped = offline(page, live.url)
        errors = console_errors(page)
        # an inspector lands on the board; the campaigns are one link away
        sign_in(page, live.url, inspector, lands=r"/tasks/board$")
        page.get_by_role("link", name="专项督查").first.click()
        expect(page).to_have_url(re.compile(r"/supervision$"))
        page.locator(f"#campaign-{cid}").get_by_role("link", name="我的检查对象").click()
        card = page.locator(f"#target-{urban}")
        expect(card.get_by_role("heading", name="东县实验中学")).to_be_visible()
        card.get_by_label("检查项目").select_option("A1")
        card.get_by_label("发现的问题").fill("两名教师在校外培训机构兼职授课")
        card.get_by_label("佐证材料（拍照或选择文件）").set_input_files(
            [
                {"name": "现场照片.png", "mimeType": "image/png", "buffer": PNG},
                {"name": "课表.pdf", "mimeType": "application/pdf", "buffer": PDF},
            ]
        )
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the finding form scrolls sideways ({width}px)"
        shot(page, "supervision-01-finding-form-phone")
        card.get_by_role("button", name="记录问题").click()
        expect(page.locator(".notice.ok")).to_contain_text("问题已记录")
        expect(page.locator("#recorded")).to_contain_text("两名教师在校外培训机构兼职授课")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the targets page scrolls sideways ({width}px)"
        shot(page, "supervision-02-finding-recorded-phone")
        context.close()
    assert escaped == [], f"pages loaded from the network: {escaped}"
    assert errors == [], f"the pages reported errors: {errors}"
    digest, other = hashlib.sha256(PNG).hexdigest(), hashlib.sha256(PDF).hexdigest()
    with live.services.db.connect() as conn:
        finding = conn.execute(select(store.findings_t)).one()
        kept = conn.execute(
            select(Attachment.filename, Attachment.sha256).where(
                Attachment.case_id == finding.case_id
            )
        ).all()
    assert finding.unit_id == urban and finding.item_code == "A1"
    assert [e["sha256"] for e in finding.evidence] == [digest, other]
    assert sorted(kept) == sorted([("现场照片.png", digest), ("课表.pdf", other)])
    assert live.services.files.path(digest).read_bytes() == PNG
