"""Title review (职称评审), as one package: the machine, its spec and rules, and the quota
fact. The steps, rules and who acts are described for bureau staff in
``docs/processes/title_review.md``."""

from __future__ import annotations

from states.process.package import Parts, ProcessPackage
from states.processes.title_review.facts import quota_facts
from states.processes.title_review.rules import QuotaFacts
from states.processes.title_review.spec import SPEC

PACKAGE = ProcessPackage(
    name="title_review",
    label="职称评审",
    specs=(SPEC,),
    parts=Parts(fact_loaders={QuotaFacts: quota_facts}),
    web="api.processes.title_review",
)

__all__ = ["PACKAGE", "SPEC"]
