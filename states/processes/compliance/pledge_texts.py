"""The ethics pledge's clauses of a school year, as the province sets them (师德承诺书正文).

The province's teacher-affairs office — the office that issues the pledges — sets the
clauses of a school year's pledge on a page or through the API; what a teacher of that year
reads and signs is the pledge (``pledge.pledge_text``: the heading, the teacher's name and
school, the clauses numbered 一、二、…, the closing words) with these clauses. A year without
its own keeps the default clauses (``pledge.PLEDGES``), so no pledge issued before changes.

The text of a year is changed only while no teacher has signed that year's pledge: every
signature keeps the digest of the text it signed, and that digest must stay the digest of
what the year shows. The check and the write take the year's lock alone (``pledge.lock_year``),
which every signature takes shared: a signature and a change of the text never overlap. A
teacher whose page still shows the old text is refused on signing and shown the new one.

The clauses are checked before anything is written: at least one, at most ``MAX_CLAUSES``,
each at most ``MAX_CLAUSE`` characters on one line, no two alike. A numbering typed before
a clause (一、 1. （三）) is dropped: the pledge numbers its clauses itself.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, func, insert, select, update

from states.clock import local_date
from states.errors import Conflict, FormError, PermissionDenied
from states.org import PROVINCE_OFFICER, SYSTEM, Actor
from states.processes.compliance import pledge
from states.store.models import Person, table_of

people_t = table_of(Person)

FIELD: Final = "clauses"
MAX_CLAUSES: Final = 20
MAX_CLAUSE: Final = 200
# What the preview shows in place of a teacher's name and school.
NAME_HOLDER: Final = "（教师姓名）"
SCHOOL_HOLDER: Final = "（学校名称）"
# A numbering typed before a clause: 一、 十二． 3. 4) （五） (6)
_NUMBERING: Final = re.compile(
    r"^\s*(?:[（(]\s*(?:[一二三四五六七八九十]+|\d+)\s*[）)]|(?:[一二三四五六七八九十]+|\d+)\s*[、.．)）])\s*"
)
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class YearText:
    """A school year's pledge text as the province's page shows it."""

    year: int
    year_label: str
    clauses: tuple[str, ...]
    own: bool  # the year has clauses of its own (else the default clauses)
    set_by: str | None
    set_at: dt.datetime | None
    signed: int  # teachers who have signed the year's pledge
    issued: int

    @property
    def locked(self) -> bool:
        """Signed by someone: the text can no longer change."""
        return self.signed > 0

    @property
    def preview(self) -> str:
        """The pledge as a teacher will read it, their name and school left as blanks."""
        return pledge.pledge_text(self.year, NAME_HOLDER, SCHOOL_HOLDER, self.clauses)


def may_set(actor: Actor) -> bool:
    return actor.holds(PROVINCE_OFFICER) or actor.holds(SYSTEM)


def _allowed(actor: Actor) -> None:
    if not may_set(actor):
        raise PermissionDenied("师德承诺书正文由省教育厅教师工作处设置")


def _year(year: Any) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise FormError("year", "学年应在2000至2100之间")
    return year


def from_lines(raw: str) -> list[str]:
    """The clauses typed in a box, one a line; blank lines only separate them."""
    return [line for line in raw.splitlines() if line.strip()]


def clean(clauses: Sequence[Any]) -> tuple[str, ...]:
    """The clauses as they will be kept, or a ``FormError`` of ``clauses`` saying which
    one and why."""
    if isinstance(clauses, str) or not isinstance(clauses, Sequence):
        raise FormError(FIELD, "承诺条款应为逐条的列表")
    if not clauses:
        raise FormError(FIELD, "请填写承诺条款（至少一条）")
    if len(clauses) > MAX_CLAUSES:
        raise FormError(FIELD, f"承诺条款至多{MAX_CLAUSES}条，现有{len(clauses)}条")
    kept: list[str] = []
    for n, raw in enumerate(clauses, 1):
        if not isinstance(raw, str):
            raise FormError(FIELD, f"承诺条款第{n}条应为文字")
        if _CONTROL.search(raw.strip()):
            raise FormError(FIELD, f"承诺条款第{n}条含有换行或不可见字符，每条应为一段文字")
        clause = _NUMBERING.sub("", raw.strip(), count=1).strip()
        if not clause:
            raise FormError(FIELD, f"承诺条款第{n}条为空")
        if len(clause) > MAX_CLAUSE:
            raise FormError(
                FIELD, f"承诺条款第{n}条超过{MAX_CLAUSE}字（现有{len(clause)}字），请精简或分为两条"
            )
        if clause in kept:
            raise FormError(FIELD, f"承诺条款第{n}条与第{kept.index(clause) + 1}条相同")
        kept.append(clause)
    return tuple(kept)


def _view(conn: Connection, year: int) -> YearText:
    t, p = pledge.texts_t, pledge.pledges_t
    own = conn.execute(
        select(t.c.clauses, t.c.set_at, people_t.c.name)
        .outerjoin(people_t, people_t.c.id == t.c.set_by)
        .where(t.c.year == year)
    ).one_or_none()
    signed, issued = conn.execute(
        select(func.count(p.c.signed_at), func.count()).where(p.c.year == year)
    ).one()
    return YearText(
        year=year,
        year_label=pledge.year_label(year),
        clauses=tuple(str(c) for c in own.clauses) if own else pledge.PLEDGES,
        own=own is not None,
        set_by=(own.name or "系统") if own else None,
        set_at=own.set_at if own else None,
        signed=int(signed or 0),
        issued=int(issued or 0),
    )


def view(conn: Connection, actor: Actor, year: Any) -> YearText:
    """The year's clauses (its own, or the default ones), who set them and when, and how
    many teachers have signed (the province's teacher-affairs office)."""
    _allowed(actor)
    return _view(conn, _year(year))


def set_clauses(engine: Any, actor: Actor, year: Any, clauses: Sequence[Any]) -> YearText:
    """Set the clauses of the year's pledge, in one transaction: refused (nothing written)
    for anyone but the province's teacher-affairs office, for a past school year, for bad
    clauses, and once any teacher has signed the year's pledge."""
    _allowed(actor)
    year = _year(year)
    kept = clean(clauses)
    now = engine.clock.now()
    current = pledge.school_year(local_date(now))
    if year < current:
        raise FormError("year", f"{pledge.year_label(year)}已经过去，承诺书正文不能再修改")
    t, p = pledge.texts_t, pledge.pledges_t
    with engine.db.begin() as conn:
        pledge.lock_year(conn, year, shared=False)  # no signature of the year meanwhile
        signed = int(
            conn.execute(
                select(func.count()).where(p.c.year == year, p.c.signed_at.is_not(None))
            ).scalar_one()
        )
        if signed:
            raise Conflict(
                f"{pledge.year_label(year)}师德承诺书已有{signed}名教师签署，承诺条款不能再修改"
                "（已签署的全文摘要须与教师所签的正文一致）",
                field=FIELD,
            )
        values = {"clauses": list(kept), "set_by": actor.person_id, "set_at": now}
        there = conn.execute(select(t.c.year).where(t.c.year == year)).one_or_none()
        if there is None:
            conn.execute(insert(t).values(year=year, **values))
        else:
            conn.execute(update(t).where(t.c.year == year).values(**values))
    with engine.db.connect() as conn:
        return _view(conn, year)
