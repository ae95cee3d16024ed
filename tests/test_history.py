"""A record's history: each change kept with who, when and from where, sealed in a chain per
record that verification re-seals; an entry changed or removed afterwards is caught."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, delete, update

from states.audit import canonical
from states.clock import FrozenClock
from states.org import Actor
from states.registry import history
from states.registry.history import Entry
from states.store.models import RecordChange, table_of
from tests.world import World

history_t = table_of(RecordChange)


def _two_changes(engine: Engine, world: World, clock: FrozenClock, subject: int) -> None:
    officer = world.actors["county_officer"]
    with engine.begin() as conn:
        history.record(
            conn, history.TEACHER,
            [Entry(subject, history.diff(None, {"title": "grade1", "subject": "数学"}))],
            actor=officer, at=clock.now(), source="import", source_ref="名册.xlsx sha256:ab12",
        )  # fmt: skip
        history.record(
            conn, history.TEACHER,
            [Entry(subject, history.diff({"title": "grade1"}, {"title": "senior"}), case_id=None)],
            actor=officer, at=clock.now(), source="edit",
        )  # fmt: skip


def test_history_reads_back_in_order_and_verifies(
    engine: Engine, world: World, clock: FrozenClock
) -> None:
    subject = world.actors["expert0"].person_id
    assert subject is not None
    _two_changes(engine, world, clock, subject)
    with engine.connect() as conn:
        trail = history.entries_of(conn, history.TEACHER, subject)
        assert [e.source_label for e in trail] == ["导入", "页面修改"]
        assert trail[0].source_ref == "名册.xlsx sha256:ab12"
        assert trail[1].changes == {"title": ["grade1", "senior"]}
        assert history.fold(trail) == {"title": "senior", "subject": "数学"}
        assert history.verify(conn, history.TEACHER, subject).ok


def test_unchanged_values_write_no_entry(engine: Engine, world: World, clock: FrozenClock) -> None:
    subject = world.actors["expert1"].person_id
    assert subject is not None
    with engine.begin() as conn:
        written = history.record(
            conn, history.TEACHER, [Entry(subject, history.diff({"a": 1.0}, {"a": 1}))],
            actor=world.actors["county_officer"], at=clock.now(), source="import",
        )  # fmt: skip
    assert written == 0


def test_a_changed_or_removed_entry_breaks_the_trail(
    engine: Engine, world: World, clock: FrozenClock
) -> None:
    subject = world.actors["expert2"].person_id
    assert subject is not None
    _two_changes(engine, world, clock, subject)
    with engine.begin() as conn:
        conn.execute(
            update(history_t)
            .where(history_t.c.subject_id == subject, history_t.c.seq == 1)
            .values(changes='{"title":[null,"senior"]}')
        )
        result = history.verify(conn, history.TEACHER, subject)
        assert not result.ok and result.broken_at == 1
        conn.execute(
            delete(history_t).where(history_t.c.subject_id == subject, history_t.c.seq == 1)
        )
        assert history.verify(conn, history.TEACHER, subject).reason == "第1条记录缺失"


def test_the_fast_spelling_is_exactly_what_the_seal_covers() -> None:
    """``record`` spells each entry's text directly; ``verify`` re-seals ``entry_body``: the
    two must be the same text for any actor, reference, case and change, or every entry a
    province's import writes would fail verification."""
    at = dt.datetime(2026, 9, 1, 8, 30, 15, 123456, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    actors = [Actor(None, "系统"), Actor(17, '县教育局"人事股"\\科员\n')]
    changes: list[history.Changes] = [
        {"title": ("grade1", "senior")},
        {
            "title_date": (None, dt.date(2026, 7, 1)),
            "rural_years": (2.0, 2.5),
            "school_id": (3, 4),
            "active": (True, False),
            "ethics": (None, ["2024-03-01 组织有偿补课"]),
            "weight": (1.0, None),
        },
    ]
    for actor in actors:
        for ref in (None, "名册.xlsx sha256:ab12", "调动：东教人〔2026〕12号"):
            for case_id in (None, 42):
                spelling = history.Spelling(
                    history.TEACHER, at=at, actor=actor, source="import", source_ref=ref
                )
                for change in changes:
                    text = history.changes_text(change)
                    assert text == canonical(
                        {k: [history._json(b), history._json(a)] for k, (b, a) in change.items()}
                    )
                    assert spelling.body(9, 3, case_id, text) == history.entry_body(
                        kind=history.TEACHER, subject_id=9, seq=3, at=at,
                        actor_id=actor.person_id, actor_label=actor.label, source="import",
                        source_ref=ref, case_id=case_id, changes=text,
                    )  # fmt: skip


def test_entries_written_in_bulk_read_back_and_verify(
    engine: Engine, world: World, clock: FrozenClock
) -> None:
    """A whole import's entries go to the driver at once (COPY on PostgreSQL): they read back
    with their time and verify, and a second batch continues each record's chain."""
    subjects = [world.actors[f"expert{n}"].person_id for n in range(3)]
    ids = [s for s in subjects if s is not None]
    officer = world.actors["county_officer"]
    at = clock.now()
    with engine.begin() as conn:
        first = [
            Entry(s, {"title": (None, "grade1"), "joined": (None, dt.date(2020, 9, 1))})
            for s in ids
        ]
        assert (
            history.record(conn, history.TEACHER, first, actor=officer, at=at, source="import") == 3
        )
        second = [Entry(s, {"title": ("grade1", "senior")}, case_id=None) for s in ids]
        history.record(conn, history.TEACHER, second, actor=officer, at=at, source="edit")
    with engine.connect() as conn:
        for s in ids:
            trail = history.entries_of(conn, history.TEACHER, s)
            assert [(e.seq, e.at, e.actor_label) for e in trail] == [
                (1, at, officer.label),
                (2, at, officer.label),
            ]
            assert trail[0].changes["joined"] == [None, "2020-09-01"]
            assert history.verify(conn, history.TEACHER, s).ok
