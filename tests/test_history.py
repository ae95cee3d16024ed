"""A record's history: each change kept with who, when and from where, sealed in a chain per
record that verification re-seals; an entry changed or removed afterwards is caught."""

from __future__ import annotations

from sqlalchemy import Engine, delete, update

from states.clock import FrozenClock
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
