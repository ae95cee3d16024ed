"""Audit dossiers (审计档案): one case's whole record as a PDF an inspector can file and check.

A dossier holds what the case is (process, number, unit, applicant and the applicant's record
as the case page shows it), its form, every step taken on it (who, when, what, with which
opinion), its comments, its attachments with their SHA-256, and its audit chain: every
event's seal, the result of verifying the chain now (``states.store.audit_store.verify_trail``:
each seal recomputed under the audit keys, the links, the case row against the chain's end,
the case's place in the province's ledger), and the newest daily audit digest that records
the case (``states.audit_digest``), with the fingerprint the province's inspectors were sent,
so a reader holding that notice can compare it character by character.

Which digest "covers" the case: the newest digest file, by the moment it was taken, whose seal
holds (and whose fingerprint is the one announced, where a notice is on record) and that
records the case. It records the case's chain as it stood that night — event ``seq`` with its
seal. When the digest was taken after the case's last event it vouches for the whole chain;
otherwise for the events up to ``seq``, and the dossier says how many came after (the next
night's digest records them). Newer digest files that cannot be used (unsealed, replaced,
unreadable) are named with the reason, never passed over silently.

Who may export one: the inspectors (督查员) and the county, city and province personnel
officers over the case's unit. Everyone else — the teacher it is about, a school, another
county — is answered exactly as for a case they may not see: "not found". What the dossier
shows is the case as ``case_file`` cuts it for the reader (``ProcessSpec.visibility``, the
one declaration): the same reader sees the same fields on the page, in the API and here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Final

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from sqlalchemy import Connection, Engine, select

from api import typeset, webkit
from api.case_pages import timeline_notes
from api.deps import ApiActor, Svc
from api.errors import ERRORS
from api.present import event_label
from api.processes import RecordPanel, Web, web_of
from api.typeset import Block, codes, fields, heading, pairs, paragraph, table
from api.webkit import SignedIn
from states.audit_digest import KIND as DIGEST_NOTICE
from states.audit_digest import DigestError, digest_dir, fingerprint_of, read_header
from states.clock import BUREAU_TZ
from states.engine.visibility import CaseFile, case_file
from states.errors import NotFound, RenshiError
from states.org import (
    CITY_OFFICER,
    COUNTY_OFFICER,
    INSPECTOR,
    PROVINCE_OFFICER,
    SYSTEM,
    Actor,
    in_scope,
)
from states.process.package import Catalogue
from states.process.spec import ProcessSpec
from states.store import queries
from states.store.audit_store import Break, verify_trail
from states.store.db import reader
from states.store.models import AuditEvent, OutboxMessage, Person, table_of

audit_t, outbox_t, people_t = table_of(AuditEvent), table_of(OutboxMessage), table_of(Person)

# Who may export a dossier: inspectors and the personnel officers of the tiers that oversee
# a case's unit (a school's own officers and the leaders read the case, but do not file it).
DOSSIER_ROLES: Final = frozenset({INSPECTOR, COUNTY_OFFICER, CITY_OFFICER, PROVINCE_OFFICER})
TITLE: Final = "事项审计档案"
DIGEST_FILE: Final = re.compile(r"^audit-digest-(\d{8}-\d{6})(?:-(\d+))?\.jsonl\.gz$")
LOOK_BACK: Final = 31  # digest files looked through, newest first, when newer ones fail
NOTICES: Final = 400  # digest notices read back (one a night per province unit)
PASSED: Final = "校验通过"
FAILED: Final = "校验未通过"


def may_export(actor: Actor, org_path: str) -> bool:
    """Whether ``actor`` may export the dossier of a case at ``org_path`` (besides being
    able to read the case at all)."""
    if actor.holds(SYSTEM):
        return True
    return any(b.role in DOSSIER_ROLES and in_scope(b.unit_path, org_path) for b in actor.bindings)


# --- what a dossier holds -----------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One event of the trail as its reader may read it."""

    seq: int
    at: str
    actor: str
    label: str
    move: str
    notes: str
    hash: str
    comment: bool


@dataclass(frozen=True)
class DigestCheck:
    """The daily digest that records the case, and what comparing it with the chain found."""

    file: str
    taken_at: str  # bureau time
    fingerprint: str  # SHA-256 of the digest file as it is now
    announced: str | None  # the fingerprint in the notice to the province's inspectors
    breaks_then: int | None  # what the verification before the digest found, as announced
    seq: int  # the case's last event the digest records
    hash: str  # and its seal, as the digest records it
    chain_hash: str | None  # the seal of that event in the chain now (None: gone)
    later: int  # events on the chain after the one the digest records

    @property
    def matches(self) -> bool:
        return self.chain_hash == self.hash


@dataclass(frozen=True)
class Dossier:
    case: CaseFile
    made_at: dt.datetime
    made_by: str
    record: RecordPanel | None
    form: list[tuple[str, str]]
    steps: list[Step]
    attachments: list[dict[str, Any]]
    keys: list[str]  # the audit keys that sealed the chain, by name
    breaks: list[str]  # what verifying the chain found, in words; empty: it holds
    digest: DigestCheck | None
    digest_notes: list[str] = field(default_factory=list)  # why no (newer) digest was used

    @property
    def verified(self) -> bool:
        return not self.breaks

    @property
    def verdict(self) -> str:
        n = len(self.steps)
        if self.verified:
            return (
                f"{PASSED}：本事项{n}条审计记录逐条以审计密钥重新计算封印均相符，链接连续无缺漏，"
                "事项当前状态和数据与审计链末条记录一致，并载于全省事项总账。"
            )
        return f"{FAILED}：本事项{n}条审计记录中发现{len(self.breaks)}处问题（见下）。"


# --- reading it ---------------------------------------------------------------------------------
@contextlib.contextmanager
def _snapshot(db: Engine) -> Iterator[Connection]:
    """One read-only view for the case, its trail and the verification, so what is printed
    is what was verified (PostgreSQL: repeatable read; SQLite's WAL gives a snapshot)."""
    with reader(db).connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def _local(at: dt.datetime | None) -> str:
    return at.astimezone(BUREAU_TZ).strftime("%Y-%m-%d %H:%M:%S") if at is not None else ""


def _cell(at: str) -> str:
    """A moment in a table's narrow column: the day above the time."""
    return at.replace(" ", "\n", 1)


def build(
    db: Engine,
    processes: Catalogue,
    web: Web,
    actor: Actor,
    case_id: int,
    now: dt.datetime,
    *,
    digests: Path | None = None,
) -> Dossier:
    """The dossier of ``case_id`` as ``actor`` may read it; NotFound ("事项不存在") where they
    may not read the case or may not export it, alike."""
    with _snapshot(db) as conn:
        case = case_file(conn, processes, actor, case_id, with_trail=True)
        if case is None or not may_export(actor, case.row["org_path"]):
            raise NotFound("事项不存在")
        spec = case.spec
        recorder = web.case_record(case.row["process"])
        record = recorder(conn, actor, case.row) if recorder is not None else None
        notes = timeline_notes(conn, spec, case.trail)
        steps = [_step(spec, e, n) for e, n in zip(case.trail, notes, strict=True)]
        attachments = _attachments(conn, case_id)
        keys = sorted(
            k
            for k in conn.execute(
                select(audit_t.c.key_id).where(audit_t.c.case_id == case_id).distinct()
            ).scalars()
            if k is not None
        )
        breaks = [_said(spec, b) for b in verify_trail(conn, case_id)]
        chain = {e["seq"]: e["hash"] for e in case.trail}
        digest, digest_notes = _covering(conn, case_id, chain, digests or digest_dir())
    return Dossier(
        case=case,
        made_at=now,
        made_by=actor.label,
        record=record,
        form=_form(spec, case.data),
        steps=steps,
        attachments=attachments,
        keys=keys,
        breaks=breaks,
        digest=digest,
        digest_notes=digest_notes,
    )


def _step(spec: ProcessSpec, e: Mapping[str, Any], notes: Sequence[tuple[str, str]]) -> Step:
    source, target = e["from_state"], e["to_state"]
    if source is None:
        move = f"→ {spec.state_label(target)}"
    elif source != target:
        move = f"{spec.state_label(source)} → {spec.state_label(target)}"
    else:
        move = ""
    said = "；".join(f"{label}：{value}" for label, value in notes)
    if e.get("redacted"):
        said = f"{said}（部分内容按阅读权限未列出）" if said else "（内容按阅读权限未列出）"
    return Step(
        seq=int(e["seq"]),
        at=_local(e["at"]),
        actor=str(e["actor_label"]),
        label=event_label(spec, str(e["event"])),
        move=move,
        notes=said,
        hash=str(e["hash"]),
        comment=e["event"] == "comment",
    )


def _form(spec: ProcessSpec, data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The case's form as its fields name it: the opening form, then whatever the steps'
    forms wrote into the case (a 文号, a date), each once, labelled by its field."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    declared = [
        *spec.start_form.fields,
        *(f for ev in spec.events.values() for f in ev.form.fields),
    ]
    for f in declared:
        value = data.get(f.name)
        if f.name in seen or value in (None, "") or isinstance(value, dict | list):
            continue
        seen.add(f.name)
        out.append((f.label, webkit.show(f, value)))
    if data.get("return_reason") and "return_reason" not in seen:
        out.append(("退回原因", str(data["return_reason"])))
    return out


def _attachments(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    rows = queries.attachments(conn, case_id)
    ids = sorted({r["uploaded_by"] for r in rows if r["uploaded_by"] is not None})
    names = (
        {
            r.id: r.name
            for r in conn.execute(
                select(people_t.c.id, people_t.c.name).where(people_t.c.id.in_(ids))
            )
        }
        if ids
        else {}
    )
    return [{**r, "uploader": names.get(r["uploaded_by"], "")} for r in rows]


def _said(spec: ProcessSpec, b: Break) -> str:
    """A break in words, the event named by its label rather than its code."""
    if b.case_id is None:
        return str(b)
    if b.seq:
        label = event_label(spec, b.event) if b.event else ""
        return f"第{b.seq}条" + (f"（{label}）" if label else "") + f"：{b.problem}"
    return b.problem


# --- the digest that covers the case ------------------------------------------------------------
def _digest_files(directory: Path) -> list[Path]:
    """The digest files in ``directory``, newest first (their names carry the bureau time
    they were taken, and a number when two were taken in one second)."""
    found: list[tuple[tuple[str, int], Path]] = []
    if directory.is_dir():
        for path in directory.iterdir():
            m = DIGEST_FILE.match(path.name)
            if m:
                found.append(((m[1], int(m[2] or 1)), path))
    return [p for _, p in sorted(found, reverse=True)]


def _announced(conn: Connection) -> dict[str, Mapping[str, Any]]:
    """What the digest notices told the province's inspectors, by digest file name (the
    newest notice of a file wins)."""
    rows = conn.execute(
        select(outbox_t.c.payload)
        .where(outbox_t.c.kind == DIGEST_NOTICE)
        .order_by(outbox_t.c.id.desc())
        .limit(NOTICES)
    ).scalars()
    out: dict[str, Mapping[str, Any]] = {}
    for payload in rows:
        if isinstance(payload, Mapping) and isinstance(payload.get("file"), str):
            out.setdefault(payload["file"], payload)
    return out


def _entry(path: Path, case_id: int) -> tuple[int, str] | None:
    """The digest's line for ``case_id``: (seq, seal), or None. The lines are in case order,
    so the scan stops at the first case after it."""
    prefix = f"[{case_id},".encode()
    with gzip.open(path, "rb") as f:
        next(f, None)  # the header
        for line in f:
            if line.startswith(prefix):
                value = json.loads(line)
                return int(value[1]), str(value[2])
            if line.startswith(b"[") and int(line[1 : line.index(b",")]) > case_id:
                return None
    return None


def _covering(
    conn: Connection, case_id: int, chain: Mapping[int, str], directory: Path
) -> tuple[DigestCheck | None, list[str]]:
    files = _digest_files(directory)
    if not files:
        return None, ["尚未生成每日审计摘要（renshi audit digest，或每日01:30的定时任务）"]
    announced = _announced(conn)
    notes: list[str] = []
    for path in files[:LOOK_BACK]:
        told = announced.get(path.name, {})
        fingerprint = told.get("fingerprint")
        try:
            header = read_header(path, fingerprint=fingerprint)
            entry = _entry(path, case_id)
        except DigestError as exc:
            notes.append(f"审计摘要 {path.name} 不能作为凭证：{exc}")
            continue
        except (OSError, EOFError, ValueError):
            notes.append(f"审计摘要 {path.name} 不能作为凭证：摘要文件无法读取")
            continue
        taken = _local(dt.datetime.fromisoformat(header.taken_at))
        if entry is None:
            notes.append(
                f"最近一次可用的审计摘要 {path.name}（{taken}）未记载本事项：本事项在该摘要之后"
                "发起，将由下一次每日审计摘要记载"
            )
            return None, notes
        seq, seal = entry
        breaks_then = told.get("breaks")
        return (
            DigestCheck(
                file=path.name,
                taken_at=taken,
                fingerprint=str(fingerprint) if fingerprint else fingerprint_of(path),
                announced=str(fingerprint) if fingerprint else None,
                breaks_then=int(breaks_then) if isinstance(breaks_then, int) else None,
                seq=seq,
                hash=seal,
                chain_hash=chain.get(seq),
                later=sum(1 for s in chain if s > seq),
            ),
            notes,
        )
    return None, notes


# --- the printed dossier ------------------------------------------------------------------------
def document(d: Dossier) -> typeset.Document:
    """The dossier set out for print: identity, form, steps, comments, attachments, the chain
    with its verification, the digest to compare."""
    spec, row = d.case.spec, d.case.row
    identity = [
        ("事项编号", str(row["id"])),
        ("业务流程", spec.label),
        ("年度", str(row["year"])),
        ("当前状态", spec.state_label(row["state"])),
        ("所属单位", str(row["unit_name"] or "")),
        ("申请人", str(row["applicant_name"] or "—")),
        ("发起时间", _local(row["opened_at"])),
        ("办结时间", _local(row["closed_at"]) or "未办结"),
        ("当前版本", str(row["version"])),
        ("审计记录", f"{len(d.steps)}条"),
        ("导出人", d.made_by),
        ("导出时间", _local(d.made_at)),
    ]
    blocks: list[Block] = [
        paragraph(
            "本档案由人事业务平台根据事项的审计记录生成，所列内容以导出人的阅读权限为限"
            "（按各流程声明的保密范围裁剪）。审计链每条记录以审计密钥封存（HMAC-SHA256），"
            "并与每日审计摘要核对；核对方法见第八部分。"
        ),
        heading("一、事项基本情况"),
        fields(pairs(identity)),
    ]
    if d.record is not None:
        blocks += [heading(f"二、{d.record.title}"), fields(pairs(list(d.record.rows)))]
        if d.record.note:
            blocks.append(paragraph(d.record.note, indent=False))
    else:
        blocks += [heading("二、申请人档案"), paragraph("本流程不附申请人档案。", indent=False)]
    blocks.append(heading("三、申报内容"))
    blocks.append(fields(pairs(d.form)) if d.form else paragraph("（无表单内容）", indent=False))
    decisions = [s for s in d.steps if not s.comment]
    blocks += [
        heading("四、办理记录"),
        table(
            [("序号", 1.1), ("时间", 2.0), ("办理人", 3.0), ("办理操作", 3.4), ("意见及说明", 0)],
            [
                [
                    str(s.seq),
                    _cell(s.at),
                    s.actor,
                    f"{s.label}\n{s.move}" if s.move else s.label,
                    s.notes,
                ]
                for s in decisions
            ],
        ),
        heading("五、意见"),
    ]
    comments = [s for s in d.steps if s.comment]
    blocks.append(
        table(
            [("序号", 1.1), ("时间", 2.0), ("发表人", 3.0), ("意见", 0)],
            [[str(s.seq), _cell(s.at), s.actor, s.notes.removeprefix("意见：")] for s in comments],
        )
        if comments
        else paragraph("无。", indent=False)
    )
    blocks.append(heading("六、附件"))
    blocks.append(
        table(
            [("序号", 1.1), ("文件", 3.8), ("上传", 2.8), ("SHA-256", 0)],
            [
                [
                    str(i),
                    f"{a['filename']}（{webkit.size(int(a['size']))}）",
                    f"{a['uploader']}\n{_local(a['uploaded_at'])}".strip(),
                    str(a["sha256"]),
                ]
                for i, a in enumerate(d.attachments, start=1)
            ],
            mono=[3],
        )
        if d.attachments
        else paragraph("无附件。", indent=False)
    )
    blocks += _chain_blocks(d)
    blocks += _digest_blocks(d)
    return typeset.Document(
        title=TITLE,
        filename=f"审计档案-事项{row['id']}",
        subtitle=f"{spec.label}　事项{row['id']}　{row['applicant_name'] or ''}".rstrip(),
        footer=f"事项{row['id']}审计档案（{_local(d.made_at)}导出）",
        blocks=blocks,
    )


def _chain_blocks(d: Dossier) -> list[Block]:
    row = d.case.row
    out = [
        heading("七、审计链及校验结果"),
        paragraph(d.verdict, indent=False),
    ]
    out += [paragraph(f"{i}. {b}", indent=False) for i, b in enumerate(d.breaks, start=1)]
    out.append(
        codes(
            [
                ("封存方式", "HMAC-SHA256（前一条哈希 + 本条记录的规范JSON）"),
                ("审计密钥", "、".join(d.keys) or "无（记录未以审计密钥封存）"),
                ("链末哈希", str(row["audit_head"])),
            ]
        )
    )
    out.append(
        table(
            [("序号", 1.1), ("时间", 2.0), ("记录", 3.0), ("哈希（HMAC-SHA256）", 0)],
            [[str(s.seq), _cell(s.at), s.label, s.hash] for s in d.steps],
            mono=[3],
        )
    )
    return out


def _digest_blocks(d: Dossier) -> list[Block]:
    out = [heading("八、每日审计摘要")]
    out += [paragraph(n, indent=False) for n in d.digest_notes]
    g = d.digest
    if g is None:
        out.append(
            paragraph(
                "本档案没有可用的每日审计摘要作比对：审计链只能以审计密钥证明（见第七部分），"
                "尚不能排除持有密钥者的改写。",
                indent=False,
            )
        )
        return out
    cover = (
        f"该摘要生成于本事项最后一条记录之后，覆盖全部{g.seq}条审计记录。"
        if g.later == 0
        else f"该摘要覆盖本事项第1至第{g.seq}条审计记录；其后的{g.later}条记录晚于该摘要，"
        "将由下一次每日审计摘要记载。"
    )
    if g.matches:
        compared = (
            f"摘要记载的本事项第{g.seq}条记录哈希与审计链中该条记录的哈希相符：摘要生成之后，"
            f"第1至第{g.seq}条记录未被改写或删除。"
        )
    elif g.chain_hash is None:
        compared = f"不符：摘要记载的第{g.seq}条记录已不存在（记录在摘要之后被删除）。"
    else:
        compared = (
            f"不符：摘要记载的第{g.seq}条记录哈希与审计链现有的不同"
            "（本条或之前的记录在摘要之后被改写）。"
        )
    told = (
        "摘要文件的指纹与发给省级督查员的通知所载指纹一致，摘要的封印经审计密钥核验无误。"
        if g.announced
        else "未找到该摘要发给省级督查员的通知；摘要的封印经审计密钥核验无误。"
    )
    out += [
        codes(
            [
                ("摘要文件", g.file),
                ("生成时间", g.taken_at),
                ("摘要指纹", g.fingerprint),
                ("通知所载指纹", g.announced or "未找到通知"),
                ("摘要记载序号", f"第{g.seq}条"),
                ("摘要记载哈希", g.hash),
                ("链上该条哈希", g.chain_hash or "该条记录已不存在"),
            ]
        ),
        paragraph(f"{told}{cover}{compared}", indent=False),
    ]
    if g.breaks_then:
        said = f"生成该摘要前的全库校验曾发现{g.breaks_then}处异常。"
        out.append(paragraph(said, indent=False))
    out.append(
        paragraph(
            "核对方法：将上列“摘要指纹”与省级督查员收到的审计摘要通知（或其存档）所载指纹逐字比对，"
            "一致即说明本档案比对所用的摘要正是当晚生成并通知督查员的那一份。也可在服务器上"
            "运行下列命令，核对本事项的审计链与该摘要：",
            indent=False,
        )
    )
    command = (
        f"renshi audit verify --case {d.case.row['id']} --against {g.file} "
        f"--fingerprint {g.fingerprint}"
    )
    out.append(codes([("核对命令", command)]))
    return out


def pdf(d: Dossier) -> bytes:
    """The dossier as a PDF/A-2b with its Chinese fonts embedded, dated when it was made."""
    return typeset.pdf(document(d), d.made_at)


# --- over HTTP ----------------------------------------------------------------------------------
CaseId = Annotated[int, PathParam(ge=1, le=2**53, description="事项编号")]

api = APIRouter(prefix="/api/v1", tags=["事项"], responses=ERRORS)
pages = APIRouter(include_in_schema=False)


def page_link(actor: Actor, case: Mapping[str, Any]) -> str | None:
    """The case page's link to the dossier, for those who may export it."""
    return f"/cases/{int(case['id'])}/dossier.pdf" if may_export(actor, case["org_path"]) else None


def _answer(d: Dossier) -> Response:
    return typeset.download(
        pdf(d), typeset.PDF_MEDIA, f"审计档案-事项{d.case.row['id']}.pdf", inline=True
    )


@api.get(
    "/cases/{case_id}/dossier",
    summary="导出审计档案（PDF）",
    response_class=Response,
    responses=typeset.PDF_ANSWER,
)
def dossier_api(case_id: CaseId, request: Request, svc: Svc, actor: ApiActor) -> Response:
    """事项的审计档案（PDF，内嵌中文字体）：事项基本情况与申请人档案、申报内容、每一步办理记录
    （办理人、时间、操作、意见）、意见、附件清单及其 SHA-256、审计链每条记录的哈希与当场
    校验结果，以及覆盖本事项的每日审计摘要（摘要指纹、记载的哈希与比对结果），供与省级督查员
    收到的摘要通知核对。仅限督查员和县级以上人事干部导出本管辖范围内的事项，内容按阅读权限
    裁剪；其他人返回404。"""
    return _answer(build(svc.db, svc.engine.processes, web_of(request), actor, case_id, svc.now()))


@pages.get("/cases/{case_id}/dossier.pdf")
def dossier_page(request: Request, case_id: str, who: SignedIn) -> Response:
    cid = webkit.parse_id(case_id)
    if cid is None:
        return webkit.not_found(request, who)
    svc = who.svc
    try:
        found = build(svc.db, svc.engine.processes, web_of(request), who.actor, cid, svc.now())
        return _answer(found)
    except NotFound:
        return webkit.not_found(request, who)
    except RenshiError as exc:
        return webkit.message(request, who, "无法生成文件", exc.message, exc.status)


__all__ = ["Dossier", "api", "build", "document", "may_export", "page_link", "pages", "pdf"]
