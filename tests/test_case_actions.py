"""Moves every approval user expects beside the process itself: comments, 抄送, attachments,
加签 before, beside and after the approver."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, insert, select

from states.engine import CaseEngine
from states.errors import FormError, NotFound, PermissionDenied, RuleRefused
from states.store.models import Attachment, AuditEvent, CaseCopy
from tests.world import Driver, World


def _trail(engine: Engine, case_id: int) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(AuditEvent.event)
                .where(AuditEvent.case_id == case_id)
                .order_by(AuditEvent.seq)
            ).scalars()
        )


def test_comment_extends_trail_without_moving_version(d: Driver, world: World) -> None:
    teacher = world.teacher("钱老师")
    case_id = d.declare(teacher)
    version = d.case(case_id).version
    d.eng.comment(case_id, world.actors["county_officer"], "请学校重点核实论文原件。")
    d.eng.comment(case_id, teacher, "原件已交学校人事处。")
    assert d.case(case_id).version == version, "a comment does not make anyone's view stale"
    assert _trail(d.eng.db, case_id)[-2:] == ["comment", "comment"]
    d.fire(case_id, "school_approve", "school_officer")  # still at the version read before
    with pytest.raises(NotFound):
        d.eng.comment(case_id, world.actors["west_officer"], "越权评论")
    with pytest.raises(FormError):
        d.eng.comment(case_id, teacher, "  ")


def test_copy_goes_only_to_staff_over_the_case_and_is_read_only(d: Driver, world: World) -> None:
    teacher = world.teacher("孙老师")
    colleague = world.teacher("同校同事")
    case_id = d.declare(teacher)
    sender = world.actors["school_officer"]
    # An officer of another county, or a colleague of the applicant, is not told of the case.
    for outsider in (world.actors["west_officer"], colleague):
        with pytest.raises(FormError) as refused:
            d.eng.copy_to(case_id, sender, [outsider.person_id], "请知悉")
        assert refused.value.field == "person_ids" and outsider.name in refused.value.message
        with pytest.raises(NotFound):
            d.eng.comment(case_id, outsider, "看不到")
    # The city bureau answers for the case: a copy to it is accepted.
    city = world.actors["city_officer"]
    d.eng.copy_to(case_id, sender, [city.person_id], "请知悉")
    with pytest.raises(PermissionDenied):  # the applicant cannot copy their own case around
        d.eng.copy_to(case_id, teacher, [city.person_id])


def test_a_copy_alone_lets_its_reader_read_not_write(d: Driver, world: World) -> None:
    """A copy recorded before copies were limited to staff over the case (or one that
    outlived the reader's role) opens the case for reading only."""
    case_id = d.declare(world.teacher("孙老师"))
    outsider = world.actors["west_officer"]
    with d.eng.db.begin() as conn:
        conn.execute(
            insert(CaseCopy).values(
                case_id=case_id,
                person_id=outsider.person_id,
                copied_by=world.actors["school_officer"].person_id,
                copied_at=d.clock.now(),
            )
        )
    trail = _trail(d.eng.db, case_id)
    with pytest.raises(PermissionDenied) as refused:
        d.eng.comment(case_id, outsider, "已阅")
    assert "抄送" in refused.value.message
    with pytest.raises(PermissionDenied):
        d.eng.record_attachment(
            case_id, outsider, filename="a.pdf", content_type="application/pdf", size=1,
            sha256="b" * 64,
        )  # fmt: skip
    with pytest.raises(PermissionDenied):  # seeing is not acting
        d.fire(case_id, "school_approve", outsider)
    assert _trail(d.eng.db, case_id) == trail, "nothing was written"


def test_attachment_is_recorded(d: Driver, world: World) -> None:
    teacher = world.teacher("李老师")
    case_id = d.declare(teacher)
    att = d.eng.record_attachment(
        case_id,
        teacher,
        filename="论文.pdf",
        content_type="application/pdf",
        size=1234,
        sha256="a" * 64,
    )
    with d.eng.db.connect() as conn:
        row = conn.execute(
            select(Attachment.filename, Attachment.size).where(Attachment.id == att)
        ).one()
    assert tuple(row) == ("论文.pdf", 1234)
    assert _trail(d.eng.db, case_id)[-1] == "attach"


def test_signer_before_must_sign_first(d: Driver, world: World) -> None:
    case_id = d.declare(world.teacher("周老师"))
    officer, colleague = world.actors["school_officer"], world.actors["school_officer2"]
    d.eng.add_signer(
        case_id, officer, colleague.person_id, "before", expected_version=d.case(case_id).version
    )
    with pytest.raises(RuleRefused, match="前加签"):
        d.fire(case_id, "school_approve", officer)
    d.eng.countersign(
        case_id, colleague, "agree", expected_version=d.case(case_id).version, comment="同意"
    )
    d.fire(case_id, "school_approve", officer)
    assert d.case(case_id).state == "school_publicity"


def test_signer_after_confirms_the_decision(d: Driver, world: World) -> None:
    case_id = d.declare(world.teacher("吴老师"))
    officer, colleague = world.actors["school_officer"], world.actors["school_officer2"]
    d.eng.add_signer(
        case_id, officer, colleague.person_id, "after", expected_version=d.case(case_id).version
    )
    held = d.fire(case_id, "school_approve", officer, {"comment": "同意"})
    assert held.event == "hold" and d.case(case_id).state == "school_review"
    result = d.eng.countersign(
        case_id, colleague, "agree", expected_version=d.case(case_id).version
    )
    assert result.to_state == "school_publicity"
    assert _trail(d.eng.db, case_id)[-3:] == ["hold", "countersign", "school_approve"]


def test_signer_beside_who_disagrees_sends_decision_back(d: Driver, world: World) -> None:
    case_id = d.declare(world.teacher("郑老师"))
    officer, colleague = world.actors["school_officer"], world.actors["school_officer2"]
    d.eng.add_signer(
        case_id, officer, colleague.person_id, "beside", expected_version=d.case(case_id).version
    )
    assert d.fire(case_id, "school_approve", officer).event == "hold"
    d.eng.countersign(
        case_id,
        colleague,
        "disagree",
        comment="业绩材料不足",
        expected_version=d.case(case_id).version,
    )
    assert d.case(case_id).state == "school_review"
    assert "pending_decision" not in d.case(case_id).data
    d.fire(case_id, "send_back", officer, {"reason": "请补充业绩材料"})
    assert d.case(case_id).state == "returned"


def test_signer_must_be_in_scope(d: Driver, world: World, eng: CaseEngine) -> None:
    case_id = d.declare(world.teacher("王老师"))
    with pytest.raises(FormError) as bad:
        eng.add_signer(
            case_id,
            world.actors["school_officer"],
            world.actors["west_officer"].person_id,
            "before",
            expected_version=d.case(case_id).version,
        )
    assert bad.value.field == "person_id"
    with pytest.raises(PermissionDenied):
        eng.add_signer(
            case_id,
            world.actors["county_officer"],
            world.actors["school_officer2"].person_id,
            "before",
            expected_version=d.case(case_id).version,
        )
