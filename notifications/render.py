"""Notice texts: one Jinja2 template per kind of notice, rendered into subject, body and a
one-line short form.

Template layout
---------------
``templates/<kind>.txt.j2`` (a generic kind; a process's own are in its package, below)
defines three blocks and nothing else counts:

* ``subject`` — the e-mail subject and the in-app title (collapsed onto one line);
* ``body``    — the plain-text letter (e-mail body, in-app text); leading and trailing blank
  lines and trailing spaces are dropped, the lines in between are kept;
* ``short``   — one line for SMS and group robots. Whitespace is collapsed and the line is cut
  to ``SHORT_LIMIT`` characters with "…": 70 characters is one SMS segment, and a second
  segment costs money and arrives out of order on some phones. Templates put what matters
  first so that a cut only loses the tail.

Blocks rather than "first line is the subject" because the short form needs its own wording,
and three named blocks keep each text readable on its own.

The context contract
--------------------
The dispatcher builds exactly these keys; ``render`` refuses a context that lacks one (even a
key the template does not print today), so the dispatcher and the templates cannot drift
apart silently. A value that means "nothing" is an empty string. ``None`` (what the engine's
payloads carry for "no deadline") reads as empty where a template treats the value as
optional, and raises where the template prints it as required: never the text "None".

Every kind (the packages' too):
    ``recipient_name``  the person addressed (may be empty for verification_code only)
    ``case_id``         int; None for verification_code
    ``process_label``   e.g. 职称评审
    ``applicant_name``  may be empty (a case with no applicant)
    ``unit_name``       the applicant's or the case's unit; may be empty
    ``state_label``     the case's current step, e.g. 学校审核
    ``link``            where the case is read, e.g. /cases/12 (an absolute URL works too)

Per generic kind, besides:
    case_update            ``event_label``, ``from_label`` (empty when the case was just
                           opened), ``to_label``, ``reason`` (may be empty)
    task_assigned          ``due_on`` (YYYY-MM-DD or empty: no deadline),
                           ``sign`` (empty, or 前加签 / 并加签 / 后加签), ``note`` (may be
                           empty; e.g. the receipt number of the objection to look into)
    case_copied            ``by`` (who copied it)
    countersign_disagreed  ``event_label`` (the decision the countersigners did not back)
    reminder_due_soon      ``due_on``
    reminder_due_today     ``due_on``
    reminder_overdue       ``due_on``, ``days_overdue`` (int)
    urge                   ``by``, ``due_on`` (may be empty), ``note`` (may be empty)
    escalation             ``due_on``, ``days_overdue`` (int), ``handler_unit`` (the unit
                           whose task is late)
    verification_code      ``code``, ``minutes`` (int); the case keys are present but empty
                           strings (``case_id`` None)
    audit_digest           ``taken_at`` (bureau time, e.g. 2026-10-14 01:30), ``fingerprint``
                           (64 hex digits), ``digest_file``, ``case_count`` (int), ``breaks``
                           (int: what the verification before it found); no case, as for
                           verification_code

A process's own kinds
---------------------
A process package declares the notices it sends (``ProcessPackage.notices``: one
``NoticeKind`` each, with the payload keys its template prints besides the common ones, a line
on what it tells and to whom, and a sample context); its templates are plain files in the
package, ``states/processes/<name>/notices/<kind>.txt.j2``, with the same three blocks. Nothing
here names them: ``Notices`` is built from the catalogue the dispatcher is handed, and its
contract is the common keys, the generic kinds' keys above and what the packages declare. The
dispatcher copies a declared kind's keys from the outbox payload, an empty string where one is
absent. The package pages (docs/processes/<name>.md) list each process's kinds.

``renshi notify preview [kind ...]`` prints every sample for proofreading.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from states.process.package import Catalogue, NoticeKind

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
SUFFIX = ".txt.j2"
SHORT_LIMIT = 70

# The generic kinds: the engine's, the sweeps', the accounts' and the audit's own notices.
KINDS: tuple[str, ...] = (
    "case_update",
    "task_assigned",
    "case_copied",
    "countersign_disagreed",
    "reminder_due_soon",
    "reminder_due_today",
    "reminder_overdue",
    "urge",
    "escalation",
    "verification_code",
    "audit_digest",
)

COMMON_KEYS = frozenset(
    {
        "recipient_name",
        "case_id",
        "process_label",
        "applicant_name",
        "unit_name",
        "state_label",
        "link",
    }
)
KIND_KEYS: dict[str, frozenset[str]] = {
    "case_update": frozenset({"event_label", "from_label", "to_label", "reason"}),
    "task_assigned": frozenset({"due_on", "sign", "note"}),
    "case_copied": frozenset({"by"}),
    "countersign_disagreed": frozenset({"event_label"}),
    "reminder_due_soon": frozenset({"due_on"}),
    "reminder_due_today": frozenset({"due_on"}),
    "reminder_overdue": frozenset({"due_on", "days_overdue"}),
    "urge": frozenset({"by", "due_on", "note"}),
    "escalation": frozenset({"due_on", "days_overdue", "handler_unit"}),
    "verification_code": frozenset({"code", "minutes"}),
    "audit_digest": frozenset({"taken_at", "fingerprint", "digest_file", "case_count", "breaks"}),
}
# Every key the dispatcher must supply, per generic kind.
CONTRACT: dict[str, frozenset[str]] = {kind: COMMON_KEYS | KIND_KEYS[kind] for kind in KINDS}
# The keys the dispatcher builds itself: a package's kind declares keys of its own.
BUILT_KEYS: frozenset[str] = COMMON_KEYS.union(*KIND_KEYS.values())


class UnknownKind(ValueError):
    """A notice kind with no template: an outbox row from newer code (or of a process no
    longer installed), or a typo."""

    def __init__(self, kind: str, known: Iterable[str] = KINDS) -> None:
        super().__init__(f"没有通知类型 {kind!r} 的模板（已知：{', '.join(known)}）")
        self.kind = kind


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    short: str


def _cn_date(value: Any) -> str | None:
    """2025-03-14 → 2025年3月14日: how a bureau writes a date; anything else passes through."""
    if isinstance(value, jinja2.Undefined):
        return str(value)  # StrictUndefined raises here
    if value is None:
        return None  # printed as is, finalize refuses it; wrapped, it reads as empty
    if isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(str(value))
        except ValueError:
            return str(value)
    return f"{day.year}年{day.month}月{day.day}日"


def _wrap(value: Any, before: str = "", after: str = "") -> str:
    """Surround a value that may be empty, so that an empty one leaves no stray brackets."""
    if isinstance(value, jinja2.Undefined):
        return str(value)  # StrictUndefined raises here
    if value is None or value == "":
        return ""
    return f"{before}{value}{after}"


def _no_none(value: Any) -> Any:
    """A None in the output is a hole in the letter: refuse it rather than print "None"."""
    if value is None:
        raise jinja2.UndefinedError("通知模板输出了 None：无值请传空字符串")
    return value


def template_name(kind: str) -> str:
    return f"{kind}{SUFFIX}"


def _package_loader(declared: Iterable[NoticeKind]) -> jinja2.BaseLoader:
    """Each declared kind's template, read from its own package's folder and nowhere else."""
    files = {template_name(n.kind): n.folder / template_name(n.kind) for n in declared}

    def load(name: str) -> tuple[str, str, Callable[[], bool]] | None:
        path = files.get(name)
        if path is None or not path.is_file():
            return None
        return path.read_text(encoding="utf-8"), str(path), lambda: True

    return jinja2.FunctionLoader(load)


def _environment(declared: Iterable[NoticeKind]) -> jinja2.Environment:
    env = jinja2.Environment(
        # a package's kinds from their packages, then the generic kinds from templates/
        loader=jinja2.ChoiceLoader(
            [_package_loader(declared), jinja2.FileSystemLoader(TEMPLATE_DIR)]
        ),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # plain text: e-mail text/plain, SMS, robot text messages
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        finalize=_no_none,
        auto_reload=False,  # templates ship with the code; a stat per render buys nothing
    )
    env.filters["cn_date"] = _cn_date
    env.filters["wrap"] = _wrap
    return env


_SPACE = re.compile(r"\s+")


def _one_line(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _cut(text: str, limit: int = SHORT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _body(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines()).strip()


class Notices:
    """The kinds of notice one installation knows: the generic kinds here and the kinds the
    installed packages declare (``Catalogue.notices``), with their contract, samples and
    templates. A declared kind that is a generic one, or a declared key the dispatcher builds
    itself, is an error here, when the dispatcher first renders."""

    def __init__(self, declared: Iterable[NoticeKind] = ()) -> None:
        own: dict[str, NoticeKind] = {}
        for n in declared:
            if n.kind in CONTRACT:
                raise ValueError(f"notice kind {n.kind} is a generic kind")
            if n.kind in own:
                raise ValueError(f"notice kind {n.kind} registered twice")
            if n.keys & BUILT_KEYS:
                raise ValueError(
                    f"notice kind {n.kind} declares keys the dispatcher builds itself: "
                    f"{', '.join(sorted(n.keys & BUILT_KEYS))}"
                )
            own[n.kind] = n
        self.declared: Mapping[str, NoticeKind] = own
        self.kinds: tuple[str, ...] = (*KINDS, *own)
        self.contract: dict[str, frozenset[str]] = {
            **CONTRACT,
            **{kind: COMMON_KEYS | n.keys for kind, n in own.items()},
        }
        self.samples: dict[str, dict[str, Any]] = {
            **SAMPLE_CONTEXTS,
            **{kind: dict(n.sample) for kind, n in own.items()},
        }
        self.env = _environment(own.values())

    def keys(self, kind: str) -> frozenset[str]:
        """The payload keys the dispatcher copies for ``kind`` (none for a generic kind: it
        builds those itself)."""
        n = self.declared.get(kind)
        return n.keys if n else frozenset()

    def render(self, kind: str, context: Mapping[str, Any]) -> Rendered:
        """Render one notice. Raises UnknownKind for a kind with no template and
        jinja2.UndefinedError for a context that breaks the contract."""
        if kind not in self.contract:
            raise UnknownKind(kind, self.kinds)
        missing = self.contract[kind] - context.keys()
        if missing:
            raise jinja2.UndefinedError(f"通知 {kind} 的上下文缺少：{', '.join(sorted(missing))}")
        return self.render_template(kind, context)

    def render_template(self, kind: str, context: Mapping[str, Any]) -> Rendered:
        """The template alone, without the contract check (the tests prove each template
        fails on its own when a variable it prints is missing)."""
        template = self.env.get_template(template_name(kind))
        ctx = template.new_context(dict(context))
        parts = {name: "".join(template.blocks[name](ctx)) for name in ("subject", "body", "short")}
        return Rendered(
            subject=_one_line(parts["subject"]),
            body=_body(parts["body"]),
            short=_cut(_one_line(parts["short"])),
        )

    def proof(self, kind: str, site: str = "") -> str:
        """One kind's sample as a bureau proofreads it: subject, letter, and the short form
        with its length; ``site`` makes the sample's link the full address a phone opens."""
        if kind not in self.samples:
            raise UnknownKind(kind, self.kinds)
        sample = dict(self.samples[kind])
        if site and sample.get("link"):
            sample["link"] = site + sample["link"]
        out = self.render(kind, sample)
        return (
            f"===== {kind} =====\n标题：{out.subject}\n{out.body}\n"
            f"--- 短信（{len(out.short)}字）---\n{out.short}\n"
        )


@functools.lru_cache(maxsize=8)
def _notices(declared: tuple[NoticeKind, ...]) -> Notices:
    return Notices(declared)


def notices_of(catalogue: Catalogue) -> Notices:
    """The notices of the installed packages in ``catalogue`` (built once per set of
    declarations: each has its own template environment)."""
    return _notices(tuple(catalogue.notices.values()))


def render(kind: str, context: Mapping[str, Any]) -> Rendered:
    """Render one notice of a generic kind (a package's kinds: ``notices_of(catalogue)``)."""
    return GENERIC.render(kind, context)


_CASE: dict[str, Any] = {
    "recipient_name": "王芳",
    "case_id": 12,
    "process_label": "职称评审",
    "applicant_name": "李明",
    "unit_name": "城关县第一中学",
    "state_label": "学校审核",
    "link": "/cases/12",
}

SAMPLE_CONTEXTS: dict[str, dict[str, Any]] = {
    "case_update": {
        **_CASE,
        "recipient_name": "李明",
        "state_label": "退回补正",
        "event_label": "退回补正",
        "from_label": "县级资格审查",
        "to_label": "退回补正",
        "reason": "继续教育学时证明缺2024年度，请补充后重新提交。",
    },
    "task_assigned": {
        **_CASE,
        "due_on": "2026-03-16",
        "sign": "前加签",
        "note": "异议回执编号YY-12-1",
    },
    "case_copied": {**_CASE, "recipient_name": "赵校长", "by": "王芳"},
    "countersign_disagreed": {**_CASE, "event_label": "学校审核通过"},
    "reminder_due_soon": {**_CASE, "due_on": "2026-03-16"},
    "reminder_due_today": {**_CASE, "due_on": "2026-03-16"},
    "reminder_overdue": {**_CASE, "due_on": "2026-03-16", "days_overdue": 3},
    "urge": {
        **_CASE,
        "by": "陈刚",
        "due_on": "2026-03-16",
        "note": "本批次材料下周一前须报送市局，请抓紧审核。",
    },
    "escalation": {
        **_CASE,
        "recipient_name": "刘洋",
        "unit_name": "城关县第一中学",
        "state_label": "县级资格审查",
        "due_on": "2026-03-16",
        "days_overdue": 5,
        "handler_unit": "城关县教育局",
    },
    "verification_code": {
        "recipient_name": "李明",
        "case_id": None,
        "process_label": "",
        "applicant_name": "",
        "unit_name": "",
        "state_label": "",
        "link": "",
        "code": "482917",
        "minutes": 10,
    },
    "audit_digest": {
        "recipient_name": "周敏",
        "case_id": None,
        "process_label": "",
        "applicant_name": "",
        "unit_name": "",
        "state_label": "",
        "link": "",
        "taken_at": "2026-10-14 01:30",
        "fingerprint": "9f2c4e1a7b3d5f60" + "0" * 48,
        "digest_file": "audit-digest-20261014-013000.jsonl.gz",
        "case_count": 41827,
        "breaks": 2,
    },
}

# The generic kinds alone, for a caller that has no catalogue.
GENERIC = Notices()
ENV = GENERIC.env
