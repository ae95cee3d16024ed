"""Audit dossiers (审计档案), as an inspector files one: a title-review case with decisions, a
comment and an attachment comes out as a PDF whose text reads back with the teacher's name,
every decision and opinion, the attachment's SHA-256, every seal of the chain, "校验通过" and
the nightly digest with the fingerprint the province's inspectors were sent; a chain someone
rewrote prints its failed verification and the digest that catches it; and whoever may not
export it — the teacher it is about, the school, another county — meets the same 404 as for
any case they may not see. The command line exports the same file.

On SQLite and PostgreSQL (the dossier: docs/audit.md, 审计档案)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, update

from api import dossier, typeset
from api.cli import main
from api.processes import load
from states.audit_digest import digest_dir, write_digest
from states.errors import NotFound
from states.org import COUNTY_OFFICER, INSPECTOR
from states.store.models import AuditEvent, table_of
from tests.live import Live, add_account
from tests.test_api import PDF, _ids, declare
from tests.test_audit_tamper import _rechain
from tests.test_pages import _sign_in
from tests.test_title_documents import embedded_fonts, pdf_text
from tests.world import Driver, World

audit_t = table_of(AuditEvent)
REASON = "继续教育学时证明缺2024年度"
REMARK = "请补充近三年年度考核结果"
LATER = "已阅，公示期满后审查"


def _fire(
    client: httpx.Client, cid: int, event: str, payload: dict[str, str] | None = None
) -> None:
    version = client.get(f"/api/v1/cases/{cid}").json()["version"]
    body = {"event": event, "expected_version": version, "payload": payload or {}}
    answer = client.post(f"/api/v1/cases/{cid}/events", json=body)
    assert answer.status_code == 200, answer.text


def test_an_inspector_files_a_case_with_its_chain_and_digest(
    live: Live, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RENSHI_AUDIT_DIGESTS", str(tmp_path / "digests"))
    ids = _ids(live)
    teacher, school = live.client("teacher"), live.client("school_officer")
    cid = int(declare(live, teacher, ids["subject"])["case_id"])
    _fire(school, cid, "send_back", {"reason": REASON})
    _fire(teacher, cid, "resubmit")
    assert school.post(f"/api/v1/cases/{cid}/comments", json={"text": REMARK}).status_code == 201
    files = {"file": ("继续教育证明.pdf", PDF, "application/pdf")}
    assert teacher.post(f"/api/v1/cases/{cid}/attachments", files=files).status_code == 201
    _fire(school, cid, "school_approve", {"comment": "材料齐全，同意"})
    # the night's digest, announced to the province's inspectors; then one more word
    digest = write_digest(live.services.db, live.clock, digest_dir())
    county = live.client("county_officer")
    assert county.post(f"/api/v1/cases/{cid}/comments", json={"text": LATER}).status_code == 201

    inspector = live.client("inspector")
    answer = inspector.get(f"/api/v1/cases/{cid}/dossier")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == typeset.PDF_MEDIA
    assert "inline" in answer.headers["content-disposition"]
    text = pdf_text(answer.content)
    name = inspector.get(f"/api/v1/cases/{cid}").json()["applicant_name"]
    trail = inspector.get(f"/api/v1/cases/{cid}/audit").json()
    for words in (
        "事项审计档案", name, "职称评审", "教师档案", "高级教师",  # who and what
        "退回补正", REASON, "补正后重新提交", "学校审核通过", "材料齐全，同意",  # decisions
        REMARK, LATER, "继续教育证明.pdf", hashlib.sha256(PDF).hexdigest(),
        f"校验通过：本事项{len(trail)}条审计记录",
        digest.path.name, digest.fingerprint,  # the digest, as the inspectors were told
        f"该摘要覆盖本事项第1至第{len(trail) - 1}条审计记录；其后的1条记录晚于该摘要",
        "哈希相符",
    ):  # fmt: skip
        assert words in text, words
    assert all(e["hash"] in text for e in trail), "every seal of the chain is printed"
    assert text.count(digest.fingerprint) >= 2, "the file's and the notice's, side by side"
    fonts = embedded_fonts(answer.content)
    assert any("CJK" in f for f in fonts) and all(fonts.values()), fonts

    # the case page offers it to those who may export it, and serves the same dossier
    page, _ = _sign_in(live, "inspector")
    assert f'href="/cases/{cid}/dossier.pdf"' in page.get(f"/cases/{cid}").text
    printed = page.get(f"/cases/{cid}/dossier.pdf")
    assert printed.status_code == 200 and digest.fingerprint in pdf_text(printed.content)
    assert county.get(f"/api/v1/cases/{cid}/dossier").status_code == 200

    # everyone else: exactly the "not found" of a case they may not see
    add_account(live, "other_county", COUNTY_OFFICER, ids["other_county"])
    outsider = live.client("other_county")
    unseen = outsider.get(f"/api/v1/cases/{cid}")
    assert unseen.status_code == 404
    for client in (
        teacher,
        school,
        outsider,
    ):  # the teacher it is about, the school, another county
        refused = client.get(f"/api/v1/cases/{cid}/dossier")
        assert (refused.status_code, refused.json()) == (404, unseen.json())
    own, _ = _sign_in(live, "teacher")
    assert "dossier.pdf" not in own.get(f"/cases/{cid}").text
    assert own.get(f"/cases/{cid}/dossier.pdf").status_code == 404
    assert own.get(f"/cases/{cid + 1000}/dossier.pdf").status_code == 404


def test_a_rewritten_chain_prints_its_failed_verification(
    d: Driver, world: World, engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """Someone with the database but not the key changes the school's reason and reseals
    the chain with plain SHA-256: the dossier says the verification failed, where, and that
    the digest taken before no longer matches; the command line says so too."""
    cid = d.declare(world.teacher("甲老师"))
    d.fire(cid, "send_back", "school_officer", {"reason": REASON})
    d.fire(cid, "resubmit", world.actors["甲老师"])
    digests = tmp_path / "digests"
    digest = write_digest(engine, d.clock, digests)
    inspector = world.officer("inspector", INSPECTOR, "province")
    with engine.begin() as conn:
        conn.execute(
            update(audit_t)
            .where(audit_t.c.case_id == cid, audit_t.c.seq == 3)
            .values(payload=json.dumps({"reason": "材料齐全"}, ensure_ascii=False))
        )
        _rechain(conn, cid, lambda body: hashlib.sha256(body).hexdigest(), None)

    found = dossier.build(
        engine, d.eng.processes, load(d.eng.processes), inspector, cid, d.clock.now(),
        digests=digests,
    )  # fmt: skip
    text = pdf_text(dossier.pdf(found))
    assert "校验未通过" in text and "校验通过" not in text
    assert "第3条（退回补正）：本条记录未以审计密钥封存" in text
    assert "理由：材料齐全" in text and f"理由：{REASON}" not in text, "the trail as it now reads"
    assert digest.fingerprint in text
    assert "不符：摘要记载的第4条记录哈希与审计链现有的不同" in text
    for outsider in (world.actors["west_officer"], world.actors["甲老师"]):
        try:
            dossier.build(
                engine, d.eng.processes, load(d.eng.processes), outsider, cid, d.clock.now()
            )
        except NotFound as exc:
            assert exc.message == "事项不存在"
        else:
            raise AssertionError("an outsider exported the dossier")

    out = tmp_path / "档案.pdf"
    env = {"RENSHI_DATABASE_URL": db_url}
    args = ["case", "dossier", str(cid), "-o", str(out), "--digests", str(digests)]
    result = CliRunner().invoke(main, [*args, "--as", f"#{inspector.person_id}"], env=env)
    assert result.exit_code == 0, result.output
    assert "校验未通过" in result.output and "与审计链不符" in result.output
    assert "校验未通过" in pdf_text(out.read_bytes())
    west = world.actors["west_officer"].person_id
    refused = CliRunner().invoke(main, [*args, "--as", f"#{west}"], env=env)
    assert refused.exit_code == 1 and "事项不存在" in refused.output
