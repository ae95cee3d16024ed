"""Automated compliance checks (合规检查) as one package: the runner that turns any installed
package's declared rules (``ProcessPackage.compliance``) into findings, opened and closed by
the data; the rules about the teacher record itself — this school year's ethics pledge
(师德承诺书) signed, the teacher-qualification registration not lapsing, the honour
certificate for 30 years in rural schools issued — with the pledge (issued, read and signed;
its clauses set by the province) and the certificates (recorded by the province or a city);
the inspectors' board, its export and each finding's own page; the explanations (情况说明)
officers record on a finding and its closing by hand (人工销号) by the unit above.
Described for bureau staff in ``docs/processes/compliance.md``."""

from __future__ import annotations

from states.org import TEACHER
from states.process.package import ComplianceRule, NavEntry, ProcessPackage, Schedule
from states.processes.compliance import checks, pledge, records
from states.processes.compliance.cli import compliance_cli
from states.processes.compliance.findings import READERS
from states.processes.compliance.notice_kinds import NOTICES
from states.processes.compliance.tables import TABLES

PLEDGE = ComplianceRule(
    code=pledge.PLEDGE_RULE,
    label="师德承诺书未签署",
    subject="teacher",
    hits=pledge.unsigned,
    advice="请学校督促教师登录平台阅读并签署本学年师德承诺书",
    schedule=Schedule(
        "合规检查：师德承诺书",
        "向在职教师下发本学年师德承诺书（已下发的不重复）；下发满30天仍未签署的教师逐人登记问题，签署后销号。",
        "0 7 * * *",
    ),
    prepare=pledge.prepare,
)
REGISTRATION = ComplianceRule(
    code=records.REGISTRATION_RULE,
    label="教师资格定期注册即将期满",
    subject="teacher",
    hits=records.registration,
    advice="请学校组织教师按期办理教师资格定期注册，并更新教师档案中的注册日期",
    schedule=Schedule(
        "合规检查：教师资格定期注册",
        "持教师资格证书的在职教师，定期注册（每5年）6个月内期满、已期满或未登记注册日期的，逐人登记问题；档案更新后销号。",
        "10 7 * * *",
    ),
)
HONOUR = ComplianceRule(
    code=records.HONOUR_RULE,
    label="乡村从教30年荣誉证书未颁发",
    subject="teacher",
    hits=records.rural_unhonoured,
    advice="请学校核实乡村学校从教年限后报送，由省、市教育部门颁发荣誉证书并登记",
    schedule=Schedule(
        "合规检查：乡村从教30年荣誉证书",
        "档案中乡村学校从教满30年、尚未登记荣誉证书的在职教师，逐人登记问题；证书登记后销号。",
        "20 7 * * *",
    ),
)

PACKAGE = ProcessPackage(
    name="compliance",
    label="合规检查",
    specs=(),
    tables=TABLES,
    web="api.processes.compliance",
    nav=(
        NavEntry("合规检查", "/compliance", READERS),
        NavEntry("师德承诺书", "/compliance/pledge", frozenset({TEACHER})),
    ),
    cli=(compliance_cli,),
    compliance=(PLEDGE, REGISTRATION, HONOUR),
    compliance_runner=checks.run_rule,
    notices=NOTICES,
)

__all__ = ["PACKAGE"]
