"""The notice templates against the context contract: every kind renders, no template prints
a hole, and the contract, the samples and the templates name the same variables."""

from __future__ import annotations

import jinja2
import pytest
from jinja2 import meta

from notifications.render import (
    CONTRACT,
    ENV,
    KINDS,
    SAMPLE_CONTEXTS,
    SHORT_LIMIT,
    SUFFIX,
    TEMPLATE_DIR,
    Rendered,
    UnknownKind,
    _render,
    render,
    template_name,
)


def _used(kind: str) -> set[str]:
    assert ENV.loader is not None
    source, _, _ = ENV.loader.get_source(ENV, template_name(kind))
    return set(meta.find_undeclared_variables(ENV.parse(source)))


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_its_sample(kind: str) -> None:
    out = render(kind, SAMPLE_CONTEXTS[kind])
    assert isinstance(out, Rendered)
    assert out.subject.startswith("【人事业务平台】")
    assert out.body
    assert out.short
    for text in (out.subject, out.body, out.short):
        assert "None" not in text
        assert "{{" not in text and "{%" not in text and "}}" not in text
    assert "\n" not in out.subject
    assert "\n" not in out.short
    assert len(out.short) <= SHORT_LIMIT
    # A realistic sample fits one SMS without being cut.
    assert not out.short.endswith("…")


def test_every_template_on_disk_is_a_kind() -> None:
    on_disk = {p.name.removesuffix(SUFFIX) for p in TEMPLATE_DIR.glob(f"*{SUFFIX}")}
    assert on_disk == set(KINDS)
    assert all(p.name.endswith(SUFFIX) for p in TEMPLATE_DIR.iterdir() if p.is_file())


@pytest.mark.parametrize("kind", KINDS)
def test_template_variables_are_in_the_contract_and_the_sample(kind: str) -> None:
    used = _used(kind)
    assert used <= CONTRACT[kind], f"{kind} uses {used - CONTRACT[kind]} outside the contract"
    assert set(SAMPLE_CONTEXTS[kind]) == CONTRACT[kind]


def test_contract_samples_cover_every_kind() -> None:
    assert set(SAMPLE_CONTEXTS) == set(KINDS) == set(CONTRACT)


@pytest.mark.parametrize(("kind", "key"), [(k, v) for k in KINDS for v in sorted(CONTRACT[k])])
def test_render_refuses_a_context_missing_any_contract_key(kind: str, key: str) -> None:
    context = dict(SAMPLE_CONTEXTS[kind])
    del context[key]
    with pytest.raises(jinja2.UndefinedError, match=key):
        render(kind, context)


@pytest.mark.parametrize(("kind", "key"), [(k, v) for k in KINDS for v in sorted(_used(k))])
def test_template_alone_fails_on_a_missing_variable(kind: str, key: str) -> None:
    """StrictUndefined, and samples that take every branch: even without the contract check
    in front, no template renders a hole where a variable it uses is missing."""
    context = dict(SAMPLE_CONTEXTS[kind])
    del context[key]
    with pytest.raises(jinja2.UndefinedError):
        _render(kind, context)


def test_unknown_kind() -> None:
    with pytest.raises(UnknownKind) as err:
        render("no_such_kind", SAMPLE_CONTEXTS["urge"])
    assert isinstance(err.value, ValueError)
    assert "no_such_kind" in str(err.value)


def test_none_is_refused_where_required_and_empty_where_optional() -> None:
    """The engine's payloads carry None for "no deadline"; a None must never print."""
    for kind, key in [
        ("reminder_due_soon", "due_on"),
        ("task_assigned", "case_id"),
        ("urge", "by"),
        ("escalation", "handler_unit"),
        ("verification_code", "code"),
    ]:
        with pytest.raises(jinja2.UndefinedError):
            render(kind, {**SAMPLE_CONTEXTS[kind], key: None})
    out = render("task_assigned", {**SAMPLE_CONTEXTS["task_assigned"], "due_on": None})
    assert "本环节未设期限" in out.body and "None" not in out.short
    out = render("urge", {**SAMPLE_CONTEXTS["urge"], "note": None, "due_on": None})
    assert "None" not in out.body + out.short


def test_empty_optionals_leave_no_stray_punctuation() -> None:
    out = render(
        "task_assigned",
        {
            **SAMPLE_CONTEXTS["task_assigned"],
            "applicant_name": "",
            "unit_name": "",
            "due_on": "",
            "sign": "",
        },
    )
    assert out.subject == "【人事业务平台】待办提醒：职称评审（学校审核）"
    assert "办理期限：本环节未设期限" in out.body
    assert "申请人" not in out.body and "（）" not in out.body
    assert "期限" not in out.short
    update = render(
        "case_update", {**SAMPLE_CONTEXTS["case_update"], "reason": "", "from_label": ""}
    )
    assert "理由" not in update.body and "理由" not in update.short
    assert "当前环节：退回补正" in update.body
    urge = render("urge", {**SAMPLE_CONTEXTS["urge"], "note": "", "due_on": ""})
    assert "催办说明" not in urge.body and "办理期限" not in urge.body


def test_task_assigned_without_sign_reads_as_plain_work() -> None:
    out = render("task_assigned", {**SAMPLE_CONTEXTS["task_assigned"], "sign": ""})
    assert "待办提醒" in out.subject
    assert "加签" not in out.body
    assert "待您办理" in out.short
    assert "2026年3月16日" in out.short


def test_long_values_are_cut_to_one_sms() -> None:
    out = render(
        "urge",
        {**SAMPLE_CONTEXTS["urge"], "note": "请于本周内完成审核并报送。" * 10},
    )
    assert len(out.short) == SHORT_LIMIT
    assert out.short.endswith("…")
    assert out.body.count("请于本周内完成审核并报送。") == 10  # the letter keeps all of it


def test_multiline_values_stay_out_of_the_subject_and_short_lines() -> None:
    out = render(
        "case_update", {**SAMPLE_CONTEXTS["case_update"], "reason": "缺学时证明\n缺获奖证书"}
    )
    assert "\n" not in out.short
    assert "缺学时证明\n缺获奖证书" in out.body


def test_dates_in_bureau_style() -> None:
    out = render("reminder_overdue", SAMPLE_CONTEXTS["reminder_overdue"])
    assert "2026年3月16日" in out.body
    assert "已超期3天" in out.subject


def test_verification_code_carries_code_and_validity() -> None:
    out = render("verification_code", SAMPLE_CONTEXTS["verification_code"])
    assert "482917" in out.short and "10分钟" in out.short
    assert "482917" in out.body
    anonymous = render(
        "verification_code", {**SAMPLE_CONTEXTS["verification_code"], "recipient_name": ""}
    )
    assert anonymous.body.startswith("您好！")
