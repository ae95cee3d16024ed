"""The notice templates against the context contract: every kind renders, no template prints
a hole, and the contract, the samples and the templates name the same variables — the
generic kinds and every kind the installed packages declare."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest
from jinja2 import meta

from notifications.render import (
    COMMON_KEYS,
    GENERIC,
    SHORT_LIMIT,
    SUFFIX,
    TEMPLATE_DIR,
    Notices,
    Rendered,
    UnknownKind,
    notices_of,
    template_name,
)
from states.engine import build_catalogue
from states.process.package import Catalogue, NoticeKind, ProcessPackage
from states.processes import installed

# Every kind this installation knows: the generic ones and the installed packages' own.
NOTICES = notices_of(build_catalogue(installed()))
KINDS = NOTICES.kinds
CONTRACT = NOTICES.contract
SAMPLE_CONTEXTS = NOTICES.samples
ENV = NOTICES.env
render = NOTICES.render
_render = NOTICES.render_template


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
    assert on_disk == set(GENERIC.kinds)
    assert all(p.name.endswith(SUFFIX) for p in TEMPLATE_DIR.iterdir() if p.is_file())
    # a package's notices folder holds the templates of the kinds it declares, nothing else
    packages = [p for p in installed() if p.notices]
    assert packages
    for package in packages:
        folders = {n.folder for n in package.notices}
        assert len(folders) == 1, f"{package.name}: one notices folder"
        (folder,) = folders
        assert folder.name == "notices" and folder.parent.name == package.name
        files = {p.name for p in folder.iterdir() if p.is_file()}
        assert files == {template_name(n.kind) for n in package.notices}, package.name


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


# --- a process's own notices: declared by its package ------------------------------------------
# Where each process's notices live now that the generic code names none of them.
PACKAGE_KINDS = {
    "title_review": {"title_appointed"},
    "rotation": {
        "rotation_eligible",
        "rotation_placed",
        "rotation_dispatched",
        "rotation_term_ending",
        "rotation_extended",
    },
    "support_teaching": {
        "support_need_approved",
        "support_need_rejected",
        "support_revoked",
        "support_selected",
        "support_dispatched",
        "support_checkin_due",
        "support_term_ending",
        "support_assessed",
        "support_terminated",
    },
    "task_book": {
        "task_progress",
        "task_reminder",
        "task_escalated",
        "task_stagnant",
        "task_scores_published",
    },
    "compliance": {
        "compliance_found",
        "compliance_closed",
        "compliance_noted",
        "compliance_note_due",
    },
    "supervision": {
        "supervision_visit",
        "supervision_finding",
        "supervision_rectified",
        "supervision_publicized",
    },
}

LEAVE_TEMPLATE = """\
{% block subject %}【人事业务平台】请假获批：{{ leave_days }}天{% endblock %}
{% block body %}
{{ recipient_name }}：
您好！您的请假已获批准，共{{ leave_days }}天{{ leave_reason|wrap("（", "）") }}。
{% endblock %}
{% block short %}【人事业务平台】请假已获批准，共{{ leave_days }}天。{% endblock %}
"""


def _leave_package(tmp_path: Path, name: str = "leave_notes") -> ProcessPackage:
    """A package written only here, with one notice kind and its template in its folder."""
    folder = tmp_path / name / "notices"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / template_name("leave_granted")).write_text(LEAVE_TEMPLATE, encoding="utf-8")
    sample = {**GENERIC.samples["case_copied"], "leave_days": 3, "leave_reason": "病假"}
    del sample["by"]
    kind = NoticeKind(
        "leave_granted",
        frozenset({"leave_days", "leave_reason"}),
        "to the teacher: the leave is granted",
        sample,
        folder,
    )
    return ProcessPackage(name, "请假", (), notices=(kind,))


def test_each_package_declares_the_notices_it_sends() -> None:
    declared = {p.name: {n.kind for n in p.notices} for p in installed() if p.notices}
    assert declared == PACKAGE_KINDS
    assert set(KINDS) == set(GENERIC.kinds) | set().union(*PACKAGE_KINDS.values())
    for package in installed():
        for n in package.notices:
            assert n.about and "\n" not in n.about
            assert CONTRACT[n.kind] == COMMON_KEYS | n.keys


def test_a_package_kind_renders_and_refuses_a_context_missing_its_key(tmp_path: Path) -> None:
    notices = Notices(_leave_package(tmp_path).notices)
    out = notices.render("leave_granted", notices.samples["leave_granted"])
    assert out.subject == "【人事业务平台】请假获批：3天"
    assert "共3天（病假）。" in out.body
    for key in ("leave_days", "leave_reason", "recipient_name"):
        context = dict(notices.samples["leave_granted"])
        del context[key]
        with pytest.raises(jinja2.UndefinedError, match=key):
            notices.render("leave_granted", context)
    # an empty optional key leaves no stray brackets, as for the generic kinds
    sample = notices.samples["leave_granted"]
    empty = notices.render("leave_granted", {**sample, "leave_reason": ""})
    assert "共3天。" in empty.body
    # the generic kinds render beside it, from notifications/templates
    urge = SAMPLE_CONTEXTS["urge"]
    assert notices.render("urge", urge) == render("urge", urge)
    # without the package installed the kind is unknown
    with pytest.raises(UnknownKind, match="leave_granted"):
        GENERIC.render("leave_granted", sample)


def test_a_notice_kind_declared_twice_fails_at_start_up(tmp_path: Path) -> None:
    one = _leave_package(tmp_path / "a", "leave_notes")
    other = _leave_package(tmp_path / "b", "sick_notes")
    with pytest.raises(ValueError, match="notice kind leave_granted registered twice"):
        Catalogue([one, other])
    with pytest.raises(ValueError, match="notice kind leave_granted registered twice"):
        build_catalogue((*installed(), one, other))
    # a package's kind clashing with another process's
    rotation = next(p for p in installed() if p.name == "rotation")
    copy = ProcessPackage("copycat", "仿冒", (), notices=rotation.notices[:1])
    with pytest.raises(ValueError, match="notice kind rotation_eligible registered twice"):
        build_catalogue((*installed(), copy))


def test_a_package_may_not_take_a_generic_kind_or_key(tmp_path: Path) -> None:
    (kind,) = _leave_package(tmp_path).notices
    urge = NoticeKind("urge", kind.keys, kind.about, kind.sample, kind.folder)
    with pytest.raises(ValueError, match="urge is a generic kind"):
        notices_of(Catalogue([ProcessPackage("x", "x", (), notices=(urge,))]))
    linked = NoticeKind(kind.kind, kind.keys | {"link"}, kind.about, kind.sample, kind.folder)
    with pytest.raises(ValueError, match="link"):
        Notices([linked])


def test_renshi_prints_every_sample_for_proofreading() -> None:
    from click.testing import CliRunner

    from api.cli import main

    runner = CliRunner()
    some = runner.invoke(main, ["notify", "preview", "rotation_placed", "urge"], prog_name="renshi")
    assert some.exit_code == 0, some.output
    assert some.output.startswith("===== rotation_placed =====\n")
    assert "标题：【人事业务平台】交流轮岗安排公示：拟交流至东县乡村小学" in some.output
    assert "===== urge =====" in some.output and "催办说明：本批次材料" in some.output
    assert re.findall(r"--- 短信（(\d+)字）---", some.output) == ["52", "67"]
    every = runner.invoke(main, ["notify", "preview"], prog_name="renshi")
    assert every.exit_code == 0, every.output
    assert re.findall(r"^===== (\w+) =====$", every.output, re.M) == list(KINDS)
    wrong = runner.invoke(main, ["notify", "preview", "urge", "no_such_kind"], prog_name="renshi")
    assert wrong.exit_code == 2
    assert "没有通知类型：no_such_kind" in wrong.output and "=====" not in wrong.output
